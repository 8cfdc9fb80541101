"""TorchScript generators, and files that no loader accepts (wrong, corrupt, truncated, folders)."""

from pathlib import Path

import numpy as np
import pytest
import torch
from torch import nn

import latentlab.cli as cli
from latentlab.generator.interface import LatentGenerator, render, sample_z
from latentlab.generator.loading import load_generator
from latentlab.generator.native import CheckpointError

pytestmark = pytest.mark.filterwarnings("ignore:`torch.jit:FutureWarning")  # deprecated upstream, still supported


class TinyScriptedGenerator(nn.Module):
    """The documented TorchScript contract: z_dim/num_ws ints, w_avg, mapping(z), synthesis(ws, noise_mode)."""

    z_dim: int
    num_ws: int

    def __init__(self, seed: int = 0, with_w_avg: bool = True):
        super().__init__()
        torch.manual_seed(seed)
        self.z_dim, self.num_ws = 8, 3
        self.fc = nn.Linear(8, 16)
        self.to_rgb = nn.Conv2d(16, 3, 1)
        self.register_buffer("w_avg", torch.randn(16) * 0.2 if with_w_avg else torch.zeros(0))
        self.register_buffer("pattern", torch.randn(16, 8, 8))

    @torch.jit.export
    def mapping(self, z: torch.Tensor) -> torch.Tensor:
        return torch.tanh(self.fc(z))

    @torch.jit.export
    def synthesis(self, ws: torch.Tensor, noise_mode: str = "const") -> torch.Tensor:
        x = ws[:, 0, :, None, None] * self.pattern + ws[:, 1:].sum(dim=1)[:, :, None, None]
        if noise_mode == "random":
            x = x + torch.randn_like(x)
        return torch.tanh(self.to_rgb(x))

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        return self.synthesis(self.mapping(z)[:, None].repeat(1, self.num_ws, 1), "const")


def save_scripted(module: nn.Module, path: Path) -> Path:
    torch.jit.save(torch.jit.script(module), str(path))
    return path


def test_torchscript_generator_follows_the_interface(tmp_path):
    eager = TinyScriptedGenerator(seed=1).eval()
    gen = load_generator(save_scripted(eager, tmp_path / "g.pt"), "cpu")
    assert isinstance(gen, LatentGenerator) and gen.source_info.format == "torchscript"
    assert (gen.z_dim, gen.w_dim, gen.num_ws, gen.resolution) == (8, 16, 3, 8)
    z = torch.from_numpy(sample_z(5, 0, 8))
    with torch.no_grad():
        w = eager.mapping(z)
        assert torch.allclose(gen.mapping(z), w, atol=1e-6)
        assert torch.allclose(gen.mapping(z, 0.6), torch.lerp(eager.w_avg, w, 0.6), atol=1e-6)
        ws = torch.randn(5, 3, 16)
        assert torch.allclose(gen.synthesis(ws), eager.synthesis(ws), atol=1e-6)
        assert torch.allclose(gen.synthesis(w), eager.synthesis(w[:, None].repeat(1, 3, 1)), atol=1e-6)
        assert not torch.allclose(gen.synthesis(ws, noise_mode="random"), gen.synthesis(ws))
    images = render(gen, w.numpy(), batch_size=2)
    assert images.shape == (5, 8, 8, 3) and images.dtype == np.uint8


def test_torchscript_id_is_stable_and_follows_the_weights(tmp_path):
    a = load_generator(save_scripted(TinyScriptedGenerator(seed=1), tmp_path / "a.pt"), "cpu")
    again = load_generator(save_scripted(TinyScriptedGenerator(seed=1), tmp_path / "again.pt"), "cpu")
    other = load_generator(save_scripted(TinyScriptedGenerator(seed=2), tmp_path / "b.pt"), "cpu")
    assert a.generator_id == again.generator_id != other.generator_id
    assert a.generator_id.startswith("ts-8px-")


class TracedExport(nn.Module):
    """The docs' tracing recipe: sizes as one-element buffers, synthesis without noise_mode."""

    def __init__(self, inner: TinyScriptedGenerator):
        super().__init__()
        self.inner = inner
        self.register_buffer("z_dim", torch.tensor(inner.z_dim))
        self.register_buffer("num_ws", torch.tensor(inner.num_ws))
        self.register_buffer("w_avg", inner.w_avg.clone())

    def mapping(self, z):
        return self.inner.mapping(z)

    def synthesis(self, ws):
        return self.inner.synthesis(ws, "const")


def test_traced_module_from_the_docs_recipe(tmp_path):
    eager = TracedExport(TinyScriptedGenerator(seed=4)).eval()
    z = torch.randn(2, 8)
    with torch.no_grad():
        ws = eager.mapping(z)[:, None].repeat(1, 3, 1)
    path = tmp_path / "traced.pt"
    torch.jit.save(torch.jit.trace_module(eager, {"mapping": z, "synthesis": ws}), str(path))
    gen = load_generator(path, "cpu")
    assert (gen.z_dim, gen.num_ws, gen.w_dim, gen.resolution) == (8, 3, 16, 8)
    w = torch.randn(4, 3, 16)
    with torch.no_grad():
        assert torch.allclose(gen.synthesis(w), eager.synthesis(w), atol=1e-6)


def test_torchscript_without_w_avg_uses_the_seeded_mean(tmp_path):
    eager = TinyScriptedGenerator(seed=3, with_w_avg=False)
    gen = load_generator(save_scripted(eager, tmp_path / "g.pt"), "cpu")
    with torch.no_grad():
        expected = eager.mapping(torch.from_numpy(sample_z(4096, 0, 8))).double().mean(dim=0)
    assert torch.allclose(gen.w_avg.double(), expected, atol=1e-6)
    assert any("4096" in note for note in gen.source_info.notes)


def test_torchscript_that_breaks_the_contract_is_refused(tmp_path, capsys):
    class NoSynthesis(nn.Module):
        z_dim: int
        num_ws: int

        def __init__(self):
            super().__init__()
            self.z_dim, self.num_ws = 4, 2
            self.fc = nn.Linear(4, 4)

        def forward(self, z: torch.Tensor) -> torch.Tensor:
            return self.fc(z)

    with pytest.raises(CheckpointError, match="without an exported `mapping` method"):
        load_generator(save_scripted(NoSynthesis(), tmp_path / "bad.pt"), "cpu")
    ok = save_scripted(TinyScriptedGenerator(), tmp_path / "ok.pt")
    assert cli.main(["convert", str(ok), str(tmp_path / "x.safetensors")]) == 3
    assert "cannot convert" in capsys.readouterr().err and not (tmp_path / "x.safetensors").exists()


def test_files_no_loader_accepts_get_one_clear_sentence(tmp_path, capsys):
    garbage = tmp_path / "weights.pt"
    garbage.write_bytes(np.random.default_rng(0).bytes(4096))
    empty = tmp_path / "empty.pkl"
    empty.write_bytes(b"")
    for path in (garbage, empty):
        with pytest.raises(CheckpointError, match="not a generator checkpoint latentlab can read"):
            load_generator(path, "cpu")
    with pytest.raises(CheckpointError, match="is a folder"):
        load_generator(tmp_path, "cpu")
    with pytest.raises(CheckpointError, match="does not exist"):
        load_generator(tmp_path / "missing.pkl", "cpu")
    scripted = save_scripted(TinyScriptedGenerator(), tmp_path / "ts.pt")
    cut = tmp_path / "cut_ts.pt"
    cut.write_bytes(scripted.read_bytes()[:2000])
    with pytest.raises(CheckpointError, match="damaged or truncated"):
        load_generator(cut, "cpu")
    assert cli.main(["inspect-generator", str(garbage)]) == 3
    err = capsys.readouterr().err
    assert err.startswith("latentlab: error:") and "Traceback" not in err and len(err.strip().splitlines()) == 1
