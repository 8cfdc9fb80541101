"""Edits on a tuned face: where an edit changes the original generator's drawing, show the original's drawing.

Why: the tuned generator reproduces the picture at its pivot but resists edits (it keeps drawing the
picture's own mouth and eyes: directions flip 0.66 x as often as on generated faces, docs/inversion.md),
while the original generator follows the directions (1.0 x on the same untuned pivots) but draws the
picture only approximately. A `RegionBlend` draws an edited latent with both: pixels the original
generator changes, relative to its drawing of the pivot, by more than `threshold` (fully past
`threshold + ramp`; grown and softened by a few pixels) come from the original generator, the others
from the tuned one. At the pivot nothing passes the threshold, so the reconstruction is the tuned one,
pixel for pixel; a small move changes what the tuned generator changes; a slider's far end shows the
original generator's edit where it acts and the picture everywhere else.

Pure math on image tensors in [-1, 1], [N, 3, R, R]; the tuned generator (`tuning.TunedGenerator`) calls it.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn.functional as F

from latentlab.core.errors import UserError


@dataclass(frozen=True)
class RegionBlend:
    """How an edited tuned face mixes the original generator's drawing in (measured: docs/inversion.md)."""

    threshold: float = 0.3  # a pixel's change (largest over channels, image units in [-1, 1]: 0.3 = 38 grey levels)
    ramp: float = 0.5  # the original's share rises from 0 at `threshold` to 1 at `threshold + ramp`
    grow: float = 1 / 64  # the region grows by this fraction of the image side (1 px at 64 px)
    soften: float = 1 / 64  # and its edge is box-blurred over this fraction of the side each way

    def __post_init__(self) -> None:
        if not (0.0 <= self.threshold < 2.0 and 0.0 < self.ramp <= 2.0):
            raise UserError(f"a region blend needs 0 <= threshold < 2 and 0 < ramp <= 2 (image units), "
                            f"got {self.threshold:g} and {self.ramp:g}")
        if not (0.0 <= self.grow <= 0.25 and 0.0 <= self.soften <= 0.25):
            raise UserError("a region blend grows and softens by at most a quarter of the image side")


def _pixels(fraction: float, resolution: int) -> int:
    return int(round(fraction * resolution))


def change_mask(original: torch.Tensor, reference: torch.Tensor, cfg: RegionBlend) -> torch.Tensor:
    """The original generator's share [N, 1, R, R] in [0, 1] of each pixel of an edited face.

    original: the original generator's drawing of the edited latents [N, 3, R, R]; reference: its
    drawing of the pivot [1, 3, R, R] (or [N, ...]). 0 wherever the change stays under the threshold.
    """
    change = (original - reference).abs().amax(dim=1, keepdim=True)
    share = ((change - cfg.threshold) / cfg.ramp).clamp(0.0, 1.0)
    grow = _pixels(cfg.grow, original.shape[-1])
    if grow > 0:
        share = F.max_pool2d(share, 2 * grow + 1, stride=1, padding=grow)
    soften = _pixels(cfg.soften, original.shape[-1])
    if soften > 0:
        share = F.avg_pool2d(share, 2 * soften + 1, stride=1, padding=soften, count_include_pad=False)
    return share


def blend_edit(tuned: torch.Tensor, original: torch.Tensor, reference: torch.Tensor, cfg: RegionBlend) -> torch.Tensor:
    """An edited tuned face [N, 3, R, R]: the tuned drawing, with the original drawing where the edit acts."""
    share = change_mask(original, reference, cfg)
    return tuned + share * (original - tuned)


__all__ = ["RegionBlend", "blend_edit", "change_mask"]
