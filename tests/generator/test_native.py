"""latentlab's own weights format round-trips exactly and refuses what it cannot read."""

import pytest
import torch
from safetensors.torch import save_file

from latentlab.generator.loading import load_generator
from latentlab.generator.native import CheckpointError, load_native, save_native


def test_round_trip_keeps_outputs_and_identity(tiny_generator, tmp_path):
    path = save_native(tiny_generator, tmp_path / "g.safetensors")
    loaded = load_generator(path, device="cpu")
    z = torch.randn(2, 32)
    assert torch.equal(tiny_generator(z), loaded(z))
    assert loaded.generator_id == tiny_generator.generator_id
    assert loaded.cfg == tiny_generator.cfg


def test_refuses_other_files(tmp_path):
    junk = tmp_path / "junk.safetensors"
    junk.write_bytes(b"\x00" * 100)
    with pytest.raises(CheckpointError):
        load_native(junk)
    with pytest.raises(CheckpointError, match="not a generator checkpoint"):
        load_generator(junk, device="cpu")
    foreign = tmp_path / "foreign.safetensors"
    save_file({"a": torch.zeros(2)}, str(foreign))
    with pytest.raises(CheckpointError, match="not a latentlab generator"):
        load_native(foreign)
    with pytest.raises(CheckpointError, match="does not exist"):
        load_generator(tmp_path / "missing.safetensors", device="cpu")
    with pytest.raises(CheckpointError, match="folder"):
        load_generator(tmp_path, device="cpu")


def test_shipped_default_generator_loads():
    g = load_generator(None, device="cpu")
    assert (g.resolution, g.z_dim, g.num_ws) == (64, 128, 10)
    with torch.inference_mode():
        img = g.synthesis(g.mapping(torch.randn(2, g.z_dim)))
    assert img.shape == (2, 3, 64, 64) and torch.isfinite(img).all()
