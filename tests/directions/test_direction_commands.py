"""The CLI from files on disk: edit, animate, explore and directions, with a tiny generator."""

import numpy as np
import pytest
from directions_helpers import TINY
from PIL import Image

import latentlab.cli as cli
from directions.animate import read_animation
from directions.edit import position
from directions.fit import DirectionFitter
from directions.io import DirectionSet, load_direction_set, save_direction_set
from latentlab.generator.interface import map_latents, sample_z
from latentlab.core.latents import Latents, load_latents, save_latents
from latentlab.generator.native import save_native


@pytest.fixture(scope="module")
def files(tmp_path_factory, request):
    import torch

    from latentlab.generator.stylegan2 import StyleGAN2Generator

    tmp = tmp_path_factory.mktemp("cli")
    torch.manual_seed(0)
    gen = StyleGAN2Generator(TINY).eval()
    gpath = save_native(gen, tmp / "gen.safetensors")
    z = sample_z(400, 5, 32)
    w = map_latents(gen, z)
    dset = DirectionSet(generator_id=gen.generator_id, space="w")
    a = np.where(w[:, 0] > np.median(w[:, 0]), "yes", "no")
    c = np.array(["c0", "c1", "c2"])[np.argmax(w[:, 1:4], axis=1)]
    dset.add(DirectionFitter(kind="binary", classes=["no", "yes"], attribute="a", compare_svm=False).fit(w, a).to_direction())
    dset.add(DirectionFitter(kind="categorical", classes=["c0", "c1", "c2"], attribute="c", compare_svm=False).fit(w, c).to_direction())
    spath = save_direction_set(tmp / "set.npz", dset)
    lpath = save_latents(tmp / "faces.npz", Latents(gen.generator_id, z=z[:3], w=w[:3], meta={"truncation_psi": 1.0}))
    other = DirectionSet(generator_id="sg2-16px-0000000000000000", space="w")
    other.add(dset.entries["a"])
    opath = save_direction_set(tmp / "other.npz", other)
    return {"gen": str(gpath), "set": str(spath), "lat": str(lpath), "other": str(opath), "w": w, "dset": dset}


def run(files, *args):
    return cli.main([*args, "--generator", files["gen"], "--device", "cpu"])


def test_edit_writes_latents_comparison_and_looping_animations(files, tmp_path):
    out = tmp_path / "e"
    rc = run(files, "edit", files["lat"], "--directions", files["set"], "--set", "a=+2", "--animate", "a:-2:2",
             "--animate", "c:c2", "--frames", "6", "--size", "40", "--out", str(out))
    assert rc == 0
    edited = load_latents(out / "edited.npz")
    before = load_latents(files["lat"]).w
    assert np.allclose(position(edited.w, files["dset"], "a") - position(before, files["dset"], "a"), 2.0, atol=1e-4)
    assert edited.meta["edit"] == {"a": 2.0} and edited.z is None  # z no longer matches: not kept
    assert Image.open(out / "compare.png").size == (48, 16 * 2 + 4)
    for stem in ("a_-2_2", "c_c2"):
        for suffix in ("gif", "mp4"):
            frames = read_animation(out / f"{stem}.{suffix}")
            assert frames.shape[0] == 6 and max(frames.shape[1:3]) == 40
        assert (out / f"{stem}-strip.png").exists()


def test_edit_on_a_layer_range_writes_w_plus(files, tmp_path):
    assert run(files, "edit", files["lat"], "--directions", files["set"], "--set", "c=c1", "--layers", "0:2",
               "--out", str(tmp_path)) == 0
    ws = load_latents(tmp_path / "edited.npz").ws
    w = load_latents(files["lat"]).w
    assert ws.shape == (3, 6, 32)
    changed = np.abs(ws - w[:, None]).max(axis=(0, 2)) > 1e-4
    assert changed.tolist() == [True, True, False, False, False, False]


def test_animate_walks_and_sweeps(files, tmp_path):
    # --frames is the total, for a walk as for a sweep (3 stops: the nearest multiple of 3)
    assert run(files, "animate", "--seeds", "1,2,3", "--walk", "--frames", "12", "--out", str(tmp_path / "walk.gif"),
               "--strip", str(tmp_path / "walk.png"), "--size", "0") == 0
    walk = read_animation(tmp_path / "walk.gif")
    assert walk.shape == (12, 16, 16, 3)
    assert Image.open(tmp_path / "walk.png").size[1] == 16
    assert run(files, "animate", files["lat"], "--walk", "--space", "w", "--frames", "10",
               "--out", str(tmp_path / "wwalk.mp4"), "--size", "32") == 0
    assert read_animation(tmp_path / "wwalk.mp4").shape == (9, 32, 32, 3)
    assert run(files, "animate", files["lat"], "--index", "1", "--directions", files["set"], "--along", "a",
               "--frames", "8", "--out", str(tmp_path / "a.mp4"), "--size", "32") == 0
    assert read_animation(tmp_path / "a.mp4").shape == (8, 32, 32, 3)


def test_explore_start_pick_save_animate(files, tmp_path):
    session = tmp_path / "s"
    assert run(files, "explore", files["lat"], "--session", str(session), "--grid", "4", "--strength", "1.5") == 0
    assert (session / "round0.png").exists()
    assert run(files, "explore", "--session", str(session), "--pick", "2") == 0
    assert (session / "round1.png").exists()
    target = tmp_path / "mine.npz"
    assert run(files, "explore", "--session", str(session), "--save", "wow", "--directions", str(target),
               "--animate", str(tmp_path / "wow.gif"), "--frames", "5", "--size", "32") == 0
    dset = load_direction_set(target)
    assert list(dset.entries) == ["wow"] and dset.entries["wow"].metrics["picks"] == [2]
    assert read_animation(tmp_path / "wow.gif").shape == (5, 32, 32, 3)
    assert run(files, "edit", files["lat"], "--directions", str(target), "--set", "wow=1.5",
               "--out", str(tmp_path / "e")) == 0


def test_explore_keeps_saved_directions_and_sessions_unless_forced(files, tmp_path, capsys):
    session, target = tmp_path / "s", tmp_path / "mine.npz"
    assert run(files, "explore", files["lat"], "--session", str(session), "--grid", "4") == 0
    assert run(files, "explore", "--session", str(session), "--pick", "1") == 0
    assert run(files, "explore", "--session", str(session), "--save", "wow", "--directions", str(target)) == 0
    saved = load_direction_set(target).entries["wow"].vectors.copy()
    assert run(files, "explore", "--session", str(session), "--pick", "2") == 0
    capsys.readouterr()
    assert run(files, "explore", "--session", str(session), "--save", "wow", "--directions", str(target)) == 3
    err = capsys.readouterr().err
    assert "'wow'" in err and "--force" in err and len(err.strip().splitlines()) == 1
    assert np.array_equal(load_direction_set(target).entries["wow"].vectors, saved)  # untouched
    assert run(files, "explore", "--session", str(session), "--save", "wow2", "--directions", str(target)) == 0
    assert run(files, "explore", "--session", str(session), "--save", "wow", "--directions", str(target),
               "--force") == 0
    replaced = load_direction_set(target)
    assert list(replaced.entries) == ["wow", "wow2"] and not np.array_equal(replaced.entries["wow"].vectors, saved)
    # restarting over a session with picks also needs --force
    before = (session / "session.npz").read_bytes()
    assert run(files, "explore", files["lat"], "--session", str(session)) == 3
    assert "--force" in capsys.readouterr().err and (session / "session.npz").read_bytes() == before
    assert run(files, "explore", files["lat"], "--session", str(session), "--force") == 0
    assert (session / "session.npz").read_bytes() != before


def test_animate_without_out_names_the_file_by_what_it_shows(files, tmp_path, monkeypatch):
    monkeypatch.setenv("LATENTLAB_WORKSPACE", str(tmp_path))
    along = ["animate", "--seeds", "0,1,2", "--directions", files["set"], "--along", "a:3", "--frames", "4",
             "--size", "0"]
    assert run(files, *along) == 0
    assert run(files, *along) == 0  # a second export keeps the first
    assert run(files, "animate", files["lat"], "--index", "1", "--walk", "--space", "w", "--frames", "2") == 3
    assert run(files, "animate", files["lat"], "--walk", "--space", "w", "--frames", "6", "--size", "0") == 0
    names = sorted(p.name for p in (tmp_path / "exports").iterdir())
    assert names == ["a-+3_set-set_seeds-0-1-2-2.gif", "a-+3_set-set_seeds-0-1-2.gif", "walk-w_from-faces.gif"]
    assert read_animation(tmp_path / "exports" / names[1]).shape == (4, 16, 48, 3)


def test_show_and_one_line_errors(files, tmp_path, capsys):
    assert cli.main(["directions", files["set"]]) == 0
    shown = capsys.readouterr().out
    assert "a" in shown and "binary" in shown and "categorical" in shown and "c=CLASS" in shown
    assert run(files, "edit", files["lat"], "--directions", files["other"], "--set", "a=1", "--out", str(tmp_path)) == 3
    err = capsys.readouterr().err
    assert "fitted for generator sg2-16px-0000000000000000" in err and "Traceback" not in err
    assert run(files, "edit", files["lat"], "--directions", files["set"], "--out", str(tmp_path)) == 3
    assert "nothing to do" in capsys.readouterr().err
    assert run(files, "edit", files["lat"], "--directions", files["set"], "--set", "c=2", "--out", str(tmp_path)) == 3
    assert "categorical" in capsys.readouterr().err
    assert run(files, "animate", "--walk", "--seeds", "1", "--out", str(tmp_path / "x.gif")) == 3
    assert "at least 2 latents" in capsys.readouterr().err
    assert run(files, "explore", "--session", str(tmp_path / "none"), "--pick", "1") == 3
    assert "no exploration session" in capsys.readouterr().err


def test_frames_mean_the_total_and_default_to_the_apps_36(files, tmp_path):
    assert run(files, "animate", files["lat"], "--directions", files["set"], "--along", "a", "--size", "0",
               "--out", str(tmp_path / "d.gif")) == 0
    assert read_animation(tmp_path / "d.gif").shape[0] == 36
    assert cli.build_parser().parse_args(["edit", "x.npz", "--directions", "s.npz"]).frames == 36


def test_amounts_beyond_the_sliders_are_clamped_with_a_warning(files, tmp_path, capsys):
    assert run(files, "edit", files["lat"], "--directions", files["set"], "--set", "a=+9",
               "--out", str(tmp_path / "e")) == 0
    err = capsys.readouterr().err
    assert "--set a: +9 units is beyond ±4" in err and "using +4" in err
    assert load_latents(tmp_path / "e" / "edited.npz").meta["edit"] == {"a": 4.0}


def test_a_sweep_that_would_not_move_is_refused_with_the_reason(files, tmp_path, capsys):
    out = tmp_path / "e"
    assert run(files, "edit", files["lat"], "--directions", files["set"], "--set", "c=c2", "--animate", "c:c2",
               "--frames", "4", "--out", str(out)) == 3
    err = capsys.readouterr().err
    assert "would not move anything" in err and "--set c=c2" in err and len(err.strip().splitlines()) == 1
    assert not list(out.glob("*.gif"))
    assert run(files, "animate", files["lat"], "--directions", files["set"], "--along", "a:1:1",
               "--out", str(tmp_path / "still.gif")) == 3
    assert "starts and ends at +1" in capsys.readouterr().err and not (tmp_path / "still.gif").exists()
