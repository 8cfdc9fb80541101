"""Slider ends calibrated per face: move each face just far enough that the attribute reader reads the target.

Why: one fixed end (the class centroid, or +3 units) is too short for some faces and too long for
others in this entangled W; the first leave the class unreached, the second pick up side effects for
nothing. With the set's attribute reader (`directions.reader`, learned from the crowd's labels),
each face is drawn at `STEPS` points along its way (`MAX_SHARE` x the usual end at most) and stops at
the first point the reader reads the target with probability >= `SURE`. A face the reader never
reads as the target goes the whole way.

Categorical targets: the way is `edit`'s route onto the class (`target@share`, up to `MAX_SHARE`).
Binary and ordinal targets ("closed", "adult"): the way is the attribute's vector, away from the classes
the reader sees in the face and towards the target's position, in units up to `MAX_UNITS` (3 x the
numeric sliders' end), stopping where the reader reads the target with probability >= `SURE_NUMERIC`.
A class position is a mean, so moving onto it leaves every face short of the class that starts beyond
it (`eye_state=closed` closed 0 of 20 open-eyed faces); the reader's stop does not.

On the shipped generator (300 fresh faces, oracle-judged, bench/bench_directions.py) this took onto-class
hair-colour flips from 0.54 to 0.95, mouth from 0.14 to 0.27 and eye colour from 0.13 to 0.18. For binary
and ordinal attributes, ending on the class position (the first version) stopped short of the +3-unit
end and flipped less; along the vector up to 9 units, drawn in the attribute's region
(`directions.regions`), hair length flips 0.77, eye state 0.79 and age 0.80 (docs/directions.md).
"""

from __future__ import annotations

from typing import Callable

import numpy as np

from latentlab.core.errors import UserError

from directions.edit import edit
from directions.io import Direction, DirectionSet

SURE = 0.7  # the reader's probability of the target that ends a categorical move
MAX_SHARE = 1.6  # the farthest a face goes onto a categorical class, as a share of the usual end
STEPS = 17  # points drawn along a categorical way, the start included
# ... that ends a binary or ordinal move: in a probe 0.7 flipped less; 0.9 flipped a little more (age 0.96
# against 0.89) but took most faces the whole MAX_UNITS, at more side effects (docs/directions.md)
SURE_NUMERIC = 0.8
MAX_UNITS = 9.0  # the farthest a binary or ordinal move goes, in units (3 x the sliders' +3-unit end)
STEPS_NUMERIC = 19  # points drawn along a binary or ordinal way (every half unit), the start included
REACH_KINDS = ("categorical", "binary", "ordinal")  # kinds whose class moves end per face by default

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


def toward_sign(direction: Direction, k: int, start_proba: np.ndarray, reader_classes: list[str],
                target: str) -> np.ndarray:
    """Per face, +1 or -1: the way along vector k from the position of the classes the reader sees in the
    face (start_proba [N, C'] over reader_classes, the target left out) to the target class's position."""
    pos = np.array([direction.position_of(c, k) if c in direction.classes else np.nan for c in reader_classes])
    t = reader_classes.index(target)
    others = np.array([i != t and np.isfinite(pos[i]) for i in range(len(pos))])
    weight = np.asarray(start_proba, np.float64)[:, others] + 1e-9
    here = (weight * pos[others]).sum(1) / weight.sum(1)
    return np.where(pos[t] >= here, 1.0, -1.0)


def onto_class_units(w: np.ndarray, direction_set: DirectionSet, name: str, target: str, draw: Pictures,
                     reader, steps: int = STEPS_NUMERIC, max_units: float = MAX_UNITS,
                     sure: float = SURE_NUMERIC) -> np.ndarray:
    """Per face, the signed units along a binary or ordinal direction at which the reader first reads class
    `target` (`max_units` its way when it never does; 0 for a face it reads so already): [N] floats."""
    direction, k = direction_set.find(name)
    attribute = direction.attribute
    if target not in direction.classes:
        raise UserError(f"{attribute} has no class {target!r}; choose one of {', '.join(direction.classes)}")
    names = reader.classes.get(attribute, []) if reader is not None else []
    if target not in names or np.isnan(direction.position_of(target, k or 0)):
        return np.full(len(w), np.nan)  # the reader cannot read it: the usual move
    units = np.linspace(0.0, max_units, steps)
    start = reader.predict_proba(draw(np.asarray(w, np.float32)), attribute)[attribute]
    sign = toward_sign(direction, k or 0, start, names, target)
    ways = {s: np.stack([edit(w, direction_set, {name: float(s * u)}) for u in units]) for s in (1.0, -1.0)}
    codes = np.where(sign.reshape(1, -1, *[1] * (np.ndim(w) - 1)) > 0, ways[1.0], ways[-1.0])  # [S, N, ...]
    proba = reader.predict_proba(draw(codes.reshape(-1, *codes.shape[2:])), attribute)[attribute]
    c = names.index(target)
    return sign * units[first_sure(proba[:, c].reshape(steps, len(w)), sure)]


def reaches(direction_set: DirectionSet, name: str, kinds: tuple[str, ...] | None = REACH_KINDS) -> bool:
    """Whether class moves along `name` end per face (its attribute's kind is in `kinds`; None = every kind)."""
    return kinds is None or direction_set.find(name)[0].kind in kinds


def sweep_reach(w: np.ndarray, direction_set: DirectionSet, name: str, end, draw: Pictures, reader,
                kinds: tuple[str, ...] | None = REACH_KINDS) -> dict:
    """Each face's end of a move or sweep onto class `end`, as `directions.animate.sweep_latents` keywords:
    `reach` (shares, categorical) or `reach_units` (binary/ordinal); {} when it ends as usual (a number, a
    fraction, no reader, a kind outside `kinds`, a class the reader cannot read)."""
    if not isinstance(end, str) or "@" in end or reader is None or not reaches(direction_set, name, kinds):
        return {}
    if direction_set.find(name)[0].kind == "categorical":
        return {"reach": onto_class_shares(w, direction_set, name, end, draw, reader)}
    units = onto_class_units(w, direction_set, name, end, draw, reader)
    return {} if np.isnan(units).any() else {"reach_units": units}


def face_amount(end: str, ends: dict, i: int, share: float = 1.0) -> float | str:
    """Face i's `edit` amount at `share` of its way onto class `end`, given `sweep_reach`'s ends ({}: the
    usual way): that share of its units along the vector, or of its share of the route onto the class."""
    if "reach_units" in ends:
        return float(share * ends["reach_units"][i])
    return f"{end}@{share * (ends['reach'][i] if 'reach' in ends else 1.0):.6f}"


def edit_onto_classes(w: np.ndarray, direction_set: DirectionSet, amounts: dict, draw: Pictures, reader,
                      layers=None, num_ws: int | None = None, kinds: tuple[str, ...] | None = REACH_KINDS
                      ) -> np.ndarray:
    """`edit`, except that a plain class name ("blonde", not "blonde@0.5") of an attribute of one of `kinds`
    moves each face only as far as the reader needs to read that class (`onto_class_shares` for categorical
    attributes, `onto_class_units` along the vector for binary and ordinal ones); numbers, fractions and
    other kinds are applied as given."""
    codes = np.asarray(w, np.float32)
    for name, amount in amounts.items():
        ends = sweep_reach(codes, direction_set, name, amount, draw, reader, kinds)
        if not ends:
            codes = edit(codes, direction_set, {name: amount}, layers=layers, num_ws=num_ws)
            continue
        codes = np.concatenate([edit(codes[i: i + 1], direction_set, {name: face_amount(amount, ends, i)},
                                     layers=layers, num_ws=num_ws) for i in range(len(codes))])
    return codes
