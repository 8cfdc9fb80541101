"""The attribute reader: learns a planted attribute from pictures and labels, round-trips, refuses bad files."""

import numpy as np
import pandas as pd
import pytest
import torch

from directions.reader import load_reader, reader_path, save_reader, train_reader
from latentlab.core.errors import GeneratorMismatch, UserError


def planted(n: int, seed: int) -> tuple[np.ndarray, pd.DataFrame]:
    """Noisy 64 px pictures whose top half is reddish ('warm') or bluish ('cool'); 10 % unlabeled."""
    rng = np.random.default_rng(seed)
    warm = rng.random(n) < 0.5
    img = rng.integers(60, 140, (n, 64, 64, 3)).astype(np.int16)
    img[warm, :32, :, 0] += 100
    img[~warm, :32, :, 2] += 100
    labels = np.where(warm, "warm", "cool").astype(object)
    labels[rng.random(n) < 0.1] = None
    return img.clip(0, 255).astype(np.uint8), pd.DataFrame({"tone": labels})


@pytest.fixture(scope="module")
def reader():
    torch.set_num_threads(1)
    images, labels = planted(160, 0)
    return train_reader(images, labels, {"tone": ["cool", "warm"]}, generator_id="gen-a", epochs=6,
                        width=8, holdout=0.25)


def test_reader_learns_a_planted_attribute_from_labels(reader):
    assert reader.meta["holdout_accuracy"]["tone"] >= 0.9
    images, labels = planted(60, 1)
    proba = reader.predict_proba(images, "tone")["tone"]
    known = labels["tone"].notna().to_numpy()
    truth = (labels["tone"][known] == "warm").to_numpy()
    assert np.mean((proba[known, 1] > 0.5) == truth) >= 0.9


def test_reader_file_round_trips_and_refuses_other_generators_and_damage(reader, tmp_path):
    path = save_reader(reader_path(tmp_path / "set.npz"), reader)
    assert path.name == "set.reader.npz"
    images, _ = planted(8, 2)
    again = load_reader(path, generator_id="gen-a")
    assert np.array_equal(again.predict_proba(images)["tone"], reader.predict_proba(images)["tone"])
    with pytest.raises(GeneratorMismatch, match="gen-a"):
        load_reader(path, generator_id="gen-b")
    data = dict(np.load(path, allow_pickle=False))
    data["p/heads.tone.weight"] = data["p/heads.tone.weight"][:, :5]  # an edited tensor
    np.savez(tmp_path / "edited.npz", **data)
    with pytest.raises(UserError, match="damaged attribute reader") as err:
        load_reader(tmp_path / "edited.npz")
    assert "\n" not in str(err.value)
    with pytest.raises(UserError, match="knows no attribute"):
        reader.predict_proba(images, "hair")
