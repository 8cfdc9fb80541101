"""Gold faces: known answers set by the admin, met by annotators at a set rate, measuring them."""

import numpy as np
import pandas as pd
import pytest

from latentlab.cli import main
from latentlab.core.errors import UserError
from labeler.aggregate import aggregate, gold_accuracy
from labeler.export import aggregated_labels
from labeler.schema import UNSURE
from labeler.service import LabelerOptions, LabelService, parse_faces
from labeler.simulation import SimulatedAnnotator, label_run
from labeler.store import open_store


def truth_for(store, run_id) -> dict[int, dict[str, str]]:
    schema = store.get_run(run_id).schema
    ids = store.item_table(run_id).item_id
    return {int(i): {a.name: a.options[(int(i) * (j + 1)) % len(a.options)] for j, a in enumerate(schema.attributes)}
            for i in ids}


def test_gold_faces_are_met_by_everyone_at_the_rate_and_measure_each_annotator(db_url, make_run):
    run_id = make_run(db_url, n=60, k=1)
    store = open_store(db_url)
    truth = truth_for(store, run_id)
    gold_ids = list(truth)[:10]
    store.set_gold(run_id, {i: truth[i] for i in gold_ids})
    assert store.gold(run_id) == {i: truth[i] for i in gold_ids}
    careful = SimulatedAnnotator("careful", error_rate=0.0, seed=1)
    careless = SimulatedAnnotator("careless", error_rate=0.6, seed=2)
    label_run(db_url, run_id, truth, [careful, careless], k=1, gold_rate=0.3)
    frame = store.labels_frame(run_id)
    on_gold = frame[frame.item_id.isin(gold_ids)]
    ordinary = frame[~frame.item_id.isin(gold_ids)]
    # every ordinary face got its k = 1 label; gold faces are outside k: both annotators met some
    assert sorted(ordinary.item_id) == sorted(set(truth) - set(gold_ids))
    assert set(on_gold.annotator) == {"careful", "careless"}
    assert not on_gold.duplicated(["item_id", "annotator"]).any()  # each gold face at most once per person
    share = len(on_gold) / len(frame)
    assert 0.1 < share < 0.5, share  # about the rate (0.3), while gold faces remain
    acc = gold_accuracy(frame, store.get_run(run_id).schema, store.gold(run_id)).set_index("annotator")
    assert acc.loc["careful", "gold_accuracy"] == 1.0 and acc.loc["careful", "gold_answers"] > 0
    assert acc.loc["careless", "gold_accuracy"] < 0.7
    # without a gold rate nobody is served a gold face
    assert store.next_item(run_id, "newcomer", k=1) is None  # the ordinary faces are done


def test_gold_weighted_aggregation_outvotes_careless_annotators():
    from labeler.schema import parse_schema

    schema = parse_schema({"name": "t", "attributes": [{"name": "color", "kind": "categorical",
                                                         "options": ["red", "green", "blue"]}]})
    rows = []
    gold = {100 + g: {"color": "red"} for g in range(10)}  # 10 gold faces, all red
    for g in gold:  # "good" is always right on gold, the two careless ones always wrong
        rows += [(g, "good", "red"), (g, "sloppy1", "blue"), (g, "sloppy2", "green")]
    # an ordinary face where the two careless annotators agree against the good one
    rows += [(1, "good", "green"), (1, "sloppy1", "blue"), (1, "sloppy2", "blue")]
    frame = pd.DataFrame(rows, columns=["item_id", "annotator", "color"])
    assert aggregate(frame, schema, "majority", item_ids=[1]).at[1, "color"] == "blue"
    weighted = aggregate(frame, schema, "gold_weighted", item_ids=[1, 100], gold=gold)
    assert weighted.at[1, "color"] == "green" and weighted.at[100, "color"] == "red"


def test_the_admin_marks_gold_from_majorities_and_bad_input_changes_nothing(sqlite_url, make_run, tmp_path, capsys):
    run_id = make_run(sqlite_url, n=12, k=2)
    store = open_store(sqlite_url)
    truth = truth_for(store, run_id)
    label_run(sqlite_url, run_id, truth, [SimulatedAnnotator(f"s{i}", 0.0, seed=i) for i in range(2)], k=2)
    service = LabelService(sqlite_url, LabelerOptions(admin_password="secret-pw"))
    empty = service.admin_tables(make_run(sqlite_url, n=4, k=2))["summary"]  # a run nobody has labeled yet
    assert "Agreement needs faces labeled by at least two people" in empty and "Gold accuracy needs gold faces" in empty
    assert parse_faces("3, 1-2,3", 12) == [1, 2, 3]
    for bad, words in (("x", "is not a face number"), ("12", "from 0 to 11"), ("", "give face numbers")):
        with pytest.raises(UserError, match=words):
            service.mark_gold(run_id, bad)
    assert store.gold(run_id) == {}
    assert "3 faces marked gold" in service.mark_gold(run_id, "0-2")
    idx_item = dict(zip(store.item_table(run_id).idx, store.item_table(run_id).item_id))
    assert store.gold(run_id) == {idx_item[i]: truth[idx_item[i]] for i in range(3)}
    table = service.admin_tables(run_id)
    assert {"agreement", "gold_accuracy", "gold_answers"} <= set(table["annotators"].columns)
    assert "3 gold faces" in table["summary"]
    assert "no longer gold" in service.mark_gold(run_id, "2", unmark=True)
    assert len(store.gold(run_id)) == 2
    # an answer outside the schema, or "not sure", cannot be gold
    with pytest.raises(UserError, match="not an option"):
        store.set_gold(run_id, {idx_item[5]: {**truth[idx_item[5]], "hair_color": "plaid"}})
    with pytest.raises(UserError, match="known answer for every attribute"):
        store.set_gold(run_id, {idx_item[5]: {**truth[idx_item[5]], "hair_color": UNSURE}})
    assert len(store.gold(run_id)) == 2
    # the CLI: a CSV of known answers, then the list; a bad file is one line
    csv = tmp_path / "gold.csv"
    pd.DataFrame([{"face": 7, **truth[idx_item[7]]}]).to_csv(csv, index=False)
    assert main(["gold", "--run", str(run_id), "--csv", str(csv), "--db", sqlite_url]) == 0
    assert "3 gold faces: 0, 1, 7" in capsys.readouterr().out
    pd.DataFrame([{"face": 8, "hair_color": "red"}]).to_csv(csv, index=False)
    assert main(["gold", "--run", str(run_id), "--csv", str(csv), "--db", sqlite_url]) == 3
    assert "lacks the columns" in capsys.readouterr().err
    agg = aggregated_labels(sqlite_url, run_id, "gold_weighted")
    assert agg.set_index("idx").loc[7, "hair_color"] == truth[idx_item[7]]["hair_color"]
    assert np.all(agg[store.get_run(run_id).schema.names].notna())
