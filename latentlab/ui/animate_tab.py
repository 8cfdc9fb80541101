"""The "Animate" tab: seamless loops along a direction, or a walk through seeded faces.

Writes GIF, MP4 and a strip PNG to `<workspace>/exports/` with `directions.animate`. "Frames" is
the total number of frames of the animation, as in the CLI (a walk's total is rounded to a whole
number of frames per stop). Only the controls of the chosen kind of animation show; a sweep that
would not move the faces is refused; Cancel stops a render before any file is written.
"""

from __future__ import annotations

from pathlib import Path

import gradio as gr
import numpy as np

from latentlab.core.errors import UserError, quoted
from latentlab.generator.interface import map_latents, sample_z
from latentlab.ui.context import AppContext
from latentlab.ui.gradio_util import AdminCheck, admin_only, admin_password_box, class_picker, user_errors_as_toasts
from latentlab.ui.sets import DirectionShelf, sweep_choices

from directions.animate import (export_name, fresh_path, pacer, parse_sweep, render_frames, render_locked, save_png,
                                strip, sweep_label, sweep_latents, walk_latents, write_animation)
from directions.reach import sweep_reach
from directions.reader import load_reader, reader_path
from directions.regions import set_mask

ANIMATION_FRAMES = 36  # the default length of an animation, in the app and the CLI (`--frames`)


def parse_seeds(text: str) -> list[int]:
    """'1, 2,3' -> [1, 2, 3]."""
    try:
        seeds = [int(s) for s in str(text).replace(" ", "").split(",") if s]
    except ValueError:
        raise UserError(f"cannot read seeds {quoted(text)}; write numbers separated by commas, e.g. 1,2,3") from None
    if not seeds or any(s < 0 for s in seeds):
        raise UserError("give at least one non-negative seed")
    return seeds


def frames_per_stop(total: int, stops: int) -> int:
    """Frames per step of a walk through `stops` latents that comes closest to `total` frames in all."""
    return max(1, round(int(total) / stops))


def still_sweep(codes: np.ndarray) -> bool:
    """Whether every frame of a sweep [F, ...] shows the same latents (nothing would move)."""
    codes = np.asarray(codes, np.float64)
    return float(np.abs(codes - codes[:1]).max()) < 1e-6


def walk_video(ctx: AppContext, z: np.ndarray, frames: int, psi: float, space: str,
               class_label: int | None = None) -> np.ndarray:
    """A loop through the faces of `z` (slerp in Z, lerp in W; of `class_label` for a conditional
    generator), about `frames` frames in all: [F, H, W, 3]."""
    if len(z) < 2:
        raise UserError("a walk needs at least 2 seeds, e.g. 1,2,3")
    per_step = frames_per_stop(frames, len(z))
    if space == "z":
        return render_frames(ctx.generator, walk_latents(z, per_step, "slerp"), space="z", truncation_psi=psi,
                             class_label=class_label)
    w = map_latents(ctx.generator, z, psi, class_label=class_label)
    return render_frames(ctx.generator, walk_latents(w, per_step, "lerp"))


def sweep_video(ctx: AppContext, shelf: DirectionShelf, set_path: str, spec: str, start: float, end: float,
                z: np.ndarray, frames: int, psi: float, pingpong: bool, class_label: int | None = None) -> np.ndarray:
    """The faces of `z` (of `class_label`, conditional generators) side by side, swept along `spec` (or
    onto its class): frames [F, H, W, 3], each face changed only where the attribute shows (directions.regions)
    when the set has regions."""
    dset = shelf.load(set_path)
    if not spec:
        raise UserError("choose a direction to animate along")
    name, a, b = parse_sweep(spec, dset)
    if not isinstance(b, str):
        a, b = float(start), float(end)
    codes = z if dset.space == "z" else map_latents(ctx.generator, z, psi, class_label=class_label)
    draw = {"space": dset.space, "truncation_psi": psi, "class_label": class_label}  # how codes become faces
    sweep = sweep_latents(codes, dset, name, a, b, frames, pingpong=pingpong)
    if still_sweep(sweep):
        why = f"they are {name}={b} already" if isinstance(b, str) else f"From and To are both {a:g}"
        raise UserError(f"the sweep {spec} would not move these faces: {why}; choose another direction "
                        "or range")
    # frames at equal shares of the change: as the set's attribute reader sees it (`fit --reader`), else the picture
    reader_file = reader_path(set_path)
    reader = load_reader(reader_file, generator_id=ctx.generator.generator_id) if reader_file.is_file() else None
    # onto a class: each face as far as the reader needs to read it
    ends = sweep_reach(codes, dset, name, b, lambda c: render_frames(ctx.generator, c, **draw), reader)
    sweep = sweep_latents(codes, dset, name, a, b, frames, pingpong=pingpong,
                          pace_with=pacer(ctx.generator, dset, name, reader, **draw), **ends)
    mask = set_mask(dset, [name], ctx.generator.resolution)  # drawn only where the attribute shows
    return render_locked(ctx.generator, sweep, codes, mask, grid=True, **draw)


def make_animation(ctx: AppContext, shelf: DirectionShelf, mode: str, set_path: str, spec: str, start: float,
                   end: float, frames: int, fps: float, pingpong: bool, seeds: str, psi: float, walk_space: str,
                   size: int, class_label: int | None = None):
    """Write GIF, MP4 and strip PNG to the workspace's exports, as a generator for the app: yields
    (preview, files, status) while it renders, then (GIF for the preview, all three files, status).
    Cancelled while rendering (the generator not resumed), it writes nothing."""
    seed_list = parse_seeds(seeds)
    yield gr.update(), gr.update(), f"Rendering about {int(frames)} frames…"
    z = np.concatenate([sample_z(1, s, ctx.generator.z_dim) for s in seed_list])
    if mode == "walk":
        video = walk_video(ctx, z, int(frames), float(psi), walk_space, class_label)
        what, set_name, strip_frames = f"walk-{walk_space}", None, video
    else:
        video = sweep_video(ctx, shelf, set_path, spec, start, end, z, int(frames), float(psi), bool(pingpong),
                            class_label)
        name, a, b = parse_sweep(spec, shelf.load(set_path))
        what = sweep_label(name, a, b) if isinstance(b, str) else sweep_label(name, float(start), float(end))
        set_name, strip_frames = Path(set_path).stem, (video[: len(video) // 2 + 1] if pingpong else video)
    yield gr.update(), gr.update(), f"Rendered {len(video)} frames; writing the files…"  # Cancel stops here
    gif_path = fresh_path(ctx.exports_dir(), export_name(what, set_name, seed_list, suffix=".gif"))
    base = gif_path.with_suffix("")
    longer = int(size) * max(video.shape[1:3]) // ctx.generator.resolution or None  # Size is per face
    gif = write_animation(video, base.with_name(base.name + ".gif"), fps=float(fps), size=longer)
    mp4 = write_animation(video, base.with_name(base.name + ".mp4"), fps=float(fps), size=longer)
    png = save_png(strip(strip_frames), base.with_name(base.name + "-strip.png"))
    yield str(gif), [str(gif), str(mp4), str(png)], f"Wrote {len(video)} frames: {gif.name} (and .mp4, strip .png)"


def build_animate_tab(ctx: AppContext, shelf: DirectionShelf, check_admin: AdminCheck) -> None:
    """The "Animate" tab (call inside gr.Tabs); rendering writes files, so it asks for the admin password."""
    with gr.Tab("Animate", id="directions-animate"):
        gr.Markdown("Seamless loops: a ping-pong sweep along a direction, or a walk through seeded faces "
                    "(slerp in Z, lerp in W). Writes GIF, MP4 and a strip PNG to the workspace's exports. "
                    "*Frames* is the whole animation's length, as `--frames` in the CLI.")
        with gr.Row():
            mode = gr.Radio([("Along a direction", "sweep"), ("Walk through seeds", "walk")], value="sweep",
                            label="Animation")
            an_set = shelf.dropdown(elem_id="animate-set")
            refresh = gr.Button("Refresh sets", size="sm")
            direction = gr.Dropdown(label="Direction (attr:class moves onto a class)", elem_id="animate-direction")
        with gr.Row():
            start = gr.Number(-3, label="From (units)", elem_id="animate-from")
            end = gr.Number(3, label="To (units)", elem_id="animate-to")
            frames = gr.Slider(8, 120, value=ANIMATION_FRAMES, step=1, label="Frames (total)", elem_id="animate-frames")
            fps = gr.Slider(4, 60, value=24, step=1, label="FPS")
            pingpong = gr.Checkbox(True, label="Ping-pong loop", elem_id="animate-pingpong")
        with gr.Row():
            seeds = gr.Textbox("0", label="Seeds (faces side by side, or walk stops)", elem_id="animate-seeds")
            klass = class_picker(ctx.classes, ctx.start_class, "animate-class")
            psi = gr.Slider(0.3, 1.0, value=0.8, step=0.05, label="Truncation")
            walk_space = gr.Radio(["z", "w"], value="z", label="Walk in", visible=False, elem_id="animate-walk-space")
            size = gr.Slider(64, 512, value=256, step=32, label="Size (px per face)",
                             info="each face is drawn this large in the files and the preview")
        with gr.Row():
            password = admin_password_box("animate-password", "render (the files go to the workspace)")
            render_btn = gr.Button("Render", variant="primary", elem_id="animate-button")
            cancel = gr.Button("Cancel", elem_id="animate-cancel")
        status = gr.Markdown(elem_id="animate-status")
        with gr.Row():
            preview = gr.Image(label="Preview", interactive=False, elem_id="animate-preview")
            files = gr.File(label="Downloads", file_count="multiple", interactive=False, elem_id="animate-files")

    @user_errors_as_toasts
    def on_anim_set(path):
        if not path:
            return gr.update(choices=[], value=None)
        choices = sweep_choices(shelf.load(path))
        return gr.update(choices=choices, value=choices[0] if choices else None)

    @user_errors_as_toasts
    def on_render(*args):
        yield from make_animation(ctx, shelf, *args)

    def on_controls(kind, spec):
        """Only what applies shows: the walk has no direction, range or ping-pong; a sweep onto a class no range."""
        sweep = kind != "walk"
        onto_class = sweep and bool(spec) and _onto_class(spec)
        return (*[gr.update(visible=sweep)] * 4, *[gr.update(visible=sweep and not onto_class)] * 2,
                gr.update(visible=not sweep))

    def _onto_class(spec: str) -> bool:
        return ":" in spec and not _is_number(spec.rpartition(":")[2])

    an_set.change(on_anim_set, an_set, direction)
    refresh.click(shelf.listing, an_set, an_set)
    gr.on([mode.change, direction.change], on_controls, [mode, direction],
          [an_set, refresh, direction, pingpong, start, end, walk_space], queue=False, api_visibility="private")
    rendering = render_btn.click(admin_only(check_admin, on_render),
                                 [password, mode, an_set, direction, start, end, frames, fps, pingpong, seeds, psi,
                                  walk_space, size, klass], [preview, files, status])
    cancel.click(lambda: "Cancelled: no file was written.", None, status, cancels=[rendering], queue=False,
                 api_visibility="private")


def _is_number(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return True
