"""Labels out of the store as CSV or Parquet: raw (one row per label) or aggregated (one row per face)."""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from latentlab.core.artifacts import atomic_path
from latentlab.core.errors import UserError

from labeler.aggregate import METHODS, aggregate
from labeler.store import open_store
from labeler.text import quoted

WHATS = ("raw", *METHODS)
FORMATS = ("csv", "parquet")


def raw_labels(db_url: str, run_id: int) -> pd.DataFrame:
    """One row per label or skip: label_id, item_id, idx, annotator, kind, created_at, attributes..."""
    return open_store(db_url).labels_frame(run_id, include_skips=True)


def aggregated_labels(db_url: str, run_id: int, method: str = "majority") -> pd.DataFrame:
    """One row per face in item order: item_id, idx, n_labels, then the aggregated option per attribute
    (empty where there is no answer, a tie, or only "not sure")."""
    store = open_store(db_url)
    run = store.get_run(run_id)
    table = store.item_table(run.id)
    frame = store.labels_frame(run.id)
    agg = aggregate(frame, run.schema, method, item_ids=table["item_id"], gold=store.gold(run.id))
    counts = frame.groupby("item_id").size() if len(frame) else pd.Series(dtype=int)
    out = table[["item_id", "idx"]].copy()
    out["n_labels"] = out["item_id"].map(counts).fillna(0).astype(int)
    for name in run.schema.names:
        out[name] = agg[name].to_numpy()
    return out


def export_labels(db_url: str, run_id: int, out_dir: str | Path, what: str = "raw", fmt: str = "csv") -> list[Path]:
    """Write `run<id>_<what>.<fmt>` files; what in raw/majority/dawid_skene/gold_weighted/all, fmt in
    csv/parquet/both."""
    whats = WHATS if what == "all" else (what,)
    fmts = FORMATS if fmt == "both" else (fmt,)
    if any(w not in WHATS for w in whats):
        raise UserError(f"export what must be one of {', '.join(WHATS)} or all, got {quoted(what)}")
    if any(f not in FORMATS for f in fmts):
        raise UserError(f"export format must be one of {', '.join(FORMATS)} or both, got {quoted(fmt)}")
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    written = []
    for w in whats:
        table = raw_labels(db_url, run_id) if w == "raw" else aggregated_labels(db_url, run_id, w)
        for f in fmts:
            path = out_dir / f"run{run_id}_{w}.{f}"
            with atomic_path(path) as tmp:
                if f == "csv":
                    table.to_csv(tmp, index=False)
                else:
                    table.to_parquet(tmp, index=False)
            written.append(path)
    return written
