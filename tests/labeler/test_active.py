"""Active learning: after enough labels, the faces served next are those the fit is least sure about."""

import numpy as np

from labeler.active import MIN_FACES, ActiveLearner, margin_uncertainty, update_priorities
from labeler.schema import parse_schema
from labeler.simulation import SimulatedAnnotator, label_run
from labeler.store import open_store

SCHEMA = parse_schema({"name": "line", "attributes": [{"name": "side", "kind": "binary", "options": ["left", "right"]}]})


def test_margin_uncertainty_is_highest_on_the_boundary():
    proba = np.array([[0.5, 0.5], [0.9, 0.1], [0.2, 0.8], [0.4, 0.35, 0.25]][:3])
    assert np.allclose(margin_uncertainty(proba), [1.0, 0.2, 0.4])


def test_after_enough_labels_the_least_certain_faces_come_next_and_k_still_holds(db_url, make_run):
    run_id = make_run(db_url, n=300, k=2, schema=SCHEMA)
    store = open_store(db_url)
    ids, _, w = store.latents(run_id)
    x = (w - w.mean(0)) / w.std(0)
    direction = np.random.default_rng(0).normal(size=w.shape[1])
    score = x @ direction / np.linalg.norm(direction)  # signed distance to the true boundary
    truth = {int(i): {"side": "right" if s > 0 else "left"} for i, s in zip(ids, score)}
    crowd = [SimulatedAnnotator("a", 0.0), SimulatedAnnotator("b", 0.0, seed=1)]
    assert update_priorities(db_url, run_id).prioritised == 0  # too few labels: the order stays as it is
    label_run(db_url, run_id, truth, crowd, k=2, budget=MIN_FACES)  # the first faces, in idx order
    labeled = set(store.labels_frame(run_id).item_id)
    assert len(labeled) == MIN_FACES  # one label each: the fewest-labels-first order spreads them
    refit = update_priorities(db_url, run_id)
    assert refit.labeled_faces == MIN_FACES and refit.prioritised == 300 - MIN_FACES
    served = []
    for name in ("c", "d", "e", "f", "g", "h"):
        a = store.next_item(run_id, name)
        served.append(a.item_id)
        assert a.item_id not in labeled
    distance = dict(zip(ids.tolist(), np.abs(score)))
    open_faces = [distance[i] for i in ids.tolist() if i not in labeled]
    # the served faces lie near the boundary: on average nearer than half of the open faces (a fit on
    # 60 labels in 32 dimensions is rough; random faces would average about the open faces' mean)
    assert np.mean([distance[i] for i in served]) < np.quantile(open_faces, 0.5) < np.mean(open_faces)
    # k and leases work as before: six people hold six different faces, and each gets k = 2 labels
    assert len(set(served)) == 6
    for name in ("c", "d", "e", "f", "g", "h"):  # they leave: their faces go back to the pool
        store.release(run_id, name)
    label_run(db_url, run_id, truth, crowd, k=2)
    counts = store.labels_frame(run_id).groupby("item_id").size()
    assert len(counts) == 300 and set(counts) == {2}



def test_the_background_learner_refits_after_enough_labels_and_at_most_once_per_interval():
    learner = ActiveLearner("sqlite://", 1, every=100, min_interval_s=60)
    assert learner.due(100, now=5.0)  # the first refit: as soon as there are labels to fit
    learner.fitted(100, now=5.0)
    assert not learner.due(150, now=100.0)  # 50 new labels: not enough
    assert not learner.due(400, now=30.0)  # enough labels, but a refit 25 s ago (a busy crowd)
    assert learner.due(400, now=65.0)
