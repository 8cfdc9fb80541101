"""Animations: sweeps along a direction, walks through latents, GIF/MP4 files and strips for papers.

Every animation here is a seamless loop: frame n (the one after the last) would equal frame 0,
so a looping player never shows a duplicated frame or a jump at the seam.

* a sweep goes start -> end -> start (ping-pong) with cosine easing, so it slows at both turns;
* a walk visits key latents in a closed loop: slerp between Z codes (they live on a sphere of
  radius ~sqrt(z_dim)), lerp between W codes.

Files are written with imageio-ffmpeg: MP4 (libx264) and GIF through ffmpeg's palettegen /
paletteuse, one shared palette for the whole clip (about 1 s for 30 frames of 256x256 on 2 busy cores, where
per-frame quantisation in Pillow takes 5.5 s).

MP4 loops: x264's defaults (`-crf 18`) code the first frame, the only I-frame, about 3 quantiser steps
finer than the P/B-frames after it (ipratio/pbratio), and psy-rd/AQ/mb-tree move quality around
within and between frames. Slow frames re-use their reference's blocks, so the decoded compression
error drifts along the clip and the last frame's error pattern no longer matches the first's: on a
256-px sweep the seam differed 13x more than the source frames did, more than any neighbouring pair
(issue 18). Frame count, order and colour conversion were all right. The writer therefore uses one
constant, fine quantiser for every frame type with psy/AQ off (`MP4_X264_OPTIONS`): on that sweep the
seam then differs 0.43x (L2; 0.75x mean absolute) the largest neighbouring step, at ~4x the file size
of crf 18 (still yuv420p / High profile, so browsers play it). The drift is only made small, not
removed: a much slower clip (96 frames) can still show a seam as large as its largest step.
"""

from __future__ import annotations

from pathlib import Path
from typing import Callable, Sequence

import numpy as np

from latentlab.core.artifacts import atomic_path
from latentlab.core.errors import UserError

from directions.edit import edit
from directions.io import DirectionSet
from directions.pacing import DENSE, change_shares, paced_positions
from directions.reach import face_amount

VIDEO_SUFFIXES = (".gif", ".mp4")
# one quantiser for I, P and B frames, no psycho-visual or adaptive quantisation: equal quality over the loop
MP4_X264_OPTIONS = ["-qp", "8", "-x264-params", "ipratio=1:pbratio=1:psy=0:aq-mode=0"]


# -- timing ---------------------------------------------------------------------------------------
def loop_positions(n_frames: int, pingpong: bool = True, ease: str = "cosine") -> np.ndarray:
    """Positions t in [0, 1] for n frames: ping-pong loops 0 -> 1 -> 0 (frame n would be t=0);
    without ping-pong, 0 -> 1 including both ends (a one-way clip, not a loop)."""
    if n_frames < 2:
        raise UserError("an animation needs at least 2 frames")
    if not pingpong:
        t = np.linspace(0.0, 1.0, n_frames)
        return (1 - np.cos(np.pi * t)) / 2 if ease == "cosine" else t
    # up in ceil(n/2) steps, down in floor(n/2): for odd n the loop is slightly asymmetric rather than
    # showing the turning frame twice; frame n (the next loop's first) is t = 0 again
    up, down = n_frames - n_frames // 2, n_frames // 2
    k = np.arange(n_frames)
    t = np.where(k <= up, k / up, 1 - (k - up) / max(down, 1))
    if ease == "cosine":
        return (1 - np.cos(np.pi * t)) / 2
    if ease == "linear":
        return t
    raise ValueError(f"ease must be 'cosine' or 'linear', not {ease!r}")


def sweep_amounts(start: float, end: float, n_frames: int, pingpong: bool = True, ease: str = "cosine") -> np.ndarray:
    """Amounts in direction units for each frame of a sweep from `start` to `end`."""
    return start + (end - start) * loop_positions(n_frames, pingpong, ease)


def sweep_latents(w: np.ndarray, direction_set: DirectionSet, name: str, start: float | str, end: float | str,
                  n_frames: int, pingpong: bool = True, layers: Sequence[int] | None = None,
                  num_ws: int | None = None, pace_with: Callable[[np.ndarray], np.ndarray] | None = None,
                  reach: np.ndarray | None = None, reach_units: np.ndarray | None = None) -> np.ndarray:
    """Codes [F, N, ...] for a sweep of latents w [N, D] (or W+) along `name`.

    Numbers sweep that many units relative to each face (0 = the face itself); a class name as
    `end` (with start 0) moves each face from itself onto that class and back.
    `pace_with` (codes [K, ...] -> uint8 pictures [K, H, W, 3], e.g. `render_frames` bound to a
    generator) places each face's frames at equal shares of its picture change
    (`directions.pacing`) instead of equal steps in units, so a switch is spread over many frames.
    `reach` [N] (a sweep onto a class only) ends each face at that share of the usual way
    (`directions.reach.onto_class_shares`: as far as the attribute reader needs to read the class);
    `reach_units` [N] (onto a binary/ordinal class) ends each face that many signed units along the
    direction instead (`directions.reach.onto_class_units`).
    """
    w = np.asarray(w, np.float32)
    if isinstance(end, str) and start not in (0, 0.0, "", None):
        raise UserError("a sweep towards a class starts at the face itself; leave START out or give 0")
    ends = {k: v for k, v in (("reach", reach), ("reach_units", reach_units)) if v is not None}
    if ends and not isinstance(end, str):
        raise ValueError("reach applies to sweeps onto a class")

    def amount(i: int | None, f: float) -> float | str:  # face i's amount at a share f of its way
        if isinstance(end, str):
            return face_amount(end, ends, i, f)
        return float(start) + (float(end) - float(start)) * f

    def face(i: int, f: float) -> np.ndarray:  # one face's codes at a share f of its own way
        return edit(w[i: i + 1], direction_set, {name: amount(i, f)}, layers=layers, num_ws=num_ws)

    def at(f: float) -> np.ndarray:  # every face's codes at a share f of its way
        if not ends:
            return edit(w, direction_set, {name: amount(None, f)}, layers=layers, num_ws=num_ws)
        return np.concatenate([face(i, f) for i in range(len(w))])

    positions = loop_positions(n_frames, pingpong)
    if pace_with is None:
        return np.stack([at(f) for f in positions])
    dense = np.stack([at(f) for f in np.linspace(0.0, 1.0, DENSE)])  # [M, N, ...]
    pictures = pace_with(dense.reshape(-1, *dense.shape[2:]))
    t = paced_positions(change_shares(pictures.reshape(DENSE, len(w), *pictures.shape[1:])), positions)
    return np.stack([np.concatenate([face(i, t[k, i]) for i in range(len(w))]) for k in range(len(positions))])

def pacer(gen, direction_set: DirectionSet, name: str, reader=None, space: str = "w",
          truncation_psi: float = 1.0, class_label: int | None = None) -> Callable[[np.ndarray], np.ndarray]:
    """The `pace_with` of `sweep_latents`: codes -> what pacing compares between neighbours.

    With an attribute reader (`directions.reader`) that knows the swept attribute: its probabilities
    for that attribute, so frames split the attribute's change evenly; otherwise (or for custom
    directions) the pictures themselves."""
    attribute = direction_set.find(name)[0].attribute
    known = reader is not None and attribute in reader.classes

    def read(codes: np.ndarray) -> np.ndarray:
        pictures = render_frames(gen, codes, space=space, truncation_psi=truncation_psi, class_label=class_label)
        return reader.predict_proba(pictures, attribute)[attribute] if known else pictures

    return read


def slerp(a: np.ndarray, b: np.ndarray, t: float | np.ndarray) -> np.ndarray:
    """Spherical interpolation of rows a, b [..., D] (magnitudes interpolated linearly)."""
    t = np.asarray(t, np.float64)[..., None] if np.ndim(t) else float(t)
    na, nb = np.linalg.norm(a, axis=-1, keepdims=True), np.linalg.norm(b, axis=-1, keepdims=True)
    ua, ub = a / na, b / nb
    omega = np.arccos(np.clip(np.sum(ua * ub, -1, keepdims=True), -1.0, 1.0))
    so = np.sin(omega)
    safe = so > 1e-6
    wa = np.where(safe, np.sin((1 - t) * omega) / np.where(safe, so, 1), 1 - t)
    wb = np.where(safe, np.sin(t * omega) / np.where(safe, so, 1), t)
    return (wa * ua + wb * ub) * ((1 - t) * na + t * nb)


def lerp(a: np.ndarray, b: np.ndarray, t: float | np.ndarray) -> np.ndarray:
    t = np.asarray(t, np.float64)[..., None] if np.ndim(t) else float(t)
    return a + (b - a) * t


def walk_latents(keys: np.ndarray, frames_per_step: int, mode: str = "slerp", ease: str = "cosine") -> np.ndarray:
    """A closed walk key[0] -> key[1] -> ... -> key[-1] -> key[0]: [K * frames_per_step, D].

    Each step's last point is the next key, which is the next step's first frame, so nothing
    repeats at the joins or at the loop's seam. mode "slerp" for Z codes, "lerp" for W codes.
    """
    keys = np.asarray(keys, np.float64)
    if keys.ndim != 2 or len(keys) < 2:
        raise UserError("a latent walk needs at least 2 latents")
    if frames_per_step < 1:
        raise UserError("a latent walk needs at least 1 frame per step")
    interp = {"slerp": slerp, "lerp": lerp}.get(mode)
    if interp is None:
        raise ValueError(f"mode must be 'slerp' or 'lerp', not {mode!r}")
    t = np.arange(frames_per_step) / frames_per_step
    if ease == "cosine":
        t = (1 - np.cos(np.pi * t)) / 2
    out = [interp(keys[k][None], keys[(k + 1) % len(keys)][None], t) for k in range(len(keys))]
    return np.concatenate(out).astype(np.float32)


def parse_sweep(spec: str, direction_set: DirectionSet, default_range: float = 3.0
                ) -> tuple[str, float, float | str]:
    """A sweep spec of the CLI and the app -> (direction name, start, end).

    'age' -> (age, -3, 3); 'age:2' -> (age, 0, 2); 'age:-2:2' -> (age, -2, 2);
    'hair_color:blonde' or 'age:adult' -> (attribute, 0, class): from the face onto that class;
    'hair_color:blonde:-2:2' -> along the "towards blonde" vector from -2 to +2 units.
    """
    parts = spec.strip().split(":")
    nums: list[float] = []
    while len(parts) > 1 and len(nums) < 2:
        try:
            nums.insert(0, float(parts[-1]))
        except ValueError:
            break
        parts.pop()
    name = ":".join(parts)
    if not nums and ":" in name:
        base, _, target = name.rpartition(":")
        if base in direction_set.entries and target in direction_set.entries[base].classes:
            return base, 0.0, target
    direction_set.find(name)  # a clear error for unknown names
    if len(nums) == 2:
        return name, nums[0], nums[1]
    if len(nums) == 1:
        return name, 0.0, nums[0]
    return name, -default_range, default_range


# -- file names -----------------------------------------------------------------------------------
EXPORT_NAME_MAX = 100  # characters of a file name's stem, before the suffix


def sweep_label(name: str, start: float | str, end: float | str) -> str:
    """What a sweep shows, for a file name: 'age-+3' (0 -> 3), 'age-from-3-to+3', 'hair_color-blonde'."""
    if isinstance(end, str):
        return f"{name}-{end}"
    if float(start) == 0:
        return f"{name}-{float(end):+g}"
    return f"{name}-from{float(start):+g}-to{float(end):+g}"


def fresh_path(folder: str | Path, name: str) -> Path:
    """folder/name, or folder/name-2, -3, ... when taken: default exports never replace earlier ones."""
    path = Path(folder) / name
    stem, suffix, k = path.stem, path.suffix, 2
    while path.exists():
        path, k = path.with_name(f"{stem}-{k}{suffix}"), k + 1
    return path


def export_name(what: str, set_name: str | None = None, seeds: Sequence[int] | None = None,
                source: str | None = None, suffix: str = ".gif", max_len: int = EXPORT_NAME_MAX) -> str:
    """A file name that says what an export shows: 'age-+3_set-myset_seeds-0-1-2.gif'.

    Fields are joined by '_'; only letters, digits and '_+-.' survive (anything else becomes '-', so
    no path separators, spaces or ':'); more than 5 seeds are shortened ('seeds-0-1-2-3-4-and-59-more'); a stem longer
    than `max_len` is cut and ends in 8 hex digits of a hash of the whole stem, so that long
    names stay distinct.
    """
    import hashlib
    import re

    def clean(text: str) -> str:
        return re.sub(r"[^A-Za-z0-9_+.-]+", "-", str(text)).strip("-._")

    fields = [clean(what) or "animation"]
    if set_name:
        fields.append("set-" + clean(set_name))
    if seeds is not None and len(seeds):
        shown = [str(int(s)) for s in seeds[:5]]
        more = f"-and-{len(seeds) - 5}-more" if len(seeds) > 5 else ""
        fields.append("seeds-" + "-".join(shown) + more)
    if source:
        fields.append("from-" + clean(source))
    stem = "_".join(f for f in fields if f.strip("-"))
    if len(stem) > max_len:
        digest = hashlib.sha1(stem.encode()).hexdigest()[:8]
        stem = stem[: max_len - 9].rstrip("-_.") + "-" + digest
    return stem + suffix


# -- pictures -------------------------------------------------------------------------------------
def render_frames(gen, codes: np.ndarray, grid: bool = False, batch_size: int = 32, progress: bool = False,
                  cols: int = 8, space: str = "w", truncation_psi: float = 1.0,
                  class_label: int | None = None) -> np.ndarray:
    """One face per frame: codes [F, D] or W+ [F, L, D] -> uint8 [F, R, R, 3].

    grid=True: several faces per frame, codes [F, N, D] or [F, N, L, D] -> one image grid per frame.
    space="z": the codes are Z codes, mapped to W (with truncation_psi, and a conditional generator's
    `class_label`, None = the class it is set to) before drawing.
    """
    from latentlab.generator.interface import image_grid, map_latents, render

    codes = np.asarray(codes, np.float32)
    if space == "z":
        if codes.shape[-1] != gen.z_dim:
            raise UserError(f"Z codes have {codes.shape[-1]} dimensions but the generator's z_dim is {gen.z_dim}")
        codes = map_latents(gen, codes.reshape(-1, gen.z_dim), truncation_psi,
                            class_label=class_label).reshape(*codes.shape[:-1], gen.w_dim)
    if not grid:
        return render(gen, codes, batch_size=batch_size, progress=progress)
    f, n = codes.shape[:2]
    flat = render(gen, codes.reshape(f * n, *codes.shape[2:]), batch_size=batch_size, progress=progress)
    flat = flat.reshape(f, n, *flat.shape[1:])
    return np.stack([image_grid(frame, cols=min(n, cols)) for frame in flat])


def render_locked(gen, codes: np.ndarray, anchors: np.ndarray, mask: np.ndarray | None, grid: bool = False,
                  cols: int = 8, **draw) -> np.ndarray:
    """`render_frames` of edited codes, each face drawn as edited only inside `mask` [R, R]
    (directions.regions) and as its unedited `anchors` elsewhere; mask None draws them whole.

    anchors: the unedited code of each face: [N, ...] for grid frames [F, N, ...], else [F, ...] or [1, ...]."""
    from latentlab.generator.interface import image_grid

    from directions.regions import lock_to_regions

    if mask is None:
        return render_frames(gen, codes, grid=grid, cols=cols, **draw)
    codes = np.asarray(codes, np.float32)
    flat = codes.reshape(-1, *codes.shape[2:]) if grid else codes
    faces = render_frames(gen, flat, **draw)
    if mask.shape[0] != faces.shape[1]:
        raise UserError(f"a region mask of {mask.shape[0]} px for pictures of {faces.shape[1]} px")
    base = render_frames(gen, np.asarray(anchors, np.float32), **{k: v for k, v in draw.items() if k != "progress"})
    if not grid:
        return lock_to_regions(faces, base, mask)
    f, n = codes.shape[:2]
    locked = lock_to_regions(faces.reshape(f, n, *faces.shape[1:]), base[None], mask)
    return np.stack([image_grid(frame, cols=min(n, cols)) for frame in locked])


def resize_frames(frames: np.ndarray, size: int | tuple[int, int] | None) -> np.ndarray:
    """Frames [F, H, W, 3] scaled to size (an int = the longer side) with Lanczos; None = unchanged."""
    if size is None:
        return frames
    from PIL import Image

    h, w = frames.shape[1:3]
    if isinstance(size, int):
        scale = size / max(h, w)
        size = (max(1, round(w * scale)), max(1, round(h * scale)))
    if tuple(size) == (w, h):
        return frames
    return np.stack([np.asarray(Image.fromarray(f).resize(size, Image.LANCZOS)) for f in frames])


def write_animation(frames: np.ndarray, path: str | Path, fps: float = 24, loop: bool = True,
                    size: int | tuple[int, int] | None = None) -> Path:
    """Write uint8 frames [F, H, W, 3] as .gif or .mp4 (by suffix); GIFs repeat forever if `loop`.

    `size` rescales (int: longer side in pixels; (width, height)). MP4 needs even sides; odd ones
    are padded by one black pixel.
    """
    import imageio_ffmpeg

    path = Path(path)
    suffix = path.suffix.lower()
    if suffix not in VIDEO_SUFFIXES:
        raise UserError(f"cannot write an animation to {path.name}; use a .gif or .mp4 file name")
    frames = np.asarray(frames)
    if frames.ndim != 4 or frames.shape[-1] != 3 or frames.dtype != np.uint8 or len(frames) == 0:
        raise ValueError(f"frames must be uint8 [F, H, W, 3], got {frames.dtype} {frames.shape}")
    frames = resize_frames(frames, size)
    if suffix == ".mp4" and (frames.shape[1] % 2 or frames.shape[2] % 2):
        frames = np.pad(frames, ((0, 0), (0, frames.shape[1] % 2), (0, frames.shape[2] % 2), (0, 0)))
    h, w = frames.shape[1:3]
    if suffix == ".gif":
        palette = "split[a][b];[a]palettegen=stats_mode=full[p];[b][p]paletteuse=dither=bayer:bayer_scale=4"
        options = dict(codec="gif", pix_fmt_out="pal8", macro_block_size=1,
                       output_params=["-vf", palette, "-loop", "0" if loop else "-1"])
    else:
        options = dict(codec="libx264", macro_block_size=2, output_params=list(MP4_X264_OPTIONS))
    with atomic_path(path, keep_suffix=True) as tmp:
        writer = imageio_ffmpeg.write_frames(str(tmp), (w, h), fps=fps, quality=None, ffmpeg_log_level="error",
                                             **options)
        writer.send(None)
        try:
            for frame in frames:
                writer.send(np.ascontiguousarray(frame))
        finally:
            writer.close()
    return path


def read_animation(path: str | Path) -> np.ndarray:
    """All frames of a GIF or MP4 as uint8 [F, H, W, 3] (counted by reading: MP4 headers say inf)."""
    import imageio.v3 as iio

    path = Path(path)
    if path.suffix.lower() == ".gif":
        frames = iio.imread(path, index=None)
        return np.asarray(frames)[..., :3]
    import imageio_ffmpeg

    reader = imageio_ffmpeg.read_frames(str(path))
    meta = next(reader)
    w, h = meta["size"]
    return np.stack([np.frombuffer(b, np.uint8).reshape(h, w, 3) for b in reader])


def strip(frames: np.ndarray, n: int = 8, gap: int = 2) -> np.ndarray:
    """n evenly spaced frames side by side (a figure for papers): uint8 [H, n*W + (n-1)*gap, 3], white gaps.

    For a ping-pong loop pass only its first half (start -> end) to show the sweep once.
    """
    frames = np.asarray(frames)
    n = min(n, len(frames))
    idx = np.round(np.linspace(0, len(frames) - 1, n)).astype(int)
    h, w = frames.shape[1:3]
    out = np.full((h, n * w + (n - 1) * gap, 3), 255, np.uint8)
    for j, i in enumerate(idx):
        out[:, j * (w + gap): j * (w + gap) + w] = frames[i]
    return out


def save_png(image: np.ndarray, path: str | Path) -> Path:
    from PIL import Image

    path = Path(path)
    with atomic_path(path, keep_suffix=True) as tmp:
        Image.fromarray(np.asarray(image, np.uint8)).save(tmp)
    return path
