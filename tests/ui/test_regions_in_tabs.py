"""The Edit, Animate and Invert tabs draw an edit only where its attribute shows, when the set has regions."""

import numpy as np
import torch
from directions_helpers import TINY

from directions.fit import DirectionFitter
from directions.io import DirectionSet, save_direction_set
from labeler.schema import default_schema
from latentlab.generator.interface import map_latents, render, sample_z
from latentlab.generator.stylegan2 import StyleGAN2Generator
from latentlab.ui.context import AppContext
from latentlab.ui.sets import DirectionShelf


def _setup(tmp_path):
    torch.manual_seed(0)
    gen = StyleGAN2Generator(TINY).eval()
    ctx = AppContext(generator=gen, generator_path=None, device=torch.device("cpu"), workspace=tmp_path,
                     db_url=f"sqlite:///{tmp_path / 'labels.sqlite'}", schema=default_schema())
    w = map_latents(gen, sample_z(200, 0, gen.z_dim), 0.8)
    labels = np.where(w[:, 0] > np.median(w[:, 0]), "yes", "no")
    dset = DirectionSet(generator_id=gen.generator_id, space="w")
    entry = DirectionFitter(kind="binary", classes=["no", "yes"], attribute="a", compare_svm=False).fit(w, labels)
    dset.add(entry.to_direction())
    region = np.zeros((gen.resolution, gen.resolution), np.float32)
    region[: gen.resolution // 4] = 1.0  # the attribute shows in the top quarter
    dset.entries["a"].region = region
    return gen, ctx, dset


def test_the_edit_tab_keeps_what_lies_outside_the_region(tmp_path):
    from directions.regions import set_mask
    from latentlab.ui.edit_tab import edited_faces

    gen, ctx, dset = _setup(tmp_path)
    before, locked = edited_faces(ctx, dset, 3, 2, 0.8, "", {"a": 3.0}, min_px=0)
    _, whole = edited_faces(ctx, dset, 3, 2, 0.8, "", {"a": 3.0}, min_px=0, regions=False)
    outside = np.tile(set_mask(dset, ["a"], gen.resolution) == 0, (1, 2))
    assert outside.any() and not outside.all()
    assert np.array_equal(locked[outside], before[outside])
    assert np.abs(whole[outside].astype(int) - before[outside]).mean() > 1
    assert np.abs(locked[~outside].astype(int) - before[~outside]).mean() > 1


def test_animate_and_invert_draw_in_the_region(tmp_path):
    from directions.regions import set_mask
    from latentlab.ui.animate_tab import sweep_video
    from latentlab.ui.invert_tab import draw_edited

    gen, ctx, dset = _setup(tmp_path)
    path = save_direction_set(tmp_path / "directions" / "s.npz", dset)
    shelf = DirectionShelf(ctx.directions_dir, gen.generator_id)
    video = sweep_video(ctx, shelf, str(path), "a", 0.0, 3.0, sample_z(2, 1, gen.z_dim), 4, 0.8, False)
    outside = np.tile(set_mask(dset, ["a"], gen.resolution) == 0, (1, 2))
    assert video.shape[0] == 4 and np.abs(video[-1].astype(int) - video[0])[~outside].mean() > 1
    assert all(np.array_equal(frame[outside], video[0][outside]) for frame in video)

    w0 = ctx.faces(1, 1, 0.8)[1]
    state = {"codes": w0[0]}
    moved = w0 + 3.0 * dset.entries["a"].scales[0] * dset.entries["a"].vectors[0]
    drawn = draw_edited(gen, state, dset, {"a": 3.0}, moved)
    face = render(gen, w0)
    half = gen.resolution // 4
    assert np.array_equal(drawn[0, half + 2:], face[0, half + 2:])
    assert np.array_equal(draw_edited(gen, state, dset, {"a": 3.0}, moved, blend=False), render(gen, moved))
