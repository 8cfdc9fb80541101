"""The shared editor panel and the direction shelf, without a browser: real files in a workspace."""

from __future__ import annotations

import numpy as np
import pytest

from latentlab.core.errors import UserError
from latentlab.ui.editor import MAX_CLASS_PICKERS, MAX_SLIDERS, UNCHANGED, amounts_from, editor_layout, slider_label
from latentlab.ui.sets import DirectionShelf, safe_name, sweep_choices

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
    assert slider_label(dset, "blush") == "blush  [no -1.0 · yes +1.5]"
    assert slider_label(dset, "cute") == "cute (picked in the explorer)"
    values = [1.5, 0, *[0] * (MAX_SLIDERS - 2), "red", *[UNCHANGED] * (MAX_CLASS_PICKERS - 1)]
    assert amounts_from(["blush", "cute"], ["hair"], values) == {"blush": 1.5, "hair": "red"}
    assert amounts_from(["blush", "cute"], ["hair"], [0] * MAX_SLIDERS + [UNCHANGED] * MAX_CLASS_PICKERS) == {}


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
