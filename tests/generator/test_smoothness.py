"""Smoothness figures of W: path length and the random-move change rate, on generators with known answers."""

import numpy as np

from latentlab.generator.smoothness import perceptual_path_length, random_directions, random_move_change_rate
from latentlab.generator.synthetic.attributes import ATTRIBUTES
from latentlab.generator.synthetic.oracle import load_oracle


class Rescaled:
    """The same generator drawing G(scale * (ws - w_avg) + w_avg): `scale` times longer paths in W."""

    def __init__(self, gen, scale: float):
        self._gen, self._scale = gen, scale

    def __getattr__(self, name):
        return getattr(self._gen, name)

    def synthesis(self, ws, noise_mode="const"):
        avg = self._gen.w_avg.to(ws.device)
        return self._gen.synthesis(avg + self._scale * (ws - avg), noise_mode=noise_mode)


def test_a_generator_that_ignores_w_has_zero_path_length_and_no_changes(tiny_generator):
    oracle = load_oracle()
    frozen = Rescaled(tiny_generator, 0.0)
    assert perceptual_path_length(frozen, oracle, n=20) == 0.0
    rates = random_move_change_rate(frozen, oracle, n=20)
    assert set(rates) == set(ATTRIBUTES) and all(r == 0.0 for r in rates.values())


def test_path_length_is_a_limit_that_does_not_depend_on_the_step(tiny_generator):
    oracle = load_oracle()
    fine = perceptual_path_length(tiny_generator, oracle, n=40, seed=3, eps=1e-3)
    coarse = perceptual_path_length(tiny_generator, oracle, n=40, seed=3, eps=1e-2)
    assert fine > 0 and abs(fine - coarse) < 0.2 * fine


def test_random_directions_are_unit_and_their_spread_matches_the_data():
    rng = np.random.default_rng(0)
    w = rng.standard_normal((4000, 3)) * np.array([1.0, 2.0, 5.0])
    u, std = random_directions(w, 200, rng)
    assert np.allclose(np.linalg.norm(u, axis=1), 1)
    assert np.allclose(std, (w @ u.T).std(0), rtol=0.05)
