"""A labeled run as arrays for fitting directions: latents in item order joined with aggregated labels."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd
from PIL import Image

from labeler.aggregate import METHODS, aggregate
from labeler.schema import Schema
from labeler.store import open_store
from labeler.text import quoted


@dataclass
class RunDataset:
    """Row i of `z`, `w`, `labels`, `item_ids` (and `image_paths`) is the same face.

    `labels` has one column per schema attribute: the aggregated option name, or None where
    there is no aggregated label (no answers yet, a tie, or only "not sure").
    """

    run_id: int
    z: np.ndarray  # [N, z_dim] float32
    w: np.ndarray  # [N, w_dim] float32, mapped with truncation_psi
    labels: pd.DataFrame
    item_ids: np.ndarray  # [N] the store's item ids
    schema: Schema
    generator_id: str
    truncation_psi: float
    seed: int
    image_paths: list[Path] = field(default_factory=list)  # the cached PNG of each row
    class_label: int | None = None  # conditional generators: the class every face of the run belongs to

    def load_images(self, max_side: int | None = None) -> np.ndarray:
        """uint8 [N, R, R, 3]: the faces annotators saw (averaged down to at most `max_side` pixels)."""
        def one(p: Path) -> np.ndarray:
            with Image.open(p) as im:
                im = im.convert("RGB")
                if max_side is not None and max(im.size) > max_side:
                    im = im.resize((max_side, max_side), Image.Resampling.BOX)
                return np.asarray(im)

        return np.stack([one(p) for p in self.image_paths])


def load_run_dataset(db_url: str, run_id: int, aggregation: str = "majority") -> RunDataset:
    """Latents and aggregated labels ("majority", "dawid_skene" or "gold_weighted") of one run, in item order."""
    if aggregation not in METHODS:
        raise ValueError(f"aggregation must be one of {', '.join(METHODS)}, got {quoted(aggregation)}")
    store = open_store(db_url)
    run = store.get_run(run_id)
    item_ids, z, w = store.latents(run.id)
    frame = store.labels_frame(run.id)
    agg = aggregate(frame, run.schema, aggregation, item_ids=item_ids, gold=store.gold(run.id))
    labels = agg.reset_index(drop=True)
    labels = labels.astype(object).where(pd.notna(labels), None)
    files = store.item_table(run.id)["image_file"]
    return RunDataset(run_id=run.id, z=z, w=w, labels=labels, item_ids=item_ids, schema=run.schema,
                      generator_id=run.generator_id, truncation_psi=run.truncation_psi, seed=run.seed,
                      image_paths=[run.image_dir / f for f in files], class_label=run.class_label)
