"""The "Fit directions" tab: a labeling run's aggregated labels -> a direction set in the workspace.

The fit itself is `directions.fit.fit_run` (LDA with shrinkage, cross-validated); this tab chooses
its arguments, saves the result in `<workspace>/directions/` and shows its table: conditional rows
with the plain direction's accuracy and their cosine to it, fits no better than always guessing the
largest class flagged. An existing set is replaced only with "Replace" ticked; Cancel stops a fit
before anything is saved.
"""

from __future__ import annotations

import gradio as gr
import pandas as pd

from latentlab.core.errors import UserError
from latentlab.ui.context import AppContext
from latentlab.ui.gradio_util import AdminCheck, admin_only, admin_password_box, user_errors_as_toasts
from latentlab.ui.sets import DirectionShelf, safe_name

from directions.conditional import parse_conditions
from directions.fit import fit_run
from directions.io import DirectionSet, save_direction_set
from labeler.store import open_store

ROUNDED = ("cv_accuracy", "baseline", "cv_minus_baseline", "balanced_accuracy", "svm_cv_accuracy", "svm_cosine",
           "plain_cv_accuracy")
COLUMNS = ["name", "kind", "labels", "cv_accuracy", "baseline", "cv_minus_baseline", "balanced_accuracy",
           "svm_cv_accuracy", "svm_cosine", "plain_cv_accuracy", "cosine_to_plain", "class_positions", "notes"]
# on a 1366 px screen every column fits; the long ones (class positions, notes) wrap
COLUMN_WIDTHS = ["8%", "7%", "6%", "6%", "7%", "7%", "7%", "6%", "6%", "6%", "6%", "14%", "14%"]
AT_BASELINE = "⚠ at or below the baseline"
HEADERS = {"cv_accuracy": "CV acc.", "cv_minus_baseline": "CV − baseline", "balanced_accuracy": "balanced acc.",
           "svm_cv_accuracy": "SVM CV acc.", "svm_cosine": "SVM cosine", "plain_cv_accuracy": "plain CV acc.",
           "cosine_to_plain": "cosine to plain", "class_positions": "class positions"}  # short, unbroken headers


def fit_table(dset: DirectionSet, refused: dict[str, str]) -> tuple[pd.DataFrame, list[str]]:
    """The results table of a fit, and one line per fit at or below its baseline (for the status).

    A conditional row ("age|hair_length+accessory") has no cross-validation of its own: it shows the
    plain direction's CV accuracy and the cosine between the two (1 = conditioning changed nothing).
    """
    rows, flagged = [], []
    for row, d in zip(dset.summary(), dset.entries.values()):
        m = d.metrics
        notes = []
        cv, base = row.get("cv_accuracy"), row.get("baseline")
        row["cv_minus_baseline"] = cv - base if cv is not None and base is not None else None
        if cv is not None and base is not None and cv <= base + 1e-9:
            notes.append(f"{AT_BASELINE} (always guessing the largest class)")
            flagged.append(f"{d.name} {cv:.3f} vs {base:.3f}")
        if m.get("conditioned_on"):
            row["plain_cv_accuracy"] = m.get("plain_cv_accuracy")
            row["cosine_to_plain"] = ", ".join(f"{c:.3f}" for c in m.get("cosine_to_plain", []))
            notes.append(f"orthogonal to {', '.join(m['conditioned_on'])}; no CV of its own")
        row["notes"] = "; ".join(notes)
        rows.append(row)
    rows += [{"name": a, "kind": "refused", "notes": why} for a, why in refused.items()]
    table = pd.DataFrame(rows).reindex(columns=COLUMNS)
    for col in ROUNDED:
        table[col] = pd.to_numeric(table[col], errors="coerce").round(3)
    return table.astype(object).where(table.notna(), ""), flagged


def run_choices(ctx: AppContext) -> list[tuple[str, int]]:
    return [(f"{r.id}: {r.name}", int(r.id)) for r in open_store(ctx.db_url).list_runs()]


def do_fit(ctx: AppContext, run_id, space: str, attributes: list[str], aggregation: str, conditions: str,
           min_per_class: float, svm: bool, set_name: str, replace: bool = False):
    """Fit a run's directions and save them in the workspace, as a generator for the app: yields
    (table, status, None) while fitting, then (table, status, saved path). An existing set of that
    name is refused unless `replace`; a cancelled fit (its generator not resumed) saves nothing."""
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
    result = fit_run(ctx.db_url, run_id, space=space, attributes=list(attributes), aggregation=aggregation,
                     conditions=conditions, min_per_class=int(min_per_class), compare_svm=bool(svm))
    dset = result.direction_set
    if dset.generator_id != ctx.generator.generator_id:
        raise UserError(f"run {run_id} was sampled from generator {dset.generator_id}, not the one "
                        "this app serves; fit it from the CLI with that generator")
    table, flagged = fit_table(dset, result.refused)
    table = table.rename(columns=HEADERS)
    yield table, "Fitted; saving…", None  # Cancel pressed during the fit stops here, before the save
    path = save_direction_set(target, dset)
    refused = "".join(f"\n- not fitted: {why}" for why in result.refused.values())
    weak = f"\n- {AT_BASELINE}: {'; '.join(flagged)}" if flagged else ""
    status = (f"Saved **{path.name}**: {len(dset.entries)} directions in "
              f"{space.upper()}, from {dset.source.get('n_items')} faces.{weak}{refused}")
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
            aggregation = gr.Radio(["majority", "dawid_skene"], value="majority", label="Label aggregation")
        attributes = gr.CheckboxGroup(attr_names, value=attr_names, label="Attributes")
        with gr.Row():
            conditions = gr.Textbox(label="Conditional directions", placeholder="age: hair_length, accessory",
                                    info="ATTR: OTHER, OTHER — also fit ATTR orthogonal to those attributes")
            min_per_class = gr.Number(10, label="Min labels per class", precision=0, minimum=2)
            svm = gr.Checkbox(True, label="Compare with a linear SVM")
            set_name = gr.Textbox(label="Save as", placeholder="run<R>-<space>", elem_id="fit-name")
            replace = gr.Checkbox(False, label="Replace an existing set", elem_id="fit-replace")
            password = admin_password_box("fit-password", "fit and save directions")
        with gr.Row():
            fit_btn = gr.Button("Fit", variant="primary", elem_id="fit-button")
            cancel = gr.Button("Cancel", elem_id="fit-cancel")
        fit_status = gr.Markdown(elem_id="fit-status")
        results = gr.Dataframe(label="Results", interactive=False, elem_id="fit-table", wrap=True,
                               column_widths=COLUMN_WIDTHS, max_height=420)

    @user_errors_as_toasts
    def on_fit(*args):
        yield from do_fit(ctx, *args)  # (table, status, saved path or None): the shelf lists the saved set

    refresh_runs.click(lambda: gr.update(choices=run_choices(ctx)), None, run)
    inputs = [password, run, space, attributes, aggregation, conditions, min_per_class, svm, set_name, replace]
    shelf.on_save(fit_btn.click, admin_only(check_admin, on_fit), inputs, [results, fit_status], concurrency_limit=1,
                  cancel=cancel.click, cancelled=(fit_status, "Cancelled: nothing was saved."))
