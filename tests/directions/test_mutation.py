"""The mutation explorer: strengths in latent-std units, finer rounds around the pick, saved directions."""

import json

import numpy as np
import pytest

from directions.edit import edit
from directions.io import load_direction_set
from directions.mutation import LatentStats, MutationExplorer, latent_stats, save_into_set
from latentlab.core.errors import UserError


@pytest.fixture
def stats():
    rng = np.random.default_rng(0)
    x = rng.standard_normal((3000, 16)) * np.linspace(0.2, 3.0, 16) + 1.0
    return LatentStats.from_samples(x), x


def test_offsets_have_the_requested_strength_in_latent_stds(stats):
    st, x = stats
    ex = MutationExplorer(st, strength=2.0, n=6, seed=1)
    cands = ex.propose()
    assert cands.shape == (6, 16) and np.allclose(np.linalg.norm(cands, axis=1), 1)
    for u, off in zip(cands, ex.offsets()):
        assert np.isclose(off @ u / (x @ u).std(ddof=1), 2.0, rtol=1e-6)
    tiles = ex.tiles(x[0])
    assert tiles.shape == (6, 16) and np.allclose(tiles - x[0], ex.offsets(), atol=1e-5)
    assert ex.tiles(np.stack([x[0]] * 3)).shape == (6, 3, 16)  # W+ base: same offset on every layer


def test_refining_narrows_around_the_pick(stats):
    st, _ = stats
    ex = MutationExplorer(st, n=5, seed=2, angle=40.0)
    first = ex.propose().copy()
    second = ex.pick(3)
    assert np.allclose(second[0], first[3])
    assert np.allclose(second[1:] @ first[3], np.cos(np.deg2rad(40)))
    third = ex.pick(2)
    assert np.allclose(third[0], second[2])
    assert np.allclose(third[1:] @ second[2], np.cos(np.deg2rad(20)))
    assert ex.history == [3, 2] and ex.round == 2
    with pytest.raises(UserError):
        ex.pick(7)


def test_a_saved_pick_reproduces_the_tile_and_joins_a_set(tmp_path, stats):
    st, x = stats
    ex = MutationExplorer(st, strength=1.5, n=4, seed=3)
    ex.propose()
    with pytest.raises(UserError, match="pick a tile first"):
        ex.to_direction("cute")
    ex.pick(1)
    tile = ex.tiles(x[5])[0]  # tile 0 of the refined round is the pick itself
    path = tmp_path / "mine.npz"
    save_into_set(path, ex.to_direction("cute"), generator_id="g", space="w")
    other = MutationExplorer(st, seed=9)
    other.propose()
    other.pick(0)
    save_into_set(path, other.to_direction("sleepy"), generator_id="g", space="w")
    dset = load_direction_set(path, generator_id="g")
    assert list(dset.entries) == ["cute", "sleepy"] and dset.entries["cute"].kind == "custom"
    assert np.allclose(edit(x[5], dset, {"cute": 1.5})[0], tile, atol=1e-4)
    with pytest.raises(UserError, match="already has a direction named 'cute'"):
        save_into_set(path, other.to_direction("cute"), generator_id="g", space="w")
    assert np.allclose(load_direction_set(path).entries["cute"].vectors, ex.to_direction("cute").vectors)
    save_into_set(path, other.to_direction("cute"), generator_id="g", space="w", overwrite=True)
    assert np.allclose(load_direction_set(path).entries["cute"].vectors, other.to_direction("cute").vectors)
    with pytest.raises(UserError, match="fitted for generator g"):
        save_into_set(path, ex.to_direction("x"), generator_id="h")
    with pytest.raises(UserError, match="not usable"):
        ex.to_direction("a=b")


def test_session_files_round_trip(tmp_path, stats):
    st, x = stats
    ex = MutationExplorer(st, n=4, seed=4)
    ex.propose()
    ex.pick(2)
    ex.save(tmp_path / "s.npz", x[0], "g")
    back, base, gid = MutationExplorer.load(tmp_path / "s.npz")
    assert gid == "g" and np.allclose(base, x[0]) and back.history == [2]
    assert np.allclose(back.candidates, ex.candidates) and np.allclose(back.picked, ex.picked)
    assert np.allclose(back.pick(1), MutationExplorer(**{**ex.__dict__}).pick(1))
    with pytest.raises(UserError, match="no exploration session"):
        MutationExplorer.load(tmp_path / "nope.npz")
    with pytest.raises(UserError, match="explores generator g, but the loaded generator is h"):
        MutationExplorer.load(tmp_path / "s.npz", generator_id="h")
    assert MutationExplorer.load(tmp_path / "s.npz", generator_id="g")[2] == "g"
    (tmp_path / "junk.npz").write_bytes(b"junk")
    with pytest.raises(UserError, match="not a latentlab exploration session"):
        MutationExplorer.load(tmp_path / "junk.npz")


def test_a_session_written_by_the_old_saver_still_loads(tmp_path, stats):
    """Before issue 15 `MutationExplorer.save` wrote this file itself, without a format name (inline here)."""
    st, x = stats
    rng = np.random.default_rng(5)
    candidates = rng.standard_normal((4, 16))
    candidates /= np.linalg.norm(candidates, axis=1, keepdims=True)
    meta = {"strength": 1.5, "n": 4, "seed": 7, "angle": 30.0, "shrink": 0.5, "round": 1, "history": [3],
            "generator_id": "sg2-old", "n_stats": st.n}
    path = tmp_path / "session.npz"
    with open(path, "wb") as f:
        np.savez(f, meta=np.array(json.dumps(meta)), mean=st.mean, cov=st.cov, base=x[0].astype(np.float32),
                 candidates=candidates, picked=candidates[0])
    ex, base, gid = MutationExplorer.load(path, generator_id="sg2-old")
    assert gid == "sg2-old" and np.allclose(base, x[0], atol=1e-6) and ex.history == [3] and ex.round == 1
    assert (ex.strength, ex.n, ex.seed, ex.angle) == (1.5, 4, 7, 30.0) and np.array_equal(ex.picked, candidates[0])
    assert np.array_equal(ex.candidates, candidates) and np.array_equal(ex.stats.cov, st.cov)
    assert ex.pick(2).shape == (4, 16)  # and the exploration goes on


def test_a_session_saved_before_any_round_proposes_first(tmp_path, stats):
    st, x = stats
    MutationExplorer(st, n=3, seed=1).save(tmp_path / "fresh.npz", x[0], "g")
    back, _, _ = MutationExplorer.load(tmp_path / "fresh.npz")
    assert np.allclose(back.candidates, MutationExplorer(st, n=3, seed=1).propose())


def test_latent_stats_of_a_generator(tiny_generator):
    st = latent_stats(tiny_generator, n=500)
    assert st.mean.shape == (32,) and st.cov.shape == (32, 32) and st.n == 500
    assert np.allclose(latent_stats(tiny_generator, n=500).cov, st.cov)  # deterministic
