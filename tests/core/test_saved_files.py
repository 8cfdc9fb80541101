"""Weights files written before the one artifact I/O keep loading, and their generator ids are checked.

Each file is written here the way the old savers wrote it (inline), then read with today's loaders.
"""

import json
from dataclasses import asdict

import pytest
import torch
from safetensors.torch import save_file

from latentlab.core.artifacts import GeneratorMismatch
from latentlab.generator.native import load_native, save_native
from latentlab.generator.stylegan2 import StyleGAN2Config, StyleGAN2Generator
from latentlab.inversion.metric import MetricConfig, MetricNet, load_metric

TINY = StyleGAN2Config(resolution=16, z_dim=32, w_dim=32, mapping_layers=2, channels={4: 32, 8: 32, 16: 16})


@pytest.fixture
def tiny_generator() -> StyleGAN2Generator:
    torch.manual_seed(0)
    return StyleGAN2Generator(TINY).eval()


def old_native_file(gen: StyleGAN2Generator, path, **meta_changes):
    """What `save_native` wrote before issue 15: safetensors with format, version, config and id."""
    meta = {"format": "latentlab-stylegan2", "version": "1", "config": json.dumps(gen.cfg.to_dict()),
            "generator_id": gen.generator_id, "trained_kimg": "12.0", **meta_changes}
    save_file({k: v.detach().cpu().contiguous() for k, v in gen.state_dict().items()}, str(path), metadata=meta)
    return path


def test_an_old_generator_file_loads_with_its_identity(tiny_generator, tmp_path):
    loaded = load_native(old_native_file(tiny_generator, tmp_path / "old.safetensors"))
    assert loaded.generator_id == tiny_generator.generator_id
    z = torch.randn(2, 32)
    assert torch.equal(loaded(z), tiny_generator(z))


def test_a_generator_file_whose_weights_no_longer_match_its_id_is_refused(tiny_generator, tmp_path):
    path = old_native_file(tiny_generator, tmp_path / "edited.safetensors", generator_id="sg2-16px-0000000000000000")
    with pytest.raises(GeneratorMismatch, match=r"was written with generator sg2-16px-0000000000000000, but the "
                                                r"loaded generator is sg2-16px-\w+; the file was changed"):
        load_native(path)
    again = save_native(tiny_generator, tmp_path / "new.safetensors")
    assert load_native(again).generator_id == tiny_generator.generator_id
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".")] == []  # no temporary left behind


def test_an_old_metric_file_loads_and_knows_its_generator(tmp_path):
    torch.manual_seed(0)
    net = MetricNet(MetricConfig(widths=(8, 16, 16)))
    path = tmp_path / "metric.safetensors"
    meta = {"format": "latentlab-metric", "version": "1", "generator_id": "sg2-16px-aaaa",
            "config": json.dumps(asdict(net.cfg)), "extra": json.dumps({"graded_accuracy": 0.75})}
    save_file({k: v.detach().float().contiguous() for k, v in net.state_dict().items()}, str(path), metadata=meta)
    loaded = load_metric(path, "sg2-16px-aaaa", strict=True)
    assert loaded.generator_id == "sg2-16px-aaaa" and loaded.stats == {"graded_accuracy": 0.75}
    x, y = torch.rand(2, 3, 16, 16) * 2 - 1, torch.rand(2, 3, 16, 16) * 2 - 1
    assert torch.allclose(loaded.distance(x, y), net.distance(x, y))
    with pytest.raises(GeneratorMismatch, match="is a metric trained for generator sg2-16px-aaaa, but the loaded "
                                                "generator is sg2-16px-bbbb; train one for it with"):
        load_metric(path, "sg2-16px-bbbb", strict=True)
