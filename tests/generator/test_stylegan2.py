"""Shapes, W / W+ behaviour, truncation, noise modes and identity of latentlab's StyleGAN2."""

import pytest
import torch

from latentlab.generator.interface import LatentGenerator
from latentlab.generator.ops import modulated_conv2d
from latentlab.generator.stylegan2 import StyleGAN2Config


def test_interface_and_shapes(tiny_generator):
    g = tiny_generator
    assert isinstance(g, LatentGenerator)
    assert (g.z_dim, g.w_dim, g.num_ws, g.resolution) == (32, 32, 6, 16)
    z = torch.randn(3, 32)
    w = g.mapping(z)
    assert w.shape == (3, 32)
    img = g.synthesis(w)
    assert img.shape == (3, 3, 16, 16) and img.dtype == torch.float32
    assert StyleGAN2Config(resolution=64).num_ws == 10 and StyleGAN2Config(resolution=1024, channels={
        r: 8 for r in [4, 8, 16, 32, 64, 128, 256, 512, 1024]}).num_ws == 18


def test_w_equals_broadcast_w_plus(tiny_generator):
    g = tiny_generator
    w = g.mapping(torch.randn(2, 32))
    ws = w[:, None].repeat(1, g.num_ws, 1)
    assert torch.equal(g.synthesis(w), g.synthesis(ws))


def test_w_plus_layers_act_independently(tiny_generator):
    g = tiny_generator
    ws = g.broadcast(g.mapping(torch.randn(1, 32)))
    base = g.synthesis(ws)
    changed = ws.clone()
    changed[:, -1] += 3.0  # only the last toRGB style
    out = g.synthesis(changed)
    assert not torch.allclose(base, out)
    with pytest.raises(ValueError, match="layers"):
        g.synthesis(ws[:, :3])


def test_truncation(tiny_generator):
    g = tiny_generator
    z = torch.randn(4, 32)
    w1 = g.mapping(z, 1.0)
    assert torch.equal(w1, g.mapping_net(z))
    w0 = g.mapping(z, 0.0)
    assert torch.allclose(w0, g.w_avg.expand_as(w0))
    w_half = g.mapping(z, 0.5)
    assert torch.allclose(w_half, g.w_avg + 0.5 * (w1 - g.w_avg), atol=1e-6)
    ws = g.mapping_ws(z, 0.0, truncation_cutoff=2)
    assert torch.allclose(ws[:, :2], g.w_avg.expand(4, 2, -1)) and torch.equal(ws[:, 2:], g.broadcast(w1)[:, 2:])


def test_noise_modes(tiny_generator):
    g = tiny_generator
    w = g.mapping(torch.randn(2, 32))
    assert torch.equal(g.synthesis(w, "const"), g.synthesis(w, "const"))
    assert not torch.equal(g.synthesis(w, "random"), g.synthesis(w, "random"))
    assert not torch.equal(g.synthesis(w, "none"), g.synthesis(w, "const"))
    with pytest.raises(ValueError):
        g.synthesis(w, "bogus")


def test_fused_and_unfused_modconv_agree():
    torch.manual_seed(1)
    x = torch.randn(3, 8, 8, 8)
    weight = torch.randn(6, 8, 3, 3)
    styles = torch.randn(3, 8) + 1
    f = torch.tensor([1.0, 3, 3, 1])
    filt = torch.outer(f, f) / 64
    for up in (False, True):
        a = modulated_conv2d(x, weight, styles, up=up, resample_filter=filt, fused=True)
        b = modulated_conv2d(x, weight, styles, up=up, resample_filter=filt, fused=False)
        assert a.shape == b.shape == (3, 6, 16 if up else 8, 16 if up else 8)
        assert torch.allclose(a, b, atol=1e-5)


def test_modconv_matches_per_sample_reference():
    """Unfused, straightforward per-sample convolution as an independent reference."""
    torch.manual_seed(2)
    x = torch.randn(2, 4, 6, 6)
    weight = torch.randn(5, 4, 3, 3)
    styles = torch.randn(2, 4)
    out = modulated_conv2d(x, weight, styles, fused=True)
    for i in range(2):
        wi = weight * styles[i][None, :, None, None]
        wi = wi / torch.sqrt((wi ** 2).sum(dim=[1, 2, 3], keepdim=True) + 1e-8)
        ref = torch.nn.functional.conv2d(x[i: i + 1], wi, padding=1)
        assert torch.allclose(out[i: i + 1], ref, atol=1e-5)


def test_identity_tracks_weights(tiny_generator):
    g = tiny_generator
    ident = g.generator_id
    assert ident.startswith("sg2-16px-") and ident == g.generator_id
    from latentlab.generator.stylegan2 import StyleGAN2Generator
    clone = StyleGAN2Generator(g.cfg)
    clone.load_state_dict(g.state_dict())
    assert clone.generator_id == ident
    with torch.no_grad():
        clone.synthesis_net.b16.torgb.bias[0] += 1e-3
    clone._identity = None
    assert clone.generator_id != ident


def test_invalid_configs_are_refused():
    with pytest.raises(ValueError, match="power of two"):
        StyleGAN2Config(resolution=48)
    with pytest.raises(ValueError, match="channels missing"):
        StyleGAN2Config(resolution=32, channels={4: 8, 8: 8, 16: 8})
