"""The latent file every stage exchanges (`latentlab sample`, `invert`, `edit`): one `.npz`.

Arrays: `w` [N, w_dim] (W) and/or `ws` [N, num_ws, w_dim] (W+), optional `z` [N, z_dim]
and `images` uint8 [N, R, R, 3]; `meta` is a JSON string with at least `generator_id`, plus
whatever made the file (seed, truncation_psi, source image, loss...). Loading uses
`allow_pickle=False`, so a latent file can never carry code.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from latentlab.core.errors import UserError

LATENTS_VERSION = 1


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
        if self.generator_id != generator_id:
            raise UserError(f"these latents belong to generator {self.generator_id}, not to the loaded "
                            f"{generator_id}; load the matching generator with --generator")


def save_latents(path: str | Path, latents: Latents) -> Path:
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    meta = {**latents.meta, "generator_id": latents.generator_id, "latents_version": LATENTS_VERSION}
    arrays = {k: v for k in ("w", "ws", "z", "images") if (v := getattr(latents, k)) is not None}
    if "w" not in arrays and "ws" not in arrays:
        raise ValueError("latents need w or ws")
    with open(path, "wb") as f:
        np.savez_compressed(f, meta=np.array(json.dumps(meta)), **arrays)
    return path


def load_latents(path: str | Path) -> Latents:
    path = Path(path)
    if not path.exists():
        raise UserError(f"latent file {path} does not exist")
    try:
        with np.load(path, allow_pickle=False) as data:
            meta = json.loads(str(data["meta"]))
            arrays = {k: data[k].astype(np.float32) if k != "images" else data[k]
                      for k in ("w", "ws", "z", "images") if k in data.files}
    except (ValueError, KeyError, OSError) as e:
        raise UserError(f"{path} is not a latentlab latent file ({e})") from None
    if "generator_id" not in meta or not ({"w", "ws"} & arrays.keys()):
        raise UserError(f"{path} is not a latentlab latent file (no generator_id or no w/ws)")
    return Latents(generator_id=meta["generator_id"], meta=meta, **arrays)
