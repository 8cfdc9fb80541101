"""The geometry that fitted and conditional directions share: class indices, subspaces, slider units.

Units are those of `directions.io`: one unit along a vector is one standard deviation of the
latents' projections onto it, and 0 is their mean projection.
"""

from __future__ import annotations

from typing import Sequence

import numpy as np
import pandas as pd


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
