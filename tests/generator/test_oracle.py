"""The shipped oracle reads held-out renders correctly: it is the instrument of every benchmark."""

import numpy as np
import pytest

from latentlab.generator.synthetic.attributes import ATTRIBUTES
from latentlab.generator.synthetic.oracle import evaluate_oracle, load_oracle
from latentlab.generator.synthetic.renderer import render_batch


@pytest.fixture(scope="module")
def oracle():
    return load_oracle()


def test_accuracy_on_held_out_renders(oracle):
    acc = evaluate_oracle(oracle, n=400, start_seed=90_000)
    assert set(acc) == set(ATTRIBUTES)
    for name, value in acc.items():
        assert value >= 0.97, f"{name}: {value:.3f}"


def test_outputs_are_probabilities_and_features(oracle):
    imgs, labels = render_batch(range(91_000, 91_016))
    proba = oracle.predict_proba(imgs)
    for name, p in proba.items():
        assert p.shape == (16, len(ATTRIBUTES[name]))
        assert np.allclose(p.sum(1), 1, atol=1e-5)
    assert oracle.features(imgs).shape[0] == 16
    big = np.repeat(np.repeat(imgs, 2, axis=1), 2, axis=2)  # any input size is resized to 64
    agree = np.mean([np.mean(oracle.predict(big)[k] == labels[k]) for k in ATTRIBUTES])
    assert agree >= 0.9


def test_eye_colour_is_scored_only_where_eyes_are_visible():
    from latentlab.generator.synthetic.attributes import visible_mask

    labels = {"eye_state": np.array([0, 1, 2, 2]), "eye_color": np.array([1, 2, 3, 4])}
    assert visible_mask("eye_color", labels).tolist() == [True, True, False, False]
    assert visible_mask("mouth", labels).all()
