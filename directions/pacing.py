"""Sweeps paced by how much the picture changes, not by distance in the latent space.

Why: along a straight edit in an entangled W an attribute often switches within a few percent of
the way (hair colour from black to blonde between two frames of sixty), so frames spaced evenly in
units show one jump and many still frames. Here a path is first drawn densely (`DENSE` pictures),
the change between neighbours is measured (mean absolute pixel difference, 0–255 scale), and the
frames are then placed at equal shares of the accumulated change: where the picture changes fast
the frames crowd together, where it does not they spread out. A share `MIX` of even spacing is
mixed in, so a stretch that barely changes still advances and the path reaches its end.

Label-free and oracle-free: only the generator's own pictures decide. The end points and the order
of frames are kept (positions are monotone, 0 stays 0 and 1 stays 1).
"""

from __future__ import annotations

import numpy as np

DENSE = 121  # pictures drawn along the way out, ends included (a 60-frame sweep: 4 per frame)
MIX = 0.15  # share of even spacing mixed into the change-based spacing


def change_shares(images: np.ndarray, mix: float = MIX) -> np.ndarray:
    """Accumulated picture change along a densely drawn path, as a share of the whole.

    images: uint8 or float [M, N, H, W, C] (M positions evenly spaced from 0 to 1, N faces)
    -> shares [M, N], 0 at the first position, 1 at the last, non-decreasing. A face whose
    pictures never change gets even shares."""
    x = np.asarray(images, np.float32)
    m, n = x.shape[:2]
    if m < 2:
        raise ValueError("pacing needs at least 2 pictures along the path")
    step = np.abs(np.diff(x, axis=0)).reshape(m - 1, n, -1).mean(-1)  # [M-1, N]
    cum = np.concatenate([np.zeros((1, n)), np.cumsum(step, axis=0)])
    even = np.linspace(0.0, 1.0, m)[:, None]
    total = cum[-1]
    share = np.where(total > 0, cum / np.where(total > 0, total, 1.0), even)
    return (1.0 - mix) * share + mix * even


def paced_positions(shares: np.ndarray, positions: np.ndarray) -> np.ndarray:
    """Where along the path each frame goes so that frames split the change evenly.

    shares [M, N] from `change_shares` (at M even path positions); positions [F] in [0, 1] (the
    frames' shares of the change, e.g. `loop_positions`) -> path positions [F, N] in [0, 1]."""
    shares = np.asarray(shares, np.float64)
    u = np.linspace(0.0, 1.0, shares.shape[0])
    p = np.clip(np.asarray(positions, np.float64), 0.0, 1.0)
    return np.stack([np.interp(p, shares[:, i], u) for i in range(shares.shape[1])], axis=1)
