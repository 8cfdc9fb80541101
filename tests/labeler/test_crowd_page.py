"""The crowd's labeling page (`label/`) and its JSON API, on real `latentlab serve` processes.

Over HTTP: log-in tickets, labels that land once, short refusals, faces that stay inside the image
folder, a password log-in, and two servers answering the same annotator (the API keeps no session).
In chromium: the keys, undo, reload and switching annotator, and one screen at 1366x768 and 390x844.
"""

import re
from contextlib import ExitStack

import httpx
import numpy as np
import pytest
from labeler_testing import ApiError, CrowdClient, Server, answers_by_label, outside_viewport, random_answer

from labeler.schema import UNSURE, default_schema
from labeler.store import close_store, open_store

SCHEMA = default_schema()
USERS = "alice:alice-pw-1\nbob:bob-pw-22\n"
SCREENS = {"laptop": {"width": 1366, "height": 768}, "phone": {"width": 390, "height": 844}}


@pytest.fixture(scope="module")
def servers(tiny_generator_file, tmp_path_factory):
    """Started together (their imports overlap); the second "shared" server joins the first's store,
    workspace and run once the first has created it."""
    tmp = tmp_path_factory.mktemp("crowd")
    (tmp / "users.txt").write_text(USERS)
    with ExitStack() as stack:
        started = {
            "open": Server(tiny_generator_file, f"sqlite:///{tmp / 'open.sqlite'}", tmp / "ws-open", n=24, k=2,
                           wait=False),
            "password": Server(tiny_generator_file, f"sqlite:///{tmp / 'pw.sqlite'}", tmp / "ws-pw", n=4, k=1,
                               extra=["--annotator-auth", "gradio", "--users", str(tmp / "users.txt")], wait=False),
        }
        for server in started.values():
            stack.callback(server.stop)
        yield started


def labels_of(server: Server) -> dict:
    frame = open_store(server.db_url).labels_frame(1)
    close_store(server.db_url)
    return answers_by_label(frame, SCHEMA.names)


def test_a_label_through_the_api_is_kept_once_and_needs_a_ticket(servers):
    server = servers["open"].ready()
    anonymous = httpx.post(server.url + "/label/api/next", json={"run_id": 1})
    assert anonymous.status_code == 401 and "log in" in anonymous.json()["error"]
    forged = httpx.post(server.url + "/label/api/next", json={"run_id": 1, "ticket": "eyJuIjoibWFsbG9yeSJ9.AAAA"})
    assert forged.status_code == 401 and "not issued by this server" in forged.json()["error"]
    josé = CrowdClient(server, "  Jose\u0301 ")  # normalised (NFC, stripped) at log-in
    assert josé.name == "José"
    item = josé.next()["item"]
    assert "image" not in item  # the server's own file path stays on the server
    face = josé.http.get(item["image_url"])
    assert face.status_code == 200 and face.content[:4] == b"\x89PNG"
    values = random_answer(SCHEMA, np.random.default_rng(1))
    reply = josé.submit(item, values)
    assert reply["message"] == "Saved." and reply["item"]["item_id"] != item["item_id"]
    assert reply["progress"]["mine"] == 1 and reply["annotator"] == "José"
    again = josé.submit(item, random_answer(SCHEMA, np.random.default_rng(2)))  # a double click
    assert again["message"].startswith("Already recorded")
    undone = josé.post("undo", run_id=1)["item"]
    assert undone["item_id"] == item["item_id"] and undone["prefill"] == values
    assert josé.submit(undone, values)["message"] == "Saved."
    frame = open_store(server.db_url).labels_frame(1)
    assert list(frame.annotator) == ["José"] and frame.iloc[0][SCHEMA.names].to_dict() == values
    close_store(server.db_url)
    josé.post("logout", run_id=1)
    with pytest.raises(ApiError, match="401"):  # the cookie is gone
        josé.next()
    josé.close()


def test_bad_requests_get_one_short_sentence_and_change_nothing(servers):
    server = servers["open"].ready()
    mallory = CrowdClient(server, "mallory")
    item = mallory.next()["item"]
    good = random_answer(SCHEMA, np.random.default_rng(0))
    for values, words in [({**good, "hair_color": "x" * 20_000}, r"'x{40}'…"),
                          ({**good, "wings": "yes"}, "unknown attribute 'wings'"),
                          ({"hair_color": "red"}, "answer every attribute"),
                          ("red", "must be an object")]:
        r = mallory.http.post("api/submit", json={"run_id": 1, "item_id": item["item_id"],
                                                  "request_id": item["token"], "values": values})
        assert r.status_code == 400 and len(r.content) < 1000 and re.search(words, r.json()["error"])
    huge = mallory.http.post("api/submit", content=b'{"values": "' + b"x" * 10_000_000 + b'"}',
                             headers={"Content-Type": "application/json"})
    assert huge.status_code == 413 and len(huge.content) < 1000
    for content, ctype, status in [(b"{", "application/json", 400), (b"[1]", "application/json", 400),
                                   (b"run_id=1", "application/x-www-form-urlencoded", 415)]:
        r = mallory.http.post("api/next", content=content, headers={"Content-Type": ctype})
        assert r.status_code == status and len(r.content) < 1000
    for name in ("<script>alert(1)</script>", "", "a" * 10_000):
        r = httpx.post(server.url + "/label/api/login", json={"name": name})
        assert r.status_code == 400 and "annotator name must" in r.json()["error"] and len(r.content) < 1000
    for path in ("../open.sqlite", "%2e%2e/%2e%2e/users.txt", "..%2f..%2fusers.txt", "nothing.png"):
        assert mallory.http.get(f"faces/{path}").status_code == 404
    assert "mallory" not in {a for a, _ in labels_of(server)}
    assert mallory.next()["item"]["token"] == item["token"]  # still the same face, leased to them
    mallory.post("logout", run_id=1)  # gives it back
    mallory.close()


def test_password_log_in_guards_labels_and_faces(servers):
    server = servers["password"].ready()  # --annotator-auth gradio --users
    for name, password in (("alice", "wrong"), ("alice", None), ("mallory", "x"), ("bob", "alice-pw-1")):
        r = httpx.post(server.url + "/label/api/login", json={"name": name, "password": password})
        assert r.status_code == 401 and r.json()["error"] == "wrong name or password"
    with pytest.raises(ApiError, match="wrong name or password"):
        CrowdClient(server, "alice")
    alice = CrowdClient(server, "alice", "alice-pw-1")
    item = alice.next()["item"]
    assert alice.http.get(item["image_url"]).status_code == 200
    assert httpx.get(f"{server.url}/label/{item['image_url']}").status_code == 401  # no ticket, no face
    assert alice.submit(item, random_answer(SCHEMA, np.random.default_rng(0)))["message"] == "Saved."
    assert {a for a, _ in labels_of(server)} == {"alice"}
    alice.close()


def test_a_second_server_on_the_same_store_answers_the_same_annotator(servers, tiny_generator_file):
    first = servers["open"].ready()
    second = Server(tiny_generator_file, first.db_url, first.workspace, n=24, k=2, extra=["--run", "1"])
    try:
        ann = CrowdClient(first, "roaming")
        item = ann.next()["item"]
        ann.http.base_url = second.url + "/label/"  # the proxy sends the next request elsewhere
        assert ann.next()["item"]["token"] == item["token"]  # the same leased face, no log-in again
        assert ann.submit(item, random_answer(SCHEMA, np.random.default_rng(3)))["message"] == "Saved."
        assert ann.http.get(ann.next()["item"]["image_url"]).status_code == 200
        ann.close()
    finally:
        second.stop()
    assert ("roaming", item["item_id"]) in labels_of(first)


# -- in chromium --------------------------------------------------------------------------------------

def caption(page) -> str:
    return page.inner_text("#caption")


def wait_status(page, words: str) -> None:
    page.wait_for_function("(w) => document.querySelector('#status').innerText.includes(w)", arg=words,
                           timeout=30_000)


def pressed(page) -> dict:
    return page.evaluate("""() => Object.fromEntries([...document.querySelectorAll('.attr')].map(
        r => [r.id.slice(5), (r.querySelector('button[aria-pressed=true]') || {dataset: {}}).dataset.value || null]))""")


@pytest.mark.browser
@pytest.mark.parametrize("screen", SCREENS)
def test_the_page_labels_with_keys_and_fits_one_screen(servers, browser, screen):
    server = servers["open"].ready()
    page = browser.new_page(viewport=SCREENS[screen])
    page.set_default_timeout(30_000)
    page.goto(server.url + "/label")  # redirected to label/
    page.fill("#name", f"Zoë {screen}")
    page.press("#name", "Enter")
    page.wait_for_function("() => { const i = document.querySelector('#face'); return i.src && i.complete; }")
    assert page.locator(".options button").count() == sum(len(a.choices) for a in SCHEMA.attributes)
    assert outside_viewport(page, ".options button, #progress, .keys > span, #submit, #face, #run, #switch") == []
    assert page.evaluate("() => document.documentElement.scrollHeight <= window.innerHeight")
    assert page.eval_on_selector("#run", "s => s.scrollWidth <= s.clientWidth + 1")  # the run's name is whole
    assert page.locator(".keys > span:visible").count() == 1  # the long help on a laptop, the short on a phone
    assert "shown once two people have labeled the same faces" in page.inner_text("#progress")

    first = caption(page)
    page.keyboard.press("Enter")  # nothing answered yet: refused on the page, nothing sent
    wait_status(page, "answer every attribute first")
    keys = {a.name: a.options[-1] for a in SCHEMA.attributes} | {"blush": UNSURE}
    for a in SCHEMA.attributes:  # one key per attribute: the highlight moves on by itself
        page.keyboard.press(a.key_of(keys[a.name]))
    assert pressed(page) == keys
    page.keyboard.press("Enter")
    wait_status(page, "Saved.")
    assert caption(page) != first and all(v is None for v in pressed(page).values())
    assert outside_viewport(page, ".options button, #progress, .keys > span, #submit") == []
    idx = int(re.search(r"face #(\d+)", first).group(1))
    labels = open_store(server.db_url).labels_frame(1)
    mine = labels[labels.annotator == f"Zoë {screen}"]
    assert list(mine.idx) == [idx]
    assert mine.iloc[0][SCHEMA.names].to_dict() == keys

    page.keyboard.press("Backspace")  # undo: the face comes back with its answers
    wait_status(page, "Undone")
    assert caption(page) == first and pressed(page) == keys
    page.reload()  # the log-in cookie keeps the annotator and the face
    page.wait_for_function("(c) => document.querySelector('#caption').innerText === c", arg=first)
    assert page.inner_text("#who-name") == f"Zoë {screen}"
    page.click("#switch")  # the face goes back to the pool; the next person logs in
    page.wait_for_selector("#name", state="visible")
    page.reload()
    page.wait_for_selector("#name", state="visible")  # logged out for good
    page.close()
