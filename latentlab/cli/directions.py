"""CLI subcommands of the directions stage: fit, directions, edit, animate, explore.

    latentlab fit --run 1 --condition age:hair_length         # LDA directions from a run's labels
    latentlab directions workspace/directions/run1-w.npz      # what a set holds
    latentlab edit faces.npz --directions SET --set age=+2 --set hair_color=blonde --animate age:-3:3
    latentlab animate faces.npz --directions SET --along hair_color:blonde --out a.gif --out a.mp4
    latentlab animate --seeds 1,2,3,4 --walk --out walk.mp4   # a seamless loop through latents
    latentlab explore faces.npz --session S ; explore --session S --pick 3 ; explore --session S --save cute

Nothing saved is replaced silently: an existing direction set (fit), direction name (explore --save) or
exploration session (explore LATENTS --session S) needs --force. Default export names say what they show
(`age-+3_set-run1-w_seeds-0-1-2.gif`) and never replace an earlier export.

--frames is the total number of frames of an animation (default 36), as "Frames" in the app: a
sweep has exactly that many, a walk through K latents the nearest multiple of K. Amounts beyond
±AMOUNT_LIMIT units (where hardly any labeled face lies) are clamped, with a warning; a sweep whose
frames would all be the same (e.g. `--set hair_color=blonde --animate hair_color:blonde`) is refused.
Sweeps place their frames at equal shares of the change (`--pace`, `directions.pacing`): as the set's
attribute reader sees the swept attribute when `fit --reader` trained one, else of the picture.
"""

from __future__ import annotations

import argparse
import re
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING

from latentlab.cli.common import (add_generator_options, add_store_options, add_truncation_option,
                                  add_workspace_option, db_url, generator_from_args, log, workspace)
from latentlab.core.errors import UserError

if TYPE_CHECKING:
    import numpy as np

ANIMATION_FRAMES = 36  # the default total frames of an animation: the app's "Frames" default too
AMOUNT_LIMIT = 4.0  # units either side of a face an amount may reach: the app's slider range


# -- shared helpers ------------------------------------------------------------------------------
def _safe(name: str) -> str:
    return re.sub(r"[^A-Za-z0-9_.+-]+", "_", name).strip("_") or "direction"


def _stamp() -> str:
    return datetime.now().strftime("%Y%m%d-%H%M%S")


def _refuse_overwrite(what: str, force: bool, other: str) -> None:
    """One line for a user about to replace saved work: pass --force or choose another name."""
    if not force:
        raise UserError(f"{what} already exists; pass --force to replace it, or {other}")


def _source_latents(args, gen) -> tuple[np.ndarray, np.ndarray | None, str]:
    """(w or ws codes [N, ...], z codes or None, description) from a latent file or --seeds."""
    import numpy as np

    from latentlab.core.latents import load_latents
    from latentlab.generator.interface import map_latents, sample_z

    if getattr(args, "latents", None):
        lat = load_latents(args.latents)
        lat.check_generator(gen.generator_id)
        codes = lat.ws if lat.ws is not None else lat.w
        if args.index is not None:
            if not 0 <= args.index < len(codes):
                raise UserError(f"--index {args.index} is outside the {len(codes)} latents of {args.latents}")
            sel = slice(args.index, args.index + 1)
        else:
            sel = slice(0, args.max_faces)
        z = lat.z[sel] if lat.z is not None and lat.ws is None else None
        return codes[sel], z, str(args.latents)
    seeds = _parse_seeds(getattr(args, "seeds", None) or "0")
    z = np.concatenate([sample_z(1, s, gen.z_dim) for s in seeds])
    return map_latents(gen, z, args.truncation_psi), z, f"seeds {seeds}"


def _parse_seeds(text: str) -> list[int]:
    try:
        seeds = [int(s) for s in text.replace(" ", "").split(",") if s]
    except ValueError:
        raise UserError(f"cannot read --seeds {text!r}; write numbers separated by commas, e.g. 1,2,3") from None
    if not seeds or any(s < 0 for s in seeds):
        raise UserError("--seeds needs at least one non-negative seed")
    return seeds


def _space_codes(dset, w, z) -> np.ndarray:
    """The codes a set edits: W (or W+) for W sets; Z for Z sets (which then need z)."""
    if dset.space == "w":
        return w
    if z is None:
        raise UserError("this direction set lives in Z but these latents have no z (W+ or inverted latents); "
                        "fit a set in W (latentlab fit --space w) to edit them")
    return z


def _clamp(value: float, what: str) -> float:
    """`value` (direction units) within ±AMOUNT_LIMIT; a warning when it was outside."""
    clamped = max(-AMOUNT_LIMIT, min(AMOUNT_LIMIT, float(value)))
    if clamped != value:
        log.warning(f"{what}: {value:+g} units is beyond ±{AMOUNT_LIMIT:g} (hardly any labeled face lies "
                    f"that far along a direction); using {clamped:+g}")
    return clamped


def _clamp_amounts(amounts: dict) -> dict:
    return {name: v if isinstance(v, str) else _clamp(v, f"--set {name}") for name, v in amounts.items()}


def _parse_clamped_sweep(spec: str, dset, default_range: float) -> tuple:
    """parse_sweep with numeric ends clamped to ±AMOUNT_LIMIT."""
    from directions.animate import parse_sweep

    name, start, end = parse_sweep(spec, dset, default_range)
    if isinstance(end, str):
        return name, start, end
    return name, _clamp(start, f"{spec} start"), _clamp(end, f"{spec} end")


def _refuse_still(sweep: np.ndarray, spec: str, why: str) -> None:
    """A sweep whose frames all show the same latents is refused (an animation of one still picture)."""
    import numpy as np

    codes = np.asarray(sweep, np.float64)
    if float(np.abs(codes - codes[:1]).max()) < 1e-6:
        raise UserError(f"the sweep {spec} would not move anything: {why}")


def _still_reason(name: str, start, end, amounts: dict | None = None) -> str:
    """Why a sweep from `start` to `end` along `name` shows one still picture."""
    if not isinstance(end, str):
        return f"it starts and ends at {start:+g} units; give two different ends, e.g. {name}:-3:3"
    edited = [f"--set {k}={v}" for k, v in (amounts or {}).items() if k == name or str(k).startswith(name + ":")]
    if edited:
        return (f"after {', '.join(edited)} the faces are {name}={end} already, and a sweep onto a class starts "
                f"from the face; animate another class, or leave out that --set")
    return f"the faces are {name}={end} already; animate another class"


def _walk_steps(total: int, stops: int) -> int:
    """Frames per step of a walk through `stops` latents, nearest to `total` frames in all."""
    per_step = max(1, round(total / stops))
    if per_step * stops != total:
        log.info(f"a walk through {stops} latents has {per_step * stops} frames ({per_step} per step), "
                 f"the nearest to --frames {total}")
    return per_step


def _write_outputs(frames: np.ndarray, outs: list[str], fps: float, size: int | None, strip_path: str | None,
                   strip_frames: np.ndarray | None = None) -> list[Path]:
    from directions.animate import save_png, strip, write_animation

    written = [write_animation(frames, o, fps=fps, size=size or None) for o in outs]
    if strip_path:
        written.append(save_png(strip(frames if strip_frames is None else strip_frames), strip_path))
    return written


# -- fit ------------------------------------------------------------------------------------------
def _parse_shrinkage(text: str):
    if text in ("auto",):
        return "auto"
    if text in ("none", "0", ""):
        return None
    try:
        v = float(text)
    except ValueError:
        v = -1
    if not 0 <= v <= 1:
        raise UserError(f"--shrinkage must be 'auto', 'none' or a number between 0 and 1, got {text!r}")
    return v


def print_table(rows: list[dict]) -> None:
    import pandas as pd

    with pd.option_context("display.max_columns", None, "display.width", 200, "display.max_colwidth", 70,
                           "display.float_format", "{:.3f}".format):
        print(pd.DataFrame(rows).fillna("").to_string(index=False))


def _cmd_fit(args: argparse.Namespace) -> None:
    from directions.conditional import parse_conditions
    from directions.fit import fit_run
    from directions.io import save_direction_set

    if args.space not in ("w", "z"):
        raise UserError("--space must be w or z")
    attributes = [a.strip() for a in args.attributes.split(",") if a.strip()] if args.attributes else None
    out = Path(args.out) if args.out else workspace(args) / "directions" / f"run{args.run}-{args.space}.npz"
    if out.exists():  # checked before the fit, which takes a while
        _refuse_overwrite(f"direction set {out}", args.force, "choose another file with --out")
    result = fit_run(db_url(args), args.run, space=args.space, attributes=attributes,
                     aggregation=args.aggregation, conditions=parse_conditions(args.condition), progress=True,
                     shrinkage=_parse_shrinkage(args.shrinkage), cv=args.cv, min_per_class=args.min_per_class,
                     compare_svm=not args.no_svm)
    save_direction_set(out, result.direction_set)
    print_table(result.table().to_dict("records"))
    if args.reader:
        _train_reader(args, out)
    else:
        from directions.reader import drop_reader, reader_path

        if drop_reader(out):
            log.warning(f"removed {reader_path(out).name}: it belonged to the set this fit replaced "
                        "(train a new one with --reader)")
    for why in result.refused.values():
        log.warning(f"not fitted: {why}")
    regions = result.direction_set.source.get("regions", "")
    if regions.startswith("none"):
        log.warning(f"regions: {regions}")
    print(f"wrote {out} ({len(result.direction_set.entries)} directions, generator "
          f"{result.direction_set.generator_id}, space {args.space.upper()})")


def _train_reader(args: argparse.Namespace, set_path: Path) -> None:
    """`fit --reader`: the set's attribute reader, trained on the run's faces and aggregated labels."""
    from directions.reader import agreement_text, reader_path, save_reader, train_run_reader

    log.info(f"training the attribute reader on run {args.run}'s faces ({args.reader_epochs} epochs)")
    reader = train_run_reader(db_url(args), args.run, aggregation=args.aggregation, epochs=args.reader_epochs)
    path = save_reader(reader_path(set_path), reader)
    print(f"wrote {path} (agreement with the crowd on 10 % held-out faces: {agreement_text(reader)})")


def _set_reader(args: argparse.Namespace, gen):
    """The direction set's attribute reader (`fit --reader`), or None when it has none."""
    from directions.reader import load_reader, reader_path

    path = reader_path(args.directions)
    return load_reader(path, generator_id=gen.generator_id) if path.is_file() else None


def _pace_with(args: argparse.Namespace, gen, dset, name: str, reader, psi: float = 1.0):
    """The `pace_with` of a sweep for --pace (None = evenly in units)."""
    from directions.animate import pacer

    if args.pace == "units":
        return None
    return pacer(gen, dset, name, reader if args.pace == "auto" else None, space=dset.space, truncation_psi=psi)


def _sweep(args: argparse.Namespace, gen, dset, codes, spec: str, layers, reader, psi: float, amounts=None):
    """A sweep for --animate/--along: checked for stillness, ended per face by the reader (onto a class),
    paced (--pace)."""
    from directions.animate import render_frames, sweep_latents
    from directions.reach import sweep_reach

    name, start, end = _parse_clamped_sweep(spec, dset, args.range)
    sweep = sweep_latents(codes, dset, name, start, end, args.frames, pingpong=not args.once,
                          layers=layers, num_ws=gen.num_ws)
    _refuse_still(sweep, spec, _still_reason(name, start, end, amounts))
    pace = _pace_with(args, gen, dset, name, reader, psi)
    ends = sweep_reach(codes, dset, name, end, lambda c: render_frames(gen, c, space=dset.space, truncation_psi=psi),
                       reader)  # onto a class: each face as far as the reader needs
    if pace is not None or ends:
        sweep = sweep_latents(codes, dset, name, start, end, args.frames, pingpong=not args.once,
                              layers=layers, num_ws=gen.num_ws, pace_with=pace, **ends)
    return name, start, end, sweep


def _cmd_show(args: argparse.Namespace) -> None:
    from directions.io import load_direction_set

    dset = load_direction_set(args.set)
    print(f"{args.set}: generator {dset.generator_id}, space {dset.space.upper()} ({dset.dim} dims), "
          f"created {dset.created}, source {dset.source}")
    print("units: 1 = one standard deviation of the fit latents' projections; positions are class means")
    print_table(dset.summary())
    for d in dset.entries.values():
        if d.kind == "categorical":
            print(f"{d.name}: move with {d.name}=CLASS (one of {', '.join(d.classes)}) or "
                  f"{d.names[0]}=+2 along one class's vector")


# -- edit -----------------------------------------------------------------------------------------
def _cmd_edit(args: argparse.Namespace) -> None:
    import numpy as np

    from directions.animate import render_frames, render_locked, save_png
    from directions.edit import parse_assignments, parse_layers
    from directions.io import load_direction_set
    from directions.reach import edit_onto_classes
    from directions.regions import lock_to_regions, set_mask
    from latentlab.core.latents import Latents, load_latents, save_latents
    from latentlab.generator.interface import image_grid, map_latents, render

    gen = generator_from_args(args)
    dset = load_direction_set(args.directions, generator_id=gen.generator_id)
    lat = load_latents(args.latents)
    lat.check_generator(gen.generator_id)
    # [inversion: pivotal tuning] an inverted face with a tuning delta next to its file is drawn by its tuned generator
    from latentlab.inversion.tuning import generator_for_latents
    gen = generator_for_latents(gen, args.latents, lat.meta, _tuned_blend(args))
    amounts = _clamp_amounts(parse_assignments(args.set or []))
    if not amounts and not args.animate:
        raise UserError("nothing to do: give --set NAME=AMOUNT and/or --animate NAME[:END]")
    layers = parse_layers(args.layers, gen.num_ws)
    if layers is not None and dset.space == "z":
        raise UserError("--layers edits W+ codes; this direction set lives in Z")
    psi = float(lat.meta.get("truncation_psi", 1.0))
    base = (lat.ws if lat.ws is not None else lat.w)[: args.max_faces]
    z = lat.z[: args.max_faces] if lat.z is not None and lat.ws is None else None
    codes = _space_codes(dset, base, z)
    reader = _set_reader(args, gen)  # onto a class: each face only as far as the reader needs to read it
    edited = edit_onto_classes(codes, dset, amounts, lambda c: render_frames(gen, c, space=dset.space,
                                                                             truncation_psi=psi),
                               reader, layers=layers, num_ws=gen.num_ws) if amounts else codes
    sweeps = []  # checked before anything is written: a refused sweep leaves no half-done output
    for spec in args.animate or []:
        name, start, end, sweep = _sweep(args, gen, dset, edited, spec, layers, reader, psi, amounts)
        sweeps.append((spec, name, sweep))
    out = Path(args.out) if args.out else workspace(args) / "exports" / f"edit-{_stamp()}"
    out.mkdir(parents=True, exist_ok=True)

    meta = {**lat.meta, "source": "edit", "edit": dict(amounts), "layers": args.layers,
            "directions": str(args.directions), "n": len(edited)}
    if dset.space == "z":
        saved = Latents(gen.generator_id, z=edited, w=map_latents(gen, edited, psi), meta=meta)
    elif edited.ndim == 3:
        saved = Latents(gen.generator_id, ws=edited, meta=meta)
    else:
        saved = Latents(gen.generator_id, w=edited, meta=meta)
    save_latents(out / "edited.npz", saved)
    from latentlab.inversion.tuning import delta_path
    if delta_path(args.latents).is_file():  # the edited faces keep their picture's tuned generator
        import shutil

        shutil.copyfile(delta_path(args.latents), delta_path(out / "edited.npz"))
    cols = min(len(base), 8)
    lock = _region_lock(args)
    before_faces = render(gen, base, progress=True)
    after_faces = render(gen, saved.ws if saved.ws is not None else saved.w, progress=True)
    mask = set_mask(dset, amounts, gen.resolution, lock)
    if mask is not None:  # the edit drawn only where its attributes show (directions.regions)
        after_faces = lock_to_regions(after_faces, before_faces, mask)
    before, after = image_grid(before_faces, cols), image_grid(after_faces, cols)
    gap = np.full((4, before.shape[1], 3), 255, np.uint8)
    save_png(np.concatenate([before, gap, after]), out / "compare.png")
    written = [out / "edited.npz", out / "compare.png"]
    for spec, name, sweep in sweeps:
        names = [*amounts, name]
        frames = render_locked(gen, sweep, codes, set_mask(dset, names, gen.resolution, lock), grid=True,
                               space=dset.space, truncation_psi=psi, progress=True)
        stem = out / _safe(spec)
        written += _write_outputs(frames, [f"{stem}.{fmt.strip()}" for fmt in args.format.split(",")], args.fps,
                                  args.size, f"{stem}-strip.png", frames if args.once else frames[: len(frames) // 2 + 1])
    print("wrote " + ", ".join(str(p) for p in written))


def _add_blend_option(p: argparse.ArgumentParser) -> None:
    p.add_argument("--tuned-edits", default="blend", choices=("blend", "weights"),
                   help="an inverted face with a tuning delta: blend (default) draws the original generator's "
                        "edit where it changes the face and the tuned picture elsewhere; weights: the tuned "
                        "weights alone (closer to the picture, but they resist edits; docs/inversion.md)")


def _add_regions_option(p: argparse.ArgumentParser) -> None:
    p.add_argument("--regions", default="on", choices=("on", "off"),
                   help="on (default, for sets fitted on a run's faces): draw an edit only where its attributes "
                        "show in the picture, the rest of the face as it was; off: the whole moved face "
                        "(docs/directions.md, 'Edits drawn in their region')")


def _region_lock(args: argparse.Namespace):
    from directions.regions import RegionLock

    return RegionLock() if args.regions == "on" else None


def _tuned_blend(args: argparse.Namespace):
    from latentlab.inversion.blend import RegionBlend

    return RegionBlend() if args.tuned_edits == "blend" else None


# -- animate --------------------------------------------------------------------------------------
def _cmd_animate(args: argparse.Namespace) -> None:
    from directions.animate import render_frames, sweep_label, walk_latents
    from directions.edit import parse_layers
    from directions.io import load_direction_set

    if bool(args.along) == bool(args.walk):
        raise UserError("choose one: --along NAME[:START:END] (with --directions) or --walk")
    gen = generator_from_args(args)
    # [inversion: pivotal tuning] an inverted face with a tuning delta next to its file is drawn by its tuned generator
    from latentlab.inversion.tuning import generator_for_latents
    gen = generator_for_latents(gen, args.latents, blend=_tuned_blend(args))
    w, z, what = _source_latents(args, gen)
    if args.walk:
        if len(w) < 2:
            raise UserError(f"a walk needs at least 2 latents; {what} gives {len(w)} (use --seeds 1,2,3 or more rows)")
        if args.space == "z":
            if z is None:
                raise UserError("these latents have no z (W+ or inverted); walk in W with --space w")
            frames = render_frames(gen, walk_latents(z, _walk_steps(args.frames, len(z)), "slerp"), space="z",
                                   truncation_psi=args.truncation_psi, progress=True)
        else:
            keys = w if w.ndim == 2 else w.reshape(len(w), -1)
            path = walk_latents(keys, _walk_steps(args.frames, len(keys)), "lerp").reshape(-1, *w.shape[1:])
            frames = render_frames(gen, path, progress=True)
        strip_frames = frames
        label, set_name = f"walk-{args.space}", None
    else:
        if not args.directions:
            raise UserError("--along needs --directions SET")
        dset = load_direction_set(args.directions, generator_id=gen.generator_id)
        layers = parse_layers(args.layers, gen.num_ws)
        codes = _space_codes(dset, w, z)
        name, start, end, sweep = _sweep(args, gen, dset, codes, args.along, layers, _set_reader(args, gen),
                                         args.truncation_psi)
        from directions.animate import render_locked
        from directions.regions import set_mask

        mask = set_mask(dset, [name], gen.resolution, _region_lock(args))
        frames = render_locked(gen, sweep, codes, mask, grid=True, space=dset.space,
                               truncation_psi=args.truncation_psi, progress=True)
        strip_frames = frames if args.once else frames[: len(frames) // 2 + 1]
        label, set_name = sweep_label(name, start, end), Path(args.directions).stem
    outs = args.out or [str(_default_animation_path(args, label, set_name))]
    written = _write_outputs(frames, outs, args.fps, args.size, args.strip, strip_frames)
    print(f"wrote {', '.join(map(str, written))} ({len(frames)} frames from {what})")


def _default_animation_path(args: argparse.Namespace, label: str, set_name: str | None = None) -> Path:
    """<workspace>/exports/age-+3_set-run1-w_seeds-0-1-2.gif (or ..._from-faces-row1.gif): what `animate`
    shows, for a run without --out; never an earlier export's name."""
    from directions.animate import export_name, fresh_path

    if args.latents:
        seeds, source = None, Path(args.latents).stem + (f"-row{args.index}" if args.index is not None else "")
    else:
        seeds, source = _parse_seeds(args.seeds or "0"), None
    return fresh_path(workspace(args) / "exports", export_name(label, set_name, seeds, source, suffix=".gif"))


# -- explore --------------------------------------------------------------------------------------
def _numbered_grid(images: np.ndarray, labels: list[str], scale: int = 2) -> np.ndarray:
    import numpy as np
    from PIL import Image, ImageDraw

    from latentlab.generator.interface import image_grid

    tiles = []
    for img, label in zip(images, labels):
        im = Image.fromarray(img).resize((img.shape[1] * scale, img.shape[0] * scale), Image.NEAREST)
        draw = ImageDraw.Draw(im)
        draw.rectangle([0, 0, 8 * len(label) + 4, 13], fill=(0, 0, 0))
        draw.text((2, 1), label, fill=(255, 255, 255))
        tiles.append(np.asarray(im))
    return image_grid(np.stack(tiles), cols=min(len(tiles), 5))


def _cmd_explore(args: argparse.Namespace) -> None:
    import numpy as np

    from directions.animate import render_frames, save_png, sweep_latents
    from directions.io import load_direction_set
    from directions.mutation import MutationExplorer, latent_stats, save_into_set
    from latentlab.generator.interface import render

    session = Path(args.session) if args.session else workspace(args) / "explore" / _stamp()
    state = session / "session.npz"
    gen = generator_from_args(args)
    if args.latents or not state.exists():
        if args.pick is not None or args.save:
            raise UserError(f"no exploration session at {session}; start one with `latentlab explore LATENTS`")
        if state.exists():
            _refuse_overwrite(f"exploration session {session}", args.force,
                              "continue it without LATENTS, or choose another --session")
        w, _, _ = _source_latents(args, gen)
        base = w[0]
        ex = MutationExplorer(latent_stats(gen, truncation_psi=args.truncation_psi), strength=args.strength,
                              n=args.grid, seed=args.explore_seed)
        ex.propose()
    else:
        ex, base, gid = MutationExplorer.load(state)
        if gid != gen.generator_id:
            raise UserError(f"session {session} belongs to generator {gid}, not the loaded {gen.generator_id}; "
                            "pass the matching --generator")
        if args.strength_given:
            ex.strength = args.strength
        if args.pick is not None:
            ex.pick(args.pick)
    if args.save:
        direction = ex.to_direction(args.save)
        target = Path(args.directions) if args.directions else workspace(args) / "directions" / "explored.npz"
        if target.exists() and args.save in load_direction_set(target, generator_id=gen.generator_id).entries:
            _refuse_overwrite(f"direction {args.save!r} in {target}", args.force, "choose another name")
        dset = save_into_set(target, direction, gen.generator_id, space="w", overwrite=args.force)
        print(f"saved direction {args.save!r} into {target} ({len(dset.entries)} directions); "
              f"amount {ex.strength:g} reproduces the picked tile")
        if args.animate:
            dset = load_direction_set(target, generator_id=gen.generator_id)
            sweep = sweep_latents(base[None], dset, args.save, -ex.strength, ex.strength, args.frames)
            frames = render_frames(gen, sweep, grid=True, progress=True)
            print("wrote " + ", ".join(map(str, _write_outputs(frames, args.animate, args.fps, args.size, None))))
        ex.save(state, base, gen.generator_id)
        return
    tiles = ex.tiles(base)
    images = render(gen, np.concatenate([base[None], tiles]), progress=True)
    labels = ["base"] + [f"{i}" + ("*" if ex.picked is not None and i == 0 else "") for i in range(len(tiles))]
    png = save_png(_numbered_grid(images, labels), session / f"round{ex.round}.png")
    ex.save(state, base, gen.generator_id)
    hint = "tile 0* is your last pick; " if ex.picked is not None else ""
    print(f"wrote {png} (round {ex.round}, strength {ex.strength:g}); {hint}next: latentlab explore "
          f"--session {session} --pick N, or --save NAME [--directions SET] [--animate out.gif]")


# -- wiring ---------------------------------------------------------------------------------------
class _Given(argparse.Action):
    """Store the value and remember that the user gave it."""

    def __call__(self, parser, namespace, values, option_string=None):
        setattr(namespace, self.dest, values)
        setattr(namespace, self.dest + "_given", True)


def _add_video_options(p: argparse.ArgumentParser, frames_help: str) -> None:
    p.add_argument("--frames", type=int, default=ANIMATION_FRAMES, help=frames_help)
    p.add_argument("--fps", type=float, default=24, help="frames per second")
    p.add_argument("--size", type=int, default=256, help="longer side of the output in pixels (0 = as rendered)")


def _add_output_options(p: argparse.ArgumentParser, frames_help: str) -> None:
    _add_video_options(p, frames_help)
    p.add_argument("--once", action="store_true", help="sweep start -> end once instead of a ping-pong loop")
    p.add_argument("--range", type=float, default=3.0, help="a bare NAME sweeps -RANGE..+RANGE units")
    p.add_argument("--pace", default="auto", choices=("auto", "pictures", "units"),
                   help="where a sweep's frames go: auto = equal shares of the attribute's change as the set's "
                        "attribute reader (`fit --reader`) sees it, else of the picture's change; pictures; "
                        "units = evenly in units")


def add_commands(sub: argparse._SubParsersAction) -> None:
    f = sub.add_parser("fit", help="fit LDA directions from a labeling run's aggregated labels",
                       description="Per attribute: LDA (shrinkage) on the run's latents, cross-validated accuracy, "
                                   "a linear-SVM comparison; writes one direction set file. Units: one standard "
                                   "deviation of the latents' projections.")
    f.add_argument("--run", type=int, required=True, help="labeling run id (see `latentlab list-runs`)")
    add_store_options(f)
    f.add_argument("--space", default="w", choices=("w", "z"), help="latent space to fit in")
    f.add_argument("--attributes", default=None, help="comma-separated attributes (default: all of the schema)")
    f.add_argument("--aggregation", default="majority", choices=("majority", "dawid_skene", "gold_weighted"),
                   help="how a face's labels become one: majority vote or Dawid-Skene")
    f.add_argument("--condition", action="append", metavar="ATTR:OTHER[,OTHER]",
                   help="also fit ATTR orthogonal to OTHER's directions (repeatable), e.g. age:hair_length")
    f.add_argument("--shrinkage", default="auto", help="LDA shrinkage: auto (Ledoit-Wolf), none, or 0..1")
    f.add_argument("--cv", type=int, default=5, help="cross-validation folds")
    f.add_argument("--min-per-class", type=int, default=10, help="refuse attributes with fewer labels in a class")
    f.add_argument("--no-svm", action="store_true", help="skip the linear-SVM comparison")
    f.add_argument("--out", default=None, help="direction set file (default: <workspace>/directions/run<R>-<space>.npz)")
    f.add_argument("--force", action="store_true", help="replace the direction set file if it exists")
    f.add_argument("--reader", action="store_true",
                   help="also train the set's attribute reader (a small CNN on the run's faces and the same labels, "
                        "saved as <set>.reader.npz; sweeps use it to spread each change over many frames; "
                        "about a minute per 1000 faces on 2 CPU cores)")
    f.add_argument("--reader-epochs", type=int, default=40, help="training epochs of the attribute reader")
    f.set_defaults(func=_cmd_fit)

    s = sub.add_parser("directions", help="show what a direction set file holds",
                       description="Generator, space, and per direction: kind, labels, CV accuracy, class positions.")
    s.add_argument("set", help="direction set .npz")
    s.set_defaults(func=_cmd_show)

    e = sub.add_parser("edit", help="apply directions to a latent file; write edited latents, a before/after "
                                    "image and optional animations",
                       description="Amounts: NAME=+2 (units: standard deviations along the direction), "
                                   "ATTR=CLASS (move onto a class), ATTR:CLASS=+1 (along one class's vector).")
    e.add_argument("latents", help="latent .npz from `sample` or `invert`")
    e.add_argument("--directions", required=True, help="direction set .npz")
    e.add_argument("--set", action="append", metavar="NAME=AMOUNT", help="an edit (repeatable)")
    e.add_argument("--layers", default=None, metavar="START:STOP",
                   help="edit only these W+ layers, e.g. 0:4 (default: all)")
    e.add_argument("--animate", action="append", metavar="NAME[:START:END | :CLASS]",
                   help="also write a looping animation along NAME (repeatable)")
    e.add_argument("--format", default="gif,mp4", help="animation formats, comma-separated (gif, mp4)")
    e.add_argument("--max-faces", type=int, default=16, help="use the first N latents of the file")
    e.add_argument("--out", default=None, help="output folder (default: <workspace>/exports/edit-<time>)")
    _add_output_options(e, "total frames of each animation (as 'Frames' in the app)")
    _add_blend_option(e)
    _add_regions_option(e)
    add_generator_options(e)
    add_workspace_option(e)
    e.set_defaults(func=_cmd_edit)

    a = sub.add_parser("animate", help="animate along a direction or walk through latents (GIF, MP4, strip PNG)",
                       description="Seamless loops: --along sweeps ping-pong along a direction; --walk visits the "
                                   "latents in a closed loop (slerp in Z, lerp in W).")
    a.add_argument("latents", nargs="?", default=None, help="latent .npz (default: --seeds)")
    a.add_argument("--seeds", default=None, help="comma-separated seeds instead of a latent file (default: 0)")
    add_truncation_option(a, help="truncation psi for --seeds and Z sets: 1 = none, smaller = closer to the "
                                  "average face")
    a.add_argument("--index", type=int, default=None, help="only this row of the latent file (default: all)")
    a.add_argument("--max-faces", type=int, default=16, help="use the first N latents of the file")
    a.add_argument("--directions", default=None, help="direction set .npz (for --along)")
    a.add_argument("--along", default=None, metavar="NAME[:START:END | :CLASS]", help="sweep along a direction")
    a.add_argument("--layers", default=None, metavar="START:STOP",
                   help="sweep only these W+ layers, e.g. 0:4 (default: all)")
    a.add_argument("--walk", action="store_true", help="walk through the latents as a loop")
    a.add_argument("--space", default="z", choices=("z", "w"), help="walk in Z (slerp) or W (lerp)")
    a.add_argument("--out", action="append",
                   help=".gif or .mp4 (repeatable; default: <workspace>/exports/<direction>_set-<set>_seeds-<seeds>.gif)")
    a.add_argument("--strip", default=None, help="also write a strip PNG of the frames")
    _add_output_options(a, "total frames of the animation (as 'Frames' in the app); a walk through K latents "
                           "gets the nearest multiple of K")
    _add_blend_option(a)
    _add_regions_option(a)
    add_generator_options(a)
    add_workspace_option(a)
    a.set_defaults(func=_cmd_animate)

    x = sub.add_parser("explore", help="find a direction by eye: grids of random mutations, pick, refine, save",
                       description="Start: explore LATENTS (or --seeds S). Then --pick N to refine around tile N, "
                                   "--save NAME to store the pick in a direction set, --animate out.gif to see it.")
    x.add_argument("latents", nargs="?", default=None, help="latent .npz to start from, row --index (default: --seeds)")
    x.add_argument("--seeds", default=None, help="start from this seed instead of a file (default: 0)")
    x.add_argument("--index", type=int, default=0, help="row of the latent file to start from")
    x.add_argument("--max-faces", type=int, default=1, help=argparse.SUPPRESS)
    add_truncation_option(x)
    x.add_argument("--session", default=None, help="session folder (default: a new one in <workspace>/explore)")
    x.add_argument("--strength", type=float, default=2.0, action=_Given,
                   help="mutation size in standard deviations of the latents along each direction")
    x.add_argument("--grid", type=int, default=9, help="tiles per round")
    x.add_argument("--explore-seed", type=int, default=0, help="random seed of the mutations")
    x.add_argument("--pick", type=int, default=None, help="refine around this tile of the last grid")
    x.add_argument("--save", default=None, metavar="NAME", help="save the picked direction under NAME")
    x.add_argument("--directions", default=None, help="set to save into (default <workspace>/directions/explored.npz)")
    x.add_argument("--animate", action="append", help="with --save: write an animation along it (.gif/.mp4)")
    x.add_argument("--force", action="store_true",
                   help="with --save: replace a direction of that name; with LATENTS: restart an existing session")
    _add_video_options(x, "total frames of the animation")
    add_generator_options(x)
    add_workspace_option(x)
    x.set_defaults(func=_cmd_explore, strength_given=False)
