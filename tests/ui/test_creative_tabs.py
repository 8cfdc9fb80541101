"""Edit, Explore and the Fit tab at 1366x768 in a real browser: sliders redraw on every kind of move,
a save in one tab leaves the others' choices alone, saving over a set asks first, previews are large."""

import pytest

from directions.io import load_direction_set

playwright = pytest.importorskip("playwright.sync_api")
pytestmark = [pytest.mark.browser, pytest.mark.slow]

TIMEOUT = 180_000  # ms; a render waits behind every other job on a busy 2-core machine
PASSWORD = "admin-secret"
VIEWPORT = {"width": 1366, "height": 768}


@pytest.fixture(scope="module")
def app(labeled_run, tmp_path_factory, launch):
    import gradio as gr
    import torch

    from latentlab.ui.app import build_direction_tabs
    from latentlab.ui.context import AppContext
    from latentlab.ui.sets import DirectionShelf
    from labeler.dataset import load_run_dataset
    from labeler.service import LabelerOptions, LabelService

    from directions.fit import fit_run
    from directions.io import save_direction_set

    workspace = tmp_path_factory.mktemp("creative-workspace")
    result = fit_run(labeled_run["db"], labeled_run["run"], compare_svm=False, cv=2)
    save_direction_set(workspace / "directions" / "first.npz", result.direction_set)
    schema = load_run_dataset(labeled_run["db"], labeled_run["run"]).schema
    ctx = AppContext(generator=labeled_run["gen"], generator_path=None, device=torch.device("cpu"),
                     workspace=workspace, db_url=labeled_run["db"], schema=schema)
    with gr.Blocks() as demo, gr.Tabs():
        admin = LabelService(ctx.db_url, LabelerOptions(admin_password=PASSWORD)).check_admin
        build_direction_tabs(demo, ctx, DirectionShelf(ctx.directions_dir, ctx.generator.generator_id), admin)
    return launch(demo), workspace


@pytest.fixture(scope="module")
def page(app, browser):
    page = browser.new_page(viewport=VIEWPORT)
    page.set_default_timeout(TIMEOUT)
    page.goto(app[0])
    return page


def _after_src(page) -> str:
    return page.get_attribute("#edit-after img", "src")


def _wait_new_image(page, old: str, showing: str) -> str:
    """Wait for the edited picture to change and to show `showing` (its alt text says what it shows:
    renders still on their way can arrive after a newer move). On a timeout, say what the page showed."""
    try:
        page.wait_for_function(f"document.querySelector('#edit-after img') && "
                               f"document.querySelector('#edit-after img').src !== {old!r} && "
                               f"document.querySelector('#edit-after img').alt.endsWith({showing!r})")
    except playwright.Error as e:
        shown = page.get_attribute("#edit-after img", "alt")
        value = page.input_value("#edit-slider-0 input[type=number]")
        raise AssertionError(f"waited for {showing!r}; the picture says {shown!r}, the first slider reads {value!r}, "
                             f"the picture {'changed' if _after_src(page) != old else 'did not change'}") from e
    return _after_src(page)


def _slider_value(page, i: int) -> float:
    return float(page.input_value(f"#edit-slider-{i} input[type=number]"))


def test_edit_redraws_on_arrow_keys_and_typed_values_and_undoes(page):
    page.get_by_role("tab", name="Edit").click()
    page.wait_for_selector("#edit-slider-0", state="visible")
    page.wait_for_selector("#edit-after img")
    src = _after_src(page)

    # arrow keys on the slider: no pointer, no blur, the picture follows
    page.focus("#edit-slider-0 input[type=range]")
    for _ in range(5):
        page.keyboard.press("ArrowRight")
    src = _wait_new_image(page, src, "edited: blush +0.5")
    assert _slider_value(page, 0) == pytest.approx(0.5)

    # a typed value and Enter, still focused in the box
    box = page.locator("#edit-slider-0 input[type=number]")
    box.fill("-3")
    box.press("Enter")
    src = _wait_new_image(page, src, "edited: blush -3.0")
    assert page.evaluate("document.activeElement.type") == "number"  # redrawn without leaving the box

    # the preview is large enough to judge: each of the 2 x 2 faces at least 256 px on screen
    size = page.evaluate("(() => { const r = document.querySelector('#edit-after img').getBoundingClientRect();"
                         " return [r.width, r.height]; })()")
    assert size[0] >= 2 * 256 and size[1] >= 2 * 256, size

    # undo goes back to 0 (arrows then typing on one slider are one step), redo to -3
    page.click("#edit-undo")
    page.wait_for_function("Number(document.querySelector('#edit-slider-0 input[type=number]').value) === 0")
    src = _wait_new_image(page, src, "edited: no edit")
    page.click("#edit-redo")
    page.wait_for_function("Number(document.querySelector('#edit-slider-0 input[type=number]').value) === -3")
    src = _wait_new_image(page, src, "edited: blush -3.0")

    # the before/after toggle shows the original faces
    page.get_by_label("Original (before)").check()
    page.wait_for_selector("#edit-before img", state="visible")
    assert page.get_attribute("#edit-before img", "src") != src
    page.get_by_label("Edited").check()
    page.wait_for_selector("#edit-after img", state="visible")


def test_a_save_in_explore_leaves_edit_and_animate_alone(page, app):
    _, workspace = app
    page.get_by_role("tab", name="Edit").click()
    page.wait_for_selector("#edit-slider-1", state="visible")
    assert page.input_value("#edit-set input") == "first.npz"
    box = page.locator("#edit-slider-1 input[type=number]")
    src = _after_src(page)
    box.fill("2")
    box.press("Enter")
    src = _wait_new_image(page, src, "blush -3.0, age +2.0")
    page.get_by_role("tab", name="Animate").click()
    page.wait_for_function("document.querySelector('#animate-direction input').value !== ''")
    direction = page.input_value("#animate-direction input")

    page.get_by_role("tab", name="Explore").click()
    page.click("#explore-start")
    page.wait_for_function("document.querySelectorAll('#explore-grid img').length >= 8")
    page.wait_for_function("document.querySelector('#explore-base img')?.complete && "
                           "document.querySelector('#explore-base img').naturalWidth > 0")
    base, tile = page.evaluate("[document.querySelector('#explore-base img').getBoundingClientRect().width,"
                               " document.querySelector('#explore-grid img').getBoundingClientRect().width]")
    assert base >= 256 and base >= 0.8 * tile, (base, tile)  # the start face is as large as the tiles
    page.locator("#explore-grid button:has(img)").nth(3).click()
    page.wait_for_function("document.querySelector('#explore-status').innerText.includes('Round 1')")
    page.locator("#explore-grid button:has(img)").nth(1).click()
    page.wait_for_function("document.querySelector('#explore-status').innerText.includes('Round 2')")
    page.click("#explore-back")  # back to round 1, tile 3 picked
    page.wait_for_function("document.querySelector('#explore-status').innerText.includes('Back to round 1')")
    page.fill("#explore-name textarea, #explore-name input", "sweet")
    page.fill("#explore-password input", PASSWORD)
    page.click("#explore-save")
    page.wait_for_function("document.querySelector('#explore-status').innerText.includes('Saved')")
    assert load_direction_set(workspace / "directions" / "explored.npz").entries["sweet"].metrics["picks"] == [3]

    # Edit still shows its set, its sliders where they were and the same picture; the new set is offered
    page.get_by_role("tab", name="Edit").click()
    page.wait_for_selector("#edit-slider-1", state="visible")
    assert page.input_value("#edit-set input") == "first.npz"
    assert _slider_value(page, 1) == 2 and _slider_value(page, 0) == -3
    assert _after_src(page) == src
    page.click("#edit-set input")
    page.get_by_role("option", name="explored.npz").wait_for()
    page.keyboard.press("Escape")
    page.get_by_role("tab", name="Animate").click()
    assert page.input_value("#animate-set input") == "first.npz"
    assert page.input_value("#animate-direction input") == direction


def test_fitting_over_an_existing_set_asks_first(page, app):
    _, workspace = app
    before = (workspace / "directions" / "first.npz").stat().st_mtime_ns
    page.get_by_role("tab", name="Fit directions").click()
    page.click("#fit-run input")
    page.get_by_role("option", name="1: tiny").click()
    page.fill("#fit-name textarea, #fit-name input", "first")
    page.fill("#fit-password input", PASSWORD)
    page.click("#fit-button")
    page.wait_for_function("document.body.innerText.includes('first.npz already exists')")
    assert (workspace / "directions" / "first.npz").stat().st_mtime_ns == before
    page.check("#fit-replace input")
    page.click("#fit-button")
    page.wait_for_function("document.querySelector('#fit-status').innerText.includes('Saved')")
    assert (workspace / "directions" / "first.npz").stat().st_mtime_ns != before
    # the results table's columns all fit on a 1366 px screen: no column cut off or scrolled away
    page.wait_for_selector("#fit-table table")
    widths = page.evaluate("(() => { const t = document.querySelector('#fit-table table');"
                           " return [t.scrollWidth, document.documentElement.clientWidth]; })()")
    assert widths[0] <= widths[1], widths
    page.screenshot(path="/tmp/fit-table.png")
