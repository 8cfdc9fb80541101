"""Categorical paths that stay in two classes: source -> target without passing through a third.

Moving a face straight onto the target's centroid can cross a third class on the way (hair going
through red, pink and silver on its way to blonde). Inside the fitted model's discriminant subspace,
whitened by the within-class covariance so that LDA's class regions are the Voronoi cells of the
class means, the path here first slides the face onto the line through the source and target means
while it advances along that line, so that on the way only the source and target compete. Every
frame is checked against the model; where a third class would still win, the frame is pulled onto
the line. All coordinates are whitened discriminant coordinates (`Whitening`).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass
class Whitening:
    """Maps discriminant coordinates x [.., r] to whitened z = (x - 0) @ inv(L).T where S = L L^T."""

    chol: np.ndarray  # [r, r] lower Cholesky factor of the within-class covariance

    @classmethod
    def from_covariance(cls, cov: np.ndarray) -> "Whitening":
        cov = np.asarray(cov, np.float64)
        return cls(np.linalg.cholesky(cov + 1e-9 * np.trace(cov) / len(cov) * np.eye(len(cov))))

    def forward(self, x: np.ndarray) -> np.ndarray:
        return np.linalg.solve(self.chol, np.asarray(x, np.float64).T).T

    def inverse(self, z: np.ndarray) -> np.ndarray:
        return np.asarray(z, np.float64) @ self.chol.T


def log_posteriors(z: np.ndarray, means: np.ndarray, log_priors: np.ndarray) -> np.ndarray:
    """LDA log class posteriors [N, C] of whitened points z [N, r] (means [C, r] whitened)."""
    logits = z @ means.T - 0.5 * np.sum(means ** 2, axis=1) + log_priors
    return logits - np.logaddexp.reduce(logits, axis=1, keepdims=True)


def two_class_path(z0: np.ndarray, source: int, target: int, means: np.ndarray, log_priors: np.ndarray,
                   n_frames: int, depth: float = 0.0) -> np.ndarray:
    """Whitened points [n_frames, r] from z0 to the target mean (+ `depth` along the source->target line).

    Frame k at t = k / (n_frames - 1): advance t of the way along the line while the part of the offset
    that is orthogonal to the line shrinks twice as fast (gone by half-way), then the same check as
    above pulls any frame that a third class would win onto the line itself.
    """
    z0 = np.asarray(z0, np.float64)
    line = means[target] - means[source]
    unit = line / np.linalg.norm(line)
    end = means[target] + depth * unit
    along0 = float((z0 - means[source]) @ unit)
    ortho = (z0 - means[source]) - along0 * unit
    t = np.linspace(0.0, 1.0, n_frames)[:, None]
    along = (1 - t) * along0 + t * float((end - means[source]) @ unit)
    keep = np.clip(1 - 2 * t, 0.0, 1.0)
    path = means[source] + along * unit + keep * ortho
    winners = log_posteriors(path, means, log_priors).argmax(1)
    third = (winners != source) & (winners != target)
    path[third] = means[source] + along[third] * unit  # on the line only the two classes compete
    return path


def third_class_share(path: np.ndarray, source: int, target: int, means: np.ndarray,
                      log_priors: np.ndarray) -> float:
    """Share of a path's frames that the model reads as neither source nor target."""
    winners = log_posteriors(path, means, log_priors).argmax(1)
    return float(np.mean((winners != source) & (winners != target)))
