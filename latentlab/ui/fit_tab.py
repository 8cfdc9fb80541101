"""The "Fit directions" tab: a labeling run's aggregated labels -> a direction set in the workspace.

The fit itself is `directions.fit.fit_run` (LDA with shrinkage, cross-validated); this tab chooses
its arguments, runs it in a thread (the status names the attribute being fitted), saves the result in
`<workspace>/directions/` and shows its table, the CLI's (`directions.io.summary_row`): conditional
rows with the plain direction's accuracy and their cosine to it, fits no better than always guessing
the largest class flagged. An existing set is replaced only with "Replace" ticked; Cancel stops a fit
between attributes, before anything is saved.
"""

from __future__ import annotations

import contextlib
import queue
import threading
from collections.abc import Iterator

import gradio as gr
import pandas as pd

from latentlab.core.errors import UserError
from latentlab.ui.context import AppContext
from latentlab.ui.gradio_util import AdminCheck, admin_only, admin_password_box, user_errors_as_toasts
from latentlab.ui.sets import DirectionShelf, safe_name

from directions.conditional import parse_conditions
from directions.fit import fit_run
from directions.io import AT_BASELINE, DirectionSet, save_direction_set
from directions.reader import agreement_text, drop_reader, reader_path, save_reader, train_run_reader
from labeler.store import open_store

READER_EPOCHS = 40  # as `latentlab fit --reader`: about a minute per 1000 faces on 2 idle cores
ROUNDED = ("cv_accuracy", "baseline", "cv_minus_baseline", "balanced_accuracy", "svm_cv_accuracy", "svm_cosine",
           "plain_cv_accuracy")
COLUMNS = ["name", "kind", "labels", "cv_accuracy", "baseline", "cv_minus_baseline", "balanced_accuracy",
           "svm_cv_accuracy", "svm_cosine", "plain_cv_accuracy", "cosine_to_plain", "class_positions", "notes"]
# on a 1366 px screen every column fits; the long ones (class positions, notes) wrap
COLUMN_WIDTHS = ["8%", "7%", "6%", "6%", "7%", "7%", "7%", "6%", "6%", "6%", "6%", "14%", "14%"]
HEADERS = {"cv_accuracy": "CV acc.", "cv_minus_baseline": "CV − baseline", "balanced_accuracy": "balanced acc.",
           "svm_cv_accuracy": "SVM CV acc.", "svm_cosine": "SVM cosine", "plain_cv_accuracy": "plain CV acc.",
           "cosine_to_plain": "cosine to plain", "class_positions": "class positions"}  # short, unbroken headers


def fit_table(dset: DirectionSet, refused: dict[str, str]) -> tuple[pd.DataFrame, list[str]]:
    """The results table of a fit (the rows of `directions.io.summary_row`, as in the CLI), and one line
    per fit at or below its baseline (for the status)."""
    rows = dset.summary()
    flagged = [f"{r['name']} {r['cv_accuracy']:.3f} vs {r['baseline']:.3f}" for r in rows if r["at_baseline"]]
    rows += [{"name": a, "kind": "refused", "notes": why} for a, why in refused.items()]
    table = pd.DataFrame(rows).reindex(columns=COLUMNS)
    for col in ROUNDED:
        table[col] = pd.to_numeric(table[col], errors="coerce").round(3)
    return table.astype(object).where(table.notna(), ""), flagged


def empty_table() -> pd.DataFrame:
    """The results table before any fit: its column headers, no rows (not Gradio's "1 2 3")."""
    return pd.DataFrame(columns=[HEADERS.get(c, c) for c in COLUMNS])


class FitCancelled(Exception):
    """Raised between attributes (or reader epochs) by a fit whose Cancel was pressed."""


class BackgroundJob:
    """Work in a thread that the app shows step by step and can cancel.

    `lines()` starts it and yields a status line before each step until it ends; `outcome()` is then
    its result (or raises its error). The work starts a step only once the reader has asked for the
    line after its announcement, so a reader that stops asking (a Gradio handler closed by Cancel)
    stops the work at its next step; `cancel()` (called when `lines()` is closed) then ends the thread
    with FitCancelled as its error. Subclasses implement `_work`, calling `_step` before each step."""

    def __init__(self, name: str):
        self.result = self.error = None
        self._cancelled = threading.Event()
        self._lines: queue.Queue = queue.Queue()  # status lines, then None when the work ended
        self._go: queue.Queue = queue.Queue()  # True: the reader took the last line and wants more
        self.thread = threading.Thread(target=self._run, name=name, daemon=True)

    def _work(self):
        raise NotImplementedError

    def _step(self, line: str, cancelled: str) -> None:
        """Announce the next step; raise FitCancelled(`cancelled`) instead when Cancel was pressed."""
        if not self._cancelled.is_set():
            self._lines.put(line)
            if self._go.get() and not self._cancelled.is_set():
                return
        raise FitCancelled(cancelled)

    def _run(self) -> None:
        try:
            self.result = self._work()
        except BaseException as e:  # raised again by outcome(), in the thread that reads the lines
            self.error = e
        finally:
            self._lines.put(None)

    def lines(self) -> Iterator[str]:
        self.thread.start()
        try:
            while (line := self._lines.get()) is not None:
                yield line
                self._go.put(True)
        finally:
            self.cancel()  # a no-op for an ended job

    def outcome(self):
        """The result of an ended job; raises its error."""
        if self.error is not None:
            raise self.error
        return self.result

    def cancel(self) -> None:
        self._cancelled.set()
        self._go.put(False)  # wakes work waiting to start its next step


class BackgroundFit(BackgroundJob):
    """`fit_run` in a thread, a step per attribute ("fitting hair_color (2/8)…"); its result is the FitResult."""

    def __init__(self, db_url: str, run_id: int, **fit_kwargs):
        super().__init__(f"latentlab-fit-run{run_id}")
        self.db_url, self.run_id, self.fit_kwargs = db_url, run_id, fit_kwargs

    def _work(self):
        return fit_run(self.db_url, self.run_id, on_attribute=self._on_attribute, **self.fit_kwargs)

    def _on_attribute(self, attribute: str, index: int, total: int) -> None:
        self._step(f"fitting {attribute} ({index}/{total})…",
                   f"the fit of run {self.run_id} was cancelled before {attribute}")


class BackgroundReader(BackgroundJob):
    """`train_run_reader` in a thread, a step per epoch; its result is the AttributeReader."""

    def __init__(self, db_url: str, run_id: int, aggregation: str, epochs: int = READER_EPOCHS):
        super().__init__(f"latentlab-reader-run{run_id}")
        self.db_url, self.run_id, self.aggregation, self.epochs = db_url, run_id, aggregation, epochs

    def _work(self):
        return train_run_reader(self.db_url, self.run_id, aggregation=self.aggregation, epochs=self.epochs,
                                on_epoch=self._on_epoch)

    def _on_epoch(self, epoch: int, epochs: int) -> None:
        self._step(f"training the attribute reader, epoch {epoch}/{epochs}…",
                   f"the attribute reader of run {self.run_id} was cancelled at epoch {epoch}")


def run_choices(ctx: AppContext) -> list[tuple[str, int]]:
    return [(f"{r.id}: {r.name}{r.class_note}", int(r.id)) for r in open_store(ctx.db_url).list_runs()]


def do_fit(ctx: AppContext, run_id, space: str, attributes: list[str], aggregation: str, conditions: str,
           min_per_class: float, svm: bool, set_name: str, replace: bool = False, reader: bool = False,
           reader_epochs: int = READER_EPOCHS):
    """Fit a run's directions and save them in the workspace, as a generator for the app: yields
    (table, status, None) while fitting (a status line per attribute), then (table, status, saved path).
    With `reader`, the set's attribute reader is trained too (a line per epoch) and saved next to it.
    An existing set of that name is refused unless `replace`. Cancel closes this generator: the work stops
    before its next attribute or epoch and nothing is saved."""
    if run_id in (None, ""):
        raise UserError("choose a labeling run")
    if not attributes:
        raise UserError("choose at least one attribute to fit")
    run_id = int(run_id)
    name = safe_name(set_name or f"run{run_id}-{space}", "set name")
    target = ctx.directions_dir / f"{name}.npz"
    if target.exists() and not replace:  # checked before the fit, which takes a while
        raise UserError(f"{target.name} already exists; tick \"Replace an existing set\" to overwrite it, "
                        "or choose another name")
    conditions = parse_conditions(conditions)
    yield gr.update(), f"Fitting {', '.join(attributes)} ({len(attributes)} attributes) from run {run_id}…", None
    fit = BackgroundFit(ctx.db_url, run_id, space=space, attributes=list(attributes), aggregation=aggregation,
                        conditions=conditions, min_per_class=int(min_per_class), compare_svm=bool(svm))
    with contextlib.closing(fit.lines()) as lines:  # Cancel closes this generator at the yield, so these too
        for line in lines:
            yield gr.update(), f"Run {run_id}: {line}", None
    result = fit.outcome()
    dset = result.direction_set
    if dset.generator_id != ctx.generator.generator_id:
        raise UserError(f"run {run_id} was sampled from generator {dset.generator_id}, not the one "
                        "this app serves; fit it from the CLI with that generator")
    table, flagged = fit_table(dset, result.refused)
    table = table.rename(columns=HEADERS)
    trained = None
    if reader:
        yield table, f"Fitted; training the attribute reader on run {run_id}'s faces…", None
        job = BackgroundReader(ctx.db_url, run_id, aggregation, int(reader_epochs))
        with contextlib.closing(job.lines()) as lines:
            for line in lines:
                yield table, f"Run {run_id}: {line}", None
        trained = job.outcome()
    yield table, "Fitted; saving…", None  # Cancel pressed during the fit stops here, before the save
    path = save_direction_set(target, dset)
    with_reader = ""
    if trained is not None:
        save_reader(reader_path(path), trained)
        with_reader = f"\n- attribute reader saved (agreement with the crowd on held-out faces: {agreement_text(trained)})"
    else:
        drop_reader(path)  # a replaced set must not keep the reader of the set it replaced
    refused = "".join(f"\n- not fitted: {why}" for why in result.refused.values())
    weak = f"\n- {AT_BASELINE}: {'; '.join(flagged)}" if flagged else ""
    regions = dset.source.get("regions", "")
    no_regions = f"\n- regions: {regions}" if regions.startswith("none") else ""
    status = (f"Saved **{path.name}**: {len(dset.entries)} directions in "
              f"{space.upper()}, from {dset.source.get('n_items')} faces.{with_reader}{weak}{refused}{no_regions}")
    yield table, status, str(path)


def build_fit_tab(ctx: AppContext, shelf: DirectionShelf, check_admin: AdminCheck) -> None:
    """The "Fit directions" tab (call inside gr.Tabs); a saved set shows in every set list. Fitting
    writes a direction set, so it asks for the admin password."""
    attr_names = [a.name for a in ctx.schema.attributes] if ctx.schema is not None else []
    with gr.Tab("Fit directions", id="directions-fit"):
        gr.Markdown("Fit one direction per attribute from a run's aggregated labels (LDA with shrinkage). "
                    "Accuracies are 5-fold cross-validated; *baseline* is always guessing the largest class, "
                    "*balanced accuracy* averages the per-class recall (chance = 1 / number of classes).")
        with gr.Row():
            run = gr.Dropdown(choices=run_choices(ctx), label="Labeling run", allow_custom_value=True,
                              elem_id="fit-run")
            refresh_runs = gr.Button("Refresh runs", size="sm")
            space = gr.Radio(["w", "z"], value="w", label="Latent space")
            aggregation = gr.Radio(["majority", "dawid_skene", "gold_weighted"], value="majority", label="Label aggregation")
        attributes = gr.CheckboxGroup(attr_names, value=attr_names, label="Attributes")
        with gr.Row():
            conditions = gr.Textbox(label="Conditional directions", placeholder="age: hair_length, accessory",
                                    info="ATTR: OTHER, OTHER — also fit ATTR orthogonal to those attributes")
            min_per_class = gr.Number(10, label="Min labels per class", precision=0, minimum=2)
            svm = gr.Checkbox(True, label="Compare with a linear SVM")
            set_name = gr.Textbox(label="Save as", placeholder="run<R>-<space>", elem_id="fit-name")
            replace = gr.Checkbox(False, label="Replace an existing set", elem_id="fit-replace")
            reader = gr.Checkbox(False, label="Also train the attribute reader", elem_id="fit-reader",
                                 info="a small CNN on the run's faces; class picks and sweeps follow it "
                                      "(~1 min per 1000 faces)")
            password = admin_password_box("fit-password", "fit and save directions")
        with gr.Row():
            fit_btn = gr.Button("Fit", variant="primary", elem_id="fit-button")
            cancel = gr.Button("Cancel", elem_id="fit-cancel")
        fit_status = gr.Markdown(elem_id="fit-status")
        results = gr.Dataframe(empty_table(), label="Results (one row per direction once a fit has run)",
                               interactive=False, elem_id="fit-table", wrap=True, column_widths=COLUMN_WIDTHS,
                               max_height=420)

    @user_errors_as_toasts
    def on_fit(*args):
        yield from do_fit(ctx, *args)  # (table, status, saved path or None): the shelf lists the saved set

    refresh_runs.click(lambda: gr.update(choices=run_choices(ctx)), None, run)
    inputs = [password, run, space, attributes, aggregation, conditions, min_per_class, svm, set_name, replace, reader]
    shelf.on_save(fit_btn.click, admin_only(check_admin, on_fit), inputs, [results, fit_status], concurrency_limit=1,
                  cancel=cancel.click, cancelled=(fit_status, "Cancelled: nothing was saved."))
