"""The crowd's labeling page, `/label/`: one small HTML page and a JSON API outside Gradio's machinery.

Why: a Gradio event costs 8-10 ms of CPU before our code runs and a new Gradio session ~20 ms
(labeler/README.md "Speed"); a label itself costs the store ~4 ms. These routes are plain Starlette
endpoints in front of Gradio's own, stateless (a signed ticket in an HttpOnly cookie, or in the
body for scripts, says who is labeling: `labeler.tickets`), so any app server behind a proxy can
answer any request. They do what the Label tab does through the same `LabelService`.

Routes (relative to the app's root):
  GET  label/                 the page (keys as in the Label tab)
  POST label/api/login        {"name", "password"?} -> {"annotator", "ticket"}; sets the cookie
  POST label/api/next         {"run_id"} -> {"item", "progress", "agreement", "message", "annotator"}
  POST label/api/submit       {"run_id", "item_id", "request_id", "values"} -> the next item
  POST label/api/skip         {"run_id", "item_id", "request_id"} -> the next item
  POST label/api/undo         {"run_id"} -> the undone item, its answer as "prefill"
  POST label/api/logout       {"run_id"?} gives the face on screen back and forgets the cookie
  GET  label/faces/<run>/<n>.png  a face (needs a ticket when annotators log in with a password)
Errors: HTTP 400/401/404/413/415 with {"error": one sentence}.
"""

from __future__ import annotations

import hmac
import json
import time
from collections.abc import Callable
from importlib import resources
from pathlib import Path
from urllib.parse import quote

import anyio
from starlette.requests import Request
from starlette.responses import FileResponse, JSONResponse, RedirectResponse, Response
from starlette.routing import BaseRoute, Route

from latentlab.core.errors import UserError
from latentlab.ui.gradio_util import message

from labeler.schema import UNSURE, UNSURE_KEY, Schema
from labeler.service import ItemView, LabelService
from labeler.text import check_annotator_name
from labeler.tickets import TICKET_MAX_AGE_S, read_ticket, sign_ticket

BODY_LIMIT = 64 * 1024  # bytes of a request body; a label is a few hundred
COOKIE = "latentlab_ticket"
PAGE = "crowd_page.html"


class Refusal(Exception):
    """A request refused with an HTTP status and one sentence."""

    def __init__(self, status: int, text: str):
        super().__init__(text)
        self.status = status


def refused(error: Refusal | UserError) -> JSONResponse:
    """The reply to a refused request: {"error": one sentence}; a UserError is the client's mistake (400)."""
    if isinstance(error, Refusal):
        return JSONResponse({"error": str(error)}, status_code=error.status)
    return JSONResponse({"error": message(error)}, status_code=400)


def page_config(service: LabelService, schema: Schema, password_login: bool) -> dict:
    """What the page's script needs: the attributes with their keys, the runs, how to log in."""
    return {
        "unsure": UNSURE, "unsureKey": UNSURE_KEY, "passwordLogin": password_login,
        "attributes": [{"name": a.name, "title": a.title, "help": a.help or "",
                        "options": [{"key": k, "value": o, "label": o.replace("_", " ")}
                                    for k, o in zip(a.keys, a.options)]}
                       for a in schema.attributes],
        "runs": [{"id": r.id, "label": f"#{r.id} · {r.name} · k={r.k}{r.class_note}"} for r in service.runs()],
        "run": service.default_run_id(),
    }


def render_page(config: dict) -> str:
    template = resources.files("latentlab.ui").joinpath(PAGE).read_text(encoding="utf-8")
    # inside <script>: escape "<" so no value can close the script element
    return template.replace("__CONFIG__", json.dumps(config, ensure_ascii=False).replace("<", "\\u003c"))


async def read_json(request: Request) -> dict:
    """The request's JSON object, refused when it is not JSON, not an object, or too large."""
    if request.headers.get("content-type", "").split(";")[0].strip() != "application/json":
        raise Refusal(415, "send the request as application/json")
    too_large = Refusal(413, f"a labeling request must be under {BODY_LIMIT // 1024} kB")
    declared = request.headers.get("content-length")
    if declared is not None and (not declared.isdigit() or int(declared) > BODY_LIMIT):
        raise too_large
    body = bytearray()
    async for chunk in request.stream():
        body += chunk
        if len(body) > BODY_LIMIT:
            raise too_large
    try:
        data = json.loads(bytes(body) or b"{}")
    except (ValueError, UnicodeDecodeError):
        raise Refusal(400, "the request body is not valid JSON") from None
    if not isinstance(data, dict):
        raise Refusal(400, "the request body must be a JSON object")
    return data


def crowd_routes(service: LabelService, schema: Schema, images_dir: Path, secret: bytes,
                 users: list[tuple[str, str]] | None = None, clock: Callable[[], float] = time.time) -> list[BaseRoute]:
    """The page's routes. With `users` (name, password) annotators log in with a password (the
    same list as Gradio's login); otherwise they type a name."""
    images_dir = images_dir.resolve()
    passwords = dict(users) if users else None

    def face_url(path: Path) -> str:
        return "faces/" + quote(path.resolve().relative_to(images_dir).as_posix())

    def who(request: Request, data: dict | None) -> str:
        ticket = (data or {}).get("ticket") or request.cookies.get(COOKIE)
        try:
            return read_ticket(ticket, secret, clock())
        except UserError as e:
            raise Refusal(401, message(e)) from None

    def endpoint(action: Callable[[str, dict], ItemView]):
        async def handle(request: Request) -> Response:
            try:
                data = await read_json(request)
                annotator = who(request, data)
                view = await anyio.to_thread.run_sync(action, annotator, data)
            except (Refusal, UserError) as e:
                return refused(e)
            reply = view.to_dict(face_url)
            if reply["item"] is not None:
                del reply["item"]["image"]  # the server's own path: a crowd page has no use for it
            return JSONResponse({**reply, "annotator": annotator})
        return handle

    async def page(request: Request) -> Response:
        config = await anyio.to_thread.run_sync(page_config, service, schema, passwords is not None)
        return Response(render_page(config), media_type="text/html; charset=utf-8",
                        headers={"Cache-Control": "no-store", "X-Frame-Options": "SAMEORIGIN",
                                 "X-Content-Type-Options": "nosniff"})

    async def to_page(request: Request) -> Response:
        return RedirectResponse(url="label/", status_code=307)

    async def login(request: Request) -> Response:
        try:
            data = await read_json(request)
            name = check_annotator_name(data.get("name"))
            if passwords is not None:
                given = data.get("password")
                known = passwords.get(name)
                if not isinstance(given, str) or known is None or \
                        not hmac.compare_digest(given.encode("utf-8"), known.encode("utf-8")):
                    raise Refusal(401, "wrong name or password")
        except (Refusal, UserError) as e:
            return refused(e)
        ticket = sign_ticket(name, secret, clock())
        reply = JSONResponse({"annotator": name, "ticket": ticket})
        reply.set_cookie(COOKIE, ticket, max_age=int(TICKET_MAX_AGE_S), path="/", httponly=True, samesite="strict",
                         secure=request.url.scheme == "https")
        return reply

    async def logout(request: Request) -> Response:
        try:
            data = await read_json(request)
            annotator = who(request, data)
            if data.get("run_id") not in (None, ""):
                await anyio.to_thread.run_sync(service.release, annotator, data["run_id"])
        except Refusal as e:
            if e.status != 401:
                return refused(e)
        except UserError:
            pass  # leaving never fails: the lease simply runs out
        reply = JSONResponse({"ok": True})
        reply.delete_cookie(COOKIE, path="/")
        return reply

    async def face(request: Request) -> Response:
        if passwords is not None:
            try:
                who(request, None)
            except Refusal as e:
                return refused(e)
        path = (images_dir / request.path_params["path"]).resolve()
        if path.suffix != ".png" or not path.is_relative_to(images_dir) or not path.is_file():
            return refused(Refusal(404, "no such face"))
        return FileResponse(path, media_type="image/png", headers={"Cache-Control": "private, max-age=86400"})

    def submit(annotator: str, d: dict) -> ItemView:
        return service.submit(annotator, d.get("run_id"), d.get("item_id"), d.get("request_id"), d.get("values"))

    def skip(annotator: str, d: dict) -> ItemView:
        return service.skip(annotator, d.get("run_id"), d.get("item_id"), d.get("request_id"))

    return [
        Route("/label", to_page, methods=["GET"]),
        Route("/label/", page, methods=["GET"]),
        Route("/label/api/login", login, methods=["POST"]),
        Route("/label/api/logout", logout, methods=["POST"]),
        Route("/label/api/next", endpoint(lambda a, d: service.next_item(a, d.get("run_id"))), methods=["POST"]),
        Route("/label/api/submit", endpoint(submit), methods=["POST"]),
        Route("/label/api/skip", endpoint(skip), methods=["POST"]),
        Route("/label/api/undo", endpoint(lambda a, d: service.undo(a, d.get("run_id"))), methods=["POST"]),
        Route("/label/faces/{path:path}", face, methods=["GET"]),
    ]

