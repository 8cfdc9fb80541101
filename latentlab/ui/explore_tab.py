"""The "Explore" tab: no labels needed; click the random change you like, refine it, save it as a direction.

The rounds are `directions.mutation.MutationExplorer`; one explorer per browser session lives in a
gr.State, and the generator's latent statistics are computed once per truncation per app. "Back"
returns to the round before the last pick. The start face and the tiles show at least PREVIEW_PX.
"""

from __future__ import annotations

import functools

import gradio as gr
import numpy as np

from latentlab.core.errors import UserError
from latentlab.generator.interface import render
from latentlab.ui.context import AppContext
from latentlab.ui.gradio_util import (AdminCheck, admin_only, admin_password_box, class_picker, enlarge,
                                      user_errors_as_toasts)
from latentlab.ui.sets import DirectionShelf, safe_name

from directions.animate import export_name, fresh_path, render_frames, sweep_latents, write_animation
from directions.io import DirectionSet
from directions.mutation import LatentStats, MutationExplorer, latent_stats, save_into_set

ANIMATION_FRAMES = 36


def gallery(images: np.ndarray, picked: bool) -> list[tuple[np.ndarray, str]]:
    """Gallery items captioned with their index; tile 0 is the pick once there is one."""
    return [(img, f"{i}{' (your pick)' if picked and i == 0 else ''}") for i, img in enumerate(enlarge(images))]


def _explorer(state: dict | None) -> MutationExplorer:
    if not state:
        raise UserError("start an exploration first")
    return state["explorer"]


def explore_start(ctx: AppContext, stats: LatentStats, seed: int, psi: float, strength: float, n: int,
                  explore_seed: int, class_label: int | None = None):
    """A new exploration from one seeded face (of `class_label`, conditional generators): (base image,
    gallery, state, status)."""
    _, w = ctx.faces(seed, 1, psi, class_label)
    ex = MutationExplorer(stats, strength=float(strength), n=int(n), seed=int(explore_seed))
    ex.propose()
    state = {"explorer": ex, "base": w[0], "rounds_before": []}
    tiles = gallery(render(ctx.generator, ex.tiles(w[0])), picked=False)
    return enlarge(render(ctx.generator, w))[0], tiles, state, "Round 0: click the face whose change you want."


def _snapshot(ex: MutationExplorer) -> dict:
    return {"picked": ex.picked, "candidates": ex.candidates, "round": ex.round, "history": list(ex.history)}


def explore_back(ctx: AppContext, state: dict | None, strength: float):
    """The round before the last pick, as it was: (gallery, state, status)."""
    ex = _explorer(state)
    if not state.get("rounds_before"):
        raise UserError("this is the first round; there is no pick to go back from")
    for key, value in state["rounds_before"].pop().items():
        setattr(ex, key, value)
    ex.strength = float(strength)
    images = render(ctx.generator, ex.tiles(state["base"]))
    where = "tile 0 is your pick" if ex.picked is not None else "click the face whose change you want"
    return gallery(images, ex.picked is not None), state, f"Back to round {ex.round}: {where}."


def explore_pick(ctx: AppContext, state: dict | None, index: int, strength: float):
    """Keep tile `index`, show the finer round around it: (gallery, state, status)."""
    ex = _explorer(state)
    ex.strength = float(strength)
    before = _snapshot(ex)
    ex.pick(int(index))
    state.setdefault("rounds_before", []).append(before)
    images = render(ctx.generator, ex.tiles(state["base"]))
    angle = ex.angle * ex.shrink ** (ex.round - 1)
    return gallery(images, True), state, (f"Round {ex.round}: tile 0 is your pick, the others vary it by "
                                          f"{angle:.0f} degrees. Pick again, or save it.")


def explore_restrength(ctx: AppContext, state: dict | None, strength: float):
    """The same round drawn at another strength: (gallery, state)."""
    ex = _explorer(state)
    ex.strength = float(strength)
    return gallery(render(ctx.generator, ex.tiles(state["base"])), ex.picked is not None), state


def explore_save(ctx: AppContext, state: dict | None, name: str, set_name: str,
                 replace: bool = False) -> tuple[str, str]:
    """Save the pick as direction `name` into set `set_name`: (status, the set's path). An existing
    direction of that name is replaced only when `replace` is ticked."""
    ex = _explorer(state)
    name = safe_name(name, "direction name")
    path = ctx.directions_dir / f"{safe_name(set_name or 'explored', 'set name')}.npz"
    dset = save_into_set(path, ex.to_direction(name), ctx.generator.generator_id, space="w", overwrite=bool(replace))
    return (f"Saved **{name}** into {path.name} ({len(dset.entries)} directions). An amount of "
            f"{ex.strength:g} reproduces your pick."), str(path)


def explore_animate(ctx: AppContext, state: dict | None, frames: int = ANIMATION_FRAMES) -> str:
    """A GIF along the pick, from -strength to +strength (written to the workspace's exports)."""
    if not state or state["explorer"].picked is None:
        raise UserError("pick a tile first")
    ex: MutationExplorer = state["explorer"]
    dset = DirectionSet(generator_id=ctx.generator.generator_id, space="w")
    dset.add(ex.to_direction("pick"))
    codes = sweep_latents(state["base"][None], dset, "pick", -ex.strength, ex.strength, int(frames))
    path = fresh_path(ctx.exports_dir(), export_name("explored-pick", suffix=".gif"))
    return str(write_animation(render_frames(ctx.generator, codes, grid=True), path, fps=24, size=256))


def build_explore_tab(ctx: AppContext, shelf: DirectionShelf, check_admin: AdminCheck) -> None:
    """The "Explore" tab (call inside gr.Tabs); a saved direction's set shows in every set list.
    Exploring is open to all; saving a direction and animating the pick write files, so they ask for
    the admin password."""
    with gr.Tab("Explore", id="directions-explore"):
        gr.Markdown("No labels needed: start from a face, click the random change you like, refine around it, "
                    "then save it as a named direction. Strength is in standard deviations of sampled faces.")
        with gr.Row():
            seed = gr.Number(0, label="Face seed", precision=0, minimum=0)
            klass = class_picker(ctx.classes, ctx.start_class, "explore-class")
            psi = gr.Slider(0.3, 1.0, value=0.8, step=0.05, label="Truncation")
            strength = gr.Slider(0.25, 6, value=2.0, step=0.25, label="Strength")
            n_tiles = gr.Slider(4, 16, value=8, step=1, label="Tiles")
            rng_seed = gr.Number(0, label="Mutation seed", precision=0, minimum=0)
            start = gr.Button("Start", variant="primary", elem_id="explore-start")
            back = gr.Button("Back", elem_id="explore-back")
        status = gr.Markdown(elem_id="explore-status")
        with gr.Row():
            base = gr.Image(label="Start face", format="png", interactive=False, scale=1, elem_id="explore-base")
            grid = gr.Gallery(label="Click to pick", columns=4, allow_preview=False, scale=3, elem_id="explore-grid")
        with gr.Row():
            name = gr.Textbox(label="Direction name", placeholder="cute", elem_id="explore-name")
            set_name = gr.Textbox("explored", label="Into set")
            replace = gr.Checkbox(False, label="Replace a direction of that name", elem_id="explore-replace")
            password = admin_password_box("explore-password", "save or animate")
            save = gr.Button("Save direction", elem_id="explore-save")
            animate = gr.Button("Animate pick")
        preview = gr.Image(label="Along the pick", interactive=False, elem_id="explore-preview")
        state = gr.State(None)

    stats_at = functools.lru_cache(maxsize=8)(
        lambda psi_, class_: latent_stats(ctx.generator, truncation_psi=psi_, class_label=class_))

    @user_errors_as_toasts
    def on_start(sd, ps, s, n, rs, cl):
        return explore_start(ctx, stats_at(round(float(ps), 3), cl), sd, ps, s, n, rs, cl)

    @user_errors_as_toasts
    def on_pick(st, s, evt: gr.SelectData):
        return explore_pick(ctx, st, evt.index, s)

    @user_errors_as_toasts
    def on_back(st, s):
        return explore_back(ctx, st, s)

    @user_errors_as_toasts
    def on_strength(st, s):
        return explore_restrength(ctx, st, s) if st else (None, st)

    @user_errors_as_toasts
    def on_save(st, direction_name, into, replace_existing):
        return explore_save(ctx, st, direction_name, into, replace_existing)  # (status, saved path): the shelf lists the set

    @user_errors_as_toasts
    def on_animate(st):
        return explore_animate(ctx, st)

    start.click(on_start, [seed, psi, strength, n_tiles, rng_seed, klass], [base, grid, state, status])
    grid.select(on_pick, [state, strength], [grid, state, status])
    back.click(on_back, [state, strength], [grid, state, status])
    strength.release(on_strength, [state, strength], [grid, state])
    shelf.on_save(save.click, admin_only(check_admin, on_save), [password, state, name, set_name, replace], [status])
    animate.click(admin_only(check_admin, on_animate), [password, state], preview)
