"""The "Fit directions" tab: a labeling run's aggregated labels -> a direction set in the workspace.

The fit itself is `directions.fit.fit_run` (LDA with shrinkage, cross-validated); this tab chooses
its arguments, saves the result in `<workspace>/directions/` and shows its table.
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
from directions.io import save_direction_set
from labeler.store import open_store

ROUNDED = ("cv_accuracy", "baseline", "balanced_accuracy", "svm_cv_accuracy", "svm_cosine")


def run_choices(ctx: AppContext) -> list[tuple[str, int]]:
    return [(f"{r.id}: {r.name}", int(r.id)) for r in open_store(ctx.db_url).list_runs()]


def do_fit(ctx: AppContext, run_id, space: str, attributes: list[str], aggregation: str, conditions: str,
           min_per_class: float, svm: bool, set_name: str) -> tuple[pd.DataFrame, str, str]:
    """Fit a run's directions, save them in the workspace; (table, status, saved path)."""
    if run_id in (None, ""):
        raise UserError("choose a labeling run")
    if not attributes:
        raise UserError("choose at least one attribute to fit")
    run_id = int(run_id)
    name = safe_name(set_name or f"run{run_id}-{space}", "set name")
    result = fit_run(ctx.db_url, run_id, space=space, attributes=list(attributes), aggregation=aggregation,
                     conditions=parse_conditions(conditions), min_per_class=int(min_per_class),
                     compare_svm=bool(svm))
    dset = result.direction_set
    if dset.generator_id != ctx.generator.generator_id:
        raise UserError(f"run {run_id} was sampled from generator {dset.generator_id}, not the one "
                        "this app serves; fit it from the CLI with that generator")
    path = save_direction_set(ctx.directions_dir / f"{name}.npz", dset)
    table = result.table()
    for col in ROUNDED:
        if col in table:
            table[col] = pd.to_numeric(table[col], errors="coerce").round(3)
    refused = "".join(f"\n- not fitted: {why}" for why in result.refused.values())
    status = (f"Saved **{path.name}**: {len(dset.entries)} directions in "
              f"{space.upper()}, from {dset.source.get('n_items')} faces.{refused}")
    return table.astype(object).where(table.notna(), ""), status, str(path)


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
            password = admin_password_box("fit-password", "fit and save directions")
        fit_btn = gr.Button("Fit", variant="primary", elem_id="fit-button")
        fit_status = gr.Markdown(elem_id="fit-status")
        fit_table = gr.Dataframe(label="Results", interactive=False, elem_id="fit-table")

    @user_errors_as_toasts
    def on_fit(*args):
        return do_fit(ctx, *args)  # (table, status, saved path): the shelf lists the saved set

    refresh_runs.click(lambda: gr.update(choices=run_choices(ctx)), None, run)
    inputs = [password, run, space, attributes, aggregation, conditions, min_per_class, svm, set_name]
    shelf.on_save(fit_btn.click, admin_only(check_admin, on_fit), inputs, [fit_table, fit_status], concurrency_limit=1)
