"""Small helpers shared by latentlab's Gradio tabs."""

from __future__ import annotations

import functools

import gradio as gr

from latentlab.core.errors import UserError


def user_errors_as_toasts(fn):
    """Show a UserError's message in the app (a gr.Error toast) instead of a generic failure."""

    @functools.wraps(fn)
    def wrapper(*args, **kwargs):
        try:
            return fn(*args, **kwargs)
        except UserError as e:
            raise gr.Error(str(e)) from None

    return wrapper
