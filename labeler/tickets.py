"""Signed annotator tickets: who is labeling, carried by the client instead of kept in a server session.

The crowd page's API is stateless so that any app server behind a proxy can answer any request: at
log-in the server signs the (normalised) annotator name with a secret shared by every server of the
deployment; each later request brings the ticket back and the server checks the signature
(HMAC-SHA256, constant-time) and the age. A client cannot change the name without the secret.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import os
import secrets
from pathlib import Path

from latentlab.core.errors import UserError

TICKET_MAX_AGE_S = 30 * 24 * 3600.0  # a log-in lasts a month; the page logs in again with the remembered name
TICKET_LIMIT = 512  # characters; longer ones are refused before any decoding
SECRET_ENV = "LATENTLAB_LABEL_SECRET"
SECRET_BYTES = 32


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def _mac(secret: bytes, body: str) -> str:
    return _b64(hmac.new(secret, body.encode("ascii"), hashlib.sha256).digest())


def sign_ticket(name: str, secret: bytes, now: float) -> str:
    """A ticket for `name` issued at `now` (seconds since the epoch)."""
    body = _b64(json.dumps({"n": name, "t": round(now, 3)}, ensure_ascii=False).encode("utf-8"))
    return f"{body}.{_mac(secret, body)}"


def read_ticket(ticket: object, secret: bytes, now: float, max_age_s: float = TICKET_MAX_AGE_S) -> str:
    """The annotator name inside a valid, unexpired ticket; otherwise a one-line refusal."""
    again = "log in again (reload the page)"
    if not isinstance(ticket, str) or not ticket or len(ticket) > TICKET_LIMIT or ticket.count(".") != 1:
        raise UserError(f"no valid log-in ticket; {again}")
    body, mac = ticket.split(".")
    try:
        good = hmac.compare_digest(mac.encode("ascii"), _mac(secret, body).encode("ascii"))
    except (UnicodeEncodeError, ValueError):
        good = False
    if not good:
        raise UserError(f"this log-in ticket was not issued by this server; {again}")
    claims = json.loads(_unb64(body).decode("utf-8"))  # signed by us, so well formed
    if not 0 <= now - float(claims["t"]) <= max_age_s:
        raise UserError(f"this log-in has expired; {again}")
    return str(claims["n"])


def load_secret(folder: Path) -> bytes:
    """The deployment's signing secret: $LATENTLAB_LABEL_SECRET (hex or text) if set, so several
    servers on different machines agree; else `<folder>/label-secret`, created once (mode 0600) and
    shared by every server using the same workspace."""
    env = os.environ.get(SECRET_ENV, "").strip()
    if env:
        if len(env) < 16:
            raise UserError(f"{SECRET_ENV} must be at least 16 characters long")
        return env.encode("utf-8")
    path = folder / "label-secret"
    folder.mkdir(parents=True, exist_ok=True)
    if not path.exists():  # first server: write a secret aside, then link it under its name (atomic, no overwrite)
        tmp = folder / f".label-secret.{os.getpid()}.{secrets.token_hex(4)}"
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w") as f:
            f.write(secrets.token_hex(SECRET_BYTES))
            f.flush()
            os.fsync(f.fileno())
        try:
            os.link(tmp, path)
        except FileExistsError:  # another server won the race: use its secret
            pass
        finally:
            tmp.unlink()
    text = path.read_text(encoding="ascii", errors="replace").strip()
    try:
        secret = bytes.fromhex(text)
    except ValueError:
        secret = b""
    if len(secret) != SECRET_BYTES:
        raise UserError(f"{path} is damaged (it should hold {2 * SECRET_BYTES} hex digits); delete it and "
                        "start the servers again")
    return secret
