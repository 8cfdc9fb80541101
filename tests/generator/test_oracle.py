"""The shipped oracle reads held-out renders correctly: it is the instrument of every benchmark."""

import numpy as np
import pytest

from latentlab.generator.synthetic.attributes import ATTRIBUTES
from latentlab.generator.synthetic.oracle import evaluate_oracle, load_oracle
from latentlab.generator.synthetic.renderer import render_batch


@pytest.fixture(scope="module")
def oracle():
    return load_oracle()


def test_accuracy_on_held_out_renders(oracle):
    acc = evaluate_oracle(oracle, n=400, start_seed=90_000)
    assert set(acc) == set(ATTRIBUTES)
    for name, value in acc.items():
        assert value >= 0.97, f"{name}: {value:.3f}"


def test_outputs_are_probabilities_and_features(oracle):
    imgs, labels = render_batch(range(91_000, 91_016))
    proba = oracle.predict_proba(imgs)
    for name, p in proba.items():
        assert p.shape == (16, len(ATTRIBUTES[name]))
        assert np.allclose(p.sum(1), 1, atol=1e-5)
    assert oracle.features(imgs).shape[0] == 16
    big = np.repeat(np.repeat(imgs, 2, axis=1), 2, axis=2)  # any input size is resized to 64
    agree = np.mean([np.mean(oracle.predict(big)[k] == labels[k]) for k in ATTRIBUTES])
    assert agree >= 0.9


def test_eye_colour_is_scored_only_where_eyes_are_visible():
    from latentlab.generator.synthetic.attributes import visible_mask

    labels = {"eye_state": np.array([0, 1, 2, 2]), "eye_color": np.array([1, 2, 3, 4])}
    assert visible_mask("eye_color", labels).tolist() == [True, True, False, False]
    assert visible_mask("mouth", labels).all()


# Leave-one-style-out: the shipped oracle never saw the held-out drawing style. Floors measured with
# `latentlab oracle-report --n 1000 --styles ink` (docs/oracle.md) minus 0.003, rounded to the
# hundredth below (ceilings: plus 0.003, rounded above). They are the shipped oracle's: the
# original classic-only oracle, which the style-trained candidates did not yet beat on classic.
HELD_OUT_FLOOR = {"hair_color": 0.99, "hair_length": 0.99, "eye_color": 0.98, "eye_state": 0.97, "age": 0.98,
                  "mouth": 0.68, "blush": 0.99, "accessory": 0.90}
HELD_OUT_ECE_CEILING = {"hair_color": 0.01, "hair_length": 0.01, "eye_color": 0.03, "eye_state": 0.02, "age": 0.02,
                        "mouth": 0.28, "blush": 0.01, "accessory": 0.06}
TRAINED_STYLES = ("classic",)  # the styles the shipped oracle trained on (all TRAINING_STYLES once retrained)
TRAINED_STYLE_FLOOR = 0.995


def test_leave_one_style_out_accuracy_and_calibration_meet_the_stored_floors(oracle):
    from latentlab.generator.synthetic.oracle import oracle_report
    from latentlab.generator.synthetic.renderer import HELD_OUT_STYLE

    report = oracle_report(oracle, styles=(HELD_OUT_STYLE,), n=1000, start_seed=0)[HELD_OUT_STYLE]
    for name in ATTRIBUTES:
        assert report["accuracy"][name] >= HELD_OUT_FLOOR[name], (name, report["accuracy"][name])
        assert report["ece"][name] <= HELD_OUT_ECE_CEILING[name], (name, report["ece"][name])


# The generalising oracle: three networks trained apart on every style but the held-out one, read as one
# (docs/oracle.md, "Fifth"). Floors from `latentlab oracle-report --n 1000 --styles ink --oracle <the three>`
# minus 0.003, rounded down; they are the goal (>= 0.95, ECE <= 0.05) or above it.
GENERALISING_MEMBERS = ("w48x", "w48e", "w48f")
GENERALISING_FLOOR = {"hair_color": 0.99, "hair_length": 0.99, "eye_color": 0.99, "eye_state": 0.99, "age": 0.95,
                      "mouth": 0.99, "blush": 0.99, "accessory": 0.95}
GENERALISING_ECE_CEILING = 0.05


def test_the_generalising_ensemble_reads_the_held_out_style_at_the_goal():
    from pathlib import Path

    from latentlab.generator.synthetic.oracle import ensemble_oracle, oracle_report
    from latentlab.generator.synthetic.renderer import HELD_OUT_STYLE

    folder = Path(__file__).resolve().parents[2] / "checkpoints" / "oracle"  # committed with the repository
    paths = [folder / f"{m}.safetensors" for m in GENERALISING_MEMBERS]
    report = oracle_report(ensemble_oracle(paths), styles=(HELD_OUT_STYLE,), n=1000, start_seed=0)[HELD_OUT_STYLE]
    for name in ATTRIBUTES:
        assert report["accuracy"][name] >= GENERALISING_FLOOR[name], (name, report["accuracy"][name])
        assert report["ece"][name] <= GENERALISING_ECE_CEILING, (name, report["ece"][name])


def test_trained_styles_are_read_almost_perfectly(oracle):
    from latentlab.generator.synthetic.oracle import oracle_report

    for style, r in oracle_report(oracle, styles=TRAINED_STYLES, n=300, start_seed=93_000).items():
        for name, value in r["accuracy"].items():
            assert value >= TRAINED_STYLE_FLOOR, (style, name, value)


def test_expected_calibration_error():
    from latentlab.generator.synthetic.oracle import expected_calibration_error

    labels = np.array([0, 1, 1, 0] * 25)
    sure = np.eye(2)[labels]
    assert expected_calibration_error(sure, labels) == 0
    assert expected_calibration_error(sure[:, ::-1], labels) == pytest.approx(1.0)
    proba = np.tile([0.8, 0.2], (100, 1))  # 80 % confident in class 0, right 80 % of the time
    assert expected_calibration_error(proba, np.r_[np.zeros(80, int), np.ones(20, int)]) == pytest.approx(0, abs=1e-9)


def test_style_augment_keeps_images_in_range():
    import torch

    from latentlab.generator.synthetic.oracle import images_to_tensor, style_augment

    x = images_to_tensor(render_batch(range(91_000, 91_016))[0])
    y = style_augment(x.clone(), torch.Generator().manual_seed(0))
    assert y.shape == x.shape and y.min() >= -1 and y.max() <= 1 and not torch.equal(x, y)


def test_stray_strokes_draw_thin_dark_lines_on_the_chosen_share_only():
    import torch

    from latentlab.generator.synthetic.oracle import images_to_tensor, stray_strokes

    x = images_to_tensor(render_batch(range(91_000, 91_016))[0])
    every = stray_strokes(x, torch.Generator().manual_seed(1), share=1.0)
    changed = (every != x).any(1)  # [N, H, W] pixels touched
    assert every.min() >= -1 and every.max() <= 1
    assert changed.flatten(1).any(1).all()  # every image got a stroke
    assert (changed.flatten(1).sum(1) <= 4 * 24).all()  # thin: at most 24 pixels per stroke
    assert ((every - x).sum(1)[changed] < 0).float().mean() > 0.9  # they darken what they touch
    assert torch.equal(stray_strokes(x, torch.Generator().manual_seed(1), share=0.0), x)


def test_oracle_report_command_prints_the_tables(capsys):
    from latentlab.cli import main

    assert main(["oracle-report", "--n", "16", "--styles", "classic,ink", "--threads", "1"]) == 0
    out = capsys.readouterr().out
    assert "| ink (held out) |" in out and "| classic |" in out and "expected calibration error" in out


def test_a_wider_oracle_trains_resumes_and_reloads_with_its_width(tmp_path):
    import torch

    from latentlab.generator.synthetic.oracle import save_oracle, train_oracle

    ckpt, logged = tmp_path / "o.ckpt", []
    kw = dict(n_train=64, epochs=2, batch=32, width=16, heavy_share_end=0.1, bf16=True, checkpoint=ckpt,
              calibrate=False, evaluate_n=32)
    net, _ = train_oracle(**kw, log=logged.append)
    assert ckpt.exists() and not any("resuming" in m for m in logged)
    again, _ = train_oracle(**kw, log=logged.append)  # the same call resumes after the last epoch
    assert any("resuming after epoch 2" in m for m in logged)
    path = save_oracle(net, tmp_path / "o.safetensors", {})
    loaded = load_oracle(path=path)
    assert loaded.net.width == 16 and loaded.meta["width"] == "16"
    x = torch.zeros(2, 3, 64, 64)
    with torch.no_grad():
        assert torch.equal(net.eval()(x)["age"], loaded.net(x)["age"])
        assert torch.equal(again.eval()(x)["age"], loaded.net(x)["age"])


def test_an_oracle_file_asking_for_an_absurd_width_is_refused_before_building(tmp_path):
    import json

    import torch
    from safetensors.torch import save_file

    from latentlab.core.errors import UserError
    from latentlab.generator.synthetic.oracle import ORACLE_FORMAT

    path = tmp_path / "huge.safetensors"
    save_file({"x": torch.zeros(1)}, str(path), metadata={"format": ORACLE_FORMAT, "attributes": json.dumps(ATTRIBUTES),
                                                            "width": "1000000"})
    with pytest.raises(UserError, match="channels wide"):
        load_oracle(path=path)
    save_file({"x": torch.zeros(1)}, str(path), metadata={"format": ORACLE_FORMAT, "attributes": json.dumps(ATTRIBUTES)})
    with pytest.raises(UserError, match="does not hold the weights"):
        load_oracle(path=path)


def test_an_ensemble_file_reads_the_mean_of_its_members_and_refuses_what_it_cannot_be(tmp_path, capsys):
    import json

    import torch
    from safetensors.torch import save_file

    from latentlab.cli import EXIT_USER, main
    from latentlab.core.errors import UserError
    from latentlab.generator.synthetic.oracle import ORACLE_FORMAT, OracleNet, save_oracle, train_oracle

    paths = []
    for seed, width in ((1, 8), (2, 12)):  # two small networks of different widths, random weights
        torch.manual_seed(seed)
        paths.append(save_oracle(OracleNet(width=width).eval(), tmp_path / f"m{seed}.safetensors", {}))
    out = tmp_path / "ens.safetensors"
    assert main(["oracle-ensemble", *map(str, paths), "--out", str(out)]) == 0
    ens, members = load_oracle(path=out), [load_oracle(path=p) for p in paths]
    images, _ = render_batch(range(6), style="ink")
    p, parts = ens.predict_proba(images), [m.predict_proba(images) for m in members]
    for k in ATTRIBUTES:
        np.testing.assert_allclose(p[k], (parts[0][k] + parts[1][k]) / 2, atol=1e-6)
        np.testing.assert_allclose(p[k].sum(1), 1.0, atol=1e-5)
    assert ens.features(images).shape == (6, 256 * 2)
    assert json.loads(ens.meta["member_files"]) == ["m1.safetensors", "m2.safetensors"]
    capsys.readouterr()
    assert main(["oracle-report", "--n", "4", "--styles", "ink", "--threads", "1", "--oracle", *map(str, paths)]) == 0
    assert "| ink (held out) |" in capsys.readouterr().out  # several files: read as one ensemble

    assert main(["oracle-ensemble", str(paths[0]), "--out", str(tmp_path / "one.safetensors")]) == EXIT_USER
    nested = ["oracle-ensemble", str(out), str(paths[0]), "--out", str(tmp_path / "nested.safetensors")]
    assert main(nested) == EXIT_USER
    assert "member files" in capsys.readouterr().err
    with pytest.raises(UserError, match="member files"):
        train_oracle(n_train=32, epochs=1, init=out)
    meta = {"format": ORACLE_FORMAT, "attributes": json.dumps(ATTRIBUTES)}
    for members, message in (("[8, 8, 8, 8, 8, 8, 8, 8, 8]", "too long"), ("[8, 1000000]", "channels wide"),
                             ("not json", "unreadable")):
        save_file({"x": torch.zeros(1)}, str(out), metadata={**meta, "members": members})
        with pytest.raises(UserError, match=message):
            load_oracle(path=out)
