"""Submit -> next-face latency and throughput of the labeling app under a crowd, on SQLite and PostgreSQL.

Starts the real app (`latentlab serve`, a tiny generator, a fresh store) on 127.0.0.1, or several
on one PostgreSQL database, and lets N simulated annotators label for a fixed time through the crowd
page's JSON API (`--api crowd`, POST label/api/<action> with the log-in ticket; with several servers
each request goes to the next server, as a proxy without sticky sessions would) or through Gradio's
(`--api gradio`, POST /gradio_api/run/<name>, one session per annotator, pinned to one server).
Paces: think 1 s (each person submits about once a second: a fast human) and think 0 s (each
submits the moment the next face arrives: saturation). It prints one Markdown row per setting:

* labels/s and submit -> next p50/p95/p99: `submit_label` commits the answer and leases the next
  face, which is what an annotator waits for after pressing Enter;
* next p95: `next_item` alone (the first face of a session, or a reload);
* the servers' CPU per label, PostgreSQL's and the simulated annotators' (spread over `--client-procs`
  processes, each request on a kept-alive connection), how busy the machine's cores were, and the
  checks: acknowledged labels lost, duplicates, faces over k.

    python bench/bench_labeler.py                                  # SQLite, and PostgreSQL if configured
    python bench/bench_labeler.py --db sqlite --annotators 50,200 --think 1 --seconds 20 --api crowd,gradio
    LATENTLAB_TEST_PG_URL=$(bash .ci/pg_start.sh) python bench/bench_labeler.py --db postgresql --servers 1,2,4 --think 0

Two more modes simulate a crowd through the store itself (no server), on the default generator's w
with a synthetic linear ground truth (hidden directions in w, one imbalanced attribute per rate):

    python bench/bench_labeler.py active   # held-out accuracy and edit flip rate vs labels: random vs active
    python bench/bench_labeler.py gold     # gold accuracy per annotator, and aggregation weighted by it
"""

from __future__ import annotations

import argparse
import http.client
import json
import multiprocessing
import os
import socket
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from pathlib import Path
from urllib.parse import urlsplit

import httpx
import numpy as np

REPO = Path(__file__).resolve().parents[1]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def tiny_generator_file(folder: Path) -> Path:
    import torch

    from latentlab.generator.native import save_native
    from latentlab.generator.stylegan2 import StyleGAN2Config, StyleGAN2Generator

    torch.manual_seed(0)
    cfg = StyleGAN2Config(resolution=16, z_dim=32, w_dim=32, mapping_layers=2, channels={4: 32, 8: 32, 16: 16})
    return save_native(StyleGAN2Generator(cfg).eval(), folder / "tiny.safetensors")


def fresh_pg_database(base_url: str) -> tuple[str, callable]:
    from sqlalchemy import create_engine, text
    from sqlalchemy.engine import make_url

    base = make_url(base_url)
    if base.drivername == "postgresql":
        base = base.set(drivername="postgresql+psycopg")
    name = f"ll_bench_{uuid.uuid4().hex[:10]}"
    admin = create_engine(base, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))

    def drop() -> None:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()

    return base.set(database=name).render_as_string(hide_password=False), drop


def call(client: httpx.Client, url: str, api_name: str, *data, session: str):
    """One API call: POST /gradio_api/run/<name> (the labeling endpoints skip Gradio's queue, so this
    is one request). `session` is kept per annotator as a browser keeps its session hash: Gradio
    builds a whole-app session state (~0.1 s of CPU) for every new hash, and for every call without one."""
    r = client.post(f"{url}/gradio_api/run/{api_name}", json={"data": list(data), "session_hash": session})
    if r.status_code != 200:
        raise RuntimeError(f"{r.status_code}: {r.text[:200]}")
    return r.json()["data"][0]


class GradioApi:
    """An annotator on the Gradio API (POST /gradio_api/run/<name>, one session hash per annotator,
    so always the same server: Gradio keeps the session there)."""

    def __init__(self, client: httpx.Client, urls: list[str], name: str, first: int = 0):
        self.client, self.url, self.name, self.session = client, urls[first % len(urls)], name, uuid.uuid4().hex

    def next(self) -> dict:
        return call(self.client, self.url, "next_item", self.name, 1, session=self.session)

    def submit(self, item: dict, values: dict) -> dict:
        return call(self.client, self.url, "submit_label", self.name, 1, item["item_id"], item["token"], values,
                    session=self.session)


class CrowdApi:
    """An annotator on the crowd page's JSON API (POST label/api/<action>), as a script uses it: the
    signed ticket in the body, one kept-alive connection per server (`http.client`: an httpx request
    costs the client ~1 ms of CPU more, on the same two cores as the server). With several servers
    each request goes to the next one, as a proxy without sticky sessions would. `client` is taken only
    so that every API in APIS is built the same way; it is not used."""

    def __init__(self, client, urls: list[str], name: str, first: int = 0):
        self.hosts = [urlsplit(u) for u in urls]
        self.conns: list[http.client.HTTPConnection | None] = [None] * len(urls)
        self.turn, self.ticket = first, None
        reply = self._post("login", {"name": name})
        self.name, self.ticket = reply["annotator"], reply["ticket"]

    def _post(self, action: str, body: dict) -> dict:
        self.turn += 1
        i = self.turn % len(self.hosts)
        payload = json.dumps(body if self.ticket is None else {**body, "ticket": self.ticket}).encode()
        for attempt in (0, 1):  # a kept-alive connection the server closed meanwhile: once more, anew
            if self.conns[i] is None:
                self.conns[i] = http.client.HTTPConnection(self.hosts[i].hostname, self.hosts[i].port, timeout=120)
            try:
                self.conns[i].request("POST", f"/label/api/{action}", payload, {"Content-Type": "application/json"})
                r = self.conns[i].getresponse()
                text = r.read()
                break
            except (http.client.RemoteDisconnected, ConnectionError):
                self.conns[i].close()
                self.conns[i] = None
                if attempt:
                    raise
        if r.status != 200:
            raise RuntimeError(f"{r.status}: {text[:200]!r}")
        return json.loads(text)

    def next(self) -> dict:
        return self._post("next", {"run_id": 1})

    def submit(self, item: dict, values: dict) -> dict:
        return self._post("submit", {"run_id": 1, "item_id": item["item_id"], "request_id": item["token"],
                                     "values": values})


APIS = {"crowd": CrowdApi, "gradio": GradioApi}


def start_server(generator: Path, db_url: str, workspace: Path, n: int, k: int,
                 extra: tuple[str, ...] = ()) -> tuple[subprocess.Popen, str]:
    """`latentlab serve` on a free port; returns once it answers (the run's faces may still be drawing)."""
    port = free_port()
    env = {**os.environ, "LATENTLAB_WORKSPACE": str(workspace), "GRADIO_ANALYTICS_ENABLED": "False",
           "OMP_NUM_THREADS": "1"}
    proc = subprocess.Popen([sys.executable, "-m", "latentlab.cli", "serve", "--generator", str(generator),
                             "--db", db_url, "--port", str(port), "--n", str(n), "--k", str(k), "--device", "cpu", *extra],
                            cwd=REPO, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 180
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"server exited with {proc.returncode}")
        try:
            if httpx.get(url + "/config", timeout=2).status_code == 200:
                return proc, url
        except httpx.HTTPError:
            time.sleep(0.3)
    proc.kill()
    raise RuntimeError("server did not start")


def load(urls: list[str], schema, annotators: int, seconds: float, think_s: float = 0.0, api: str = "crowd",
         procs: int = 1) -> dict:
    """`annotators` simulated people, spread over the servers in `urls` and over `procs` client processes
    (one interpreter lock for 200 threads makes the client itself a queue), label for `seconds`: each
    waits think_s x U(0.5, 1.5) before a submit (0: saturation), reloads now and then, and records
    every acknowledged (annotator, item). Also returns the clients' CPU seconds."""
    procs = max(1, min(procs, annotators))
    if procs == 1:
        return _load_part(urls, schema, range(annotators), seconds, think_s, api, None)
    ctx = multiprocessing.get_context("fork")
    barrier, results = ctx.Barrier(procs), ctx.Queue()
    parts = [range(annotators)[j::procs] for j in range(procs)]
    workers = [ctx.Process(target=lambda part=part: results.put(
        _load_part(urls, schema, part, seconds, think_s, api, barrier))) for part in parts]
    t_start = time.monotonic()
    for w in workers:
        w.start()
    got = [results.get() for _ in workers]
    for w in workers:
        w.join()
    return {key: sum((g[key] for g in got), []) for key in ("submit", "next", "errors", "acked")} | {
        "wall": time.monotonic() - t_start, "client_cpu": sum(g["client_cpu"] for g in got)}


def _load_part(urls: list[str], schema, ids: range, seconds: float, think_s: float, api: str, outer) -> dict:
    """The annotators `ids`, one thread each, in this process; `outer` is the barrier of all client processes."""
    submit_lat: list[float] = []
    next_lat: list[float] = []
    errors: list[str] = []
    acked: list[tuple[str, int]] = []
    barrier = threading.Barrier(len(ids))
    stop_at = [0.0]
    cpu0 = time.process_time()

    def annotator(i: int) -> None:
        rng = np.random.default_rng(i)
        name = f"bench{i:03d}"
        with httpx.Client(timeout=120) as client:
            try:
                annotator_api = APIS[api](client, urls, name, first=i)  # a log-in on the crowd page
                if barrier.wait() == 0:
                    if outer is not None:
                        outer.wait()  # every process has logged its annotators in
                    stop_at[0] = time.monotonic() + seconds
                while not stop_at[0]:
                    time.sleep(0.001)
                time.sleep(rng.uniform(0, think_s))  # people do not all start in the same millisecond
                t0 = time.perf_counter()
                item = annotator_api.next()["item"]
                next_lat.append(time.perf_counter() - t0)
                while item is not None and time.monotonic() < stop_at[0]:
                    if think_s:
                        time.sleep(think_s * rng.uniform(0.5, 1.5))
                    values = {a.name: a.choices[rng.integers(len(a.choices))] for a in schema.attributes}
                    t0 = time.perf_counter()
                    reply = annotator_api.submit(item, values)
                    submit_lat.append(time.perf_counter() - t0)
                    acked.append((name, item["item_id"]))
                    item = reply["item"]
                    if rng.random() < 0.05:  # a reload now and then
                        t0 = time.perf_counter()
                        item = annotator_api.next()["item"]
                        next_lat.append(time.perf_counter() - t0)
            except Exception as e:
                errors.append(repr(e))
                barrier.abort()  # a failed log-in must not leave the others waiting
                if outer is not None:
                    outer.abort()

    threads = [threading.Thread(target=annotator, args=(i,)) for i in ids]
    t_start = time.monotonic()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return {"submit": submit_lat, "next": next_lat, "errors": errors, "acked": acked,
            "wall": time.monotonic() - t_start, "client_cpu": time.process_time() - cpu0}


def cpu_seconds(pid: int) -> float:
    """User + system CPU time of a process (Linux), to report the server's cost per label."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def machine_busy() -> tuple[float, float]:
    """(busy, total) CPU jiffies of the whole machine so far (Linux /proc/stat): how full the cores were."""
    fields = [int(x) for x in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
    idle = fields[3] + fields[4]  # idle + iowait
    return sum(fields) - idle, sum(fields)


def postgres_cpu_seconds() -> float:
    """CPU time of every `postgres` process on this machine (the database's share of a label)."""
    total = 0.0
    for comm in Path("/proc").glob("[0-9]*/comm"):
        try:
            if comm.read_text().strip() == "postgres":
                total += cpu_seconds(int(comm.parent.name))
        except OSError:  # the process ended meanwhile
            continue
    return total


def pct(values: list[float], q: float) -> float:
    return float(np.percentile(np.array(values) * 1000, q)) if values else float("nan")


def bench(kind: str, db_url: str, generator: Path, args, think_s: float, annotators: int, servers: int,
          cleanup=None, api: str = "crowd") -> dict:
    from labeler.schema import default_schema
    from labeler.store import close_store, open_store

    procs = []
    with tempfile.TemporaryDirectory() as tmp:
        try:
            first, url = start_server(generator, db_url, Path(tmp) / "ws", args.n, args.k,  # creates the run
                                      extra=("--active-every", str(args.active_every)))
            procs.append((first, url))
            while open_store(db_url).rendered(1) < args.n:  # measure labeling, not the first start's drawing
                time.sleep(0.2)
            for _ in range(1, servers):  # more app servers on the same store serve the same run
                procs.append(start_server(generator, db_url, Path(tmp) / "ws", args.n, args.k,
                                          extra=("--active-every", "0")))  # one refitting server is enough
            cpu0, db0, busy0 = sum(cpu_seconds(p.pid) for p, _ in procs), postgres_cpu_seconds(), machine_busy()
            r = load([u for _, u in procs], default_schema(), annotators, args.seconds, think_s, api,
                     args.client_procs)
            cpu = sum(cpu_seconds(p.pid) for p, _ in procs) - cpu0
            client_cpu = r["client_cpu"]  # the simulated annotators' threads, in every client process
            busy1 = machine_busy()
            busy = (busy1[0] - busy0[0]) / max(1, busy1[1] - busy0[1])
            db_cpu = postgres_cpu_seconds() - db0 if kind == "postgresql" else float("nan")  # SQLite: in the server
        finally:
            for p, _ in procs:
                p.terminate()
                p.wait(timeout=30)
        frame = open_store(db_url).labels_frame(1)
        stored = set(zip(frame.annotator, frame.item_id))
        lost = len(set(r["acked"]) - stored)
        dup = int(frame.duplicated(["item_id", "annotator"]).sum())
        over = int((frame.groupby("item_id").size() > args.k).sum())
        close_store(db_url)
    if cleanup:
        cleanup()
    row = {"api": api, "db": kind, "servers": servers, "annotators": annotators, "think_s": think_s,
           "labels_per_s": len(r["submit"]) / args.seconds, "p50": pct(r["submit"], 50), "p95": pct(r["submit"], 95),
           "p99": pct(r["submit"], 99), "next_p95": pct(r["next"], 95),
           "cpu_ms": 1000 * cpu / max(1, len(r["submit"])),
           "client_cpu_ms": 1000 * client_cpu / max(1, len(r["submit"])),
           "db_cpu_ms": 1000 * db_cpu / max(1, len(r["submit"])), "lost": lost, "dup": dup, "over_k": over,
           "errors": len(r["errors"]), "busy": busy}
    db_cpu_text = f"{row['db_cpu_ms']:.1f}" if kind == "postgresql" else "(in the server)"
    print(f"| {api} | {kind} | {servers} | {annotators} | {think_s:g} | {row['labels_per_s']:.1f} | "
          f"{row['p50']:.0f} | {row['p95']:.0f} | {row['p99']:.0f} | {row['next_p95']:.0f} | {row['cpu_ms']:.1f} | "
          f"{db_cpu_text} | {row['client_cpu_ms']:.1f} | {100 * busy:.0f} | {lost} | {dup} | "
          f"{over} | {len(r['errors'])} |", flush=True)
    if r["errors"]:
        print("  first error:", r["errors"][0], flush=True)
    return row


# -- simulated crowds: active learning and gold faces ----------------------------------------------

SYNTHETIC_SCHEMA = {"name": "synthetic", "attributes": [
    {"name": "even", "kind": "binary", "options": ["no", "yes"]},  # 50 % yes
    {"name": "common", "kind": "binary", "options": ["no", "yes"]},  # 25 %
    {"name": "rare", "kind": "binary", "options": ["no", "yes"]},  # 8 %
    {"name": "level", "kind": "ordinal", "options": ["low", "mid", "high"]},  # 30 / 40 / 30 %
    {"name": "kind", "kind": "categorical", "options": ["a", "b", "c", "d"]}]}  # argmax of 4 directions
RATES = {"even": 0.5, "common": 0.25, "rare": 0.08}


class SyntheticTruth:
    """Attributes as fixed linear functions of standardised w: hidden directions, thresholds set on a sample."""

    def __init__(self, w_ref: np.ndarray, seed: int = 0):
        rng = np.random.default_rng(seed)
        self.mu, self.sd = w_ref.mean(0), w_ref.std(0) + 1e-6
        dim = w_ref.shape[1]
        unit = lambda: (v := rng.normal(size=dim)) / np.linalg.norm(v)  # noqa: E731
        self.dirs = {a: unit() for a in RATES} | {"level": unit()} | {"kind": np.stack([unit() for _ in range(4)])}
        x = self.x(w_ref)
        self.cut = {a: np.quantile(x @ self.dirs[a], 1 - r) for a, r in RATES.items()}
        self.level_cuts = np.quantile(x @ self.dirs["level"], [0.3, 0.7])

    def x(self, w: np.ndarray) -> np.ndarray:
        return (w - self.mu) / self.sd

    def codes(self, x: np.ndarray) -> dict[str, np.ndarray]:
        out = {a: (x @ self.dirs[a] > self.cut[a]).astype(int) for a in RATES}
        out["level"] = np.searchsorted(self.level_cuts, x @ self.dirs["level"])
        out["kind"] = np.argmax(x @ self.dirs["kind"].T, axis=1)
        return out


def synthetic_run(tmp: Path, n: int, seed: int = 0, k: int = 1):
    """A run of n default-generator latents (no images drawn: the crowd is simulated) and its truth."""
    from latentlab.generator.interface import map_latents, sample_z
    from latentlab.generator.loading import load_generator

    from labeler.runs import start_run
    from labeler.schema import parse_schema
    from labeler.store import open_store

    gen = load_generator(None, "cpu")
    schema = parse_schema(SYNTHETIC_SCHEMA)
    db = f"sqlite:///{tmp / f'crowd{seed}.sqlite'}"
    run_id = start_run(db, gen, n=n, seed=seed, truncation_psi=0.8, schema=schema, k=k, workspace=tmp)
    store = open_store(db)
    store.set_rendered(run_id, n)  # the simulated crowd needs no pictures
    held_out = map_latents(gen, sample_z(2000, seed + 1000, gen.z_dim), 0.8)  # [2000, w_dim], not in the run
    ids, _, w = store.latents(run_id)
    truth = SyntheticTruth(np.concatenate([w, held_out]), seed)
    codes = truth.codes(truth.x(w))
    answers = {int(i): {a.name: a.options[codes[a.name][j]] for a in schema.attributes} for j, i in enumerate(ids)}
    return db, run_id, schema, truth, answers, held_out


def evaluate(db: str, run_id: int, schema, truth: SyntheticTruth, held_out: np.ndarray) -> tuple[float, float]:
    """(mean held-out balanced accuracy of per-attribute LDA fits on the labels so far, mean edit flip rate
    of the binary attributes: moving a held-out face across the fitted boundary, 1 standard unit past
    it, along the fitted direction, flips its true label)."""
    from sklearn.metrics import balanced_accuracy_score

    from labeler.active import fit_attribute
    from labeler.aggregate import majority_vote
    from labeler.store import open_store

    store = open_store(db)
    ids, _, w = store.latents(run_id)
    agg = majority_vote(store.labels_frame(run_id), schema, item_ids=ids)
    x, xh = truth.x(w), truth.x(held_out)
    true_h = truth.codes(xh)
    accs, flips = [], []
    for a in schema.attributes:
        y = agg[a.name].to_numpy(dtype=object)
        known = np.array([v is not None for v in y])
        model = fit_attribute(x[known], y[known].astype(str)) if known.sum() >= 6 else None
        if model is None:
            accs.append(1.0 / len(a.options))
            flips.append(0.0) if a.name in RATES else None
            continue
        pred = np.array([a.options.index(p) for p in model.predict(xh)])
        accs.append(balanced_accuracy_score(true_h[a.name], pred))
        if a.name in RATES and len(model.classes_) == 2:
            coef = model.coef_[0] * (1 if model.classes_[1] == "yes" else -1)  # towards "yes"
            norm = np.linalg.norm(coef)
            score = (xh @ coef + model.intercept_[0] * (1 if model.classes_[1] == "yes" else -1)) / norm
            moved = xh - (score + np.sign(score)) [:, None] * (coef / norm)[None, :]
            flips.append(float(np.mean(truth.codes(moved)[a.name] != true_h[a.name])))
    return float(np.mean(accs)), float(np.mean(flips))


def bench_active(args) -> None:
    from labeler.active import update_priorities
    from labeler.simulation import SimulatedAnnotator, label_run

    budgets = [int(b) for b in args.budgets.split(",")]
    print(f"pool {args.pool} faces (default generator, psi 0.8), k = 1, 10 simulated annotators with "
          f"{args.error:.0%} errors, held-out 2000 faces; batch {args.batch} between refits", flush=True)
    print("| labels | random: accuracy | random: flip rate | active: accuracy | active: flip rate |")
    print("|---|---|---|---|---|", flush=True)
    results = {}
    with tempfile.TemporaryDirectory() as tmp:
        for mode in ("random", "active"):
            db, run_id, schema, truth, answers, held_out = synthetic_run(Path(tmp) / mode, args.pool)
            crowd = [SimulatedAnnotator(f"sim{i}", args.error, seed=i) for i in range(10)]
            done = 0
            for budget in budgets:
                while done < budget:
                    step = min(budget - done, args.batch)
                    if mode == "active" and done >= args.seed_labels:
                        update_priorities(db, run_id, min_faces=args.seed_labels)
                    elif mode == "active":
                        step = min(step, args.seed_labels - done)
                    done += label_run(db, run_id, answers, crowd, k=1, budget=step)
                results[(mode, budget)] = evaluate(db, run_id, schema, truth, held_out)
    for budget in budgets:
        r, a = results[("random", budget)], results[("active", budget)]
        print(f"| {budget} | {r[0]:.3f} | {r[1]:.3f} | {a[0]:.3f} | {a[1]:.3f} |", flush=True)


def bench_gold(args) -> None:
    from labeler.aggregate import aggregate, gold_accuracy
    from labeler.simulation import SimulatedAnnotator, label_run
    from labeler.store import open_store

    with tempfile.TemporaryDirectory() as tmp:
        db, run_id, schema, _, answers, _ = synthetic_run(Path(tmp), args.pool, k=3)
        store = open_store(db)
        gold_ids = list(answers)[:args.gold]
        store.set_gold(run_id, {i: answers[i] for i in gold_ids})
        careful = [SimulatedAnnotator(f"careful{i}", 0.1, seed=i) for i in range(6)]
        careless = [SimulatedAnnotator(f"careless{i}", 0.5, seed=10 + i) for i in range(4)]
        label_run(db, run_id, answers, careful + careless, k=3, gold_rate=args.gold_rate)
        frame = store.labels_frame(run_id)
        gold = store.gold(run_id)
        acc = gold_accuracy(frame, schema, gold).set_index("annotator")
        on_gold = frame.item_id.isin(gold_ids)
        print(f"pool {args.pool} faces, k = 3, {args.gold} gold faces served at rate {args.gold_rate}; "
              f"6 careful annotators (10 % errors) and 4 careless (50 %); {len(frame)} labels, "
              f"{int(on_gold.sum())} of them on gold faces", flush=True)
        for group, who in (("careful", careful), ("careless", careless)):
            rows = acc.loc[[a.name for a in who]]
            print(f"{group}: gold accuracy {rows.gold_accuracy.mean():.3f} (true {1 - who[0].error_rate:.2f} on "
                  f"wrong-or-right answers; errors pick another option), {rows.gold_answers.mean():.0f} gold answers "
                  f"each", flush=True)
        ordinary = [i for i in answers if i not in gold]
        print("| aggregation | accuracy on the non-gold faces (all attributes) |")
        print("|---|---|")
        for method in ("majority", "dawid_skene", "gold_weighted"):
            agg = aggregate(frame, schema, method, item_ids=ordinary, gold=gold)
            right = [agg.at[i, a] == answers[i][a] for i in ordinary for a in schema.names]
            print(f"| {method} | {np.mean(right):.4f} |", flush=True)


def main() -> None:
    import sys

    if len(sys.argv) > 1 and sys.argv[1] in ("active", "gold"):
        mode = sys.argv.pop(1)
        p = argparse.ArgumentParser(description=f"bench_labeler.py {mode}: a simulated crowd through the store")
        p.add_argument("--pool", type=int, default=3000 if mode == "active" else 600, help="faces in the run")
        p.add_argument("--error", type=float, default=0.1, help="the annotators' error rate (active)")
        p.add_argument("--budgets", default="200,400,600,800,1000", help="label counts to report (active)")
        p.add_argument("--batch", type=int, default=50, help="labels between two refits (active)")
        p.add_argument("--seed-labels", type=int, default=100, help="random labels before the first fit (active)")
        p.add_argument("--gold", type=int, default=30, help="gold faces (gold)")
        p.add_argument("--gold-rate", type=float, default=0.1, help="share of faces served from gold (gold)")
        args = p.parse_args()
        (bench_active if mode == "active" else bench_gold)(args)
        return
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--db", choices=("sqlite", "postgresql", "both"), default="both")
    p.add_argument("--pg-url", default=os.environ.get("LATENTLAB_TEST_PG_URL"),
                   help="PostgreSQL server URL (default: $LATENTLAB_TEST_PG_URL); a fresh database is made on it")
    p.add_argument("--annotators", default="50,200", help="comma-separated crowd sizes, one run each")
    p.add_argument("--seconds", type=float, default=20.0)
    p.add_argument("--n", type=int, default=3000, help="faces in the run (enough that nobody runs out)")
    p.add_argument("--k", type=int, default=3)
    p.add_argument("--think", default="1,0", help="comma-separated think times in seconds (1 = a person at one "
                                                  "face a second, 0 = saturation), one run each")
    p.add_argument("--servers", default="1", help="comma-separated numbers of app servers on the same store "
                                                  "(PostgreSQL; SQLite runs use 1)")
    p.add_argument("--active-every", type=int, default=100,
                   help="the first server's `serve --active-every` (0: no refits while the crowd labels)")
    p.add_argument("--client-procs", type=int, default=4,
                   help="processes the simulated annotators are spread over (each has its own interpreter lock)")
    p.add_argument("--api", default="crowd", help="comma-separated: crowd (the crowd page's JSON API, label/api/*), "
                                                  "gradio (POST /gradio_api/run/<name>)")
    args = p.parse_args()
    apis = [a for a in args.api.split(",") if a]
    if not set(apis) <= set(APIS):
        p.error(f"--api takes {', '.join(APIS)}")
    print(f"{os.cpu_count()} CPUs, load average {os.getloadavg()[0]:.1f} before the run (the bench's clients run "
          f"on the same machine)", flush=True)
    print("| API | store | servers | annotators | think s | labels/s | p50 ms | p95 ms | p99 ms | next p95 ms | "
          "server CPU ms/label | PostgreSQL CPU ms/label | client CPU ms/label | cores busy % | lost | duplicates | over k | errors |")
    print("|---" * 18 + "|", flush=True)
    crowds = [int(a) for a in args.annotators.split(",")]
    with tempfile.TemporaryDirectory() as tmp:
        generator = tiny_generator_file(Path(tmp))
        for think_s in [float(t) for t in args.think.split(",")]:
            for annotators in crowds:
                if args.db in ("sqlite", "both"):
                    for api in apis:
                        db = f"sqlite:///{Path(tmp) / f'bench-{api}-{think_s:g}-{annotators}.sqlite'}"
                        bench("sqlite", db, generator, args, think_s, annotators, 1, api=api)
                if args.db in ("postgresql", "both"):
                    if not args.pg_url:
                        print("postgresql: skipped (set LATENTLAB_TEST_PG_URL or --pg-url, e.g. "
                              "$(bash .ci/pg_start.sh))")
                        continue
                    for servers in [int(x) for x in args.servers.split(",")]:
                        for api in apis:
                            url, drop = fresh_pg_database(args.pg_url)
                            bench("postgresql", url, generator, args, think_s, annotators, servers, cleanup=drop,
                                  api=api)


if __name__ == "__main__":
    main()
