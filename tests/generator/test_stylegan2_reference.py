"""latentlab's StyleGAN2 itself against the independent reference: both convolution forms, the
fp16 blocks used for NVlabs models on CUDA (exercised here on CPU), and batch-size selection."""

import sys
import warnings
from pathlib import Path

import pytest
import torch

sys.path.insert(0, str(Path(__file__).parent))
import _ref_stylegan2 as ref  # noqa: E402

from latentlab.generator.loaders.batching import MAX_BATCH, auto_batch_size, stylegan2_bytes_per_sample  # noqa: E402
from latentlab.generator.stylegan2 import StyleGAN2Config, StyleGAN2Generator  # noqa: E402

CHANNELS = {4: 24, 8: 20, 16: 12}


def perturbed(convention="nvlabs", conv_clamp=None, seed=0) -> StyleGAN2Generator:
    """A tiny generator whose every parameter and buffer is random and far from its init value."""
    cfg = StyleGAN2Config(resolution=16, z_dim=24, w_dim=32, mapping_layers=2, channels=CHANNELS,
                          conv_clamp=conv_clamp, convention=convention)
    gen = StyleGAN2Generator(cfg)
    g = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for name, t in gen.state_dict().items():
            if name.endswith("resample_filter"):
                continue  # the fixed [1,3,3,1] filter, as trained
            scale = 100.0 if name.startswith("mapping_net.fc") and name.endswith("weight") else 0.5
            offset = 1.0 if name.endswith("affine.bias") else 0.2
            t.copy_(torch.randn(t.shape, generator=g) * scale + offset)
    return gen.eval()


def as_nvlabs(gen: StyleGAN2Generator) -> dict:
    names = {"mapping_net": "mapping", "synthesis_net": "synthesis"}
    return {names[k.split(".")[0]] + k[k.index("."):]: v for k, v in gen.state_dict().items()}


@pytest.mark.parametrize("fused", [False, True])
def test_default_convention_matches_reference_in_both_forms(fused):
    """The unfused form (what latentlab trains and ships with) and the fused one agree with the reference."""
    gen = perturbed(conv_clamp=2.0)
    gen.fused_modconv = fused
    ws = torch.randn(3, gen.num_ws, 32, generator=torch.Generator().manual_seed(1))
    with torch.no_grad():
        out = gen.synthesis(ws)
    assert float((out.double() - ref.nvlabs_synthesis(as_nvlabs(gen), ws, 16, conv_clamp=2.0)).abs().max()) < 1e-5


def test_truncation_rule_per_convention():
    z = torch.randn(2, 24)
    nv, ros = perturbed("nvlabs"), perturbed("rosinality")
    with torch.no_grad():
        assert not torch.equal(nv.mapping(z, 1.5), nv.mapping(z))  # NVlabs extrapolates for psi > 1
        assert torch.equal(ros.mapping(z, 1.5), ros.mapping(z))  # rosinality only truncates for psi < 1
        assert not torch.equal(ros.mapping(z, 0.5), ros.mapping(z))


def _block_dtypes(gen: StyleGAN2Generator, ws: torch.Tensor) -> dict[str, torch.dtype]:
    seen = {}
    hooks = [getattr(gen.synthesis_net, f"b{r}").conv1.register_forward_hook(
        lambda m, i, o, r=r: seen.__setitem__(r, o.dtype)) for r in (4, 8, 16)]
    with torch.no_grad():
        gen.synthesis(ws)
    for h in hooks:
        h.remove()
    return seen


@pytest.mark.parametrize("batch", [1, 3])
def test_fp16_blocks_stay_close_to_float32(batch):
    """NVlabs' fp16 rule (top num_fp16_res blocks, never below 8 px) in half precision: the images stay
    within fp16 rounding of float32 while the lower blocks remain float32."""
    gen = perturbed(conv_clamp=4.0)
    gen.fused_modconv = True
    ws = torch.randn(batch, gen.num_ws, 32, generator=torch.Generator().manual_seed(2))
    with torch.no_grad():
        full = gen.synthesis(ws)
        gen.num_fp16_res = 2
        half = gen.synthesis(ws)
    assert half.dtype == torch.float32
    assert _block_dtypes(gen, ws) == {4: torch.float32, 8: torch.float16, 16: torch.float16}
    err = float((half - full).abs().max())
    assert 0 < err < 0.01 * float(full.abs().max())


def test_fp16_overflow_falls_back_to_float32():
    gen = perturbed()
    with torch.no_grad():
        gen.synthesis_net.b16.torgb.bias.fill_(1e5)  # beyond float16's 65504
    ws = torch.randn(2, gen.num_ws, 32)
    with torch.no_grad():
        full = gen.synthesis(ws)
        gen.num_fp16_res = 1
        with pytest.warns(RuntimeWarning, match="redone in float32"):
            half = gen.synthesis(ws)
    assert torch.equal(half, full)


def test_auto_batch_size_follows_memory_and_size():
    small = perturbed()
    assert auto_batch_size(small, "cpu", memory_bytes=1) == 1
    sizes = [auto_batch_size(small, "cpu", memory_bytes=m) for m in (2 ** 20, 2 ** 23, 2 ** 26, 2 ** 40)]
    assert sizes == sorted(sizes) and sizes[-1] == MAX_BATCH["cpu"]
    config_f = {r: min(32768 // r, 512) for r in (4, 8, 16, 32, 64, 128, 256, 512)}
    per_256 = stylegan2_bytes_per_sample(256, config_f)
    assert stylegan2_bytes_per_sample(512, config_f) > per_256 > stylegan2_bytes_per_sample(64, config_f)
    assert 50 * 2 ** 20 < per_256 < 2 ** 30  # tens to hundreds of MB per 256 px sample
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert 1 <= auto_batch_size(small) <= MAX_BATCH["cpu"]  # measures this machine's free memory
