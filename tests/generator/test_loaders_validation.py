"""Validate, then build: every size read from a file is checked against the tensors and sane bounds
before anything is allocated, and every damaged, edited or hostile file gives one line that says
which it is (damaged, refused, unsupported) with the user-error exit status."""

import io
import json
import os
import pickle
import sys
import time
from pathlib import Path

import pytest
import torch
from safetensors import safe_open
from safetensors.torch import save_file

sys.path.insert(0, str(Path(__file__).parent))
import _ref_checkpoints as ckpts  # noqa: E402

import latentlab.cli as cli  # noqa: E402
from latentlab.cli.common import EXIT_USER  # noqa: E402
from latentlab.generator.loading import load_generator  # noqa: E402
from latentlab.generator.native import CheckpointError, save_native  # noqa: E402

RES, Z, W, LAYERS = 16, 24, 32, 3


def peak_rss_growth(fn) -> tuple[int, object]:
    """Bytes the process's peak resident memory grew by while `fn()` ran (Linux), and its result."""
    def status(key: str) -> int:
        line = next(x for x in Path("/proc/self/status").read_text().splitlines() if x.startswith(key + ":"))
        return int(line.split()[1]) * 1024

    Path("/proc/self/clear_refs").write_text("5")  # reset the high-water mark to the current size
    before = status("VmRSS")
    try:
        result = fn()
    except CheckpointError as e:
        result = e
    return status("VmHWM") - before, result


def one_line_error(capsys, argv) -> str:
    assert cli.main(argv) == EXIT_USER
    err = capsys.readouterr().err.strip()
    assert err.startswith("latentlab: error: ") and "\n" not in err and "Traceback" not in err
    return err


# -- NVlabs pickles: sizes against tensors and bounds, before building ---------------------------------------------

@pytest.mark.parametrize("w_dim", [2 ** 20, 2 ** 14])
def test_absurd_w_dim_is_refused_fast_without_allocating(tmp_path, w_dim):
    tensors = ckpts.nvlabs_tensors(RES, Z, W, LAYERS, seed=1)
    path = ckpts.write_nvlabs(tmp_path / "edited.pkl", tensors, RES, Z, w_dim, LAYERS)
    start = time.perf_counter()
    grown, err = peak_rss_growth(lambda: load_generator(path, "cpu"))
    assert time.perf_counter() - start < 1.0
    assert isinstance(err, CheckpointError) and "damaged or was edited" in str(err) and "w_dim" in str(err)
    assert grown < 64 * 2 ** 20  # the network it asks for would need >= 1 GB (2**14) or 4 TB (2**20)


def test_in_bounds_size_that_contradicts_the_tensors_is_refused_before_building(tmp_path):
    tensors = ckpts.nvlabs_tensors(RES, Z, W, LAYERS, seed=2)
    path = ckpts.write_nvlabs(tmp_path / "edited.pkl", tensors, RES, Z, 4096, LAYERS)
    grown, err = peak_rss_growth(lambda: load_generator(path, "cpu"))
    assert isinstance(err, CheckpointError)
    assert "damaged or was edited" in str(err) and "has shape" in str(err) and "4096)" in str(err)
    assert grown < 32 * 2 ** 20  # 4096-wide mapping layers alone would be 3 x 64 MB


def test_peak_memory_is_about_twice_the_tensors(tmp_path):
    big = 1024  # 8 mapping layers of 1024 x 1024: 32 MB per generator, G and G_ema both in the file
    tensors = ckpts.nvlabs_tensors(RES, big, big, 8, seed=3)
    path = ckpts.write_nvlabs(tmp_path / "big.pkl", tensors, RES, big, big, 8)
    file_tensor_bytes = 2 * sum(t.numel() * 4 for t in tensors.values())
    grown, gen = peak_rss_growth(lambda: load_generator(path, "cpu"))
    assert not isinstance(gen, Exception) and gen.w_dim == big
    assert grown < 2 * file_tensor_bytes + 24 * 2 ** 20, (grown, file_tensor_bytes)


class _Call:
    def __init__(self, func, *args):
        self.func, self.args = func, args

    def __reduce__(self):
        return (self.func, self.args)


def _payload_of(values: torch.Tensor) -> bytes:
    """The bytes `TypedStorage.__reduce__` hands to torch.storage._load_from_bytes."""
    captured = {}

    class Grab(pickle.Pickler):
        def reducer_override(self, obj):
            if isinstance(obj, torch.storage.TypedStorage):
                func, args = obj.__reduce__()
                captured["payload"] = args[0]
            return NotImplemented

    Grab(io.BytesIO(), protocol=4).dump(values)
    return captured["payload"]


def _pickle_with_storage_payload(path: Path, payload: bytes) -> Path:
    path.write_bytes(pickle.dumps({"G_ema": _Call(torch._utils._rebuild_tensor_v2,
                                                  _Call(torch.storage._load_from_bytes, payload), 0, (4,), (1,),
                                                  False, {})}, protocol=4))
    return path


def test_hostile_storage_payload_is_refused_for_safety_not_called_damaged(tmp_path, capsys):
    marker = tmp_path / "pwned"
    payload = pickle.dumps(_Call(os.system, f"touch {marker}"), protocol=2)
    path = _pickle_with_storage_payload(tmp_path / "evil.pkl", payload)
    err = one_line_error(capsys, ["inspect-generator", str(path)])
    assert "was refused: it asks for `" in err and "system`" in err and "does not run code" in err
    assert "damaged" not in err and "weights_only" not in err
    assert not marker.exists()


def test_storage_payload_with_an_inflated_size_is_damaged(tmp_path, capsys):
    payload = _payload_of(torch.arange(4.0))
    assert torch.equal(torch.tensor(list(torch.frombuffer(bytearray(payload[-16:]), dtype=torch.float32))),
                       torch.arange(4.0))
    # the storage's size appears twice: in its pickled id and before the data (int64 little-endian)
    inflated = payload[:-24] + (2 ** 40).to_bytes(8, "little") + payload[-16:]
    path = _pickle_with_storage_payload(tmp_path / "inflated.pkl", inflated)
    err = one_line_error(capsys, ["inspect-generator", str(path)])
    assert "damaged or was edited" in err and "storage" in err


def test_declared_byte_string_larger_than_the_file_is_damaged(tmp_path, capsys):
    path = tmp_path / "huge.pkl"
    path.write_bytes(b"\x80\x04\x8e" + (2 ** 40).to_bytes(8, "little") + b"abc")  # BINBYTES8 of 1 TB
    err = one_line_error(capsys, ["inspect-generator", str(path)])
    assert "damaged or was edited" in err and "larger than" in err


# -- rosinality .pt ---------------------------------------------------------------------------------------------

def test_rosinality_tensor_larger_than_its_storage_is_damaged(tmp_path, capsys):
    g_ema = ckpts.rosinality_g_ema(16, 32, 3, seed=4)
    g_ema["style.2.weight"] = torch.randn(1, 1).expand(32, 32)  # 1024 values on a 1-value storage
    path = ckpts.write_rosinality(tmp_path / "strided.pt", g_ema)
    err = one_line_error(capsys, ["inspect-generator", str(path)])
    assert "damaged or was edited" in err and "claims more values than its storage" in err


def test_rosinality_with_absurdly_many_blocks_is_damaged(tmp_path, capsys):
    g_ema = ckpts.rosinality_g_ema(16, 32, 3, seed=5)
    for k in range(2, 40):
        g_ema[f"to_rgbs.{k}.conv.weight"] = torch.zeros(1, 3, 1, 1, 1)
    path = ckpts.write_rosinality(tmp_path / "deep.pt", g_ema)
    err = one_line_error(capsys, ["inspect-generator", str(path)])
    assert "damaged or was edited" in err and "40 to_rgbs" in err


# -- latentlab .safetensors -------------------------------------------------------------------------------------

def _rewrite(src: Path, dst: Path, *, meta=None, tensors=None) -> Path:
    with safe_open(str(src), framework="pt") as f:
        old_meta = f.metadata()
        old = {k: f.get_tensor(k) for k in f.keys()}
    meta = meta(dict(old_meta)) if meta else old_meta
    save_file(tensors(old) if tensors else old, str(dst), metadata=meta)
    return dst


def _edit_config(**changes):
    def edit(meta):
        cfg = json.loads(meta["config"])
        cfg.update(changes)
        meta["config"] = json.dumps(cfg)
        return meta
    return edit


def _without(key):
    def edit(meta):
        meta.pop(key)
        return meta
    return edit


def _reshape_first_conv(tensors):
    tensors["synthesis_net.b8.conv1.weight"] = tensors["synthesis_net.b8.conv1.weight"][:, :, :2, :2].contiguous()
    return tensors


@pytest.mark.parametrize("edit,expected", [
    (dict(meta=_without("config")), "no generator configuration"),
    (dict(meta=_edit_config(resolution=48)), "resolution must be a power of two"),
    (dict(meta=_edit_config(z_dim=2 ** 40)), "z_dim=1099511627776 is outside the range"),
    (dict(meta=_edit_config(w_dim="512")), "w_dim is '512', not a whole number"),
    (dict(meta=_edit_config(mapping_layers=3)), "mapping_net.fc2"),
    (dict(meta=_edit_config(depth=3)), "settings no StyleGAN2 has"),
    (dict(meta=lambda m: {**m, "config": "{not json"}), "not JSON"),
    (dict(tensors=_reshape_first_conv), "b8.conv1.weight has shape (32, 32, 2, 2)"),
    (dict(tensors=lambda t: {k: v.to(torch.int32) if k.endswith("w_avg") else v for k, v in t.items()}),
     "holds torch.int32"),
])
def test_each_kind_of_damaged_safetensors_gets_its_one_line(tiny_generator, tmp_path, capsys, edit, expected):
    good = save_native(tiny_generator, tmp_path / "good.safetensors")
    bad = _rewrite(good, tmp_path / "bad.safetensors", **edit)
    start = time.perf_counter()
    err = one_line_error(capsys, ["inspect-generator", str(bad)])
    assert time.perf_counter() - start < 2.0
    assert "damaged or was edited" in err and expected in err, err


def test_truncated_safetensors_is_damaged_not_unknown(tiny_generator, tmp_path, capsys):
    good = save_native(tiny_generator, tmp_path / "good.safetensors")
    cut = tmp_path / "cut.safetensors"
    cut.write_bytes(good.read_bytes()[: good.stat().st_size // 2])
    err = one_line_error(capsys, ["inspect-generator", str(cut)])
    assert "cut.safetensors is damaged or was edited" in err and "not a readable safetensors file" in err


def test_an_edited_weight_is_caught_by_the_generator_id(tiny_generator, tmp_path, capsys):
    good = save_native(tiny_generator, tmp_path / "good.safetensors")
    bad = _rewrite(good, tmp_path / "bad.safetensors",
                   tensors=lambda t: {**t, "mapping_net.w_avg": t["mapping_net.w_avg"] + 1})
    err = one_line_error(capsys, ["inspect-generator", str(bad)])
    assert "changed afterwards" in err


@pytest.mark.parametrize("resolution", [4, 16])
def test_computed_shapes_are_those_of_the_built_network(tiny_config, resolution):
    from latentlab.generator.stylegan2 import StyleGAN2Generator

    cfg = tiny_config(resolution=resolution, z_dim=24, mapping_layers=3)
    built = {k: tuple(v.shape) for k, v in StyleGAN2Generator(cfg).state_dict().items()}
    assert cfg.state_shapes() == built
