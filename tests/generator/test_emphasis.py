"""The emphasised face stream shows the chosen classes as often as its weights say, and resumes exactly."""

import json

import numpy as np
import pytest
import torch

from latentlab.core.errors import UserError
from latentlab.generator.emphasis import emphasised_frequencies, emphasised_seeds, parse_emphasis
from latentlab.generator.synthetic.attributes import ATTRIBUTES, marginal_probabilities
from latentlab.generator.synthetic.renderer import render_seed, seed_attributes
from latentlab.generator.training import TRAIN_SEED_OFFSET, TrainConfig, Trainer

SPEC = ["blush=yes:3", "accessory=glasses:3", "accessory=ribbon,hairpin:1.5"]


def test_parse_reads_classes_and_factors_and_refuses_the_rest():
    e = parse_emphasis(SPEC)
    assert e == {"blush=yes": 3.0, "accessory=glasses": 3.0, "accessory=ribbon": 1.5, "accessory=hairpin": 1.5}
    assert parse_emphasis(["none"]) == {}
    for bad in ["blush=yes", "blush:2", "blush=maybe:2", "freckles=yes:2", "blush=yes:0", "blush=yes:-1",
                "blush=yes:x", "blush=yes:1000"]:
        with pytest.raises(UserError) as err:
            parse_emphasis([bad])
        assert "\n" not in str(err.value) and bad in str(err.value)


def test_seed_attributes_are_the_rendered_faces_attributes():
    for seed in (0, 7, TRAIN_SEED_OFFSET + 3):
        assert seed_attributes(seed) == render_seed(seed, size=16)[1]


def test_no_emphasis_is_the_plain_stream():
    assert emphasised_seeds(100, 5, {}) == ([100, 101, 102, 103, 104], 105)
    freq = emphasised_frequencies({})
    for a, p in marginal_probabilities().items():
        assert np.allclose(freq[a], p)


def test_stream_frequencies_match_the_weights():
    e = parse_emphasis(SPEC)
    seeds, _ = emphasised_seeds(TRAIN_SEED_OFFSET, 6000, e)
    expected = emphasised_frequencies(e)
    assert expected["blush"][1] > 0.5 > marginal_probabilities()["blush"][1]  # the weights did raise it
    for a in ("blush", "accessory", "age", "hair_color"):
        seen = np.bincount([getattr(seed_attributes(s), a) for s in seeds], minlength=len(ATTRIBUTES[a])) / len(seeds)
        assert np.abs(seen - expected[a]).max() < 0.03, (a, seen, expected[a])


def test_stream_resumes_from_its_cursor():
    e = parse_emphasis(SPEC)
    whole, end = emphasised_seeds(50, 40, e)
    first, cursor = emphasised_seeds(50, 15, e)
    rest, end2 = emphasised_seeds(cursor, 25, e)
    assert first + rest == whole and end2 == end and end > 50 + 40  # some seeds were skipped
    assert len(set(whole)) == 40 and whole == sorted(whole)


def test_trainer_stores_the_cursor_and_the_cli_stores_the_emphasis(tmp_path, tiny_config):
    from latentlab.cli import main

    cfg = TrainConfig(out_dir=str(tmp_path), total_kimg=0.008, batch=4, r1_interval=2,
                      generator=tiny_config().to_dict(), d_channels={"16": 16, "8": 16, "4": 16},
                      grid_minutes=60, ckpt_minutes=60, threads=1, emphasis=parse_emphasis(SPEC))
    trainer = Trainer(cfg, log=lambda m: None)
    trainer.run()
    state = torch.load(tmp_path / "checkpoint.pt", weights_only=True)
    assert state["nimg"] == 8 and state["cursor"] == trainer.cursor > 8
    again = Trainer(cfg, log=lambda m: None)
    assert again.resume() and again.cursor == trainer.cursor

    common = ["train-generator", "--out", str(tmp_path), "--batch", "4", "--threads", "1"]
    main(common + ["--kimg", "0.012"])  # resuming keeps the stored emphasis
    assert json.loads((tmp_path / "train_config.json").read_text())["emphasis"] == parse_emphasis(SPEC)
    before = torch.load(tmp_path / "checkpoint.pt", weights_only=True)["cursor"]
    assert before > trainer.cursor + 4  # 4 more images, drawn from the emphasised stream
    main(common + ["--kimg", "0.016", "--emphasis", "none"])
    assert json.loads((tmp_path / "train_config.json").read_text())["emphasis"] == {}
    state = torch.load(tmp_path / "checkpoint.pt", weights_only=True)
    assert state["nimg"] == 16 and state["cursor"] == before + 4  # the plain stream: one seed per image
