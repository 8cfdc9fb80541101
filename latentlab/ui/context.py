"""What every tab of the app shares: the loaded generator, the workspace, the label store and the schema."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import torch

from latentlab.generator.interface import LatentGenerator

from labeler.schema import Schema

@dataclass
class AppContext:
    """Handed to every tab builder (`build_tab(ctx)`); tabs read it and never replace its members."""

    generator: LatentGenerator
    generator_path: Path | None
    device: torch.device
    workspace: Path
    db_url: str
    schema: Schema
