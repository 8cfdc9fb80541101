"""NVlabs stylegan2-ada network pickles load without executing anything and reproduce its math.

The pickles are written here with the persistence `__reduce__` structure (meta with
module_src, class_name, state), real torch tensor reducers, numpy scalar attributes and
EasyDict kwargs; module_src would leave a marker file if it were ever executed.
"""

import builtins
import os
import pickle
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
from latentlab.generator.interface import LatentGenerator, sample_z  # noqa: E402
from latentlab.core.latents import load_latents  # noqa: E402
from latentlab.generator.loaders import nvlabs  # noqa: E402
from latentlab.generator.loading import load_generator  # noqa: E402
from latentlab.generator.native import CheckpointError  # noqa: E402

TOL = 1e-5
RES, Z, W, LAYERS, CLAMP, LR = 16, 24, 32, 3, 1.5, 0.05


def max_diff(a, b) -> float:
    return float((a.double() - b.double()).abs().max())


@pytest.fixture(scope="module")
def snapshot(tmp_path_factory):
    """conv_clamp small enough to bite, a non-default mapping lr multiplier, odd FIR kernels."""
    tmp = tmp_path_factory.mktemp("nv")
    tensors = ckpts.nvlabs_tensors(RES, Z, W, LAYERS, seed=7, lr_mul=LR, odd_kernels=True)
    marker = tmp / "module_src_ran"
    path = ckpts.write_nvlabs(tmp / "network-snapshot-000200.pkl", tensors, RES, Z, W, LAYERS, conv_clamp=CLAMP,
                              num_fp16_res=2, marker=marker, lr_multiplier=LR)
    return path, tensors, marker


def test_loads_hyper_parameters_and_never_runs_module_src(snapshot):
    path, tensors, marker = snapshot
    gen = load_generator(path, "cpu")
    assert not marker.exists()
    assert isinstance(gen, LatentGenerator) and gen.source_info.format == "nvlabs"
    assert (gen.resolution, gen.z_dim, gen.w_dim, gen.num_ws) == (RES, Z, W, 6)
    cfg = gen.cfg
    assert (cfg.mapping_layers, cfg.mapping_lr_mul, cfg.conv_clamp, cfg.convention) == (LAYERS, LR, CLAMP, "nvlabs")
    assert cfg.channels == ckpts.CHANNELS
    assert torch.equal(gen.w_avg, tensors["mapping.w_avg"])
    assert gen.source_info.details["num_fp16_res"] == "2" and gen.num_fp16_res == 0  # CPU: float32


def test_synthesis_matches_reference_with_clamping(snapshot):
    path, tensors, _ = snapshot
    gen = load_generator(path, "cpu")
    ws = torch.randn(3, gen.num_ws, W, generator=torch.Generator().manual_seed(3))
    expected = ref.nvlabs_synthesis(tensors, ws, RES, conv_clamp=CLAMP)
    assert max_diff(expected, ref.nvlabs_synthesis(tensors, ws, RES)) > 1e-2  # the clamp matters here
    with torch.no_grad():
        assert max_diff(gen.synthesis(ws), expected) < TOL
        none = ref.nvlabs_synthesis(tensors, ws, RES, conv_clamp=CLAMP, noise="none")
        assert max_diff(gen.synthesis(ws, noise_mode="none"), none) < TOL
        a, b = gen.synthesis(ws, noise_mode="random"), gen.synthesis(ws, noise_mode="random")
    assert max_diff(a, b) > 0 and max_diff(a, expected) > 0


@pytest.mark.parametrize("psi,cutoff", [(1.0, None), (0.5, None), (0.7, 2), (1.2, 4)])
def test_mapping_truncation_and_cutoff_match_reference(snapshot, psi, cutoff):
    path, tensors, _ = snapshot
    gen = load_generator(path, "cpu")
    z = torch.from_numpy(sample_z(4, 11, Z))
    w = ref.nvlabs_mapping(tensors, z, lr_mul=LR)
    expected = ref.nvlabs_truncate(w[:, None].repeat(1, gen.num_ws, 1), tensors["mapping.w_avg"], psi, cutoff)
    with torch.no_grad():
        ws = gen.mapping_ws(z, truncation_psi=psi, truncation_cutoff=cutoff)
        assert max_diff(ws, expected) < TOL
        if cutoff is None:
            assert max_diff(gen.mapping(z, truncation_psi=psi), expected[:, 0]) < TOL
        assert max_diff(gen.synthesis(ws), ref.nvlabs_synthesis(tensors, expected, RES, conv_clamp=CLAMP)) < TOL


def test_uses_g_ema_not_the_training_generator(snapshot):
    path, tensors, _ = snapshot
    gen = load_generator(path, "cpu")
    g_tensors = OrderedDict((k, v * 1.5 + 0.1) for k, v in tensors.items())  # what write_nvlabs stores as G
    ws = torch.randn(2, gen.num_ws, W)
    with torch.no_grad():
        assert max_diff(gen.synthesis(ws), ref.nvlabs_synthesis(g_tensors, ws, RES, conv_clamp=CLAMP)) > 1e-2


@pytest.mark.parametrize("protocol", [2, 3, 5])
def test_every_pickle_protocol_gives_the_same_generator(snapshot, tmp_path, protocol):
    path, tensors, _ = snapshot
    other = ckpts.write_nvlabs(tmp_path / f"p{protocol}.pkl", tensors, RES, Z, W, LAYERS, conv_clamp=CLAMP,
                               num_fp16_res=2, protocol=protocol, lr_multiplier=LR)
    assert load_generator(other, "cpu").generator_id == load_generator(path, "cpu").generator_id


def test_layers_without_noise_inputs(tmp_path):
    tensors = ckpts.nvlabs_tensors(RES, Z, W, LAYERS, seed=8)
    for key in ("synthesis.b8.conv0.noise_const", "synthesis.b8.conv0.noise_strength"):
        del tensors[key]
    gen = load_generator(ckpts.write_nvlabs(tmp_path / "quiet.pkl", tensors, RES, Z, W, LAYERS), "cpu")
    assert any("b8.conv0" in note for note in gen.source_info.notes)
    ws = torch.randn(2, gen.num_ws, W)
    with torch.no_grad():
        assert max_diff(gen.synthesis(ws), ref.nvlabs_synthesis(tensors, ws, RES)) < TOL


class _Call:
    """Pickles as a call of `func(*args)`: what a hostile file would ask the unpickler to run."""

    def __init__(self, func, *args):
        self.func, self.args = func, args

    def __reduce__(self):
        return (self.func, self.args)


@pytest.mark.parametrize("where", ["top", "inside_G_ema"])
@pytest.mark.parametrize("how", ["os.system", "eval"])
def test_malicious_pickles_are_refused_and_nothing_runs(tmp_path, where, how):
    marker = tmp_path / "pwned"
    call = (_Call(os.system, f"touch {marker}") if how == "os.system"
            else _Call(builtins.eval, f"__import__('pathlib').Path({str(marker)!r}).touch()"))
    path = tmp_path / "evil.pkl"
    if where == "top":
        path.write_bytes(pickle.dumps(call, protocol=4))
    else:
        tensors = ckpts.nvlabs_tensors(RES, Z, W, LAYERS, seed=9)
        ckpts.write_nvlabs(path, tensors, RES, Z, W, LAYERS, marker=marker, extra_state={"payload": call})
    name = "system" if how == "os.system" else "builtins.eval"
    with pytest.raises(CheckpointError, match=rf"refused: it asks for `[\w.]*{name}`"):
        load_generator(path, "cpu")
    assert not marker.exists()


def test_tensor_views_past_their_storage_are_refused(tmp_path):
    """torch would silently grow the storage with uninitialised memory; the loader refuses instead."""
    storage = torch.arange(4.0).untyped_storage()
    typed = torch.storage.TypedStorage(wrap_storage=storage, dtype=torch.float32, _internal=True)
    path = tmp_path / "overreach.pkl"
    path.write_bytes(pickle.dumps({"G_ema": _Call(torch._utils._rebuild_tensor_v2, typed, 0, (1000,), (1,), False,
                                                  OrderedDict())}, protocol=4))
    with pytest.raises(CheckpointError, match="reaches past the end of its storage"):
        load_generator(path, "cpu")


def test_tensorflow_and_unpersisted_pickles_name_what_they_need(tmp_path):
    tf = tmp_path / "karras2019stylegan-ffhq-1024x1024.pkl"
    tf.write_bytes(b"\x80\x02cdnnlib.tflib.network\nNetwork\n)\x81.")
    with pytest.raises(CheckpointError, match="TensorFlow StyleGAN pickle"):
        load_generator(tf, "cpu")
    plain = tmp_path / "plain.pkl"
    plain.write_bytes(b"\x80\x02ctraining.networks\nGenerator\n)\x81.")
    with pytest.raises(CheckpointError, match="training.networks.Generator"):
        load_generator(plain, "cpu")


@pytest.mark.parametrize("variant,message", [
    (dict(c_dim=4), "damaged or was edited: c_dim=4 but the mapping network lacks a class embedding"),
    (dict(stylegan3=True), "damaged or was edited: the StyleGAN3 synthesis network lacks"),
    (dict(architecture="resnet"), "'resnet'"),
])
def test_unsupported_or_inconsistent_variants_are_refused_by_name(tmp_path, variant, message):
    tensors = ckpts.nvlabs_tensors(RES, Z, W, LAYERS, seed=10)
    path = ckpts.write_nvlabs(tmp_path / "variant.pkl", tensors, RES, Z, W, LAYERS, **variant)
    with pytest.raises(CheckpointError, match=message):
        load_generator(path, "cpu")


def test_truncated_and_foreign_pickles(snapshot, tmp_path):
    path, _, _ = snapshot
    cut = tmp_path / "cut.pkl"
    cut.write_bytes(path.read_bytes()[: path.stat().st_size * 2 // 3])
    with pytest.raises(CheckpointError, match="ends early|damaged or truncated"):
        load_generator(cut, "cpu")
    other = tmp_path / "results.pkl"
    other.write_bytes(pickle.dumps({"fid": 12.5, "kimg": 200}, protocol=4))
    with pytest.raises(CheckpointError, match="no G_ema network"):
        load_generator(other, "cpu")


def test_fp16_policy(monkeypatch):
    """fp16 only on CUDA, only for models that clamp (trained that way), never with LATENTLAB_FP32=1."""
    from latentlab.generator.stylegan2 import StyleGAN2Config

    clamped = StyleGAN2Config(resolution=16, channels=ckpts.CHANNELS, conv_clamp=256.0)
    unclamped = StyleGAN2Config(resolution=16, channels=ckpts.CHANNELS)
    cuda, cpu = torch.device("cuda"), torch.device("cpu")
    monkeypatch.delenv(nvlabs.FP32_ENV, raising=False)
    assert nvlabs._fp16_on(cuda, clamped, 4) == 4
    assert nvlabs._fp16_on(cpu, clamped, 4) == 0
    assert nvlabs._fp16_on(cuda, unclamped, 4) == 0
    monkeypatch.setenv(nvlabs.FP32_ENV, "1")
    assert nvlabs._fp16_on(cuda, clamped, 4) == 0


def test_convert_inspect_and_sample_commands(snapshot, tmp_path, capsys):
    path, tensors, marker = snapshot
    assert cli.main(["inspect-generator", str(path)]) == 0
    text = capsys.readouterr().out
    gen = load_generator(path, "cpu")
    for expected in ("nvlabs", gen.generator_id, "16 px", "num_ws", "4:24, 8:20, 16:12", "conv_clamp",
                     "lr multiplier 0.05"):
        assert expected in text
    out = tmp_path / "converted.safetensors"
    assert cli.main(["convert", str(path), str(out)]) == 0
    capsys.readouterr()
    native = load_generator(out, "cpu")
    assert native.generator_id == gen.generator_id
    ws = torch.randn(2, gen.num_ws, W)
    with torch.no_grad():
        assert max_diff(native.synthesis(ws), ref.nvlabs_synthesis(tensors, ws, RES, conv_clamp=CLAMP)) < TOL
    grid = tmp_path / "grid.png"
    assert cli.main(["sample", "--generator", str(path), "--device", "cpu", "--n", "3", "--truncation", "0.7",
                     "--out", str(grid)]) == 0
    latents = load_latents(grid.with_suffix(".npz"))
    assert latents.generator_id == gen.generator_id
    expected_w = ref.nvlabs_truncate(ref.nvlabs_mapping(tensors, torch.from_numpy(latents.z), lr_mul=LR)[:, None],
                                     tensors["mapping.w_avg"], 0.7)[:, 0]
    assert np.abs(latents.w - expected_w.numpy()).max() < TOL
    assert not marker.exists()
