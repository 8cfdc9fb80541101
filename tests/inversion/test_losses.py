"""Losses: VGG16 loads test-made weights through torchvision's real cache path; missing files say where to go."""

from __future__ import annotations

import pytest
import torch

from latentlab.core.errors import UserError
from latentlab.inversion.losses import (FeatureL2, ReconstructionLoss, VGG16Distance, build_loss, load_vgg16_features,
                                        pixel_distance, vgg16_default_path)
from latentlab.inversion.metric import MetricNet

from .conftest import vgg16_state_dict


@pytest.fixture
def torch_home(tmp_path, monkeypatch):
    """An empty torch hub cache: torch.hub.get_dir() follows $TORCH_HOME."""
    home = tmp_path / "torch_home"
    monkeypatch.setenv("TORCH_HOME", str(home))
    return home


def test_missing_vgg_weights_name_the_exact_path(torch_home):
    from urllib.parse import urlparse

    from torchvision.models import VGG16_Weights

    expected = torch_home / "hub" / "checkpoints" / "vgg16-397923af.pth"
    assert vgg16_default_path() == expected
    assert expected.name == urlparse(VGG16_Weights.IMAGENET1K_V1.url).path.rsplit("/", 1)[-1]  # torchvision's file
    with pytest.raises(UserError) as err:
        load_vgg16_features()
    assert str(expected) in str(err.value) and "--vgg-weights" in str(err.value)
    with pytest.raises(UserError, match="does not exist"):
        build_loss("vgg16", vgg_weights=torch_home / "elsewhere.pth")


def test_vgg_weights_load_through_torchvision_cache(torch_home):
    state = vgg16_state_dict(seed=3)
    path = vgg16_default_path()
    path.parent.mkdir(parents=True)
    torch.save(state, path)
    net = load_vgg16_features()  # the torchvision weights API reads the cached file, no download
    assert torch.equal(net.features[0].weight, state["features.0.weight"])
    assert torch.equal(net.features[21].bias, state["features.21.bias"])
    x = torch.rand(2, 3, 32, 32) * 2 - 1
    feats = net(x)
    assert [f.shape[1] for f in feats] == [64, 128, 256, 512]
    d = VGG16Distance(net)
    assert torch.allclose(d(x, x), torch.zeros(2), atol=1e-6)
    assert (d(x, x.flip(0)) > 0).all()


def test_vgg_weights_from_explicit_path_and_bad_files(tmp_path, torch_home):
    state = vgg16_state_dict(seed=4)
    good = tmp_path / "my_vgg.pth"
    torch.save(state, good)
    loss = build_loss("vgg16", vgg_weights=good)
    assert loss.name == "vgg16" and loss.perceptual_weight > 0
    garbage = tmp_path / "garbage.pth"
    garbage.write_bytes(b"not a pickle at all")
    with pytest.raises(UserError, match="not a readable VGG16 weights file"):
        load_vgg16_features(garbage)
    partial = tmp_path / "partial.pth"
    torch.save({k: v for k, v in state.items() if not k.startswith("features.2")}, partial)
    with pytest.raises(UserError, match="not a VGG16 state dict"):
        load_vgg16_features(partial)
    wrong_shape = tmp_path / "wrong.pth"
    torch.save({**state, "features.0.weight": torch.zeros(64, 3, 5, 5)}, wrong_shape)
    with pytest.raises(UserError, match="shapes"):
        load_vgg16_features(wrong_shape)


def test_reconstruction_loss_terms():
    x, y = torch.zeros(1, 3, 8, 8), torch.full((1, 3, 8, 8), 0.5)
    assert torch.allclose(pixel_distance(x, y), torch.tensor([0.25]))
    pixel = build_loss("pixel")
    assert torch.allclose(pixel(x, y), torch.tensor([0.25]))
    metric = build_loss("metric", metric_net=MetricNet().eval(), pixel_weight=2.0)
    assert metric(x, y).item() > 0.5  # 2 * 0.25 plus a non-negative perceptual term
    assert torch.allclose(metric(y, y), torch.zeros(1), atol=1e-6)
    with pytest.raises(UserError, match="train-metric"):
        build_loss("metric")
    with pytest.raises(UserError, match="unknown loss"):
        build_loss("lpips")


def test_feature_l2_is_plain_l2_of_one_stage():
    net = MetricNet().eval()
    d = ReconstructionLoss(FeatureL2(net.raw_features, tap=1), 1.0, 0.0)
    x = torch.rand(2, 3, 64, 64)
    expected = (net.raw_features(x)[1] - net.raw_features(x.flip(0))[1]).square().mean(dim=(1, 2, 3))
    assert torch.allclose(d(x, x.flip(0)), expected)
    assert torch.allclose(d(x, x), torch.zeros(2))
