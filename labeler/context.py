"""What every tab of the app shares: the loaded generator, the workspace, the label store and the schema."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

import torch

from generator.interface import LatentGenerator

from .schema import Schema

WORKSPACE_ENV = "LATENTLAB_WORKSPACE"
DB_ENV = "LATENTLAB_DB"
DB_FILE = "latentlab.sqlite"


def workspace_dir(path: str | Path | None = None) -> Path:
    """The user's data folder: `path`, else $LATENTLAB_WORKSPACE, else ./workspace (created)."""
    ws = Path(path or os.environ.get(WORKSPACE_ENV) or "workspace").expanduser().resolve()
    ws.mkdir(parents=True, exist_ok=True)
    return ws


def default_db_url(workspace: str | Path | None = None) -> str:
    """$LATENTLAB_DB, else the SQLite file `latentlab.sqlite` in the workspace."""
    return os.environ.get(DB_ENV) or f"sqlite:///{workspace_dir(workspace) / DB_FILE}"


@dataclass
class AppContext:
    """Handed to every tab builder (`build_tab(ctx)`); tabs read it and never replace its members."""

    generator: LatentGenerator
    generator_path: Path | None
    device: torch.device
    workspace: Path
    db_url: str
    schema: Schema
