"""The Labeler -> Directions contract: load_run_dataset over a run labeled through the real store."""

import numpy as np
import pytest

from latentlab.generator.interface import sample_z
from labeler.dataset import RunDataset, load_run_dataset
from labeler.schema import UNSURE, default_schema
from labeler.simulation import SimulatedAnnotator, label_run
from labeler.store import open_store


def truth_for(store, run_id, seed=0):
    rng = np.random.default_rng(seed)
    schema = store.get_run(run_id).schema
    ids, _, _ = store.latents(run_id)
    return {int(i): {a.name: a.options[rng.integers(len(a.options))] for a in schema.attributes} for i in ids}


def test_load_run_dataset_joins_latents_and_aggregated_labels(db_url, make_run, tiny_generator):
    run_id = make_run(db_url, n=20, k=3, seed=4)
    store = open_store(db_url)
    truth = truth_for(store, run_id)
    for t in truth.values():
        del t["blush"]  # nobody can tell: every annotator answers "not sure"
    careful = [SimulatedAnnotator(f"careful{i}", error_rate=0.0, seed=i) for i in range(3)]
    assert label_run(db_url, run_id, truth, careful, k=3) == 60
    for method in ("majority", "dawid_skene"):
        data = load_run_dataset(db_url, run_id, aggregation=method)
        assert isinstance(data, RunDataset)
        assert data.z.shape == (20, tiny_generator.z_dim) and data.w.shape == (20, tiny_generator.w_dim)
        assert data.z.dtype == np.float32 and data.w.dtype == np.float32
        assert np.array_equal(data.z, sample_z(20, 4, tiny_generator.z_dim))  # rows in item order
        assert (data.generator_id, data.seed, data.truncation_psi) == (tiny_generator.generator_id, 4, 0.8)
        assert data.schema == default_schema() and list(data.labels.columns) == data.schema.names
        assert len(data.labels) == len(data.item_ids) == 20
        for row, item in zip(data.labels.to_dict("records"), data.item_ids):
            assert row["blush"] is None  # only "not sure" answers
            assert {k: v for k, v in row.items() if k != "blush"} == truth[int(item)]
        assert data.load_images().shape == (20, 16, 16, 3)
    with pytest.raises(ValueError, match="aggregation must be one of"):
        load_run_dataset(db_url, run_id, aggregation="mean")


def test_simulated_annotators_follow_their_error_rates(sqlite_url, make_run):
    run_id = make_run(sqlite_url, n=60, k=2)
    store = open_store(sqlite_url)
    truth = truth_for(store, run_id, seed=3)
    annotators = [SimulatedAnnotator("exact", 0.0, seed=1), SimulatedAnnotator("sloppy", 0.5, unsure_rate=0.2, seed=2)]
    label_run(sqlite_url, run_id, truth, annotators, k=2)
    frame = store.labels_frame(run_id)
    names = store.get_run(run_id).schema.names
    assert len(frame) == 120 and set(frame.groupby("item_id").size()) == {2}
    exact = frame[frame.annotator == "exact"]
    assert all(r[names].to_dict() == truth[r.item_id] for _, r in exact.iterrows())
    sloppy = frame[frame.annotator == "sloppy"]
    answers = [(r[n], truth[r.item_id][n]) for _, r in sloppy.iterrows() for n in names]
    unsure = np.mean([a == UNSURE for a, _ in answers])
    wrong = np.mean([a != t for a, t in answers if a != UNSURE])
    assert 0.14 < unsure < 0.26 and 0.42 < wrong < 0.58
