"""Layer selection from labels: a planted attribute is found in the layers it was planted in."""

import numpy as np
import pytest

from directions.layers import effect_sizes, layer_scores, select_layers
from latentlab.generator.stylespace import style_layers, styles


def planted_styles(rng, n=600, layers=6, channels=16, planted=(2, 3), strength=1.2):
    """Random styles per W+ index; the positive class shifts 3 channels of the planted layers."""
    positive = rng.random(n) < 0.4
    out = []
    for i in range(layers):
        s = rng.standard_normal((n, channels))
        if i in planted:
            s[positive, :3] += strength
        out.append(s)
    return out, positive


def test_the_planted_layers_are_selected():
    rng = np.random.default_rng(0)
    s, positive = planted_styles(rng)
    scores = layer_scores(s, range(6), positive, num_ws=6)
    assert select_layers(scores) == [2, 3]
    assert scores[2] > 3 * scores[0]


def test_effect_size_is_cohens_d():
    rng = np.random.default_rng(1)
    a = rng.standard_normal((4000, 1)) + 0.5
    b = rng.standard_normal((4000, 1))
    d = effect_sizes(np.concatenate([a, b]), np.r_[np.ones(4000, bool), np.zeros(4000, bool)])
    assert d[0] == pytest.approx(0.5, abs=0.05)


def test_no_signal_keeps_every_layer():
    assert select_layers(np.zeros(5)) == [0, 1, 2, 3, 4]


def test_styles_of_a_stylegan2_cover_every_ws_index(tiny_generator):
    layers = style_layers(tiny_generator)
    assert sorted({l.ws_index for l in layers}) == list(range(tiny_generator.num_ws))
    w = np.random.default_rng(0).standard_normal((5, tiny_generator.w_dim)).astype(np.float32)
    s = styles(tiny_generator, w)
    assert [a.shape for a in s] == [(5, l.channels) for l in layers]
