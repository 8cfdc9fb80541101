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
              k: int = 3, gold_rate: float = 0.0, budget: int | None = None) -> int:
    """Let the annotators take turns until every item has k labels (or none can get another item,
    or `budget` labels are in); returns the number of labels submitted. `truth` maps item_id ->
    {attribute: true option}; gold faces come at `gold_rate` as in the app."""
    store = open_store(db_url)
    schema = store.get_run(run_id).schema
    on_screen = {a.name: store.next_item(run_id, a.name, k=k, gold_rate=gold_rate) for a in annotators}
    submitted = 0
    while any(item is not None for item in on_screen.values()) and (budget is None or submitted < budget):
        for annotator in annotators:
            item = on_screen[annotator.name]
            if item is None or (budget is not None and submitted >= budget):
                continue
            values = annotator.answer(truth.get(item.item_id, {}), schema)
            result, on_screen[annotator.name] = store.submit_and_next(run_id, annotator.name, item.item_id, values,
                                                                      request_id=item.token, k=k, gold_rate=gold_rate)
            submitted += result.status == "saved"
    for annotator in annotators:  # faces still on screen go back to the pool
        if on_screen[annotator.name] is not None:
            store.release(run_id, annotator.name)
    return submitted
