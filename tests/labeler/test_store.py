"""The label store against SQLite and a real PostgreSQL server: assignment, idempotency, refusals."""

import threading
import time
from collections import Counter

import numpy as np
import pytest
from sqlalchemy import func, select, text

from latentlab.core.errors import UserError
from labeler.schema import UNSURE
from labeler.store import SCHEMA_VERSION, annotators, close_store, labels, open_store, requests, reservations

from labeler_testing import random_answer


def count(store, table) -> int:
    with store.engine.connect() as conn:
        return conn.execute(select(func.count()).select_from(table)).scalar_one()


def answer(store, run_id, seed=0):
    return random_answer(store.get_run(run_id).schema, np.random.default_rng(seed))


def label_all(store, run_id, who, seed=0) -> list[int]:
    done = []
    while (a := store.next_item(run_id, who)) is not None:
        assert store.submit(run_id, who, a.item_id, answer(store, run_id, seed + len(done)), a.token).status == "saved"
        done.append(a.item_id)
    return done


def test_assignment_prefers_fewest_labels_and_stops_at_k(db_url, make_run):
    run_id = make_run(db_url, n=6, k=2)
    store = open_store(db_url)
    idx_of = dict(zip(store.item_table(run_id).item_id, store.item_table(run_id).idx))
    first = label_all(store, run_id, "ann")
    assert sorted(first) == sorted(idx_of) and len(set(first)) == 6  # every item once, never twice
    # bob labels one; carol is then served an item nobody has labeled twice, lowest idx first
    a = store.next_item(run_id, "bob")
    assert idx_of[a.item_id] == 0
    store.submit(run_id, "bob", a.item_id, answer(store, run_id), a.token)
    c = store.next_item(run_id, "carol")
    assert idx_of[c.item_id] == 1, "item 0 already has k=2 labels"
    assert idx_of[store.next_item(run_id, "bob").item_id] == 2, "item 1 is leased to carol, so it is taken"
    store.submit(run_id, "carol", c.item_id, answer(store, run_id), c.token)
    label_all(store, run_id, "bob")
    assert store.next_item(run_id, "carol") is None  # all 6 items have k labels
    assert store.next_item(run_id, "dave") is None
    per_item = Counter(store.labels_frame(run_id)["item_id"])
    assert set(per_item.values()) == {2}
    p = store.progress(run_id, "ann")
    assert (p.mine, p.labels, p.items_complete, p.slots_filled, p.slots) == (6, 12, 6, 12, 12)


def test_priorities_order_items_with_equally_many_labels(db_url, make_run):
    run_id = make_run(db_url, n=4, k=2)
    store = open_store(db_url)
    ids = list(store.item_table(run_id).item_id)
    store.set_priorities(run_id, {ids[2]: 0.9, ids[3]: 0.5})  # e.g. a direction model is unsure about these
    assert label_all(store, run_id, "ann") == [ids[2], ids[3], ids[0], ids[1]]
    store.set_priorities(run_id, {ids[0]: 2.0})
    assert store.next_item(run_id, "bob").item_id == ids[0]


def test_a_reload_gets_the_same_item_and_the_last_slot_is_never_shared(db_url, make_run):
    run_id = make_run(db_url, n=1, k=1)
    store = open_store(db_url)
    a1 = store.next_item(run_id, "alice", lease_s=0.5)
    a2 = store.next_item(run_id, "alice", lease_s=0.5)
    assert (a1.item_id, a1.token) == (a2.item_id, a2.token)  # a reload shows the same face
    assert store.next_item(run_id, "bob") is None  # the only slot is leased to alice
    # alice's lease runs out: the slot is free again, and not a moment before (the deadline only guards a hang)
    while (b := store.next_item(run_id, "bob")) is None and time.time() < a2.expires_at + 60:
        time.sleep(0.05)
    assert time.time() >= a2.expires_at
    assert b is not None and b.item_id == a1.item_id


def test_concurrent_annotators_fill_every_item_exactly_k_times(db_url, make_run):
    run_id = make_run(db_url, n=12, k=3)
    store = open_store(db_url)
    errors = []

    def work(name):
        try:
            label_all(store, run_id, name, seed=hash(name) % 1000)
        except Exception as e:  # pragma: no cover - reported below
            errors.append(e)

    threads = [threading.Thread(target=work, args=(f"ann{i}",)) for i in range(16)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=120)
    assert not errors, errors
    frame = store.labels_frame(run_id)
    assert Counter(frame["item_id"]).most_common()[-1][1] == 3 and set(Counter(frame["item_id"]).values()) == {3}
    assert not frame.duplicated(["item_id", "annotator"]).any()
    assert len(frame) == 36


def test_two_servers_with_undo_and_skip_never_pass_k_nor_deadlock(db_url, make_run):
    """Two stores on one database (two app servers), twelve annotators each submitting, undoing and
    skipping at random: no face ever holds more than k labels plus leases, and no deadlock."""
    from labeler.store import LabelStore

    run_id = make_run(db_url, n=15, k=3)
    stores = [open_store(db_url), LabelStore(db_url)]
    errors, peaks = [], []

    def taken(store) -> int:  # the fullest face: labels plus live leases
        with store.engine.connect() as conn:
            return conn.execute(text(
                "SELECT COALESCE(MAX(n), 0) FROM (SELECT i.id, i.n_labels + (SELECT COUNT(*) FROM reservations r "
                "WHERE r.item_id = i.id AND r.expires_at > :now) AS n FROM items i WHERE i.run_id = :run) t"),
                {"now": time.time(), "run": run_id}).scalar_one()

    def work(i: int) -> None:
        store, rng, who = stores[i % 2], np.random.default_rng(i), f"ann{i}"
        try:
            a = store.next_item(run_id, who)
            while a is not None:
                roll = rng.random()
                if roll < 0.15:
                    store.undo_last(run_id, who)  # the last answer comes back (or nothing to undo)
                    a = store.next_item(run_id, who)
                elif roll < 0.25:
                    a = store.skip_and_next(run_id, who, a.item_id, f"{who}-{a.token}")[1]
                else:
                    a = store.submit_and_next(run_id, who, a.item_id, answer(store, run_id, i), a.token)[1]
                peaks.append(taken(store))
        except Exception as e:  # pragma: no cover - reported below
            errors.append(repr(e))

    threads = [threading.Thread(target=work, args=(i,)) for i in range(12)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=300)
    stores[1].dispose()
    assert not errors, errors[:3]
    assert peaks and max(peaks) <= 3
    # a person told "nothing left" while every open slot was leased may leave before a skip frees one:
    # newcomers fill what is left, and then every face has exactly k labels
    for late in ("late0", "late1", "late2"):
        label_all(stores[0], run_id, late)
    labeled = Counter(stores[0].labels_frame(run_id).query("kind == 'label'")["item_id"])
    assert len(labeled) == 15 and set(labeled.values()) == {3}


def test_a_double_submit_is_recorded_once(db_url, make_run):
    run_id = make_run(db_url, n=3, k=2)
    store = open_store(db_url)
    a = store.next_item(run_id, "alice")
    values = answer(store, run_id)
    assert store.submit(run_id, "alice", a.item_id, values, a.token).status == "saved"
    assert store.submit(run_id, "alice", a.item_id, values, a.token).status == "duplicate"  # replayed request
    other = answer(store, run_id, seed=5)
    assert store.submit(run_id, "alice", a.item_id, other, "fresh-request-1").status == "duplicate"  # same item
    frame = store.labels_frame(run_id)
    assert len(frame) == 1 and frame.iloc[0][list(values)].to_dict() == values  # the first answer is kept
    # undo, then replay the old request: it must not come back
    u = store.undo_last(run_id, "alice")
    assert u.item_id == a.item_id and u.prefill == values
    assert store.submit(run_id, "alice", a.item_id, values, a.token).status == "duplicate"
    assert len(store.labels_frame(run_id)) == 0
    assert store.submit(run_id, "alice", a.item_id, other, u.token).status == "saved"
    assert store.labels_frame(run_id).iloc[0][list(other)].to_dict() == other


def test_concurrent_double_submits_are_recorded_once(db_url, make_run):
    """Eight copies of one answer at once, with reloads of the same annotator in between:
    one label, one request, the other copies answered "duplicate", no deadlock."""
    run_id = make_run(db_url, n=3, k=1)
    store = open_store(db_url)
    a = store.next_item(run_id, "alice")
    values = answer(store, run_id)
    results, errors = [], []

    def send():
        try:
            result, following = store.submit_and_next(run_id, "alice", a.item_id, values, a.token)
            results.append((result.status, following.item_id))
        except Exception as e:  # pragma: no cover - reported below
            errors.append(e)

    def reload():
        try:
            store.next_item(run_id, "alice")
        except Exception as e:  # pragma: no cover
            errors.append(e)

    threads = [threading.Thread(target=f) for _ in range(8) for f in (send, reload)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors, errors
    assert sorted(r[0] for r in results) == ["duplicate"] * 7 + ["saved"]
    assert count(store, labels) == 1 and count(store, requests) == 1
    assert a.item_id not in {r[1] for r in results}  # the next face is another one
    assert count(store, reservations) == 1  # and alice holds exactly one lease


def test_unknown_options_and_markup_names_are_refused_and_change_nothing(db_url, make_run):
    run_id = make_run(db_url, n=3, k=1)
    store = open_store(db_url)
    a = store.next_item(run_id, "alice")
    before = [count(store, t) for t in (labels, requests, reservations, annotators)]
    bad = {**answer(store, run_id), "hair_color": "purple"}
    with pytest.raises(UserError, match="'purple' is not an option of hair_color"):
        store.submit(run_id, "alice", a.item_id, bad, a.token)
    with pytest.raises(UserError, match="unknown attribute 'wings'"):
        store.submit(run_id, "alice", a.item_id, {**answer(store, run_id), "wings": "yes"}, a.token)
    with pytest.raises(UserError, match="missing"):
        store.submit(run_id, "alice", a.item_id, {"hair_color": "red"}, a.token)
    for name in ("<script>alert(1)</script>", "<b>bob</b>", "", " ", "a" * 41, "bo\nb", "bob\u200b"):
        with pytest.raises(UserError, match="annotator name must be"):
            store.next_item(run_id, name)
    with pytest.raises(UserError, match="request id"):
        store.submit(run_id, "alice", a.item_id, answer(store, run_id), "<x>")
    with pytest.raises(UserError, match="not part of run"):
        store.submit(run_id, "alice", 10_000, answer(store, run_id), "request-xyz-1")
    assert [count(store, t) for t in (labels, requests, reservations, annotators)] == before
    assert store.next_item(run_id, "alice").token == a.token  # still the same face on alice's screen


def test_skip_and_undo(db_url, make_run):
    run_id = make_run(db_url, n=3, k=1)
    store = open_store(db_url)
    assert store.undo_last(run_id, "alice") is None  # nothing to undo yet
    a = store.next_item(run_id, "alice")
    assert store.skip(run_id, "alice", a.item_id, a.token).status == "saved"
    served = [store.next_item(run_id, "alice")]
    store.submit(run_id, "alice", served[0].item_id, answer(store, run_id), served[0].token)
    served.append(store.next_item(run_id, "alice"))
    store.submit(run_id, "alice", served[1].item_id, answer(store, run_id), served[1].token)
    assert store.next_item(run_id, "alice") is None  # the skipped item is not served to alice again
    assert a.item_id not in {s.item_id for s in served}
    assert store.progress(run_id, "alice").labels == 2  # skips are not labels
    b = store.next_item(run_id, "bob")  # but others still get it
    assert b.item_id == a.item_id
    u = store.undo_last(run_id, "alice")  # undo the last label: that item is alice's again
    assert u.item_id == served[1].item_id and set(u.prefill) == set(store.get_run(run_id).schema.names)
    assert store.progress(run_id, "alice").labels == 1
    assert store.next_item(run_id, "alice").item_id == served[1].item_id


def test_the_layout_is_versioned_and_a_newer_one_is_refused(db_url, make_run):
    make_run(db_url, n=2)
    store = open_store(db_url)
    with store.engine.begin() as conn:
        assert conn.execute(text("SELECT max(version) FROM latentlab_schema_version")).scalar() == SCHEMA_VERSION
        conn.execute(text("INSERT INTO latentlab_schema_version (version, applied_at) VALUES (:v, 0)"),
                     {"v": SCHEMA_VERSION + 1})
    close_store(db_url)
    with pytest.raises(UserError, match="newer latentlab"):
        open_store(db_url)


def test_an_older_layout_is_migrated_in_place(db_url, make_run):
    run_id = make_run(db_url, n=3, k=1)
    store = open_store(db_url)
    a = store.next_item(run_id, "alice")
    store.submit(run_id, "alice", a.item_id, answer(store, run_id), a.token)
    with store.engine.begin() as conn:  # turn the store back into layout v1: no priority, counts, gold, drawing
        conn.execute(text("DROP INDEX ix_items_queue"))
        for table, column in (("items", "priority"), ("items", "n_labels"), ("items", "gold_json"),
                              ("runs", "rendered"), ("runs", "class_label")):
            conn.execute(text(f"ALTER TABLE {table} DROP COLUMN {column}"))
        conn.execute(text("DELETE FROM latentlab_schema_version"))
        conn.execute(text("INSERT INTO latentlab_schema_version (version, applied_at) VALUES (1, 0)"))
    close_store(db_url)
    store = open_store(db_url)
    with store.engine.connect() as conn:
        assert conn.execute(text("SELECT max(version) FROM latentlab_schema_version")).scalar() == SCHEMA_VERSION
    assert len(store.labels_frame(run_id)) == 1  # nothing lost
    assert store.rendered(run_id) == 3  # an old run was drawn whole
    assert store.get_run(run_id).class_label is None  # and came from an unconditional generator
    assert store.progress(run_id).labels == 1
    store.set_priorities(run_id, {store.item_table(run_id).item_id[2]: 1.0})
    assert store.next_item(run_id, "alice").idx == 2
    assert store.next_item(run_id, "bob").idx != a.idx  # the label counted before the migration still counts (k=1)


def test_labels_survive_closing_and_reopening_the_store(db_url, make_run):
    run_id = make_run(db_url, n=4, k=1)
    store = open_store(db_url)
    done = label_all(store, run_id, "alice")
    close_store(db_url)
    again = open_store(db_url)
    assert sorted(again.labels_frame(run_id)["item_id"]) == sorted(done)


def test_bad_urls_are_refused_clearly(tmp_path):
    with pytest.raises(UserError, match="not a database URL"):
        open_store("not a url")
    with pytest.raises(UserError, match="must be a file"):
        open_store("sqlite://")
    with pytest.raises(UserError, match="unsupported database 'mysql'"):
        open_store("mysql://x@localhost/db")
    with pytest.raises(UserError, match="cannot open the label store"):
        open_store("postgresql://nobody:pw@127.0.0.1:1/none")


def test_unsure_answers_are_stored(db_url, make_run):
    run_id = make_run(db_url, n=1, k=1)
    store = open_store(db_url)
    a = store.next_item(run_id, "alice")
    schema = store.get_run(run_id).schema
    store.submit(run_id, "alice", a.item_id, {n: UNSURE for n in schema.names}, a.token)
    assert set(store.labels_frame(run_id)[schema.names].iloc[0]) == {UNSURE}
