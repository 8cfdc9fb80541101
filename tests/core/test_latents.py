"""Latent files: round-trip, refuse other generators and foreign files, and every file written before loads."""

import json

import numpy as np
import pytest

from latentlab.core.errors import UserError
from latentlab.core.latents import Latents, load_latents, save_latents


def test_latents_round_trip(tmp_path):
    lat = Latents(generator_id="sg2-x", w=np.ones((2, 4), np.float32), z=np.zeros((2, 3), np.float32), meta={"seed": 3})
    back = load_latents(save_latents(tmp_path / "l.npz", lat))
    assert back.generator_id == "sg2-x" and back.meta["seed"] == 3
    assert np.array_equal(back.w, lat.w) and back.as_ws(5).shape == (2, 5, 4)
    with pytest.raises(UserError, match="belong to generator sg2-x, but the loaded generator is sg2-other"):
        back.check_generator("sg2-other")
    back.check_generator("sg2-x")


def test_latents_refuse_pickles_and_junk(tmp_path):
    bad = tmp_path / "bad.npz"
    np.savez(bad, meta=np.array(json.dumps({"generator_id": "x"})), w=np.array([object()], dtype=object))
    with pytest.raises(UserError, match="not a latentlab latent file"):
        load_latents(bad)
    junk = tmp_path / "junk.npz"
    junk.write_bytes(b"not a zip")
    with pytest.raises(UserError):
        load_latents(junk)
    with pytest.raises(UserError, match="does not exist"):
        load_latents(tmp_path / "missing.npz")
    np.savez(tmp_path / "no_w.npz", meta=np.array(json.dumps({"generator_id": "x"})), z=np.zeros((1, 3)))
    with pytest.raises(UserError, match="no generator_id or no w/ws"):
        load_latents(tmp_path / "no_w.npz")


def test_a_latent_file_written_by_the_old_saver_still_loads(tmp_path):
    """Before issue 15 `save_latents` wrote meta with `latents_version` and no format name (inline here)."""
    path = tmp_path / "old.npz"
    meta = {"seed": 5, "truncation_psi": 0.7, "generator_id": "sg2-64px-0123", "latents_version": 1}
    ws = np.random.default_rng(0).standard_normal((2, 10, 8)).astype(np.float32)
    images = np.zeros((2, 4, 4, 3), np.uint8)
    with open(path, "wb") as f:
        np.savez_compressed(f, meta=np.array(json.dumps(meta)), ws=ws, z=np.ones((2, 6), np.float64), images=images)
    lat = load_latents(path)
    assert lat.generator_id == "sg2-64px-0123" and lat.meta["seed"] == 5 and lat.w is None
    assert np.array_equal(lat.ws, ws) and lat.z.dtype == np.float32 and lat.images.dtype == np.uint8
    again = load_latents(save_latents(tmp_path / "again.npz", lat))  # and it saves again in the new format
    assert again.meta["format"] == "latentlab-latents" and np.array_equal(again.ws, ws)


def test_saving_is_atomic(tmp_path, monkeypatch):
    path = save_latents(tmp_path / "l.npz", Latents("g", w=np.zeros((1, 4), np.float32)))
    before = path.read_bytes()

    def boom(*a, **k):
        raise OSError("disk full")

    monkeypatch.setattr(np, "savez_compressed", boom)
    with pytest.raises(OSError):
        save_latents(path, Latents("g", w=np.ones((1, 4), np.float32)))
    assert path.read_bytes() == before and [p.name for p in tmp_path.iterdir()] == ["l.npz"]
    with pytest.raises(ValueError, match="w or ws"):
        save_latents(tmp_path / "empty.npz", Latents("g"))
