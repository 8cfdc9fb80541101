"""The built app, without a browser: its tabs in order, the element ids the browser tests and users rely on."""

from __future__ import annotations

import torch
from directions_helpers import TINY

from latentlab.generator.stylegan2 import StyleGAN2Generator
from latentlab.ui.app import build_app
from latentlab.ui.context import AppContext
from latentlab.ui.editor import MAX_CLASS_PICKERS, MAX_SLIDERS

from labeler.schema import default_schema

TABS = ["label", "directions-fit", "directions-edit", "directions-explore", "directions-animate", "inversion", "admin"]


def test_the_app_has_every_tab_and_one_editor_per_editing_tab(tmp_path):
    torch.manual_seed(0)
    ctx = AppContext(generator=StyleGAN2Generator(TINY).eval(), generator_path=None, device=torch.device("cpu"),
                     workspace=tmp_path, db_url=f"sqlite:///{tmp_path / 'labels.sqlite'}", schema=default_schema())
    config = build_app(ctx).blocks.get_config_file()
    props = [c.get("props", {}) for c in config["components"]]
    assert [p["id"] for c, p in zip(config["components"], props) if c["type"] == "tabitem"] == TABS
    elem_ids = {p.get("elem_id") for p in props}
    for prefix in ("edit", "inv"):
        assert {f"{prefix}-slider-{i}" for i in range(MAX_SLIDERS)} <= elem_ids
        assert {f"{prefix}-onto-{i}" for i in range(MAX_SLIDERS)} <= elem_ids  # a class picker beside each slider
        assert {f"{prefix}-class-{i}" for i in range(MAX_CLASS_PICKERS)} <= elem_ids
    assert {"fit-run", "fit-button", "edit-set", "explore-grid", "animate-set", "inv-set", "inv-export",
            "ll-submit", "ll-admin-unlock", "ll-progress", "ll-keys", "ll-admin-gold", "ll-admin-gold-faces"} <= elem_ids
    # the per-face events skip Gradio's queue; the waiting timer (faces still being drawn) starts off
    by_id = {c["id"]: c for c in config["components"]}
    submit = next(c["id"] for c in config["components"] if c.get("props", {}).get("elem_id") == "ll-submit")
    on_submit = [d for d in config["dependencies"] if [submit, "click"] in [list(t) for t in d["targets"]]]
    assert len(on_submit) == 1 and on_submit[0]["queue"] is False
    timers = [c for c in by_id.values() if c["type"] == "timer"]
    assert timers and all(c["props"].get("active") is False for c in timers)
    # before any fit the results table shows its real column headers, not Gradio's "1 2 3"
    fit_table = next(p for p in props if p.get("elem_id") == "fit-table")
    assert fit_table["value"]["headers"][:4] == ["name", "kind", "labels", "CV acc."]
    assert fit_table["value"]["data"] == []
    api = {d["api_name"] for d in config["dependencies"] if d.get("api_visibility") == "public"}
    assert {"next_item", "submit_label", "skip_item", "undo_last"} <= api


def _pickers(ctx) -> dict[str, dict]:
    config = build_app(ctx).blocks.get_config_file()
    props = [c.get("props", {}) for c in config["components"]]
    return {p["elem_id"]: p for p in props if p.get("elem_id") in ("edit-class", "explore-class", "animate-class")}


def test_a_conditional_generator_gets_a_class_picker_in_every_tab_that_draws_faces(tmp_path):
    import dataclasses

    import numpy as np

    from latentlab.generator.interface import map_latents, render, sample_z
    from latentlab.ui.animate_tab import walk_video
    from latentlab.ui.edit_tab import edited_faces

    torch.manual_seed(0)
    common = dict(generator_path=None, device=torch.device("cpu"), workspace=tmp_path,
                  db_url=f"sqlite:///{tmp_path / 'labels.sqlite'}", schema=default_schema())
    plain = AppContext(generator=StyleGAN2Generator(TINY).eval(), **common)
    assert {p["visible"] for p in _pickers(plain).values()} == {False}  # unconditional: nothing to pick

    gen = StyleGAN2Generator(dataclasses.replace(TINY, c_dim=3)).eval()
    gen.class_label = 2  # `serve --class 2`: the pickers start there
    ctx = AppContext(generator=gen, **common)
    pickers = _pickers(ctx)
    assert set(pickers) == {"edit-class", "explore-class", "animate-class"}
    for p in pickers.values():
        assert p["visible"] is not False and p["value"] == 2
        assert [c[1] for c in p["choices"]] == [0, 1, 2]

    # what the pickers choose: faces of that class, the same as `latentlab sample --seed 4 --class C`
    z = sample_z(2, 4, gen.z_dim)
    for c in (0, 1):
        _, w = ctx.faces(4, 2, 0.8, c)
        assert np.allclose(w, map_latents(gen, z, 0.8, class_label=c), atol=1e-6)
    assert not np.allclose(ctx.faces(4, 2, 0.8, 0)[1], ctx.faces(4, 2, 0.8, 1)[1], atol=1e-3)
    assert np.array_equal(ctx.faces(4, 2, 0.8)[1], ctx.faces(4, 2, 0.8, 2)[1])  # None: the start class
    from directions.io import DirectionSet
    from latentlab.generator.interface import image_grid

    before, _ = edited_faces(ctx, DirectionSet(generator_id=gen.generator_id, space="w"), 4, 2, 0.8, "", {},
                             min_px=0, class_label=1)
    assert np.array_equal(before, image_grid(render(gen, map_latents(gen, z, 0.8, class_label=1)), cols=2))
    walk = walk_video(ctx, z, 4, 0.8, "z", class_label=1)
    assert np.array_equal(walk[0], render(gen, map_latents(gen, z[:1], 0.8, class_label=1))[0])


def test_ctrl_c_as_soon_as_the_page_answers_stops_the_server_cleanly(tmp_path):
    """A real SIGINT sent the moment the page first answers (it may land while launch is still finishing,
    in after_start or in block_thread) closes the server and returns: `serve` then exits 0, not 130."""
    import gc
    import os
    import signal
    import socket
    import threading
    import urllib.request

    from labeler.service import LabelerOptions
    from latentlab.ui.app import launch_app

    ctx = AppContext(generator=StyleGAN2Generator(TINY).eval(), generator_path=None, device=torch.device("cpu"),
                     workspace=tmp_path, db_url=f"sqlite:///{tmp_path / 'labels.sqlite'}", schema=default_schema())
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    page, answered, frozen = f"http://127.0.0.1:{port}/", threading.Event(), []

    def ctrl_c_when_answering():
        while not answered.is_set():
            try:
                answered.set() if urllib.request.urlopen(page, timeout=5).status == 200 else None
            except OSError:
                answered.wait(0.05)  # not listening yet: ask again
        frozen.append(gc.get_freeze_count())
        os.kill(os.getpid(), signal.SIGINT)

    # a run started in the background (nohup, `&` in a script) ignores SIGINT: Ctrl-C's default, for this test
    previous = signal.signal(signal.SIGINT, signal.default_int_handler)
    try:
        threading.Thread(target=ctrl_c_when_answering, daemon=True).start()
        launch_app(ctx, LabelerOptions(), port=port, block=True)  # returns (no KeyboardInterrupt) once stopped
    finally:
        signal.signal(signal.SIGINT, previous)
    assert answered.is_set()
    assert frozen[0] > 100_000  # the server's long-lived objects are out of the collector's full passes
    assert gc.get_freeze_count() == 0  # and back in once it stopped
    try:
        urllib.request.urlopen(page, timeout=5)
        raise AssertionError("the server still answers after Ctrl-C")
    except OSError:
        pass  # closed
