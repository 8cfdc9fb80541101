"""Calibrated slider units: one unit means the same change of the label for every attribute and method.

The old unit (one standard deviation of the latents' projections) depends on how spread the latents are
along a vector, not on how fast the label changes there: along InterFaceGAN's SVM normal the spread is
2–5× smaller than along the LDA vector, so "2 units" meant different edits. Here one logistic regression
of the crowd label on the whole latent gives the label's log-odds gradient β (log-odds per latent
length, fitted once per attribute or class), and along any unit vector v one unit is the latent length
that raises the fitted log-odds by `LOGIT_PER_UNIT`: LOGIT_PER_UNIT / (β · v). Every method's vector is
measured with the same β, so equal units are equal label changes. (A logistic fit on the projection
alone would not do: variance along v that the label ignores flattens that slope.)
"""

from __future__ import annotations

import numpy as np
from sklearn.linear_model import LogisticRegression

LOGIT_PER_UNIT = 4.0  # one unit takes a face on the boundary (p = 0.5) to p = 0.98 by the labels' model


def label_gradient(latents: np.ndarray, positive: np.ndarray, c: float = 1.0) -> np.ndarray:
    """β [D]: the gradient of the label's fitted log-odds in latent space (L2-regularised logistic fit)."""
    x = np.asarray(latents, np.float64)
    y = np.asarray(positive, bool)
    if y.all() or not y.any():
        raise ValueError("a calibration needs labels of both sides")
    mean, std = x.mean(0), x.std(0)
    std = np.where(std > 0, std, 1.0)
    model = LogisticRegression(C=c, max_iter=2000).fit((x - mean) / std, y)
    return model.coef_[0] / std


def calibrated_scale(vector: np.ndarray, gradient: np.ndarray, logit_per_unit: float = LOGIT_PER_UNIT) -> float:
    """Latent length of one calibrated unit along a unit `vector` [D], given the label gradient β [D].

    NaN when the label does not rise along the vector (β · v <= 0): it cannot be calibrated.
    """
    gain = float(np.dot(np.asarray(vector, np.float64), gradient))
    return logit_per_unit / gain if gain > 0 else float("nan")
