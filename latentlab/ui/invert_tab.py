"""The app's "Invert & edit" tab: upload -> crop -> project (live preview) -> sliders -> export a sweep.

`build_tab(ctx)` is called by `latentlab.ui.app` inside its gr.Blocks / gr.Tabs and uses only ctx.generator,
ctx.workspace and ctx.device. Handlers are plain functions of their inputs that call the library
(preprocess, pipeline, directions); the UI adds no math. The directions package is imported
lazily: without it, or without a direction set for this generator, the editing half says so.
Files go to <workspace>/exports/inversion/ (the app serves that folder for downloads).
"""

from __future__ import annotations

import queue
import re
import threading
import uuid
from pathlib import Path

import gradio as gr
import numpy as np
from PIL import Image

from latentlab.core.errors import UserError
from latentlab.ui.gradio_util import user_errors_as_toasts
from latentlab.generator.interface import render
from latentlab.core.latents import save_latents
from latentlab.inversion.pipeline import invert, setup_inversion, to_latents
from latentlab.inversion.preprocess import UploadLimits, centre_box, crop_and_resize, open_image
from latentlab.inversion.projector import ProjectorConfig

MAX_SLIDERS = 12
MAX_CLASS_PICKERS = 6
UNCHANGED = "(unchanged)"
SLIDER_RANGE = 4.0
PREVIEW_SIZE = 256
NO_DIRECTIONS = ("No direction set for this generator yet: fit one in the *Fit directions* tab (or with "
                 "`latentlab fit`), then press *Refresh sets*.")




def exports_dir(ctx) -> Path:
    path = Path(ctx.workspace) / "exports" / "inversion"
    path.mkdir(parents=True, exist_ok=True)
    return path


def enlarge(image: np.ndarray, size: int = PREVIEW_SIZE) -> np.ndarray:
    """Nearest-neighbour upscale so 64 px faces show crisp in the browser."""
    if image.shape[0] >= size:
        return image
    return np.asarray(Image.fromarray(image).resize((size, size), Image.Resampling.NEAREST))


def _upload_path(upload) -> str | None:
    if upload is None:
        return None
    return upload if isinstance(upload, str) else getattr(upload, "name", None)


# -- upload and crop -----------------------------------------------------------------------------
def load_target(ctx, upload, manual: bool, left, top, size) -> tuple[np.ndarray, tuple, tuple[int, int]]:
    """(target uint8 [R, R, 3], crop box used, source size) for an upload and the crop settings."""
    path = _upload_path(upload)
    if not path:
        raise UserError("upload a picture first (PNG, JPEG, WebP or GIF)")
    img = open_image(path, UploadLimits())
    if manual:
        try:
            left, top, size = int(left or 0), int(top or 0), int(size or 0)
        except (TypeError, ValueError):
            raise UserError("the crop box needs whole numbers: left, top and size in pixels") from None
        if size <= 0:
            raise UserError("the crop box size must be positive")
        box = (left, top, left + size, top + size)
    else:
        box = centre_box(*img.size)
    return crop_and_resize(img, ctx.generator.resolution, box), box, img.size


def on_upload(ctx, upload, manual, left, top, size):
    """Show the cropped target, or the reason the upload was refused (the refused file is cleared, so
    the user can upload another at once; the app keeps running). Outputs: target, message, left,
    top, size, the upload itself."""
    if _upload_path(upload) is None:
        return None, gr.skip(), gr.skip(), gr.skip(), gr.skip(), gr.skip()
    try:
        target, box, (w, h) = load_target(ctx, upload, manual, left, top, size)
    except UserError as e:
        return None, f"**Refused:** {e}", gr.skip(), gr.skip(), gr.skip(), None
    msg = f"{w}x{h} image; crop box left {box[0]}, top {box[1]}, size {box[2] - box[0]}."
    if manual:
        return enlarge(target), msg, gr.skip(), gr.skip(), gr.skip(), gr.skip()
    return enlarge(target), msg, box[0], box[1], box[2] - box[0], gr.skip()


# -- projection ----------------------------------------------------------------------------------
def project_stream(ctx, upload, manual, left, top, size, space, steps, loss, use_encoder):
    """Generator for the Project button: yields (status, preview, latent file, state) as it goes."""
    target, box, _ = load_target(ctx, upload, manual, left, top, size)
    gen = ctx.generator
    setup = setup_inversion(gen, loss, None if use_encoder else False, workspace=Path(ctx.workspace))
    cfg = ProjectorConfig(space=space, steps=int(steps), preview_every=max(1, int(steps) // 20))
    updates: queue.Queue = queue.Queue()

    def callback(step):
        if step.image is not None:
            updates.put(("step", step))

    def work():
        try:
            updates.put(("done", invert(gen, target, setup, cfg, callback=callback)))
        except Exception as e:  # handed to the event thread, which reports it
            updates.put(("error", e))

    threading.Thread(target=work, daemon=True, name="latentlab-projector").start()
    notes = "".join(f"\n\n*{n}*" for n in setup.notes)
    yield f"Projecting with the {setup.loss.name} loss ...{notes}", gr.skip(), gr.skip(), gr.skip()
    while True:
        kind, item = updates.get()
        if kind == "step":
            yield (f"Step {item.step}/{item.steps} ({item.phase}), loss {float(item.loss.mean()):.4f}{notes}",
                   enlarge(item.image[0]), gr.skip(), gr.skip())
        elif kind == "error":
            raise item
        else:
            proj = item
            break
    name = re.sub(r"[^A-Za-z0-9_.-]+", "_", Path(_upload_path(upload)).stem)[:40] or "upload"
    latents = to_latents(gen, proj, target, setup, {"source_image": Path(_upload_path(upload)).name,
                                                    "crop_box": list(box)})
    path = save_latents(exports_dir(ctx) / f"{name}-{uuid.uuid4().hex[:6]}.npz", latents)
    state = {"codes": proj.ws[0] if space == "w+" else proj.ws[0, 0], "space": space, "path": str(path),
             "generator_id": gen.generator_id}
    yield (f"Done: {space}, loss {setup.loss.name}, start {proj.meta['init']}, PSNR "
           f"{latents.meta['psnr_db'][0]:.2f} dB in {proj.seconds:.1f} s. Saved {path.name}.{notes}",
           enlarge(proj.images[0]), str(path), state)


# -- editing -------------------------------------------------------------------------------------
def _directions():
    """The directions package, or None when this build has no editing support."""
    try:
        from directions import animate, edit, io
    except ModuleNotFoundError:
        return None
    return io, edit, animate


def set_choices(ctx) -> list[tuple[str, str]]:
    mods = _directions()
    if mods is None:
        return []
    io = mods[0]
    out = []
    for p in io.list_direction_sets(Path(ctx.workspace) / "directions"):
        try:
            if io.load_direction_set(p).generator_id == ctx.generator.generator_id:
                out.append((p.name, str(p)))
        except UserError:
            continue
    return out


def load_set(ctx, path):
    mods = _directions()
    if mods is None:
        raise UserError("editing needs the directions package, which this installation lacks")
    if not path:
        raise UserError(NO_DIRECTIONS)
    dset = mods[0].load_direction_set(path, ctx.generator.generator_id)
    if dset.space != "w":
        raise UserError(f"{Path(path).name} is fitted in Z; an inverted face has no z, so choose a set fitted in W")
    return dset


def layout(dset) -> tuple[list[str], list[str]]:
    numeric = [d.name for d in dset.entries.values() if d.kind != "categorical"][:MAX_SLIDERS]
    categorical = [d.name for d in dset.entries.values() if d.kind == "categorical"][:MAX_CLASS_PICKERS]
    return numeric, categorical


def amounts_from(numeric: list[str], categorical: list[str], values) -> dict:
    sliders, pickers = values[:MAX_SLIDERS], values[MAX_SLIDERS:]
    amounts: dict = {n: float(v) for n, v in zip(numeric, sliders) if v}
    amounts.update({n: v for n, v in zip(categorical, pickers) if v and v != UNCHANGED})
    return amounts


def edited_codes(ctx, state: dict, dset, amounts: dict) -> np.ndarray:
    """The inverted latent with the amounts applied: [1, w_dim] or [1, num_ws, w_dim]."""
    if state.get("generator_id") != ctx.generator.generator_id:
        raise UserError("this latent belongs to another generator; project the picture again")
    codes = np.asarray(state["codes"], np.float32)[None]
    if not amounts:
        return codes
    return _directions()[1].edit(codes, dset, amounts)


def sweep_choices(dset) -> list[str]:
    """The same choices as the Animate tab (imported lazily, like the rest of directions)."""
    from latentlab.ui.direction_tabs import sweep_choices as directions_sweep_choices

    return directions_sweep_choices(dset)


def export_sweep(ctx, state: dict, set_path: str, spec: str, start: float, end: float, frames: int, fps: float,
                 fmt: str, numeric: list[str], categorical: list[str], values) -> tuple[str, str]:
    """Write the sweep of `spec` around the current slider settings; (file path, message)."""
    if not state:
        raise UserError("project a picture first")
    dset = load_set(ctx, set_path)
    if not spec:
        raise UserError("choose the direction to sweep")
    animate = _directions()[2]
    name, a, b = animate.parse_sweep(spec, dset)
    if not isinstance(b, str):
        a, b = float(start), float(end)
    amounts = amounts_from(numeric, categorical, values)
    swept_attr = name.split(":")[0]
    base = edited_codes(ctx, state, dset, {k: v for k, v in amounts.items() if k.split(":")[0] != swept_attr})
    codes = animate.sweep_latents(base, dset, name, a, b, int(frames), pingpong=True)  # [F, 1, ...]
    video = render(ctx.generator, codes[:, 0])
    stem = re.sub(r"[^A-Za-z0-9_.+-]+", "_", f"{Path(state['path']).stem}-{spec}")
    suffix = ".mp4" if fmt == "mp4" else ".gif"
    path = animate.write_animation(video, exports_dir(ctx) / f"{stem}{suffix}", fps=float(fps), size=PREVIEW_SIZE)
    return str(path), f"Wrote {path.name}: {len(video)} frames, {spec} from {a} to {b} and back."


# -- the tab -------------------------------------------------------------------------------------
def build_tab(ctx) -> None:
    """Add the "Invert & edit" tab to the enclosing gr.Tabs."""
    res = ctx.generator.resolution
    with gr.Tab("Invert & edit", id="inversion"):
        gr.Markdown(f"Upload a picture, let the generator find the latent that redraws it ({res}x{res}), then "
                    "move it along the directions and export a sweep. Slider units: standard deviations of the "
                    "labeled faces along each direction.")
        with gr.Row():
            with gr.Column():
                upload = gr.File(label="Picture (PNG, JPEG, WebP or GIF)", type="filepath", elem_id="inv-upload",
                                 file_types=[".png", ".jpg", ".jpeg", ".webp", ".gif"])
                upload_msg = gr.Markdown(elem_id="inv-upload-status")
                manual = gr.Checkbox(False, label="Manual crop box (square)", elem_id="inv-manual")
                with gr.Row():
                    left = gr.Number(0, label="Left", precision=0, minimum=0)
                    top = gr.Number(0, label="Top", precision=0, minimum=0)
                    size = gr.Number(0, label="Size", precision=0, minimum=0)
                target_view = gr.Image(label="Target", format="png", interactive=False, elem_id="inv-target")
            with gr.Column():
                with gr.Row():
                    space = gr.Radio([("W (best for editing)", "w"), ("W+ (closest)", "w+")], value="w+",
                                     label="Latent space")
                    loss = gr.Dropdown(["auto", "metric", "vgg16", "pixel"], value="auto", label="Perceptual loss")
                with gr.Row():
                    steps = gr.Slider(10, 1000, value=300, step=10, label="Steps", elem_id="inv-steps")
                    use_encoder = gr.Checkbox(True, label="Start from the encoder's guess")
                project_btn = gr.Button("Project", variant="primary", elem_id="inv-project")
                status = gr.Markdown(elem_id="inv-status")
                preview = gr.Image(label="Reconstruction", format="png", interactive=False, elem_id="inv-preview")
                latent_file = gr.File(label="Latent file (for `latentlab edit`)", interactive=False,
                                      elem_id="inv-latent")
        gr.Markdown("### Edit")
        with gr.Row():
            set_dd = gr.Dropdown(label="Direction set", elem_id="inv-set")
            refresh = gr.Button("Refresh sets", size="sm", elem_id="inv-refresh")
        set_msg = gr.Markdown(elem_id="inv-set-status")
        with gr.Row():
            with gr.Column(scale=1):
                sliders = [gr.Slider(-SLIDER_RANGE, SLIDER_RANGE, value=0, step=0.1, visible=False,
                                     elem_id=f"inv-slider-{i}") for i in range(MAX_SLIDERS)]
                pickers = [gr.Dropdown([UNCHANGED], value=UNCHANGED, visible=False, elem_id=f"inv-class-{i}")
                           for i in range(MAX_CLASS_PICKERS)]
                reset = gr.Button("Reset sliders")
            with gr.Column(scale=1):
                edited = gr.Image(label="Edited", format="png", interactive=False, elem_id="inv-edited")
        with gr.Row():
            sweep = gr.Dropdown(label="Sweep (attr:class moves onto a class)", elem_id="inv-sweep")
            sweep_from = gr.Number(-3, label="From (units)")
            sweep_to = gr.Number(3, label="To (units)")
            frames = gr.Slider(8, 96, value=24, step=1, label="Frames")
            fps = gr.Slider(4, 48, value=12, step=1, label="FPS")
            fmt = gr.Radio(["gif", "mp4"], value="gif", label="Format", elem_id="inv-format")
        export_btn = gr.Button("Export animation", elem_id="inv-export")
        export_msg = gr.Markdown(elem_id="inv-export-status")
        export_file = gr.File(label="Animation", interactive=False, elem_id="inv-export-file")
        latent_state = gr.State(None)
        numeric_state, categorical_state = gr.State([]), gr.State([])

    crop_inputs = [upload, manual, left, top, size]
    crop_outputs = [target_view, upload_msg, left, top, size, upload]
    upload.upload(lambda *a: on_upload(ctx, *a), crop_inputs, crop_outputs)
    gr.on([manual.change, left.submit, top.submit, size.submit], lambda *a: on_upload(ctx, *a), crop_inputs,
          crop_outputs, trigger_mode="always_last")

    def on_project(*args):  # a generator itself, so Gradio streams it
        try:
            yield from project_stream(ctx, *args)
        except UserError as e:
            raise gr.Error(str(e)) from None

    project_btn.click(on_project, [*crop_inputs, space, steps, loss, use_encoder],
                      [status, preview, latent_file, latent_state], concurrency_limit=1)

    def refresh_sets(current=None):
        choices = set_choices(ctx)
        values = [v for _, v in choices]
        value = current if current in values else (values[0] if values else None)
        msg = "" if choices else (NO_DIRECTIONS if _directions() else "Editing needs the directions package.")
        return gr.update(choices=choices, value=value), msg

    hidden = [gr.update(visible=False)] * (MAX_SLIDERS + MAX_CLASS_PICKERS)

    def on_set(path):
        if not path:
            return [[], [], gr.update(choices=[], value=None), *hidden]
        try:
            dset = load_set(ctx, path)
        except UserError as e:
            gr.Warning(str(e))
            return [[], [], gr.update(choices=[], value=None), *hidden]
        numeric, categorical = layout(dset)
        s = [gr.update(visible=i < len(numeric), value=0, label=numeric[i] if i < len(numeric) else "")
             for i in range(MAX_SLIDERS)]
        p = [gr.update(visible=i < len(categorical), value=UNCHANGED, label=categorical[i] if i < len(categorical) else "",
                       choices=[UNCHANGED, *dset.entries[categorical[i]].classes] if i < len(categorical) else [UNCHANGED])
             for i in range(MAX_CLASS_PICKERS)]
        choices = sweep_choices(dset)
        return [numeric, categorical, gr.update(choices=choices, value=choices[0] if choices else None), *s, *p]

    @user_errors_as_toasts
    def on_edit(state, path, numeric, categorical, *values):
        if not state or not path:
            return None
        dset = load_set(ctx, path)
        codes = edited_codes(ctx, state, dset, amounts_from(numeric, categorical, values))
        return enlarge(render(ctx.generator, codes)[0])

    @user_errors_as_toasts
    def on_export(state, path, spec, a, b, n, f, fm, numeric, categorical, *values):
        out, msg = export_sweep(ctx, state, path, spec, a, b, n, f, fm, numeric, categorical, values)
        return out, msg

    edit_inputs = [latent_state, set_dd, numeric_state, categorical_state, *sliders, *pickers]
    set_dd.change(on_set, set_dd, [numeric_state, categorical_state, sweep, *sliders, *pickers]).then(
        on_edit, edit_inputs, edited)
    gr.on([s.release for s in sliders] + [p.input for p in pickers] + [latent_state.change],
          on_edit, edit_inputs, edited, trigger_mode="always_last")
    reset.click(lambda: [gr.update(value=0)] * MAX_SLIDERS + [gr.update(value=UNCHANGED)] * MAX_CLASS_PICKERS,
                None, [*sliders, *pickers]).then(on_edit, edit_inputs, edited)
    refresh.click(refresh_sets, set_dd, [set_dd, set_msg])
    export_btn.click(on_export, [latent_state, set_dd, sweep, sweep_from, sweep_to, frames, fps, fmt,
                                 numeric_state, categorical_state, *sliders, *pickers],
                     [export_file, export_msg], concurrency_limit=1)

    root = gr.context.Context.root_block
    if root is not None:  # fill the set list whenever a browser opens the app
        root.load(lambda: refresh_sets(None), None, [set_dd, set_msg])
