"""The interface every latentlab generator satisfies, and helpers that only use that interface.

Anything that draws faces (the shipped default model, a converted rosinality or NVlabs
checkpoint, a TorchScript module) exposes:

* ``z_dim``, ``w_dim``, ``num_ws``, ``resolution``: sizes (ints);
* ``mapping(z, truncation_psi=1.0) -> w``: ``[N, z_dim] -> [N, w_dim]``;
* ``synthesis(ws, noise_mode="const") -> images``: ``w [N, w_dim]`` or W+ ``ws [N, num_ws, w_dim]``
  to float images ``[N, 3, R, R]`` in about [-1, 1]; "const" noise makes it deterministic;
* ``w_avg``: ``[w_dim]`` truncation centre; ``device``;
* ``generator_id``: a stable hash of the weights, recorded by label stores and direction files.

Conditional generators also have ``c_dim`` (number of classes) and ``class_label`` (the class
``mapping`` draws when given none), and their ``mapping`` takes ``c=``.
"""

from __future__ import annotations

from typing import Protocol, runtime_checkable

import numpy as np
import torch

from latentlab.core.errors import UserError
from latentlab.core.progress import progress as show_progress


@runtime_checkable
class LatentGenerator(Protocol):
    z_dim: int
    w_dim: int
    num_ws: int
    resolution: int
    w_avg: torch.Tensor
    device: torch.device
    generator_id: str

    def mapping(self, z: torch.Tensor, truncation_psi: float = 1.0) -> torch.Tensor: ...

    def synthesis(self, ws: torch.Tensor, noise_mode: str = "const") -> torch.Tensor: ...


def select_device(flag: str | None = None) -> torch.device:
    """'cuda', 'cpu', 'cuda:1' or None/'auto' (CUDA when available)."""
    if flag in (None, "", "auto"):
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    try:
        dev = torch.device(flag)
    except RuntimeError:
        raise UserError(f"unknown device {flag!r}; use cpu, cuda or cuda:N") from None
    if dev.type == "cuda" and not torch.cuda.is_available():
        raise UserError("--device cuda was asked for but no CUDA GPU is available; use --device cpu")
    return dev


def sample_z(n: int, seed: int, z_dim: int) -> np.ndarray:
    """Deterministic standard-normal latents [n, z_dim] float32: the same seed gives the same z anywhere."""
    return np.random.default_rng(seed).standard_normal((n, z_dim)).astype(np.float32)


def to_uint8(images: torch.Tensor) -> np.ndarray:
    """[-1, 1] NCHW float -> uint8 NHWC (the NVlabs rounding: x*127.5+128, clamped)."""
    x = (images.detach().float() * 127.5 + 128).clamp(0, 255).to(torch.uint8)
    return x.permute(0, 2, 3, 1).cpu().numpy()


def class_count(gen: LatentGenerator) -> int:
    """How many classes a conditional generator draws (c_dim); 0 for an unconditional one."""
    return int(getattr(gen, "c_dim", 0) or 0)


def drawn_class(gen: LatentGenerator) -> int | None:
    """The class `mapping` draws when given none (a conditional generator's `class_label`), else None."""
    return int(gen.class_label) if class_count(gen) else None


def check_class(gen: LatentGenerator, class_label: int | None, what: str = "class") -> int | None:
    """`class_label` if this generator has that class; None stays None (the generator's own class).
    `what` names the input in the message (e.g. "--class")."""
    if class_label is None:
        return None
    c_dim = class_count(gen)
    if not c_dim:
        raise UserError(f"{what} {class_label} needs a conditional generator; this one has no classes")
    if not 0 <= int(class_label) < c_dim:
        raise UserError(f"{what} {class_label} is outside this generator's classes 0..{c_dim - 1}")
    return int(class_label)


def map_latents(gen: LatentGenerator, z: np.ndarray | torch.Tensor, truncation_psi: float = 1.0,
                batch_size: int = 256, class_label: int | None = None) -> np.ndarray:
    """z [N, z_dim] -> w [N, w_dim] float32 numpy, in batches. `class_label`: a conditional
    generator's class (None: the one it is set to draw)."""
    z = torch.as_tensor(np.asarray(z, dtype=np.float32))
    extra = {"c": check_class(gen, class_label)} if class_label is not None else {}
    out = []
    with torch.inference_mode():
        for i in range(0, len(z), batch_size):
            out.append(gen.mapping(z[i: i + batch_size].to(gen.device), truncation_psi, **extra).float().cpu())
    return torch.cat(out).numpy() if out else np.zeros((0, gen.w_dim), np.float32)


def render(gen: LatentGenerator, ws: np.ndarray | torch.Tensor, batch_size: int = 32,
           noise_mode: str = "const", progress: bool = False) -> np.ndarray:
    """w [N, w_dim] or ws [N, num_ws, w_dim] -> uint8 images [N, R, R, 3], in batches, no gradients."""
    ws = torch.as_tensor(np.asarray(ws, dtype=np.float32)) if not isinstance(ws, torch.Tensor) else ws
    chunks = range(0, len(ws), batch_size)
    if progress:
        chunks = show_progress(chunks, desc="render", unit="batch")
    out = []
    with torch.inference_mode():
        for i in chunks:
            out.append(to_uint8(gen.synthesis(ws[i: i + batch_size].to(gen.device), noise_mode=noise_mode)))
    return np.concatenate(out) if out else np.zeros((0, gen.resolution, gen.resolution, 3), np.uint8)


def image_grid(images: np.ndarray, cols: int | None = None) -> np.ndarray:
    """uint8 [N, H, W, 3] -> one uint8 grid image (rows filled left to right, blanks black)."""
    n, h, w, c = images.shape
    cols = cols or int(np.ceil(np.sqrt(n)))
    rows = int(np.ceil(n / cols))
    grid = np.zeros((rows * h, cols * w, c), np.uint8)
    for i, img in enumerate(images):
        r, k = divmod(i, cols)
        grid[r * h:(r + 1) * h, k * w:(k + 1) * w] = img
    return grid
