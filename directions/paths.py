"""Categorical paths that stay in two classes: source -> target without passing through a third.

Moving a face straight onto the target's centroid can cross a third class on the way (hair going
through red, pink and silver on its way to blonde). Inside the fitted model's discriminant subspace,
whitened by the within-class covariance so that LDA's class regions are the Voronoi cells of the
class means, the path here first slides the face onto the line through the source and target means
while it advances along that line, so that on the way mostly the source and target compete. Every
frame is checked against the model; where a third class would still win, the frame steps sideways,
away from that class, which leaves the source/target odds unchanged. All coordinates are whitened discriminant coordinates (`Whitening`); `directions.edit`
uses this for every "onto a class" move of a categorical attribute whose file has the model.
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


def two_class_point(z0: np.ndarray, source: np.ndarray, target: int, means: np.ndarray, log_priors: np.ndarray,
                    t: float, depth: float = 0.0) -> np.ndarray:
    """Where faces z0 [N, r] (read as classes `source` [N]) stand at fraction t of their way to `target`.

    Each advances t of the way along the line through its source and the target mean (to the target
    mean, plus `depth` along that line) while the part of its offset orthogonal to the line shrinks
    twice as fast (gone by half-way); a point that a third class would still win steps sideways, away
    from it (`_step_aside`). Faces already read as the target move straight to its mean.
    """
    z0 = np.atleast_2d(np.asarray(z0, np.float64))
    source = np.broadcast_to(np.asarray(source, int), (len(z0),))
    out = z0 + t * (means[target] - z0)  # faces already in the target class
    for s in np.unique(source[source != target]):
        rows = source == s
        line = means[target] - means[s]
        unit = line / np.linalg.norm(line)
        end = means[target] + depth * unit
        along0 = (z0[rows] - means[s]) @ unit  # [n]
        ortho = (z0[rows] - means[s]) - along0[:, None] * unit
        along = (1 - t) * along0 + t * float((end - means[s]) @ unit)
        point = means[s] + along[:, None] * unit + max(1 - 2 * t, 0.0) * ortho
        out[rows] = _step_aside(point, s, target, means, log_priors, unit)
    return out


def _step_aside(points: np.ndarray, source: int, target: int, means: np.ndarray, log_priors: np.ndarray,
                unit: np.ndarray, margin: float = 0.1) -> np.ndarray:
    """Move points that a third class k wins sideways (orthogonal to the source->target line), away from k,
    just far enough for k to lose. Sideways moves leave the source/target odds as they are, so progress
    along the line is kept; only a class whose mean lies on the line itself cannot be avoided."""
    points = points.copy()
    for _ in range(len(means)):
        logits = points @ means.T - 0.5 * np.sum(means ** 2, axis=1) + log_priors
        winners = logits.argmax(1)
        third = np.flatnonzero((winners != source) & (winners != target))
        if third.size == 0:
            break
        k = winners[third]
        g = means[k] - means[source]  # gradient of k's logit over the source's [n, r]
        side = g - (g @ unit)[:, None] * unit
        norm2 = np.sum(side ** 2, axis=1)
        excess = logits[third, k] - np.maximum(logits[third, source], logits[third, target]) + margin
        movable = norm2 > 1e-12
        points[third[movable]] -= (excess[movable] / norm2[movable])[:, None] * side[movable]
    return points


def two_class_path(z0: np.ndarray, source: int, target: int, means: np.ndarray, log_priors: np.ndarray,
                   n_frames: int, depth: float = 0.0) -> np.ndarray:
    """Whitened points [n_frames, r] from one face z0 [r] to the target (see `two_class_point`)."""
    return np.concatenate([two_class_point(z0, source, target, means, log_priors, t, depth)
                           for t in np.linspace(0.0, 1.0, n_frames)])


def third_class_share(path: np.ndarray, source: int, target: int, means: np.ndarray,
                      log_priors: np.ndarray) -> float:
    """Share of a path's frames that the model reads as neither source nor target."""
    winners = log_posteriors(path, means, log_priors).argmax(1)
    return float(np.mean((winners != source) & (winners != target)))
