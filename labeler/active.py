"""Active learning: once a run has enough labels, serve next the faces the current fit is least sure about.

The fit is a linear classifier per attribute on w (LDA with shrinkage, the model `latentlab fit`
turns into directions), trained on the faces whose labels agree (majority vote). A face's
uncertainty for an attribute is 1 - (p1 - p2), p1 and p2 its two most probable classes; the run's
uncertainty (`joint`) is the mean over attributes, or one attribute's alone. The store serves, among
equally labeled faces, the highest `priority` first, so writing the uncertainties as priorities of
the faces nobody has labeled yet makes the next faces the informative ones, while k, leases and
gold faces work as before.

`ActiveLearner` refits in a background thread of the server every `every` new labels.
"""

from __future__ import annotations

import logging
import math
import threading
import time
import warnings
from dataclasses import dataclass

import numpy as np

from labeler.aggregate import majority_vote
from labeler.schema import Schema
from labeler.store import open_store

MIN_FACES = 60  # labeled faces before the first refit: below it the fit is noise and order stays random
MIN_PER_CLASS = 3  # classes with fewer labeled faces are left out of an attribute's fit

log = logging.getLogger("latentlab")


def fit_attribute(w: np.ndarray, y: np.ndarray, min_per_class: int = MIN_PER_CLASS):
    """A shrinkage LDA on standardised w [N, w_dim] for labels y [N] (class names), or None when fewer
    than two classes have `min_per_class` faces."""
    from sklearn.discriminant_analysis import LinearDiscriminantAnalysis

    classes, counts = np.unique(y, return_counts=True)
    keep = np.isin(y, classes[counts >= min_per_class])
    if (counts >= min_per_class).sum() < 2:
        return None
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return LinearDiscriminantAnalysis(solver="lsqr", shrinkage="auto").fit(w[keep], y[keep])


def margin_uncertainty(proba: np.ndarray) -> np.ndarray:
    """1 - (p1 - p2) per row of class probabilities [N, C]: 1 on the boundary, 0 when sure."""
    top = np.sort(proba, axis=1)[:, ::-1]
    return 1.0 - (top[:, 0] - (top[:, 1] if top.shape[1] > 1 else 0.0))


def uncertainty(w: np.ndarray, labels: dict[str, np.ndarray], schema: Schema, attribute: str = "joint",
                min_per_class: int = MIN_PER_CLASS) -> np.ndarray:
    """Uncertainty [N] of every face of w [N, w_dim] under fits on the labeled ones: `labels` maps an
    attribute to [N] class names (None where unlabeled). `attribute`: "joint" (mean over the attributes
    that can be fitted) or one attribute's name."""
    names = schema.names if attribute == "joint" else [attribute]
    mu, sd = w.mean(0), w.std(0) + 1e-6
    x = (w - mu) / sd
    scores = []
    for name in names:
        y = labels[name]
        known = np.array([v is not None for v in y])
        model = fit_attribute(x[known], np.asarray(y[known], dtype=object).astype(str), min_per_class) \
            if known.sum() >= 2 * min_per_class else None
        if model is not None:
            scores.append(margin_uncertainty(model.predict_proba(x)))
    return np.mean(scores, axis=0) if scores else np.zeros(len(w))


@dataclass
class Refit:
    labeled_faces: int
    prioritised: int  # unlabeled faces that got a priority


def update_priorities(db_url: str, run_id: int, attribute: str = "joint", min_faces: int = MIN_FACES) -> Refit:
    """Fit on the run's labels and write the uncertainty of every face nobody has labeled yet as its
    priority (higher = served first). Does nothing below `min_faces` labeled faces."""
    store = open_store(db_url)
    run = store.get_run(run_id)
    item_ids, _, w = store.latents(run.id)
    frame = store.labels_frame(run.id)
    labeled = set(frame["item_id"]) if len(frame) else set()
    if len(labeled) < min_faces:
        return Refit(len(labeled), 0)
    agg = majority_vote(frame, run.schema, item_ids=item_ids)
    labels = {a: agg[a].to_numpy(dtype=object) for a in run.schema.names}
    scores = uncertainty(w, labels, run.schema, attribute)
    open_items = [(int(i), float(s)) for i, s in zip(item_ids, scores) if int(i) not in labeled]
    store.set_priorities(run.id, dict(open_items))
    return Refit(len(labeled), len(open_items))


class ActiveLearner:
    """Refits priorities in a daemon thread whenever `every` new labels have come in (checked each
    `poll_s` seconds), at most once every `min_interval_s` seconds: a busy crowd (150 labels/s) would
    otherwise refit every poll, and each refit reads every label and rewrites every face's priority
    while the annotators' writes wait. `stop()` ends it."""

    def __init__(self, db_url: str, run_id: int, every: int = 100, attribute: str = "joint", poll_s: float = 5.0,
                 min_interval_s: float = 60.0):
        self.db_url, self.run_id, self.every, self.attribute, self.poll_s = db_url, run_id, every, attribute, poll_s
        self.min_interval_s = min_interval_s
        self._seen, self._last_fit = -every, -math.inf  # label count and time.monotonic() of the last refit
        self._stop = threading.Event()
        self.last: Refit | None = None
        self._thread = threading.Thread(target=self._loop, name=f"active-run-{run_id}", daemon=True)

    def start(self) -> ActiveLearner:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()

    def due(self, n_labels: int, now: float) -> bool:
        """Whether to refit with `n_labels` in the run at `now` (time.monotonic() seconds)."""
        return n_labels - self._seen >= self.every and now - self._last_fit >= self.min_interval_s

    def fitted(self, n_labels: int, now: float) -> None:
        """Record a refit on `n_labels` labels at `now`."""
        self._seen, self._last_fit = n_labels, now

    def _loop(self) -> None:
        store = open_store(self.db_url)
        while not self._stop.wait(self.poll_s):
            try:
                n = store.progress(self.run_id).labels
                if self.due(n, time.monotonic()):
                    self.fitted(n, time.monotonic())
                    self.last = update_priorities(self.db_url, self.run_id, self.attribute)
                    if self.last.prioritised:
                        log.info(f"run {self.run_id}: the next faces are those the fit on {self.last.labeled_faces} "
                                 f"labeled faces is least sure about")
            except Exception as e:  # noqa: BLE001 - a background thread has nobody else to tell
                log.error(f"run {self.run_id}: active learning stopped refitting: {e}")
                return
