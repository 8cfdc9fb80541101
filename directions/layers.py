"""Which W+ layers carry an attribute, read from labels through StyleSpace.

For every style channel (an affine output, see `latentlab.generator.stylespace`) the relevance to a
class is the effect size between the faces labeled with it and the rest:
|mean(s | class) − mean(s | other)| / pooled std (Wu et al. 2021 use the same statistic on positives).
A W+ index scores the mean of its `top_k` most relevant channels (over the affines it feeds), and an
edit keeps the indices scoring at least `keep` × the best one. The labels decide; no image is judged.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np


def effect_sizes(s: np.ndarray, positive: np.ndarray) -> np.ndarray:
    """Per-channel |Cohen's d| between rows where `positive` is True and the rest; s [N, C] -> [C]."""
    positive = np.asarray(positive, bool)
    a, b = s[positive], s[~positive]
    if len(a) < 2 or len(b) < 2:
        return np.zeros(s.shape[1])
    pooled = np.sqrt(((len(a) - 1) * a.var(0, ddof=1) + (len(b) - 1) * b.var(0, ddof=1)) / (len(a) + len(b) - 2))
    return np.abs(a.mean(0) - b.mean(0)) / np.where(pooled > 0, pooled, np.inf)


def layer_scores(styles: Sequence[np.ndarray], ws_index: Sequence[int], positive: np.ndarray,
                 num_ws: int, top_k: int = 3) -> np.ndarray:
    """Relevance of each W+ index [num_ws]: the best affine's mean of its top_k channel effect sizes."""
    scores = np.zeros(num_ws)
    for s, idx in zip(styles, ws_index):
        d = np.sort(effect_sizes(np.asarray(s, np.float64), positive))[::-1][:top_k]
        scores[idx] = max(scores[idx], float(d.mean()) if d.size else 0.0)
    return scores


def select_layers(scores: np.ndarray, keep: float = 0.6) -> list[int]:
    """W+ indices scoring at least `keep` × the best score (never empty)."""
    scores = np.asarray(scores, np.float64)
    if not np.any(scores > 0):
        return list(range(len(scores)))
    return [int(i) for i in np.flatnonzero(scores >= keep * scores.max())]
