import json

import numpy as np
import pytest

from latentlab.core.errors import UserError
from latentlab.core.latents import Latents, load_latents, save_latents
from latentlab.generator.metrics import kernel_distance, total_variation


def test_latents_round_trip(tmp_path):
    lat = Latents(generator_id="sg2-x", w=np.ones((2, 4), np.float32), z=np.zeros((2, 3), np.float32), meta={"seed": 3})
    back = load_latents(save_latents(tmp_path / "l.npz", lat))
    assert back.generator_id == "sg2-x" and back.meta["seed"] == 3
    assert np.array_equal(back.w, lat.w) and back.as_ws(5).shape == (2, 5, 4)
    with pytest.raises(UserError, match="belong to generator"):
        back.check_generator("sg2-other")


def test_latents_refuse_pickles_and_junk(tmp_path):
    bad = tmp_path / "bad.npz"
    np.savez(bad, meta=np.array(json.dumps({"generator_id": "x"})), w=np.array([object()], dtype=object))
    with pytest.raises(UserError, match="not a latentlab latent file"):
        load_latents(bad)
    junk = tmp_path / "junk.npz"
    junk.write_bytes(b"not a zip")
    with pytest.raises(UserError):
        load_latents(junk)


def test_total_variation():
    assert total_variation([1, 0], [0, 1]) == 1.0
    assert total_variation([0.5, 0.5], [0.5, 0.5]) == 0.0
    assert abs(total_variation([0.6, 0.4], [0.5, 0.5]) - 0.1) < 1e-12


def test_kernel_distance_separates_distributions():
    rng = np.random.default_rng(0)
    a, b = rng.normal(size=(400, 8)), rng.normal(size=(400, 8))
    shifted = rng.normal(size=(400, 8)) + 0.5
    same, _ = kernel_distance(a, b, n_subsets=10, subset_size=200)
    diff, _ = kernel_distance(a, shifted, n_subsets=10, subset_size=200)
    assert abs(same) < 0.05 and diff > 10 * max(abs(same), 1e-3)
