"""Next-item latency of the labeling app under many concurrent annotators, on SQLite and PostgreSQL.

Starts the real app (`latentlab serve`, a tiny generator, a fresh store) on 127.0.0.1 and lets
N simulated annotators label through its HTTP API (POST /gradio_api/call/<name> + the SSE
result, the same queue the browser uses, one session per annotator) for a fixed time. Two paces:
think 0 s (each annotator submits the moment the next face arrives: saturation, the worst case)
and think 2 s (a fast person: 8 keys and Enter). It prints p50/p95/p99 of

* submit -> next item: `submit_label` (commit the answer, then serve the next face), which is
  what an annotator waits for after pressing Enter;
* next item alone: `next_item` (the first face of a session, or a reload);

plus labels/s, and checks afterwards that no label was duplicated.

    python bench/bench_labeler.py                                  # SQLite, and PostgreSQL if configured
    python bench/bench_labeler.py --db sqlite --annotators 50 --seconds 30
    LATENTLAB_TEST_PG_URL=$(bash .ci/pg_start.sh) python bench/bench_labeler.py --db postgresql
"""

from __future__ import annotations

import argparse
import json
import os
import socket
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from pathlib import Path

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
    """One API call; `session` is kept per annotator as a browser keeps its session hash."""
    r = client.post(f"{url}/gradio_api/call/{api_name}", json={"data": list(data), "session_hash": session})
    r.raise_for_status()
    body = client.get(f"{url}/gradio_api/call/{api_name}/{r.json()['event_id']}").text
    event = None
    for line in body.splitlines():
        if line.startswith("event:"):
            event = line[6:].strip()
        elif line.startswith("data:") and event in ("complete", "error"):
            payload = json.loads(line[5:])
            if event == "error":
                raise RuntimeError(payload)
            return payload[0]
    raise RuntimeError(f"no result: {body[:200]}")


def start_server(generator: Path, db_url: str, workspace: Path, n: int, k: int) -> tuple[subprocess.Popen, str]:
    port = free_port()
    env = {**os.environ, "LATENTLAB_WORKSPACE": str(workspace), "GRADIO_ANALYTICS_ENABLED": "False",
           "OMP_NUM_THREADS": "1"}
    proc = subprocess.Popen([sys.executable, "-m", "latentlab.cli", "serve", "--generator", str(generator),
                             "--db", db_url, "--port", str(port), "--n", str(n), "--k", str(k), "--device", "cpu"],
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


def load(url: str, schema, annotators: int, seconds: float, think_s: float = 0.0) -> dict[str, list[float]]:
    submit_lat: list[float] = []
    next_lat: list[float] = []
    errors: list[str] = []
    barrier = threading.Barrier(annotators)
    stop_at = [0.0]

    def annotator(i: int) -> None:
        rng = np.random.default_rng(i)
        name, session = f"bench{i:03d}", uuid.uuid4().hex
        with httpx.Client(timeout=120) as client:
            try:
                barrier.wait()
                if i == 0:
                    stop_at[0] = time.monotonic() + seconds
                while not stop_at[0]:
                    time.sleep(0.001)
                t0 = time.perf_counter()
                item = call(client, url, "next_item", name, 1, session=session)["item"]
                next_lat.append(time.perf_counter() - t0)
                while item is not None and time.monotonic() < stop_at[0]:
                    if think_s:
                        time.sleep(think_s * rng.uniform(0.5, 1.5))
                    values = {a.name: a.choices[rng.integers(len(a.choices))] for a in schema.attributes}
                    t0 = time.perf_counter()
                    item = call(client, url, "submit_label", name, 1, item["item_id"], item["token"], values,
                                session=session)["item"]
                    submit_lat.append(time.perf_counter() - t0)
                    if rng.random() < 0.1:  # a reload now and then
                        t0 = time.perf_counter()
                        item = call(client, url, "next_item", name, 1, session=session)["item"]
                        next_lat.append(time.perf_counter() - t0)
            except Exception as e:
                errors.append(repr(e))

    threads = [threading.Thread(target=annotator, args=(i,)) for i in range(annotators)]
    t_start = time.monotonic()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return {"submit": submit_lat, "next": next_lat, "errors": errors, "wall": time.monotonic() - t_start}


def cpu_seconds(pid: int) -> float:
    """User + system CPU time of a process (Linux), to report the server's cost per label."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def pct(values: list[float], q: float) -> float:
    return float(np.percentile(np.array(values) * 1000, q)) if values else float("nan")


def bench(kind: str, db_url: str, generator: Path, args, think_s: float, cleanup=None) -> None:
    from labeler.schema import default_schema
    from labeler.store import close_store, open_store

    with tempfile.TemporaryDirectory() as tmp:
        proc, url = start_server(generator, db_url, Path(tmp) / "ws", args.n, args.k)
        try:
            cpu0 = cpu_seconds(proc.pid)
            r = load(url, default_schema(), args.annotators, args.seconds, think_s)
            cpu = cpu_seconds(proc.pid) - cpu0
        finally:
            proc.terminate()
            proc.wait(timeout=30)
        frame = open_store(db_url).labels_frame(1)
        dup = int(frame.duplicated(["item_id", "annotator"]).sum())
        over = int((frame.groupby("item_id").size() > args.k).sum())
        close_store(db_url)
    if cleanup:
        cleanup()
    print(f"{kind:10s} think={think_s:g}s annotators={args.annotators} labels={len(r['submit'])} "
          f"({len(r['submit']) / args.seconds:.1f}/s)  "
          f"submit->next ms p50={pct(r['submit'], 50):.0f} p95={pct(r['submit'], 95):.0f} "
          f"p99={pct(r['submit'], 99):.0f}  "
          f"next_item ms p50={pct(r['next'], 50):.0f} p95={pct(r['next'], 95):.0f} (n={len(r['next'])})  "
          f"server CPU/label={1000 * cpu / max(1, len(r['submit'])):.0f} ms  "
          f"stored={len(frame)} duplicates={dup} over_k={over} errors={len(r['errors'])}", flush=True)
    if r["errors"]:
        print("  first error:", r["errors"][0])


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--db", choices=("sqlite", "postgresql", "both"), default="both")
    p.add_argument("--pg-url", default=os.environ.get("LATENTLAB_TEST_PG_URL"),
                   help="PostgreSQL server URL (default: $LATENTLAB_TEST_PG_URL); a fresh database is made on it")
    p.add_argument("--annotators", type=int, default=50)
    p.add_argument("--seconds", type=float, default=30.0)
    p.add_argument("--n", type=int, default=1000, help="faces in the run (enough that nobody runs out)")
    p.add_argument("--k", type=int, default=3)
    p.add_argument("--think", default="0,2", help="comma-separated think times in seconds, one run each")
    args = p.parse_args()
    print(f"{os.cpu_count()} CPUs, load average {os.getloadavg()[0]:.1f} before the run", flush=True)
    with tempfile.TemporaryDirectory() as tmp:
        generator = tiny_generator_file(Path(tmp))
        for think_s in [float(t) for t in args.think.split(",")]:
            if args.db in ("sqlite", "both"):
                bench("sqlite", f"sqlite:///{Path(tmp) / f'bench{think_s:g}.sqlite'}", generator, args, think_s)
            if args.db in ("postgresql", "both"):
                if not args.pg_url:
                    print("postgresql: skipped (set LATENTLAB_TEST_PG_URL or --pg-url, e.g. $(bash .ci/pg_start.sh))")
                else:
                    url, drop = fresh_pg_database(args.pg_url)
                    bench("postgresql", url, generator, args, think_s, cleanup=drop)


if __name__ == "__main__":
    main()
