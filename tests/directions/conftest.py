"""Fixtures of the direction tests: a tiny generator (the labeled run is in tests/conftest.py)."""

import numpy as np
import pytest
import torch
from directions_helpers import TINY

from directions.fit import DirectionFitter
from directions.io import DirectionSet
from latentlab.generator.interface import map_latents, sample_z
from latentlab.generator.stylegan2 import StyleGAN2Generator


@pytest.fixture
def tiny_generator() -> StyleGAN2Generator:
    torch.manual_seed(0)
    return StyleGAN2Generator(TINY).eval()


@pytest.fixture(scope="module")
def sweep_setup():
    """A tiny generator, 300 of its W codes and a binary direction along their first coordinate."""
    torch.manual_seed(0)
    gen = StyleGAN2Generator(TINY).eval()
    w = map_latents(gen, sample_z(300, 0, 32))
    labels = np.where(w[:, 0] > np.median(w[:, 0]), "yes", "no")
    dset = DirectionSet(generator_id=gen.generator_id, space="w")
    dset.add(DirectionFitter(kind="binary", classes=["no", "yes"], attribute="a", compare_svm=False).fit(w, labels).to_direction())
    return gen, w, dset
