"""rosinality `.pt` checkpoints load safely and reproduce rosinality's forward math.

The checkpoints are built here in rosinality's exact key layout with every tensor perturbed;
outputs are compared with the plain float64 reference in _ref_stylegan2.py (to 1e-5).
"""

import os
import sys
from collections import OrderedDict
from pathlib import Path

import numpy as np
import pytest
import torch

sys.path.insert(0, str(Path(__file__).parent))
import _ref_checkpoints as ckpts  # noqa: E402
import _ref_stylegan2 as ref  # noqa: E402

import latentlab.cli as cli  # noqa: E402
from latentlab.generator.interface import LatentGenerator, map_latents, render, sample_z  # noqa: E402
from latentlab.core.latents import load_latents  # noqa: E402
from latentlab.generator.loading import load_generator  # noqa: E402
from latentlab.generator.native import CheckpointError  # noqa: E402

TOL = 1e-5
S = 32  # style_dim


def max_diff(a, b) -> float:
    return float((a.double() - b.double()).abs().max())


@pytest.fixture(scope="module")
def converted(tmp_path_factory):
    """A convert_weight.py-style file: {g_ema, latent_avg}, with asymmetric random blur kernels."""
    sd = ckpts.rosinality_g_ema(seed=1, odd_kernels=True)
    latent_avg = torch.randn(S, generator=torch.Generator().manual_seed(5)) * 0.5 + 0.3
    path = ckpts.write_rosinality(tmp_path_factory.mktemp("ros") / "anime.pt", sd, latent_avg=latent_avg)
    return path, sd, latent_avg


def test_hyper_parameters_are_inferred_from_shapes(converted):
    path, sd, latent_avg = converted
    gen = load_generator(path, "cpu")
    assert isinstance(gen, LatentGenerator)
    assert (gen.resolution, gen.z_dim, gen.w_dim, gen.num_ws) == (16, S, S, 6)
    assert gen.cfg.mapping_layers == 3 and gen.cfg.channels == ckpts.CHANNELS
    assert gen.cfg.convention == "rosinality" and gen.cfg.conv_clamp is None
    assert torch.equal(gen.w_avg, latent_avg)
    assert gen.device == torch.device("cpu") and gen.source_info.format == "rosinality"


def test_synthesis_matches_reference_for_mixed_ws(converted):
    """Random W+ (a different w per layer) also checks which w drives which layer."""
    path, sd, _ = converted
    gen = load_generator(path, "cpu")
    ws = torch.randn(3, gen.num_ws, S, generator=torch.Generator().manual_seed(2))
    with torch.no_grad():
        assert max_diff(gen.synthesis(ws), ref.rosinality_synthesis(sd, ws)) < TOL
        assert max_diff(gen.synthesis(ws, noise_mode="none"), ref.rosinality_synthesis(sd, ws, noise="none")) < TOL


@pytest.mark.parametrize("psi", [1.0, 0.7, 1.3])
def test_mapping_and_truncation_match_reference(converted, psi):
    """rosinality truncates only when psi < 1 (psi 1.3 leaves w as it is)."""
    path, sd, latent_avg = converted
    gen = load_generator(path, "cpu")
    z = torch.from_numpy(sample_z(4, 3, S))
    with torch.no_grad():
        w = gen.mapping(z, truncation_psi=psi)
        w_ref = ref.rosinality_truncate(ref.rosinality_mapping(sd, z), latent_avg, psi)
        assert max_diff(w, w_ref) < TOL
        img = gen.synthesis(w)
    assert max_diff(img, ref.rosinality_synthesis(sd, w_ref[:, None].repeat(1, gen.num_ws, 1))) < TOL


def test_a_wrong_key_mapping_would_be_caught(converted, tmp_path):
    """Swapping two same-shaped tensors in the file moves the output far outside the tolerance,
    so the comparisons above really pin every tensor to its place."""
    path, sd, _ = converted
    swapped = OrderedDict(sd)
    swapped["noises.noise_1"], swapped["noises.noise_2"] = sd["noises.noise_2"], sd["noises.noise_1"]
    gen = load_generator(ckpts.write_rosinality(tmp_path / "swapped.pt", swapped, torch.zeros(S)), "cpu")
    ws = torch.randn(2, gen.num_ws, S)
    with torch.no_grad():
        assert max_diff(gen.synthesis(ws), ref.rosinality_synthesis(sd, ws)) > 1e-3


def test_training_checkpoint_gets_a_deterministic_mean_latent(tmp_path):
    """train.py files have no latent_avg: w_avg = mean of mapping over sample_z(4096, seed 0), and the
    non-EMA `g` (also in the file) is not used."""
    sd = ckpts.rosinality_g_ema(seed=3)
    path = ckpts.write_rosinality(tmp_path / "train.pt", sd, train=True)
    gen = load_generator(path, "cpu")
    expected = ref.rosinality_mapping(sd, torch.from_numpy(sample_z(4096, 0, S))).mean(dim=0)
    assert max_diff(gen.w_avg, expected) < 1e-6
    assert "4096" in gen.source_info.details["w_avg"] and "seed=0" in gen.source_info.details["w_avg"]
    assert "size=16" in gen.source_info.details["args"]
    again = load_generator(path, "cpu")
    assert torch.equal(again.w_avg, gen.w_avg) and again.generator_id == gen.generator_id
    ws = torch.randn(2, gen.num_ws, S)
    with torch.no_grad():
        assert max_diff(gen.synthesis(ws), ref.rosinality_synthesis(sd, ws)) < TOL


def test_legacy_torch_save_format_loads_identically(tmp_path):
    sd = ckpts.rosinality_g_ema(seed=4)
    a = load_generator(ckpts.write_rosinality(tmp_path / "zip.pt", sd, torch.ones(S)), "cpu")
    b = load_generator(ckpts.write_rosinality(tmp_path / "old.pt", sd, torch.ones(S), legacy=True), "cpu")
    assert a.generator_id == b.generator_id
    ws = torch.randn(2, a.num_ws, S)
    with torch.no_grad():
        assert torch.equal(a.synthesis(ws), b.synthesis(ws))


def test_generator_id_follows_the_weights_not_the_file(converted, tmp_path):
    path, sd, latent_avg = converted
    gen = load_generator(path, "cpu")
    copy = tmp_path / "renamed_copy.pt"
    copy.write_bytes(path.read_bytes())
    assert load_generator(copy, "cpu").generator_id == gen.generator_id
    changed = OrderedDict(sd)
    changed["to_rgbs.1.bias"] = sd["to_rgbs.1.bias"] + 1e-3
    other = load_generator(ckpts.write_rosinality(tmp_path / "changed.pt", changed, latent_avg), "cpu")
    assert other.generator_id != gen.generator_id and gen.generator_id.startswith("sg2-16px-")


class _Shell:
    def __init__(self, marker: Path):
        self.marker = marker

    def __reduce__(self):
        return (os.system, (f"touch {self.marker}",))


def test_malicious_pt_is_refused_without_running_anything(tmp_path):
    marker = tmp_path / "pwned"
    path = tmp_path / "evil.pt"
    torch.save({"g_ema": _Shell(marker), "latent_avg": torch.zeros(4)}, path)
    with pytest.raises(CheckpointError, match="refused.*system"):
        load_generator(path, "cpu")
    assert not marker.exists()


def test_other_pytorch_files_get_a_clear_message(tmp_path):
    plain = tmp_path / "classifier.pt"
    torch.save({"model": OrderedDict(w=torch.zeros(2))}, plain)
    with pytest.raises(CheckpointError, match="no `g_ema` generator"):
        load_generator(plain, "cpu")
    training = tmp_path / "checkpoint.pt"
    torch.save({"G_ema": OrderedDict(w=torch.zeros(2)), "train_config": "{}"}, training)
    with pytest.raises(CheckpointError, match="latentlab export-generator"):
        load_generator(training, "cpu")


def test_truncated_and_modified_files_are_refused(converted, tmp_path):
    path, sd, _ = converted
    cut = tmp_path / "cut.pt"
    cut.write_bytes(path.read_bytes()[: path.stat().st_size // 2])
    with pytest.raises(CheckpointError, match="damaged or truncated"):
        load_generator(cut, "cpu")
    extra = OrderedDict(sd)
    extra["convs.0.extra_gate"] = torch.zeros(3)
    with pytest.raises(CheckpointError, match="convs.0.extra_gate"):
        load_generator(ckpts.write_rosinality(tmp_path / "extra.pt", extra), "cpu")
    missing = OrderedDict((k, v) for k, v in sd.items() if k != "convs.2.conv.modulation.bias")
    with pytest.raises(CheckpointError, match="convs.2.conv.modulation.bias"):
        load_generator(ckpts.write_rosinality(tmp_path / "missing.pt", missing), "cpu")


def test_convert_keeps_id_and_images(converted, tmp_path, capsys):
    path, sd, _ = converted
    out = tmp_path / "anime.safetensors"
    assert cli.main(["convert", str(path), str(out)]) == 0
    assert "unchanged" in capsys.readouterr().out
    src, native = load_generator(path, "cpu"), load_generator(out, "cpu")
    assert native.generator_id == src.generator_id
    ws = torch.randn(2, src.num_ws, S)
    with torch.no_grad():  # native files may use the unfused form: equal to float32 rounding
        assert max_diff(native.synthesis(ws), ref.rosinality_synthesis(sd, ws)) < TOL
    assert cli.main(["convert", str(path), str(out)]) == 3  # refuses to overwrite
    assert "--force" in capsys.readouterr().err


def test_sample_command_with_a_rosinality_file(converted, tmp_path, capsys):
    """`latentlab sample --generator x.pt` renders and records the loaded file's generator id."""
    path, _, _ = converted
    out = tmp_path / "grid.png"
    rc = cli.main(["sample", "--generator", str(path), "--device", "cpu", "--n", "4", "--out", str(out)])
    assert rc == 0 and out.exists()
    gen = load_generator(path, "cpu")
    assert gen.generator_id in capsys.readouterr().out
    latents = load_latents(out.with_suffix(".npz"))
    assert latents.generator_id == gen.generator_id
    with torch.no_grad():
        expected = render(gen, gen.mapping(torch.from_numpy(latents.z)), batch_size=3)
    assert expected.shape == (4, 16, 16, 3) and expected.dtype == np.uint8
    assert np.allclose(latents.w, map_latents(gen, latents.z), atol=1e-6)
