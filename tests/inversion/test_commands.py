"""The CLI: invert a drawn picture and a held-out render, refuse bad files, train both networks, edit the result."""

from __future__ import annotations

import shutil

import numpy as np
import pytest
from PIL import Image

from latentlab import cli
from latentlab.core.latents import Latents, load_latents, save_latents
from latentlab.generator.interface import render
from latentlab.generator.loading import load_generator
from latentlab.generator.synthetic.renderer import render_seed
from latentlab.inversion.pipeline import PIVOT_PRIOR
from latentlab.inversion.projector import psnr


def run(capsys, *argv) -> tuple[int, str, str]:
    code = cli.main([str(a) for a in argv])
    out = capsys.readouterr()
    return code, out.out, out.err


def test_invert_a_drawn_png_with_the_default_generator(capsys, workspace, drawn_png, tmp_path):
    out = tmp_path / "inv" / "drawn.npz"
    code, stdout, _ = run(capsys, "invert", drawn_png, "--steps", 30, "--tune-steps", 20, "--loss", "pixel",
                          "--device", "cpu", "--threads", 1, "--out", out, "--quiet")
    assert code == 0 and "wrote" in stdout
    lat = load_latents(out)
    gen = load_generator(None, "cpu")
    lat.check_generator(gen.generator_id)
    assert lat.w.shape == (1, gen.w_dim) and lat.ws is None  # default: a W pivot, then tuning
    assert lat.images.shape == (1, 64, 64, 3)
    meta = lat.meta
    assert meta["kind"] == "inversion" and meta["source_image"] == "drawn_face.png" and meta["loss"] == "pixel"
    assert meta["projector"]["steps"] == 30 and meta["crop_box"] == "centre" and len(meta["psnr_db"]) == 1
    assert meta["tuned"] and meta["tuning"]["steps"] == 20 and meta["psnr_db"][0] > meta["pivot_psnr_db"][0]
    assert (out.parent / "drawn_tuning.safetensors").is_file()
    assert meta["verdict"]["verdict"] in ("close", "approximate", "poor: edits will be unreliable")
    assert f"verdict: {meta['verdict']['verdict']}" in stdout
    recon = np.asarray(Image.open(out.with_suffix(".png")))
    assert np.array_equal(recon, lat.images[0])
    target = np.asarray(Image.open(out.with_name("drawn_target.png")))
    assert target.shape == (64, 64, 3)


def test_invert_a_held_out_render_in_w_with_a_crop_box(capsys, workspace, tmp_path):
    image, _ = render_seed(4242, size=128)  # seeds below 1e6 are never in the GAN's training stream
    framed = np.full((160, 200, 3), 255, np.uint8)
    framed[16:144, 40:168] = image
    path = tmp_path / "render.jpg"
    Image.fromarray(framed).save(path, quality=95)
    code, stdout, _ = run(capsys, "invert", path, "--space", "w", "--steps", 20, "--no-tune", "--loss", "pixel",
                          "--crop", "40,16,168,144", "--device", "cpu", "--quiet")
    assert code == 0
    out = workspace / "inversions" / "render.npz"  # the default place
    lat = load_latents(out)
    assert lat.w.shape == (1, 128) and lat.ws is None
    assert lat.meta["crop_box"] == [40, 16, 168, 144] and lat.meta["space"] == "w"


@pytest.mark.parametrize("content,message", [
    (b"", "empty file"),
    (b"hello, I am text", "not a PNG, JPEG, WebP or GIF"),
    (None, "damaged or truncated"),
])
def test_bad_files_are_refused_with_one_line(capsys, workspace, tmp_path, content, message):
    path = tmp_path / "upload.png"
    if content is None:
        Image.new("RGB", (300, 300), (10, 200, 30)).save(path)
        path.write_bytes(path.read_bytes()[:200])
    else:
        path.write_bytes(content)
    code, _, err = run(capsys, "invert", path, "--device", "cpu", "--out", tmp_path / "x.npz")
    assert code == 3 and message in err and "Traceback" not in err  # 3: a user error (`latentlab --help`)
    assert not (tmp_path / "x.npz").exists()


def test_train_networks_and_use_them(capsys, workspace, gen16_file, drawn_png, tmp_path):
    gen = load_generator(gen16_file, "cpu")
    common = ["--generator", gen16_file, "--device", "cpu", "--threads", 1, "--samples", 256]
    code, stdout, _ = run(capsys, "train-metric", *common, "--steps", 20, "--batch", 16)
    assert code == 0
    metric = workspace / "models" / f"metric_{gen.generator_id}.safetensors"
    assert metric.is_file() and gen.generator_id in stdout
    assert len(list((workspace / "cache").glob("inversion_pool_*.npz"))) == 1
    code, _, _ = run(capsys, "train-encoder", *common, "--steps", 20, "--batch", 16)
    encoder = workspace / "models" / f"encoder_{gen.generator_id}.safetensors"
    assert code == 0 and encoder.is_file()
    code, _, _ = run(capsys, "train-encoder", *common, "--steps", 5, "--batch", 16, "--resume")
    assert code == 0

    out = tmp_path / "with_nets.npz"
    code, stdout, _ = run(capsys, "invert", drawn_png, "--generator", gen16_file, "--device", "cpu",
                          "--steps", 10, "--tune-steps", 5, "--out", out, "--quiet")
    assert code == 0
    meta = load_latents(out).meta
    assert meta["loss"] == "metric" and meta["init"] == "encoder"  # both found for this generator
    assert meta["pivot_loss"] == "pixel"  # with tuning, the pivot is found with the pixel loss by default
    same = tmp_path / "same_pivot.npz"
    code, _, _ = run(capsys, "invert", drawn_png, "--generator", gen16_file, "--device", "cpu", "--steps", 10,
                     "--tune-steps", 5, "--pivot-loss", "same", "--pivot-prior", 0, "--out", same, "--quiet")
    assert code == 0 and load_latents(same).meta["pivot_loss"] == "metric"
    assert meta["projector"]["prior"] == PIVOT_PRIOR > 0  # a pivot for tuning is held near sampled W
    assert load_latents(same).meta["projector"]["prior"] == 0.0
    assert meta["metric_file"] == str(metric) and meta["encoder_file"] == str(encoder)

    other = tmp_path / "other.npz"
    code, _, err = run(capsys, "invert", drawn_png, "--device", "cpu", "--steps", 5, "--encoder-file", encoder,
                       "--loss", "pixel", "--out", other)
    assert code == 3 and "trained for generator" in err and not other.exists()


def test_invert_then_edit_and_animate(capsys, workspace, drawn_png, tmp_path):
    directions = pytest.importorskip("directions.io")
    gen = load_generator(None, "cpu")
    rng = np.random.default_rng(0)
    v = rng.standard_normal(gen.w_dim)
    dset = directions.DirectionSet(generator_id=gen.generator_id, space="w")
    dset.add(directions.Direction(name="age", attribute="age", kind="binary", classes=["child", "adult"],
                                  names=["age"], vectors=v / np.linalg.norm(v), scales=[3.0], origins=[0.0],
                                  class_positions=[[-1.0, 1.0]]))
    set_path = directions.save_direction_set(tmp_path / "dirs.npz", dset)
    latent = tmp_path / "drawn.npz"
    assert run(capsys, "invert", drawn_png, "--steps", 10, "--tune-steps", 20, "--loss", "pixel", "--device", "cpu",
               "--out", latent, "--quiet")[0] == 0
    lat = load_latents(latent)
    out = tmp_path / "edited"
    code, _, err = run(capsys, "edit", latent, "--directions", set_path, "--set", "age=+2", "--animate", "age",
                       "--frames", 8, "--format", "gif", "--device", "cpu", "--out", out)
    assert code == 0, err
    edited = load_latents(out / "edited.npz")
    assert not np.allclose(edited.w, lat.w)
    assert (out / "age.gif").stat().st_size > 0
    assert (out / "edited_tuning.safetensors").is_file()  # the edited faces keep their tuned generator
    # the "before" row of compare.png is drawn by the tuned generator: it is the tuned reconstruction
    compare = np.asarray(Image.open(out / "compare.png"))
    # (drawn in a batch with the edits: float rounding may move a channel by one grey level)
    before = compare[:64, :64].astype(int)
    assert np.abs(before - lat.images[0]).max() <= 1
    assert np.abs(before - render(gen, lat.w)[0]).mean() > 2  # not the untuned pivot
    # by default the edit is blended with the original generator's where it acts; the tuned weights alone resist it
    code, _, err = run(capsys, "edit", latent, "--directions", set_path, "--set", "age=+2", "--tuned-edits", "weights",
                       "--device", "cpu", "--out", tmp_path / "weights")
    assert code == 0, err
    alone = np.asarray(Image.open(tmp_path / "weights" / "compare.png"))[-64:, :64].astype(int)
    blended = compare[-64:, :64].astype(int)
    assert np.abs(blended - before).mean() > np.abs(alone - before).mean() + 1

    anim = tmp_path / "tuned.gif"
    code, _, err = run(capsys, "animate", latent, "--directions", set_path, "--along", "age:0:2", "--once",
                       "--frames", 8, "--size", 0, "--device", "cpu", "--out", anim)
    assert code == 0, err
    from directions.animate import read_animation
    first = read_animation(anim)[0]  # amount 0: the pivot, drawn by the tuned generator (GIF colours)
    assert psnr(first, lat.images[0])[0] > psnr(first, render(gen, lat.w)[0])[0] + 3

    # a delta next to a latent file of another picture is refused with one line, nothing written
    other = tmp_path / "other.npz"
    save_latents(other, Latents(gen.generator_id, w=lat.w, meta={**lat.meta, "target_sha256": "0" * 64}))
    shutil.copy(latent.with_name("drawn_tuning.safetensors"), tmp_path / "other_tuning.safetensors")
    code, _, err = run(capsys, "edit", other, "--directions", set_path, "--set", "age=+2", "--device", "cpu",
                       "--out", tmp_path / "refused")
    assert code == 3 and "another picture" in err and "Traceback" not in err
    assert not (tmp_path / "refused").exists()


def test_the_pivot_loss_choices_of_the_cli_are_the_pipeline_s():
    from latentlab.cli.inversion import PIVOT_LOSS_NAMES
    from latentlab.inversion.pipeline import PIVOT_LOSSES

    assert PIVOT_LOSS_NAMES == PIVOT_LOSSES



def test_invert_never_writes_over_the_picture_it_inverts(capsys, workspace, drawn_png, tmp_path):
    """`invert pic.png --out pic.npz` would write its reconstruction to pic.png: refused before any work."""
    picture = tmp_path / "pic.png"
    shutil.copy(drawn_png, picture)
    before = picture.read_bytes()
    code, _, err = run(capsys, "invert", picture, "--out", tmp_path / "pic.npz", "--device", "cpu", "--steps", 5)
    assert code == 3 and "would write over the picture itself" in err and "pic_inverted.npz" in err
    assert len(err.strip().splitlines()) == 1
    assert picture.read_bytes() == before and not (tmp_path / "pic.npz").exists()
