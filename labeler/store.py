"""The label store: runs, items, annotators, labels and leases in SQLite or PostgreSQL (SQLAlchemy Core).

Guarantees the labeling app relies on:

* every write is one transaction, committed before the call returns (SQLite: WAL with
  synchronous=FULL, so a killed server keeps every acknowledged label);
* a submit is recorded once: `requests` holds every request id ever used (a replayed request,
  even after an undo, changes nothing) and `labels` is unique per (item, annotator);
* assignment is serialised per run (SQLite: BEGIN IMMEDIATE; PostgreSQL: a row lock on the
  run), and an item served to someone holds a lease (`reservations`, one per annotator and
  run, expiring after `LEASE_SECONDS`) that counts as a label in progress, so two annotators
  working at once are never handed the same last-needed slot.

The tables are created by the program itself; `latentlab_schema_version` records the layout so
later versions can migrate a store in place.
"""

from __future__ import annotations

import contextlib
import json
import random
import re
import threading
import time
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Iterator

import numpy as np
import pandas as pd
from sqlalchemy import (BigInteger, Column, case, inspect, Engine, Float, ForeignKey, Index, Integer, LargeBinary, MetaData,
                        String, Table, Text, UniqueConstraint, bindparam, create_engine, delete, event, func, select,
                        text, update)
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Connection, make_url
from sqlalchemy.exc import ArgumentError, OperationalError

from latentlab.core.errors import UserError

from labeler.schema import UNSURE, Schema, schema_from_json
from labeler.text import check_annotator_name, quoted  # check_annotator_name: also imported from here

SCHEMA_VERSION = 4  # 2: items.priority (uncertainty ordering); 3: runs.rendered, items.gold_json, items.n_labels;
# 4: runs.class_label (conditional generators)
PG_WRITERS = 4  # write transactions at once per process on PostgreSQL (labeler/README.md "Speed": 2-8 measured)
LEASE_SECONDS = 600.0  # how long an item served to an annotator stays reserved for them
REQUEST_ID_RE = re.compile(r"^[A-Za-z0-9_-]{8,64}$")

metadata = MetaData()

schema_version = Table(
    "latentlab_schema_version", metadata,
    Column("version", Integer, primary_key=True),
    Column("applied_at", Float, nullable=False),
)

runs = Table(
    "runs", metadata,
    Column("id", Integer, primary_key=True),
    Column("uid", String(32), nullable=False, unique=True),
    Column("name", String(200), nullable=False),
    Column("created_at", Float, nullable=False),
    Column("generator_id", String(200), nullable=False),
    Column("generator_path", Text),
    Column("seed", BigInteger, nullable=False),
    Column("truncation_psi", Float, nullable=False),
    Column("n", Integer, nullable=False),
    Column("z_dim", Integer, nullable=False),
    Column("w_dim", Integer, nullable=False),
    Column("resolution", Integer, nullable=False),
    Column("k", Integer, nullable=False),
    Column("schema_name", String(64), nullable=False),
    Column("schema_json", Text, nullable=False),
    Column("image_dir", Text, nullable=False),
    Column("rendered", Integer),  # faces idx < rendered have their PNG (drawn in order, in the background)
    Column("class_label", Integer),  # conditional generators: the class its latents were mapped with; else NULL
)

items = Table(
    "items", metadata,
    Column("id", Integer, primary_key=True),
    Column("run_id", ForeignKey("runs.id", ondelete="CASCADE"), nullable=False),
    Column("idx", Integer, nullable=False),
    Column("z", LargeBinary, nullable=False),  # float32 [z_dim], little-endian
    Column("w", LargeBinary, nullable=False),  # float32 [w_dim]
    Column("image_file", String(255), nullable=False),  # PNG name inside the run's image_dir
    Column("priority", Float, nullable=False, default=0.0),  # higher first among equally labeled items
    Column("gold_json", Text),  # known answers {attribute: option}: a gold face, served at a set rate
    Column("n_labels", Integer, nullable=False, default=0),  # its labels (not skips), kept with every write
    UniqueConstraint("run_id", "idx", name="uq_items_run_idx"),
)
Index("ix_items_queue", items.c.run_id, items.c.n_labels, items.c.priority.desc(), items.c.idx)  # assignment order

annotators = Table(
    "annotators", metadata,
    Column("id", Integer, primary_key=True),
    Column("name", String(64), nullable=False, unique=True),
    Column("created_at", Float, nullable=False),
)

labels = Table(
    "labels", metadata,
    Column("id", Integer, primary_key=True),
    Column("run_id", ForeignKey("runs.id", ondelete="CASCADE"), nullable=False),
    Column("item_id", ForeignKey("items.id", ondelete="CASCADE"), nullable=False),
    Column("annotator_id", ForeignKey("annotators.id"), nullable=False),
    Column("kind", String(8), nullable=False),  # "label", or "skip" (the annotator passed on it)
    Column("value_json", Text),  # {attribute: option or "not_sure"}; NULL for a skip
    Column("request_id", String(64), nullable=False),
    Column("created_at", Float, nullable=False),
    UniqueConstraint("item_id", "annotator_id", name="uq_labels_item_annotator"),
    Index("ix_labels_run_item", "run_id", "item_id"),
    Index("ix_labels_run_annotator", "run_id", "annotator_id"),
)

requests = Table(  # every request id ever accepted: replays are recognised even after an undo
    "requests", metadata,
    Column("request_id", String(64), primary_key=True),
    Column("annotator_id", ForeignKey("annotators.id"), nullable=False),
    Column("item_id", ForeignKey("items.id", ondelete="CASCADE"), nullable=False),
    Column("action", String(8), nullable=False),
    Column("created_at", Float, nullable=False),
)

reservations = Table(
    "reservations", metadata,
    Column("id", Integer, primary_key=True),
    Column("run_id", ForeignKey("runs.id", ondelete="CASCADE"), nullable=False),
    Column("item_id", ForeignKey("items.id", ondelete="CASCADE"), nullable=False),
    Column("annotator_id", ForeignKey("annotators.id"), nullable=False),
    Column("token", String(64), nullable=False, unique=True),
    Column("expires_at", Float, nullable=False),
    Column("prefill_json", Text),  # the values of an undone label, shown again
    UniqueConstraint("run_id", "annotator_id", name="uq_reservations_run_annotator"),
    Index("ix_reservations_run_item", "run_id", "item_id"),
)


def _add_item_priority(conn: Connection) -> None:
    if "priority" not in {c["name"] for c in inspect(conn).get_columns("items")}:
        conn.execute(text("ALTER TABLE items ADD COLUMN priority DOUBLE PRECISION NOT NULL DEFAULT 0"))


def _add_rendered_and_gold(conn: Connection) -> None:
    if "rendered" not in {c["name"] for c in inspect(conn).get_columns("runs")}:
        conn.execute(text("ALTER TABLE runs ADD COLUMN rendered INTEGER"))
    conn.execute(text("UPDATE runs SET rendered = n WHERE rendered IS NULL"))  # older runs were drawn whole
    columns = {c["name"] for c in inspect(conn).get_columns("items")}
    if "gold_json" not in columns:
        conn.execute(text("ALTER TABLE items ADD COLUMN gold_json TEXT"))
    if "n_labels" not in columns:
        conn.execute(text("ALTER TABLE items ADD COLUMN n_labels INTEGER NOT NULL DEFAULT 0"))
        conn.execute(text("UPDATE items SET n_labels = (SELECT count(*) FROM labels WHERE labels.item_id = items.id "
                          "AND labels.kind = 'label')"))
    conn.execute(text("CREATE INDEX IF NOT EXISTS ix_items_queue ON items (run_id, n_labels, priority DESC, idx)"))


def _add_run_class(conn: Connection) -> None:
    if "class_label" not in {c["name"] for c in inspect(conn).get_columns("runs")}:
        conn.execute(text("ALTER TABLE runs ADD COLUMN class_label INTEGER"))  # older runs: unconditional


MIGRATIONS = {2: _add_item_priority, 3: _add_rendered_and_gold, 4: _add_run_class}  # version -> the step that reaches it from version - 1


@dataclass(frozen=True)
class RunInfo:
    id: int
    uid: str
    name: str
    created_at: float
    generator_id: str
    generator_path: str | None
    seed: int
    truncation_psi: float
    n: int
    z_dim: int
    w_dim: int
    resolution: int
    k: int
    schema: Schema
    image_dir: Path
    class_label: int | None = None  # conditional generators: the class the run's faces belong to

    @property
    def class_note(self) -> str:
        """" · class C" for a conditional generator's run, "" otherwise: what run lists append."""
        return "" if self.class_label is None else f" · class {self.class_label}"


@dataclass(frozen=True)
class Assignment:
    """An item served to one annotator, reserved for them until `expires_at`."""

    run_id: int
    item_id: int
    idx: int
    token: str  # also the request id of the answer to it
    image_path: Path
    expires_at: float
    prefill: dict[str, str] | None = None  # previous answer, after an undo
    gold: bool = False  # a face with known answers (never told to the annotator)

    def to_dict(self) -> dict:
        return {"run_id": self.run_id, "item_id": self.item_id, "idx": self.idx, "token": self.token,
                "image": str(self.image_path), "expires_at": self.expires_at, "prefill": self.prefill}


@dataclass(frozen=True)
class SubmitResult:
    status: str  # "saved", or "duplicate" (this request or this annotator's label for the item exists)
    item_id: int


@dataclass(frozen=True)
class Progress:
    mine: int  # labels by this annotator in the run
    labels: int  # labels in the run (skips excluded)
    slots_filled: int  # sum over items of min(labels, k)
    slots: int  # n * k
    items_complete: int  # items with at least k labels
    n: int
    k: int
    rendered: int | None = None  # faces drawn so far (None: all n)

    @property
    def drawing(self) -> bool:
        """Faces are still being drawn in the background."""
        return self.rendered is not None and self.rendered < self.n

    @property
    def fraction(self) -> float:
        return self.slots_filled / self.slots if self.slots else 1.0


def check_request_id(request_id: object) -> str:
    if not isinstance(request_id, str) or not REQUEST_ID_RE.fullmatch(request_id):
        raise UserError("a request id must be 8-64 letters, digits, _ or - (use the token of the served item)")
    return request_id


def _f32(blob: bytes) -> np.ndarray:
    return np.frombuffer(blob, dtype="<f4")


# PostgreSQL locks of a labeling write (see LabelStore._run_write and _lock_run): one annotator on one run
# (a transaction-scoped advisory lock, two int4 keys), and the run's row
_ANNOTATOR_LOCK = text("SELECT pg_advisory_xact_lock(CAST(:run_id AS integer), CAST(:me AS integer))")
# FOR NO KEY UPDATE: the label and lease inserts before it hold KEY SHARE on the run's row (their
# foreign keys), which FOR UPDATE would wait for: two writes upgrading at once would deadlock
_RUN_LOCK = select(runs.c.id).where(runs.c.id == bindparam("run_id")).with_for_update(key_share=True)
# an annotator's label count in a run, for the page's progress line
_MINE = (select(func.count()).select_from(labels)
         .where(labels.c.run_id == bindparam("run_id"), labels.c.annotator_id == bindparam("me"), labels.c.kind == "label"))

# The hot path's statements, built once with bound parameters (building a statement and its cache key per
# call was about a fifth of a label's CPU): the annotator's lease with its face, dropping or renewing it,
# taking a new one, checking a face, counting a label
_HELD = (select(reservations.c.item_id, reservations.c.token, reservations.c.expires_at, reservations.c.prefill_json,
                items.c.idx, items.c.image_file, items.c.gold_json)
         .join(items, items.c.id == reservations.c.item_id)
         .where(reservations.c.run_id == bindparam("run_id"), reservations.c.annotator_id == bindparam("me")))
_DROP_LEASE = delete(reservations).where(reservations.c.token == bindparam("token"))
_RENEW_LEASE = update(reservations).where(reservations.c.token == bindparam("b_token")).values(
    expires_at=bindparam("expires"))
_DROP_ITEM_LEASE = delete(reservations).where(reservations.c.run_id == bindparam("run_id"),
                                              reservations.c.annotator_id == bindparam("me"),
                                              reservations.c.item_id == bindparam("b_item"))
_TAKE_LEASE = reservations.insert().values(run_id=bindparam("b_run"), item_id=bindparam("b_item"),
                                           annotator_id=bindparam("me"), token=bindparam("b_token"),
                                           expires_at=bindparam("expires"))
_ITEM_IN_RUN = select(items.c.id).where(items.c.id == bindparam("b_item"), items.c.run_id == bindparam("run_id"))
_COUNT_LABEL = update(items).where(items.c.id == bindparam("b_item")).values(n_labels=items.c.n_labels + 1)


def _record_statements(insert) -> tuple:
    """The request's and the answer's inserts for one dialect (`insert`: its insert with ON CONFLICT);
    RETURNING tells whether a row went in (rowcount is -1 for ON CONFLICT on some drivers). Bound names
    differ from column names, as SQLAlchemy requires in VALUES."""
    request = insert(requests).values(request_id=bindparam("b_request"), annotator_id=bindparam("me"),
                                      item_id=bindparam("b_item"), action=bindparam("b_kind"),
                                      created_at=bindparam("now")).on_conflict_do_nothing()
    answer = insert(labels).values(run_id=bindparam("b_run"), item_id=bindparam("b_item"),
                                   annotator_id=bindparam("me"), kind=bindparam("b_kind"),
                                   request_id=bindparam("b_request"), value_json=bindparam("b_value"),
                                   created_at=bindparam("now")).on_conflict_do_nothing()
    return request.returning(requests.c.request_id), answer.returning(labels.c.id)


# The assignment's one statement, built once with bound parameters (see LabelStore._candidate_query): the
# first (faces leased by others + 1) open faces in queue order, each with its count of others' live leases
def _others_leases(item_id=None):
    where = [reservations.c.run_id == bindparam("run_id"), reservations.c.expires_at > bindparam("now"),
             reservations.c.annotator_id != bindparam("me")]
    if item_id is None:
        return select(func.count(reservations.c.item_id.distinct())).where(*where).scalar_subquery()
    return select(func.count()).where(reservations.c.item_id == item_id, *where).scalar_subquery()


_QUEUE_HEAD = (select(items.c.id, items.c.idx, items.c.image_file, items.c.gold_json, items.c.n_labels, items.c.priority,
                      _others_leases(items.c.id).label("leased"))
               .where(items.c.run_id == bindparam("run_id"), items.c.n_labels < bindparam("k"),
                      items.c.idx < select(runs.c.rendered).where(runs.c.id == bindparam("run_id")).scalar_subquery(),
                      items.c.gold_json.is_(None),
                      items.c.id.not_in(select(labels.c.item_id).where(labels.c.run_id == bindparam("run_id"),
                                                                       labels.c.annotator_id == bindparam("me"))))
               .order_by(items.c.n_labels, items.c.priority.desc(), items.c.idx)
               .limit(_others_leases() + 1)).subquery("head")
# ... ranked by the database: the first of them with a free slot (ranking a few hundred rows in Python
# under the run's lock was a third of a label's CPU with 200 annotators)
_TAKEN = _QUEUE_HEAD.c.n_labels + _QUEUE_HEAD.c.leased
_BEST_FREE = (select(_QUEUE_HEAD.c.id, _QUEUE_HEAD.c.idx, _QUEUE_HEAD.c.image_file, _QUEUE_HEAD.c.gold_json)
              .where(_TAKEN < bindparam("k"))
              .order_by(_TAKEN, _QUEUE_HEAD.c.priority.desc(), _QUEUE_HEAD.c.idx)
              .limit(1))


class LabelStore:
    """One database; cheap to share between threads (open it with `open_store`)."""

    def __init__(self, url: str):
        self.url = url
        self.engine = _make_engine(url)
        self.dialect = self.engine.dialect.name
        # SQLite has one writer at a time; queueing this process's writers on a lock is fairer than
        # SQLite's busy-wait back-off (other processes still wait on busy_timeout). On PostgreSQL a few
        # write transactions at a time per process: with dozens, the one holding the run's row lock
        # waits for the interpreter lock between its statements, and every other write waits for it
        self._writers = threading.Lock() if self.dialect == "sqlite" else threading.BoundedSemaphore(PG_WRITERS)
        self._runs: dict[int, RunInfo] = {}
        self._annotators: dict[str, int] = {}
        self._totals: dict[int, tuple[float, tuple]] = {}  # run id -> (monotonic time, progress totals)
        self._local = threading.local()
        self._record_inserts = _record_statements(postgresql.insert if self.dialect == "postgresql" else sqlite.insert)
        self._migrate()

    # -- plumbing ----------------------------------------------------------------------------------

    @contextlib.contextmanager
    def _write(self) -> Iterator[Connection]:
        """A write transaction; on SQLite it takes the write lock at BEGIN (IMMEDIATE), so it never
        fails half-way on a lock upgrade and concurrent writers queue on busy_timeout."""
        with self._writers, self.engine.connect() as conn:
            conn.execution_options(latentlab_write=True)
            with conn.begin():
                yield conn

    @contextlib.contextmanager
    def _read(self) -> Iterator[Connection]:
        with self.engine.connect() as conn:
            with conn.begin():
                yield conn

    def _insert(self, table: Table):
        return (postgresql.insert if self.dialect == "postgresql" else sqlite.insert)(table)

    def _migrate(self) -> None:
        """Create missing tables; bring an older layout up to SCHEMA_VERSION one step at a time."""
        with self._write() as conn:
            if self.dialect == "postgresql":  # two processes starting at once must not both create tables
                conn.execute(text("SELECT pg_advisory_xact_lock(724100301)"))
            found = None
            if inspect(conn).has_table(schema_version.name):
                found = conn.execute(select(func.max(schema_version.c.version))).scalar()
            if found is None and inspect(conn).has_table(runs.name):
                found = 1  # tables without a recorded version: the first layout
            if found is not None and found > SCHEMA_VERSION:
                raise UserError(f"the label store {self.display_url} was written by a newer latentlab "
                                f"(layout v{found}, this one knows v{SCHEMA_VERSION}); upgrade latentlab")
            metadata.create_all(conn)
            if found is None:
                conn.execute(schema_version.insert().values(version=SCHEMA_VERSION, applied_at=time.time()))
                return
            for version in range(found + 1, SCHEMA_VERSION + 1):
                MIGRATIONS[version](conn)
                conn.execute(schema_version.insert().values(version=version, applied_at=time.time()))

    @property
    def display_url(self) -> str:
        return make_url(self.url).render_as_string(hide_password=True)

    def dispose(self) -> None:
        self.engine.dispose()

    # -- runs and items ----------------------------------------------------------------------------

    def insert_run(self, *, name: str, generator_id: str, generator_path: str | None, seed: int,
                   truncation_psi: float, z: np.ndarray, w: np.ndarray, resolution: int, k: int,
                   schema: Schema, image_dir: Path, image_files: list[str], uid: str,
                   rendered: int | None = None, class_label: int | None = None) -> int:
        """Store a run and its items in one transaction (so a run is either complete or absent).

        `rendered`: how many faces (in idx order) already have their PNG; None = all of them.
        `class_label`: the class a conditional generator mapped the latents with (None: unconditional)."""
        z = np.ascontiguousarray(z, dtype="<f4")
        w = np.ascontiguousarray(w, dtype="<f4")
        if k < 1:
            raise UserError(f"k (labels per item) must be at least 1, got {k}")
        with self._write() as conn:
            run_id = conn.execute(runs.insert().values(
                uid=uid, name=name, created_at=time.time(), generator_id=generator_id,
                generator_path=generator_path, seed=int(seed), truncation_psi=float(truncation_psi), n=len(z),
                z_dim=z.shape[1], w_dim=w.shape[1], resolution=int(resolution), k=int(k),
                schema_name=schema.name, schema_json=schema.to_json(), image_dir=str(image_dir),
                rendered=len(z) if rendered is None else int(rendered),
                class_label=None if class_label is None else int(class_label),
            ).returning(runs.c.id)).scalar_one()
            rows = [{"run_id": run_id, "idx": i, "z": z[i].tobytes(), "w": w[i].tobytes(), "image_file": f}
                    for i, f in enumerate(image_files)]
            for start in range(0, len(rows), 500):
                conn.execute(items.insert(), rows[start:start + 500])
        return int(run_id)

    def _run_from_row(self, row) -> RunInfo:
        return RunInfo(id=row.id, uid=row.uid, name=row.name, created_at=row.created_at,
                       generator_id=row.generator_id, generator_path=row.generator_path, seed=int(row.seed),
                       truncation_psi=float(row.truncation_psi), n=row.n, z_dim=row.z_dim, w_dim=row.w_dim,
                       resolution=row.resolution, k=row.k, schema=schema_from_json(row.schema_json),
                       image_dir=Path(row.image_dir), class_label=row.class_label)

    def list_runs(self) -> list[RunInfo]:
        with self._read() as conn:
            rows = conn.execute(select(runs).order_by(runs.c.id)).all()
        out = [self._run_from_row(r) for r in rows]
        self._runs.update({r.id: r for r in out})
        return out

    def get_run(self, run_id: int) -> RunInfo:
        try:
            run_id = int(run_id)
        except (TypeError, ValueError):
            raise UserError(f"run id must be a whole number, got {quoted(run_id)}") from None
        if run_id not in self._runs:
            with self._read() as conn:
                row = conn.execute(select(runs).where(runs.c.id == run_id)).first()
            if row is None:
                raise UserError(f"there is no run {run_id} in {self.display_url}; create one with "
                                f"`latentlab sample-run` or list them with `latentlab list-runs`")
            self._runs[run_id] = self._run_from_row(row)
        return self._runs[run_id]

    def set_k(self, run_id: int, k: int) -> None:
        if k < 1:
            raise UserError(f"k (labels per item) must be at least 1, got {k}")
        self.get_run(run_id)
        with self._write() as conn:
            conn.execute(update(runs).where(runs.c.id == run_id).values(k=int(k)))
        self._runs.pop(int(run_id), None)

    def set_image_dir(self, run_id: int, image_dir: Path) -> None:
        with self._write() as conn:
            conn.execute(update(runs).where(runs.c.id == run_id).values(image_dir=str(image_dir)))
        self._runs.pop(int(run_id), None)

    def rendered(self, run_id: int) -> int:
        """How many of the run's faces (idx 0, 1, ...) have their image: only those are served."""
        with self._read() as conn:
            value = conn.execute(select(runs.c.rendered).where(runs.c.id == int(run_id))).scalar()
        return self.get_run(run_id).n if value is None else int(value)

    def set_rendered(self, run_id: int, count: int) -> None:
        with self._write() as conn:
            conn.execute(update(runs).where(runs.c.id == int(run_id)).values(rendered=int(count)))

    # -- gold faces --------------------------------------------------------------------------------

    def set_gold(self, run_id: int, answers: dict[int, dict | None]) -> None:
        """Mark faces as gold with their known answers {item_id: {attribute: option}} (None: unmark).

        Gold faces are outside the k-label count: every annotator meets them (at the service's gold
        rate), and their answers there measure each annotator's accuracy."""
        run = self.get_run(run_id)
        checked = {}
        for item_id, values in answers.items():
            if values is not None:
                values = run.schema.check_values(values)
                if any(v == UNSURE for v in values.values()):
                    raise UserError("a gold face needs a known answer for every attribute, not \"not sure\"")
            checked[int(item_id)] = values
        with self._write() as conn:
            for item_id, values in checked.items():
                self._check_item(conn, run.id, item_id)
                conn.execute(update(items).where(items.c.run_id == run.id, items.c.id == item_id)
                             .values(gold_json=json.dumps(values, sort_keys=True) if values else None))

    def gold(self, run_id: int) -> dict[int, dict[str, str]]:
        """{item_id: known answers} of the run's gold faces."""
        with self._read() as conn:
            rows = conn.execute(select(items.c.id, items.c.gold_json)
                                .where(items.c.run_id == int(run_id), items.c.gold_json.is_not(None))).all()
        return {int(r.id): json.loads(r.gold_json) for r in rows}

    def set_priorities(self, run_id: int, priorities: dict[int, float]) -> None:
        """Serve some items before others among those with equally many labels, e.g. the ones a
        direction model is least sure about (uncertainty ordering). {item_id: priority}, higher first."""
        run = self.get_run(run_id)
        rows = [{"item": int(i), "value": float(v)} for i, v in priorities.items()]
        if not rows:
            return
        with self._write() as conn:  # one statement, many rows
            conn.execute(update(items).where(items.c.run_id == run.id, items.c.id == bindparam("item"))
                         .values(priority=bindparam("value")), rows)

    def item_table(self, run_id: int) -> pd.DataFrame:
        """item_id, idx, image_file of a run, in idx order."""
        with self._read() as conn:
            rows = conn.execute(select(items.c.id, items.c.idx, items.c.image_file)
                                .where(items.c.run_id == run_id).order_by(items.c.idx)).all()
        return pd.DataFrame(rows, columns=["item_id", "idx", "image_file"])

    def latents(self, run_id: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """(item_ids [N], z [N, z_dim] float32, w [N, w_dim] float32) in idx order."""
        run = self.get_run(run_id)
        with self._read() as conn:
            rows = conn.execute(select(items.c.id, items.c.z, items.c.w)
                                .where(items.c.run_id == run_id).order_by(items.c.idx)).all()
        ids = np.array([r.id for r in rows], dtype=np.int64)
        z = np.stack([_f32(r.z) for r in rows]) if rows else np.zeros((0, run.z_dim), np.float32)
        w = np.stack([_f32(r.w) for r in rows]) if rows else np.zeros((0, run.w_dim), np.float32)
        return ids, z.astype(np.float32), w.astype(np.float32)

    # -- annotators --------------------------------------------------------------------------------

    def annotator_id(self, name: str, conn: Connection | None = None) -> int:
        name = check_annotator_name(name)
        if name in self._annotators:
            return self._annotators[name]
        if conn is None:
            with self._write() as c:
                return self.annotator_id(name, c)
        found = conn.execute(select(annotators.c.id).where(annotators.c.name == name)).scalar()
        if found is not None:
            self._annotators[name] = int(found)  # committed rows only: annotators are never deleted
            return int(found)
        conn.execute(self._insert(annotators).values(name=name, created_at=time.time()).on_conflict_do_nothing())
        return int(conn.execute(select(annotators.c.id).where(annotators.c.name == name)).scalar_one())

    # -- assignment --------------------------------------------------------------------------------

    @contextlib.contextmanager
    def _run_write(self, run_id: int, annotator: str) -> Iterator[tuple[Connection, int]]:
        """A write transaction of one annotator on one run (SQLite's BEGIN IMMEDIATE serialises all
        writers anyway). On PostgreSQL it first takes the annotator's own lock on the run, so that two
        requests of one person run one after the other (they would deadlock on their lease), and
        leaves the run's row lock to `_lock_run`, the last lock any write takes: writes of different
        annotators overlap until they choose a face, and several app servers add throughput."""
        with self._write() as conn:
            me = self.annotator_id(annotator, conn)
            if self.dialect == "postgresql":
                conn.execute(_ANNOTATOR_LOCK, {"run_id": int(run_id), "me": me})
            self._local.mine = None
            yield conn, me
            if self._local.mine is None:  # `_assign` counts before it locks the run; other writes count here
                self._count_mine(conn, int(run_id), me)

    def _count_mine(self, conn: Connection, run_id: int, me: int) -> None:
        """The annotator's label count as of this write, for the page (saves a read transaction)."""
        self._local.mine = (run_id, me, conn.execute(_MINE, {"run_id": run_id, "me": me}).scalar_one())

    def counted_mine(self, run_id: int, annotator: str) -> int | None:
        """This thread's last write's count of `annotator`'s labels in the run (None if it was another's)."""
        last = getattr(self._local, "mine", None)
        self._local.mine = None
        me = self._annotators.get(annotator)
        return last[2] if last is not None and me is not None and last[:2] == (int(run_id), me) else None

    def next_item(self, run_id: int, annotator: str, *, k: int | None = None,
                  lease_s: float = LEASE_SECONDS, gold_rate: float = 0.0) -> Assignment | None:
        """The item this annotator should label now, or None when the run needs nothing more from them.

        Their live lease is returned again (a reload shows the same face); otherwise the item with
        the fewest labels-plus-leases below k that they have neither labeled nor skipped; among
        those, the highest `priority` (see `set_priorities`), then the lowest idx. Only faces
        already drawn are served. With probability `gold_rate` a gold face they have not seen
        comes instead (gold faces are not counted against k).
        """
        run = self.get_run(run_id)
        with self._run_write(run.id, annotator) as (conn, me):
            return self._assign(conn, run, me, int(k or run.k), lease_s, gold_rate)

    def _assign(self, conn: Connection, run: RunInfo, me: int, k: int, lease_s: float,
                gold_rate: float = 0.0, done_item: int | None = None) -> Assignment | None:
        """Lease the annotator's next face (their live lease again, unless it is on `done_item`, the face
        they just answered, whose lease ends here)."""
        now = time.time()
        held = conn.execute(_HELD, {"run_id": run.id, "me": me}).first()
        if held is not None and held.item_id != done_item and held.expires_at > now:
            expires = now + lease_s
            conn.execute(_RENEW_LEASE, {"b_token": held.token, "expires": expires})
            return Assignment(run.id, held.item_id, held.idx, held.token, run.image_dir / held.image_file,
                              expires, json.loads(held.prefill_json) if held.prefill_json else None,
                              gold=held.gold_json is not None)
        if held is not None:  # one lease per annotator and run (uq_reservations_run_annotator)
            conn.execute(_DROP_LEASE, {"token": held.token})
        self._count_mine(conn, run.id, me)  # before the lock: one statement less while the run waits
        self._lock_run(conn, run.id)
        row = None
        if gold_rate > 0 and random.random() < gold_rate:
            row = conn.execute(self._gold_query(run.id, me)).first()
        if row is None:
            row = self._candidate_query(conn, run.id, me, k, now)
        if row is None:
            return None
        token = uuid.uuid4().hex
        expires = now + lease_s
        conn.execute(_TAKE_LEASE, {"b_run": run.id, "b_item": row.id, "me": me, "b_token": token, "expires": expires})
        return Assignment(run.id, row.id, row.idx, token, run.image_dir / row.image_file, expires,
                          gold=row.gold_json is not None)

    @staticmethod
    def _taken(conn: Connection, item_id: int, now: float) -> int:
        """A face's labels plus live leases: the slots of its k that are spoken for."""
        return conn.execute(select(items.c.n_labels + select(func.count()).select_from(reservations).where(
            reservations.c.item_id == item_id, reservations.c.expires_at > now).scalar_subquery())
            .where(items.c.id == item_id)).scalar_one()

    def _lock_run(self, conn: Connection, run_id: int) -> None:
        """The run's row lock (PostgreSQL), held to the commit: faces are chosen one transaction at a
        time, so two never take the same last slot of a face. Always the last lock a write takes
        (after any face's row), so no two writes can wait for each other in a circle. Undo takes it
        too: it checks a face's free slots before leasing it again."""
        if self.dialect == "postgresql":
            conn.execute(_RUN_LOCK, {"run_id": run_id})

    @staticmethod
    def _gold_query(run_id: int, me: int):
        """A drawn gold face this annotator has neither labeled nor skipped, at random."""
        mine = select(labels.c.item_id).where(labels.c.run_id == run_id, labels.c.annotator_id == me)
        drawn = select(runs.c.rendered).where(runs.c.id == run_id).scalar_subquery()
        return (select(items.c.id, items.c.idx, items.c.image_file, items.c.gold_json)
                .where(items.c.run_id == run_id, items.c.gold_json.is_not(None), items.c.idx < drawn,
                       items.c.id.not_in(mine))
                .order_by(func.random()).limit(1))

    @staticmethod
    def _candidate_query(conn: Connection, run_id: int, me: int, k: int, now: float):
        """The best free item: fewest labels-plus-leases, then highest priority, then lowest idx.

        Exact without counting every label: items are read in (n_labels, -priority, idx) order along
        `ix_items_queue`; only items leased by others have more "taken" than n_labels, so the winner is
        among the first (leased + 1) rows, which the database ranks. One statement (one snapshot,
        one round trip while the run is locked, one row back), built once (`_BEST_FREE`): building it
        per call was a fifth of a label's CPU."""
        return conn.execute(_BEST_FREE, {"run_id": run_id, "me": me, "k": k, "now": now}).first()

    def _check_item(self, conn: Connection, run_id: int, item_id: object) -> int:
        try:
            item_id = int(item_id)
        except (TypeError, ValueError):
            raise UserError(f"item id must be a whole number, got {quoted(item_id)}") from None
        found = conn.execute(_ITEM_IN_RUN, {"b_item": item_id, "run_id": run_id}).scalar()
        if found is None:
            raise UserError(f"item {item_id} is not part of run {run_id}; reload the page to get a new item")
        return item_id

    def _record(self, run: RunInfo, annotator: str, item_id: object, request_id: object, kind: str,
                values: dict[str, str] | None, serve_next: bool, lease_s: float, k: int | None = None,
                gold_rate: float = 0.0) -> tuple[SubmitResult, Assignment | None]:
        request_id = check_request_id(request_id)
        now = time.time()
        with self._run_write(run.id, annotator) as (conn, me):
            item_id = self._check_item(conn, run.id, item_id)
            given = {"b_request": request_id, "me": me, "b_item": item_id, "b_kind": kind, "now": now, "b_run": run.id,
                     "b_value": json.dumps(values, sort_keys=True) if values is not None else None}
            request, answer = self._record_inserts
            fresh = conn.execute(request, given).first() is not None
            if fresh:
                fresh = conn.execute(answer, given).first() is not None
                if fresh and kind == "label":
                    conn.execute(_COUNT_LABEL, given)
            if serve_next:  # the lease on this face ends in _assign (one statement fewer)
                following = self._assign(conn, run, me, int(k or run.k), lease_s, gold_rate, done_item=item_id)
            else:
                conn.execute(_DROP_ITEM_LEASE, {"run_id": run.id, "me": me, "b_item": item_id})
                following = None
        return SubmitResult("saved" if fresh else "duplicate", item_id), following

    def submit(self, run_id: int, annotator: str, item_id: int, values: dict, request_id: str) -> SubmitResult:
        """Record one answer {attribute: option or "not_sure"}; the same request or item twice is kept once.

        Values are checked against the run's schema first: a wrong one is refused and nothing changes.
        """
        run = self.get_run(run_id)
        values = run.schema.check_values(values)
        return self._record(run, annotator, item_id, request_id, "label", values, False, LEASE_SECONDS)[0]

    def submit_and_next(self, run_id: int, annotator: str, item_id: int, values: dict, request_id: str,
                        lease_s: float = LEASE_SECONDS, k: int | None = None,
                        gold_rate: float = 0.0) -> tuple[SubmitResult, Assignment | None]:
        """`submit`, then lease the next item, in one transaction: one commit (one fsync) per face.
        The answer is acknowledged only once both are committed."""
        run = self.get_run(run_id)
        values = run.schema.check_values(values)
        return self._record(run, annotator, item_id, request_id, "label", values, True, lease_s, k, gold_rate)

    def skip(self, run_id: int, annotator: str, item_id: int, request_id: str) -> SubmitResult:
        """The annotator passes on an item: it is not served to them again and others still label it."""
        return self._record(self.get_run(run_id), annotator, item_id, request_id, "skip", None, False,
                            LEASE_SECONDS)[0]

    def skip_and_next(self, run_id: int, annotator: str, item_id: int, request_id: str,
                      lease_s: float = LEASE_SECONDS, gold_rate: float = 0.0) -> tuple[SubmitResult, Assignment | None]:
        return self._record(self.get_run(run_id), annotator, item_id, request_id, "skip", None, True, lease_s,
                            gold_rate=gold_rate)

    def undo_last(self, run_id: int, annotator: str, lease_s: float = LEASE_SECONDS) -> Assignment | None:
        """Take back this annotator's most recent label or skip in the run and serve that item again,
        with the previous answer filled in. None when there is nothing to undo. An undone skip whose
        face others have filled to k meanwhile serves the next face instead (k is never passed)."""
        run = self.get_run(run_id)
        now = time.time()
        with self._run_write(run.id, annotator) as (conn, me):
            last = conn.execute(
                select(labels.c.id, labels.c.item_id, labels.c.kind, labels.c.value_json, items.c.idx,
                       items.c.image_file)
                .join(items, items.c.id == labels.c.item_id)
                .where(labels.c.run_id == run.id, labels.c.annotator_id == me)
                .order_by(labels.c.id.desc()).limit(1)).first()
            if last is None:
                return None
            conn.execute(delete(labels).where(labels.c.id == last.id))
            if last.kind == "label":
                conn.execute(update(items).where(items.c.id == last.item_id).values(n_labels=items.c.n_labels - 1))
            conn.execute(delete(reservations).where(reservations.c.run_id == run.id,
                                                    reservations.c.annotator_id == me))
            self._lock_run(conn, run.id)  # no face is chosen between the check below and this lease
            if last.kind == "skip" and self._taken(conn, last.item_id, now) >= run.k:
                # a skip held no slot, and others have filled the face since: serve the next one instead
                return self._assign(conn, run, me, run.k, lease_s)
            token = uuid.uuid4().hex
            expires = now + lease_s
            conn.execute(reservations.insert().values(run_id=run.id, item_id=last.item_id, annotator_id=me,
                                                      token=token, expires_at=expires,
                                                      prefill_json=last.value_json))
        prefill = json.loads(last.value_json) if last.value_json else None
        return Assignment(run.id, last.item_id, last.idx, token, run.image_dir / last.image_file, expires, prefill)

    def release(self, run_id: int, annotator: str) -> None:
        """Give back the annotator's lease (they closed the page)."""
        with self._run_write(int(run_id), annotator) as (conn, me):
            conn.execute(delete(reservations).where(reservations.c.run_id == run_id,
                                                    reservations.c.annotator_id == me))

    # -- reading labels ----------------------------------------------------------------------------

    def progress(self, run_id: int, annotator: str | None = None, max_age_s: float = 0.0,
                 mine: int | None = None) -> Progress:
        """Counts of the run (and of `annotator`'s labels in it). With `max_age_s` > 0 the run-wide
        totals may be that many seconds old (one query per run and interval instead of one per
        request: they scan every label); the annotator's own count is always exact."""
        run = self.get_run(run_id)
        cached = self._totals.get(run.id)
        if cached is None or max_age_s <= 0 or time.monotonic() - cached[0] > max_age_s:
            per_item = (select(func.count().label("c")).select_from(labels)
                        .where(labels.c.run_id == run.id, labels.c.kind == "label")
                        .group_by(labels.c.item_id).subquery())
            totals = select(func.coalesce(func.sum(per_item.c.c), 0),
                            func.coalesce(func.sum(case((per_item.c.c > run.k, run.k), else_=per_item.c.c)), 0),
                            func.coalesce(func.sum(case((per_item.c.c >= run.k, 1), else_=0)), 0))
            with self._read() as conn:
                n_labels, filled, complete = conn.execute(totals).one()
                drawn = conn.execute(select(runs.c.rendered).where(runs.c.id == run.id)).scalar()
            cached = (time.monotonic(), (int(n_labels), int(filled), int(complete), drawn))
            self._totals[run.id] = cached
        n_labels, filled, complete, drawn = cached[1]
        if mine is None and not annotator:
            mine = 0
        if mine is None:
            with self._read() as conn:
                me = self._annotators.get(annotator)
                if me is None:
                    me = conn.execute(select(annotators.c.id).where(annotators.c.name == annotator)).scalar()
                mine = 0 if me is None else conn.execute(select(func.count()).select_from(labels).where(
                    labels.c.run_id == run.id, labels.c.annotator_id == me, labels.c.kind == "label")).scalar_one()
        return Progress(mine=int(mine), labels=n_labels, slots_filled=filled, slots=run.n * run.k,
                        items_complete=complete, n=run.n, k=run.k,
                        rendered=None if drawn is None or drawn >= run.n else int(drawn))

    def labels_frame(self, run_id: int, include_skips: bool = False) -> pd.DataFrame:
        """One row per label: label_id, item_id, idx, annotator, kind, created_at, then one column per
        schema attribute (option name or "not_sure"), in the order they were given."""
        run = self.get_run(run_id)
        q = (select(labels.c.id, labels.c.item_id, items.c.idx, annotators.c.name, labels.c.kind,
                    labels.c.created_at, labels.c.value_json)
             .join(items, items.c.id == labels.c.item_id)
             .join(annotators, annotators.c.id == labels.c.annotator_id)
             .where(labels.c.run_id == run.id).order_by(labels.c.id))
        if not include_skips:
            q = q.where(labels.c.kind == "label")
        with self._read() as conn:
            rows = conn.execute(q).all()
        records = []
        for r in rows:
            values = json.loads(r.value_json) if r.value_json else {}
            records.append({"label_id": r.id, "item_id": r.item_id, "idx": r.idx, "annotator": r.name,
                            "kind": r.kind, "created_at": r.created_at,
                            **{a: values.get(a) for a in run.schema.names}})
        columns = ["label_id", "item_id", "idx", "annotator", "kind", "created_at", *run.schema.names]
        return pd.DataFrame.from_records(records, columns=columns)


def _make_engine(url: str) -> Engine:
    try:
        parsed = make_url(url)
    except ArgumentError:
        raise UserError(f"{quoted(url)} is not a database URL; use sqlite:///path/to/file.sqlite or "
                        f"postgresql://user:password@host/db") from None
    backend = parsed.get_backend_name()
    if backend == "sqlite":
        if not parsed.database or parsed.database == ":memory:":
            raise UserError("the label store must be a file (sqlite:///path.sqlite) so labels survive a restart")
        Path(parsed.database).expanduser().parent.mkdir(parents=True, exist_ok=True)
        engine = create_engine(parsed, connect_args={"timeout": 60, "check_same_thread": False},
                               pool_size=16, max_overflow=48, pool_timeout=120)

        @event.listens_for(engine, "connect")
        def _sqlite_connect(dbapi_conn, _record) -> None:
            dbapi_conn.isolation_level = None  # SQLAlchemy emits BEGIN itself (below)
            cur = dbapi_conn.cursor()
            cur.execute("PRAGMA journal_mode=WAL")
            cur.execute("PRAGMA synchronous=FULL")
            cur.execute("PRAGMA busy_timeout=60000")
            cur.execute("PRAGMA foreign_keys=ON")
            cur.close()

        @event.listens_for(engine, "begin")
        def _sqlite_begin(conn: Connection) -> None:
            write = conn.get_execution_options().get("latentlab_write", False)
            conn.exec_driver_sql("BEGIN IMMEDIATE" if write else "BEGIN")

    elif backend == "postgresql":
        if parsed.drivername == "postgresql":
            parsed = parsed.set(drivername="postgresql+psycopg")
        engine = create_engine(parsed, pool_size=16, max_overflow=32, pool_timeout=120,
                               connect_args={"connect_timeout": 10})
    else:
        raise UserError(f"unsupported database {quoted(backend)}; use sqlite:///file.sqlite or postgresql://...")
    try:
        with engine.connect():
            pass
    except OperationalError as e:
        raise UserError(f"cannot open the label store {parsed.render_as_string(hide_password=True)}: "
                        f"{str(e.orig).strip().splitlines()[0]}") from None
    return engine


_STORES: dict[str, LabelStore] = {}
_STORES_LOCK = threading.Lock()


def open_store(url: str) -> LabelStore:
    """The shared store for a URL (one engine and connection pool per URL and process)."""
    with _STORES_LOCK:
        if url not in _STORES:
            _STORES[url] = LabelStore(url)
        return _STORES[url]


def close_store(url: str) -> None:
    with _STORES_LOCK:
        store = _STORES.pop(url, None)
    if store is not None:
        store.dispose()
