"""The "Edit" tab: seeded random faces, before and after the editor's sliders and class pickers.

Faces show at least PREVIEW_PX on screen (smoothly upscaled; "Original pixels" shows them as drawn),
the edited faces by default and the originals with the before/after toggle; Undo/Redo step through
the slider moves.
"""

from __future__ import annotations

import gradio as gr
import numpy as np

from latentlab.core.errors import UserError
from latentlab.generator.interface import image_grid, map_latents, render
from latentlab.ui.context import AppContext
from latentlab.ui.editor import Amounts, Editor, amounts_from, describe
from latentlab.ui.gradio_util import PREVIEW_PX, class_picker, enlarge, preview_cols, user_errors_as_toasts
from latentlab.ui.sets import DirectionShelf

from directions.animate import render_frames
from directions.edit import edit, parse_layers
from directions.io import DirectionSet
from directions.reach import MAX_UNITS, edit_onto_classes
from directions.regions import RegionLock, lock_to_regions, set_mask


def edited_faces(ctx: AppContext, dset: DirectionSet, seed: int, n: int, psi: float, layers: str,
                 amounts: Amounts, min_px: int = PREVIEW_PX, class_label: int | None = None,
                 reader=None, regions: bool = True) -> tuple[np.ndarray, np.ndarray]:
    """(grid before, grid after) for n seeded faces (of `class_label` for a conditional generator) moved
    by `amounts` (a W set may edit a W+ layer range); each face upscaled to at least `min_px` (0 = as drawn).

    With the set's attribute `reader`, a pick onto a class moves each face just as far as the reader needs
    to read that class (`directions.reach`), as `latentlab edit --set` does.
    `regions`: the edit is drawn only where its attributes show (directions.regions), as `edit` does."""
    z, w = ctx.faces(seed, n, psi, class_label)
    gen = ctx.generator
    layer_idx = parse_layers(layers, gen.num_ws)
    if layer_idx is not None and dset.space == "z":
        raise UserError("a layer range needs a set fitted in W; this one is in Z")
    moved = w
    if amounts:
        codes = z if dset.space == "z" else w
        if reader is not None and layer_idx is None:
            draw = {"space": dset.space, "truncation_psi": float(psi), "class_label": class_label}
            moved = edit_onto_classes(codes, dset, amounts, lambda c: render_frames(gen, c, **draw), reader)
        else:
            moved = edit(codes, dset, amounts, layers=layer_idx, num_ws=gen.num_ws)
        if dset.space == "z":
            moved = map_latents(gen, moved, float(psi), class_label=class_label)
    cols = preview_cols(len(w))
    faces, edited = render(gen, w), render(gen, moved)
    mask = set_mask(dset, amounts, gen.resolution, RegionLock() if regions else None)
    if mask is not None:
        edited = lock_to_regions(edited, faces, mask)
    return image_grid(enlarge(faces, min_px), cols), image_grid(enlarge(edited, min_px), cols)


def build_edit_tab(ctx: AppContext, shelf: DirectionShelf) -> None:
    """The "Edit" tab (call inside gr.Tabs)."""
    with gr.Tab("Edit", id="directions-edit"):
        with gr.Accordion("Move random faces along the directions (how the sliders and class picks work)",
                          open=False, elem_id="edit-help"):
            gr.Markdown("Slider units: one unit raises the labels' fitted log-odds "
                        "by 4 (sets fitted before that: one standard deviation of the labeled faces); 0 = the average "
                        "face; brackets: class means. A class pick moves each face onto the class mean, or, when the "
                        "set has an attribute reader (`latentlab fit --reader`), just as far as it takes to read as "
                        f"that class (for eye state, age and other sliders: along the slider, up to {MAX_UNITS:g} "
                        "units; the pick beside a slider replaces its amount).")
        with gr.Row():
            edit_set = shelf.dropdown(elem_id="edit-set")
            refresh = gr.Button("Refresh sets", size="sm")
            seed = gr.Number(0, label="Seed", precision=0, minimum=0, elem_id="edit-seed")
            klass = class_picker(ctx.classes, ctx.start_class, "edit-class")
            new_faces = gr.Button("New faces", size="sm")
            n_faces = gr.Slider(1, 8, value=4, step=1, label="Faces")
            psi = gr.Slider(0.3, 1.0, value=0.8, step=0.05, label="Truncation")
            layers = gr.Textbox(label="W+ layers (START:STOP, empty = all)", placeholder=f"0:{ctx.generator.num_ws}")
        with gr.Row():
            with gr.Column(scale=2):
                editor = Editor.build("edit")
            with gr.Column(scale=3):
                with gr.Row():
                    shown = gr.Radio([("Edited", "after"), ("Original (before)", "before")], value="after",
                                     label="Show", elem_id="edit-show", scale=2)
                    pixels = gr.Checkbox(False, label="Original pixels (no upscaling)", elem_id="edit-pixels",
                                         scale=1)
                    regions = gr.Checkbox(True, label="Only where the attribute shows (the rest stays)",
                                          elem_id="edit-regions", scale=1)
                after = gr.Image(label="Edited", format="png", interactive=False, elem_id="edit-after")
                before = gr.Image(label="Original", format="png", interactive=False, visible=False,
                                  elem_id="edit-before")

    @user_errors_as_toasts
    def on_set(path):
        return editor.show(shelf.load(path)) if path else editor.hide()

    @user_errors_as_toasts
    def on_edit(path, sd, cl, n, ps, lay, as_drawn, in_regions, numeric, categorical, *values):
        if not path:
            return None, None
        amounts = amounts_from(numeric, categorical, values)
        original, edited = edited_faces(ctx, shelf.load(path), sd, n, ps, lay, amounts,
                                        min_px=0 if as_drawn else PREVIEW_PX, class_label=cl,
                                        reader=shelf.reader(path), regions=bool(in_regions))
        what = f"{int(n)} faces of seed {int(sd or 0)}" + ("" if cl is None else f", class {int(cl)}")  # the alt texts say what each picture shows
        return (gr.update(value=original, alt_text=f"{what}, unedited"),
                gr.update(value=edited, alt_text=f"{what}, edited: {describe(amounts)}"))

    def on_shown(which):
        return gr.update(visible=which != "before"), gr.update(visible=which == "before")

    edit_inputs = [edit_set, seed, klass, n_faces, psi, layers, pixels, regions, *editor.inputs]
    edit_set.change(on_set, edit_set, editor.outputs).then(on_edit, edit_inputs, [before, after])
    editor.rerender(on_edit, edit_inputs, [before, after],
                    also=[seed.submit, klass.input, n_faces.release, psi.release, layers.submit, pixels.input,
                          regions.input])
    shown.change(on_shown, shown, [after, before], queue=False, api_visibility="private")
    new_faces.click(lambda s: int(s or 0) + 1, seed, seed).then(on_edit, edit_inputs, [before, after])
    refresh.click(shelf.listing, edit_set, edit_set)
