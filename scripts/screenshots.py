"""Screenshots of the app's Edit, Explore, Animate and Invert tabs at 1366x768, for the docs.

    .venv/bin/python scripts/screenshots.py                       # -> docs/screenshots/*.png
    .venv/bin/python scripts/screenshots.py --workspace workspace  # with that workspace's direction sets

Serves the app with the shipped generator (or --generator) on a free local port and drives Debian's
chromium (/usr/bin/chromium, headless) through playwright. Without --workspace it works in a
throw-away folder; a workspace without a direction set for the generator gets one made by the
explorer (three random picks, no labels needed), so the sliders have something to move.
"""

from __future__ import annotations

import argparse
import socket
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
VIEWPORT = {"width": 1366, "height": 768}
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--no-first-run", "--disable-background-networking"]
PASSWORD = "screenshots"
TIMEOUT_MS = 120_000


def explored_set(gen, folder: Path) -> Path:
    """A set of three directions picked at random by the explorer (what `latentlab explore` saves)."""
    from directions.mutation import MutationExplorer, latent_stats, save_into_set

    stats = latent_stats(gen, truncation_psi=0.8)
    path = folder / "explored.npz"
    for k, name in enumerate(("pick-a", "pick-b", "pick-c")):
        ex = MutationExplorer(stats, strength=2.0, n=8, seed=k)
        ex.propose()
        ex.pick(k)
        save_into_set(path, ex.to_direction(name), gen.generator_id, space="w", overwrite=True)
    return path


def serve(workspace: Path, generator: str | None):
    import torch

    from latentlab.generator.loading import load_generator
    from latentlab.ui.app import build_app
    from latentlab.ui.context import AppContext
    from latentlab.ui.sets import DirectionShelf

    from labeler.schema import default_schema
    from labeler.service import LabelerOptions

    gen = load_generator(generator, "cpu")
    ctx = AppContext(generator=gen, generator_path=generator, device=torch.device("cpu"), workspace=workspace,
                     db_url=f"sqlite:///{workspace / 'latentlab.sqlite'}", schema=default_schema())
    if not DirectionShelf(ctx.directions_dir, gen.generator_id).choices():
        explored_set(gen, ctx.directions_dir)
    built = build_app(ctx, LabelerOptions(admin_password=PASSWORD))
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    built.blocks.launch(server_name="127.0.0.1", server_port=port, prevent_thread_lock=True, quiet=True,
                        **built.launch_kwargs)
    return built.blocks, f"http://127.0.0.1:{port}/"


def shoot(url: str, out: Path) -> list[Path]:
    from playwright.sync_api import sync_playwright

    out.mkdir(parents=True, exist_ok=True)
    written = []
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        page = browser.new_page(viewport=VIEWPORT)
        page.set_default_timeout(TIMEOUT_MS)
        page.goto(url)

        def save(name: str) -> None:
            path = out / f"{name}.png"
            page.screenshot(path=str(path))
            written.append(path)

        page.get_by_role("tab", name="Edit", exact=True).click()
        page.wait_for_selector("#edit-slider-0", state="visible")
        page.wait_for_selector("#edit-after img")
        box = page.locator("#edit-slider-0 input[type=number]")
        box.fill("2.5")
        page.wait_for_function("document.querySelector('#edit-after img').alt.includes('+2.5')")
        page.wait_for_function("document.querySelector('#edit-after img').complete")
        save("edit")

        page.get_by_role("tab", name="Explore", exact=True).click()
        page.click("#explore-start")
        page.wait_for_function("document.querySelectorAll('#explore-grid img').length >= 8")
        page.locator("#explore-grid button:has(img)").nth(2).click()
        page.wait_for_function("document.querySelector('#explore-status').innerText.includes('Round 1')")
        save("explore")

        page.get_by_role("tab", name="Animate", exact=True).click()
        page.wait_for_function("document.querySelector('#animate-direction input').value !== ''")
        page.fill("#animate-seeds textarea, #animate-seeds input", "0,1,2")
        page.fill("#animate-password input", PASSWORD)
        page.click("#animate-button")
        page.wait_for_selector("#animate-preview img")
        save("animate")

        page.get_by_role("tab", name="Invert & edit", exact=True).click()
        page.locator("#inv-preview").wait_for(state="attached")
        save("invert")
        browser.close()
    return written


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--workspace", default=None, help="workspace to serve (default: a throw-away folder)")
    parser.add_argument("--generator", default=None, help="generator file (default: the shipped one)")
    parser.add_argument("--out", default=str(ROOT / "docs" / "screenshots"), help="folder for the PNGs")
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="latentlab-shots-") as tmp:
        blocks, url = serve(Path(args.workspace or tmp).resolve(), args.generator)
        try:
            for path in shoot(url, Path(args.out)):
                print(f"wrote {path}")
        finally:
            blocks.close()


if __name__ == "__main__":
    main()
