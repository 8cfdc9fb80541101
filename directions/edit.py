"""Apply a direction set to latents: `edit(w, dset, {"age": +2, "hair_color": "blonde"})`.

Amounts:
* a number moves along a binary/ordinal/custom direction, or along a categorical "towards"
  vector named "<attr>:<class>", by that many units (one unit = one standard deviation of the
  fit latents' projections onto the vector; see directions.io);
* a class name ("blonde", or "blonde@0.5" for half-way) moves each face onto that class: for a
  categorical attribute its coordinates inside the discriminant subspace become the class
  centroid's, on a route where the fitted model reads only the face's own class and the target
  (format 2 files; `directions.paths`); for a binary/ordinal one its position along the vector
  becomes the class mean's.

Edits work on W codes [N, D] and on W+ codes [N, num_ws, D]; `layers` restricts a W+ edit to some
layers (coarse layers change shape, fine ones colour). The same math applies to Z codes of a
set fitted in Z.
"""

from __future__ import annotations

from typing import Iterable, Mapping

import numpy as np

from latentlab.core.errors import UserError

from directions.io import Direction, DirectionSet
from directions.paths import Whitening, log_posteriors, two_class_point

Amount = float | int | str


def parse_amount(text: str) -> float | str:
    """'+2', '-1.5', '3' -> float; 'blonde', 'blonde@0.5' -> str."""
    text = text.strip()
    try:
        return float(text)
    except ValueError:
        if not text:
            raise UserError("an edit amount is empty; write NAME=+2 or NAME=class") from None
        return text


def parse_assignments(items: Iterable[str]) -> dict[str, float | str]:
    """['age=+2', 'hair_color=blonde'] -> {'age': 2.0, 'hair_color': 'blonde'} (CLI --set)."""
    out = {}
    for item in items:
        name, sep, value = item.partition("=")
        if not sep or not name.strip():
            raise UserError(f"cannot read the edit {item!r}; write NAME=AMOUNT, e.g. age=+2 or hair_color=blonde")
        out[name.strip()] = parse_amount(value)
    return out


def parse_layers(text: str | None, num_ws: int) -> list[int] | None:
    """'4:8' (Python slice: layers 4..7), '3' (one layer), '' or None (all) -> layer indices."""
    if text is None or not str(text).strip():
        return None
    text = str(text).strip()
    try:
        if ":" in text:
            a, _, b = text.partition(":")
            idx = list(range(num_ws))[slice(int(a) if a else None, int(b) if b else None)]
        else:
            idx = [int(text)]
    except ValueError:
        raise UserError(f"cannot read the layer range {text!r}; write START:STOP, e.g. 0:4") from None
    if not idx or any(i < 0 or i >= num_ws for i in idx):
        raise UserError(f"layer range {text!r} selects no valid layer of this generator (0..{num_ws - 1})")
    return idx


def _split_target(value: str) -> tuple[str, float]:
    cls, _, frac = value.partition("@")
    try:
        return cls, (float(frac) if frac else 1.0)
    except ValueError:
        raise UserError(f"cannot read {value!r}; write a class name, or CLASS@FRACTION like blonde@0.5") from None


def offset(direction: Direction, k: int, amount: float) -> np.ndarray:
    """The latent offset [D] of `amount` units along vector k."""
    return float(amount) * direction.scales[k] * direction.vectors[k]


def _move_to_class(codes: np.ndarray, direction: Direction, k: int | None, target: str) -> np.ndarray:
    """Move codes [..., D] onto a class: subspace centroid (categorical) or class position (k)."""
    cls, frac = _split_target(target)
    if cls not in direction.classes:
        raise UserError(f"{direction.attribute} has no class {cls!r}; choose one of {', '.join(direction.classes)}")
    c = direction.classes.index(cls)
    if direction.kind == "categorical" and k is None:
        b = direction.basis  # [r, D]
        coords = codes @ b.T  # [..., r]
        if direction.within_cov is None:  # format 1: straight to the centroid
            return codes + frac * ((direction.class_centroids[c] - coords) @ b)
        return codes + (_two_class_coords(coords, direction, c, frac) - coords) @ b
    if direction.kind == "custom":
        raise UserError(f"{direction.name} is a custom direction without classes; give a number of units")
    k = k or 0
    v = direction.vectors[k]
    goal = direction.origins[k] + direction.class_positions[k, c] * direction.scales[k]  # raw projection
    if np.isnan(goal):
        raise UserError(f"{direction.name} has no labeled faces of class {cls!r} to move towards")
    return codes + frac * (goal - codes @ v)[..., None] * v


def _two_class_coords(coords: np.ndarray, direction: Direction, target: int, frac: float) -> np.ndarray:
    """Subspace coordinates [..., r] moved `frac` of the way onto class `target` by the file's LDA model,
    on a route where no third class wins (see `directions.paths`)."""
    white = Whitening.from_covariance(direction.within_cov)
    means = white.forward(direction.class_centroids)
    log_priors = np.log(np.clip(direction.class_priors, 1e-6, None))
    z = white.forward(coords.reshape(-1, coords.shape[-1]))
    source = log_posteriors(z, means, log_priors).argmax(1)
    moved = two_class_point(z, source, target, means, log_priors, frac)
    return white.inverse(moved).reshape(coords.shape)


def edit(w: np.ndarray, direction_set: DirectionSet, amounts: Mapping[str, Amount],
         layers: Iterable[int] | slice | None = None, num_ws: int | None = None) -> np.ndarray:
    """Edited copy of w [N, D] or W+ ws [N, num_ws, D] (float32).

    `layers` (W+ only) restricts the edit to those layer indices; giving it for W codes [N, D]
    needs `num_ws`, and the result is then W+. Amounts are applied in order.
    """
    codes = np.array(w, dtype=np.float64, copy=True)
    if codes.ndim == 1:
        codes = codes[None]
    dim = direction_set.dim
    if codes.shape[-1] != dim:
        raise UserError(f"latents have {codes.shape[-1]} dimensions but the direction set's "
                        f"{direction_set.space} space has {dim}; use a set fitted for this generator")
    if layers is not None:
        if codes.ndim == 2:
            if num_ws is None:
                raise ValueError("editing some layers of W codes needs num_ws to make W+ codes")
            codes = np.repeat(codes[:, None, :], num_ws, axis=1)
        idx = np.arange(codes.shape[1])[layers] if isinstance(layers, slice) else np.asarray(list(layers), int)
        if idx.size == 0 or idx.min() < 0 or idx.max() >= codes.shape[1]:
            raise UserError(f"layer selection {list(idx)} is outside 0..{codes.shape[1] - 1}")
        part = codes[:, idx, :]
        codes[:, idx, :] = _apply(part, direction_set, amounts)
    else:
        codes = _apply(codes, direction_set, amounts)
    return codes.astype(np.float32)


def _apply(codes: np.ndarray, direction_set: DirectionSet, amounts: Mapping[str, Amount]) -> np.ndarray:
    for name, amount in amounts.items():
        direction, k = direction_set.find(name)
        if isinstance(amount, str):
            codes = _move_to_class(codes, direction, k, amount)
        elif k is None:
            raise UserError(f"{name} is categorical: give a class ({name}={direction.classes[0]}) or move along "
                            f"one class's vector ({direction.names[0]}=+2)")
        else:
            codes = codes + offset(direction, k, float(amount))
    return codes


def position(w: np.ndarray, direction_set: DirectionSet, name: str) -> np.ndarray:
    """Where codes [..., D] sit along a binary/ordinal/custom direction, in units (0 = mean face)."""
    direction, k = direction_set.find(name)
    if k is None:
        raise UserError(f"{name} is categorical; ask for one class's vector, e.g. {direction.names[0]}")
    return (np.asarray(w, np.float64) @ direction.vectors[k] - direction.origins[k]) / direction.scales[k]
