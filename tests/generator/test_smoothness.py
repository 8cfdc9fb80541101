"""Smoothness figures of W: path length and the random-move change rate, on generators with known answers."""

import numpy as np

from latentlab.generator.smoothness import (
    Smoothness, chance_change_rate, measure_smoothness, path_end_distance, perceptual_path_length, random_directions,
    random_move_change_rate)
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


def test_chance_rate_is_zero_for_one_class_and_one_minus_one_over_k_for_k_even_classes():
    assert chance_change_rate(np.zeros(50, dtype=int), 3) == 0.0
    assert np.isclose(chance_change_rate(np.arange(600) % 4, 4), 0.75)
    assert np.isclose(chance_change_rate(np.array([0] * 92 + [1] * 8), 2), 1 - 0.92 ** 2 - 0.08 ** 2)


def test_relative_change_rate_takes_out_how_many_classes_are_drawn():
    # the same share of changed readings is worse when the attribute is rarely drawn
    s = Smoothness(ppl=4.0, change_rate={"blush": 0.10, "mouth": 0.30}, distance=3.0, pair_distance=2.0,
                   chance_rate={"blush": 0.147, "mouth": 0.0})
    rel = s.relative_change_rate
    assert np.isclose(rel["blush"], 0.10 / 0.147) and np.isnan(rel["mouth"])
    assert np.isclose(s.mean_relative_change_rate, 0.10 / 0.147) and s.relative_ppl == 2.0


def test_relative_path_length_is_at_least_one_and_frozen_generators_have_none(tiny_generator):
    # Cauchy-Schwarz: the mean squared speed along a path is at least its squared end-to-end distance
    oracle = load_oracle()
    sm = measure_smoothness(tiny_generator, oracle, n=40, seed=3)
    assert sm.pair_distance > 0 and sm.relative_ppl > 0.9
    assert set(sm.chance_rate) == set(ATTRIBUTES) and all(0 <= c < 1 for c in sm.chance_rate.values())
    assert path_end_distance(Rescaled(tiny_generator, 0.0), oracle, n=20) == 0.0
    frozen = Smoothness(ppl=0.0, change_rate={}, distance=3.0, pair_distance=0.0)
    assert np.isnan(frozen.relative_ppl)
