"""--class: conditional generators draw the chosen class in every command that loads a generator."""

import sys
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

sys.path.insert(0, str(Path(__file__).parents[1] / "generator"))
import _ref_checkpoints as ckpts  # noqa: E402

import latentlab.cli as cli  # noqa: E402
from latentlab.cli.common import EXIT_USER, set_class  # noqa: E402
from latentlab.core.errors import UserError  # noqa: E402
from latentlab.core.latents import load_latents  # noqa: E402
from latentlab.generator.interface import image_grid, render, sample_z  # noqa: E402
from latentlab.generator.loading import load_generator  # noqa: E402
from labeler.store import open_store  # noqa: E402

RES, Z, W, LAYERS, C = 16, 24, 32, 3, 5


@pytest.fixture(scope="module")
def conditional(tmp_path_factory):
    """A conditional NVlabs StyleGAN2 pickle with C classes (as tests/generator/test_loaders_conditional.py)."""
    tensors = ckpts.conditional_nvlabs_tensors(RES, Z, W, LAYERS, C)
    return ckpts.write_nvlabs(tmp_path_factory.mktemp("cond") / "conditional.pkl", tensors, RES, Z, W, LAYERS,
                              c_dim=C)


def sample(path, out: Path, *options: str) -> int:
    return cli.main(["sample", "--generator", str(path), "--device", "cpu", "--n", "3", "--seed", "5",
                     "--truncation-psi", "0.7", "--out", str(out), *options])


def test_sample_draws_the_chosen_class_and_records_it(conditional, tmp_path):
    gen = load_generator(conditional, "cpu")
    z = torch.from_numpy(sample_z(3, 5, Z))
    grids = {}
    for cls in (1, 2):
        out = tmp_path / f"class{cls}.png"
        assert sample(conditional, out, "--class", str(cls)) == 0
        grids[cls] = np.asarray(Image.open(out))
        latents = load_latents(out.with_suffix(".npz"))
        with torch.no_grad():
            expected_w = gen.mapping(z, 0.7, c=cls).numpy()
        assert np.abs(latents.w - expected_w).max() < 1e-5
        assert latents.meta["class_label"] == cls
        assert np.array_equal(grids[cls], image_grid(render(gen, latents.w)))
    assert np.abs(grids[1].astype(int) - grids[2].astype(int)).max() > 50  # another class, other faces
    assert sample(conditional, tmp_path / "default.png") == 0  # no --class: class 0, recorded too
    latents = load_latents(tmp_path / "default.npz")
    with torch.no_grad():
        assert np.abs(latents.w - gen.mapping(z, 0.7, c=0).numpy()).max() < 1e-5
    assert latents.meta["class_label"] == 0


def one_line_error(capsys, argv) -> str:
    assert cli.main(argv) == EXIT_USER
    err = capsys.readouterr().err.strip()
    assert err.startswith("latentlab: error: ") and "\n" not in err and "Traceback" not in err
    return err


def test_classes_outside_the_generator_and_unconditional_generators_are_refused(conditional, tmp_path, capsys):
    for cls in ("7", "5", "-1"):
        err = one_line_error(capsys, ["sample", "--generator", str(conditional), "--device", "cpu", "--n", "1",
                                      "--class", cls, "--out", str(tmp_path / "x.png")])
        assert err.endswith(f"--class {cls} is outside this generator's classes 0..4")
    err = one_line_error(capsys, ["sample", "--device", "cpu", "--n", "1", "--class", "3",  # the shipped generator
                                  "--out", str(tmp_path / "y.png")])
    assert "--class 3 needs a conditional generator" in err
    assert not list(tmp_path.iterdir())


def test_a_generator_without_c_dim_has_no_classes():
    class Opaque:  # what a TorchScript generator looks like to set_class: no c_dim attribute
        class_label = 0

    with pytest.raises(UserError, match="needs a conditional generator"):
        set_class(Opaque(), 0)


@pytest.mark.parametrize("command", ["sample", "sample-run", "serve", "invert", "edit", "animate", "explore",
                                     "generator-report"])
def test_every_command_that_loads_a_generator_takes_class(command):
    parser = cli.build_parser()
    sub = next(a for a in parser._actions if a.dest == "command").choices[command]
    action = next(a for a in sub._actions if a.dest == "class_label")
    assert action.option_strings == ["--class"] and action.default is None and action.type is int


def test_sample_run_stores_the_faces_of_the_chosen_class(conditional, tmp_path, capsys):
    from labeler.dataset import load_run_dataset

    db = f"sqlite:///{tmp_path / 'store.sqlite'}"
    assert cli.main(["sample-run", "--generator", str(conditional), "--device", "cpu", "--n", "4", "--seed", "2",
                     "--class", "4", "--db", db, "--workspace", str(tmp_path)]) == 0
    data = load_run_dataset(db, 1)
    gen = load_generator(conditional, "cpu")
    with torch.no_grad():
        expected = gen.mapping(torch.from_numpy(data.z), data.truncation_psi, c=4).numpy()
        other = gen.mapping(torch.from_numpy(data.z), data.truncation_psi, c=0).numpy()
    assert np.abs(data.w - expected).max() < 1e-5 and np.abs(data.w - other).max() > 1e-2
    assert data.class_label == 4  # the run records its class ...
    assert cli.main(["list-runs", "--db", db, "--workspace", str(tmp_path)]) == 0
    assert capsys.readouterr().out.rstrip().endswith("| class 4")


def test_directions_fitted_on_a_run_record_its_class(conditional, tmp_path):
    """A conditional generator's run holds one class; the directions fitted on it say which."""
    from directions.fit import fit_run
    from labeler.runs import create_run
    from labeler.simulation import SimulatedAnnotator, label_run

    db = f"sqlite:///{tmp_path / 'store.sqlite'}"
    gen = load_generator(conditional, "cpu")
    set_class(gen, 3)
    run_id = create_run(db, gen, n=60, seed=1, truncation_psi=1.0, k=1, workspace=tmp_path)
    assert open_store(db).get_run(run_id).class_label == 3
    item_ids, _, w = open_store(db).latents(run_id)
    long_hair = w[:, 0] > np.median(w[:, 0])  # a made-up truth: the labels only need to be learnable
    truth = {int(i): {"hair_length": "long" if h else "short"} for i, h in zip(item_ids, long_hair)}
    label_run(db, run_id, truth, [SimulatedAnnotator("ann", error_rate=0.0)], k=1)
    dset = fit_run(db, run_id, attributes=["hair_length"], compare_svm=False).direction_set
    assert dset.source["class_label"] == 3


def test_an_unconditional_run_records_no_class(tmp_path):
    from labeler.runs import start_run

    db = f"sqlite:///{tmp_path / 'store.sqlite'}"
    run_id = start_run(db, load_generator(None, "cpu"), n=2, seed=0, truncation_psi=1.0, workspace=tmp_path)
    run = open_store(db).get_run(run_id)
    assert run.class_label is None and run.class_note == ""
