import pytest
import torch

from latentlab.generator.stylegan2 import StyleGAN2Config, StyleGAN2Generator



def tiny_config(**kw) -> StyleGAN2Config:
    base = dict(resolution=16, z_dim=32, w_dim=32, mapping_layers=2, channels={4: 32, 8: 32, 16: 16})
    return StyleGAN2Config(**{**base, **kw})


@pytest.fixture(name="tiny_config")
def tiny_config_fixture():
    """The factory itself, for tests that build their own configurations."""
    return tiny_config


@pytest.fixture
def tiny_generator() -> StyleGAN2Generator:
    torch.manual_seed(0)
    g = StyleGAN2Generator(tiny_config()).eval()
    with torch.no_grad():  # non-trivial noise strengths and w_avg so that every path matters
        for name, p in g.named_parameters():
            if name.endswith("noise_strength"):
                p.fill_(0.3)
        g.w_avg.normal_()
    return g
