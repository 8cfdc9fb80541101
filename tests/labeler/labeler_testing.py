"""Helpers shared by the labeler tests: a real `latentlab serve` subprocess and its HTTP API."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx
import numpy as np
import pytest

REPO = Path(__file__).resolve().parents[2]
BROWSER_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                "--disable-background-networking", "--disable-component-update", "--disable-sync"]


def outside_viewport(page, selector: str) -> list[str]:
    """The displayed elements matching `selector` that do not lie wholly inside the page's viewport."""
    return page.evaluate("""(sel) => {
        const W = window.innerWidth, H = window.innerHeight, out = [];
        for (const e of document.querySelectorAll(sel)) {
            const r = e.getBoundingClientRect();
            if (r.width === 0 && r.height === 0) continue;  // not displayed (e.g. the other key help)
            if (r.left < 0 || r.top < 0 || r.right > W + 0.5 || r.bottom > H + 0.5)
                out.push(`${e.closest('[id]') ? e.closest('[id]').id : sel}: ${e.innerText.trim().slice(0, 30)} ` +
                         `at ${Math.round(r.left)},${Math.round(r.top)}-${Math.round(r.right)},${Math.round(r.bottom)}`);
        }
        return out;
    }""", selector)


def random_answer(schema, rng: np.random.Generator) -> dict[str, str]:
    return {a.name: a.choices[rng.integers(len(a.choices))] for a in schema.attributes}


# -- a real server ------------------------------------------------------------------------------

def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Server:
    """`latentlab serve` in a subprocess on 127.0.0.1 (the real app, the real store).

    With `wait=False` the constructor returns at once and `ready()` waits for the first HTTP 200:
    servers started together spend their ~5 s of imports at the same time. The app answers before
    its run's faces are drawn (only drawn faces are served), so `ready()` also waits until every
    face of run 1 is drawn, unless `wait_drawn=False` (a test of the first start itself)."""

    def __init__(self, generator_file: Path, db_url: str, workspace: Path, n: int = 30, k: int = 3,
                 admin_password: str | None = "admin-secret", extra: list[str] | None = None, wait: bool = True,
                 wait_drawn: bool = True):
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.db_url = db_url
        self.workspace = workspace
        self.admin_password = admin_password
        self.log = workspace.parent / f"server-{self.port}.log"
        workspace.mkdir(parents=True, exist_ok=True)
        env = {**os.environ, "LATENTLAB_WORKSPACE": str(workspace), "GRADIO_ANALYTICS_ENABLED": "False",
               "OMP_NUM_THREADS": "1", "PYTHONUNBUFFERED": "1"}
        env.pop("LATENTLAB_DB", None)
        cmd = [sys.executable, "-m", "latentlab.cli", "serve", "--generator", str(generator_file), "--db", db_url,
               "--port", str(self.port), "--n", str(n), "--k", str(k), "--device", "cpu",
               *(["--admin-password", admin_password] if admin_password else ["--no-admin"]), *(extra or [])]
        self.proc = subprocess.Popen(cmd, cwd=REPO, env=env, stdout=open(self.log, "w"), stderr=subprocess.STDOUT)
        self._answered = False
        self._wait_drawn = wait_drawn
        if wait:
            self.ready()

    def ready(self) -> Server:
        """Wait until the app answers (once), and unless `wait_drawn=False` until run 1's faces are all
        drawn; returns the server."""
        if not self._answered:
            self._wait_until(self._answers, "did not answer")
            if self._wait_drawn:
                from labeler.store import LabelStore

                store = LabelStore(self.db_url)  # its own engine: a test's shared store (open_store) is left alone
                try:  # the run exists before the app listens
                    self._wait_until(lambda: not store.progress(1).drawing, "did not draw run 1's faces")
                finally:
                    store.dispose()
            self._answered = True
        return self

    def _answers(self) -> bool:
        try:
            return httpx.get(self.url + "/", timeout=2).status_code == 200  # the app, or its login page
        except httpx.HTTPError:
            return False

    def _wait_until(self, event: Callable[[], bool], failure: str, timeout: float = 300.0) -> None:
        """Poll `event` until it holds; the deadline only guards against a hang (start-up is slow on a busy
        machine). A server that exits or misses the deadline fails with its log."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"the server exited with {self.proc.returncode}:\n{self.log.read_text()}")
            if event():
                return
            time.sleep(0.2)  # poll interval while waiting for that event
        self.stop()
        raise RuntimeError(f"the server {failure} within {timeout:.0f} s:\n{self.log.read_text()}")

    def call(self, api_name: str, *data, client: httpx.Client | None = None, session: str | None = None,
             every_output: bool = False):
        """POST /gradio_api/call/<name>, then read the result; raises ApiError with the app's message.

        `session` is a session hash kept per simulated person, as a browser does (Gradio sets up
        state for every new session, which costs a few ms per call without it)."""
        return parse_sse(self.call_raw(api_name, *data, client=client, session=session), every_output)

    def call_raw(self, api_name: str, *data, client: httpx.Client | None = None, session: str | None = None) -> str:
        """The event stream that answers POST /gradio_api/call/<name>, as text."""
        c = client or httpx
        body = {"data": list(data), **({"session_hash": session} if session else {})}
        r = c.post(f"{self.url}/gradio_api/call/{api_name}", json=body, timeout=120)
        r.raise_for_status()
        event_id = r.json()["event_id"]
        return c.get(f"{self.url}/gradio_api/call/{api_name}/{event_id}", timeout=120).text

    def kill(self) -> None:
        self.proc.kill()
        self.proc.wait(timeout=30)

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.kill()


class ApiError(Exception):
    pass


class CrowdClient:
    """One annotator on the crowd page's JSON API (`label/api/*`), holding its log-in cookie."""

    def __init__(self, server: Server, name: str, password: str | None = None, timeout: float = 120):
        self.server = server
        self.http = httpx.Client(base_url=server.url + "/label/", timeout=timeout)
        self.name = self.post("login", name=name, password=password)["annotator"]

    def post(self, action: str, **body) -> dict:
        """The reply's JSON; an error reply raises ApiError with the server's sentence."""
        r = self.http.post(f"api/{action}", json=body)
        data = r.json()
        if r.status_code != 200:
            raise ApiError(f"{r.status_code}: {data.get('error')}")
        return data

    def next(self, run_id: int = 1) -> dict:
        return self.post("next", run_id=run_id)

    def submit(self, item: dict, values: dict, run_id: int = 1) -> dict:
        return self.post("submit", run_id=run_id, item_id=item["item_id"], request_id=item["token"], values=values)

    def close(self) -> None:
        self.http.close()


def answers_by_label(frame, names: list[str]) -> dict[tuple[str, int], dict[str, str]]:
    """{(annotator, item_id): {attribute: value}} of a store's `labels_frame`, to compare with what was sent."""
    return {(r.annotator, r.item_id): {n: getattr(r, n) for n in names} for r in frame.itertuples()}


def check_store(db_url: str, run_id: int, acked: dict, k: int, names: list[str]) -> None:
    """The store holds exactly the acknowledged labels, each face k times, from different annotators."""
    from collections import Counter

    from labeler.store import close_store, open_store

    store = open_store(db_url)
    frame = store.labels_frame(run_id)
    got = answers_by_label(frame, names)
    assert got == acked  # nothing lost, nothing extra, the first answer kept
    assert not frame.duplicated(["item_id", "annotator"]).any()
    per_item = Counter(frame.item_id)
    assert len(per_item) == store.get_run(run_id).n and set(per_item.values()) == {k}  # every item reaches k
    close_store(db_url)


# -- a fresh PostgreSQL database ------------------------------------------------------------------

PG_ENV = "LATENTLAB_TEST_PG_URL"


def pg_base_url() -> str:
    """The configured server's URL; without one the test is skipped locally and FAILS in CI (env CI)."""
    url = os.environ.get(PG_ENV)
    if not url:
        if os.environ.get("CI"):
            pytest.fail(f"{PG_ENV} is not set in CI: start PostgreSQL with .ci/pg_start.sh and export it")
        pytest.skip(f"no PostgreSQL server configured (set {PG_ENV}, e.g. $(bash .ci/pg_start.sh))")
    return url


@contextmanager
def fresh_pg_database() -> Iterator[str]:
    """A fresh, empty database on the configured server, dropped afterwards."""
    from sqlalchemy import create_engine, text
    from sqlalchemy.engine import make_url

    from labeler.store import close_store

    base = make_url(pg_base_url())
    if base.drivername == "postgresql":
        base = base.set(drivername="postgresql+psycopg")
    name = f"ll_test_{uuid.uuid4().hex[:12]}"
    admin = create_engine(base, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    url = base.set(database=name).render_as_string(hide_password=False)
    try:
        yield url
    finally:
        close_store(url)
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


def parse_sse(body: str, every_output: bool = False):
    event = None
    for line in body.splitlines():
        if line.startswith("event:"):
            event = line.split(":", 1)[1].strip()
        elif line.startswith("data:") and event in ("complete", "error"):
            payload = json.loads(line.split(":", 1)[1].strip())
            if event == "error":
                raise ApiError(payload.get("error") if isinstance(payload, dict) else payload)
            return payload if every_output else payload[0]
    raise ApiError(f"no result in the event stream: {body[:300]!r}")
