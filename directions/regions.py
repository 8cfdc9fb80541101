"""Where in the picture an attribute lives, learned from labeled faces, and edits drawn only there.

A linear move in the generator's W changes more than its attribute (the shipped generator's W is
entangled: a hair-colour move redraws the eyes, docs/directions.md). The labels also say *where*
each attribute shows: per pixel, the share of the colour variance across the labeled faces that the
attribute's classes explain beyond what all the other attributes explain (the partial R² of a
one-hot regression, summed over R, G, B). That map is the attribute's *region*. An edit is then
drawn as the moved face inside the union of the edited attributes' regions and as the untouched face
outside (`lock_to_regions`), so a hair-colour slider cannot change the eyes.

Maps are computed on faces scaled to at most `MAP_SIDE` pixels and stored with the direction (a few
kB); masks are made at the picture's size when drawing. Everything here is numpy on arrays: no
files, no generator.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Mapping, Sequence

import numpy as np

MAP_SIDE = 64  # side of a stored region map, in pixels


@dataclass(frozen=True)
class RegionLock:
    """How a region map becomes a mask (shares of the picture's side for sizes).

    floor: pixels less than this many robust standard deviations (1.4826 x the median absolute
    deviation) above the map's median are background (noise, or a pixel every attribute explains);
    mass: the region holds this share of what lies above the floor;
    soft: the ramp below that cut, as a share of the cut value (0 = a hard edge);
    keep: a separate patch holding less than this share of the region's total is dropped (stray
    correlations: a thin arc of hair read with the eyes);
    grow / blur: the mask is widened, then softened, by these shares of the side (1/64 = one pixel at 64 px).
    Chosen on a probe of the directions benchmark (docs/directions.md, 'Edits drawn in their region').
    """

    floor: float = 1.0
    mass: float = 0.85
    soft: float = 0.5
    keep: float = 0.1
    grow: float = 1 / 64
    blur: float = 1 / 64

    def __post_init__(self) -> None:
        if not 0.0 < self.mass <= 1.0:
            raise ValueError(f"mass must be in (0, 1], not {self.mass}")
        if not 0.0 <= self.soft <= 1.0 or not 0.0 <= self.keep < 1.0 or min(self.floor, self.grow, self.blur) < 0:
            raise ValueError("soft must be in [0, 1], keep in [0, 1) and floor, grow, blur >= 0")


def _box_down(images: np.ndarray, side: int) -> np.ndarray:
    """float64 [N, s, s, 3] in [0, 1]: faces [N, R, R, 3] averaged down to at most `side` pixels."""
    x = np.asarray(images, np.float64) / 255.0
    r = x.shape[1]
    f = max(1, -(-r // side))  # ceil
    if f == 1:
        return x
    s = r // f
    x = x[:, : s * f, : s * f]
    return x.reshape(len(x), s, f, s, f, 3).mean(axis=(2, 4))


def _one_hot(values: Sequence, classes: Sequence[str]) -> np.ndarray:
    """[N, C-1] centred one-hot of a label column (None = unknown: the class shares, so it explains nothing)."""
    col = np.asarray(list(values), dtype=object)
    m = np.stack([np.array([v == c for v in col], np.float64) for c in classes], 1)
    known = m.sum(1) > 0
    if known.any():
        m[~known] = m[known].mean(0)
    m = m[:, 1:]
    return m - m.mean(0)


def region_maps(images: np.ndarray, labels: Mapping[str, Sequence], classes: Mapping[str, Sequence[str]],
                side: int = MAP_SIDE) -> dict[str, np.ndarray]:
    """Per attribute, float32 [s, s]: the share of each pixel's colour variance (summed over RGB, so up
    to 3) that the attribute explains beyond all the others (partial R²), from faces [N, R, R, 3] uint8
    and their labels (`labels[name]`: N class names or None; `classes[name]`: its options)."""
    x = _box_down(images, side)
    n, s = len(x), x.shape[1]
    y = x.reshape(n, -1)
    y = y - y.mean(0)
    total = (y ** 2).sum(0) + 1e-12
    names = [a for a in classes if a in labels]
    blocks = {a: _one_hot(labels[a], list(classes[a])) for a in names}

    def residual(cols: list[np.ndarray]) -> np.ndarray:
        if not cols:
            return (y ** 2).sum(0)
        d = np.concatenate(cols, 1)
        beta, *_ = np.linalg.lstsq(d, y, rcond=None)
        return ((y - d @ beta) ** 2).sum(0)

    full = residual([blocks[a] for a in names])
    out = {}
    for a in names:
        gain = (residual([blocks[b] for b in names if b != a]) - full) / total
        out[a] = np.clip(gain, 0, None).reshape(s, s, 3).sum(-1).astype(np.float32)
    return out


def _box_blur(m: np.ndarray, radius: int) -> np.ndarray:
    if radius <= 0:
        return m
    k = 2 * radius + 1
    p = np.pad(m, radius, mode="edge")
    c = np.cumsum(np.cumsum(np.pad(p, ((1, 0), (1, 0))), 0), 1)
    return (c[k:, k:] - c[:-k, k:] - c[k:, :-k] + c[:-k, :-k]) / (k * k)


def _grow(m: np.ndarray, radius: int) -> np.ndarray:
    if radius <= 0:
        return m
    p = np.pad(m, radius, mode="edge")
    h, w = m.shape
    return np.max([p[i: i + h, j: j + w] for i in range(2 * radius + 1) for j in range(2 * radius + 1)], axis=0)


def _resize(m: np.ndarray, size: int) -> np.ndarray:
    """Bilinear resize of a square map to size x size (pixel centres aligned)."""
    s = m.shape[0]
    if s == size:
        return m
    pos = (np.arange(size) + 0.5) * s / size - 0.5
    i0 = np.clip(np.floor(pos).astype(int), 0, s - 1)
    i1 = np.clip(i0 + 1, 0, s - 1)
    t = np.clip(pos - i0, 0, 1)
    rows = m[i0] * (1 - t)[:, None] + m[i1] * t[:, None]
    return rows[:, i0] * (1 - t)[None] + rows[:, i1] * t[None]


def region_mask(region_map: np.ndarray, size: int, lock: RegionLock = RegionLock()) -> np.ndarray:
    """float32 [size, size] in [0, 1]: where an edit of this attribute is drawn."""
    from scipy import ndimage

    m = _box_blur(np.asarray(region_map, np.float64), 1)
    median = np.median(m)
    spread = 1.4826 * np.median(np.abs(m - median))
    m = np.clip(m - median, 0, None)
    m[m <= lock.floor * spread] = 0.0
    v = np.sort(m.ravel())[::-1]
    if v.sum() <= 0:
        return np.zeros((size, size), np.float32)
    cut = v[min(int(np.searchsorted(np.cumsum(v) / v.sum(), lock.mass)), len(v) - 1)]
    ramp = cut * lock.soft
    mask = np.clip((m - (cut - ramp)) / ramp, 0, 1) if ramp > 0 else (m >= cut).astype(np.float64)
    patches, n = ndimage.label(mask > 0)
    if n > 1:  # drop the stray patches
        share = ndimage.sum(m, patches, index=np.arange(1, n + 1)) / m[mask > 0].sum()
        mask[np.isin(patches, 1 + np.flatnonzero(share < lock.keep))] = 0.0
    mask = _resize(mask, size)
    mask = _grow(mask, int(round(lock.grow * size)))
    mask = _box_blur(mask, int(round(lock.blur * size)))
    return np.clip(mask, 0, 1).astype(np.float32)


def union_mask(masks: Sequence[np.ndarray]) -> np.ndarray:
    """Where any of several edits is drawn (the largest weight per pixel)."""
    return np.max(np.stack(list(masks)), axis=0)


def lock_to_regions(moved: np.ndarray, base: np.ndarray, mask: np.ndarray) -> np.ndarray:
    """uint8 pictures: `moved` [..., H, W, 3] inside `mask` [H, W], `base` (broadcast to moved) outside."""
    m = np.asarray(mask, np.float32)[..., None]
    out = m * np.asarray(moved, np.float32) + (1 - m) * np.asarray(base, np.float32)
    return np.clip(np.round(out), 0, 255).astype(np.uint8)


def set_mask(direction_set, names, size: int, lock: RegionLock | None = RegionLock()) -> np.ndarray | None:
    """float32 [size, size]: where edits along `names` (direction names of `direction_set`, as `edit` takes
    them) are drawn, or None (draw the whole face) when `lock` is None, no name is given, or one of the
    named directions has no region (fitted without faces, or a custom direction)."""
    names = list(names)
    if lock is None or not names:
        return None
    maps = [direction_set.find(name)[0].region for name in names]
    if any(m is None for m in maps):
        return None
    return union_mask([region_mask(m, size, lock) for m in maps])
