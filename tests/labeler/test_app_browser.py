"""The labeling app in Debian's chromium: keyboard and mouse labeling, undo, skip, reload, admin, export.

Starts the real app (`latentlab serve`, tiny generator, a temporary SQLite file) on a free port and
drives it with playwright; checks the database and the CSV export afterwards.
"""

import io
import re
import time
from urllib.parse import urljoin

import httpx
import pandas as pd
import pytest
from labeler_testing import outside_viewport

from labeler.schema import UNSURE, default_schema
from labeler.store import open_store

pytestmark = pytest.mark.browser
SCHEMA = default_schema()


def face_idx(page) -> int:
    return int(re.search(r"face #(\d+)", page.inner_text("#ll-caption")).group(1))


def wait_for_new_face(page, old: int) -> int:
    page.wait_for_function(f"() => !document.querySelector('#ll-caption').innerText.includes('face #{old} ')",
                           timeout=20_000)
    return face_idx(page)


def checked(page) -> dict[str, str]:
    return {a.name: page.eval_on_selector(f"#ll-attr-{a.name}",
                                          "b => (b.querySelector('input:checked') || {}).value || null")
            for a in SCHEMA.attributes}


def answers(shift: int) -> dict[str, str]:
    return {a.name: a.options[(i + shift) % len(a.options)] for i, a in enumerate(SCHEMA.attributes)}


def type_answers(page, values: dict[str, str]) -> None:
    """Press one key per attribute, top to bottom: the highlight moves on by itself."""
    for a in SCHEMA.attributes:
        page.keyboard.press(a.key_of(values[a.name]))


def start_labeling(browser, url: str, viewport: dict, name: str):
    """A new page at `url` in `viewport`, logged in as `name`, once its first face is on screen."""
    page = browser.new_page(viewport=viewport)
    page.goto(url)
    page.wait_for_selector("#ll-name textarea, #ll-name input", timeout=30_000)
    page.locator("#ll-name textarea, #ll-name input").first.fill(name)
    page.click("#ll-start")
    page.wait_for_selector("#ll-image img", timeout=20_000)
    return page


def test_label_with_keyboard_and_mouse_undo_reload_admin_and_export(server_factory, tmp_path, browser):
    server = server_factory(f"sqlite:///{tmp_path / 'browser.sqlite'}", n=30, k=2)
    page = browser.new_page(viewport={"width": 1400, "height": 1000})
    page.goto(server.url)
    page.wait_for_selector("#ll-name textarea, #ll-name input", timeout=30_000)
    name_box = page.locator("#ll-name textarea, #ll-name input").first

    # a name with markup is refused, and nothing is stored
    name_box.fill("<b>eve</b>")
    page.click("#ll-start")
    page.wait_for_function("() => document.querySelector('#ll-login-msg').innerText.includes('annotator name')")
    assert not page.is_visible("#ll-submit")
    assert page.locator("#ll-login-msg b").count() == 0  # shown as text, not markup

    name_box.fill("alice")
    name_box.press("Enter")
    page.wait_for_selector("#ll-image img", timeout=20_000)
    expected: dict[int, dict[str, str]] = {}

    # 1: keyboard only
    first = face_idx(page)
    page.locator("body").click(position={"x": 3, "y": 3})
    type_answers(page, answers(1))
    assert checked(page) == answers(1)
    page.keyboard.press("Enter")
    expected[first] = answers(1)
    second = wait_for_new_face(page, first)
    assert checked(page) == {a.name: None for a in SCHEMA.attributes}  # a fresh face starts empty

    # 2: keyboard with "not sure", and the arrows: skip the first attribute, come back to it at the end
    page.keyboard.press("ArrowDown")
    values = answers(2)
    values["eye_color"] = UNSURE
    for a in SCHEMA.attributes[1:]:
        page.keyboard.press(a.key_of(values[a.name]))
    page.keyboard.press(SCHEMA.attributes[0].key_of(values[SCHEMA.attributes[0].name]))  # back at the top
    assert checked(page) == values
    page.keyboard.press("Enter")
    expected[second] = values
    third = wait_for_new_face(page, second)

    # 3: mouse only
    for a, v in answers(3).items():
        page.click(f"#ll-attr-{a} input[value='{v}']")
    page.click("#ll-submit")
    fourth = wait_for_new_face(page, third)

    # undo brings face 3 back with the mouse answers; change one attribute and submit again
    page.keyboard.press("Backspace")
    assert wait_for_new_face(page, fourth) == third
    page.wait_for_function("() => document.querySelectorAll('.ll-attr input:checked').length === 8")
    assert checked(page) == answers(3)
    changed = {**answers(3), "hair_color": "silver"}
    page.keyboard.press(SCHEMA.attribute("hair_color").key_of("silver"))  # the highlight is at the top
    page.keyboard.press("Enter")
    expected[third] = changed
    assert wait_for_new_face(page, third) == fourth  # the face that was on screen before the undo

    # skip face 4 with Escape
    page.keyboard.press("Escape")
    fifth = wait_for_new_face(page, fourth)

    # reload: the name is remembered and the same face comes back (it is reserved for alice)
    page.reload()
    page.wait_for_selector("#ll-image img", timeout=30_000)
    assert face_idx(page) == fifth and page.is_hidden("#ll-name")
    page.locator("body").click(position={"x": 3, "y": 3})
    type_answers(page, answers(5))
    page.keyboard.press("Enter")
    expected[fifth] = answers(5)
    wait_for_new_face(page, fifth)
    assert "alice</b>: 4 labeled" in page.inner_html("#ll-progress")

    # the database holds exactly what was answered
    store = open_store(server.db_url)
    frame = store.labels_frame(1, include_skips=True)
    got = {r.idx: {a: getattr(r, a) for a in SCHEMA.names} for r in frame.itertuples() if r.kind == "label"}
    assert got == expected
    assert list(frame[frame.kind == "skip"].idx) == [fourth]
    assert set(frame.annotator) == {"alice"}

    # admin: a wrong password is refused, the right one unlocks, the CSV export matches the database
    page.get_by_role("tab", name="Admin").click()
    page.fill("#ll-admin-password input", "wrong-password")
    page.click("#ll-admin-unlock")
    page.wait_for_function("() => document.querySelector('#ll-admin-msg').innerText.includes('wrong admin password')",
                           timeout=20_000)
    assert not page.is_visible("#ll-admin-export")
    page.fill("#ll-admin-password input", server.admin_password)
    page.click("#ll-admin-unlock")
    page.wait_for_selector("#ll-admin-export", state="visible", timeout=20_000)
    page.wait_for_function("() => document.querySelector('#ll-admin-summary').innerText.includes('4 labels')")
    page.click("#ll-admin-export")
    page.wait_for_selector("#ll-admin-file a", timeout=20_000)
    href = page.get_attribute("#ll-admin-file a", "href")
    assert "run1_raw" in href and href.endswith(".csv")
    page.screenshot(path=str(tmp_path / "admin.png"), full_page=True)
    download = httpx.get(urljoin(server.url, href), timeout=30)  # what the admin's browser downloads
    assert download.status_code == 200
    assert download.content == (server.workspace / "exports" / "run1_raw.csv").read_bytes()
    exported = pd.read_csv(io.BytesIO(download.content), keep_default_na=False)
    labeled = exported[exported.kind == "label"]
    assert {r.idx: {a: getattr(r, a) for a in SCHEMA.names} for r in labeled.itertuples()} == expected
    assert list(exported[exported.kind == "skip"].idx) == [fourth]


# -- one screen: every attribute, the progress and the key help without scrolling ------------------

SCREENS = {"laptop": {"width": 1366, "height": 768}, "phone": {"width": 390, "height": 844}}


@pytest.mark.parametrize("screen", SCREENS)
def test_every_attribute_the_progress_and_the_key_help_fit_one_screen(server_factory, tmp_path, browser, screen):
    server = server_factory(f"sqlite:///{tmp_path / 'screen.sqlite'}", n=12, k=3)
    page = start_labeling(browser, server.url, SCREENS[screen], "Zoë")
    page.wait_for_function("() => document.querySelector('#ll-image img').complete")
    options = page.locator(".ll-attr label")
    assert options.count() == sum(len(a.choices) for a in SCHEMA.attributes)  # every option of every attribute
    assert page.evaluate("() => window.scrollY") == 0
    assert outside_viewport(page, ".ll-attr label") == []
    assert outside_viewport(page, "#ll-progress .ll-progress, .ll-keys > span, #ll-submit, #ll-image img") == []
    assert page.locator(".ll-keys > span:visible").count() == 1  # the long help on a laptop, the short on a phone
    # before two people label the same face, the agreement line says why it is empty
    assert "shown once two people have labeled the same faces" in page.inner_text("#ll-progress")
    # the run's name is not cut off in the run picker
    assert page.eval_on_selector("#ll-run input", "i => i.scrollWidth <= i.clientWidth + 1")
    # after a submit (a status line appears) everything still fits
    for a in SCHEMA.attributes:
        page.click(f"#ll-attr-{a.name} label:has(input[value='{a.options[0]}'])")
    first = face_idx(page)
    page.click("#ll-submit")
    wait_for_new_face(page, first)
    page.wait_for_function("() => document.querySelector('#ll-status').innerText.includes('Saved')")
    assert outside_viewport(page, ".ll-attr label, #ll-progress .ll-progress, .ll-keys > span, #ll-submit") == []
    page.screenshot(path=str(tmp_path / f"label-{screen}.png"))


# -- the first start: the app listens at once and serves faces as they are drawn -------------------

def test_the_first_start_serves_faces_while_the_rest_are_drawn(tmp_path, browser):
    """The default generator and a 2000-face run: drawing takes minutes on a CPU, the app answers
    within seconds, and the first faces are labeled while the page shows how far the drawing is."""
    from labeler_testing import REPO, Server

    server = Server(REPO / "data" / "default_generator.safetensors", f"sqlite:///{tmp_path / 'first.sqlite'}",
                    tmp_path / "ws", n=2000, k=3, wait_drawn=False)  # returns once GET / answers
    try:
        reply = server.call("next_item", "early", 1)
        drawn = reply["progress"]["rendered"]
        assert drawn is not None and drawn < 2000, "the app waited for the drawing instead of listening at once"
        deadline = time.monotonic() + 120
        while reply["item"] is None and time.monotonic() < deadline:  # the first faces are still being drawn
            time.sleep(0.2)  # poll interval while waiting for that event
            reply = server.call("next_item", "early", 1)
        assert reply["item"] is not None, "no face was drawn within 2 minutes"
        # only a face that exists is served (the reply's progress may be up to a second old: read the store)
        assert reply["item"]["idx"] < open_store(server.db_url).rendered(1)
        page = start_labeling(browser, server.url, SCREENS["laptop"], "alice")
        page.wait_for_function("() => document.querySelector('#ll-image img').complete")  # loaded or failed
        assert page.evaluate("() => document.querySelector('#ll-image img').naturalWidth") == 64  # the PNG loaded
        assert re.search(r"Drawing faces: \d+ of 2000 ready", page.inner_text("#ll-progress"))
        page.locator("body").click(position={"x": 3, "y": 3})
        type_answers(page, answers(0))
        first = face_idx(page)
        page.keyboard.press("Enter")
        wait_for_new_face(page, first)
        frame = open_store(server.db_url).labels_frame(1)
        assert list(frame.annotator) == ["alice"] and frame.idx.iloc[0] == first
        # on a phone the drawing line fits on the one screen too
        phone = start_labeling(browser, server.url, SCREENS["phone"], "bob")
        assert "Drawing faces" in phone.inner_text("#ll-progress")
        assert outside_viewport(phone, ".ll-attr label, #ll-progress .ll-progress, .ll-keys > span, #ll-submit") == []
    finally:
        server.stop()
