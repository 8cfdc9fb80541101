"""What every tab of the app shares: the loaded generator, the workspace, the label store and the schema."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from latentlab.generator.interface import LatentGenerator, class_count, drawn_class, map_latents, sample_z

from labeler.schema import Schema

MAX_FACES = 16  # faces one seeded request may draw


@dataclass
class AppContext:
    """Handed to every tab builder; tabs read it and never replace its members."""

    generator: LatentGenerator
    generator_path: Path | None
    device: torch.device
    workspace: Path
    db_url: str
    schema: Schema

    @property
    def directions_dir(self) -> Path:
        """Where `latentlab fit`, the Fit tab and the explorer keep direction sets."""
        return Path(self.workspace) / "directions"

    def exports_dir(self, *sub: str) -> Path:
        """`<workspace>/exports[/sub...]`, created on first use (the app serves it for downloads)."""
        path = Path(self.workspace, "exports", *sub)
        path.mkdir(parents=True, exist_ok=True)
        return path

    @property
    def classes(self) -> int:
        """A conditional generator's number of classes (the tabs' class pickers show then); 0 otherwise."""
        return class_count(self.generator)

    @property
    def start_class(self) -> int | None:
        """The class a conditional generator was started with (`serve --class`): the pickers' first value."""
        return drawn_class(self.generator)

    def faces(self, seed: int, n: int, psi: float, class_label: int | None = None) -> tuple[np.ndarray, np.ndarray]:
        """(z [n, z_dim], w [n, w_dim]) of n faces drawn with `seed` (and a conditional generator's
        `class_label`; None = the class it was started with): the faces of `latentlab sample --seed [--class]`."""
        n = max(1, min(int(n), MAX_FACES))
        z = sample_z(n, int(seed), self.generator.z_dim)
        return z, map_latents(self.generator, z, float(psi), class_label=class_label)
