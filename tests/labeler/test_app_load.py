"""The running app over HTTP: 50 annotators at once, bad requests, locked admin actions, a killed server.

The module starts its `latentlab serve` subprocesses (127.0.0.1, a tiny generator) together; each test
drives its server's API (POST /gradio_api/call/<name>), then checks the database directly.
"""

import json
import os
import threading
import time
import uuid
from contextlib import ExitStack

import httpx
import numpy as np
import pytest
from labeler_testing import (PG_ENV, ApiError, CrowdClient, Server, answers_by_label, check_store, fresh_pg_database,
                             parse_sse, pg_base_url, random_answer)
from sqlalchemy import func, select

from labeler.schema import default_schema
from labeler.store import annotators, close_store, labels, open_store, requests

SCHEMA = default_schema()
N_ANNOTATORS = 50


def run_load(server: Server, run_id: int, n_annotators: int = N_ANNOTATORS, seconds: float = 120.0,
             api: str = "gradio") -> dict:
    """Annotators label until the run needs nothing more from them, through the Gradio API or the
    crowd page's (`api="crowd"`); every other annotator sends their first answer twice (a double
    submit, replaying the request id)."""
    acked: dict[tuple[str, int], dict] = {}
    duplicates, errors, latencies = [], [], []
    lock = threading.Lock()
    deadline = time.monotonic() + seconds
    start = threading.Barrier(n_annotators)

    def annotator(i: int) -> None:
        name, rng, session = f"ann{i:02d}", np.random.default_rng(i), uuid.uuid4().hex
        with httpx.Client(timeout=120) as client:
            crowd = CrowdClient(server, name) if api == "crowd" else None

            def next_item() -> dict:
                return crowd.next(run_id) if crowd else server.call("next_item", name, run_id, client=client,
                                                                    session=session)

            def submit(item: dict, values: dict) -> dict:
                if crowd:
                    return crowd.submit(item, values, run_id)
                return server.call("submit_label", name, run_id, item["item_id"], item["token"], values,
                                   client=client, session=session)
            try:
                start.wait()
                item = next_item()["item"]
                n = 0
                while item is not None and time.monotonic() < deadline:
                    values = random_answer(SCHEMA, rng)
                    t0 = time.perf_counter()
                    reply = submit(item, values)
                    latencies.append(time.perf_counter() - t0)
                    assert reply["message"] == "Saved.", reply["message"]
                    with lock:
                        assert (name, item["item_id"]) not in acked, "served an item twice to one annotator"
                        acked[(name, item["item_id"])] = values
                    n += 1
                    if n == 1 and i % 2 == 0:  # a double submit: the same request again
                        duplicates.append(submit(item, random_answer(SCHEMA, rng))["message"])
                    item = reply["item"]
            except Exception as e:  # reported by the test
                errors.append(f"{name}: {e!r}")
            finally:
                if crowd:
                    crowd.close()

    threads = [threading.Thread(target=annotator, args=(i,)) for i in range(n_annotators)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return {"acked": acked, "duplicates": duplicates, "errors": errors, "latencies": latencies}


USERS = "# name:password\nalice:alice-pw-1\nbob:bob-pw-22\n"


@pytest.fixture(scope="module")
def servers(tiny_generator_file, tmp_path_factory):
    """Every server of this module, started at once so that their start-ups (about 5 s of imports
    each) overlap with each other and with the tests; each test waits for its own with `ready()`."""
    tmp = tmp_path_factory.mktemp("app")
    (tmp / "users.txt").write_text(USERS)

    def start(name: str, db_url: str, n: int, k: int, **kw) -> Server:
        return Server(tiny_generator_file, db_url, tmp / f"ws-{name}", n=n, k=k, wait=False, **kw)

    with ExitStack() as stack:
        started = {
            "sqlite": start("sqlite", f"sqlite:///{tmp / 'labels.sqlite'}", n=40, k=3),
            "killed": start("killed", f"sqlite:///{tmp / 'kill.sqlite'}", n=300, k=3),
            "login": start("login", f"sqlite:///{tmp / 'auth.sqlite'}", n=6, k=1,
                           extra=["--annotator-auth", "gradio", "--users", str(tmp / "users.txt")]),
            "no-admin": start("no-admin", f"sqlite:///{tmp / 'no-admin.sqlite'}", n=6, k=1, admin_password=None),
        }
        if os.environ.get(PG_ENV):  # otherwise its test skips (or fails in CI) in pg_base_url()
            started["postgresql"] = start("postgresql", stack.enter_context(fresh_pg_database()), n=40, k=3)
        for server in started.values():
            stack.callback(server.stop)
        yield started


@pytest.fixture
def sqlite_server(servers) -> Server:
    return servers["sqlite"].ready()


@pytest.fixture
def pg_server(request) -> Server:
    pg_base_url()  # without a configured server: skipped locally (before any server starts), failed in CI
    return request.getfixturevalue("servers")["postgresql"].ready()


def test_unknown_options_and_markup_names_through_the_api_change_nothing(sqlite_server):
    s = sqlite_server
    item = s.call("next_item", "probe", 1)["item"]
    store = open_store(s.db_url)

    def counts():
        with store.engine.connect() as conn:
            return [conn.execute(select(func.count()).select_from(t)).scalar_one()
                    for t in (labels, requests, annotators)]

    before = counts()
    good = random_answer(SCHEMA, np.random.default_rng(0))
    for values, words in [({**good, "hair_color": "purple"}, "'purple' is not an option of hair_color"),
                          ({**good, "wings": "yes"}, "unknown attribute 'wings'"),
                          ({"hair_color": "red"}, "answer every attribute"),
                          ("red", "must be an object")]:
        with pytest.raises(ApiError, match=words):
            s.call("submit_label", "probe", 1, item["item_id"], item["token"], values)
    for name in ("<script>alert(1)</script>", "<img src=x onerror=alert(1)>", ""):
        with pytest.raises(ApiError, match="annotator name must be"):
            s.call("next_item", name, 1)
    with pytest.raises(ApiError, match="there is no run 99"):
        s.call("next_item", "probe", 99)
    assert counts() == before
    assert s.call("next_item", "probe", 1)["item"]["token"] == item["token"]  # still the same face
    store.release(1, "probe")  # give the face back for the load test
    close_store(s.db_url)


def _queue_call(server: Server, api_name: str, data: list) -> dict:
    """Call a UI-only (private) event the way a browser would, with a fresh session: a forged request."""
    config = httpx.get(server.url + "/config").json()
    fn_index = next(i for i, d in enumerate(config["dependencies"]) if d.get("api_name") == api_name)
    session = uuid.uuid4().hex[:12]
    dep = config["dependencies"][fn_index]
    httpx.post(server.url + "/gradio_api/queue/join",
               json={"data": data, "fn_index": fn_index, "session_hash": session, "event_data": None,
                     "trigger_id": dep["targets"][0][0]}).raise_for_status()
    with httpx.stream("GET", server.url + "/gradio_api/queue/data", params={"session_hash": session},
                      timeout=60) as stream:
        for line in stream.iter_lines():
            if line.startswith("data:"):
                msg = json.loads(line[5:])
                if msg.get("msg") == "process_completed":
                    return msg
    raise AssertionError("no reply")


def test_admin_actions_refuse_without_the_password(sqlite_server):
    s = sqlite_server
    # the first input is the server-side "unlocked" state: sending True must not unlock anything
    for api_name, data in (("export", [True, 1, "raw", "csv"]), ("tables", [True, 1])):
        reply = _queue_call(s, api_name, data)
        assert reply["success"] is False
        assert "admin actions need the admin password" in reply["output"]["error"]
    assert not (s.workspace / "exports").exists()  # nothing was exported
    with pytest.raises(ApiError, match="admin actions need the admin password"):  # the same through /call
        s.call("export", True, 1, "raw", "csv")
    # the Label tab's submit takes the annotator from session state, which a caller cannot set either
    forged = s.call("submit", "mallory", {"run_id": 1, "item_id": 1, "token": "forged-token-1"},
                    *[a.options[0] for a in SCHEMA.attributes], every_output=True)
    assert "enter your name first" in forged[-2]  # the status line (the last output is the waiting timer)
    assert "mallory" not in set(open_store(s.db_url).labels_frame(1).annotator)
    wrong = _queue_call(s, "unlock", ["not-the-password", 1])
    assert wrong["success"] is True  # answered with a refusal, and the admin panel stays hidden
    assert "wrong admin password" in wrong["output"]["data"][1]
    assert wrong["output"]["data"][2].get("visible") is False


# every event that writes to the workspace, and a run of it that works (a walk needs no direction set)
WRITING_ENDPOINTS = ("on_fit", "on_save", "on_animate", "on_render", "on_project", "on_export")
WALK = ["walk", None, None, -3, 3, 8, 8, False, "0,1", 0.8, "z", 64]


def _writing_call(server: Server, api_name: str, password: str | None, *data):
    """Call a writing endpoint with `password` first, then `data`, then the page's initial value of
    every further input (gr.State inputs are the server's and take no value)."""
    config = httpx.get(server.url + "/config").json()
    dep = next(d for d in config["dependencies"] if d.get("api_name") == api_name)
    components = {c["id"]: c for c in config["components"]}
    defaults = [components[i].get("props", {}).get("value") for i in dep["inputs"][1:]
                if components[i]["type"] != "state"]
    return server.call(api_name, password, *data, *defaults[len(data):], every_output=True)


def _written(server: Server) -> list:
    return [p for folder in ("directions", "exports") for p in (server.workspace / folder).rglob("*") if p.is_file()]


def test_writing_endpoints_need_the_admin_password(sqlite_server, servers):
    s = sqlite_server
    for api_name in WRITING_ENDPOINTS:
        for password in (None, "", "not-the-password"):
            with pytest.raises(ApiError, match="wrong admin password"):
                _writing_call(s, api_name, password)
    with pytest.raises(ApiError, match="wrong admin password"):  # the request that once wrote a direction set
        _writing_call(s, "on_fit", None, 1, "w", ["blush"], "majority", "", 2, False, "forged")
    assert _written(s) == []  # nothing was written
    off = servers["no-admin"].ready()
    for api_name in WRITING_ENDPOINTS:
        with pytest.raises(ApiError, match=r"admin actions \(.*\) are off: start the server with --admin-password"):
            _writing_call(off, api_name, "any-password")
    assert _written(off) == []
    # with the password the same endpoint works: a walk through two faces, written to the exports
    outputs = _writing_call(s, "on_render", s.admin_password, *WALK)
    assert outputs[0] and len(outputs[1]) == 3
    assert sorted(p.suffix for p in _written(s)) == [".gif", ".mp4", ".png"]
    with pytest.raises(ApiError) as refused:  # past the password: the fit itself answers (no file without labels)
        _writing_call(s, "on_fit", s.admin_password, 1, "w", ["blush"], "majority", "", 2, False, "mine")
    assert "admin password" not in str(refused.value)
    assert not (s.workspace / "directions" / "mine.npz").exists()


def test_a_huge_value_gets_a_short_error_reply(sqlite_server):
    s = sqlite_server
    item = s.call("next_item", "probe", 1)["item"]
    good = random_answer(SCHEMA, np.random.default_rng(0))
    huge = "x" * 10_000_000
    for values in ({**good, "hair_color": huge}, {**good, huge: "yes"}):
        reply = s.call_raw("submit_label", "probe", 1, item["item_id"], item["token"], values)
        assert len(reply.encode()) < 1000
        with pytest.raises(ApiError, match="'x{40}'…"):  # 40 characters quoted, then an ellipsis
            parse_sse(reply)
    for args in (("probe", huge), (huge, 1)):
        reply = s.call_raw("next_item", *args)
        assert len(reply.encode()) < 1000 and "event: error" in reply
    open_store(s.db_url).release(1, "probe")  # give the face back for the load test
    close_store(s.db_url)


def test_fifty_annotators_at_once_on_sqlite_through_the_crowd_page(sqlite_server):
    result = run_load(sqlite_server, 1, api="crowd")
    assert not result["errors"], result["errors"][:5]
    assert result["duplicates"] and set(result["duplicates"]) == {"Already recorded (sent twice); kept once."}
    check_store(sqlite_server.db_url, 1, result["acked"], k=3, names=SCHEMA.names)
    assert len({name for name, _ in result["acked"]}) >= 30  # the work was spread over many annotators


@pytest.mark.postgres
def test_fifty_annotators_at_once_on_postgresql_through_the_gradio_api(pg_server):
    server = pg_server
    result = run_load(server, 1)
    assert not result["errors"], result["errors"][:5]
    assert result["duplicates"]
    check_store(server.db_url, 1, result["acked"], k=3, names=SCHEMA.names)


def test_a_killed_server_keeps_every_acknowledged_label(servers, server_factory):
    server = servers["killed"].ready()
    db_url = server.db_url
    acked, lock, stop, busy = {}, threading.Lock(), threading.Event(), threading.Event()

    def annotator(i):
        name, rng = f"k{i}", np.random.default_rng(i)
        try:
            with httpx.Client(timeout=30) as client:
                item = server.call("next_item", name, 1, client=client)["item"]
                while not stop.is_set():
                    values = random_answer(SCHEMA, rng)
                    reply = server.call("submit_label", name, 1, item["item_id"], item["token"], values,
                                        client=client)
                    with lock:
                        acked[(name, item["item_id"])] = values  # acknowledged: the reply came back
                        if len(acked) >= 24:
                            busy.set()
                    item = reply["item"]
        except (httpx.HTTPError, ApiError):
            pass  # the server died under us

    threads = [threading.Thread(target=annotator, args=(i,)) for i in range(12)]
    for t in threads:
        t.start()
    # kill once 24 labels are acknowledged; the deadline only guards against a hang (a busy machine is slow)
    assert busy.wait(timeout=300), f"{len(acked)} labels acknowledged in 300 s:\n{server.log.read_text()[-2000:]}"
    server.kill()  # SIGKILL mid-run, requests in flight
    stop.set()
    for t in threads:
        t.join(timeout=60)
    assert len(acked) >= 24  # the server was busy labeling when it was killed
    frame = open_store(db_url).labels_frame(1)
    got = answers_by_label(frame, SCHEMA.names)
    missing = [key for key in acked if got.get(key) != acked[key]]
    assert not missing, f"{len(missing)} acknowledged labels lost"
    assert len(got) - len(acked) <= len(threads)  # at most the one in flight per annotator
    with open_store(db_url).engine.connect() as conn:
        assert conn.exec_driver_sql("PRAGMA integrity_check").scalar() == "ok"
    close_store(db_url)
    restarted = server_factory(db_url, n=300, k=3)  # the store opens again and serves on
    assert restarted.call("next_item", "k0", 1)["progress"]["mine"] == sum(1 for name, _ in acked if name == "k0") \
        + sum(1 for (name, _) in set(got) - set(acked) if name == "k0")


def test_gradio_login_mode_ties_labels_to_the_logged_in_annotator(servers):
    server = servers["login"].ready()  # --annotator-auth gradio with USERS
    assert httpx.post(f"{server.url}/gradio_api/call/next_item", json={"data": ["alice", 1]}).status_code == 401
    with httpx.Client(timeout=60) as alice:
        assert alice.post(f"{server.url}/login", data={"username": "alice", "password": "wrong"}).status_code >= 400
        assert alice.post(f"{server.url}/login", data={"username": "alice", "password": "alice-pw-1"}).is_success
        item = server.call("next_item", "alice", 1, client=alice)["item"]
        with pytest.raises(ApiError, match="log in as this annotator"):
            server.call("next_item", "bob", 1, client=alice)  # alice cannot label as bob
        reply = server.call("submit_label", "alice", 1, item["item_id"], item["token"],
                            random_answer(SCHEMA, np.random.default_rng(0)), client=alice)
        assert reply["message"] == "Saved."
        assert alice.get(server.url + reply["item"]["image_url"]).content[:4] == b"\x89PNG"
    assert list(open_store(server.db_url).labels_frame(1).annotator) == ["alice"]
    close_store(server.db_url)
