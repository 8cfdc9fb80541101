"""The geometry that fitted and conditional directions share: class indices, subspaces, slider units.

Units are those of `directions.io`. 0 is the latents' mean projection onto a vector; one unit is
either one standard deviation of those projections ("spread", format 1) or, by default since
format 2, the latent length that raises the label's fitted log-odds by `units.LOGIT_PER_UNIT`
("calibrated", see `directions.units`), which means the same change of the label for every
attribute and every method.
"""

from __future__ import annotations

from typing import Sequence

import numpy as np
import pandas as pd

from directions.units import LOGIT_PER_UNIT, label_gradient

UNITS = ("calibrated", "spread")


def clean_labels(labels: Sequence) -> np.ndarray:
    """Labels as an object array of str, with None for missing (None, NaN, pd.NA, '')."""
    out = np.empty(len(labels), dtype=object)
    for i, v in enumerate(labels):
        out[i] = None if (v is None or (not isinstance(v, str) and pd.isna(v)) or v == "") else str(v)
    return out


def orthonormal_rows(m: np.ndarray) -> np.ndarray:
    """Rows [r, D] -> orthonormal rows spanning the same space (QR), signs kept close to the input."""
    q, r = np.linalg.qr(m.T)
    q = q * np.sign(np.where(np.diag(r) == 0, 1, np.diag(r)))
    return q.T


def class_centroids(latents: np.ndarray, y: np.ndarray, n_classes: int, basis: np.ndarray) -> np.ndarray:
    """Class means of latents [N, D] (class indices y [N]) in the coordinates of basis rows [r, D]: [C, r]."""
    return np.stack([latents[y == c].mean(0) for c in range(n_classes)]) @ basis.T


def towards_vectors(latents: np.ndarray, y: np.ndarray, n_classes: int, basis: np.ndarray) -> np.ndarray:
    """One unit vector per class [C, D], from the mean of all latents to the class mean, inside `basis`."""
    towards = (class_centroids(latents, y, n_classes, basis) - latents.mean(0) @ basis.T) @ basis
    return towards / np.linalg.norm(towards, axis=1, keepdims=True)


def measure_units(vectors: np.ndarray, latents: np.ndarray, y: np.ndarray, n_classes: int
                  ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Slider units of unit vectors [K, D] on latents [N, D] with class indices y [N].

    Returns scales [K] (std of the projections: the latent length of one unit), origins [K]
    (mean projection: the 0 of the slider) and class_positions [K, C] (class means, in units;
    NaN for a class without samples).
    """
    proj = latents @ vectors.T  # [N, K]
    origins = proj.mean(0)
    scales = proj.std(0)
    scales = np.where(scales > 0, scales, 1.0)
    positions = np.full((len(vectors), n_classes), np.nan)
    for c in range(n_classes):
        if np.any(y == c):
            positions[:, c] = (proj[y == c].mean(0) - origins) / scales
    return scales, origins, positions


def _positive_sides(y: np.ndarray, n_classes: int, kind: str, k: int) -> list[np.ndarray]:
    """The label splits whose log-odds vector k should raise: the positive class (binary), every
    "above step j" split (ordinal, averaged), or "is class k" (categorical towards-vectors)."""
    if kind == "binary":
        return [y == 1]
    if kind == "ordinal":
        return [y > j for j in range(n_classes - 1)]
    return [y == k]


def calibrate_units(vectors: np.ndarray, latents: np.ndarray, y: np.ndarray, n_classes: int, kind: str,
                    scales: np.ndarray, positions: np.ndarray) -> tuple[np.ndarray, np.ndarray, list[int]]:
    """Calibrated scales [K] and class positions [K, C] (in calibrated units) for oriented unit vectors.

    Takes the spread units from `measure_units`; a vector along which the labels do not rise keeps its
    spread unit and is listed in the third return value.
    """
    new_scales = np.array(scales, np.float64, copy=True)
    kept = []
    for k, v in enumerate(vectors):
        gains = []
        for positive in _positive_sides(y, n_classes, kind, k):
            if positive.any() and not positive.all():
                gains.append(float(label_gradient(latents, positive) @ v))
        gain = float(np.mean(gains)) if gains else 0.0  # log-odds per latent length along v
        if gain > 0:
            new_scales[k] = LOGIT_PER_UNIT / gain
        else:
            kept.append(k)
    return new_scales, positions * (scales / new_scales)[:, None], kept


def subspace_model(latents: np.ndarray, y: np.ndarray, n_classes: int, basis: np.ndarray
                   ) -> tuple[np.ndarray, np.ndarray]:
    """LDA inside a discriminant subspace: within-class covariance [r, r] of the basis coordinates
    (pooled over classes) and the class shares [C], for paths that stay in two classes."""
    coords = latents @ basis.T
    centred = np.concatenate([coords[y == c] - coords[y == c].mean(0) for c in range(n_classes) if np.any(y == c)])
    cov = centred.T @ centred / max(len(coords) - n_classes, 1)
    priors = np.array([np.mean(y == c) for c in range(n_classes)])
    return np.atleast_2d(cov), priors
