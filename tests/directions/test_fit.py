"""DirectionFitter: recovers known directions, orients them, measures units, refuses thin data."""

import numpy as np
import pandas as pd
import pytest
from directions_helpers import cosine, gaussian_classes

from sklearn.base import clone
from sklearn.exceptions import NotFittedError
from sklearn.model_selection import GridSearchCV
from sklearn.utils._param_validation import InvalidParameterError

from directions.fit import AttributeSpec, DirectionFitter, TooFewLabels, fit_direction_set
from directions.units import LOGIT_PER_UNIT


def test_binary_recovers_the_bayes_normal_not_the_mean_difference():
    rng = np.random.default_rng(1)
    delta = rng.standard_normal(32)
    delta *= 2.5 / np.linalg.norm(delta)
    x, y, cov = gaussian_classes(np.stack([np.zeros(32), delta]), 2000, seed=1, labels=["no", "yes"])
    fitter = DirectionFitter(kind="binary", classes=["no", "yes"], attribute="blush").fit(x, y)
    truth = np.linalg.solve(cov, delta)  # Σ⁻¹Δ: the separating direction of shared-covariance classes
    assert cosine(fitter.vectors_[0], truth) >= 0.95
    assert cosine(delta, truth) < 0.9  # the test would catch a fitter returning the mean difference
    assert np.isclose(np.linalg.norm(fitter.vectors_[0]), 1.0)
    assert fitter.cv_accuracy_ > fitter.baseline_accuracy_ + 0.3
    assert fitter.svm_cosine_ > 0.8 and fitter.svm_cv_accuracy_ > 0.8


def test_binary_orientation_follows_the_option_order_and_units_are_projection_stds():
    rng = np.random.default_rng(2)
    delta = rng.standard_normal(16)
    x, y, _ = gaussian_classes(np.stack([np.zeros(16), delta]), 300, labels=["short", "long"])
    up = DirectionFitter(kind="binary", classes=["short", "long"], compare_svm=False, units="spread").fit(x, y)
    down = DirectionFitter(kind="binary", classes=["long", "short"], compare_svm=False, units="spread").fit(x, y)
    assert np.allclose(up.vectors_[0], -down.vectors_[0])
    assert up.vectors_[0] @ delta > 0
    neg, pos = up.class_positions_[0]
    assert neg < 0 < pos
    proj = (x @ up.vectors_[0] - up.origins_[0]) / up.scales_[0]
    assert abs(proj.mean()) < 1e-9 and np.isclose(proj.std(), 1.0)
    ys = np.array(y)
    assert np.isclose(proj[ys == "long"].mean(), pos) and np.isclose(proj[ys == "short"].mean(), neg)


def test_calibrated_units_raise_the_true_log_odds_by_the_same_amount_whatever_the_spread():
    rng = np.random.default_rng(5)
    k = 1.2  # true log-odds per latent length along axis 0
    x = rng.standard_normal((4000, 8)) * np.array([1, 6, 1, 1, 1, 1, 1, 1])
    positive = rng.random(len(x)) < 1 / (1 + np.exp(-k * x[:, 0]))
    labels = np.where(positive, "long", "short")
    fit = DirectionFitter(kind="binary", classes=["short", "long"], compare_svm=False).fit(x, labels)
    v = fit.vectors_[0]
    gained = k * v[0] * fit.scales_[0]  # true log-odds raised by one unit
    assert fit.metrics()["units"] == "calibrated" and abs(gained - LOGIT_PER_UNIT) < 0.25 * LOGIT_PER_UNIT
    # class positions are the class means, in the same units
    proj = (x @ v - fit.origins_[0]) / fit.scales_[0]
    assert np.isclose(proj[positive].mean(), fit.class_positions_[0, 1])


def test_ordinal_direction_orders_the_classes():
    rng = np.random.default_rng(3)
    axis = rng.standard_normal(24)
    axis /= np.linalg.norm(axis)
    means = np.stack([k * 1.5 * axis for k in range(3)])
    x, y, cov = gaussian_classes(means, 500, labels=["child", "teen", "adult"])
    f = DirectionFitter(kind="ordinal", classes=["child", "teen", "adult"], compare_svm=False).fit(x, y)
    assert f.monotonic_ and np.all(np.diff(f.class_positions_[0]) > 0)
    assert cosine(f.vectors_[0], np.linalg.solve(cov, axis)) >= 0.95
    rev = DirectionFitter(kind="ordinal", classes=["adult", "teen", "child"], compare_svm=False).fit(x, y)
    assert np.allclose(rev.vectors_[0], -f.vectors_[0])


def test_categorical_gives_an_orthonormal_subspace_and_one_vector_per_class():
    rng = np.random.default_rng(4)
    means = rng.standard_normal((4, 20)) * 1.5
    x, y, _ = gaussian_classes(means, 300, labels=["black", "blonde", "red", "blue"])
    f = DirectionFitter(kind="categorical", classes=["black", "blonde", "red", "blue"], attribute="hair").fit(x, y)
    assert f.basis_.shape == (3, 20)
    assert np.allclose(f.basis_ @ f.basis_.T, np.eye(3), atol=1e-9)
    assert f.vectors_.shape == (4, 20) and f.names_ == ["hair:black", "hair:blonde", "hair:red", "hair:blue"]
    # each "towards" vector puts its own class furthest along it
    for k in range(4):
        assert np.argmax(f.class_positions_[k]) == k
    assert f.cv_accuracy_ > 0.9


def test_too_few_labels_per_class_is_refused_with_the_counts():
    rng = np.random.default_rng(5)
    x = rng.standard_normal((60, 8))
    y = ["no"] * 55 + ["yes"] * 5
    with pytest.raises(TooFewLabels, match=r"'yes' has 5.*at least 10"):
        DirectionFitter(kind="binary", classes=["no", "yes"], attribute="blush").fit(x, y)


def test_missing_labels_are_ignored_and_unknown_ones_rejected():
    rng = np.random.default_rng(6)
    delta = rng.standard_normal(8) * 2
    x, y, _ = gaussian_classes(np.stack([np.zeros(8), delta]), 100, labels=["no", "yes"])
    y = list(y)
    y[:30] = [None] * 10 + [float("nan")] * 10 + [pd.NA] * 10
    f = DirectionFitter(kind="binary", classes=["no", "yes"], compare_svm=False).fit(x, y)
    assert f.n_labels_ == 170
    y[40] = "maybe"
    with pytest.raises(Exception, match="not options"):
        DirectionFitter(kind="binary", classes=["no", "yes"]).fit(x, y)


def test_fit_direction_set_fits_what_it_can_and_lists_the_rest():
    rng = np.random.default_rng(7)
    x = rng.standard_normal((400, 12))
    blush = np.where(x[:, 0] + 0.3 * rng.standard_normal(400) > 0, "yes", "no")
    age = np.digitize(x[:, 1] + x[:, 2], [-0.7, 0.7])
    labels = pd.DataFrame({"blush": blush, "age": np.array(["child", "teen", "adult"])[age],
                           "glasses": ["no"] * 395 + ["yes"] * 5})
    attrs = [AttributeSpec("blush", "binary", ["no", "yes"]), AttributeSpec("age", "ordinal", ["child", "teen", "adult"]),
             AttributeSpec("glasses", "binary", ["no", "yes"])]
    res = fit_direction_set(x, labels, attrs, generator_id="g1", conditions={"age": ["blush"]}, compare_svm=False)
    assert list(res.direction_set.entries) == ["blush", "age", "age|blush"]
    assert "glasses" in res.refused and "'yes' has 5" in res.refused["glasses"]
    table = res.table()
    assert set(table["name"]) == {"blush", "age", "age|blush", "glasses"}
    assert table.set_index("name").loc["blush", "cv_accuracy"] > 0.85


def test_balanced_accuracy_exposes_a_direction_that_only_guesses_the_majority():
    rng = np.random.default_rng(8)
    x = rng.standard_normal((600, 16))
    y = np.where(rng.random(600) < 0.9, "no", "yes")  # labels unrelated to the latents
    f = DirectionFitter(kind="binary", classes=["no", "yes"], compare_svm=False).fit(x, y)
    assert f.cv_accuracy_ > 0.8 and abs(f.cv_accuracy_ - f.baseline_accuracy_) < 0.05
    assert f.cv_balanced_accuracy_ < 0.6
    assert f.metrics()["cv_balanced_accuracy"] == f.cv_balanced_accuracy_


def test_the_fitter_is_a_scikit_learn_estimator():
    f = DirectionFitter(kind="ordinal", classes=["a", "b", "c"], attribute="age", shrinkage=0.3, cv=3)
    params = f.get_params()
    assert params["kind"] == "ordinal" and params["shrinkage"] == 0.3 and params["classes"] == ["a", "b", "c"]
    c = clone(f)
    assert c is not f and c.get_params() == params and not hasattr(c, "vectors_")
    assert c.set_params(shrinkage="auto", cv=4) is c and (c.shrinkage, c.cv) == ("auto", 4)
    assert f.shrinkage == 0.3  # the clone's parameters are its own
    with pytest.raises(NotFittedError):
        f.to_direction()
    with pytest.raises(NotFittedError):
        f.predict(np.zeros((2, 3)))
    for bad in (dict(kind="nominal"), dict(shrinkage=1.5), dict(shrinkage="ledoit"), dict(cv=1),
                dict(min_per_class=0), dict(svm_c=0)):
        with pytest.raises(InvalidParameterError):
            DirectionFitter(**bad).fit(np.zeros((40, 3)), ["no", "yes"] * 20)


def test_predict_and_score_ignore_unlabeled_rows():
    rng = np.random.default_rng(9)
    delta = rng.standard_normal(10) * 3
    x, y, _ = gaussian_classes(np.stack([np.zeros(10), delta]), 200, labels=["no", "yes"])
    f = DirectionFitter(kind="binary", classes=["no", "yes"], compare_svm=False).fit(x, y)
    assert f.n_features_in_ == 10 and set(f.predict(x[:20])) <= {"no", "yes"}
    expected = np.mean(f.predict(x) == np.array(y))
    assert f.score(x, y) == pytest.approx(expected) and expected > 0.9
    y_missing = [None] * 50 + list(y[50:])
    assert f.score(x, y_missing) == pytest.approx(np.mean(f.predict(x[50:]) == np.array(y[50:])))


def test_grid_search_over_shrinkage_prefers_shrinking_when_labels_are_few():
    """Planted: 40 dimensions, 30 faces per class. Without shrinkage the within-class covariance is
    nearly singular and the LDA overfits; GridSearchCV must pick a shrunk one and refit it."""
    rng = np.random.default_rng(10)
    delta = rng.standard_normal(40)
    delta *= 4.0 / np.linalg.norm(delta)
    x, y, _ = gaussian_classes(np.stack([np.zeros(40), delta]), 30, seed=10, labels=["no", "yes"])
    search = GridSearchCV(DirectionFitter(kind="binary", classes=["no", "yes"], compare_svm=False, cv=3,
                                          min_per_class=5),
                          {"shrinkage": [None, 0.5, "auto"]}, cv=3)
    search.fit(x, y)
    scores = dict(zip(map(str, search.cv_results_["param_shrinkage"]), search.cv_results_["mean_test_score"]))
    assert search.best_params_["shrinkage"] is not None and scores["None"] < max(scores.values()) - 0.15
    best = search.best_estimator_
    assert best.shrinkage == search.best_params_["shrinkage"] and best.vectors_.shape == (1, 40)
    assert best.to_direction().metrics["shrinkage"] == best.shrinkage


def _three_attributes(seed: int = 7):
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((300, 10))
    labels = pd.DataFrame({"blush": np.where(x[:, 0] > 0, "yes", "no"),
                           "glasses": ["no"] * 295 + ["yes"] * 5,
                           "smile": np.where(x[:, 1] > 0, "yes", "no")})
    attrs = [AttributeSpec(a, "binary", ["no", "yes"]) for a in ("blush", "glasses", "smile")]
    return x, labels, attrs


def test_on_attribute_is_called_before_each_attribute_in_order_even_refused_ones():
    x, labels, attrs = _three_attributes()
    calls = []

    def on_attribute(name, index, total):
        calls.append((name, index, total))

    res = fit_direction_set(x, labels, attrs, generator_id="g1", compare_svm=False, on_attribute=on_attribute,
                            conditions={"smile": ["blush"]})
    assert calls == [("blush", 1, 3), ("glasses", 2, 3), ("smile", 3, 3)]  # not the conditional entry
    assert list(res.direction_set.entries) == ["blush", "smile", "smile|blush"] and "glasses" in res.refused


def test_an_exception_from_on_attribute_stops_the_fit_before_that_attribute():
    x, labels, attrs = _three_attributes()
    seen = []

    class Stop(Exception):
        pass

    def on_attribute(name, index, total):
        seen.append(name)
        if index == 2:
            raise Stop(name)

    with pytest.raises(Stop, match="glasses"):
        fit_direction_set(x, labels, attrs, generator_id="g1", compare_svm=False, on_attribute=on_attribute)
    assert seen == ["blush", "glasses"]


def test_summary_rows_flag_fits_at_the_baseline_and_show_conditional_metrics():
    rng = np.random.default_rng(8)
    x = rng.standard_normal((400, 12))
    labels = pd.DataFrame({"noise": np.where(rng.random(400) < 0.9, "no", "yes"),  # unrelated to the latents
                           "blush": np.where(x[:, 0] + 0.5 * x[:, 1] > 0, "yes", "no"),
                           "age": np.where(x[:, 1] > 0, "adult", "child")})
    attrs = [AttributeSpec("noise", "binary", ["no", "yes"]), AttributeSpec("blush", "binary", ["no", "yes"]),
             AttributeSpec("age", "binary", ["child", "adult"])]
    res = fit_direction_set(x, labels, attrs, generator_id="g1", conditions={"blush": ["age"]}, compare_svm=False)
    rows = {r["name"]: r for r in res.direction_set.summary()}
    noise, blush, cond = rows["noise"], rows["blush"], rows["blush|age"]
    assert noise["cv_accuracy"] <= noise["baseline"] and noise["at_baseline"]
    assert "at or below the baseline" in noise["notes"]
    assert noise["cv_minus_baseline"] == pytest.approx(noise["cv_accuracy"] - noise["baseline"])
    assert not blush["at_baseline"] and blush["notes"] == "" and blush["plain_cv_accuracy"] is None
    # conditioning blush on age removes the age part of its direction: cosine well below 1
    assert cond["plain_cv_accuracy"] == blush["cv_accuracy"] and cond["cv_accuracy"] is None
    cosine_to_plain = float(cond["cosine_to_plain"])
    assert 0.5 < cosine_to_plain < 0.99
    assert not cond["at_baseline"] and "orthogonal to age" in cond["notes"]
    # the fit's table (the CLI's) has the same columns
    table = res.table().set_index("name")
    assert table.loc["blush|age", "cosine_to_plain"] == cond["cosine_to_plain"] and table.loc["noise", "at_baseline"]
