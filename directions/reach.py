"""Slider ends calibrated per face: move each face just far enough that the attribute reader reads the target.

Why: one fixed end (the class centroid, or +3 units) is too short for some faces and too long for
others in this entangled W; the first leave the class unreached, the second pick up side effects for
nothing. With the set's attribute reader (`directions.reader`, learned from the crowd's labels),
each face is drawn at `STEPS` points along its way (`MAX_SHARE` x the usual end at most) and stops at
the first point the reader reads the target with probability >= `SURE`. A face the reader never
reads as the target goes the whole way.

On the shipped generator (300 fresh faces, oracle-judged, bench/bench_directions.py) this took onto-class
hair-colour flips from 0.54 to 0.95, mouth from 0.14 to 0.27 and eye colour from 0.13 to 0.18; for binary
and ordinal attributes it stopped short of the +3-unit end and flipped less, so by default only categorical
moves end per face (`REACH_KINDS`).
"""

from __future__ import annotations

from typing import Callable

import numpy as np

from latentlab.core.errors import UserError

from directions.edit import edit
from directions.io import DirectionSet

SURE = 0.7  # the reader's probability of the target that ends the move
MAX_SHARE = 1.6  # the farthest a face goes, as a share of the usual end
STEPS = 17  # points drawn along the way, the start included
# kinds whose class moves end per face by default: measured better for categorical attributes (hair colour
# flips 0.54 -> 0.95); for binary/ordinal ones the stop came earlier than the +3-unit end and flipped less
REACH_KINDS = ("categorical",)

Pictures = Callable[[np.ndarray], np.ndarray]  # codes [K, ...] -> uint8 pictures [K, H, W, 3]


def first_sure(proba: np.ndarray, sure: float = SURE) -> np.ndarray:
    """Index of the first point where the target's probability reaches `sure`, per face; the last
    point where it never does. proba [S, N] -> [N] ints."""
    ok = np.asarray(proba) >= sure
    return np.where(ok.any(0), ok.argmax(0), ok.shape[0] - 1)


def onto_class_shares(w: np.ndarray, direction_set: DirectionSet, name: str, target: str, draw: Pictures,
                      reader, steps: int = STEPS, max_share: float = MAX_SHARE, sure: float = SURE) -> np.ndarray:
    """Per face, the share of the way onto class `target` (1 = the usual end, `edit`'s `target@1`) at which
    the reader first reads it: [N] floats in [0, max_share]."""
    direction, _ = direction_set.find(name)
    if target not in direction.classes:
        raise UserError(f"{direction.attribute} has no class {target!r}; choose one of {', '.join(direction.classes)}")
    if reader is None or direction.attribute not in reader.classes:
        return np.ones(len(w))
    shares = np.linspace(0.0, max_share, steps)
    codes = np.stack([edit(w, direction_set, {name: f"{target}@{s:.6f}"}) for s in shares])  # [S, N, ...]
    proba = reader.predict_proba(draw(codes.reshape(-1, *codes.shape[2:])), direction.attribute)[direction.attribute]
    c = reader.classes[direction.attribute].index(target) if target in reader.classes[direction.attribute] else None
    if c is None:
        return np.ones(len(w))
    return shares[first_sure(proba[:, c].reshape(steps, len(w)), sure)]


def reaches(direction_set: DirectionSet, name: str, kinds: tuple[str, ...] | None = REACH_KINDS) -> bool:
    """Whether class moves along `name` end per face (its attribute's kind is in `kinds`; None = every kind)."""
    return kinds is None or direction_set.find(name)[0].kind in kinds


def edit_onto_classes(w: np.ndarray, direction_set: DirectionSet, amounts: dict, draw: Pictures, reader,
                      layers=None, num_ws: int | None = None, kinds: tuple[str, ...] | None = REACH_KINDS
                      ) -> np.ndarray:
    """`edit`, except that a plain class name ("blonde", not "blonde@0.5") of an attribute of one of `kinds`
    moves each face only as far as the reader needs to read that class (`onto_class_shares`); numbers,
    fractions and other kinds are applied as given."""
    codes = np.asarray(w, np.float32)
    for name, amount in amounts.items():
        if isinstance(amount, str) and "@" not in amount and reader is not None and reaches(direction_set, name, kinds):
            shares = onto_class_shares(codes, direction_set, name, amount, draw, reader)
            codes = np.concatenate([edit(codes[i: i + 1], direction_set, {name: f"{amount}@{s:.6f}"},
                                         layers=layers, num_ws=num_ws) for i, s in enumerate(shares)])
        else:
            codes = edit(codes, direction_set, {name: amount}, layers=layers, num_ws=num_ws)
    return codes
