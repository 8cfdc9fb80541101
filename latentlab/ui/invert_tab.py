"""The "Invert & edit" tab: upload -> crop -> project (live preview) -> tune -> sliders -> export a sweep.

Projecting finds a pivot latent; tuning (on by default) then fine-tunes the generator around it so the
reconstruction keeps the picture's details; the delta is saved next to the latent file and every edit
and export of this face is drawn by the tuned generator. After projection the tab says in words how
close the reconstruction is (the verdict), and a before/after toggle shows the target or the
reconstruction. *Cancel* stops a projection or tuning within a step.

Handlers are plain functions of their inputs that call the library (`latentlab.inversion` to
project, `directions` to edit and sweep); the UI adds no math. Editing needs a direction set fitted
in W for the app's generator; without one the editing half says how to get one.
Files go to `<workspace>/exports/inversion/` (the app serves that folder for downloads); projecting and
exporting write them, so both ask for the admin password.
"""

from __future__ import annotations

import queue
import re
import threading
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path

import gradio as gr
import numpy as np
from PIL import Image

from directions.animate import pacer, parse_sweep, sweep_latents, write_animation
from directions.edit import edit
from directions.io import DirectionSet
from directions.reach import edit_onto_classes, sweep_reach
from directions.regions import RegionLock, lock_to_regions, set_mask
from latentlab.core.errors import UserError
from latentlab.core.latents import save_latents
from latentlab.generator.interface import render
from latentlab.inversion.pipeline import (
    describe_verdict,
    invert,
    pivot_config,
    pivot_setup,
    setup_inversion,
    to_latents,
    tune_projection,
)
from latentlab.inversion.preprocess import (
    UploadLimits,
    centre_box,
    crop_and_resize,
    open_image,
)
from latentlab.inversion.projector import ProjectorConfig
from latentlab.inversion.tuning import (
    Cancelled,
    TuningConfig,
    delta_path,
    generator_for_latents,
    save_delta,
)
from latentlab.ui.context import AppContext
from latentlab.ui.editor import Amounts, Editor, amounts_from
from latentlab.ui.gradio_util import (
    AdminCheck,
    admin_only,
    admin_password_box,
    message,
    user_errors_as_toasts,
)
from latentlab.ui.sets import DirectionShelf, sweep_choices

PREVIEW_SIZE = 256
NO_DIRECTIONS = ("No direction set for this generator yet: fit one in the *Fit directions* tab (or with "
                 "`latentlab fit`), then press *Refresh sets*.")


VIEWS = ("after", "before")  # the before/after toggle: reconstruction or target


def enlarge(image: np.ndarray, size: int = PREVIEW_SIZE) -> np.ndarray:
    """Smooth (Lanczos) upscale so 64 px faces show at 256 px without blocky pixels."""
    if image.shape[0] >= size:
        return image
    return np.asarray(Image.fromarray(image).resize((size, size), Image.Resampling.LANCZOS))


@dataclass
class Job:
    """A running projection: Cancel sets `stop`; the worker notes when it noticed (`stopped_at`)."""

    stop: threading.Event = field(default_factory=threading.Event)
    cancelled_at: float | None = None
    stopped_at: float | None = None
    thread: threading.Thread | None = None


JOBS: dict[str, Job] = {}  # job id -> job, for the Cancel button (ids live in each page's state)
_TUNED: dict[str, object] = {}  # latent file -> its tuned generator (a few, most recent last)


def new_job() -> str:
    for old in [k for k, j in JOBS.items() if j.stopped_at is not None and time.time() - j.stopped_at > 600]:
        JOBS.pop(old, None)
    job_id = uuid.uuid4().hex
    JOBS[job_id] = Job()
    return job_id


def cancel_job(job_id: str | None) -> None:
    """Stop the page's running projection (its worker stops at its next step and says so in the status)."""
    job = JOBS.get(job_id or "")
    if job is None or job.stopped_at is not None:
        return
    job.cancelled_at = time.time()
    job.stop.set()


def face_generator(ctx: AppContext, state: dict, blend: bool = True):
    """The generator that draws this inverted face: tuned when its delta was saved with it; its edits
    blended with the original generator's where they act (`blend`, the default), else by the tuned weights alone."""
    if not state.get("tuned"):
        return ctx.generator
    path = state["path"]
    if path not in _TUNED:
        _TUNED[path] = generator_for_latents(ctx.generator, path, {"target_sha256": state.get("target_sha256")})
        while len(_TUNED) > 4:
            _TUNED.pop(next(iter(_TUNED)))
    gen = _TUNED[path]
    return gen if blend or not hasattr(gen, "with_blend") else gen.with_blend(None)


def _upload_path(upload) -> str | None:
    if upload is None:
        return None
    return upload if isinstance(upload, str) else getattr(upload, "name", None)


# -- upload and crop -----------------------------------------------------------------------------
def load_target(ctx: AppContext, upload, manual: bool, left, top, size) -> tuple[np.ndarray, tuple, tuple[int, int]]:
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


def on_upload(ctx: AppContext, upload, manual, left, top, size):
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
def project_stream(ctx: AppContext, job_id, upload, manual, left, top, size, space, steps, loss, use_encoder,
                   tune_steps=0):
    """Generator for the Project button: yields (status, preview, latent file, state, views, verdict, view
    choice) as it goes. The work runs in a thread that stops at its next step once the job is cancelled."""
    target, box, _ = load_target(ctx, upload, manual, left, top, size)
    gen = ctx.generator
    setup = setup_inversion(gen, loss, None if use_encoder else False, workspace=Path(ctx.workspace))
    cfg = ProjectorConfig(space=space, steps=int(steps), preview_every=max(1, int(steps) // 20))
    tuning_cfg = TuningConfig(steps=int(tune_steps), preview_every=max(1, int(tune_steps) // 10)) \
        if tune_steps and int(tune_steps) > 0 else None
    pivoting = pivot_setup(setup) if tuning_cfg else setup  # the tuning keeps `setup`'s loss
    cfg = pivot_config(cfg) if tuning_cfg else cfg  # held near sampled W: edits flip more often
    job = JOBS.get(job_id or "") or JOBS.setdefault(job_id or new_job(), Job())
    updates: queue.Queue = queue.Queue()

    def callback(step):
        if job.stop.is_set():
            raise Cancelled()
        if step.image is not None:
            updates.put(("step", step))

    def work():
        try:
            proj = invert(gen, target, pivoting, cfg, callback=callback)
            tuning = tune_projection(gen, proj, target, setup, tuning_cfg, callback) if tuning_cfg else None
            updates.put(("done", (proj, tuning)))
        except Cancelled:
            updates.put(("cancelled", None))
        except Exception as e:  # handed to the event thread, which reports it
            updates.put(("error", e))
        finally:
            job.stopped_at = time.time()

    job.thread = threading.Thread(target=work, daemon=True, name="latentlab-projector")
    job.thread.start()
    notes = "".join(f"\n\n*{n}*" for n in setup.notes)
    skip = (gr.skip(),) * 5
    then = f", then tuning with the {setup.loss.name} loss" if tuning_cfg else ""
    yield (f"Projecting with the {pivoting.loss.name} loss{then} ...{notes}", gr.skip(), gr.skip(), gr.skip(),
           {"before": enlarge(target)}, "", "after")
    while True:
        kind, item = updates.get()
        if kind == "step":
            what = (f"Step {item.step}/{item.steps} ({item.phase})" if hasattr(item, "phase")
                    else f"Tuning step {item.step}/{item.steps}")
            loss_value = float(np.mean(item.loss))
            yield (f"{what}, loss {loss_value:.4f}{notes}", enlarge(item.image[0]), *skip)
        elif kind == "cancelled":
            yield "Cancelled: nothing was saved.", *skip[:4], "", gr.skip()
            return
        elif kind == "error":
            raise item
        else:
            proj, tuning = item
            break
    name = re.sub(r"[^A-Za-z0-9_.-]+", "_", Path(_upload_path(upload)).stem)[:40] or "upload"
    latents = to_latents(gen, proj, target, setup, {"source_image": Path(_upload_path(upload)).name,
                                                    "crop_box": list(box)}, tuning)
    path = ctx.exports_dir("inversion") / f"{name}-{uuid.uuid4().hex[:6]}.npz"
    if tuning is not None:
        save_delta(delta_path(path), tuning, gen.generator_id, {"latent_file": path.name})
        _TUNED[str(path)] = tuning.generator
    save_latents(path, latents)
    meta = latents.meta
    state = {"codes": proj.ws[0] if space == "w+" else proj.ws[0, 0], "space": space, "path": str(path),
             "generator_id": gen.generator_id, "tuned": tuning is not None, "target_sha256": meta["target_sha256"]}
    tuned = (f", tuned {len(tuning.loss_history)} steps (pivot {meta['pivot_psnr_db'][0]:.2f} dB)"
             if tuning is not None else "")
    done = (f"Done: {space}, loss {setup.loss.name}, start {proj.meta['init']}, PSNR "
            f"{meta['psnr_db'][0]:.2f} dB{tuned} in {meta['seconds']:.1f} s. Saved {path.name}.{notes}")
    recon = enlarge(latents.images[0])
    verdict = f"**Reconstruction: {describe_verdict(meta['verdict'])}**"
    yield done, recon, str(path), state, {"after": recon, "before": enlarge(target)}, verdict, "after"


# -- editing -------------------------------------------------------------------------------------
def load_w_set(shelf: DirectionShelf, path: str | None) -> DirectionSet:
    """A set usable on an inverted face: this generator's, fitted in W (an inverted face has no z)."""
    dset = shelf.load(path, none_chosen=NO_DIRECTIONS)
    if dset.space != "w":
        raise UserError(f"{Path(path).name} is fitted in Z; an inverted face has no z, so choose a set fitted in W")
    return dset


def edited_codes(ctx: AppContext, state: dict, dset: DirectionSet, amounts: Amounts, reader=None,
                 blend: bool = True) -> np.ndarray:
    """The inverted latent with the amounts applied: [1, w_dim] or [1, num_ws, w_dim]. With the set's
    attribute `reader`, a pick onto a class goes as far as the reader needs to
    read that class on this face, drawn by its tuned generator (`directions.reach`)."""
    if state.get("generator_id") != ctx.generator.generator_id:
        raise UserError("this latent belongs to another generator; project the picture again")
    codes = np.asarray(state["codes"], np.float32)[None]
    if not amounts:
        return codes
    if reader is not None:
        gen = face_generator(ctx, state, blend)
        return edit_onto_classes(codes, dset, amounts, lambda c: render(gen, c), reader)
    return edit(codes, dset, amounts)


def draw_edited(gen, state: dict, dset: DirectionSet, names, codes: np.ndarray, blend: bool = True) -> np.ndarray:
    """Pictures of edited codes of the inverted face; with `blend`, drawn only where the edited attributes
    show (directions.regions) and as the reconstruction elsewhere."""
    pictures = render(gen, codes)
    mask = set_mask(dset, names, gen.resolution, RegionLock() if blend else None)
    if mask is None:
        return pictures
    return lock_to_regions(pictures, render(gen, np.asarray(state["codes"], np.float32)[None]), mask)


def export_sweep(ctx: AppContext, state: dict, dset: DirectionSet, spec: str, start: float, end: float,
                 frames: int, fps: float, fmt: str, amounts: Amounts, reader=None, blend: bool = True) -> tuple[str, str]:
    """Write the sweep of `spec` around the current edit (`amounts`); (file path, message). Frames are
    paced by the set's `reader` when it has one (else by the picture), and a sweep onto a class of a
    categorical attribute ends where the reader reads it, as in the Animate tab."""
    if not spec:
        raise UserError("choose the direction to sweep")
    name, a, b = parse_sweep(spec, dset)
    if not isinstance(b, str):
        a, b = float(start), float(end)
    swept_attr = name.split(":")[0]
    base = edited_codes(ctx, state, dset, {k: v for k, v in amounts.items() if k.split(":")[0] != swept_attr},
                        reader, blend)
    gen = face_generator(ctx, state, blend)
    ends = sweep_reach(base, dset, name, b, lambda c: render(gen, c), reader)  # onto a class: per face
    codes = sweep_latents(base, dset, name, a, b, int(frames), pingpong=True,
                          pace_with=pacer(gen, dset, name, reader), **ends)  # [F, 1, ...]
    video = draw_edited(gen, state, dset, [*amounts, name], codes[:, 0], blend)
    stem = re.sub(r"[^A-Za-z0-9_.+-]+", "_", f"{Path(state['path']).stem}-{spec}")
    suffix = ".mp4" if fmt == "mp4" else ".gif"
    path = write_animation(video, ctx.exports_dir("inversion") / f"{stem}{suffix}", fps=float(fps), size=PREVIEW_SIZE)
    return str(path), f"Wrote {path.name}: {len(video)} frames, {spec} from {a} to {b} and back."


# -- the tab -------------------------------------------------------------------------------------
def build_invert_tab(demo: gr.Blocks, ctx: AppContext, shelf: DirectionShelf, check_admin: AdminCheck) -> None:
    """The "Invert & edit" tab (call inside gr.Tabs); its set list fills when a browser opens the app."""
    res = ctx.generator.resolution
    with gr.Tab("Invert & edit", id="inversion"):
        gr.Markdown(f"Upload a picture, let the generator find the latent that redraws it ({res}x{res}), then "
                    "move it along the directions and export a sweep. Slider units: one unit raises the labels' "
                    "fitted log-odds by 4 (older sets: one standard deviation of the labeled faces).")
        latent_state, password = _build_projection(ctx, check_admin)
        gr.Markdown("### Edit")
        _build_editing(demo, ctx, shelf, latent_state, password, check_admin)


def _build_projection(ctx: AppContext, check_admin: AdminCheck) -> tuple[gr.State, gr.Textbox]:
    """Upload, crop and Project; returns the state that holds the projected latent, and the password box."""
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
            target_view = gr.Image(label="Target", format="png", interactive=False, elem_id="inv-target",
                                   height=PREVIEW_SIZE + 40)
        with gr.Column():
            with gr.Row():
                space = gr.Radio([("W (best for editing)", "w"), ("W+ (closest without tuning)", "w+")], value="w",
                                 label="Latent space")
                loss = gr.Dropdown(["auto", "metric", "vgg16", "pixel"], value="auto", label="Perceptual loss")
            with gr.Row():
                steps = gr.Slider(10, 1000, value=100, step=10, label="Projection steps", elem_id="inv-steps")
                use_encoder = gr.Checkbox(True, label="Start from the encoder's guess")
            tune_steps = gr.Slider(0, 300, value=TuningConfig().steps, step=10, elem_id="inv-tune-steps",
                                   label="Tuning steps (fine-tune the generator for this picture; 0 = off)")
            password = admin_password_box("inv-password", "project (it saves a latent file) and export")
            with gr.Row():
                project_btn = gr.Button("Project", variant="primary", elem_id="inv-project")
                cancel_btn = gr.Button("Cancel", variant="stop", elem_id="inv-cancel")
            status = gr.Markdown(elem_id="inv-status")
            verdict = gr.Markdown(elem_id="inv-verdict")
            view = gr.Radio([("After (reconstruction)", "after"), ("Before (target)", "before")], value="after",
                            label="Show", elem_id="inv-compare")
            preview = gr.Image(label="Reconstruction", format="png", interactive=False, elem_id="inv-preview",
                               height=PREVIEW_SIZE + 40)
            latent_file = gr.File(label="Latent file (for latentlab edit)", interactive=False, elem_id="inv-latent")
    latent_state = gr.State(None)
    views = gr.State({})
    job = gr.State(None)

    def on_project(*args):  # a generator itself, so Gradio streams it
        try:
            yield from project_stream(ctx, *args)
        except UserError as e:
            raise gr.Error(message(e)) from None

    def on_view(choice, shown):
        return shown.get(choice) if shown and shown.get(choice) is not None else gr.skip()

    crop_inputs = [upload, manual, left, top, size]
    crop_outputs = [target_view, upload_msg, left, top, size, upload]
    upload.upload(lambda *a: on_upload(ctx, *a), crop_inputs, crop_outputs)
    gr.on([manual.change, left.submit, top.submit, size.submit], lambda *a: on_upload(ctx, *a), crop_inputs,
          crop_outputs, trigger_mode="always_last")
    project_btn.click(new_job, None, job, queue=False).then(
        admin_only(check_admin, on_project), [password, job, *crop_inputs, space, steps, loss, use_encoder, tune_steps],
        [status, preview, latent_file, latent_state, views, verdict, view], concurrency_limit=1)
    cancel_btn.click(cancel_job, job, None, queue=False)
    view.change(on_view, [view, views], preview)
    return latent_state, password


def _build_editing(demo: gr.Blocks, ctx: AppContext, shelf: DirectionShelf, latent_state: gr.State,
                   password: gr.Textbox, check_admin: AdminCheck) -> None:
    """The direction set, the editor on the projected latent, and the sweep export (behind `password`)."""
    with gr.Row():
        set_dd = gr.Dropdown(label="Direction set", elem_id="inv-set")
        refresh = gr.Button("Refresh sets", size="sm", elem_id="inv-refresh")
    with gr.Row():
        with gr.Column(scale=1):
            editor = Editor.build("inv", reset_label="Reset sliders")
        with gr.Column(scale=1):
            edited = gr.Image(label="Edited", format="png", interactive=False, elem_id="inv-edited",
                              height=PREVIEW_SIZE + 40)
            blend = gr.Checkbox(True, label="Blend edits: where an edit acts, and only where its attributes show, "
                                            "draw it as the generator does (off: the tuned picture alone, which "
                                            "resists edits)", elem_id="inv-blend")
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

    def on_set(path):
        try:
            dset = load_w_set(shelf, path) if path else None
        except UserError as e:
            gr.Warning(message(e))
            dset = None
        if dset is None:
            return [gr.update(choices=[], value=None), *editor.hide()]
        choices = sweep_choices(dset)
        return [gr.update(choices=choices, value=choices[0] if choices else None), *editor.show(dset)]

    @user_errors_as_toasts
    def on_edit(state, path, blended, numeric, categorical, *values):
        if not state or not path:
            return None
        dset, amounts = load_w_set(shelf, path), amounts_from(numeric, categorical, values)
        codes = edited_codes(ctx, state, dset, amounts, shelf.reader(path), bool(blended))
        gen = face_generator(ctx, state, bool(blended))
        return enlarge(draw_edited(gen, state, dset, amounts, codes, bool(blended))[0])

    @user_errors_as_toasts
    def on_export(state, path, spec, a, b, n, f, fm, blended, numeric, categorical, *values):
        if not state:
            raise UserError("project a picture first")
        return export_sweep(ctx, state, load_w_set(shelf, path), spec, a, b, n, f, fm,
                            amounts_from(numeric, categorical, values), shelf.reader(path), bool(blended))

    edit_inputs = [latent_state, set_dd, blend, *editor.inputs]
    set_dd.change(on_set, set_dd, [sweep, *editor.outputs]).then(on_edit, edit_inputs, edited)
    editor.rerender(on_edit, edit_inputs, edited, also=[latent_state.change, blend.change])
    refresh.click(shelf.listing, set_dd, set_dd)  # an empty list's note says how to get a set
    export_btn.click(admin_only(check_admin, on_export), [password, latent_state, set_dd, sweep, sweep_from, sweep_to, frames, fps, fmt, blend, *editor.inputs],
                     [export_file, export_msg], concurrency_limit=1)
    demo.load(shelf.listing, None, set_dd)
