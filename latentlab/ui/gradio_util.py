"""Small helpers shared by latentlab's Gradio tabs: errors as toasts, the admin password on writes,
and face previews large enough to judge."""

from __future__ import annotations

import functools
import inspect
import logging
import math
import os
from collections.abc import Callable

import gradio as gr
import numpy as np

from latentlab.core.errors import UserError

AdminCheck = Callable[[object], None]  # LabelService.check_admin: returns, or raises a UserError
MESSAGE_LIMIT = 500  # characters of an error the app shows (the errors quote input briefly already)
log = logging.getLogger("latentlab.ui")
PREVIEW_PX = 256  # the smallest side of a face in a preview: a 64 px face is too small to judge an edit


def enlarge(faces: np.ndarray, min_px: int = PREVIEW_PX) -> np.ndarray:
    """Faces uint8 [N, H, W, 3] scaled up by a whole factor until their smaller side is at least `min_px`,
    with Lanczos (smooth, not blocky pixels); faces that large already, or min_px <= 0, are unchanged."""
    faces = np.asarray(faces)
    h, w = faces.shape[1:3]
    factor = math.ceil(min_px / min(h, w)) if min_px > 0 else 1
    if factor <= 1:
        return faces
    from PIL import Image

    size = (w * factor, h * factor)
    return np.stack([np.asarray(Image.fromarray(f).resize(size, Image.LANCZOS)) for f in faces])


def class_picker(classes: int, value: int | None, elem_id: str) -> gr.Dropdown:
    """The class of the faces a tab draws, for a conditional generator (`classes` > 0); hidden, with
    value None (the generator's own class), for an unconditional one."""
    return gr.Dropdown(choices=[(f"class {c}", c) for c in range(classes)], value=value if classes else None,
                       label="Class", visible=classes > 0, min_width=110, scale=0, elem_id=elem_id,
                       info="conditional generator: the class of the faces drawn")


def preview_cols(n: int) -> int:
    """Columns of a preview grid: 2 x 2 for up to four faces (each big on a 1366 px screen), then 4."""
    return 1 if n == 1 else 2 if n <= 4 else 4


def message(error: Exception) -> str:
    """The error's sentence as the app shows it, never longer than MESSAGE_LIMIT."""
    text = str(error)
    return text if len(text) <= MESSAGE_LIMIT else text[:MESSAGE_LIMIT] + "…"


def debugging() -> bool:
    """Whether refusals print their traceback in the server log (`latentlab --debug serve` sets
    LATENTLAB_DEBUG=1); otherwise each is one line."""
    return os.environ.get("LATENTLAB_DEBUG", "") not in ("", "0")


def refusal(error: UserError, where: str) -> gr.Error:
    """The toast for a refused request, logged as one line (`refused in <handler>: <sentence>`)."""
    text = message(error)
    log.info("refused in %s: %s", where, " ".join(text.splitlines()))
    return gr.Error(text, print_exception=debugging())


def user_errors_as_toasts(fn):
    """Show a UserError's message in the app (a gr.Error toast) instead of a generic failure; the server
    log gets one line (the traceback only with --debug). Generator handlers stay generators."""
    where = getattr(fn, "__name__", "handler")

    if inspect.isgeneratorfunction(fn):
        @functools.wraps(fn)
        def streaming(*args, **kwargs):
            try:
                yield from fn(*args, **kwargs)
            except UserError as e:
                raise refusal(e, where) from (e if debugging() else None)

        return streaming

    @functools.wraps(fn)
    def wrapper(*args, **kwargs):
        try:
            return fn(*args, **kwargs)
        except UserError as e:
            raise refusal(e, where) from (e if debugging() else None)

    return wrapper


def admin_password_box(elem_id: str, needed_to: str) -> gr.Textbox:
    """The password box of a tab whose actions write to the workspace (the app's admin password)."""
    return gr.Textbox(type="password", label="Admin password", info=f"needed to {needed_to}", max_lines=1,
                      elem_id=elem_id)


def admin_only(check_admin: AdminCheck, fn):
    """`fn` behind the admin password: the handler takes the password as its first input and checks it
    on the server before `fn` runs (generator handlers stay generators, so Gradio still streams them)."""

    def check(password) -> None:
        try:
            check_admin(password)
        except UserError as e:
            raise refusal(e, getattr(fn, "__name__", "handler")) from None

    if inspect.isgeneratorfunction(fn):
        def handler(password, *args):
            check(password)
            yield from fn(*args)
    else:
        def handler(password, *args):
            check(password)
            return fn(*args)

    # the handler's name is its API name; its signature (Gradio reads it) is its own, password first
    handler.__name__ = handler.__qualname__ = getattr(fn, "__name__", "handler")
    handler.__doc__ = fn.__doc__
    return handler
