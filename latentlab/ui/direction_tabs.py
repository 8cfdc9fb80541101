"""The app's direction tabs: Fit, Edit (sliders on random faces), Explore (mutations), Animate.

`build_tabs(ctx)` is called by `latentlab.ui.app` inside its `gr.Blocks` / `gr.Tabs` context and uses only
ctx.generator, ctx.workspace, ctx.db_url, ctx.device and ctx.schema. Every handler is a plain
function of its inputs that calls the library (fit, edit, animate, mutation); the UI adds no math.
Direction sets live in `<workspace>/directions/`, exported files in `<workspace>/exports/`.
Slider units are those of every direction file: standard deviations of the fit latents'
projections onto the direction (0 = the average face).
"""

from __future__ import annotations

import functools
import re
import uuid
from pathlib import Path

import gradio as gr
import numpy as np
import pandas as pd

from latentlab.core.errors import UserError
from latentlab.ui.gradio_util import user_errors_as_toasts
from latentlab.generator.interface import image_grid, map_latents, render, sample_z

from directions.animate import parse_sweep, render_frames, save_png, strip, sweep_latents, walk_latents, write_animation
from directions.edit import edit, parse_layers
from directions.io import DirectionSet, list_direction_sets, load_direction_set
from directions.mutation import MutationExplorer, latent_stats, save_into_set

MAX_SLIDERS = 12  # numeric directions shown in the editor
MAX_CLASS_PICKERS = 6  # categorical attributes shown in the editor
UNCHANGED = "(unchanged)"
SLIDER_RANGE = 4.0


# -- plumbing ------------------------------------------------------------------------------------


def directions_dir(ctx) -> Path:
    return Path(ctx.workspace) / "directions"


def exports_dir(ctx) -> Path:
    path = Path(ctx.workspace) / "exports"
    path.mkdir(parents=True, exist_ok=True)
    return path


def set_choices(ctx) -> list[tuple[str, str]]:
    """(file name, path) of the workspace's direction sets for this generator, newest first."""
    out = []
    for p in list_direction_sets(directions_dir(ctx)):
        try:
            if _load_cached(str(p), p.stat().st_mtime).generator_id == ctx.generator.generator_id:
                out.append((p.name, str(p)))
        except UserError:
            continue
    return out


@functools.lru_cache(maxsize=16)
def _load_cached(path: str, mtime: float) -> DirectionSet:
    return load_direction_set(path)


def load_set(ctx, path: str | None) -> DirectionSet:
    if not path:
        raise UserError("choose a direction set first (fit one in the Fit tab, or save one in Explore)")
    p = Path(path)
    if not p.is_file():
        raise UserError(f"direction set {p.name} no longer exists; refresh the list")
    dset = _load_cached(str(p), p.stat().st_mtime)
    dset.check_generator(ctx.generator.generator_id, where=f"direction set {p.name}")
    return dset


def _safe_name(name: str, what: str) -> str:
    name = (name or "").strip()
    if not re.fullmatch(r"[A-Za-z0-9][A-Za-z0-9_.-]{0,63}", name):
        raise UserError(f"{what} {name!r} is not usable; use 1-64 letters, digits, '_', '-' or '.'")
    return name


def _seeds(text: str) -> list[int]:
    try:
        seeds = [int(s) for s in str(text).replace(" ", "").split(",") if s]
    except ValueError:
        raise UserError(f"cannot read seeds {text!r}; write numbers separated by commas, e.g. 1,2,3") from None
    if not seeds or any(s < 0 for s in seeds):
        raise UserError("give at least one non-negative seed")
    return seeds


def faces(ctx, seed: int, n: int, psi: float) -> tuple[np.ndarray, np.ndarray]:
    """(z, w) of n faces drawn with `seed` (the same faces as `latentlab sample --seed`)."""
    n = int(max(1, min(int(n), 16)))
    z = sample_z(n, int(seed), ctx.generator.z_dim)
    return z, map_latents(ctx.generator, z, float(psi))


# -- Fit -----------------------------------------------------------------------------------------
def run_choices(ctx) -> list[tuple[str, int]]:
    try:
        from labeler.store import open_store
        return [(f"{r.id}: {r.name}", int(r.id)) for r in open_store(ctx.db_url).list_runs()]
    except (ModuleNotFoundError, AttributeError):
        return []


def parse_conditions(text: str) -> dict[str, list[str]]:
    """'age: hair_length, accessory; blush: age' -> {'age': ['hair_length', 'accessory'], 'blush': ['age']}."""
    out = {}
    for part in (text or "").replace("\n", ";").split(";"):
        if not part.strip():
            continue
        name, sep, others = part.partition(":")
        names = [o.strip() for o in others.split(",") if o.strip()]
        if not sep or not name.strip() or not names:
            raise UserError(f"cannot read the condition {part.strip()!r}; write ATTR: OTHER, OTHER")
        out[name.strip()] = names
    return out


def do_fit(ctx, run_id, space: str, attributes: list[str], aggregation: str, conditions: str,
           min_per_class: float, svm: bool, set_name: str) -> tuple[pd.DataFrame, str, str]:
    """Fit a run's directions, save them in the workspace; (table, status, saved path)."""
    from directions.fit import fit_run
    from directions.io import save_direction_set

    if run_id in (None, ""):
        raise UserError("choose a labeling run")
    if not attributes:
        raise UserError("choose at least one attribute to fit")
    run_id = int(run_id)
    name = _safe_name(set_name or f"run{run_id}-{space}", "set name")
    result = fit_run(ctx.db_url, run_id, space=space, attributes=list(attributes), aggregation=aggregation,
                     conditions=parse_conditions(conditions), min_per_class=int(min_per_class),
                     compare_svm=bool(svm))
    if result.direction_set.generator_id != ctx.generator.generator_id:
        raise UserError(f"run {run_id} was sampled from generator {result.direction_set.generator_id}, not the one "
                        "this app serves; fit it from the CLI with that generator")
    path = save_direction_set(directions_dir(ctx) / f"{name}.npz", result.direction_set)
    table = result.table()
    for col in ("cv_accuracy", "baseline", "balanced_accuracy", "svm_cv_accuracy", "svm_cosine"):
        if col in table:
            table[col] = pd.to_numeric(table[col], errors="coerce").round(3)
    refused = "".join(f"\n- not fitted: {why}" for why in result.refused.values())
    status = (f"Saved **{path.name}**: {len(result.direction_set.entries)} directions in "
              f"{space.upper()}, from {result.direction_set.source.get('n_items')} faces.{refused}")
    return table.astype(object).where(table.notna(), ""), status, str(path)


# -- Edit ----------------------------------------------------------------------------------------
def editor_layout(dset: DirectionSet) -> tuple[list[str], list[str]]:
    """(numeric direction names, categorical entry names) the editor shows, capped to its widgets."""
    numeric = [d.name for d in dset.entries.values() if d.kind != "categorical"][:MAX_SLIDERS]
    categorical = [d.name for d in dset.entries.values() if d.kind == "categorical"][:MAX_CLASS_PICKERS]
    return numeric, categorical


def slider_label(dset: DirectionSet, name: str) -> str:
    d = dset.entries[name]
    if d.kind == "custom":
        return f"{name} (picked in the explorer)"
    pos = " · ".join(f"{c} {p:+.1f}" for c, p in zip(d.classes, d.class_positions[0]) if np.isfinite(p))
    return f"{name}  [{pos}]"


def edit_faces(ctx, set_path: str, seed: int, n: int, psi: float, layers: str, numeric_names: list[str],
               categorical_names: list[str], *values) -> tuple[np.ndarray, np.ndarray, dict]:
    """(grid before, grid after, the amounts applied) for n seeded faces and the widgets' values."""
    dset = load_set(ctx, set_path)
    sliders, pickers = values[:MAX_SLIDERS], values[MAX_SLIDERS:]
    amounts: dict[str, float | str] = {}
    for name, v in zip(numeric_names, sliders):
        if v:
            amounts[name] = float(v)
    for name, v in zip(categorical_names, pickers):
        if v and v != UNCHANGED:
            amounts[name] = v
    z, w = faces(ctx, seed, n, psi)
    gen = ctx.generator
    layer_idx = parse_layers(layers, gen.num_ws)
    if dset.space == "z":
        if layer_idx is not None:
            raise UserError("a layer range needs a set fitted in W; this one is in Z")
        edited = map_latents(gen, edit(z, dset, amounts), float(psi)) if amounts else w
    else:
        edited = edit(w, dset, amounts, layers=layer_idx, num_ws=gen.num_ws) if amounts else w
    cols = min(len(w), 4)
    return image_grid(render(gen, w), cols), image_grid(render(gen, edited), cols), amounts


# -- Explore -------------------------------------------------------------------------------------
_STATS: dict[tuple[str, float], object] = {}


def _latent_stats(ctx, psi: float):
    """Latent statistics of the app's generator (computed once per truncation)."""
    key = (ctx.generator.generator_id, round(float(psi), 3))
    if key not in _STATS:
        _STATS[key] = latent_stats(ctx.generator, truncation_psi=key[1])
    return _STATS[key]


def _gallery(images: np.ndarray, picked: bool) -> list[tuple[np.ndarray, str]]:
    return [(img, f"{i}{' (your pick)' if picked and i == 0 else ''}") for i, img in enumerate(images)]


def explore_start(ctx, seed: int, psi: float, strength: float, n: int, explore_seed: int):
    """A new exploration from one seeded face: (base image, gallery, state, status)."""
    _, w = faces(ctx, seed, 1, psi)
    ex = MutationExplorer(_latent_stats(ctx, psi), strength=float(strength), n=int(n), seed=int(explore_seed))
    ex.propose()
    state = {"explorer": ex, "base": w[0]}
    base_image = render(ctx.generator, w)[0]
    tiles = _gallery(render(ctx.generator, ex.tiles(w[0])), picked=False)
    return base_image, tiles, state, "Round 0: click the face whose change you want."


def explore_pick(ctx, state: dict | None, index: int, strength: float):
    """Keep tile `index`, show the finer round around it."""
    if not state:
        raise UserError("start an exploration first")
    ex: MutationExplorer = state["explorer"]
    ex.strength = float(strength)
    ex.pick(int(index))
    images = render(ctx.generator, ex.tiles(state["base"]))
    angle = ex.angle * ex.shrink ** (ex.round - 1)
    return _gallery(images, True), state, (f"Round {ex.round}: tile 0 is your pick, the others vary it by "
                                           f"{angle:.0f} degrees. Pick again, or save it.")


def explore_restrength(ctx, state: dict | None, strength: float):
    if not state:
        raise UserError("start an exploration first")
    ex: MutationExplorer = state["explorer"]
    ex.strength = float(strength)
    return _gallery(render(ctx.generator, ex.tiles(state["base"])), ex.picked is not None), state


def explore_save(ctx, state: dict | None, name: str, set_name: str) -> str:
    if not state:
        raise UserError("start an exploration first")
    ex: MutationExplorer = state["explorer"]
    name = _safe_name(name, "direction name")
    path = directions_dir(ctx) / f"{_safe_name(set_name or 'explored', 'set name')}.npz"
    dset = save_into_set(path, ex.to_direction(name), ctx.generator.generator_id, space="w")
    return (f"Saved **{name}** into {path.name} ({len(dset.entries)} directions). An amount of "
            f"{ex.strength:g} reproduces your pick.")


def explore_animate(ctx, state: dict | None, frames: int) -> str:
    if not state or state["explorer"].picked is None:
        raise UserError("pick a tile first")
    ex: MutationExplorer = state["explorer"]
    dset = DirectionSet(generator_id=ctx.generator.generator_id, space="w")
    dset.add(ex.to_direction("pick"))
    codes = sweep_latents(state["base"][None], dset, "pick", -ex.strength, ex.strength, int(frames))
    path = exports_dir(ctx) / f"explore-{uuid.uuid4().hex[:8]}.gif"
    return str(write_animation(render_frames(ctx.generator, codes, grid=True), path, fps=24, size=256))


# -- Animate -------------------------------------------------------------------------------------
def sweep_choices(dset: DirectionSet) -> list[str]:
    """What the animation tab can sweep: numeric directions, and 'attr:class' moves onto a class."""
    out = []
    for d in dset.entries.values():
        if d.kind != "categorical":
            out.append(d.name)
        out += [f"{d.name}:{c}" for c in d.classes]
    return out


def make_animation(ctx, mode: str, set_path: str, spec: str, start: float, end: float, frames: int, fps: float,
                   pingpong: bool, seeds: str, psi: float, walk_space: str, size: int) -> tuple[str, list[str]]:
    """Write GIF, MP4 and strip PNG to the workspace's exports; (GIF for the preview, all three files)."""
    gen = ctx.generator
    seed_list = _seeds(seeds)
    z = np.concatenate([sample_z(1, s, gen.z_dim) for s in seed_list])
    frames = int(frames)
    if mode == "walk":
        if len(seed_list) < 2:
            raise UserError("a walk needs at least 2 seeds, e.g. 1,2,3")
        per_step = max(1, frames // len(seed_list))
        if walk_space == "z":
            video = render_frames(gen, walk_latents(z, per_step, "slerp"), space="z", truncation_psi=float(psi))
        else:
            video = render_frames(gen, walk_latents(map_latents(gen, z, float(psi)), per_step, "lerp"))
        stem, strip_frames = f"walk-{walk_space}", video
    else:
        dset = load_set(ctx, set_path)
        if not spec:
            raise UserError("choose a direction to animate along")
        name, a, b = parse_sweep(spec, dset)
        if not isinstance(b, str):
            a, b = float(start), float(end)
        codes = z if dset.space == "z" else map_latents(gen, z, float(psi))
        sweep = sweep_latents(codes, dset, name, a, b, frames, pingpong=bool(pingpong))
        video = render_frames(gen, sweep, grid=True, space=dset.space, truncation_psi=float(psi))
        stem = re.sub(r"[^A-Za-z0-9_.+-]+", "_", spec)
        strip_frames = video[: len(video) // 2 + 1] if pingpong else video
    base = exports_dir(ctx) / f"{stem}-{uuid.uuid4().hex[:6]}"
    gif = write_animation(video, base.with_name(base.name + ".gif"), fps=float(fps), size=int(size) or None)
    mp4 = write_animation(video, base.with_name(base.name + ".mp4"), fps=float(fps), size=int(size) or None)
    png = save_png(strip(strip_frames), base.with_name(base.name + "-strip.png"))
    return str(gif), [str(gif), str(mp4), str(png)]


# -- the tabs ------------------------------------------------------------------------------------
def build_tabs(ctx) -> None:
    """Add the Fit, Edit, Explore and Animate tabs to the enclosing gr.Tabs."""
    attr_names = [a.name for a in ctx.schema.attributes] if ctx.schema is not None else []
    set_dropdowns: list = []

    def refresh_sets(current=None):
        choices = set_choices(ctx)
        values = [v for _, v in choices]
        value = current if current in values else (values[0] if values else None)
        return gr.update(choices=choices, value=value)

    with gr.Tab("Fit directions", id="directions-fit"):
        gr.Markdown("Fit one direction per attribute from a run's aggregated labels (LDA with shrinkage). "
                    "Accuracies are 5-fold cross-validated; *baseline* is always guessing the largest class, "
                    "*balanced accuracy* averages the per-class recall (chance = 1 / number of classes).")
        with gr.Row():
            run = gr.Dropdown(choices=run_choices(ctx), label="Labeling run", allow_custom_value=True,
                              elem_id="fit-run")
            refresh_runs = gr.Button("Refresh runs", size="sm")
            space = gr.Radio(["w", "z"], value="w", label="Latent space")
            aggregation = gr.Radio(["majority", "dawid_skene"], value="majority", label="Label aggregation")
        attributes = gr.CheckboxGroup(attr_names, value=attr_names, label="Attributes")
        with gr.Row():
            conditions = gr.Textbox(label="Conditional directions", placeholder="age: hair_length, accessory",
                                    info="ATTR: OTHER, OTHER — also fit ATTR orthogonal to those attributes")
            min_per_class = gr.Number(10, label="Min labels per class", precision=0, minimum=2)
            svm = gr.Checkbox(True, label="Compare with a linear SVM")
            set_name = gr.Textbox(label="Save as", placeholder="run<R>-<space>", elem_id="fit-name")
        fit_btn = gr.Button("Fit", variant="primary", elem_id="fit-button")
        fit_status = gr.Markdown(elem_id="fit-status")
        fit_table = gr.Dataframe(label="Results", interactive=False, elem_id="fit-table")
        fit_path = gr.State(None)
        refresh_runs.click(lambda: gr.update(choices=run_choices(ctx)), None, run)

    with gr.Tab("Edit", id="directions-edit"):
        gr.Markdown("Move random faces along the directions. Slider units: standard deviations of the labeled "
                    "faces along each direction (0 = the average face; brackets: class means).")
        with gr.Row():
            edit_set = gr.Dropdown(label="Direction set", elem_id="edit-set")
            edit_refresh = gr.Button("Refresh sets", size="sm")
            seed = gr.Number(0, label="Seed", precision=0, minimum=0, elem_id="edit-seed")
            new_faces = gr.Button("New faces", size="sm")
            n_faces = gr.Slider(1, 8, value=4, step=1, label="Faces")
            psi = gr.Slider(0.3, 1.0, value=0.8, step=0.05, label="Truncation")
            layers = gr.Textbox(label="W+ layers (START:STOP, empty = all)", placeholder=f"0:{ctx.generator.num_ws}")
        with gr.Row():
            with gr.Column(scale=1):
                sliders = [gr.Slider(-SLIDER_RANGE, SLIDER_RANGE, value=0, step=0.1, visible=False,
                                     elem_id=f"edit-slider-{i}") for i in range(MAX_SLIDERS)]
                pickers = [gr.Dropdown([UNCHANGED], value=UNCHANGED, visible=False, elem_id=f"edit-class-{i}")
                           for i in range(MAX_CLASS_PICKERS)]
                reset = gr.Button("Reset")
            with gr.Column(scale=2):
                before = gr.Image(label="Original", format="png", interactive=False)
                after = gr.Image(label="Edited", format="png", interactive=False, elem_id="edit-after")
        numeric_state, categorical_state = gr.State([]), gr.State([])
        set_dropdowns.append(edit_set)

    with gr.Tab("Explore", id="directions-explore"):
        gr.Markdown("No labels needed: start from a face, click the random change you like, refine around it, "
                    "then save it as a named direction. Strength is in standard deviations of sampled faces.")
        with gr.Row():
            ex_seed = gr.Number(0, label="Face seed", precision=0, minimum=0)
            ex_psi = gr.Slider(0.3, 1.0, value=0.8, step=0.05, label="Truncation")
            ex_strength = gr.Slider(0.25, 6, value=2.0, step=0.25, label="Strength")
            ex_n = gr.Slider(4, 16, value=8, step=1, label="Tiles")
            ex_rng = gr.Number(0, label="Mutation seed", precision=0, minimum=0)
            ex_start = gr.Button("Start", variant="primary", elem_id="explore-start")
        ex_status = gr.Markdown(elem_id="explore-status")
        with gr.Row():
            ex_base = gr.Image(label="Start face", format="png", interactive=False, scale=1)
            ex_grid = gr.Gallery(label="Click to pick", columns=4, allow_preview=False, scale=3,
                                 elem_id="explore-grid")
        with gr.Row():
            ex_name = gr.Textbox(label="Direction name", placeholder="cute", elem_id="explore-name")
            ex_set = gr.Textbox("explored", label="Into set")
            ex_save = gr.Button("Save direction", elem_id="explore-save")
            ex_anim = gr.Button("Animate pick")
        ex_preview = gr.Image(label="Along the pick", interactive=False, elem_id="explore-preview")
        ex_state = gr.State(None)

    with gr.Tab("Animate", id="directions-animate"):
        gr.Markdown("Seamless loops: a ping-pong sweep along a direction, or a walk through seeded faces "
                    "(slerp in Z, lerp in W). Writes GIF, MP4 and a strip PNG to the workspace's exports.")
        with gr.Row():
            mode = gr.Radio([("Along a direction", "sweep"), ("Walk through seeds", "walk")], value="sweep",
                            label="Animation")
            an_set = gr.Dropdown(label="Direction set", elem_id="animate-set")
            an_refresh = gr.Button("Refresh sets", size="sm")
            an_dir = gr.Dropdown(label="Direction (attr:class moves onto a class)", elem_id="animate-direction")
        with gr.Row():
            an_start = gr.Number(-3, label="From (units)")
            an_end = gr.Number(3, label="To (units)")
            an_frames = gr.Slider(8, 120, value=36, step=1, label="Frames")
            an_fps = gr.Slider(4, 60, value=24, step=1, label="FPS")
            an_pp = gr.Checkbox(True, label="Ping-pong loop")
        with gr.Row():
            an_seeds = gr.Textbox("0", label="Seeds (faces side by side, or walk stops)", elem_id="animate-seeds")
            an_psi = gr.Slider(0.3, 1.0, value=0.8, step=0.05, label="Truncation")
            an_space = gr.Radio(["z", "w"], value="z", label="Walk in")
            an_size = gr.Slider(64, 512, value=256, step=32, label="Size (px, longer side)")
        an_btn = gr.Button("Render", variant="primary", elem_id="animate-button")
        with gr.Row():
            an_preview = gr.Image(label="Preview", interactive=False, elem_id="animate-preview")
            an_files = gr.File(label="Downloads", file_count="multiple", interactive=False, elem_id="animate-files")
        set_dropdowns.append(an_set)

    # -- events ----------------------------------------------------------------------------------
    @user_errors_as_toasts
    def on_fit(run_id, sp, attrs, agg, cond, mpc, use_svm, name):
        table, status, path = do_fit(ctx, run_id, sp, attrs, agg, cond, mpc, use_svm, name)
        return (table, status, path) + tuple(refresh_sets(path) for _ in set_dropdowns)

    fit_btn.click(on_fit, [run, space, attributes, aggregation, conditions, min_per_class, svm, set_name],
                  [fit_table, fit_status, fit_path, *set_dropdowns], concurrency_limit=1)

    @user_errors_as_toasts
    def on_set(path):
        if not path:
            return [[], []] + [gr.update(visible=False)] * (MAX_SLIDERS + MAX_CLASS_PICKERS)
        dset = load_set(ctx, path)
        numeric, categorical = editor_layout(dset)
        s = [gr.update(visible=i < len(numeric), value=0, label=slider_label(dset, numeric[i]) if i < len(numeric) else "")
             for i in range(MAX_SLIDERS)]
        p = [gr.update(visible=i < len(categorical), value=UNCHANGED,
                       choices=[UNCHANGED, *dset.entries[categorical[i]].classes] if i < len(categorical) else [UNCHANGED],
                       label=categorical[i] if i < len(categorical) else "")
             for i in range(MAX_CLASS_PICKERS)]
        return [numeric, categorical, *s, *p]

    @user_errors_as_toasts
    def on_edit(path, sd, n, ps, lay, numeric, categorical, *values):
        if not path:
            return None, None
        b, a, _ = edit_faces(ctx, path, sd, n, ps, lay, numeric, categorical, *values)
        return b, a

    edit_inputs = [edit_set, seed, n_faces, psi, layers, numeric_state, categorical_state, *sliders, *pickers]
    edit_set.change(on_set, edit_set, [numeric_state, categorical_state, *sliders, *pickers]).then(
        on_edit, edit_inputs, [before, after])
    gr.on([s.release for s in sliders] + [p.input for p in pickers] + [seed.submit, n_faces.release, psi.release,
                                                                          layers.submit],
          on_edit, edit_inputs, [before, after], trigger_mode="always_last")
    new_faces.click(lambda s: int(s or 0) + 1, seed, seed).then(on_edit, edit_inputs, [before, after])
    reset.click(lambda: [gr.update(value=0)] * MAX_SLIDERS + [gr.update(value=UNCHANGED)] * MAX_CLASS_PICKERS,
                None, [*sliders, *pickers]).then(on_edit, edit_inputs, [before, after])
    edit_refresh.click(refresh_sets, edit_set, edit_set)

    ex_start.click(user_errors_as_toasts(lambda *a: explore_start(ctx, *a)), [ex_seed, ex_psi, ex_strength, ex_n, ex_rng],
                   [ex_base, ex_grid, ex_state, ex_status])

    @user_errors_as_toasts
    def on_pick(state, strength, evt: gr.SelectData):
        return explore_pick(ctx, state, evt.index, strength)

    ex_grid.select(on_pick, [ex_state, ex_strength], [ex_grid, ex_state, ex_status])
    ex_strength.release(user_errors_as_toasts(lambda st, s: explore_restrength(ctx, st, s) if st else (None, st)),
                        [ex_state, ex_strength], [ex_grid, ex_state])

    @user_errors_as_toasts
    def on_save(state, name, sname):
        msg = explore_save(ctx, state, name, sname)
        return (msg,) + tuple(refresh_sets(None) for _ in set_dropdowns)

    ex_save.click(on_save, [ex_state, ex_name, ex_set], [ex_status, *set_dropdowns])
    ex_anim.click(user_errors_as_toasts(lambda st: explore_animate(ctx, st, 36)), ex_state, ex_preview)

    @user_errors_as_toasts
    def on_anim_set(path):
        if not path:
            return gr.update(choices=[], value=None)
        choices = sweep_choices(load_set(ctx, path))
        return gr.update(choices=choices, value=choices[0] if choices else None)

    an_set.change(on_anim_set, an_set, an_dir)
    an_refresh.click(refresh_sets, an_set, an_set)
    an_btn.click(user_errors_as_toasts(lambda *a: make_animation(ctx, *a)),
                 [mode, an_set, an_dir, an_start, an_end, an_frames, an_fps, an_pp, an_seeds, an_psi, an_space, an_size],
                 [an_preview, an_files])

    def on_load():
        return tuple(refresh_sets(None) for _ in set_dropdowns)

    _attach_load(on_load, set_dropdowns)


def _attach_load(fn, outputs) -> None:
    """Fill the set dropdowns when a browser opens the app (sets may have been fitted since start-up)."""
    blocks = gr.context.Context.root_block
    if blocks is not None:
        blocks.load(fn, None, outputs)
