"""`latentlab fit --run` end to end: a run in a real SQLite store, labeled by simulated annotators."""

import numpy as np
import pytest

import latentlab.cli as cli
from directions.edit import edit, position
from directions.io import load_direction_set
from latentlab.core.latents import Latents, save_latents

pytest.importorskip("labeler.dataset")
pytest.importorskip("labeler.simulation")


def test_fit_from_a_labeled_run_then_edit(labeled_run, tmp_path, capsys, monkeypatch):
    monkeypatch.setenv("LATENTLAB_WORKSPACE", str(tmp_path))
    r = labeled_run
    out = tmp_path / "set.npz"
    assert cli.main(["fit", "--run", str(r["run"]), "--db", r["db"], "--condition", "age:blush",
                     "--out", str(out)]) == 0
    printed = capsys.readouterr().out
    assert "cv_accuracy" in printed and "age|blush" in printed
    dset = load_direction_set(out, generator_id=r["gen"].generator_id)
    assert dset.source["run_id"] == r["run"] and dset.space == "w" and dset.schema["name"] == "tiny"
    assert list(dset.entries) == ["blush", "age", "hair", "age|blush"]
    blush = dset.entries["blush"]
    assert blush.metrics["n_labels"] == 240 and blush.metrics["cv_accuracy"] > 0.8
    assert blush.vectors[0][0] > 0.5  # the truth is the sign of w[0]: the direction points along +w0
    assert np.all(np.diff(dset.entries["age"].class_positions[0]) > 0)
    # move fresh faces by the class gap: the truth rule now says "yes"
    from latentlab.generator.interface import map_latents, sample_z
    w = map_latents(r["gen"], sample_z(50, 99, 32))
    no = w[w[:, 0] - r["w0"][0] < 0]
    moved = edit(no, dset, {"blush": "yes"})
    assert np.mean(moved[:, 0] - r["w0"][0] > 0) > 0.8
    to_blue = edit(w, dset, {"hair": "blue"})
    assert np.mean(np.argmax(to_blue[:, 3:6] - r["w0"][3:6], axis=1) == 2) > 0.8
    # and the CLI edits a latent file with it
    lat = save_latents(tmp_path / "f.npz", Latents(r["gen"].generator_id, w=w[:2]))
    assert cli.main(["edit", str(lat), "--directions", str(out), "--set", "age|blush=+2", "--out", str(tmp_path / "e"),
                     "--generator", r["gpath"], "--device", "cpu"]) == 0
    assert np.allclose(position(w[:2], dset, "blush"),
                       position(np.load(tmp_path / "e" / "edited.npz")["w"], dset, "blush"), atol=1e-4)


def test_fit_refuses_thin_runs_and_unknown_attributes(labeled_run, tmp_path, capsys):
    r = labeled_run
    assert cli.main(["fit", "--run", str(r["run"]), "--db", r["db"], "--min-per-class", "500",
                     "--out", str(tmp_path / "x.npz")]) == 3
    assert "too few labels" in capsys.readouterr().err and not (tmp_path / "x.npz").exists()
    assert cli.main(["fit", "--run", str(r["run"]), "--db", r["db"], "--attributes", "smile",
                     "--out", str(tmp_path / "x.npz")]) == 3
    assert "no attribute smile" in capsys.readouterr().err
    assert cli.main(["fit", "--run", str(r["run"]), "--db", r["db"], "--attributes", "blush", "--space", "z",
                     "--aggregation", "dawid_skene", "--no-svm", "--out", str(tmp_path / "z.npz")]) == 0
    z = load_direction_set(tmp_path / "z.npz")
    assert z.space == "z" and z.dim == 32 and list(z.entries) == ["blush"]
    assert z.source["aggregation"] == "dawid_skene" and z.entries["blush"].metrics["svm_cv_accuracy"] is None


def test_fit_keeps_an_existing_set_unless_forced(labeled_run, tmp_path, capsys):
    r = labeled_run
    out = tmp_path / "set.npz"
    out.write_bytes(b"an earlier set")
    fit = ["fit", "--run", str(r["run"]), "--db", r["db"], "--attributes", "blush", "--no-svm", "--out", str(out)]
    assert cli.main(fit) == 3
    err = capsys.readouterr().err
    assert "already exists" in err and "--force" in err and len(err.strip().splitlines()) == 1
    assert out.read_bytes() == b"an earlier set"
    assert cli.main([*fit, "--force"]) == 0
    assert list(load_direction_set(out).entries) == ["blush"]
