"""Small helpers shared by latentlab's Gradio tabs: errors as toasts, and the admin password on writes."""

from __future__ import annotations

import functools
import inspect
from collections.abc import Callable

import gradio as gr

from latentlab.core.errors import UserError

AdminCheck = Callable[[object], None]  # LabelService.check_admin: returns, or raises a UserError
MESSAGE_LIMIT = 500  # characters of an error the app shows (the errors quote input briefly already)


def message(error: Exception) -> str:
    """The error's sentence as the app shows it, never longer than MESSAGE_LIMIT."""
    text = str(error)
    return text if len(text) <= MESSAGE_LIMIT else text[:MESSAGE_LIMIT] + "…"


def user_errors_as_toasts(fn):
    """Show a UserError's message in the app (a gr.Error toast) instead of a generic failure."""

    @functools.wraps(fn)
    def wrapper(*args, **kwargs):
        try:
            return fn(*args, **kwargs)
        except UserError as e:
            raise gr.Error(message(e)) from None

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
            raise gr.Error(message(e)) from None

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
