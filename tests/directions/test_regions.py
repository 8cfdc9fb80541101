"""Regions: where a labeled attribute shows in the picture, and edits drawn only there."""

import numpy as np
import pandas as pd
import pytest

from directions.fit import fit_direction_set
from directions.io import load_direction_set, save_direction_set
from directions.regions import RegionLock, lock_to_regions, region_mask, region_maps, set_mask
from latentlab.core.errors import UserError


def planted_faces(n: int = 400, side: int = 32, seed: int = 0):
    """Faces whose 'hat' colour lives in the top-left square and whose 'mouth' class in the bottom-right
    one; the two labels are correlated (70 % agree), and every pixel has noise."""
    rng = np.random.default_rng(seed)
    hat = rng.integers(0, 3, n)
    mouth = np.where(rng.random(n) < 0.7, hat % 2, rng.integers(0, 2, n))
    img = rng.normal(120, 20, (n, side, side, 3))
    colours = np.array([[220, 40, 40], [40, 220, 40], [40, 40, 220]], float)
    img[:, 2:10, 2:10] = colours[hat][:, None, None] + rng.normal(0, 10, (n, 8, 8, 3))
    img[:, 22:28, 20:30] += np.where(mouth == 1, 80.0, -80.0)[:, None, None, None]
    labels = {"hat": [["red", "green", "blue"][h] for h in hat], "mouth": [["shut", "open"][m] for m in mouth]}
    return np.clip(img, 0, 255).astype(np.uint8), labels


CLASSES = {"hat": ["red", "green", "blue"], "mouth": ["shut", "open"]}


def test_region_maps_find_the_planted_squares_and_not_the_correlated_one():
    img, labels = planted_faces()
    maps = region_maps(img, labels, CLASSES)
    hat, mouth = maps["hat"], maps["mouth"]
    assert hat.shape == mouth.shape == (32, 32)
    assert hat[2:10, 2:10].mean() > 20 * hat[12:, 12:].mean()  # inside the square vs everywhere else
    assert mouth[22:28, 20:30].mean() > 20 * mouth[:16, :16].mean()
    # the correlated attribute explains the other's square only through the correlation: partial R2 ~ 0
    assert mouth[2:10, 2:10].mean() < 0.05 * hat[2:10, 2:10].mean()
    assert hat[22:28, 20:30].mean() < 0.05 * mouth[22:28, 20:30].mean()


def test_unknown_labels_explain_nothing_and_large_faces_are_averaged_down():
    img, labels = planted_faces(side=32)
    big = np.kron(img, np.ones((1, 4, 4, 1), np.uint8))  # 128 px faces
    labels["hat"] = [None if i % 5 == 0 else v for i, v in enumerate(labels["hat"])]
    maps = region_maps(big, labels, CLASSES, side=64)
    assert maps["hat"].shape == (64, 64)
    assert maps["hat"][4:20, 4:20].mean() > 20 * maps["hat"][24:, 24:].mean()


def test_mask_covers_the_region_at_any_size_and_grows_with_mass():
    img, labels = planted_faces()
    m = region_maps(img, labels, CLASSES)["hat"]
    small = region_mask(m, 32, RegionLock(mass=0.5))
    assert small.dtype == np.float32 and small.min() >= 0 and small.max() <= 1
    assert small[4:8, 4:8].min() == pytest.approx(1.0, abs=0.01) and small[20:, 20:].max() == 0
    big = region_mask(m, 128, RegionLock(mass=0.5))
    assert big[16:32, 16:32].min() == pytest.approx(1.0, abs=0.01) and big[80:, 80:].max() == 0
    assert region_mask(m, 32, RegionLock(mass=0.95)).sum() > small.sum()
    assert region_mask(np.zeros((8, 8)), 16).max() == 0  # an attribute that shows nowhere: no edit drawn
    with pytest.raises(ValueError):
        RegionLock(mass=0)


def test_lock_keeps_the_base_outside_and_the_edit_inside():
    base = np.zeros((2, 8, 8, 3), np.uint8)
    moved = np.full((2, 8, 8, 3), 200, np.uint8)
    mask = np.zeros((8, 8), np.float32)
    mask[:4] = 1.0
    mask[4] = 0.5
    out = lock_to_regions(moved, base, mask)
    assert out.dtype == np.uint8
    assert (out[:, :4] == 200).all() and (out[:, 5:] == 0).all() and (out[:, 4] == 100).all()
    frames = np.full((3, 2, 8, 8, 3), 200, np.uint8)  # [F, N, ...] frames against [1, N, ...] faces
    assert (lock_to_regions(frames, base[None], mask)[:, :, 5:] == 0).all()


@pytest.fixture
def fitted(tmp_path):
    img, labels = planted_faces(n=300)
    rng = np.random.default_rng(1)
    hat_code = np.array([CLASSES["hat"].index(v) for v in labels["hat"]])
    w = rng.standard_normal((300, 6))
    w[:, 0] += 3 * hat_code
    w[:, 1] += 3 * np.array([CLASSES["mouth"].index(v) for v in labels["mouth"]])

    class Attr:
        def __init__(self, name, kind):
            self.name, self.kind, self.options = name, kind, CLASSES[name]

    attrs = [Attr("hat", "categorical"), Attr("mouth", "binary")]
    result = fit_direction_set(w, pd.DataFrame(labels), attrs, generator_id="sg2-32px-aaaa", images=img,
                               conditions={"mouth": ["hat"]}, compare_svm=False)
    return result.direction_set, img, labels


def test_fit_stores_regions_that_survive_the_file(fitted, tmp_path):
    dset, img, labels = fitted
    assert dset.entries["hat"].region.shape == (32, 32)
    assert dset.entries["mouth|hat"].region is dset.entries["mouth"].region  # a conditional entry: its attribute's
    back = load_direction_set(save_direction_set(tmp_path / "s.npz", dset))
    for name, d in dset.entries.items():
        assert np.array_equal(back.entries[name].region, d.region)
    mask = set_mask(back, ["hat:green", "mouth"], 32)  # a union: both squares
    assert mask[4:8, 4:8].min() == pytest.approx(1.0, abs=0.01) and mask[24, 22:28].min() == pytest.approx(1.0, abs=0.01)
    assert mask[14:18, 14:18].max() == 0
    assert set_mask(back, ["hat"], 32, lock=None) is None and set_mask(back, [], 32) is None


def test_sets_without_regions_draw_whole_faces_and_bad_regions_are_refused(fitted, tmp_path):
    dset, _, _ = fitted
    good = save_direction_set(tmp_path / "good.npz", dset)
    with np.load(good) as z:
        arrays = dict(z)
    arrays["e1_region"] = np.full((4, 5), np.nan, np.float32)  # not square, not finite
    np.savez(tmp_path / "bad.npz", **arrays)
    with pytest.raises(UserError, match="damaged"):
        load_direction_set(tmp_path / "bad.npz")
    dset.entries["hat"].region = None
    assert set_mask(dset, ["hat", "mouth"], 32) is None  # one direction without a region: the whole face
    assert load_direction_set(save_direction_set(tmp_path / "s.npz", dset)).entries["hat"].region is None


def test_render_locked_draws_grids_and_single_frames_per_face(sweep_setup):
    from directions.animate import render_frames, render_locked
    from directions.edit import offset

    gen, w, dset = sweep_setup
    res = gen.resolution
    mask = np.zeros((res, res), np.float32)
    mask[: res // 2] = 1.0
    faces = w[:3]
    sweep = faces[None] + np.linspace(0, 3, 4)[:, None, None] * offset(dset.entries["a"], 0, 1.0)[None, None]
    grids = render_locked(gen, sweep, faces, mask, grid=True, cols=3)
    whole = render_frames(gen, sweep, grid=True, cols=3)
    base = render_frames(gen, faces[None], grid=True, cols=3)[0]
    assert grids.shape == whole.shape == (4, res, 3 * res, 3)
    assert np.array_equal(grids[:, res // 2:], np.broadcast_to(base[res // 2:], grids[:, res // 2:].shape))
    assert np.array_equal(grids[:, : res // 2], whole[:, : res // 2])
    single = render_locked(gen, sweep[:, 0], faces[:1], mask)  # one face's frames against its start
    assert np.array_equal(single[:, res // 2:], np.broadcast_to(base[res // 2:, :res], single[:, res // 2:].shape))
    assert np.array_equal(render_locked(gen, sweep[:, 0], faces[:1], None), render_frames(gen, sweep[:, 0]))
    with pytest.raises(UserError, match="px"):
        render_locked(gen, sweep[:, 0], faces[:1], np.ones((res * 2, res * 2), np.float32))


def test_stray_patches_and_the_background_level_are_left_out():
    rng = np.random.default_rng(0)
    m = rng.uniform(0.0, 0.01, (32, 32))  # background: noise
    m[4:14, 4:14] += 1.0  # the attribute
    m[24:26, 24:26] += 1.0  # a stray patch: 4 % of the region's mass
    mask = region_mask(m, 32, RegionLock(mass=0.95))
    assert mask[6:12, 6:12].min() == pytest.approx(1.0, abs=0.01)
    assert mask[22:28, 22:28].max() == 0 and mask[18:, :].max() == 0
    kept = region_mask(m, 32, RegionLock(mass=0.95, keep=0.0))
    assert kept[24:26, 24:26].min() > 0.5
    assert region_mask(m, 32, RegionLock(mass=1.0, floor=0.0)).mean() > 0.9  # no floor: noise fills the picture
