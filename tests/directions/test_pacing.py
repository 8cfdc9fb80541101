"""Sweeps paced by picture change: frames crowd where the picture changes, ends and order are kept."""

import numpy as np

from directions.animate import loop_positions, render_frames, sweep_latents
from directions.pacing import DENSE, change_shares, paced_positions


def step_pictures(switch_at: float, m: int = DENSE, n: int = 1) -> np.ndarray:
    """Planted path: a 4x4 picture that stays black, then turns white within 2 % of the way."""
    u = np.linspace(0, 1, m)
    level = np.clip((u - switch_at) / 0.02, 0, 1) * 255
    return np.broadcast_to(level[:, None, None, None, None], (m, n, 4, 4, 3)).astype(np.uint8)


def test_frames_crowd_where_the_picture_switches_and_spread_the_switch():
    shares = change_shares(step_pictures(0.5))
    t = paced_positions(shares, np.linspace(0, 1, 60))[:, 0]
    assert t[0] == 0 and np.isclose(t[-1], 1) and np.all(np.diff(t) >= 0)
    inside = np.mean((t > 0.5) & (t < 0.52))
    assert inside > 0.5  # 2 % of the way gets most frames (even spacing would give it 1 or 2)
    # the picture's rise between neighbouring frames is small against the whole rise
    level = np.clip((t - 0.5) / 0.02, 0, 1)
    assert np.diff(level).max() <= 0.10
    even = np.clip((np.linspace(0, 1, 60) - 0.5) / 0.02, 0, 1)
    assert np.diff(even).max() > 0.5  # what an evenly spaced sweep shows: one jump


def test_a_picture_that_never_changes_keeps_even_spacing_and_faces_are_paced_apart():
    still = np.zeros((DENSE, 1, 4, 4, 3), np.uint8)
    t = paced_positions(change_shares(still), np.linspace(0, 1, 11))[:, 0]
    assert np.allclose(t, np.linspace(0, 1, 11))
    two = np.concatenate([step_pictures(0.2), step_pictures(0.8)], axis=1)
    t2 = paced_positions(change_shares(two), [0.5])[0]
    assert abs(t2[0] - 0.21) < 0.03 and abs(t2[1] - 0.81) < 0.03  # each face's own switch is its midpoint


def test_paced_sweep_keeps_its_ends_loops_and_is_still_a_sweep(sweep_setup):
    gen, w, dset = sweep_setup
    plain = sweep_latents(w[:2], dset, "a", -2.0, 2.0, n_frames=12)
    paced = sweep_latents(w[:2], dset, "a", -2.0, 2.0, n_frames=12, pace_with=lambda c: render_frames(gen, c))
    assert paced.shape == plain.shape
    assert np.allclose(paced[0], plain[0], atol=1e-5)  # starts at the same place
    turn = int(np.argmax(loop_positions(12)))
    assert np.allclose(paced[turn], plain[turn], atol=1e-4)  # and turns at the same end
    d = dset.entries["a"].vectors[0]
    pos = (paced @ d)[:, 0]
    assert np.all(np.diff(pos[: turn + 1]) >= -1e-6) and np.all(np.diff(pos[turn:]) <= 1e-6)  # there and back
