"""Where a user's data lives: the workspace folder and the label database inside it.

The one rule every command and the app follow: an explicit path, else $LATENTLAB_WORKSPACE, else
./workspace; the database is $LATENTLAB_DB, else `latentlab.sqlite` in the workspace.
"""

from __future__ import annotations

import os
from pathlib import Path

WORKSPACE_ENV = "LATENTLAB_WORKSPACE"
DB_ENV = "LATENTLAB_DB"
DB_FILE = "latentlab.sqlite"


def workspace_dir(path: str | Path | None = None, *, create: bool = True) -> Path:
    """The user's data folder: `path`, else $LATENTLAB_WORKSPACE, else ./workspace (created unless told not to)."""
    ws = Path(path or os.environ.get(WORKSPACE_ENV) or "workspace").expanduser().resolve()
    if create:
        ws.mkdir(parents=True, exist_ok=True)
    return ws


def default_db_url(workspace: str | Path | None = None) -> str:
    """$LATENTLAB_DB, else the SQLite file `latentlab.sqlite` in the workspace."""
    return os.environ.get(DB_ENV) or f"sqlite:///{workspace_dir(workspace) / DB_FILE}"
