"""edit(): units, class targets, W and W+ with layer ranges, clear errors."""

import numpy as np
import pytest
from directions_helpers import gaussian_classes

from directions.edit import edit, parse_assignments, parse_layers, position
from directions.fit import DirectionFitter
from directions.io import DirectionSet
from latentlab.core.errors import UserError

CLASSES = ["black", "blonde", "red", "blue"]


@pytest.fixture(scope="module")
def data():
    rng = np.random.default_rng(0)
    means = rng.standard_normal((4, 12)) * 1.5
    x, y, _ = gaussian_classes(means, 250, labels=CLASSES)
    dset = DirectionSet(generator_id="g", space="w")
    cat = DirectionFitter(kind="categorical", classes=CLASSES, attribute="hair_color", compare_svm=False).fit(x, y)
    dset.add(cat.to_direction())
    yb = ["yes" if v == "red" else "no" for v in y]
    dset.add(DirectionFitter(kind="binary", classes=["no", "yes"], attribute="red", compare_svm=False).fit(x, yb).to_direction())
    return x, np.array(y), dset, cat


def test_a_numeric_amount_moves_that_many_units(data):
    x, _, dset, _ = data
    w = x[:20]
    for amount in (-2.5, 1.0, 3.0):
        moved = edit(w, dset, {"red": amount})
        assert np.allclose(position(moved, dset, "red") - position(w, dset, "red"), amount, atol=1e-4)
        assert moved.dtype == np.float32 and moved.shape == w.shape
    towards = edit(w, dset, {"hair_color:blonde": 2.0})
    assert np.allclose(position(towards, dset, "hair_color:blonde") - position(w, dset, "hair_color:blonde"), 2.0, atol=1e-4)


def test_a_class_name_moves_faces_onto_that_class(data):
    x, y, dset, cat = data
    w = x[y != "blonde"][:100]
    moved = edit(w, dset, {"hair_color": "blonde"})
    assert np.mean(cat.lda_.predict(moved) == CLASSES.index("blonde")) > 0.95
    d = dset.entries["hair_color"]
    assert np.allclose(moved @ d.basis.T, d.class_centroids[1], atol=1e-4)
    # what lies outside the subspace is untouched
    outside = lambda c: c - (c @ d.basis.T) @ d.basis
    assert np.allclose(outside(moved), outside(w), atol=1e-4)
    # on the way, the fitted model reads each face as its own class or the target, never a third
    before = cat.lda_.predict(w)
    for t in np.linspace(0.05, 0.95, 19):
        read = cat.lda_.predict(edit(w, dset, {"hair_color": f"blonde@{t:.2f}"}))
        assert np.all((read == before) | (read == CLASSES.index("blonde")))
    # a format 1 entry (no subspace model) still moves straight: half-way is the midpoint
    d.within_cov = d.class_priors = None
    half = edit(w, dset, {"hair_color": "blonde@0.5"})
    assert np.allclose(half @ d.basis.T, 0.5 * (w @ d.basis.T + d.class_centroids[1]), atol=1e-4)
    # a binary attribute also takes a class: its position becomes the class mean's
    to_red = edit(w, dset, {"red": "yes"})
    assert np.allclose(position(to_red, dset, "red"), dset.entries["red"].position_of("yes"), atol=1e-4)


def test_w_plus_and_layer_ranges(data):
    x, _, dset, _ = data
    ws = np.repeat(x[:5, None, :], 6, axis=1)
    full = edit(ws, dset, {"red": 2.0})
    assert full.shape == ws.shape and np.allclose(full[:, 3], edit(x[:5], dset, {"red": 2.0}), atol=1e-5)
    part = edit(x[:5], dset, {"red": 2.0}, layers=parse_layers("2:4", 6), num_ws=6)
    assert part.shape == (5, 6, 12)
    changed = np.abs(part - ws).max(axis=(0, 2)) > 1e-3
    assert changed.tolist() == [False, False, True, True, False, False]
    with pytest.raises(ValueError, match="num_ws"):
        edit(x[:5], dset, {"red": 1.0}, layers=[0])


def test_parsing_and_errors(data):
    x, _, dset, _ = data
    assert parse_assignments(["age=+2", "hair_color=blonde", "x=-0.5"]) == {"age": 2.0, "hair_color": "blonde", "x": -0.5}
    assert parse_layers("3", 10) == [3] and parse_layers(":2", 10) == [0, 1] and parse_layers(None, 10) is None
    for bad in (["age"], ["=2"]):
        with pytest.raises(UserError):
            parse_assignments(bad)
    with pytest.raises(UserError, match="0..9"):
        parse_layers("12:14", 10)
    with pytest.raises(UserError, match="no direction 'smile'.*red"):
        edit(x[:2], dset, {"smile": 1.0})
    with pytest.raises(UserError, match="categorical"):
        edit(x[:2], dset, {"hair_color": 1.0})
    with pytest.raises(UserError, match="no class 'green'"):
        edit(x[:2], dset, {"hair_color": "green"})
    with pytest.raises(UserError, match="dimensions"):
        edit(np.zeros((2, 5)), dset, {"red": 1.0})
