"""Fixtures of the UI tests: a labeled run of a tiny generator, drawn pictures, a served app, a chromium page.

The labeled run and the drawn face are the same as the direction and inversion tests' fixtures;
`directions_helpers` (tests/directions) holds the tiny generator's config, schema and ground truth.
"""

from __future__ import annotations

import os
import socket
import sys
from pathlib import Path

import pytest
import torch
from PIL import Image, ImageDraw

sys.path.insert(0, str(Path(__file__).parents[1] / "directions"))  # directions_helpers
from directions_helpers import SCHEMA, TINY, truth_of

from latentlab.generator.stylegan2 import StyleGAN2Generator

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync"]


@pytest.fixture(scope="session")
def labeled_run(tmp_path_factory):
    """A 240-face run of a tiny generator in a real SQLite store, labeled by 3 simulated annotators."""
    from latentlab.generator.native import save_native
    from labeler.dataset import load_run_dataset
    from labeler.runs import create_run
    from labeler.schema import parse_schema
    from labeler.simulation import SimulatedAnnotator, label_run

    tmp = tmp_path_factory.mktemp("fitrun")
    torch.manual_seed(0)
    gen = StyleGAN2Generator(TINY).eval()
    db = f"sqlite:///{tmp / 'store.sqlite'}"
    run_id = create_run(db, gen, n=240, seed=11, truncation_psi=1.0, schema=parse_schema(SCHEMA), workspace=tmp)
    data = load_run_dataset(db, run_id)
    w0 = data.w.mean(0)
    truth = dict(zip(data.item_ids.tolist(), truth_of(data.w - w0)))
    annotators = [SimulatedAnnotator(f"sim{i}", error_rate=0.1, seed=i) for i in range(3)]
    label_run(db, run_id, truth, annotators, k=3)
    return {"gen": gen, "gpath": str(save_native(gen, tmp / "gen.safetensors")), "db": db, "run": run_id,
            "w0": w0, "tmp": tmp}


def draw_face(size: int = 200) -> Image.Image:
    """A simple hand-drawn-looking face: not something the generator ever made."""
    img = Image.new("RGB", (size, size), (250, 220, 235))
    d = ImageDraw.Draw(img)
    s = size / 100
    d.ellipse([20 * s, 15 * s, 80 * s, 90 * s], fill=(255, 224, 196), outline=(60, 40, 30), width=max(1, int(s)))
    d.pieslice([12 * s, 5 * s, 88 * s, 70 * s], 180, 360, fill=(200, 40, 60))
    for cx in (38, 62):
        d.ellipse([(cx - 7) * s, 45 * s, (cx + 7) * s, 60 * s], fill=(255, 255, 255), outline=(0, 0, 0))
        d.ellipse([(cx - 4) * s, 48 * s, (cx + 4) * s, 58 * s], fill=(40, 120, 60))
    d.arc([42 * s, 66 * s, 58 * s, 76 * s], 20, 160, fill=(150, 40, 40), width=max(1, int(2 * s)))
    return img


@pytest.fixture
def drawn_face():
    """`drawn_face(size=200)` -> a PIL picture of a drawn face."""
    return draw_face


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
