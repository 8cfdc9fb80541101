"""One artifact I/O: atomic writes, "arrays + JSON meta" files that refuse what they cannot trust, one id check."""

import json
import os
import threading

import numpy as np
import pytest

from latentlab.core.artifacts import (GeneratorMismatch, atomic_file, atomic_path, check_generator_id, load_npz,
                                      save_npz)
from latentlab.core.errors import UserError


def load(path, **kw):
    return load_npz(path, **{"fmt": "test-format", "version": 2, "what": "test file", **kw})


def test_round_trip_stamps_format_and_version(tmp_path):
    arrays = {"a": np.arange(6, dtype=np.float32).reshape(2, 3), "b": np.array([1, 2], np.int64)}
    for compress in (False, True):
        path = save_npz(tmp_path / f"x{compress}.npz", arrays, {"note": "hi", "n": 3}, fmt="test-format",
                        version=2, compress=compress)
        back, meta = load(path)
        assert meta == {"note": "hi", "n": 3, "format": "test-format", "format_version": 2}
        assert back.keys() == arrays.keys() and all(np.array_equal(back[k], arrays[k]) for k in arrays)
        assert back["a"].dtype == np.float32
    assert sorted(p.name for p in tmp_path.iterdir()) == ["xFalse.npz", "xTrue.npz"]  # no temporary left


def test_what_cannot_be_trusted_is_refused_with_one_sentence(tmp_path):
    with pytest.raises(UserError, match=r"test file .*missing.npz does not exist; make one"):
        load(tmp_path / "missing.npz", missing="make one")
    junk = tmp_path / "junk.npz"
    junk.write_bytes(b"not a zip at all")
    with pytest.raises(UserError, match="junk.npz is not a latentlab test file"):
        load(junk)
    truncated = tmp_path / "truncated.npz"
    good = save_npz(tmp_path / "good.npz", {"a": np.zeros(1000)}, {}, fmt="test-format", version=2)
    truncated.write_bytes(good.read_bytes()[:300])
    with pytest.raises(UserError, match="not a latentlab test file"):
        load(truncated)
    np.save(tmp_path / "single.npy", np.zeros(3))
    with pytest.raises(UserError, match="not an .npz archive"):
        load(tmp_path / "single.npy")
    pickled = tmp_path / "pickled.npz"
    np.savez(pickled, meta=np.array(json.dumps({"format": "test-format"})), a=np.array([object()], dtype=object))
    with pytest.raises(UserError, match="not a latentlab test file"):
        load(pickled)  # an object array needs pickle: refused, never executed
    np.savez(tmp_path / "nometa.npz", a=np.zeros(2))
    with pytest.raises(UserError, match="not a latentlab test file"):
        load(tmp_path / "nometa.npz")
    np.savez(tmp_path / "list.npz", meta=np.array(json.dumps([1, 2])))
    with pytest.raises(UserError, match="not a JSON object"):
        load(tmp_path / "list.npz")
    other = save_npz(tmp_path / "other.npz", {}, {}, fmt="other-format", version=1)
    with pytest.raises(UserError, match="format 'other-format', expected 'test-format'"):
        load(other)
    newer = save_npz(tmp_path / "newer.npz", {}, {}, fmt="test-format", version=3)
    with pytest.raises(UserError, match="written by a newer latentlab.*3 > 2"):
        load(newer)


def test_legacy_files_without_a_format_name_load_only_when_asked(tmp_path):
    path = tmp_path / "old.npz"
    np.savez(path, meta=np.array(json.dumps({"generator_id": "g"})), w=np.ones((1, 4), np.float32))
    arrays, meta = load(path, legacy=True)
    assert meta == {"generator_id": "g"} and arrays["w"].shape == (1, 4)
    with pytest.raises(UserError, match="format None"):
        load(path)


def test_objects_are_never_written_and_meta_is_reserved(tmp_path):
    with pytest.raises(ValueError, match="only pickle"):
        save_npz(tmp_path / "x.npz", {"a": np.array([None])}, {}, fmt="f", version=1)
    with pytest.raises(ValueError, match="metadata"):
        save_npz(tmp_path / "x.npz", {"meta": np.zeros(1)}, {}, fmt="f", version=1)
    assert not list(tmp_path.iterdir())


def test_a_failed_write_keeps_the_old_file_and_leaves_no_temporary(tmp_path):
    path = tmp_path / "sub" / "file.bin"
    with atomic_file(path) as f:
        f.write(b"old")
    with pytest.raises(RuntimeError), atomic_file(path) as f:
        f.write(b"half of the new")
        raise RuntimeError("crash while writing")
    assert path.read_bytes() == b"old" and os.listdir(path.parent) == ["file.bin"]


def test_the_temporary_lies_next_to_the_target_and_keeps_its_suffix_when_asked(tmp_path):
    target = tmp_path / "clip.gif"
    with atomic_path(target, keep_suffix=True) as tmp:
        assert tmp.parent == tmp_path and tmp.suffix == ".gif" and tmp.name.startswith(".clip.")
        tmp.write_bytes(b"gif")
        assert not target.exists()  # nothing is visible under the final name before the end
    with atomic_path(tmp_path / "set.npz") as tmp:
        assert not tmp.name.endswith(".npz")  # `*.npz` listings never see a half-written set
        tmp.write_bytes(b"npz")
    assert target.read_bytes() == b"gif" and (tmp_path / "set.npz").read_bytes() == b"npz"


def test_concurrent_writers_never_mix_their_files(tmp_path):
    path = tmp_path / "shared.npz"
    barrier = threading.Barrier(4)
    errors = []

    def write(i):
        try:
            barrier.wait(timeout=30)
            for _ in range(5):
                save_npz(path, {"x": np.full(2000, i)}, {"writer": i}, fmt="test-format", version=2)
        except Exception as e:  # pragma: no cover - reported below
            errors.append(e)

    threads = [threading.Thread(target=write, args=(i,)) for i in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors
    arrays, meta = load(path)
    assert np.all(arrays["x"] == meta["writer"])  # one writer's whole file, never a mix
    assert os.listdir(tmp_path) == ["shared.npz"]


def test_one_generator_check_names_both_ids():
    check_generator_id("sg2-a", "sg2-a", "x")
    check_generator_id("sg2-a", None, "x")  # nothing loaded to compare against
    with pytest.raises(GeneratorMismatch, match=r"^these latents belong to generator sg2-a, but the loaded "
                                                r"generator is sg2-b; load them with it$") as e:
        check_generator_id("sg2-a", "sg2-b", "these latents", made="belong to", remedy="load them with it")
    assert isinstance(e.value, UserError) and (e.value.made_for, e.value.loaded) == ("sg2-a", "sg2-b")
    with pytest.raises(GeneratorMismatch, match="file.npz was made for generator None"):
        check_generator_id(None, "sg2-b", "file.npz")
