"""Simulated annotators with known error rates, labeling a run through the real store.

Used by the load test, the aggregation tests and the directions benchmark: the labels go through
the same `next_item` / `submit` calls as the app's, so assignment and k-redundancy are exercised.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from labeler.schema import UNSURE, Schema
from labeler.store import open_store


@dataclass
class SimulatedAnnotator:
    """Answers the truth with probability 1 - error_rate, otherwise a uniformly random other option;
    says "not sure" with probability unsure_rate (and for attributes without a true value)."""

    name: str
    error_rate: float
    unsure_rate: float = 0.0
    seed: int = 0
    rng: np.random.Generator = field(init=False, repr=False)

    def __post_init__(self) -> None:
        if not 0.0 <= self.error_rate <= 1.0 or not 0.0 <= self.unsure_rate <= 1.0:
            raise ValueError("error_rate and unsure_rate are probabilities in [0, 1]")
        self.rng = np.random.default_rng(self.seed)

    def answer(self, truth: dict[str, str], schema: Schema) -> dict[str, str]:
        values = {}
        for a in schema.attributes:
            true = truth.get(a.name)
            if true is None or self.rng.random() < self.unsure_rate:
                values[a.name] = UNSURE
            elif self.rng.random() < self.error_rate:
                others = [o for o in a.options if o != true]
                values[a.name] = others[self.rng.integers(len(others))]
            else:
                values[a.name] = true
        return values


def label_run(db_url: str, run_id: int, truth: dict[int, dict[str, str]], annotators: list[SimulatedAnnotator],
              k: int = 3) -> int:
    """Let the annotators take turns until every item has k labels (or none can get another item);
    returns the number of labels submitted. `truth` maps item_id -> {attribute: true option}."""
    store = open_store(db_url)
    schema = store.get_run(run_id).schema
    on_screen = {a.name: store.next_item(run_id, a.name, k=k) for a in annotators}
    submitted = 0
    while any(item is not None for item in on_screen.values()):
        for annotator in annotators:
            item = on_screen[annotator.name]
            if item is None:
                continue
            values = annotator.answer(truth.get(item.item_id, {}), schema)
            result, on_screen[annotator.name] = store.submit_and_next(run_id, annotator.name, item.item_id, values,
                                                                      request_id=item.token, k=k)
            submitted += result.status == "saved"
    return submitted
