"""The labeler's CLI: sample-run, list-runs, export-labels, and clear refusals."""

import pandas as pd
import pytest

from latentlab.cli import main
from labeler.export import aggregated_labels
from labeler.schema import default_schema
from labeler.simulation import SimulatedAnnotator, label_run
from labeler.store import open_store


def test_sample_run_then_export_raw_and_aggregated(tiny_generator_file, sqlite_url, workspace, capsys, tmp_path):
    assert main(["sample-run", "--n", "12", "--seed", "3", "--k", "2", "--generator", str(tiny_generator_file),
                 "--device", "cpu", "--db", sqlite_url]) == 0
    out = capsys.readouterr().out
    assert "created run 1: 12 faces, seed 3" in out
    store = open_store(sqlite_url)
    ids, _, _ = store.latents(1)
    schema = default_schema()
    truth = {int(i): {a.name: a.options[int(i) % len(a.options)] for a in schema.attributes} for i in ids}
    label_run(sqlite_url, 1, truth, [SimulatedAnnotator("a", 0.0), SimulatedAnnotator("b", 0.0, seed=1)], k=2)
    a = store.next_item(1, "c", k=3)
    store.skip(1, "c", a.item_id, a.token)

    assert main(["list-runs", "--db", sqlite_url]) == 0
    assert "24 labels, 12 faces done" in capsys.readouterr().out
    assert main(["export-labels", "--db", sqlite_url, "--out", str(tmp_path / "ex")]) == 0
    written = sorted(p.name for p in (tmp_path / "ex").iterdir())
    assert written == sorted(f"run1_{w}.{f}" for w in ("raw", "majority", "dawid_skene", "gold_weighted")
                             for f in ("csv", "parquet"))

    raw = pd.read_csv(tmp_path / "ex" / "run1_raw.csv")
    assert len(raw) == 25 and (raw.kind == "skip").sum() == 1
    labeled = raw[raw.kind == "label"]
    db = store.labels_frame(1)
    assert sorted(labeled.label_id) == sorted(db.label_id)
    for _, r in labeled.iterrows():
        assert r[schema.names].to_dict() == truth[r.item_id]
    pq = pd.read_parquet(tmp_path / "ex" / "run1_raw.parquet")
    assert list(pq.columns) == list(raw.columns) and len(pq) == len(raw)

    agg = pd.read_csv(tmp_path / "ex" / "run1_majority.csv")
    assert len(agg) == 12 and set(agg.n_labels) == {2}
    for _, r in agg.iterrows():
        assert r[schema.names].to_dict() == truth[r.item_id]
    ds = pd.read_parquet(tmp_path / "ex" / "run1_dawid_skene.parquet")
    assert ds[schema.names].to_dict("records") == aggregated_labels(sqlite_url, 1)[schema.names].to_dict("records")


def test_cli_refusals_are_one_line(tiny_generator_file, sqlite_url, workspace, capsys, tmp_path):
    bad = tmp_path / "bad.yaml"
    bad.write_text("name: x\nattributes:\n  - name: age\n    kind: ordinl\n    options: [a, b]\n")
    assert main(["sample-run", "--n", "3", "--schema", str(bad), "--generator", str(tiny_generator_file),
                 "--db", sqlite_url]) == 3
    err = capsys.readouterr().err.strip()
    assert err == f"latentlab: error: {bad}: attribute 'age' has kind 'ordinl'; use one of binary, ordinal, categorical"
    assert main(["export-labels", "--db", sqlite_url, "--run", "5"]) == 3
    assert "there is no run 5" in capsys.readouterr().err
    assert main(["serve", "--annotator-auth", "gradio", "--db", sqlite_url]) == 3
    assert "--users FILE" in capsys.readouterr().err
    assert main(["serve", "--admin-password", "abc", "--db", sqlite_url]) == 3
    assert "at least 6 characters" in capsys.readouterr().err


@pytest.mark.parametrize("command", ["sample-run", "serve", "export-labels", "list-runs", "gold"])
def test_every_command_has_help(command, capsys):
    with pytest.raises(SystemExit) as e:
        main([command, "--help"])
    assert e.value.code == 0 and "usage: latentlab " + command in capsys.readouterr().out


def test_serve_without_a_password_makes_one_up_so_a_first_user_can_edit():
    from latentlab.cli import build_parser
    from latentlab.cli.labeler import ADMIN_ENV, admin_password

    parse = build_parser().parse_args
    first, made_up = admin_password(parse(["serve"]), environ={})
    second, _ = admin_password(parse(["serve"]), environ={})
    assert made_up and len(first) >= 16 and first != second  # random, and long enough for the service's check
    assert admin_password(parse(["serve"]), environ={ADMIN_ENV: "from-env-1"}) == ("from-env-1", False)
    assert admin_password(parse(["serve", "--admin-password", "flag-pw-1"]), environ={ADMIN_ENV: "x"}) == \
        ("flag-pw-1", False)
    assert admin_password(parse(["serve", "--no-admin"]), environ={ADMIN_ENV: "from-env-1"}) == (None, False)
