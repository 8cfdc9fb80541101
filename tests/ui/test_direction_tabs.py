"""The direction tabs in a real browser (Debian's chromium via playwright): fit, edit, explore, animate."""

import re

import numpy as np
import pytest

from directions.animate import read_animation
from directions.io import load_direction_set

playwright = pytest.importorskip("playwright.sync_api")
pytestmark = [pytest.mark.browser, pytest.mark.slow]

TIMEOUT = 60_000
PASSWORD = "admin-secret"


@pytest.fixture(scope="module")
def app(labeled_run, tmp_path_factory, launch):
    import gradio as gr
    import torch

    from latentlab.ui.app import build_direction_tabs
    from latentlab.ui.context import AppContext
    from latentlab.ui.sets import DirectionShelf
    from labeler.dataset import load_run_dataset
    from labeler.service import LabelerOptions, LabelService

    workspace = tmp_path_factory.mktemp("ui-workspace")
    schema = load_run_dataset(labeled_run["db"], labeled_run["run"]).schema
    ctx = AppContext(generator=labeled_run["gen"], generator_path=None, device=torch.device("cpu"),
                     workspace=workspace, db_url=labeled_run["db"], schema=schema)
    with gr.Blocks() as demo, gr.Tabs():
        admin = LabelService(ctx.db_url, LabelerOptions(admin_password=PASSWORD)).check_admin
        build_direction_tabs(demo, ctx, DirectionShelf(ctx.directions_dir, ctx.generator.generator_id), admin)
    return launch(demo), workspace


def test_fit_edit_explore_animate_in_the_browser(app, page):
    _, workspace = app
    # Fit: choose the run, ask for a conditional direction, read the results table
    page.click("#fit-run input")
    page.get_by_role("option", name=re.compile("tiny")).click()
    page.get_by_label("Conditional directions").fill("age: blush")
    page.fill("#fit-name textarea, #fit-name input", "uitest")
    page.fill("#fit-password input", PASSWORD)  # fitting writes a direction set: admins only
    page.click("#fit-button")
    page.wait_for_function("document.querySelector('#fit-status').innerText.includes('Saved')")
    table = page.inner_text("#fit-table")
    assert "age|blush" in table and "blush" in table
    dset = load_direction_set(workspace / "directions" / "uitest.npz")
    assert list(dset.entries) == ["blush", "age", "hair", "age|blush"]
    assert all(d.region is not None for d in dset.entries.values())  # fitted on the run's faces: regions

    # Edit: the new set is selected, its sliders carry the class positions, moving one re-renders
    page.get_by_role("tab", name="Edit").click()
    page.wait_for_selector("#edit-slider-0", state="visible")
    assert "blush" in page.inner_text("#edit-slider-0") and "yes" in page.inner_text("#edit-slider-0")
    page.wait_for_selector("#edit-after img")
    src = page.get_attribute("#edit-after img", "src")
    box = page.locator("#edit-slider-0 input[type=number]")
    box.fill("3")
    box.blur()  # a typed value is released on blur, like letting go of the handle
    page.wait_for_function(f"document.querySelector('#edit-after img').src !== {src!r}")
    src = page.get_attribute("#edit-after img", "src")
    page.locator("#edit-regions input[type=checkbox]").uncheck()  # the whole moved face: another picture
    page.wait_for_function(f"document.querySelector('#edit-after img').src !== {src!r}")
    # a binary attribute has a class picker beside its slider, on the same line; a pick replaces the slider's amount
    assert "onto a class" in page.inner_text("#edit-onto-0")
    slider, picker = page.locator("#edit-slider-0").bounding_box(), page.locator("#edit-onto-0").bounding_box()
    assert picker["x"] >= slider["x"] + slider["width"] - 1 and abs(picker["y"] - slider["y"]) < slider["height"]
    assert page.locator("#edit-onto-1").is_visible()  # age is ordinal: a picker beside its slider too
    assert "hair" in page.inner_text("#edit-class-0")  # categorical: below the sliders
    src = page.get_attribute("#edit-after img", "src")
    page.click("#edit-onto-0 input")
    page.get_by_role("option", name="yes", exact=True).click()
    page.wait_for_function(f"document.querySelector('#edit-after img').src !== {src!r}")

    # Explore: start, pick tile 2, save the pick under a name
    page.get_by_role("tab", name="Explore").click()
    page.click("#explore-start")
    page.wait_for_function("document.querySelectorAll('#explore-grid img').length >= 8")
    page.locator("#explore-grid button:has(img)").nth(2).click()
    page.wait_for_function("document.querySelector('#explore-status').innerText.includes('Round 1')")
    page.fill("#explore-name textarea, #explore-name input", "cute")
    page.fill("#explore-password input", PASSWORD)
    page.click("#explore-save")
    page.wait_for_function("document.querySelector('#explore-status').innerText.includes('Saved')")
    explored = load_direction_set(workspace / "directions" / "explored.npz")
    assert list(explored.entries) == ["cute"] and explored.entries["cute"].metrics["picks"] == [2]
    # saving over the name asks first: refused until "replace" is ticked
    page.locator("#explore-grid button:has(img)").nth(5).click()
    page.wait_for_function("document.querySelector('#explore-status').innerText.includes('Round 2')")
    page.click("#explore-save")
    page.wait_for_function("document.body.innerText.includes(\"already has a direction named 'cute'\")")
    assert load_direction_set(workspace / "directions" / "explored.npz").entries["cute"].metrics["picks"] == [2]
    page.check("#explore-replace input")
    page.click("#explore-save")
    page.wait_for_function("document.querySelector('#explore-status').innerText.includes('Saved')")
    assert len(load_direction_set(workspace / "directions" / "explored.npz").entries["cute"].metrics["picks"]) == 2

    # Animate: the set's first direction, rendered to GIF + MP4 + strip in the workspace
    page.get_by_role("tab", name="Animate").click()
    page.wait_for_function("document.querySelector('#animate-direction input').value !== ''")
    page.fill("#animate-password input", PASSWORD)
    page.click("#animate-button")
    page.wait_for_selector("#animate-preview img")
    gifs = sorted((workspace / "exports").glob("*.gif"))
    mp4s = sorted((workspace / "exports").glob("*.mp4"))
    assert gifs and mp4s and list((workspace / "exports").glob("*-strip.png"))
    assert "_set-" in gifs[-1].name and "_seeds-" in gifs[-1].name  # the name says what it shows
    assert read_animation(gifs[-1]).shape[0] == 36 and read_animation(mp4s[-1]).shape[0] == 36
    assert np.all(read_animation(gifs[-1]).shape[1:3] == (256, 256))
