"""Conditional directions: orthogonal to what they must leave alone, with re-measured units."""

import numpy as np
import pandas as pd
import pytest

from directions.conditional import conditional_direction, project_out
from directions.edit import edit, position
from directions.fit import AttributeSpec, fit_direction_set
from latentlab.core.errors import UserError


def correlated_faces(n=1200, d=16, seed=0):
    """age and hair length share a latent axis (as in the synthetic faces), hair colour is categorical."""
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((n, d))
    age = np.digitize(x[:, 0] + 0.6 * x[:, 1], [-0.6, 0.6])
    long_hair = (x[:, 1] + 0.5 * x[:, 0] + 0.3 * rng.standard_normal(n)) > 0
    hair = np.argmax(x[:, 2:5], axis=1)
    labels = pd.DataFrame({"age": np.array(["child", "teen", "adult"])[age],
                           "hair_length": np.where(long_hair, "long", "short"),
                           "hair_color": np.array(["black", "blonde", "red"])[hair]})
    attrs = [AttributeSpec("age", "ordinal", ["child", "teen", "adult"]),
             AttributeSpec("hair_length", "binary", ["short", "long"]),
             AttributeSpec("hair_color", "categorical", ["black", "blonde", "red"])]
    return x, labels, attrs


def test_project_out_is_orthogonal_and_unit():
    rng = np.random.default_rng(1)
    v, others = rng.standard_normal(20), rng.standard_normal((3, 20))
    out = project_out(v, others)
    assert np.isclose(np.linalg.norm(out), 1.0)
    assert np.allclose(others @ out, 0, atol=1e-10)
    assert out @ v > 0  # still points the same way
    with pytest.raises(UserError, match="inside the span"):
        project_out(others[0] + 2 * others[1], others)


def test_conditional_direction_leaves_the_other_attributes_unchanged():
    x, labels, attrs = correlated_faces()
    res = fit_direction_set(x, labels, attrs, generator_id="g", compare_svm=False, units="spread",
                            conditions={"age": ["hair_length", "hair_color"]})
    dset = res.direction_set
    plain, cond = dset.entries["age"], dset.entries["age|hair_length+hair_color"]
    assert cond.metrics["conditioned_on"] == ["hair_length", "hair_color"]
    assert abs(cond.vectors[0] @ dset.entries["hair_length"].vectors[0]) < 1e-10
    assert np.allclose(dset.entries["hair_color"].basis @ cond.vectors[0], 0, atol=1e-10)
    # the plain age direction drags hair length along; the conditional one does not
    w = x[:50]
    hl = lambda codes: position(codes, dset, "hair_length")
    assert np.all(np.abs(hl(edit(w, dset, {"age": 2.0})) - hl(w)) > 0.1)
    assert np.allclose(hl(edit(w, dset, {cond.name: 2.0})), hl(w), atol=1e-5)
    # and it still orders the ages, in re-measured units
    assert np.all(np.diff(cond.class_positions[0]) > 0) and cond.metrics["monotonic"]
    proj = (x @ cond.vectors[0] - cond.origins[0]) / cond.scales[0]
    assert np.isclose(proj.std(), 1.0)
    assert 0.3 < cond.metrics["cosine_to_plain"][0] < 0.999
    assert plain.metrics["cv_accuracy"] == cond.metrics["plain_cv_accuracy"]


def test_a_conditional_direction_keeps_the_plain_directions_units():
    x, labels, attrs = correlated_faces()
    conditions = {"age": ["hair_length"]}
    calibrated = fit_direction_set(x, labels, attrs, generator_id="g", compare_svm=False, conditions=conditions)
    spread = fit_direction_set(x, labels, attrs, generator_id="g", compare_svm=False, conditions=conditions,
                               units="spread")
    cal, spr = (r.direction_set.entries["age|hair_length"] for r in (calibrated, spread))
    assert cal.metrics["units"] == "calibrated" and spr.metrics["units"] == "spread"
    assert np.allclose(cal.vectors, spr.vectors) and not np.isclose(cal.scales[0], spr.scales[0])
    proj = (x @ spr.vectors[0] - spr.origins[0]) / spr.scales[0]
    assert np.isclose(proj.std(), 1.0)


def test_conditional_categorical_subspace_is_orthogonal_too():
    x, labels, attrs = correlated_faces()
    res = fit_direction_set(x, labels, attrs, generator_id="g", compare_svm=False)
    dset = res.direction_set
    cond = conditional_direction(dset.entries["hair_color"], [dset.entries["age"]], x, labels["hair_color"])
    assert np.allclose(cond.basis @ dset.entries["age"].vectors[0], 0, atol=1e-10)
    assert np.allclose(cond.basis @ cond.basis.T, np.eye(len(cond.basis)), atol=1e-10)
    assert cond.names == [n + "|age" for n in dset.entries["hair_color"].names]


def test_conditions_are_read_from_cli_items_and_app_text_alike():
    from directions.conditional import parse_conditions

    expected = {"age": ["hair_length", "accessory"], "blush": ["age"]}
    assert parse_conditions(["age:hair_length,accessory", "blush: age"]) == expected
    assert parse_conditions("age: hair_length, accessory; blush: age\n") == expected
    assert parse_conditions(None) == {} and parse_conditions("") == {}
    with pytest.raises(UserError, match="cannot read the condition 'age'"):
        parse_conditions(["age"])
