"""Fixtures for the labeler: real SQLite files, a real PostgreSQL server, a tiny generator, a running app.

PostgreSQL: set LATENTLAB_TEST_PG_URL (e.g. from `bash .ci/pg_start.sh`). Without it the
PostgreSQL tests are skipped locally and FAIL in CI (env CI set), so CI never passes silently.
Each PostgreSQL test gets a fresh database, dropped afterwards.
"""

from __future__ import annotations

import os
import sys
import uuid
from pathlib import Path

import pytest
import torch

sys.path.insert(0, str(Path(__file__).parent))  # labeler_testing, also under --import-mode=importlib
from labeler_testing import Server  # noqa: E402

from latentlab.generator.stylegan2 import StyleGAN2Config, StyleGAN2Generator

torch.set_num_threads(1)
PG_ENV = "LATENTLAB_TEST_PG_URL"
TINY = StyleGAN2Config(resolution=16, z_dim=32, w_dim=32, mapping_layers=2, channels={4: 32, 8: 32, 16: 16})


@pytest.fixture(scope="session")
def tiny_generator() -> StyleGAN2Generator:
    torch.manual_seed(0)
    return StyleGAN2Generator(TINY).eval()


@pytest.fixture(scope="session")
def tiny_generator_file(tiny_generator, tmp_path_factory) -> Path:
    from latentlab.generator.native import save_native

    return save_native(tiny_generator, tmp_path_factory.mktemp("gen") / "tiny.safetensors")


@pytest.fixture
def workspace(tmp_path, monkeypatch) -> Path:
    ws = tmp_path / "workspace"
    monkeypatch.setenv("LATENTLAB_WORKSPACE", str(ws))
    monkeypatch.delenv("LATENTLAB_DB", raising=False)
    return ws


@pytest.fixture
def sqlite_url(tmp_path) -> str:
    from labeler.store import close_store

    url = f"sqlite:///{tmp_path / 'labels.sqlite'}"
    yield url
    close_store(url)


def _pg_base_url() -> str:
    url = os.environ.get(PG_ENV)
    if not url:
        if os.environ.get("CI"):
            pytest.fail(f"{PG_ENV} is not set in CI: start PostgreSQL with .ci/pg_start.sh and export it")
        pytest.skip(f"no PostgreSQL server configured (set {PG_ENV}, e.g. $(bash .ci/pg_start.sh))")
    return url


@pytest.fixture
def pg_url() -> str:
    """A fresh, empty database on the configured server (dropped after the test)."""
    from sqlalchemy import create_engine, text
    from sqlalchemy.engine import make_url

    from labeler.store import close_store

    base = make_url(_pg_base_url())
    if base.drivername == "postgresql":
        base = base.set(drivername="postgresql+psycopg")
    name = f"ll_test_{uuid.uuid4().hex[:12]}"
    admin = create_engine(base, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    url = base.set(database=name).render_as_string(hide_password=False)
    yield url
    close_store(url)
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    admin.dispose()


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def db_url(request) -> str:
    return request.getfixturevalue("sqlite_url" if request.param == "sqlite" else "pg_url")


@pytest.fixture
def make_run(tiny_generator, workspace):
    """make_run(db_url, n=30, k=3, seed=0, schema=None) -> run_id, rendered with the tiny generator."""
    from labeler.runs import create_run

    def make(db_url: str, n: int = 30, k: int = 3, seed: int = 0, schema=None) -> int:
        return create_run(db_url, tiny_generator, n=n, seed=seed, truncation_psi=0.8, schema=schema, k=k,
                          workspace=workspace)

    return make


@pytest.fixture
def server_factory(tiny_generator_file, tmp_path):
    servers = []

    def start(db_url: str, **kw) -> Server:
        s = Server(tiny_generator_file, db_url, tmp_path / f"ws{len(servers)}", **kw)
        servers.append(s)
        return s

    yield start
    for s in servers:
        s.stop()
