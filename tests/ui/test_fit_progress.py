"""The Fit tab's handler without a browser: a status line per attribute while fitting, Cancel between attributes."""

import threading

import pytest
import torch

from directions.io import load_direction_set
from latentlab.ui.context import AppContext
from latentlab.ui.fit_tab import BackgroundFit, FitCancelled, do_fit

pytest.importorskip("labeler.dataset")

ATTRIBUTES = ["blush", "age", "hair"]


@pytest.fixture
def ctx(labeled_run, tmp_path):
    from labeler.dataset import load_run_dataset

    schema = load_run_dataset(labeled_run["db"], labeled_run["run"]).schema
    return AppContext(generator=labeled_run["gen"], generator_path=None, device=torch.device("cpu"),
                      workspace=tmp_path, db_url=labeled_run["db"], schema=schema)


def fit_args(run_id, name="progress"):
    # run, space, attributes, aggregation, conditions, min per class, svm, set name, replace
    return run_id, "w", ATTRIBUTES, "majority", "", 10, False, name, False


def test_the_fit_streams_one_status_line_per_attribute_then_saves(ctx, labeled_run):
    run = labeled_run["run"]
    statuses = [status for _, status, _ in do_fit(ctx, *fit_args(run))]
    progress = [s for s in statuses if ": fitting " in s]
    assert progress == [f"Run {run}: fitting blush (1/3)…", f"Run {run}: fitting age (2/3)…",
                        f"Run {run}: fitting hair (3/3)…"]
    assert statuses[-1].startswith("Saved **progress.npz**")
    assert list(load_direction_set(ctx.directions_dir / "progress.npz").entries) == ATTRIBUTES


def test_cancel_stops_the_fit_between_attributes(labeled_run):
    fit = BackgroundFit(labeled_run["db"], labeled_run["run"], attributes=ATTRIBUTES, compare_svm=False)
    lines = fit.lines()
    assert next(lines) == "fitting blush (1/3)…"
    assert next(lines) == "fitting age (2/3)…"  # blush is fitted once its line was taken
    fit.cancel()  # age was announced but waits for the reader: it never starts
    assert list(lines) == []
    fit.thread.join()
    assert isinstance(fit.error, FitCancelled) and "before age" in str(fit.error) and fit.result is None
    with pytest.raises(FitCancelled):
        fit.outcome()


def test_closing_the_handler_cancels_the_fit_and_saves_nothing(ctx, labeled_run):
    run = labeled_run["run"]
    handler = do_fit(ctx, *fit_args(run, "cancelled"))
    assert next(handler)[1].startswith("Fitting blush, age, hair")
    assert next(handler)[1] == f"Run {run}: fitting blush (1/3)…"
    assert next(handler)[1] == f"Run {run}: fitting age (2/3)…"
    [worker] = [t for t in threading.enumerate() if t.name == f"latentlab-fit-run{run}"]
    handler.close()  # what Gradio does when Cancel is pressed
    worker.join()  # ends without fitting age: it waited for the handler to be resumed
    assert not (ctx.directions_dir / "cancelled.npz").exists()


def test_a_users_mistake_in_the_fit_thread_reaches_the_handler(ctx, labeled_run):
    from latentlab.core.errors import UserError

    args = list(fit_args(labeled_run["run"]))
    args[2] = ["blush", "wings"]
    with pytest.raises(UserError, match="no attribute wings"):
        list(do_fit(ctx, *args))


def test_the_fit_tab_trains_the_attribute_reader_epoch_by_epoch(ctx, labeled_run):
    from directions.reader import load_reader, reader_path

    run = labeled_run["run"]
    statuses = [s for _, s, _ in do_fit(ctx, *fit_args(run, "with-reader"), True, 3)]
    epochs = [s for s in statuses if "attribute reader, epoch" in s]
    assert epochs == [f"Run {run}: training the attribute reader, epoch {e}/3…" for e in (1, 2, 3)]
    assert "attribute reader saved" in statuses[-1]
    path = reader_path(ctx.directions_dir / "with-reader.npz")
    reader = load_reader(path, generator_id=ctx.generator.generator_id)
    assert set(reader.classes) <= {a.name for a in ctx.schema.attributes} and reader.meta["epochs"] == 3
    # replacing the set without a reader removes the old reader: it belonged to the replaced set
    args = list(fit_args(run, "with-reader"))
    args[-1] = True
    list(do_fit(ctx, *args))
    assert (ctx.directions_dir / "with-reader.npz").exists() and not path.exists()


def test_cancel_during_the_readers_training_saves_nothing(ctx, labeled_run):
    run = labeled_run["run"]
    handler = do_fit(ctx, *fit_args(run, "reader-cancelled"), True, 5)
    for _, status, _ in handler:
        if status.endswith("epoch 2/5…"):
            break
    [worker] = [t for t in threading.enumerate() if t.name == f"latentlab-reader-run{run}"]
    handler.close()  # Cancel
    worker.join()
    assert not list(ctx.directions_dir.glob("reader-cancelled*"))
