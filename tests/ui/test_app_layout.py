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
    api = {d["api_name"] for d in config["dependencies"] if d.get("api_visibility") == "public"}
    assert {"next_item", "submit_label", "skip_item", "undo_last"} <= api
