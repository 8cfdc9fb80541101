"""Aggregation and agreement on labels with known answers."""

import math

import numpy as np
import pandas as pd
import pytest

from labeler.aggregate import (annotator_agreement, class_balance, dawid_skene, krippendorff_alpha, majority_vote)
from labeler.schema import UNSURE, parse_schema
from labeler.simulation import SimulatedAnnotator

SCHEMA = parse_schema({"name": "t", "attributes": [
    {"name": "hair", "kind": "categorical", "options": ["black", "red", "blue", "pink"]},
    {"name": "age", "kind": "ordinal", "options": ["child", "teen", "adult"]},
]})


def frame_of(rows):
    return pd.DataFrame(rows, columns=["item_id", "annotator", "hair", "age"])


def simulate(annotators, n_items=200, seed=0):
    rng = np.random.default_rng(seed)
    truth = {i: {"hair": SCHEMA.attributes[0].options[rng.integers(4)],
                 "age": SCHEMA.attributes[1].options[rng.integers(3)]} for i in range(n_items)}
    rows = []
    for i, t in truth.items():
        for a in annotators:
            v = a.answer(t, SCHEMA)
            rows.append((i, a.name, v["hair"], v["age"]))
    return frame_of(rows), truth


def accuracy(agg, truth, attr):
    return float(np.mean([agg.at[i, attr] == t[attr] for i, t in truth.items()]))


def test_majority_vote_ignores_unsure_and_gives_none_on_ties():
    f = frame_of([(1, "a", "red", "teen"), (1, "b", "red", UNSURE), (1, "c", "blue", UNSURE),
                  (2, "a", "red", "child"), (2, "b", "blue", "adult"),
                  (3, "a", UNSURE, UNSURE)])
    m = majority_vote(f, SCHEMA)
    assert m.at[1, "hair"] == "red" and m.at[1, "age"] == "teen"
    assert m.at[2, "hair"] is None and m.at[2, "age"] is None  # ties
    assert m.at[3, "hair"] is None and m.at[3, "age"] is None  # only "not sure"
    m = majority_vote(f, SCHEMA, item_ids=[1, 2, 3, 4])
    assert m.loc[4].isna().all()  # an item nobody labeled


def test_dawid_skene_beats_majority_when_some_annotators_are_careless():
    # three careful annotators and three who answer at random (error 3/4 over 4 classes)
    annotators = [SimulatedAnnotator("good1", 0.1, seed=1), SimulatedAnnotator("good2", 0.1, seed=2),
                  SimulatedAnnotator("good3", 0.15, seed=3), SimulatedAnnotator("spam1", 0.75, seed=4),
                  SimulatedAnnotator("spam2", 0.75, seed=5), SimulatedAnnotator("spam3", 0.75, seed=6)]
    f, truth = simulate(annotators, n_items=300)
    mv, ds = majority_vote(f, SCHEMA), dawid_skene(f, SCHEMA)
    for attr in ("hair", "age"):
        assert accuracy(ds, truth, attr) > 0.93
        assert accuracy(ds, truth, attr) > accuracy(mv, truth, attr) + 0.08


def test_agreement_figures_follow_annotator_quality():
    perfect, _ = simulate([SimulatedAnnotator(f"p{i}", 0.0, seed=i) for i in range(3)], n_items=60)
    alpha = krippendorff_alpha(perfect, SCHEMA).set_index("attribute")
    assert alpha.loc["hair", "alpha"] == pytest.approx(1.0) and alpha.loc["age", "level"] == "ordinal"
    noise, _ = simulate([SimulatedAnnotator(f"r{i}", 1.0 - 1 / 4, seed=i) for i in range(3)], n_items=400)
    assert abs(krippendorff_alpha(noise, SCHEMA).set_index("attribute").loc["hair", "alpha"]) < 0.1
    mixed, _ = simulate([SimulatedAnnotator("good1", 0.05, seed=1), SimulatedAnnotator("good2", 0.05, seed=2),
                         SimulatedAnnotator("good3", 0.05, seed=3), SimulatedAnnotator("bad", 0.6, seed=4)])
    agree = annotator_agreement(mixed, SCHEMA).set_index("annotator")["agreement"]
    assert agree["bad"] < 0.5 < 0.85 < min(agree["good1"], agree["good2"], agree["good3"])


def test_class_balance_counts_every_answer():
    f = frame_of([(1, "a", "red", "teen"), (1, "b", "red", UNSURE), (2, "a", "pink", "teen")])
    b = class_balance(f, SCHEMA).set_index(["attribute", "option"])
    assert b.loc[("hair", "red"), "count"] == 2 and b.loc[("hair", "black"), "count"] == 0
    assert b.loc[("age", UNSURE), "count"] == 1 and math.isclose(b.loc[("age", "teen"), "share"], 2 / 3)
