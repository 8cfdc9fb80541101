"""Fixtures for the labeler: real SQLite files, a real PostgreSQL server, a tiny generator, a running app.

PostgreSQL: set LATENTLAB_TEST_PG_URL (e.g. from `bash .ci/pg_start.sh`). Without it the
PostgreSQL tests are skipped locally and FAIL in CI (env CI set), so CI never passes silently.
Each PostgreSQL test gets a fresh database, dropped afterwards.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

import pytest
import torch

sys.path.insert(0, str(Path(__file__).parent))  # labeler_testing, also under --import-mode=importlib
from labeler_testing import BROWSER_ARGS, Server, fresh_pg_database  # noqa: E402

from latentlab.generator.stylegan2 import StyleGAN2Config, StyleGAN2Generator

TINY = StyleGAN2Config(resolution=16, z_dim=32, w_dim=32, mapping_layers=2, channels={4: 32, 8: 32, 16: 16})


@pytest.fixture(scope="session")
def tiny_generator() -> StyleGAN2Generator:
    torch.manual_seed(0)
    return StyleGAN2Generator(TINY).eval()


@pytest.fixture(scope="session")
def tiny_generator_file(tiny_generator, tmp_path_factory) -> Path:
    from latentlab.generator.native import save_native

    return save_native(tiny_generator, tmp_path_factory.mktemp("gen") / "tiny.safetensors")


@pytest.fixture(scope="module")
def browser():
    """Debian's chromium through playwright, one per test module (skipped without it, a failure in CI)."""
    if not Path("/usr/bin/chromium").exists():
        if os.environ.get("CI"):
            pytest.fail("chromium is missing in CI: apt-get install -y chromium")
        pytest.skip("Debian's chromium is not installed (apt-get install -y chromium)")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        b = p.chromium.launch(executable_path="/usr/bin/chromium", args=BROWSER_ARGS)
        yield b
        b.close()


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


@pytest.fixture
def pg_url() -> str:
    """A fresh, empty database on the configured server (dropped after the test)."""
    with fresh_pg_database() as url:
        yield url


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
