"""Edits on a tuned face: where an edit changes the original generator's drawing and the tuned one does
not follow, show the original's drawing.

Why: the tuned generator reproduces the picture at its pivot but resists edits (it keeps drawing the
picture's own mouth and eyes: directions flip 0.66 x as often as on generated faces, docs/inversion.md),
while the original generator follows the directions (1.0 x on the same untuned pivots) but draws the
picture only approximately. A `RegionBlend` draws an edited latent with both: where the original
generator's drawing changes (relative to its drawing of the pivot) by more than the tuned generator's
does (relative to the reconstruction), by more than `threshold` (fully past `threshold + ramp`; grown
and softened by a few pixels), the original's drawing shows; elsewhere the tuned one's, including where
the tuned generator follows the edit by itself in the picture's own style. At the pivot nothing changes,
so the reconstruction is the tuned one, pixel for pixel.

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

    # how much more a pixel changes in the original's drawing than in the tuned one's (largest channel each,
    # image units in [-1, 1]: 0.2 = 26 grey levels) before the original's drawing starts to show; 0.3 before
    # the generalising oracle read small mouths (docs/inversion.md, *Details weighed*)
    threshold: float = 0.2
    ramp: float = 0.3  # the original's share rises from 0 at `threshold` to 1 at `threshold + ramp`
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


def _change(drawn: torch.Tensor, reference: torch.Tensor) -> torch.Tensor:
    return (drawn - reference).abs().amax(dim=1, keepdim=True)


def change_mask(original: torch.Tensor, reference: torch.Tensor, cfg: RegionBlend,
                tuned: torch.Tensor | None = None, tuned_reference: torch.Tensor | None = None) -> torch.Tensor:
    """The original generator's share [N, 1, R, R] in [0, 1] of each pixel of an edited face.

    original: the original generator's drawing of the edited latents [N, 3, R, R]; reference: its
    drawing of the pivot [1, 3, R, R] (or [N, ...]); tuned, tuned_reference: the same by the tuned
    generator (None: as if it did not change). 0 wherever the original's change exceeds the tuned
    one's by less than the threshold.
    """
    change = _change(original, reference)
    if tuned is not None:
        change = change - _change(tuned, tuned_reference)
    share = ((change - cfg.threshold) / cfg.ramp).clamp(0.0, 1.0)
    grow = _pixels(cfg.grow, original.shape[-1])
    if grow > 0:
        share = F.max_pool2d(share, 2 * grow + 1, stride=1, padding=grow)
    soften = _pixels(cfg.soften, original.shape[-1])
    if soften > 0:
        share = F.avg_pool2d(share, 2 * soften + 1, stride=1, padding=soften, count_include_pad=False)
    return share


def blend_edit(tuned: torch.Tensor, tuned_reference: torch.Tensor, original: torch.Tensor, reference: torch.Tensor,
               cfg: RegionBlend) -> torch.Tensor:
    """An edited tuned face [N, 3, R, R]: the tuned drawing, with the original drawing where the edit acts
    and the tuned generator does not follow. *_reference: each generator's drawing of the pivot [1, 3, R, R]."""
    share = change_mask(original, reference, cfg, tuned, tuned_reference)
    return tuned + share * (original - tuned)


__all__ = ["RegionBlend", "blend_edit", "change_mask"]
