"""Annotator names in any script, and errors that quote bad input briefly."""

import pytest

from latentlab.core.errors import UserError

from labeler.schema import default_schema
from labeler.store import close_store, open_store
from labeler.text import NAME_LIMIT, check_annotator_name, quoted


def test_unicode_names_are_accepted_and_stored_nfc(sqlite_url, make_run):
    assert check_annotator_name("José") == "José"
    assert check_annotator_name("Jose\u0301") == "José"  # the decomposed spelling is the same person
    assert check_annotator_name("  李雷 ") == "李雷"
    run_id = make_run(sqlite_url, n=4, k=1)
    store = open_store(sqlite_url)
    for name in ("Jose\u0301", "李雷"):
        item = store.next_item(run_id, name)
        values = {a.name: a.options[0] for a in default_schema().attributes}
        store.submit_and_next(run_id, check_annotator_name(name), item.item_id, values, item.token)
    assert sorted(store.labels_frame(run_id).annotator) == sorted(["José", "李雷"])
    close_store(sqlite_url)


@pytest.mark.parametrize("name, words", [
    ("ann\x07", "control or invisible"), ("a\u200bb", "control or invisible"), ("tab\there", "control or invisible"),
    ("x" * (NAME_LIMIT + 1), f"at most {NAME_LIMIT} characters"), ("x" * 10_000_000, f"at most {NAME_LIMIT}"),
    ("<b>", "annotator name must be"), ("", "annotator name must be"), ("\u0301a", "annotator name must be"),
])
def test_bad_names_are_refused_with_a_clear_sentence(name, words):
    with pytest.raises(UserError, match=words) as refused:
        check_annotator_name(name)
    assert len(str(refused.value)) < 200


def test_quoted_cuts_long_input():
    assert quoted("purple") == "'purple'"
    assert quoted("x" * 10_000_000) == repr("x" * 40) + "…"
    assert len(quoted(list(range(1_000_000)))) <= 41 and len(quoted({"k" * 10**6: 1})) <= 41
    with pytest.raises(UserError) as refused:
        default_schema().check_values({**{a.name: a.options[0] for a in default_schema().attributes},
                                       "hair_color": "y" * 10_000_000})
    assert len(str(refused.value)) < 300
