"""`fit --reader` trains and saves the set's attribute reader; sweeps are paced by it (or by pictures)."""

import numpy as np
from PIL import Image

import latentlab.cli as cli
from directions.animate import read_animation
from directions.reader import load_reader, reader_path
from latentlab.core.latents import Latents, save_latents
from latentlab.generator.interface import map_latents, sample_z


def test_fit_with_reader_then_paced_sweeps(labeled_run, tmp_path, capsys):
    r = labeled_run
    out = tmp_path / "set.npz"
    assert cli.main(["fit", "--run", str(r["run"]), "--db", r["db"], "--out", str(out), "--no-svm",
                     "--reader", "--reader-epochs", "3"]) == 0
    assert "agreement with the crowd" in capsys.readouterr().out
    reader = load_reader(reader_path(out), generator_id=r["gen"].generator_id)
    assert set(reader.classes) == {"blush", "age", "hair"}

    z = sample_z(2, 3, r["gen"].z_dim)
    lat = save_latents(tmp_path / "faces.npz", Latents(r["gen"].generator_id, z=z, w=map_latents(r["gen"], z),
                                                        meta={"truncation_psi": 1.0}))
    clips = {}
    for pace in ("units", "auto", "pictures"):
        gif, png = tmp_path / f"{pace}.gif", tmp_path / f"{pace}.png"
        assert cli.main(["animate", str(lat), "--directions", str(out), "--along", "age:-3:3", "--frames", "12",
                         "--size", "0", "--generator", r["gpath"], "--pace", pace, "--regions", "off", "--out", str(gif),
                         "--strip", str(png)]) == 0
        assert len(read_animation(gif)) == 12
        clips[pace] = np.asarray(Image.open(png).convert("RGB"), np.int16)  # lossless: frames of the way out
    tile = r["gen"].resolution * 2  # the first frame (two faces side by side) starts every strip
    for pace in ("auto", "pictures"):  # the same start, other frames in between
        assert np.array_equal(clips[pace][:, :tile], clips["units"][:, :tile])
        assert np.abs(clips[pace] - clips["units"]).mean() > 0.5


def test_a_set_replaced_without_reader_loses_the_old_reader(labeled_run, tmp_path, capsys):
    r = labeled_run
    out = tmp_path / "set.npz"
    base = ["fit", "--run", str(r["run"]), "--db", r["db"], "--out", str(out), "--no-svm"]
    assert cli.main([*base, "--reader", "--reader-epochs", "1"]) == 0 and reader_path(out).exists()
    capsys.readouterr()
    assert cli.main([*base, "--force"]) == 0
    assert out.exists() and not reader_path(out).exists()  # it read the faces of the set it replaced
    assert "removed set.reader.npz" in capsys.readouterr().err


def test_fit_stores_regions_and_edit_draws_only_there(labeled_run, tmp_path):
    from directions.io import load_direction_set
    from directions.regions import set_mask

    r = labeled_run
    out = tmp_path / "set.npz"
    assert cli.main(["fit", "--run", str(r["run"]), "--db", r["db"], "--out", str(out), "--no-svm"]) == 0
    dset = load_direction_set(out)
    assert all(d.region is not None for d in dset.entries.values())  # fitted on the run's faces: regions
    z = sample_z(3, 5, r["gen"].z_dim)
    lat = save_latents(tmp_path / "faces.npz", Latents(r["gen"].generator_id, z=z, w=map_latents(r["gen"], z),
                                                        meta={"truncation_psi": 1.0}))
    pics = {}
    for regions in ("on", "off"):
        assert cli.main(["edit", str(lat), "--directions", str(out), "--set", "age=+3", "--generator", r["gpath"],
                         "--regions", regions, "--out", str(tmp_path / regions)]) == 0
        pics[regions] = np.asarray(Image.open(tmp_path / regions / "compare.png").convert("RGB"), np.int16)
    res = r["gen"].resolution
    before, on, off = pics["on"][:res], pics["on"][res + 4:], pics["off"][res + 4:]
    assert np.array_equal(before, pics["off"][:res])
    outside = np.tile(set_mask(dset, ["age"], res) == 0, (1, 3))[..., None]  # the three faces side by side
    assert outside.mean() > 0.2 and (outside.mean() < 1)
    assert np.abs(on - before)[np.broadcast_to(outside, on.shape)].max() == 0  # outside: the faces as they were
    assert np.abs(off - before)[np.broadcast_to(outside, on.shape)].mean() > 1  # the whole move changes it
    inside = np.broadcast_to(~outside, on.shape)
    assert np.abs(on - before)[inside].mean() > 0.5 * np.abs(off - before)[inside].mean()


def test_a_run_whose_faces_are_not_all_on_disk_fits_without_regions(labeled_run, tmp_path, caplog):
    import shutil

    from directions.fit import fit_run
    from labeler.dataset import load_run_dataset

    r = labeled_run
    data = load_run_dataset(r["db"], r["run"])
    moved = tmp_path / "moved.png"
    shutil.move(data.image_paths[3], moved)  # a face still being drawn, or removed
    try:
        result = fit_run(r["db"], r["run"], compare_svm=False)
    finally:
        shutil.move(moved, data.image_paths[3])
    assert all(d.region is None for d in result.direction_set.entries.values())
    assert result.direction_set.source["regions"].startswith("none")
    assert all(d.region is not None for d in fit_run(r["db"], r["run"], compare_svm=False).direction_set.entries.values())
