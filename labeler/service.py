"""What the labeling UI and its HTTP API do, on top of the store: one object, no Gradio in it.

Every method takes plain values and returns plain values, so the Label tab, the API endpoints
and the tests call the same code. Errors a person can fix are `UserError`s.
"""

from __future__ import annotations

import hmac
import math
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from latentlab.core.errors import UserError

from labeler.aggregate import annotator_agreement, class_balance, gold_accuracy, krippendorff_alpha, majority_vote
from labeler.export import export_labels
from labeler.store import LEASE_SECONDS, Assignment, Progress, RunInfo, open_store
from labeler.text import check_annotator_name, quoted

AGREEMENT_TTL_S = 15.0  # the label page's "agreement so far" is recomputed at most this often per run
TOTALS_TTL_S = 1.0  # the run-wide counts on the label page may be this old (the annotator's own are exact)
GOLD_RATE = 0.05  # share of served faces taken from the gold faces (each annotator meets each one once)
ANNOTATOR_AUTH = ("name", "gradio")


@dataclass
class LabelerOptions:
    """How `latentlab serve` runs the labeling side of the app."""

    run_id: int | None = None  # the run shown first (None: the newest one with the app's schema)
    annotator_auth: str = "name"  # "name": people type their name; "gradio": Gradio's login page
    admin_password: str | None = None  # None: the admin view and every writing action are off
    lease_s: float = LEASE_SECONDS
    gold_rate: float = GOLD_RATE  # 0: gold faces are never served

    def __post_init__(self) -> None:
        if not 0.0 <= self.gold_rate <= 1.0:
            raise UserError(f"the gold rate is a share between 0 and 1, got {self.gold_rate}")
        if self.annotator_auth not in ANNOTATOR_AUTH:
            raise UserError(f"annotator authentication must be one of {', '.join(ANNOTATOR_AUTH)}, got {quoted(self.annotator_auth)}")
        if self.admin_password is not None and len(self.admin_password) < 6:
            raise UserError("the admin password must have at least 6 characters")


def parse_faces(faces: object, n: int) -> list[int]:
    """Face numbers from "3, 17, 40-45" (0 <= number < n), sorted, each once."""
    if not isinstance(faces, str) or not faces.strip():
        raise UserError("give face numbers, e.g. 3, 17, 40-45")
    out: set[int] = set()
    for part in faces.replace(";", ",").split(","):
        part = part.strip()
        if not part:
            continue
        lo, sep, hi = part.partition("-")
        try:
            first, last = int(lo), int(hi) if sep else int(lo)
        except ValueError:
            raise UserError(f"{quoted(part)} is not a face number or a range like 40-45") from None
        if not 0 <= first <= last < n or last - first > 100_000:
            raise UserError(f"face numbers go from 0 to {n - 1}; {quoted(part)} is outside")
        out.update(range(first, last + 1))
    if not out:
        raise UserError("give face numbers, e.g. 3, 17, 40-45")
    return sorted(out)


@dataclass(frozen=True)
class ItemView:
    """What the label page shows: the assignment (None when the annotator is done) and the progress."""

    run: RunInfo
    assignment: Assignment | None
    progress: Progress
    agreement: float  # mean Krippendorff alpha over attributes; nan until it can be computed
    message: str = ""

    def to_dict(self, image_url: Callable[[Path], str]) -> dict:
        """The JSON the labeling APIs answer with; `image_url` says where a client fetches a face."""
        p = self.progress
        item = self.assignment.to_dict() if self.assignment else None
        if item is not None:
            item["image_url"] = image_url(self.assignment.image_path)
        return {"item": item, "message": self.message,
                "progress": {"mine": p.mine, "labels": p.labels, "slots_filled": p.slots_filled, "slots": p.slots,
                             "items_complete": p.items_complete, "n": p.n, "k": p.k,
                             "rendered": p.rendered},  # faces drawn so far; None once all n are
                "agreement": None if math.isnan(self.agreement) else self.agreement}


class LabelService:
    def __init__(self, db_url: str, options: LabelerOptions | None = None, schema_json: str | None = None):
        self.db_url = db_url
        self.store = open_store(db_url)
        self.options = options or LabelerOptions()
        self.schema_json = schema_json  # only runs with this schema are offered (the UI's controls fit it)
        self._agreement: dict[int, tuple[float, float]] = {}
        self._lock = threading.Lock()
        self._shown: set[int] = set()  # runs already checked against schema_json

    # -- runs --------------------------------------------------------------------------------------

    def runs(self) -> list[RunInfo]:
        return [r for r in self.store.list_runs()
                if self.schema_json is None or r.schema.to_json() == self.schema_json]

    def default_run_id(self) -> int | None:
        if self.options.run_id is not None:
            return self.options.run_id
        runs = self.runs()
        return runs[-1].id if runs else None

    def run(self, run_id: object) -> RunInfo:
        if run_id in (None, ""):
            raise UserError("choose a run to label first")
        run = self.store.get_run(run_id)
        if run.id in self._shown:
            return run
        if self.schema_json is not None and run.schema.to_json() != self.schema_json:
            raise UserError(f"run {run.id} uses schema {run.schema.name!r}, which this server does not show; "
                            f"start `latentlab serve --run {run.id}` to label it")
        self._shown.add(run.id)
        return run

    # -- labeling ----------------------------------------------------------------------------------

    def agreement(self, run_id: int) -> float:
        """Mean Krippendorff alpha of the run, recomputed at most every AGREEMENT_TTL_S by one thread
        at a time (the others meanwhile show the previous figure)."""
        now = time.monotonic()
        cached = self._agreement.get(run_id)
        if cached is not None and now - cached[0] < AGREEMENT_TTL_S:
            return cached[1]
        if not self._lock.acquire(blocking=cached is None):
            return cached[1]
        try:
            cached = self._agreement.get(run_id)
            if cached is not None and time.monotonic() - cached[0] < AGREEMENT_TTL_S:
                return cached[1]
            run = self.store.get_run(run_id)
            alphas = krippendorff_alpha(self.store.labels_frame(run_id), run.schema)["alpha"].dropna()
            value = float(alphas.mean()) if len(alphas) else float("nan")
            self._agreement[run_id] = (time.monotonic(), value)
            return value
        finally:
            self._lock.release()

    def _view(self, run: RunInfo, annotator: str, assignment: Assignment | None, message: str = "") -> ItemView:
        progress = self.store.progress(run.id, annotator, max_age_s=TOTALS_TTL_S,
                                       mine=self.store.counted_mine(run.id, annotator))
        return ItemView(run, assignment, progress, self.agreement(run.id), message)

    def next_item(self, annotator: str, run_id: object) -> ItemView:
        annotator = check_annotator_name(annotator)
        run = self.run(run_id)
        assignment = self.store.next_item(run.id, annotator, lease_s=self.options.lease_s,
                                          gold_rate=self.options.gold_rate)
        return self._view(run, annotator, assignment)

    def submit(self, annotator: str, run_id: object, item_id: object, request_id: str, values: dict) -> ItemView:
        """Record the answer, then serve the next item (the label is committed before that)."""
        annotator = check_annotator_name(annotator)
        run = self.run(run_id)
        result, assignment = self.store.submit_and_next(run.id, annotator, item_id, values, request_id,
                                                        lease_s=self.options.lease_s, gold_rate=self.options.gold_rate)
        message = "Saved." if result.status == "saved" else "Already recorded (sent twice); kept once."
        return self._view(run, annotator, assignment, message)

    def skip(self, annotator: str, run_id: object, item_id: object, request_id: str) -> ItemView:
        annotator = check_annotator_name(annotator)
        run = self.run(run_id)
        _, assignment = self.store.skip_and_next(run.id, annotator, item_id, request_id, lease_s=self.options.lease_s,
                                                 gold_rate=self.options.gold_rate)
        return self._view(run, annotator, assignment, "Skipped; you will not see this face again.")

    def undo(self, annotator: str, run_id: object) -> ItemView:
        annotator = check_annotator_name(annotator)
        run = self.run(run_id)
        assignment = self.store.undo_last(run.id, annotator, lease_s=self.options.lease_s)
        if assignment is None:
            return self._view(run, annotator, self.store.next_item(run.id, annotator, lease_s=self.options.lease_s),
                              "Nothing to undo yet.")
        return self._view(run, annotator, assignment, "Undone: your last answer is back for you to change.")

    def release(self, annotator: str, run_id: object) -> None:
        """The annotator leaves: their face on screen goes back to the pool at once."""
        self.store.release(self.run(run_id).id, check_annotator_name(annotator))

    # -- admin -------------------------------------------------------------------------------------

    def check_admin(self, password: object) -> None:
        """Refuse unless `password` is the admin password (constant-time compare, a pause on failure).

        Everything that writes to the workspace or shows everyone's labels asks this: annotators only label."""
        expected = self.options.admin_password
        if not expected:
            raise UserError("admin actions (the admin view, fitting, saving and exporting) are off: start the "
                            "server with --admin-password or set LATENTLAB_ADMIN_PASSWORD")
        if not isinstance(password, str) or not hmac.compare_digest(password.encode(), expected.encode()):
            time.sleep(0.5)
            raise UserError("wrong admin password; admin actions stay locked")

    def admin_tables(self, run_id: object) -> dict[str, pd.DataFrame | str]:
        run = self.store.get_run(run_id)
        frame = self.store.labels_frame(run.id)
        progress = self.store.progress(run.id)
        skips = len(self.store.labels_frame(run.id, include_skips=True)) - len(frame)
        alpha = krippendorff_alpha(frame, run.schema)
        people = frame["annotator"].nunique() if len(frame) else 0
        gold = self.store.gold(run.id)
        annotators = annotator_agreement(frame, run.schema).merge(
            gold_accuracy(frame, run.schema, gold), on="annotator", how="left")
        summary = (f"**Run {run.id}: {run.name}** · generator `{run.generator_id}` · seed {run.seed} · "
                   f"ψ {run.truncation_psi:g} · k = {run.k}\n\n"
                   f"{progress.labels} labels from {people} annotator{'' if people == 1 else 's'} "
                   f"({skips} skips) · {progress.items_complete} of {progress.n} faces have {run.k} labels · "
                   f"{100 * progress.fraction:.1f}% of the run's label slots filled · {len(gold)} gold "
                   f"face{'' if len(gold) == 1 else 's'} (served at a rate of {self.options.gold_rate:g})")
        if progress.drawing:
            summary += f"\n\nDrawing faces: {progress.rendered} of {progress.n} ready."
        notes = []
        if alpha["alpha"].isna().all():
            notes.append("Agreement needs faces labeled by at least two people: with k = "
                         f"{run.k} each face gets {run.k} labels, so it appears once the first faces have their "
                         "second label.")
        if not gold:
            notes.append("Gold accuracy needs gold faces: mark faces whose answers you know below; annotators "
                         "then meet them now and then, and each one's accuracy on them shows here.")
        if notes:
            summary += "\n\n" + " ".join(f"*{n}*" for n in notes)
        return {"summary": summary, "agreement": alpha.round(3), "annotators": annotators.round(3),
                "balance": class_balance(frame, run.schema).round(3)}

    def mark_gold(self, run_id: object, faces: object, unmark: bool = False) -> str:
        """Make faces (their numbers, "3, 17, 40-45") gold with their current majority answers, or
        unmark them. A face needs a clear majority on every attribute to become gold."""
        run = self.store.get_run(run_id)
        idxs = parse_faces(faces, run.n)
        table = self.store.item_table(run.id)
        item_of = dict(zip(table["idx"], table["item_id"]))
        if unmark:
            self.store.set_gold(run.id, {item_of[i]: None for i in idxs})
            return f"{len(idxs)} face{'' if len(idxs) == 1 else 's'} no longer gold."
        frame = self.store.labels_frame(run.id)
        majority = majority_vote(frame, run.schema, item_ids=[item_of[i] for i in idxs])
        unclear = [i for i in idxs if majority.loc[item_of[i]].isna().any()]
        if unclear:
            raise UserError(f"face{'' if len(unclear) == 1 else 's'} {', '.join(map(str, unclear[:10]))} "
                            f"{'has' if len(unclear) == 1 else 'have'} no clear majority on every attribute yet; "
                            "label them yourself (as any annotator) first, or load known answers with "
                            "`latentlab gold --csv`")
        self.store.set_gold(run.id, {item_of[i]: majority.loc[item_of[i]].to_dict() for i in idxs})
        return f"{len(idxs)} face{'' if len(idxs) == 1 else 's'} marked gold with their majority answers."

    def gold_table(self, run_id: object) -> pd.DataFrame:
        """idx, then the known answer per attribute, of the run's gold faces."""
        run = self.store.get_run(run_id)
        gold = self.store.gold(run.id)
        table = self.store.item_table(run.id)
        idx_of = dict(zip(table["item_id"], table["idx"]))
        rows = [{"face": idx_of[i], **answers} for i, answers in sorted(gold.items(), key=lambda kv: idx_of[kv[0]])]
        return pd.DataFrame(rows, columns=["face", *run.schema.names])

    def export(self, run_id: object, what: str, fmt: str, out_dir: Path) -> Path:
        run = self.store.get_run(run_id)
        return export_labels(self.db_url, run.id, out_dir, what=what, fmt=fmt)[0]
