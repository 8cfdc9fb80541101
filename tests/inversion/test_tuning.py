"""Pivotal tuning: it improves a held-out-style face, its delta file reloads to identical pixels, and a
delta made for another generator or another picture is refused."""

from __future__ import annotations

import shutil

import numpy as np
import pytest
import torch
from drawings import draw_face
from safetensors.torch import save_file

from latentlab.core.errors import UserError
from latentlab.core.latents import Latents, save_latents
from latentlab.generator.interface import map_latents, render, sample_z
from latentlab.generator.loading import load_generator
from latentlab.inversion.blend import RegionBlend
from latentlab.inversion.losses import build_loss
from latentlab.inversion.pipeline import judge
from latentlab.inversion.projector import ProjectorConfig, project, psnr
from latentlab.inversion.tuning import (
    Cancelled,
    TunedGenerator,
    TuningConfig,
    delta_path,
    emphasised,
    detail_emphasis,
    foreground_emphasis,
    foreground_mask,
    generator_for_latents,
    image_sha256,
    load_delta,
    pixel_emphasis,
    save_delta,
    tune,
)

from .conftest import make_generator


def held_out_face(size: int = 64) -> np.ndarray:
    """A face in a style the generator never trained on: the renderer's held-out style when it has one,
    else the hand-drawn test picture."""
    try:
        from latentlab.generator.synthetic.renderer import HELD_OUT_STYLE, render_seed

        return np.array(render_seed(20_000, size=size, style=HELD_OUT_STYLE)[0])
    except (ImportError, TypeError):
        return np.array(draw_face(4 * size).resize((size, size)))


def _tuned16(gen16, steps=15, **kw):
    w = map_latents(gen16, sample_z(1, 3, gen16.z_dim), 0.7)
    target = np.asarray(draw_face(64).resize((16, 16)))
    cfg = TuningConfig(steps=steps, locality_samples=1, **kw)
    return w[0], target, tune(gen16, w[0], target, build_loss("pixel"), cfg, w_std=1.0)


def test_tuning_strictly_improves_a_held_out_style_face():
    """The shipped generator, a W pivot, a few dozen tuning steps: several dB better, generator untouched."""
    gen = load_generator(None, "cpu")
    target = held_out_face()
    loss = build_loss("pixel")
    proj = project(gen, target, loss, ProjectorConfig(space="w", steps=30))
    before = {k: v.clone() for k, v in gen.state_dict().items()}
    tuning = tune(gen, proj.ws[0, 0], target, loss, TuningConfig(steps=30))
    pivot_psnr, tuned_psnr = psnr(proj.images, target)[0], psnr(tuning.image, target)[0]
    assert tuned_psnr > pivot_psnr + 3, (pivot_psnr, tuned_psnr)
    assert np.array_equal(tuning.pivot_image, proj.images[0])
    assert all(torch.equal(before[k], v) for k, v in gen.state_dict().items())  # the original is untouched
    assert np.array_equal(render(gen, proj.ws[:, 0]), proj.images)


def test_a_saved_and_reloaded_delta_gives_identical_pixels(gen16, tmp_path):
    w, target, tuning = _tuned16(gen16)
    path = save_delta(tmp_path / "face_tuning.safetensors", tuning, gen16.generator_id)
    assert path.stat().st_size < 0.6 * sum(p.numel() * 4 for p in gen16.parameters())  # float16, synthesis only
    loaded = load_delta(path, gen16, image_sha256(target), pivot=w)
    assert isinstance(loaded, TunedGenerator) and loaded.generator_id == gen16.generator_id
    probe = np.concatenate([w[None], map_latents(gen16, sample_z(4, 9, gen16.z_dim))])
    assert np.array_equal(render(loaded, probe), render(tuning.generator, probe))  # edits too: same pivot, same blend
    assert np.array_equal(render(loaded.with_blend(None), probe), render(tuning.generator.with_blend(None), probe))
    assert np.array_equal(render(loaded, w[None])[0], tuning.image)
    assert not np.array_equal(render(gen16, w[None])[0], tuning.image)  # it did change the drawing


def test_deltas_for_another_generator_or_picture_are_refused(gen16, tmp_path):
    _, target, tuning = _tuned16(gen16, steps=3)
    path = save_delta(tmp_path / "face_tuning.safetensors", tuning, gen16.generator_id)
    other = make_generator(16, seed=1)
    with pytest.raises(UserError, match=f"was tuned on generator {gen16.generator_id}, but the loaded generator is"):
        load_delta(path, other, image_sha256(target))
    with pytest.raises(UserError, match="another picture"):
        load_delta(path, gen16, image_sha256(target[::-1]))
    broken = tmp_path / "broken_tuning.safetensors"
    broken.write_bytes(path.read_bytes()[:100])
    with pytest.raises(UserError, match="not a readable tuning file"):
        load_delta(broken, gen16, None)
    foreign = tmp_path / "foreign.safetensors"
    save_file({"x": torch.zeros(2)}, str(foreign), metadata={"format": "latentlab-metric"})
    with pytest.raises(UserError, match="not a latentlab tuning file"):
        load_delta(foreign, gen16, None)
    odd = tmp_path / "odd_tuning.safetensors"
    save_file({**tuning.delta, "pivot": torch.zeros(3, 5)}, str(odd), metadata={
        "format": "latentlab-tuning", "version": "2", "generator_id": gen16.generator_id, "image_sha256": "x"})
    with pytest.raises(UserError, match="holds a pivot of shape"):
        load_delta(odd, gen16, None)
    save_file({**tuning.delta, "pivot": torch.full((1, gen16.w_dim), float("nan"))}, str(odd), metadata={
        "format": "latentlab-tuning", "version": "2", "generator_id": gen16.generator_id, "image_sha256": "x"})
    with pytest.raises(UserError, match="no finite latent"):
        load_delta(odd, gen16, None)


def test_latent_files_find_their_delta(gen16, tmp_path):
    w, target, tuning = _tuned16(gen16, steps=3)
    latent = tmp_path / "face.npz"
    save_latents(latent, Latents(gen16.generator_id, w=w[None], meta={"target_sha256": image_sha256(target)}))
    assert generator_for_latents(gen16, latent) is gen16  # no delta yet
    save_delta(delta_path(latent), tuning, gen16.generator_id)
    assert delta_path(latent).name == "face_tuning.safetensors"
    tuned = generator_for_latents(gen16, latent)
    assert isinstance(tuned, TunedGenerator) and np.array_equal(render(tuned, w[None])[0], tuning.image)
    assert np.array_equal(tuned.pivot[0].numpy(), w) and tuned.blend == RegionBlend()  # edits blend around the file's code
    assert generator_for_latents(gen16, latent, blend=None).blend is None
    moved = tmp_path / "moved.npz"  # an edited copy (as `edit` writes it): its first code is no longer the pivot
    save_latents(moved, Latents(gen16.generator_id, w=w[None] + 1.0, meta={"target_sha256": image_sha256(target)}))
    shutil.copyfile(delta_path(latent), delta_path(moved))
    assert np.array_equal(generator_for_latents(gen16, moved).pivot[0].numpy(), w)  # the delta's own pivot
    old = tmp_path / "old.npz"  # a version-1 delta holds no pivot: the latent file's first code stands in
    save_latents(old, Latents(gen16.generator_id, w=w[None] + 1.0, meta={"target_sha256": image_sha256(target)}))
    save_file(tuning.delta, str(delta_path(old)), metadata={"format": "latentlab-tuning", "version": "1",
                                                             "generator_id": gen16.generator_id,
                                                             "image_sha256": image_sha256(target)})
    assert np.array_equal(generator_for_latents(gen16, old).pivot[0].numpy(), w[None][0] + 1.0)
    assert generator_for_latents(gen16, None) is gen16
    bare = tmp_path / "bare.npz"
    save_latents(bare, Latents(gen16.generator_id, w=w[None]))
    save_delta(delta_path(bare), tuning, gen16.generator_id)
    with pytest.raises(UserError, match="records no target picture"):
        generator_for_latents(gen16, bare)


def test_the_locality_regulariser_keeps_other_faces(gen16):
    others = map_latents(gen16, sample_z(6, 21, gen16.z_dim), 0.7)
    base = render(gen16, others)
    *_, free = _tuned16(gen16, steps=25, locality_weight=0.0)
    *_, local = _tuned16(gen16, steps=25, locality_weight=3.0, locality_every=1, locality_radius=(0.5, 3.0))
    assert psnr(render(local.generator, others), base).mean() > psnr(render(free.generator, others), base).mean()


def test_a_callback_can_cancel_tuning(gen16):
    seen = []

    def stop(step):
        seen.append(step.step)
        if step.step == 3:
            raise Cancelled()

    with pytest.raises(Cancelled):
        tune(
            gen16, map_latents(gen16, sample_z(1, 3, gen16.z_dim))[0], np.zeros((16, 16, 3), np.uint8),
            build_loss("pixel"), TuningConfig(steps=50), w_std=1.0, callback=stop)
    assert seen == [1, 2, 3]


def test_verdict_words():
    assert judge(31.0, 0.05) == "close"
    assert judge(31.0, 0.2) == "approximate"  # pixels close, but the perceptual distance is not
    assert judge(25.0) == "approximate"
    assert judge(18.0, 0.05) == "poor: edits will be unreliable"


def test_foreground_emphasis_weighs_the_drawing_and_keeps_the_mean():
    img = np.full((1, 32, 32, 3), 240, np.uint8)  # a flat light background ...
    img[0, 10:20, 8:24] = (30, 40, 200)  # ... and a drawing on it
    mask = foreground_mask(img)[0]
    assert mask.sum() == 10 * 16 and mask[10:20, 8:24].all()
    emphasis = foreground_emphasis(img[0], 6.0)
    assert emphasis.shape == (1, 1, 32, 32) and torch.isclose(emphasis.mean(), torch.tensor(1.0))
    assert torch.isclose(emphasis[0, 0, 15, 15] / emphasis[0, 0, 0, 0], torch.tensor(6.0))
    assert foreground_emphasis(img[0], 1.0) is None
    assert foreground_emphasis(np.full((32, 32, 3), 240, np.uint8), 6.0) is None  # nothing but background
    loss = build_loss("pixel")
    x, y = torch.rand(2, 3, 32, 32) * 2 - 1, torch.rand(1, 3, 32, 32) * 2 - 1
    assert torch.allclose(emphasised(loss, x, y, None), loss(x, y))
    assert torch.allclose(emphasised(loss, x, y, torch.ones(1, 1, 32, 32)), loss(x, y))
    err = torch.zeros(1, 3, 32, 32)
    err[..., 15, 15] = 1.0  # one wrong pixel of the drawing costs 6x what one of the background costs
    bg_err = torch.zeros(1, 3, 32, 32)
    bg_err[..., 0, 0] = 1.0
    ratio = emphasised(loss, err, torch.zeros_like(err), emphasis) / emphasised(loss, bg_err, torch.zeros_like(err), emphasis)
    assert torch.isclose(ratio, torch.tensor(6.0))
    with pytest.raises(UserError, match="foreground weight"):
        TuningConfig(foreground_weight=0.5)


def test_detail_emphasis_weighs_a_small_mouth_over_the_flat_skin_around_it():
    img = np.full((32, 32, 3), 240, np.uint8)  # background
    img[4:28, 4:28] = (230, 190, 160)  # a large flat face ...
    img[20:22, 15:17] = (200, 30, 40)  # ... with a 2x2 red mouth
    emphasis = detail_emphasis(img, 4.0)
    assert emphasis.shape == (1, 1, 32, 32) and torch.isclose(emphasis.mean(), torch.tensor(1.0))
    mouth, skin, edge = emphasis[0, 0, 20, 15], emphasis[0, 0, 12, 12], emphasis[0, 0, 4, 12]
    assert torch.isclose(mouth / skin, torch.tensor(5.0))  # the most distinct pixel: 1 + 4 times a flat one
    assert skin < edge < mouth  # the face's outline stands out less than the mouth (a smaller change)
    assert detail_emphasis(img, 0.0) is None and detail_emphasis(np.full((8, 8, 3), 9, np.uint8), 4.0) is None
    both = pixel_emphasis(img, TuningConfig(foreground_weight=6.0, detail_weight=4.0))
    assert torch.isclose(both.mean(), torch.tensor(1.0))
    assert torch.isclose(both[0, 0, 20, 15] / both[0, 0, 12, 12], torch.tensor(5.0))  # both in the face
    assert torch.isclose(both[0, 0, 12, 12] / both[0, 0, 0, 0], torch.tensor(6.0))  # face over background
    assert pixel_emphasis(img, TuningConfig(foreground_weight=1.0, detail_weight=0.0)) is None
    with pytest.raises(UserError, match="detail weight"):
        TuningConfig(detail_weight=-1.0)


def test_foreground_emphasis_narrows_the_gap_between_face_and_background():
    """On a held-out-style face, weighting the drawing brings its PSNR closer to the background's."""
    gen = load_generator(None, "cpu")
    target = held_out_face()
    loss = build_loss("pixel")
    proj = project(gen, target, loss, ProjectorConfig(space="w", steps=30))
    mask = foreground_mask(target[None])[0]

    def gap(weight: float) -> tuple[float, float]:
        image = tune(gen, proj.ws[0, 0], target, loss, TuningConfig(steps=40, foreground_weight=weight)).image
        err = ((image.astype(np.float64) - target) ** 2).mean(-1)
        fg, bg = (10 * np.log10(255.0 ** 2 / err[m].mean()) for m in (mask, ~mask))
        return fg, bg

    (fg1, bg1), (fg6, bg6) = gap(1.0), gap(6.0)
    assert 0.2 < mask.mean() < 0.9  # the face is a part of the picture
    assert fg6 > fg1 + 0.5 and bg1 - fg1 > bg6 - fg6 + 1.0, (fg1, bg1, fg6, bg6)


def test_edits_of_a_tuned_face_show_the_original_generator_where_it_changes(gen16):
    """At the pivot: the tuned drawing, pixel for pixel. Far away: the original generator's drawing wherever
    its change exceeds the tuned generator's by more than the ramp, the tuned drawing wherever by less than
    the threshold."""
    w, _, tuning = _tuned16(gen16, steps=15)
    far = map_latents(gen16, sample_z(3, 5, gen16.z_dim), 0.7)
    blended, alone = tuning.generator, tuning.generator.with_blend(None)
    assert np.array_equal(render(blended, w[None]), render(alone, w[None]))
    with torch.no_grad():
        pivot = torch.as_tensor(w)[None]
        ref, tuned_ref = gen16.synthesis(pivot, noise_mode="const"), alone.synthesis(pivot)
        orig = gen16.synthesis(torch.as_tensor(far), noise_mode="const")
        tuned, mixed = alone.synthesis(torch.as_tensor(far)), blended.synthesis(torch.as_tensor(far))
    excess = (orig - ref).abs().amax(dim=1) - (tuned - tuned_ref).abs().amax(dim=1)  # [3, 16, 16]
    cfg = blended.blend
    assert cfg.grow * 16 < 0.5 and cfg.soften * 16 < 0.5  # at 16 px neither grows nor softens: pixel-exact regions
    big, small = excess > cfg.threshold + cfg.ramp, excess < cfg.threshold
    assert big.any() and small.any()
    assert torch.allclose(mixed.permute(0, 2, 3, 1)[big], orig.permute(0, 2, 3, 1)[big], atol=1e-6)
    assert torch.equal(mixed.permute(0, 2, 3, 1)[small], tuned.permute(0, 2, 3, 1)[small])


def test_the_blend_region_ramps_grows_softens_and_leaves_what_the_tuned_generator_follows():
    from latentlab.inversion.blend import blend_edit, change_mask

    ref = torch.zeros(1, 3, 64, 64)
    edited = ref.clone()
    edited[0, 0, 30:34, 30:34] = 0.35  # halfway up the default ramp (0.2 .. 0.5)
    edited[0, 2, 10, 10] = 1.5  # far past it
    share = change_mask(edited, ref, RegionBlend())[0, 0]
    assert share[:5, :5].eq(0).all() and share[50:, 50:].eq(0).all()  # nothing changed: the tuned drawing
    assert torch.isclose(share[31, 31], torch.tensor(0.5)) and share[10, 10] > 0.5
    assert share[8, 8] > 0 and share[7, 7] == 0  # grown by 1 px, softened by 1 px at 64 px
    sharp = RegionBlend(grow=0, soften=0)
    assert change_mask(edited, ref, sharp)[0, 0].gt(0).sum() == 17
    # where the tuned generator changes as much by itself, its own drawing stays
    tuned_ref = torch.full_like(ref, -1.0)
    follows = tuned_ref.clone()
    follows[0, 1, 10, 10] = 0.5  # the tuned drawing changes by 1.5 at the far pixel too
    assert change_mask(edited, ref, sharp, follows, tuned_ref)[0, 0].gt(0).sum() == 16
    out = blend_edit(tuned_ref, tuned_ref, edited, ref, sharp)  # the tuned drawing did not change anywhere
    assert torch.equal(out[0, :, 10, 10], edited[0, :, 10, 10]) and torch.equal(out[0, :, 0, 0], tuned_ref[0, :, 0, 0])
    with pytest.raises(UserError, match="region blend"):
        RegionBlend(ramp=0)
