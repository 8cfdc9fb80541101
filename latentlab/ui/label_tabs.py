"""The Label and Admin tabs and the labeling HTTP API, built inside an open `gr.Blocks`.

Gradio runs each event one call at a time unless told otherwise; every labeling event here has
`concurrency_limit=CONCURRENCY` so that many annotators are served at once (the store does the
locking). Keyboard shortcuts come from `keyboard_js(schema)`, which `latentlab.ui.app` passes to `launch(js=...)`.
"""

from __future__ import annotations

import html
import json
import math
from pathlib import Path
from urllib.parse import quote

import gradio as gr

from latentlab.core.errors import UserError
from latentlab.ui.gradio_util import message

from labeler.schema import UNSURE, UNSURE_KEY, Schema
from labeler.service import ItemView, LabelService
from labeler.text import check_annotator_name

CONCURRENCY = 128  # simultaneous calls per labeling event; threads are bounded by launch(max_threads=...)
WAIT_S = 2.0  # how often a page without a face asks again while the run's faces are being drawn

CSS = """
/* The Label tab fits one screen: every attribute, the progress and the key help without scrolling
   at 1366x768 and on a phone in portrait (390x844); tests/labeler/test_app_browser.py checks both. */
#ll-header { align-items: center; gap: 8px; }
#ll-intro p { margin: 0; }
#ll-panel, #ll-side, #ll-attrs, #ll-attrs > .form { gap: 6px; }
#ll-main { gap: 12px; }
#ll-image { min-height: 0; padding: 0; }
#ll-image .html-container { padding: 0; }
#ll-image img { display: block; width: clamp(120px, 34vh, 420px); height: clamp(120px, 34vh, 420px); margin: 0 auto;
  object-fit: contain; image-rendering: auto; border-radius: 6px; background: var(--neutral-100); }
#ll-buttons { gap: 6px; }
#ll-buttons button { padding: 6px 8px; }
#ll-status, #ll-caption { padding: 0 4px; min-height: 0; }
#ll-status p { margin: 0; }
#ll-caption { font-size: 0.8rem; opacity: 0.75; }
#ll-caption p { margin: 0; }
#ll-progress .html-container, #ll-keys .html-container { padding: 0 4px; }
.ll-attr { --block-padding: 4px 10px; --checkbox-label-padding: 2px 8px; --block-label-margin: 0;
  --checkbox-label-gap: 5px; --checkbox-label-text-size: 0.92rem; }
.ll-attr [data-testid="block-info"] { display: inline-block; margin-bottom: 3px; }
.ll-attr .info-text { display: inline-block; margin: 0 0 3px 10px; font-size: 0.8rem; }
.ll-attr .wrap { gap: 4px; }
.ll-attr { border-left: 4px solid transparent !important; padding-left: 8px !important; transition: background 80ms; }
.ll-attr.ll-active { border-left-color: var(--color-accent) !important; background: var(--color-accent-soft) !important; }
.ll-progress { font-size: 0.85rem; line-height: 1.4; }
.ll-progress .ll-bar { height: 6px; border-radius: 3px; background: var(--neutral-200); overflow: hidden; margin: 2px 0 3px; }
.ll-progress .ll-bar > div { height: 100%; background: var(--color-accent); }
.ll-progress .ll-alpha { opacity: 0.85; }
.ll-drawing { margin-bottom: 3px; font-weight: 600; }
.ll-keys { font-size: 0.8rem; line-height: 1.5; opacity: 0.85; }
.ll-keys-short { display: none; }
.ll-keys kbd, .ll-progress kbd { border: 1px solid var(--neutral-300); border-bottom-width: 2px; border-radius: 4px;
  padding: 0 4px; font-size: 0.85em; background: var(--neutral-50); }
@media (max-width: 640px) {
  #ll-header, #ll-panel, #ll-login { margin-left: -24px; margin-right: -24px; width: calc(100% + 48px) !important; max-width: none; }
  #ll-intro { display: none; }
  #ll-run { min-width: 0 !important; flex-grow: 1 !important; }
  #ll-side { display: grid; grid-template-columns: 112px 1fr; gap: 4px 8px; align-items: start; }
  #ll-side > * { min-width: 0; }
  #ll-image { grid-column: 1; grid-row: 1 / span 3; }
  #ll-image img { width: 112px; height: 112px; }
  #ll-buttons { grid-column: 2; grid-row: 1; flex-wrap: wrap; }
  #ll-buttons button { min-width: 0 !important; padding: 4px 6px; font-size: 0.85rem; }
  #ll-caption { grid-column: 2; grid-row: 2; }
  #ll-status { grid-column: 2; grid-row: 3; font-size: 0.85rem; }
  #ll-progress, #ll-keys { grid-column: 1 / -1; }
  .ll-progress { font-size: 0.75rem; line-height: 1.3; }
  .ll-progress .ll-wide { display: none; }
  .ll-keys { font-size: 0.72rem; }
  .ll-keys-long { display: none; }
  .ll-keys-short { display: inline; }
  .ll-attr { --block-padding: 2px 6px; --checkbox-label-padding: 0px 5px; --checkbox-label-gap: 3px;
    --checkbox-label-text-size: 0.78rem; display: flex; flex-wrap: wrap; align-items: center; gap: 3px; }
  .ll-attr [data-testid="block-info"] { margin: 0 2px 0 0; font-size: 0.8rem; }
  .ll-attr .info-text { display: none; }
  .ll-attr .wrap { display: contents; }
  .ll-attr input[type=radio] { width: 12px; height: 12px; }
}
"""


def _option_label(key: str, option: str) -> str:
    return f"{key} · {option.replace('_', ' ')}"


def _radio_choices(attr) -> list[tuple[str, str]]:
    return [(_option_label(k, o), o) for k, o in zip(attr.keys, attr.options)] + \
           [(_option_label(UNSURE_KEY, "not sure"), UNSURE)]


def keyboard_js(schema: Schema) -> str:
    """A `launch(js=...)` function: digit/letter keys pick an option of the highlighted attribute,
    0 = not sure, up/down move the highlight, Enter submits, Escape skips, Backspace undoes."""
    config = {"unsure": UNSURE, "unsureKey": UNSURE_KEY,
              "attributes": [{"id": f"ll-attr-{a.name}", "keys": dict(zip(a.keys, a.options))}
                             for a in schema.attributes]}
    return """
() => {
  if (window.__latentlabKeys) return;
  window.__latentlabKeys = true;
  const CFG = __CONFIG__;
  const n = CFG.attributes.length;
  let active = 0;      // index of the highlighted attribute
  let shown = null;    // caption of the face on screen: a new face moves the highlight to the top
  const box = (i) => document.getElementById(CFG.attributes[i].id);
  const answered = (i) => { const b = box(i); return !!(b && b.querySelector('input[type=radio]:checked')); };
  const labeling = () => { const s = document.getElementById('ll-submit'); return !!(s && s.offsetParent !== null); };
  const firstOpen = (from) => {
    for (let j = 0; j < n; j++) { const i = (from + j) % n; if (!answered(i)) return i; }
    return -1;
  };
  const advance = (i) => { const next = firstOpen(i + 1); active = next >= 0 ? next : Math.min(i + 1, n - 1); };
  const sync = () => {  // a new face starts at its first open attribute; run before every key, not only on the timer
    const cap = document.getElementById('ll-caption');
    const text = cap ? cap.innerText : null;
    if (text !== shown) { shown = text; const open = firstOpen(0); active = open >= 0 ? open : 0; }
  };
  const paint = () => {
    sync();
    const on = labeling() ? active : -1;
    for (let i = 0; i < n; i++) { const b = box(i); if (b) b.classList.toggle('ll-active', i === on); }
  };
  setInterval(paint, 120);
  const choose = (i, value) => {
    const b = box(i);
    const input = b && Array.from(b.querySelectorAll('input[type=radio]')).find(x => x.value === value);
    if (input) input.click();
    advance(i);
  };
  const press = (id) => { const el = document.getElementById(id); if (el && !el.disabled) el.click(); };
  document.addEventListener('change', (e) => {  // a mouse click on an option also moves the highlight on
    if (!e.isTrusted) return;
    const b = e.target && e.target.closest && e.target.closest('.ll-attr');
    const i = b ? CFG.attributes.findIndex(a => a.id === b.id) : -1;
    if (i >= 0) advance(i);
  }, true);
  document.addEventListener('keydown', (e) => {
    if (!labeling() || e.ctrlKey || e.metaKey || e.altKey) return;
    sync();
    const t = e.target;
    const typing = t && (t.tagName === 'TEXTAREA' || t.isContentEditable ||
      (t.tagName === 'INPUT' && !['radio', 'checkbox', 'button', 'submit'].includes(t.type)));
    if (typing) return;
    const key = e.key.length === 1 ? e.key.toLowerCase() : e.key;
    const keys = CFG.attributes[active].keys;
    let handled = true;
    if (key === 'Enter') press('ll-submit');
    else if (key === 'Escape') press('ll-skip');
    else if (key === 'Backspace') press('ll-undo');
    else if (key === 'ArrowDown') active = (active + 1) % n;
    else if (key === 'ArrowUp') active = (active - 1 + n) % n;
    else if (key === CFG.unsureKey) choose(active, CFG.unsure);
    else if (Object.prototype.hasOwnProperty.call(keys, key)) choose(active, keys[key]);
    else handled = false;
    if (handled) { e.preventDefault(); e.stopPropagation(); paint(); }
  }, true);
}
""".replace("__CONFIG__", json.dumps(config))


def _bar(fraction: float) -> str:
    return f'<div class="ll-bar"><div style="width:{max(0.0, min(1.0, fraction)) * 100:.1f}%"></div></div>'


def progress_html(view: ItemView, annotator: str) -> str:
    p = view.progress
    if math.isnan(view.agreement):
        alpha = ("agreement: shown once two people have labeled the same faces"
                 f"<span class='ll-wide'> (each face gets k = {p.k} labels)</span>")
    else:
        alpha = (f"agreement so far: α = {view.agreement:.2f}<span class='ll-wide'> (Krippendorff, 1 = perfect, "
                 "0 = chance)</span>")
    drawing = ""
    if p.drawing:
        drawing = (f'<div class="ll-drawing">Drawing faces: {p.rendered} of {p.n} ready; label these '
                   f'meanwhile.{_bar(p.rendered / max(1, p.n))}</div>')
    return (f'<div class="ll-progress">{drawing}'
            f'<b>{html.escape(annotator)}</b>: {p.mine} labeled · run: {p.slots_filled} / {p.slots} labels '
            f'({100 * p.fraction:.0f}%), {p.items_complete} of {p.n} faces done{_bar(p.fraction)}'
            f'<span class="ll-alpha">{alpha}</span></div>')


def keys_help(schema: Schema) -> str:
    first = schema.attributes[0].keys[0]
    return ("<div class='ll-keys'><span class='ll-keys-long'><kbd>↑</kbd>/<kbd>↓</kbd> highlight an attribute · "
            f"<kbd>{html.escape(first)}</kbd>… the key before an option picks it (the highlight moves on) · "
            f"<kbd>{UNSURE_KEY}</kbd> not sure · <kbd>Enter</kbd> submit · <kbd>Esc</kbd> skip · "
            "<kbd>Backspace</kbd> undo the last one · clicking works too</span>"
            f"<span class='ll-keys-short'>Tap an option per attribute, then Submit. Keys: <kbd>{html.escape(first)}</kbd>… "
            f"pick · <kbd>{UNSURE_KEY}</kbd> not sure · <kbd>⏎</kbd> submit · <kbd>Esc</kbd> skip · <kbd>⌫</kbd> undo"
            "</span></div>")


def _run_choices(service: LabelService) -> list[tuple[str, int]]:
    return [(f"#{r.id} · {r.name} · k={r.k}{r.class_note}", r.id) for r in service.runs()]


def image_html(path: Path, idx: int) -> str:
    """The face as a plain <img> served from the run's image folder (an allowed path of the app).
    The URL is relative, so the page works under a reverse proxy's path prefix too."""
    return f'<img src="gradio_api/file={quote(str(path))}" alt="face #{idx}" draggable="false">'



def build_label_tab(demo: gr.Blocks, service: LabelService, schema: Schema) -> None:
    """The Label tab (call inside `gr.Tab`). With annotator_auth="gradio" the login name is used."""
    gradio_auth = service.options.annotator_auth == "gradio"
    n_out = len(schema.attributes)
    annotator = gr.State(None)
    current = gr.State(None)  # {"run_id", "item_id", "token"} of the face on screen
    saved_name = gr.BrowserState(None, storage_key="latentlab-annotator")

    with gr.Row(equal_height=True, elem_id="ll-header"):
        gr.Markdown("**Label faces**: answer every attribute, then submit. The highlighted attribute takes "
                    "the next key. For a crowd, share the lighter [labeling page](label/).", elem_id="ll-intro")
        run_dd = gr.Dropdown(choices=_run_choices(service), value=service.default_run_id(), label="Run",
                             show_label=False, container=False, interactive=True, scale=0, min_width=330,
                             elem_id="ll-run")

    with gr.Column(visible=not gradio_auth, elem_id="ll-login") as login_panel:
        gr.Markdown("#### Who is labeling?\nYour name is stored with your labels (letters of any script, digits, spaces, . _ @ -).")
        with gr.Row():
            name_box = gr.Textbox(placeholder="your name", show_label=False, max_lines=1, scale=3,
                                  elem_id="ll-name", autofocus=True)
            start_btn = gr.Button("Start labeling", variant="primary", scale=1, elem_id="ll-start")
        login_msg = gr.Markdown("", elem_id="ll-login-msg")

    with gr.Column(visible=False, elem_id="ll-panel") as label_panel:
        with gr.Row(equal_height=False, elem_id="ll-main"):
            with gr.Column(scale=4, min_width=300, elem_id="ll-side"):
                # plain <img> of the cached PNG (an allowed path): no per-face copy into Gradio's cache
                image = gr.HTML("", elem_id="ll-image")
                with gr.Row(elem_id="ll-buttons"):
                    submit_btn = gr.Button("Submit ⏎", variant="primary", elem_id="ll-submit", scale=2, min_width=90)
                    skip_btn = gr.Button("Skip", elem_id="ll-skip", scale=1, min_width=60)
                    undo_btn = gr.Button("Undo", elem_id="ll-undo", scale=1, min_width=60)
                status = gr.Markdown("", elem_id="ll-status")
                progress = gr.HTML("", elem_id="ll-progress")
                caption = gr.Markdown("", elem_id="ll-caption")
                gr.HTML(keys_help(schema), elem_id="ll-keys")
            with gr.Column(scale=7, min_width=300, elem_id="ll-attrs"):
                radios = [gr.Radio(choices=_radio_choices(a), label=a.title, info=a.help or None,
                                   elem_id=f"ll-attr-{a.name}", elem_classes=["ll-attr"])
                          for a in schema.attributes]
                switch_btn = gr.Button("Switch annotator", size="sm", variant="secondary",
                                       visible=not gradio_auth, elem_id="ll-switch")
    # while the run's faces are still being drawn and none is free, ask again every WAIT_S seconds
    waiter = gr.Timer(WAIT_S, active=False)

    item_outputs = [current, image, caption, *radios, progress, status, waiter]

    def show(view: ItemView, who: str) -> list:
        a = view.assignment
        waiting = a is None and view.progress.drawing
        if a is None:
            state, img, cap = None, "", ""
            values = [None] * n_out
            if waiting:
                msg = (f"{view.message} " if view.message else "") + \
                    (f"**The faces are still being drawn** ({view.progress.rendered} of {view.progress.n} so far) "
                     "and every drawn one is taken; the next one appears here by itself in a few seconds.")
            else:
                msg = (f"{view.message} " if view.message else "") + \
                    "**You have labeled every face this run needs from you — thank you!** Undo still works."
        else:
            state = {"run_id": a.run_id, "item_id": a.item_id, "token": a.token}
            img, cap = image_html(a.image_path, a.idx), f"face #{a.idx} of run {a.run_id}"
            values = [(a.prefill or {}).get(attr.name) for attr in schema.attributes]
            msg = view.message
        return [state, img, cap, *values, progress_html(view, who), msg, gr.Timer(active=waiting)]

    def refuse(message: str) -> list:
        gr.Warning(message)
        return [gr.skip()] * (len(item_outputs) - 2) + [f"⚠️ {html.escape(message)}", gr.skip()]

    def whoami(name: str | None) -> str:
        # `annotator` is server-side session state, set only by start(): the client cannot forge it
        if not name:
            raise UserError("log in first (reload the page)" if gradio_auth else "enter your name first")
        return name

    def start(name, run_id, request: gr.Request):
        try:
            who = check_annotator_name(name if not gradio_auth else (request.username or ""))
            view = service.next_item(who, run_id)
        except UserError as e:
            return [gr.skip()] * 5 + [f"⚠️ {html.escape(message(e))}"] + [gr.skip()] * len(item_outputs)
        return [who, who, gr.update(visible=False), gr.update(visible=True), who, "", *show(view, who)]

    login_outputs = [annotator, saved_name, login_panel, label_panel, name_box, login_msg, *item_outputs]

    def restore(saved, run_id, request: gr.Request):
        """On page load: log in again with the remembered name (or the Gradio login)."""
        if gradio_auth:
            return start(None, run_id, request)
        if not saved:
            return [gr.skip()] * len(login_outputs)
        return start(saved, run_id, request)

    def act(name: str | None, action) -> list:
        """Run `action(annotator)` for the logged-in annotator: show the face it returns, or why not."""
        try:
            who = whoami(name)
            view = action(who)
        except UserError as e:
            return refuse(message(e))
        return show(view, who)

    def on_screen(cur: dict | None, nothing: str) -> tuple:
        if not cur:
            raise UserError(nothing)
        return cur["run_id"], cur["item_id"], cur["token"]

    def submit(name, cur, *values):
        answer = {a.name: v for a, v in zip(schema.attributes, values)}
        nothing = "there is no face on screen to label; choose a run or press Undo"
        return act(name, lambda who: service.submit(who, *on_screen(cur, nothing), answer))

    def skip(name, cur):
        return act(name, lambda who: service.skip(who, *on_screen(cur, "there is no face on screen to skip")))

    def undo(name, run_id):
        return act(name, lambda who: service.undo(who, run_id))

    def poll(name, cur, run_id):
        """A timer tick while waiting for faces to be drawn: serve one as soon as it exists."""
        if not name or cur:
            return [gr.skip()] * (len(item_outputs) - 1) + [gr.Timer(active=False)]
        return act(name, lambda who: service.next_item(who, run_id))

    def change_run(name, run_id):
        if not name:
            return [gr.skip()] * len(item_outputs)
        return act(name, lambda who: service.next_item(who, run_id))

    def switch(name, run_id):
        if name and run_id is not None:
            service.release(name, run_id)
        return [None, None, gr.update(visible=True), gr.update(visible=False), "", "",
                None, "", "", *[None] * n_out, "", "", gr.Timer(active=False)]

    events = {"concurrency_limit": CONCURRENCY, "api_visibility": "private"}
    # the per-face events skip Gradio's queue (one POST, no event stream): a few ms less per face
    fast = {"api_visibility": "private", "queue": False, "show_progress": "hidden"}
    start_btn.click(start, [name_box, run_dd], login_outputs, **events)
    name_box.submit(start, [name_box, run_dd], login_outputs, **events)
    submit_btn.click(submit, [annotator, current, *radios], item_outputs, **fast)
    skip_btn.click(skip, [annotator, current], item_outputs, **fast)
    undo_btn.click(undo, [annotator, run_dd], item_outputs, **fast)
    run_dd.input(change_run, [annotator, run_dd], item_outputs, **events)
    waiter.tick(poll, [annotator, current, run_dd], item_outputs, **fast)
    switch_btn.click(switch, [annotator, run_dd], login_outputs, **events)
    demo.load(restore, [saved_name, run_dd], login_outputs, **events)


def build_admin_tab(service: LabelService, export_dir: Path) -> None:
    """The Admin tab: locked until the admin password is given; every action checks it again."""
    unlocked = gr.State(False)
    if not service.options.admin_password:
        gr.Markdown("#### Admin is off\nThe server was started with `--no-admin`; start it with `--admin-password` "
                    "(or `LATENTLAB_ADMIN_PASSWORD`, or neither: it then prints one) to see agreement figures and "
                    "export labels here.")
    with gr.Row():
        password = gr.Textbox(type="password", label="Admin password", max_lines=1, scale=3,
                              elem_id="ll-admin-password")
        unlock_btn = gr.Button("Unlock", variant="primary", scale=1, elem_id="ll-admin-unlock")
    admin_msg = gr.Markdown("", elem_id="ll-admin-msg")
    with gr.Column(visible=False, elem_id="ll-admin-panel") as panel:
        with gr.Row():
            all_runs = service.store.list_runs()
            run_dd = gr.Dropdown(choices=[(f"#{r.id} · {r.name}{r.class_note}", r.id) for r in all_runs],
                                 value=service.default_run_id() or (all_runs[-1].id if all_runs else None),
                                 label="Run", scale=3, elem_id="ll-admin-run")
            refresh_btn = gr.Button("Refresh", scale=1, elem_id="ll-admin-refresh")
        summary = gr.Markdown("", elem_id="ll-admin-summary")
        with gr.Row():
            agreement = gr.Dataframe(label="Agreement per attribute (Krippendorff's alpha)", interactive=False,
                                     elem_id="ll-admin-agreement")
            annotators = gr.Dataframe(label="Annotators: volume, agreement with the others' majority, "
                                            "accuracy on gold faces", interactive=False,
                                      elem_id="ll-admin-annotators")
        balance = gr.Dataframe(label="Class balance of the answers", interactive=False, max_height=360,
                               elem_id="ll-admin-balance")
        with gr.Row():
            what = gr.Radio(choices=[("raw labels", "raw"), ("majority vote", "majority"),
                                     ("Dawid–Skene", "dawid_skene"), ("weighted by gold accuracy", "gold_weighted")],
                            value="raw", label="Export", scale=2)
            fmt = gr.Radio(choices=["csv", "parquet"], value="csv", label="Format", scale=1)
            export_btn = gr.Button("Export", variant="primary", scale=1, elem_id="ll-admin-export")
        export_file = gr.File(label="Exported file", interactive=False, elem_id="ll-admin-file")
        gr.Markdown("#### Gold faces\nFaces whose answers you know: annotators meet them now and then "
                    "(`--gold-rate`), and the table above shows each one's accuracy on them. Give face numbers "
                    "(e.g. `3, 17, 40-45`); a face becomes gold with its current majority answers, so label "
                    "it yourself first (or load answers with `latentlab gold --csv`).")
        with gr.Row():
            gold_faces = gr.Textbox(label="Face numbers", max_lines=1, scale=3, elem_id="ll-admin-gold-faces")
            gold_btn = gr.Button("Mark gold", variant="primary", scale=1, elem_id="ll-admin-gold")
            ungold_btn = gr.Button("Unmark", scale=1, elem_id="ll-admin-ungold")
        gold_msg = gr.Markdown("", elem_id="ll-admin-gold-msg")
        gold_table = gr.Dataframe(label="Gold faces and their known answers", interactive=False, max_height=300,
                                  elem_id="ll-admin-gold-table")

    def tables(ok: bool, run_id):
        if not ok:
            raise gr.Error("admin actions need the admin password; unlock the Admin tab first")
        try:
            t = service.admin_tables(run_id)
        except UserError as e:
            raise gr.Error(message(e)) from None
        return t["summary"], t["agreement"], t["annotators"], t["balance"]

    def unlock(pw: str, run_id):
        try:
            service.check_admin(pw)
        except UserError as e:
            return [False, f"⚠️ {html.escape(message(e))}", gr.update(visible=False), ""] + [gr.skip()] * 4
        return [True, "Unlocked.", gr.update(visible=True), ""] + list(tables(True, run_id))

    def mark(ok: bool, run_id, faces: str, unmark: bool = False):
        if not ok:
            raise gr.Error("admin actions need the admin password; unlock the Admin tab first")
        try:
            said = service.mark_gold(run_id, faces, unmark=unmark)
            return [said, service.gold_table(run_id), *tables(True, run_id)]
        except UserError as e:
            return [f"⚠️ {html.escape(message(e))}", gr.skip(), *[gr.skip()] * 4]

    def export(ok: bool, run_id, what_: str, fmt_: str):
        if not ok:
            raise gr.Error("admin actions need the admin password; unlock the Admin tab first")
        try:
            return str(service.export(run_id, what_, fmt_, export_dir))
        except UserError as e:
            raise gr.Error(message(e)) from None

    events = {"concurrency_limit": 8, "api_visibility": "private"}
    table_outputs = [summary, agreement, annotators, balance]
    unlock_btn.click(unlock, [password, run_dd], [unlocked, admin_msg, panel, password, *table_outputs], **events)
    password.submit(unlock, [password, run_dd], [unlocked, admin_msg, panel, password, *table_outputs], **events)
    refresh_btn.click(tables, [unlocked, run_dd], table_outputs, **events)
    run_dd.input(tables, [unlocked, run_dd], table_outputs, **events)
    export_btn.click(export, [unlocked, run_dd, what, fmt], export_file, **events)
    gold_outputs = [gold_msg, gold_table, *table_outputs]
    gold_btn.click(mark, [unlocked, run_dd, gold_faces], gold_outputs, **events)
    ungold_btn.click(lambda ok, run_id, faces: mark(ok, run_id, faces, True), [unlocked, run_dd, gold_faces],
                     gold_outputs, **events)


def register_api(service: LabelService) -> None:
    """HTTP endpoints for scripts and load tests: POST /gradio_api/run/<name> answers in one request
    (they skip Gradio's queue: no event stream to open); POST /gradio_api/call/<name>, then GET the
    result, works too.

    They do what the Label tab does, with the same checks; in annotator_auth="gradio" mode the
    caller must be logged in as the annotator it names.
    """
    gradio_auth = service.options.annotator_auth == "gradio"

    def who(annotator: str, request: gr.Request | None) -> str:
        if gradio_auth and (request is None or request.username != annotator):
            raise gr.Error("log in as this annotator first (this server uses Gradio's login)")
        return annotator

    def call(fn, *args):
        try:
            return fn(*args).to_dict(lambda path: f"/gradio_api/file={path}")
        except UserError as e:
            raise gr.Error(message(e)) from None

    def next_item(annotator: str, run_id: int, request: gr.Request) -> dict:
        """The face this annotator should label now (the same one again until it is answered)."""
        return call(service.next_item, who(annotator, request), run_id)

    def submit_label(annotator: str, run_id: int, item_id: int, request_id: str, values: dict,
                     request: gr.Request) -> dict:
        """Record {attribute: option or "not_sure"} for the item (request_id = the item's token), then
        return the next item. A replayed request or a second answer to the same item is kept once."""
        return call(service.submit, who(annotator, request), run_id, item_id, request_id, values)

    def skip_item(annotator: str, run_id: int, item_id: int, request_id: str, request: gr.Request) -> dict:
        """Pass on an item; returns the next one."""
        return call(service.skip, who(annotator, request), run_id, item_id, request_id)

    def undo_last(annotator: str, run_id: int, request: gr.Request) -> dict:
        """Take back the annotator's last answer; returns that item with the answer as `prefill`."""
        return call(service.undo, who(annotator, request), run_id)

    for fn in (next_item, submit_label, skip_item, undo_last):
        gr.api(fn, api_name=fn.__name__, concurrency_limit=CONCURRENCY, queue=False)
