"""Thread settings shared by the app and every command, and --debug reaching the app's server log."""

import os

import torch

import latentlab.cli as cli
from latentlab.cli.common import physical_cores, set_threads


def test_commands_use_one_torch_thread_per_physical_core_unless_told(monkeypatch):
    before = torch.get_num_threads()
    try:
        set_threads(0)
        assert torch.get_num_threads() == physical_cores() <= (os.cpu_count() or 1)
        set_threads(1)
        assert torch.get_num_threads() == 1
    finally:
        torch.set_num_threads(before)


def test_debug_turns_on_the_apps_tracebacks(monkeypatch):
    from latentlab.ui.gradio_util import debugging

    monkeypatch.setenv("LATENTLAB_DEBUG", "0")  # restored after the test
    assert not debugging()
    assert cli.main(["--debug", "directions", "/nonexistent/set.npz"]) == 3
    assert os.environ.get("LATENTLAB_DEBUG") == "1" and debugging()


def test_a_refusal_in_the_app_is_one_log_line(caplog, monkeypatch):
    monkeypatch.delenv("LATENTLAB_DEBUG", raising=False)
    import gradio as gr
    import pytest

    from latentlab.core.errors import UserError
    from latentlab.ui.gradio_util import user_errors_as_toasts

    @user_errors_as_toasts
    def on_thing():
        raise UserError("choose a direction set first")

    with caplog.at_level("INFO", logger="latentlab.ui"), pytest.raises(gr.Error) as e:
        on_thing()
    assert not e.value.print_exception
    assert [r.getMessage() for r in caplog.records] == ["refused in on_thing: choose a direction set first"]


def test_invert_runs_a_small_generator_on_one_thread_unless_told(tmp_path):
    """One 64 px image on CPU: a second thread only adds waiting (docs/inversion.md), so --threads 0 means 1."""
    import numpy as np
    from PIL import Image

    picture = tmp_path / "face.png"
    Image.fromarray(np.full((64, 64, 3), 200, np.uint8)).save(picture)
    before = torch.get_num_threads()
    try:
        for threads, expected in (("0", 1), ("2", 2)):
            assert cli.main(["invert", str(picture), "--device", "cpu", "--threads", threads, "--steps", "2",
                             "--tune-steps", "1", "--loss", "pixel", "--out", str(tmp_path / f"t{threads}.npz"),
                             "--workspace", str(tmp_path)]) == 0
            assert torch.get_num_threads() == expected
    finally:
        torch.set_num_threads(before)
