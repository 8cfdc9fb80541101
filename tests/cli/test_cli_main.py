"""The console script end to end: help for every subcommand, deterministic sampling, one-line errors."""

import subprocess
import sys

import numpy as np
import pytest
from PIL import Image

import latentlab.cli as cli
from latentlab.core.latents import load_latents


def run(*args, cwd=None):
    return subprocess.run([sys.executable, "-m", "latentlab", *args], capture_output=True, text=True, cwd=cwd)


def test_every_subcommand_has_help():
    parser = cli.build_parser()
    sub = next(a for a in parser._actions if a.dest == "command")
    assert {"sample", "train-generator", "generator-report", "train-oracle"} <= set(sub.choices)
    for name in sub.choices:
        with pytest.raises(SystemExit) as e:
            parser.parse_args([name, "--help"])
        assert e.value.code == 0


def test_sample_is_deterministic(tmp_path):
    for name in ("a", "b"):
        r = run("sample", "--n", "4", "--seed", "3", "--out", str(tmp_path / f"{name}.png"), "--device", "cpu")
        assert r.returncode == 0, r.stderr
    a, b = (np.asarray(Image.open(tmp_path / f"{n}.png")) for n in "ab")
    assert a.shape == (128, 128, 3) and np.array_equal(a, b)
    la, lb = np.load(tmp_path / "a.npz"), np.load(tmp_path / "b.npz")
    assert np.array_equal(la["z"], lb["z"]) and la["w"].shape == (4, 128)
    assert '"seed": 3' in str(la["meta"]) and "generator_id" in str(la["meta"])
    r = run("sample", "--n", "4", "--seed", "4", "--out", str(tmp_path / "c.png"), "--device", "cpu")
    assert not np.array_equal(a, np.asarray(Image.open(tmp_path / "c.png")))


def test_user_errors_are_one_line(tmp_path):
    r = run("sample", "--n", "2", "--out", str(tmp_path / "x.txt"), "--device", "cpu")
    assert r.returncode == 3 and "Traceback" not in r.stderr and "--out must be an image" in r.stderr
    assert r.stderr.strip().count("\n") == 0
    r = run("sample", "--n", "2", "--out", str(tmp_path / "x.png"), "--generator", str(tmp_path / "nope.pt"))
    assert r.returncode == 3 and "does not exist" in r.stderr and "Traceback" not in r.stderr


def test_usage_errors_exit_2_and_debug_shows_the_traceback(tmp_path):
    r = run("sample", "--no-such-option")
    assert r.returncode == 2 and "unrecognized arguments: --no-such-option" in r.stderr
    r = run("--debug", "sample", "--n", "2", "--out", str(tmp_path / "x.txt"), "--device", "cpu")
    assert r.returncode == 3 and "Traceback" in r.stderr and "--out must be an image" in r.stderr


def test_old_option_spellings_still_work(tmp_path):
    r = run("sample", "--n", "2", "--truncation", "0.5", "--out", str(tmp_path / "t.png"), "--device", "cpu")
    assert r.returncode == 0, r.stderr
    assert load_latents(tmp_path / "t.npz").meta["truncation_psi"] == 0.5
