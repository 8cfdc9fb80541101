"""The shared editor panel and the direction shelf, without a browser: real files in a workspace."""

from __future__ import annotations

from types import SimpleNamespace

import numpy as np
import pytest

from latentlab.core.errors import UserError
from latentlab.ui.editor import (DEFAULT_VALUES, MAX_CLASS_PICKERS, MAX_SLIDERS, N_WIDGETS, UNCHANGED, Editor,
                                 amounts_from, editor_layout, has_beside_picker, slider_label)
from latentlab.ui.sets import NO_SETS, DirectionShelf, safe_name, sweep_choices

from directions.io import Direction, DirectionSet, save_direction_set

DIM = 8


def _unit(rng) -> np.ndarray:
    v = rng.standard_normal(DIM)
    return v / np.linalg.norm(v)


def make_set(generator_id: str = "gen-a", space: str = "w", seed: int = 0) -> DirectionSet:
    """A set with a binary, a custom and a categorical entry."""
    rng = np.random.default_rng(seed)
    dset = DirectionSet(generator_id=generator_id, space=space)
    dset.add(Direction(name="blush", attribute="blush", kind="binary", classes=["no", "yes"], names=["blush"],
                       vectors=_unit(rng), scales=[2.0], origins=[0.0], class_positions=[[-1.0, 1.5]]))
    dset.add(Direction(name="cute", attribute="cute", kind="custom", classes=[], names=["cute"],
                       vectors=_unit(rng), scales=[1.0], origins=[0.0], class_positions=[[]]))
    hair = np.stack([_unit(rng) for _ in range(3)])
    dset.add(Direction(name="hair", attribute="hair", kind="categorical", classes=["black", "red", "blue"],
                       names=["hair:black", "hair:red", "hair:blue"], vectors=hair, scales=[1.0] * 3,
                       origins=[0.0] * 3, class_positions=np.zeros((3, 3)), basis=hair[:2],
                       class_centroids=np.zeros((3, 2))))
    return dset


def test_the_editor_shows_numeric_directions_on_sliders_and_categorical_ones_on_pickers():
    dset = make_set()
    assert editor_layout(dset) == (["blush", "cute"], ["hair"])
    assert [has_beside_picker(dset, n) for n in ("blush", "cute")] == [True, False]  # binary: a picker beside
    assert slider_label(dset, "blush") == "blush  [no -1.0 · yes +1.5]"
    assert slider_label(dset, "cute") == "cute (picked in the explorer)"
    beside = [UNCHANGED] * MAX_SLIDERS
    values = [1.5, 0, *[0] * (MAX_SLIDERS - 2), *beside, "red", *[UNCHANGED] * (MAX_CLASS_PICKERS - 1)]
    assert amounts_from(["blush", "cute"], ["hair"], values) == {"blush": 1.5, "hair": "red"}
    assert amounts_from(["blush", "cute"], ["hair"], DEFAULT_VALUES) == {}
    both = [1.5, 0, *[0] * (MAX_SLIDERS - 2), "yes", *beside[1:], *[UNCHANGED] * MAX_CLASS_PICKERS]
    assert amounts_from(["blush", "cute"], ["hair"], both) == {"blush": "yes"}  # the pick replaces the slider


def test_show_puts_each_class_picker_beside_its_own_slider():
    dset = make_set()
    editor = SimpleNamespace(rows=[None] * MAX_SLIDERS)
    updates = Editor.show(editor, dset)
    assert len(updates) == 2 + N_WIDGETS + MAX_SLIDERS  # Editor.outputs
    numeric, categorical, *rest = updates
    sliders, beside = rest[:MAX_SLIDERS], rest[MAX_SLIDERS:2 * MAX_SLIDERS]
    pickers, rows = rest[2 * MAX_SLIDERS:N_WIDGETS], rest[N_WIDGETS:]
    assert (numeric, categorical) == (["blush", "cute"], ["hair"])
    assert sliders[0]["label"].startswith("blush") and sliders[1]["label"].startswith("cute")
    assert beside[0]["visible"] and beside[0]["choices"] == [UNCHANGED, "no", "yes"]
    assert beside[0]["label"] == "onto a class"  # on the slider's row, which names the attribute
    assert not any(b["visible"] for b in beside[1:])  # a custom direction has no classes
    assert pickers[0]["visible"] and pickers[0]["label"] == "hair" and not any(p["visible"] for p in pickers[1:])
    assert [r["visible"] for r in rows] == [True, True] + [False] * (MAX_SLIDERS - 2)  # no empty rows take space
    assert len(Editor.hide(editor)) == len(updates)


def test_sweep_choices_and_names():
    assert sweep_choices(make_set()) == ["blush", "blush:no", "blush:yes", "cute", "hair:black", "hair:red",
                                         "hair:blue"]
    assert safe_name(" run1-w ", "set name") == "run1-w"
    with pytest.raises(UserError, match="not usable"):
        safe_name("../up", "set name")


def test_the_shelf_lists_and_loads_only_this_generators_sets(tmp_path):
    folder = tmp_path / "directions"
    save_direction_set(folder / "mine.npz", make_set("gen-a"))
    save_direction_set(folder / "theirs.npz", make_set("gen-b"))
    (folder / "broken.npz").write_bytes(b"not a set")
    shelf = DirectionShelf(folder, "gen-a")
    assert shelf.choices() == [("mine.npz", str(folder / "mine.npz"))]
    assert shelf.load(str(folder / "mine.npz")).generator_id == "gen-a"
    assert shelf.listing(None)["value"] == str(folder / "mine.npz")
    assert shelf.listing(None)["info"] is None  # a list with sets needs no words
    assert DirectionShelf(tmp_path / "empty", "gen-a").listing(None)["info"] == NO_SETS  # an empty one says how
    with pytest.raises(UserError, match="choose a direction set first"):
        shelf.load(None)
    with pytest.raises(UserError, match="fitted for generator gen-b"):
        shelf.load(str(folder / "theirs.npz"))
    with pytest.raises(UserError, match="no longer exists"):
        shelf.load(str(folder / "gone.npz"))


def test_the_shelf_reads_a_set_again_when_its_file_changes(tmp_path):
    path = tmp_path / "directions" / "s.npz"
    save_direction_set(path, make_set())
    shelf = DirectionShelf(path.parent, "gen-a")
    first = shelf.load(str(path))
    assert shelf.load(str(path)) is first  # read once per file version
    refit = make_set(seed=1)
    del refit.entries["cute"]
    save_direction_set(path, refit)
    assert list(shelf.load(str(path)).entries) == ["blush", "hair"]


def test_the_edit_history_merges_moves_of_one_widget_and_undoes_and_redoes():
    from latentlab.ui.editor import DEFAULT_VALUES, record, step

    names = (["blush", "cute"], ["hair"])
    moved = list(DEFAULT_VALUES)
    history = None
    for v in (0.1, 0.2, 0.5):  # a drag or arrow presses on one slider: one step
        moved[0] = v
        history = record(history, *names, moved)
    assert history["past"] == [DEFAULT_VALUES]
    picked = list(moved)
    picked[MAX_SLIDERS] = "red"  # another widget: a second step
    history = record(history, *names, picked)
    assert len(history["past"]) == 2
    updates, history = step(history, *names, back=True)
    assert [u["value"] for u in updates] == moved
    updates, history = step(history, *names, back=True)
    assert [u["value"] for u in updates] == DEFAULT_VALUES
    updates, after = step(history, *names, back=True)  # nothing left to undo: nothing changes
    assert after is history and all("value" not in u for u in updates)
    updates, history = step(history, *names, back=False)
    assert [u["value"] for u in updates] == moved
    # another set shown: Undo does not apply the old set's values to it
    updates, _ = step(history, ["age"], [], back=True)
    assert all("value" not in u for u in updates)


def test_typed_amounts_beyond_the_slider_are_clamped():
    values = [9.0, -7.5, *DEFAULT_VALUES[2:]]
    assert amounts_from(["blush", "cute"], [], values) == {"blush": 4.0, "cute": -4.0}


def test_previews_are_upscaled_smoothly_to_at_least_256_px():
    from latentlab.ui.gradio_util import enlarge, preview_cols

    faces = np.zeros((2, 64, 64, 3), np.uint8)
    faces[:, :, 32:] = 255
    big = enlarge(faces)
    assert big.shape == (2, 256, 256, 3)
    assert 0 < big[0, 10, 126, 0] < 255 or 0 < big[0, 10, 129, 0] < 255  # Lanczos blends the edge: not blocky
    assert enlarge(faces, 0).shape == faces.shape and enlarge(np.zeros((1, 512, 512, 3), np.uint8)).shape[1] == 512
    assert [preview_cols(n) for n in (1, 4, 8)] == [1, 2, 4]


def test_a_save_keeps_each_lists_choice_and_offers_the_new_set(tmp_path):
    folder = tmp_path / "directions"
    save_direction_set(folder / "mine.npz", make_set("gen-a"))
    shelf = DirectionShelf(folder, "gen-a")
    shelf.dropdowns = [object(), object()]  # two lists: one showing mine.npz, one showing nothing yet

    def save():
        return "saved", str(save_direction_set(folder / "explored.npz", make_set("gen-a", seed=2)))

    status, kept, empty = shelf._listing_after(save, 2)(str(folder / "mine.npz"), None)
    assert status == "saved"
    assert kept["value"] == str(folder / "mine.npz") and empty["value"] == str(folder / "explored.npz")
    assert {p for _, p in kept["choices"]} == {str(folder / "mine.npz"), str(folder / "explored.npz")}


def test_the_fit_table_shows_conditional_metrics_and_flags_fits_at_the_baseline():
    from latentlab.ui.fit_tab import AT_BASELINE, fit_table

    dset = make_set()
    dset.entries["blush"].metrics.update(cv_accuracy=0.871, baseline_accuracy=0.89, n_labels=100)
    cond = make_set(seed=3).entries["blush"]
    cond.name = "blush|hair"
    cond.metrics = {"cv_accuracy": None, "baseline_accuracy": 0.89, "conditioned_on": ["hair"],
                    "plain_cv_accuracy": 0.871, "cosine_to_plain": [0.9512]}
    dset.entries["blush|hair"] = cond
    table, flagged = fit_table(dset, {"eyes": "too few labels"})
    rows = {r["name"]: r for r in table.to_dict("records")}
    assert AT_BASELINE in rows["blush"]["notes"] and rows["blush"]["cv_minus_baseline"] == pytest.approx(-0.019)
    assert flagged == ["blush 0.871 vs 0.890"]
    assert rows["blush|hair"]["plain_cv_accuracy"] == 0.871 and rows["blush|hair"]["cosine_to_plain"] == "0.951"
    assert "orthogonal to hair" in rows["blush|hair"]["notes"]
    assert rows["eyes"]["kind"] == "refused" and rows["eyes"]["notes"] == "too few labels"
