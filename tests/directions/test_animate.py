"""Animations: requested frame count and size, seamless loops (no duplicate, no jump at the seam)."""

import numpy as np
import pytest
from PIL import Image

from directions.animate import (export_name, loop_positions, read_animation, render_frames, slerp, strip,
                                sweep_label, sweep_latents, walk_latents, write_animation)
from latentlab.core.errors import UserError
from latentlab.generator.interface import map_latents, sample_z


def steps(seq: np.ndarray) -> tuple[np.ndarray, float]:
    """Distances between consecutive items, and the seam's (last -> first) distance."""
    flat = np.asarray(seq, np.float64).reshape(len(seq), -1)
    return np.linalg.norm(np.diff(flat, axis=0), axis=1), float(np.linalg.norm(flat[0] - flat[-1]))


@pytest.mark.parametrize("ease", ["cosine", "linear"])
@pytest.mark.parametrize("n", [2, 7, 24])
def test_pingpong_positions_loop_without_a_repeated_frame(n, ease):
    t = loop_positions(n, pingpong=True, ease=ease)
    assert len(t) == n and t[0] == 0 and t.max() <= 1
    inner, seam = steps(t)
    assert np.all(inner > 0) and seam > 0  # no frame shown twice in a row, the seam included
    assert seam <= inner.max() + 1e-12  # and no jump back to the start
    assert np.isclose(t.max(), 1.0)  # reaches the end of the sweep
    if n % 2 == 0:  # symmetric: a loop twice as long interleaves these frames
        assert np.allclose(loop_positions(2 * n, True, ease)[::2], t)


def test_one_way_sweep_covers_both_ends():
    t = loop_positions(5, pingpong=False)
    assert t[0] == 0 and t[-1] == 1 and np.all(np.diff(t) > 0)


def test_walks_visit_every_key_and_close_the_loop():
    rng = np.random.default_rng(0)
    keys = rng.standard_normal((4, 32))
    for mode in ("slerp", "lerp"):
        path = walk_latents(keys, frames_per_step=6, mode=mode)
        assert path.shape == (24, 32)
        assert np.allclose(path[::6], keys, atol=1e-5)  # each step starts exactly on its key
        inner, seam = steps(path)
        assert np.all(inner > 1e-6) and 0 < seam <= inner.max() + 1e-6
        # the next frame after the last is key 0, where the loop starts again
        nxt = {"slerp": slerp, "lerp": lambda a, b, t: a + (b - a) * t}[mode](keys[-1], keys[0], 1.0)
        assert np.allclose(nxt, path[0], atol=1e-5)
    z = walk_latents(keys * 0 + rng.standard_normal((4, 32)) / 1e3 + np.eye(4, 32) * 5.65, 5, "slerp")
    assert np.allclose(np.linalg.norm(z, axis=1), 5.65, rtol=1e-2)  # slerp stays on the sphere
    with pytest.raises(UserError):
        walk_latents(keys[:1], 4)


def test_sweep_renders_the_requested_frames_and_writes_gif_and_mp4(tmp_path, sweep_setup):
    gen, w, dset = sweep_setup
    codes = sweep_latents(w[:1], dset, "a", -2.0, 2.0, n_frames=12)
    assert codes.shape == (12, 1, 32)
    inner, seam = steps(codes)
    assert np.all(inner > 0) and 0 < seam <= inner.max() + 1e-6
    frames = render_frames(gen, codes[:, 0])
    assert frames.shape == (12, 16, 16, 3) and frames.dtype == np.uint8
    gif = write_animation(frames, tmp_path / "a.gif", fps=12, size=48)
    mp4 = write_animation(frames, tmp_path / "a.mp4", fps=12, size=48)
    for path in (gif, mp4):
        back = read_animation(path)
        assert back.shape == (12, 48, 48, 3), path
        diffs, seam_px = steps(back.astype(np.float64))
        assert seam_px <= diffs.max() + 1e-6  # the loop does not jump at the seam
    assert Image.open(gif).info.get("loop") == 0  # repeats forever
    # the first frame of the file shows the first frame we rendered (palette error only)
    first = np.asarray(Image.fromarray(frames[0]).resize((48, 48), Image.LANCZOS), np.float64)
    assert np.abs(read_animation(gif)[0] - first).mean() < 12


def test_grids_class_sweeps_odd_sizes_and_strips(tmp_path, sweep_setup):
    gen, w, dset = sweep_setup
    codes = sweep_latents(w[:3], dset, "a", 0, "yes", n_frames=6)
    grids = render_frames(gen, codes, grid=True)
    assert grids.shape == (6, 16, 48, 3)
    odd = np.zeros((3, 15, 21, 3), np.uint8)
    assert read_animation(write_animation(odd, tmp_path / "odd.mp4")).shape == (3, 16, 22, 3)
    s = strip(grids, n=4, gap=2)
    assert s.shape == (16, 4 * 48 + 3 * 2, 3) and np.all(s[:, 48:50] == 255)
    with pytest.raises(UserError, match=".gif or .mp4"):
        write_animation(grids, tmp_path / "a.avi")


def test_mp4_loop_of_a_real_sweep_has_no_jump_at_the_seam(tmp_path):
    """Issue 18: at 256 px x264's defaults left the MP4's seam 13x the source's, above every step."""
    from latentlab.generator.loading import load_generator

    gen = load_generator(None, "cpu")
    w = map_latents(gen, sample_z(3, 0, gen.z_dim), 0.7)
    direction = np.random.default_rng(0).standard_normal(gen.w_dim)
    direction /= np.linalg.norm(direction)
    amounts = 3 * (2 * loop_positions(48) - 1)  # -1.5 -> +1.5 -> -1.5 latent lengths, ping-pong
    frames = render_frames(gen, w[None] + 0.5 * amounts[:, None, None] * direction, grid=True)
    back = read_animation(write_animation(frames, tmp_path / "loop.mp4", fps=24, size=256))
    assert back.shape[0] == 48
    diffs, seam = steps(back.astype(np.float64))
    assert seam <= diffs.max()


def test_export_names_say_what_they_show_in_safe_bounded_characters():
    assert export_name(sweep_label("age", 0, 3), "myset", [0, 1, 2]) == "age-+3_set-myset_seeds-0-1-2.gif"
    assert export_name(sweep_label("age", -3, 3), "run1-w", range(8), suffix=".mp4") == \
        "age-from-3-to+3_set-run1-w_seeds-0-1-2-3-4-and-3-more.mp4"
    assert export_name(sweep_label("hair_color", 0, "blonde"), source="faces") == "hair_color-blonde_from-faces.gif"
    assert export_name("walk-z", seeds=[4, 5]) == "walk-z_seeds-4-5.gif"
    odd = export_name(sweep_label("a:b/c d", 0, "x\\y"), "../my set", [1])
    assert odd == "a-b-c-d-x-y_set-my-set_seeds-1.gif"
    long_a, long_b = (export_name("eye_state" * 30 + tail, "s") for tail in ("1", "2"))
    assert len(long_a) == len(long_b) == 100 + len(".gif") and long_a != long_b
    for name in (odd, long_a):
        assert all(c.isalnum() or c in "_+-." for c in name) and not name.startswith(".")
