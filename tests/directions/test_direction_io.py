"""Direction files: self-describing, round-trip exactly, refuse other generators and foreign files."""

import json
import zipfile

import numpy as np
import pytest
from directions_helpers import gaussian_classes

from directions.fit import DirectionFitter
from directions.io import FORMAT_VERSION, DirectionSet, load_direction_set, save_direction_set
from latentlab.core.errors import UserError


@pytest.fixture
def direction_set():
    rng = np.random.default_rng(0)
    x, y, _ = gaussian_classes(rng.standard_normal((3, 10)) * 2, 80, labels=["black", "blonde", "red"])
    d = DirectionSet(generator_id="sg2-64px-aaaa", space="w", schema={"name": "t", "attributes": []},
                     source={"run_id": 3})
    d.add(DirectionFitter(kind="categorical", classes=["black", "blonde", "red"], attribute="hair_color").fit(x, y).to_direction())
    yb = ["yes" if v == "red" else "no" for v in y]
    d.add(DirectionFitter(kind="binary", classes=["no", "yes"], attribute="redness", compare_svm=False).fit(x, yb).to_direction())
    return d


def test_round_trip_keeps_every_array_and_field(tmp_path, direction_set):
    path = save_direction_set(tmp_path / "set.npz", direction_set)
    back = load_direction_set(path, generator_id="sg2-64px-aaaa")
    assert back.generator_id == "sg2-64px-aaaa" and back.space == "w" and back.dim == 10
    assert back.source == {"run_id": 3} and back.created == direction_set.created
    assert list(back.entries) == ["hair_color", "redness"]
    for name, d in direction_set.entries.items():
        b = back.entries[name]
        assert b.kind == d.kind and b.classes == d.classes and b.names == d.names
        assert np.allclose(b.vectors, d.vectors, atol=1e-6)
        assert np.allclose(b.scales, d.scales) and np.allclose(b.class_positions, d.class_positions)
        assert b.metrics["label_counts"] == d.metrics["label_counts"]
        assert b.metrics["cv_accuracy"] == d.metrics["cv_accuracy"]
    assert np.allclose(back.entries["hair_color"].basis, direction_set.entries["hair_color"].basis, atol=1e-6)


def test_metadata_is_readable_json_with_version_and_generator(tmp_path, direction_set):
    path = save_direction_set(tmp_path / "set.npz", direction_set)
    with zipfile.ZipFile(path) as z:
        meta = json.loads(np.load(z.open("meta.npy")).item())
    assert meta["format_version"] == FORMAT_VERSION and meta["generator_id"] == "sg2-64px-aaaa"
    entry = meta["entries"][1]
    assert entry["kind"] == "binary" and entry["classes"] == ["no", "yes"]
    assert set(entry["metrics"]["label_counts"]) == {"no", "yes"}
    assert len(entry["class_positions"][0]) == 2


def test_a_mismatched_generator_is_refused_with_both_ids(tmp_path, direction_set):
    path = save_direction_set(tmp_path / "set.npz", direction_set)
    # both ids and what to do; a library error names no CLI flag (the app has none)
    with pytest.raises(UserError, match="fitted for generator sg2-64px-aaaa, but the loaded generator is "
                                        "sg2-64px-bbbb; load the generator it was fitted for"):
        load_direction_set(path, generator_id="sg2-64px-bbbb")
    assert load_direction_set(path).generator_id == "sg2-64px-aaaa"  # no id given: no check


def test_foreign_damaged_and_newer_files_give_clear_errors(tmp_path, direction_set):
    with pytest.raises(UserError, match="does not exist"):
        load_direction_set(tmp_path / "missing.npz")
    junk = tmp_path / "junk.npz"
    junk.write_bytes(b"not a zip at all")
    with pytest.raises(UserError, match="not a latentlab direction set"):
        load_direction_set(junk)
    pickled = tmp_path / "pickled.npz"
    np.savez(pickled, meta=np.array([{"format": "latentlab-directions"}], dtype=object))
    with pytest.raises(UserError, match="not a latentlab direction set"):
        load_direction_set(pickled)  # object arrays need pickle: refused, never executed
    path = save_direction_set(tmp_path / "set.npz", direction_set)
    with np.load(path) as data:
        arrays = {k: data[k] for k in data.files}
    meta = json.loads(str(arrays.pop("meta")))
    meta["format_version"] = FORMAT_VERSION + 1
    np.savez(tmp_path / "newer.npz", meta=np.array(json.dumps(meta)), **arrays)
    with pytest.raises(UserError, match="newer latentlab"):
        load_direction_set(tmp_path / "newer.npz")
    del arrays["e0_vectors"]
    meta["format_version"] = FORMAT_VERSION
    np.savez(tmp_path / "broken.npz", meta=np.array(json.dumps(meta)), **arrays)
    with pytest.raises(UserError, match="damaged"):
        load_direction_set(tmp_path / "broken.npz")


def test_a_failed_save_leaves_the_old_file_intact(tmp_path, direction_set, monkeypatch):
    path = save_direction_set(tmp_path / "set.npz", direction_set)
    before = path.read_bytes()

    def boom(*a, **k):
        raise OSError("disk full")

    monkeypatch.setattr(np, "savez", boom)
    with pytest.raises(OSError):
        save_direction_set(path, direction_set)
    assert path.read_bytes() == before


def test_a_set_written_by_the_old_saver_still_loads(tmp_path):
    """Before issue 15 `save_direction_set` wrote this file itself (inline here, as it did)."""
    rng = np.random.default_rng(1)
    v = rng.standard_normal((1, 6))
    v /= np.linalg.norm(v)
    basis = np.linalg.qr(rng.standard_normal((6, 2)))[0].T
    towards = rng.standard_normal((3, 6))
    entries = [
        {"name": "age", "attribute": "age", "kind": "ordinal", "classes": ["child", "teen", "adult"],
         "names": ["age"], "scales": [0.5], "origins": [0.1], "class_positions": [[-1.0, None, 1.2]],
         "class_centroids": None, "metrics": {"cv_accuracy": 0.9, "label_counts": {"child": 9}}},
        {"name": "hair", "attribute": "hair", "kind": "categorical", "classes": ["a", "b", "c"],
         "names": ["hair:a", "hair:b", "hair:c"], "scales": [1.0, 2.0, 3.0], "origins": [0.0, 0.0, 0.0],
         "class_positions": [[1, 0, 0], [0, 1, 0], [0, 0, 1]], "class_centroids": [[0, 1], [1, 0], [1, 1]],
         "metrics": {}},
    ]
    meta = {"format": "latentlab-directions", "format_version": 1, "generator_id": "sg2-64px-old",
            "space": "w", "dim": 6, "created": "2025-01-02T03:04:05+00:00", "schema": None,
            "source": {"run_id": 1}, "entries": entries}
    path = tmp_path / "old.npz"
    tmp = path.with_name(f".{path.name}.1234.tmp")
    with open(tmp, "wb") as f:
        np.savez(f, meta=np.array(json.dumps(meta)), e0_vectors=v.astype(np.float32),
                 e1_vectors=towards.astype(np.float32), e1_basis=basis.astype(np.float32))
    tmp.replace(path)
    dset = load_direction_set(path, generator_id="sg2-64px-old")
    assert dset.created == "2025-01-02T03:04:05+00:00" and dset.source == {"run_id": 1}
    age, hair = dset.entries["age"], dset.entries["hair"]
    assert np.allclose(age.vectors, v, atol=1e-6) and np.isnan(age.class_positions[0, 1])
    assert age.position_of("adult") == 1.2 and age.metrics["cv_accuracy"] == 0.9
    assert np.allclose(hair.basis, basis, atol=1e-6) and hair.class_centroids.shape == (3, 2)
    assert dset.names() == ["age", "hair", "hair:a", "hair:b", "hair:c"]


def test_a_loaded_set_has_the_same_table_rows_as_the_fitted_one(tmp_path, direction_set):
    from directions.conditional import conditional_direction

    rng = np.random.default_rng(1)
    x, y, _ = gaussian_classes(rng.standard_normal((3, 10)) * 2, 80, labels=["black", "blonde", "red"])
    yb = ["yes" if v == "red" else "no" for v in y]
    plain = direction_set.entries["redness"]
    plain.metrics["baseline_accuracy"] = plain.metrics["cv_accuracy"]  # as good as guessing "no": flagged
    direction_set.add(conditional_direction(plain, [direction_set.entries["hair_color"]], x, yb))
    back = load_direction_set(save_direction_set(tmp_path / "set.npz", direction_set))
    rows = back.summary()
    assert rows == direction_set.summary()
    flagged = [r["name"] for r in rows if r["at_baseline"]]
    assert flagged == ["redness"]
    cond = rows[-1]
    assert cond["name"] == "redness|hair_color" and cond["plain_cv_accuracy"] == plain.metrics["cv_accuracy"]
    assert cond["cosine_to_plain"] and all(-1 <= float(c) <= 1 for c in cond["cosine_to_plain"].split(", "))
