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


def _src(page, selector: str) -> str:
    return page.get_attribute(f"{selector} img", "src") or ""


def _wait_new_src(page, selector: str, old: str) -> str:
    page.wait_for_function("([s, o]) => { const i = document.querySelector(s + ' img'); return i && i.src && i.src !== o; }",
                           arg=[selector, old])
    return _src(page, selector)


def held_out_png(path, drawn_face):
    """A face in the renderer's held-out style (never trained on) at 256 px, else the hand-drawn picture."""
    from PIL import Image

    try:
        from latentlab.generator.synthetic.renderer import HELD_OUT_STYLE, render_seed

        Image.fromarray(render_seed(20_001, size=256, style=HELD_OUT_STYLE)[0]).save(path)
    except (ImportError, TypeError):
        drawn_face(256).save(path)
    return path


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

    good = held_out_png(tmp_path / "drawn.png", drawn_face)
    page.set_input_files(upload, str(good))
    _text_contains(page, "#inv-upload-status", "256x256 image")
    page.wait_for_selector("#inv-target img")
    assert page.locator("#inv-target img").bounding_box()["width"] >= 256  # not a 64 px thumbnail

    for selector, value in (("#inv-steps", "20"), ("#inv-tune-steps", "20")):
        box = page.locator(f"{selector} input[type=number]")
        box.fill(value)
        box.press("Enter")
    page.fill("#inv-password input", PASSWORD)  # projecting saves a latent file: admins only
    page.click("#inv-project")
    _text_contains(page, "#inv-status", "Done")
    status = page.inner_text("#inv-status")
    assert "PSNR" in status and "tuned 20 steps" in status
    # the verdict, in words, against the thresholds
    page.wait_for_function("['close', 'approximate', 'poor: edits will be unreliable'].some("
                           "w => (document.querySelector('#inv-verdict')?.innerText || '').includes(w))")
    assert "dB" in page.inner_text("#inv-verdict")
    saved = list((workspace / "exports" / "inversion").glob("drawn-*.npz"))
    assert len(saved) == 1 and saved[0].with_name(saved[0].stem + "_tuning.safetensors").is_file()

    # previews at 256 px or more on screen; the before/after toggle swaps target and reconstruction
    page.wait_for_selector("#inv-preview img")
    assert page.locator("#inv-preview img").bounding_box()["width"] >= 256
    after = _src(page, "#inv-preview")
    page.get_by_label("Before (target)").check()
    before = _wait_new_src(page, "#inv-preview", after)
    page.get_by_label("After (reconstruction)").check()
    _wait_new_src(page, "#inv-preview", before)

    # the workspace's direction set was listed when the page loaded: one slider per direction
    page.wait_for_selector("#inv-slider-1", state="visible")
    page.wait_for_selector("#inv-edited img")
    edited = _src(page, "#inv-edited")
    box = page.locator("#inv-slider-1 input[type=number]")
    box.fill("2")
    box.press("Enter")
    blended = _wait_new_src(page, "#inv-edited", edited)  # moving a slider redraws the tuned face
    page.locator("#inv-blend input[type=checkbox]").uncheck()  # the tuned weights alone draw the edit otherwise
    alone = _wait_new_src(page, "#inv-edited", blended)
    page.locator("#inv-blend input[type=checkbox]").check()
    _wait_new_src(page, "#inv-edited", alone)
    page.click("#inv-export")
    _text_contains(page, "#inv-export-status", "Wrote")
    gifs = list((workspace / "exports" / "inversion").glob("*.gif"))
    assert len(gifs) == 1
    frames = read_animation(gifs[0])
    assert len(frames) == 24 and frames.shape[1:] == (256, 256, 3)
    assert not np.array_equal(frames[0], frames[12])  # the sweep's far end differs from its start


def test_cancel_stops_a_projection_within_a_second(app, page, tmp_path, drawn_face):
    from latentlab.ui import invert_tab

    _, workspace = app
    page.reload()  # the module's page: a fresh one, with an empty upload box
    page.get_by_role("tab", name="Invert & edit").click()
    page.set_input_files("#inv-upload input[type=file]", str(held_out_png(tmp_path / "long.png", drawn_face)))
    page.wait_for_selector("#inv-target img")
    box = page.locator("#inv-steps input[type=number]")
    box.fill("1000")
    box.press("Enter")
    page.fill("#inv-password input", PASSWORD)
    before = set((workspace / "exports" / "inversion").glob("long-*.npz"))
    page.click("#inv-project")
    _text_contains(page, "#inv-status", "Step ")
    page.click("#inv-cancel")
    _text_contains(page, "#inv-status", "Cancelled")
    jobs = [j for j in invert_tab.JOBS.values() if j.cancelled_at is not None]
    assert len(jobs) == 1
    job = jobs[0]
    job.thread.join(timeout=5)
    assert not job.thread.is_alive()
    assert job.stopped_at - job.cancelled_at < 1.0  # the worker noticed within a second
    assert set((workspace / "exports" / "inversion").glob("long-*.npz")) == before  # nothing saved
