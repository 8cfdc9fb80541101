"""The "Invert & edit" tab in a real browser (Debian's chromium via playwright), inside the real app.

Upload a broken file (refused, app keeps going), upload a drawn picture, project with few steps while
the preview updates, edit with a direction set from the workspace, export a GIF sweep.
"""

from __future__ import annotations

import numpy as np
import pytest
import torch

playwright = pytest.importorskip("playwright.sync_api")
pytestmark = [pytest.mark.browser, pytest.mark.slow]

TIMEOUT = 90_000
PASSWORD = "admin-secret"


@pytest.fixture(scope="module")
def app(tmp_path_factory, launch):
    import directions.io as directions
    import latentlab.ui.app as latentlab_app
    from latentlab.generator.loading import load_generator
    from latentlab.ui.context import AppContext
    from labeler.schema import default_schema
    from labeler.service import LabelerOptions

    workspace = tmp_path_factory.mktemp("inversion-ui")
    gen = load_generator(None, "cpu")
    rng = np.random.default_rng(1)
    dset = directions.DirectionSet(generator_id=gen.generator_id, space="w")
    for name in ("age", "blush"):
        v = rng.standard_normal(gen.w_dim)
        dset.add(directions.Direction(name=name, attribute=name, kind="binary", classes=["no", "yes"], names=[name],
                                      vectors=v / np.linalg.norm(v), scales=[4.0], origins=[0.0],
                                      class_positions=[[-1.0, 1.0]]))
    directions.save_direction_set(workspace / "directions" / "test-set.npz", dset)
    ctx = AppContext(generator=gen, generator_path=None, device=torch.device("cpu"), workspace=workspace,
                     db_url=f"sqlite:///{workspace / 'latentlab.sqlite'}", schema=default_schema())
    built = latentlab_app.build_app(ctx, LabelerOptions(admin_password=PASSWORD))
    return launch(built.blocks, **built.launch_kwargs), workspace


def _text_contains(page, selector: str, text: str) -> None:
    page.wait_for_function("([s, t]) => { const e = document.querySelector(s); return e && e.innerText.includes(t); }",
                           arg=[selector, text])


def test_upload_project_edit_export_in_the_browser(app, page, tmp_path, drawn_face):
    from directions.animate import read_animation

    _, workspace = app
    page.get_by_role("tab", name="Invert & edit").click()
    upload = "#inv-upload input[type=file]"

    broken = tmp_path / "broken.png"
    drawn_face().save(broken)
    broken.write_bytes(broken.read_bytes()[:300])
    page.set_input_files(upload, str(broken))
    _text_contains(page, "#inv-upload-status", "Refused")
    assert "damaged or truncated" in page.inner_text("#inv-upload-status")

    good = tmp_path / "drawn.png"
    drawn_face(240).save(good)
    page.set_input_files(upload, str(good))
    _text_contains(page, "#inv-upload-status", "240x240 image")
    page.wait_for_selector("#inv-target img")

    steps = page.locator("#inv-steps input[type=number]")
    steps.fill("20")
    steps.press("Enter")
    page.fill("#inv-password input", PASSWORD)  # projecting saves a latent file: admins only
    page.click("#inv-project")
    _text_contains(page, "#inv-status", "Done")
    status = page.inner_text("#inv-status")
    assert "PSNR" in status and "w+" in status
    page.wait_for_selector("#inv-preview img")
    saved = list((workspace / "exports" / "inversion").glob("drawn-*.npz"))
    assert len(saved) == 1

    # the workspace's direction set was listed when the page loaded: one slider per direction
    page.wait_for_selector("#inv-slider-1", state="visible")
    page.wait_for_selector("#inv-edited img")
    page.click("#inv-export")
    _text_contains(page, "#inv-export-status", "Wrote")
    gifs = list((workspace / "exports" / "inversion").glob("*.gif"))
    assert len(gifs) == 1
    frames = read_animation(gifs[0])
    assert len(frames) == 24 and frames.shape[1:] == (256, 256, 3)
    assert not np.array_equal(frames[0], frames[12])  # the sweep's far end differs from its start
