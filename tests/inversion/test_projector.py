"""The projector: lowers the loss, is deterministic, recovers generated faces, restores what it borrows."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from latentlab.core.errors import UserError
from latentlab.generator.interface import map_latents, render, sample_z
from latentlab.generator.loading import load_generator
from latentlab.inversion.encoder import Encoder, EncoderConfig
from latentlab.inversion.losses import build_loss
from latentlab.inversion.metric import MetricConfig, MetricNet
from latentlab.inversion.pipeline import encoder_start
from latentlab.inversion.projector import Projector, ProjectorConfig, learning_rate, plain_recipe, project, psnr


def _targets(gen, n=2, seed=7, psi=0.7):
    w = map_latents(gen, sample_z(n, seed, gen.z_dim), psi)
    return w, render(gen, w)


def test_projection_strictly_lowers_the_loss(gen16):
    torch.manual_seed(0)
    loss = build_loss("metric", metric_net=MetricNet(MetricConfig(resolution=16)).eval())
    _, target = _targets(gen16)
    proj = project(gen16, target, loss, ProjectorConfig(space="w", steps=60))
    assert proj.loss_history.shape == (60, 2)
    assert (proj.final_loss < proj.loss_history[0]).all()
    assert (proj.final_loss < 0.7 * proj.loss_history[0]).all()
    assert proj.ws.shape == (2, gen16.num_ws, gen16.w_dim)
    assert np.allclose(proj.ws[:, 0], proj.ws[:, -1])  # W: one code for every layer


def test_deterministic_given_a_seed(gen16):
    loss = build_loss("pixel")
    _, target = _targets(gen16, n=1)
    cfg = ProjectorConfig(space="w+", steps=30, w_noise=0.1)
    a, b = project(gen16, target, loss, cfg), project(gen16, target, loss, cfg)
    c = project(gen16, target, loss, ProjectorConfig(space="w+", steps=30, w_noise=0.1, seed=1))
    assert np.array_equal(a.ws, b.ws)
    assert not np.array_equal(a.ws, c.ws)


def test_wplus_starts_from_the_w_result_and_reports_progress(gen16):
    loss = build_loss("pixel")
    _, target = _targets(gen16, n=1)
    seen = []
    proj = project(gen16, target, loss, ProjectorConfig(space="w+", steps=40, preview_every=10), callback=seen.append)
    assert [s.step for s in seen] == list(range(1, 41))
    assert [s.phase for s in seen[:20]] == ["w"] * 20 and seen[-1].phase == "w+"
    previews = [s for s in seen if s.image is not None]
    assert [s.step for s in previews] == [10, 20, 30, 40]
    assert previews[-1].image.shape == (1, gen16.resolution, gen16.resolution, 3)
    assert proj.w is not None and proj.w.shape == (1, gen16.w_dim)
    assert not np.allclose(proj.ws[:, 0], proj.ws[:, -1])  # layers moved apart in W+


def test_encoder_style_start_and_bad_inputs(gen16):
    loss = build_loss("pixel")
    w, target = _targets(gen16, n=1)
    proj = project(gen16, target, loss, ProjectorConfig(space="w", steps=1, lr=1e-9, w_noise=0), init_w=w)
    assert psnr(proj.images, target)[0] > 40  # starting at the answer stays there
    with pytest.raises(UserError, match="16x16"):
        project(gen16, np.zeros((1, 8, 8, 3), np.uint8), loss)
    with pytest.raises(UserError, match="projection space must be one of w, w\+"):
        ProjectorConfig(space="z")


def test_noise_optimisation_restores_the_generator(gen16):
    before = {k: v.clone() for k, v in gen16.state_dict().items()}
    gen_id = gen16.generator_id
    _, target = _targets(gen16, n=1)
    proj = project(gen16, target, build_loss("pixel"), ProjectorConfig(space="w", steps=10, noise_regularize=1e3))
    assert proj.noise_maps is not None and len(proj.noise_maps) == 2 * 3 - 1  # conv layers of a 16 px model
    after = gen16.state_dict()
    assert all(torch.equal(before[k], after[k]) for k in before)
    assert gen16.generator_id == gen_id


def test_a_projector_starts_from_its_encoder_and_matches_project(gen16):
    """The object and the function are one recipe: the encoder's guess as start gives the same numbers."""
    torch.manual_seed(3)
    encoder = Encoder(EncoderConfig(resolution=16, w_dim=gen16.w_dim, widths=(8,), hidden=16)).eval()
    loss = build_loss("pixel")
    _, target = _targets(gen16, n=2)
    cfg = ProjectorConfig(space="w+", steps=12)
    a = Projector(gen16, loss, encoder, cfg)(target)
    b = project(gen16, target, loss, cfg, init_w=encoder_start(encoder, target, gen16.device))
    assert a.meta["init"] == "encoder" and b.meta["init"] == "encoder/w"
    assert np.array_equal(a.ws, b.ws) and np.array_equal(a.loss_history, b.loss_history)
    c = Projector(gen16, loss, config=cfg)(target)
    assert c.meta["init"] == "w_avg" and np.array_equal(c.ws, project(gen16, target, loss, cfg).ws)


def test_phases_and_fresh_default_configs(gen16):
    assert ProjectorConfig(space="w", steps=10).phases(start_is_ws=False) == [("w", 10)]
    assert ProjectorConfig(steps=10).phases(start_is_ws=False) == [("w", 5), ("w+", 5)]
    assert ProjectorConfig(steps=10).phases(start_is_ws=True) == [("w+", 10)]
    assert ProjectorConfig(steps=10, wplus_init="start").phases(start_is_ws=False) == [("w+", 10)]
    loss = build_loss("pixel")
    first, second = Projector(gen16, loss), Projector(gen16, loss)
    first.config.preview_every = 1  # a caller changing its config changes nobody else's
    assert second.config.preview_every == ProjectorConfig().preview_every


def test_learning_rate_ramp():
    cfg = ProjectorConfig(lr=0.1, lr_rampup=0.05, lr_rampdown=0.25)
    assert learning_rate(cfg, 0.0) == 0.0
    assert learning_rate(cfg, 0.5) == pytest.approx(0.1)
    assert 0 < learning_rate(cfg, 0.9) < 0.1
    assert learning_rate(plain_recipe(lr=0.3), 0.9) == 0.3  # the baseline: constant rate


def test_recovers_a_generated_face_of_the_default_generator_to_25_db():
    """The shipped 64 px generator (the one users invert with), default steps and space, pixel loss.

    Runs on the real default weights: 300 steps at 64 px take ~20 s on one busy core, affordable here.
    """
    gen = load_generator(None, "cpu")
    assert gen.resolution == 64
    _, target = _targets(gen, n=2, seed=11)
    cfg = ProjectorConfig()
    assert cfg.steps <= 300
    proj = project(gen, target, build_loss("pixel"), cfg)
    values = psnr(proj.images, target)
    assert (values >= 25).all(), values


def test_the_latent_prior_keeps_the_answer_near_sampled_faces(gen16):
    """An upload unlike the generator's faces pulls w far out; the prior (squared Mahalanobis distance
    from sampled W, per dimension: about 1 for a sample) holds it nearer, at some cost in pixels."""
    from drawings import draw_face

    from latentlab.inversion.samples import w_whitening

    mean, whitener = w_whitening(gen16)
    sampled = map_latents(gen16, sample_z(2000, 5, gen16.z_dim))
    assert 0.8 < (((sampled - mean) @ whitener.T) ** 2).mean() < 1.2  # the unit: one sample's distance
    target = np.asarray(draw_face(64).resize((16, 16)))[None]
    loss = build_loss("pixel")
    free = project(gen16, target, loss, ProjectorConfig(space="w", steps=60, w_noise=0.0))
    held = project(gen16, target, loss, ProjectorConfig(space="w", steps=60, w_noise=0.0, prior=0.1))
    distance = {name: float((((p.ws[0, 0] - mean) @ whitener.T) ** 2).mean()) for name, p in
                (("free", free), ("held", held))}
    assert distance["held"] < 0.5 * distance["free"], distance
    assert held.final_loss[0] >= free.final_loss[0]  # the prior costs reconstruction, never helps it here
    with pytest.raises(UserError, match="prior"):
        ProjectorConfig(prior=-1.0)
