"""Fixtures of the UI tests: a labeled run of a tiny generator, drawn pictures, a served app, a chromium page.

The labeled run and the drawn face come from tests/conftest.py, shared with the direction and inversion tests.
"""

from __future__ import annotations

import os
import socket

import pytest


CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync"]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def launch():
    """`launch(blocks, **launch_kwargs)` serves a gr.Blocks on a free local port and returns its URL;
    every app launched is closed after the module."""
    launched = []

    def serve(blocks, **kwargs) -> str:
        port = _free_port()
        blocks.launch(server_name="127.0.0.1", server_port=port, prevent_thread_lock=True, quiet=True, **kwargs)
        launched.append(blocks)
        return f"http://127.0.0.1:{port}/"

    yield serve
    for blocks in launched:
        blocks.close()


@pytest.fixture(scope="module")
def browser():
    """Debian's chromium through playwright (skipped without it, a failure in CI)."""
    from playwright.sync_api import sync_playwright

    if not os.path.exists(CHROMIUM):
        if os.environ.get("CI"):
            pytest.fail("chromium is missing at /usr/bin/chromium (apt-get install chromium)")
        pytest.skip("no /usr/bin/chromium")
    with sync_playwright() as p:
        chromium = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield chromium
        chromium.close()


@pytest.fixture(scope="module")
def page(app, browser, request):
    """A chromium page on the module's `app` (a fixture giving (url, workspace)); waits up to the module's TIMEOUT ms."""
    page = browser.new_page()
    page.set_default_timeout(request.module.TIMEOUT)
    page.goto(app[0])
    return page
