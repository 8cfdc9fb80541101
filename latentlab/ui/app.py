"""latentlab's Gradio app: builds the Blocks from the tabs, nothing else.

Tabs, in order: Label, Fit directions, Edit, Explore, Animate, Invert & edit, Admin (password-protected).
Annotators only label: every action that writes to the workspace asks for the admin password.
`latentlab serve` (and `python app.py`) call `launch_app`.
"""

from __future__ import annotations

import gc
import os
from collections.abc import Callable
from dataclasses import dataclass

import gradio as gr

from latentlab.core.errors import UserError
from latentlab.ui.animate_tab import build_animate_tab
from latentlab.ui.context import AppContext
from latentlab.ui.crowd_page import crowd_routes
from latentlab.ui.edit_tab import build_edit_tab
from latentlab.ui.explore_tab import build_explore_tab
from latentlab.ui.fit_tab import build_fit_tab
from latentlab.ui.gradio_util import AdminCheck
from latentlab.ui.invert_tab import build_invert_tab
from latentlab.ui.label_tabs import CSS, build_admin_tab, build_label_tab, keyboard_js, register_api
from latentlab.ui.sets import DirectionShelf

from labeler.service import LabelerOptions, LabelService
from labeler.tickets import load_secret

MAX_THREADS = 160  # worker threads for sync handlers: 50+ annotators plus the other tabs


@dataclass
class BuiltApp:
    blocks: gr.Blocks
    launch_kwargs: dict  # css/js/theme/... which Gradio 6 takes at launch() or mount_gradio_app()
    service: LabelService
    ctx: AppContext


def build_direction_tabs(demo: gr.Blocks, ctx: AppContext, shelf: DirectionShelf, check_admin: AdminCheck) -> None:
    """Fit, Edit, Explore and Animate (inside gr.Tabs); a set saved in one shows in every set list.
    What writes to the workspace (fit, save, render) asks `check_admin` for the admin password."""
    build_fit_tab(ctx, shelf, check_admin)
    build_edit_tab(ctx, shelf)
    build_explore_tab(ctx, shelf, check_admin)
    build_animate_tab(ctx, shelf, check_admin)
    shelf.connect(demo)


def build_app(ctx: AppContext, options: LabelerOptions | None = None) -> BuiltApp:
    # Gradio's queue summarises its own timings with pandas after every event by default; with 50
    # annotators that is a tenth of the server's CPU, so refresh that summary every 50 events instead
    os.environ.setdefault("GRADIO_ANALYTICS_CACHE_FREQUENCY", "50")
    service = LabelService(ctx.db_url, options or LabelerOptions(), schema_json=ctx.schema.to_json())
    with gr.Blocks(title="latentlab") as demo:
        shelf = DirectionShelf(ctx.directions_dir, ctx.generator.generator_id)
        with gr.Tabs():
            with gr.Tab("Label", id="label"):
                build_label_tab(demo, service, ctx.schema)
            build_direction_tabs(demo, ctx, shelf, service.check_admin)
            build_invert_tab(demo, ctx, shelf, service.check_admin)
            with gr.Tab("Admin", id="admin"):
                build_admin_tab(service, ctx.workspace / "exports")
        register_api(service)
    demo.queue(default_concurrency_limit=8, max_size=None)
    return BuiltApp(demo, {"css": CSS, "js": keyboard_js(ctx.schema), "theme": gr.themes.Soft(),
                           "allowed_paths": [str(ctx.workspace / "images"), str(ctx.workspace / "exports")]},
                    service, ctx)


def crowd_page_routes(built: BuiltApp, users: list[tuple[str, str]] | None) -> list:
    """The crowd page's routes (`latentlab.ui.crowd_page`), placed in front of Gradio's when the app is made,
    so they answer from the server's first request."""
    return crowd_routes(built.service, built.ctx.schema, built.ctx.workspace / "images",
                        load_secret(built.ctx.workspace), users)


def launch_app(ctx: AppContext, options: LabelerOptions, host: str = "127.0.0.1", port: int | None = None,
               auth: list[tuple[str, str]] | None = None, block: bool = True,
               after_start: Callable[[], object] | None = None) -> tuple[BuiltApp, str]:
    """Start the server; returns the app and its local URL (blocks until Ctrl-C when `block`).
    `after_start` runs once the server listens (e.g. drawing a new run's faces in the background)."""
    built = build_app(ctx, options)
    # the app, the generator and the libraries are millions of objects that live as long as the server:
    # leave them out of the collector's full passes, which otherwise stopped every request for 0.2-0.4 s
    # every few seconds under a crowd (labeler/README.md "Speed"); back in once a blocking server stops
    gc.collect()
    gc.freeze()
    url = ""
    try:
        try:
            _, url, _ = built.blocks.launch(server_name=host, server_port=port, auth=auth, max_threads=MAX_THREADS,
                                            app_kwargs={"routes": crowd_page_routes(built, auth)},
                                            prevent_thread_lock=True, quiet=True, footer_links=["api"],
                                            auth_message="latentlab: log in with the name and password you were "
                                                         "given",
                                            **built.launch_kwargs)
        except OSError as e:
            why = "it is in use" if "empty port" in str(e) else str(e)
            raise UserError(f"cannot listen on {host}:{port or '7860-7959'} ({why}); choose another with --port"
                            ) from None
        if after_start is not None:
            after_start()
        if block:
            print(f"latentlab is serving on {url}  (the crowd's labeling page: {url.rstrip('/')}/label/; "
                  "Ctrl-C stops it)", flush=True)
            built.blocks.block_thread()  # returns after closing the server on Ctrl-C
    except KeyboardInterrupt:  # Ctrl-C before block_thread took over (the page may already answer while launch
        built.blocks.close()  # finishes, or after_start runs): stop as block_thread does
        if not block:
            raise
    finally:
        if block or not url:  # stopped, or never started
            gc.unfreeze()
    return built, url
