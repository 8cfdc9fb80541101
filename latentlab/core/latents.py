"""The latent file every stage exchanges (`latentlab sample`, `invert`, `edit`): one `.npz`.

Arrays: `w` [N, w_dim] (W) and/or `ws` [N, num_ws, w_dim] (W+), optional `z` [N, z_dim]
and `images` uint8 [N, R, R, 3]; `meta` is a JSON string with at least `generator_id`, plus
whatever made the file (seed, truncation_psi, source image, loss...). It is written and read
through `latentlab.core.artifacts` (atomic writes, `allow_pickle=False`: a latent file can never
carry code); files written before the format was named (meta with `latents_version`) still load.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from latentlab.core.artifacts import check_generator_id, load_npz, save_npz
from latentlab.core.errors import UserError

FORMAT = "latentlab-latents"
LATENTS_VERSION = 1
ARRAYS = ("w", "ws", "z", "images")


@dataclass
class Latents:
    generator_id: str
    w: np.ndarray | None = None
    ws: np.ndarray | None = None
    z: np.ndarray | None = None
    images: np.ndarray | None = None
    meta: dict = field(default_factory=dict)

    def as_ws(self, num_ws: int) -> np.ndarray:
        """W+ codes [N, num_ws, w_dim], broadcasting W codes if that is all there is."""
        if self.ws is not None:
            return self.ws
        if self.w is None:
            raise UserError("latent file holds neither w nor ws")
        return np.repeat(self.w[:, None, :], num_ws, axis=1)

    def check_generator(self, generator_id: str) -> None:
        """Refuse to draw these latents with another generator than the one they belong to."""
        check_generator_id(self.generator_id, generator_id, "these latents", made="belong to",
                           remedy="load the generator they were made with")


def save_latents(path: str | Path, latents: Latents) -> Path:
    """Write a latent file atomically (compressed: it may carry images)."""
    arrays = {k: v for k in ARRAYS if (v := getattr(latents, k)) is not None}
    if "w" not in arrays and "ws" not in arrays:
        raise ValueError("latents need w or ws")
    meta = {**latents.meta, "generator_id": latents.generator_id}
    return save_npz(path, arrays, meta, fmt=FORMAT, version=LATENTS_VERSION, compress=True)


def load_latents(path: str | Path) -> Latents:
    arrays, meta = load_npz(path, fmt=FORMAT, version=LATENTS_VERSION, what="latent file", legacy=True)
    if "generator_id" not in meta or not ({"w", "ws"} & arrays.keys()):
        raise UserError(f"{path} is not a latentlab latent file (no generator_id or no w/ws)")
    arrays = {k: arrays[k] if k == "images" else arrays[k].astype(np.float32) for k in ARRAYS if k in arrays}
    return Latents(generator_id=meta["generator_id"], meta=meta, **arrays)
