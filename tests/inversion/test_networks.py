"""The metric net and the encoder: training improves them, files round-trip, generator ids are enforced."""

from __future__ import annotations

import warnings

import numpy as np
import pytest
import torch

from latentlab.core.errors import UserError
from latentlab.inversion.encoder import EncoderTrainConfig, load_encoder, save_encoder, train_encoder
from latentlab.inversion.metric import MetricConfig, MetricTrainConfig, load_metric, save_metric, train_metric
from latentlab.inversion.pipeline import encoder_start
from latentlab.inversion.samples import cached_pool, make_pool, pool_cache_path
from latentlab.inversion.weights import GeneratorMismatchWarning

from .conftest import make_generator


@pytest.fixture(scope="module")
def pool16():
    gen = make_generator(16)
    return gen, make_pool(gen, 384, seed=0, progress=False)


def test_pool_neighbours_are_graded(pool16):
    gen, pool = pool16
    near = np.linalg.norm(pool.w_near - pool.w, axis=1)
    far = np.linalg.norm(pool.w_far - pool.w, axis=1)
    assert np.allclose(far / near, 3.0, rtol=1e-4)
    assert pool.images.shape == (384, 16, 16, 3) and pool.images_far.dtype == np.uint8


def test_pool_cache_is_reused(tmp_path):
    gen = make_generator(16)
    a = cached_pool(gen, tmp_path, 8, seed=1, progress=False)
    path = pool_cache_path(tmp_path, gen.generator_id, 8, 1)
    assert path.is_file()
    b = cached_pool(gen, tmp_path, 8, seed=1, progress=False)
    assert np.array_equal(a.images_far, b.images_far)
    path.write_bytes(b"damaged")
    c = cached_pool(gen, tmp_path, 8, seed=1, progress=False)  # a damaged cache is rendered again
    assert np.array_equal(a.images, c.images)


def test_metric_training_round_trip_and_generator_check(pool16, tmp_path):
    gen, pool = pool16
    cfg = MetricTrainConfig(steps=40, batch=16, holdout=64, net=MetricConfig(widths=(8, 16, 16)))
    net, stats = train_metric(pool, gen.generator_id, cfg, progress=False, log=lambda m: None)
    assert net.cfg.resolution == 16
    assert 0 <= stats["graded_accuracy"] <= 1
    assert stats["heldout_loss"] < stats["heldout_loss_before"]  # held-out triplets are better separated
    path = save_metric(net, tmp_path / "metric.safetensors", gen.generator_id, stats)
    loaded = load_metric(path, gen.generator_id)
    x, y = torch.rand(3, 3, 16, 16) * 2 - 1, torch.rand(3, 3, 16, 16) * 2 - 1
    assert torch.allclose(loaded.distance(x, y), net.distance(x, y))
    assert loaded.stats["graded_accuracy"] == stats["graded_accuracy"]
    with pytest.warns(GeneratorMismatchWarning, match="train-metric"):
        load_metric(path, "sg2-16px-someoneelse")
    with pytest.raises(UserError, match="trained for generator"):
        load_metric(path, "sg2-16px-someoneelse", strict=True)
    with pytest.raises(UserError, match="not a latentlab encoder"):
        load_encoder(path)
    bad = tmp_path / "bad.safetensors"
    bad.write_bytes(b"\x00" * 100)
    with pytest.raises(UserError, match="not a readable safetensors"):
        load_metric(bad)


def test_encoder_learns_and_starts_projection_closer(pool16, tmp_path):
    gen, pool = pool16
    w_avg = gen.w_avg.numpy()
    cfg = EncoderTrainConfig(steps=250, batch=32, holdout=64, widths=(16, 32), hidden=128, lr=2e-3)
    enc, stats = train_encoder(pool, gen.generator_id, w_avg, cfg, progress=False, log=lambda m: None)
    assert stats["relative_w_error_before"] > 0.95  # an untrained encoder guesses about w_avg
    assert stats["relative_w_error"] < 0.9 * stats["relative_w_error_before"]
    path = save_encoder(enc, tmp_path / "enc.safetensors", gen.generator_id, stats)
    loaded = load_encoder(path, gen.generator_id)
    held = pool.images[-16:]
    guess = encoder_start(loaded, held, torch.device("cpu"))
    assert guess.shape == (16, gen.w_dim)
    err_enc = np.linalg.norm(guess - pool.w[-16:], axis=1).mean()
    err_avg = np.linalg.norm(w_avg - pool.w[-16:], axis=1).mean()
    assert err_enc < err_avg
    with pytest.raises(UserError, match="trained for generator"):  # an encoder never crosses generators
        load_encoder(path, "sg2-16px-someoneelse")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", GeneratorMismatchWarning)
        assert load_encoder(path, "sg2-16px-someoneelse", strict=False) is not None
