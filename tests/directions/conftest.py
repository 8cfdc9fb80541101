"""Fixtures of the direction tests: a tiny generator (the labeled run is in tests/conftest.py)."""

import pytest
import torch
from directions_helpers import TINY

from latentlab.generator.stylegan2 import StyleGAN2Generator


@pytest.fixture
def tiny_generator() -> StyleGAN2Generator:
    torch.manual_seed(0)
    return StyleGAN2Generator(TINY).eval()
