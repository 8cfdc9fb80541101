"""Conditional directions (InterFaceGAN-style): remove from a direction what other attributes use.

Moving along "age" also changes hair length when the two are correlated in the labels. Projecting
the age vector onto the orthogonal complement of the hair-length direction (and, for a
categorical attribute, of its whole discriminant subspace) gives a direction that leaves the
other attributes' projections unchanged: n' = n − Q Qᵀ n, with Q an orthonormal basis of the
others. The units are measured again on the same latents, the same way, so they stay comparable.
"""

from __future__ import annotations

from typing import Sequence

import numpy as np

from latentlab.core.errors import UserError, quoted

from directions.geometry import (calibrate_units, class_centroids, clean_labels, measure_units, orthonormal_rows,
                                 subspace_model, towards_vectors)
from directions.io import Direction


def span_of(direction: Direction) -> np.ndarray:
    """The rows [m, D] an edit along `direction` can move: its subspace (categorical) or its vectors."""
    return direction.basis if direction.basis is not None else direction.vectors


def project_out(vectors: np.ndarray, others: np.ndarray, min_norm: float = 1e-3) -> np.ndarray:
    """Unit rows of `vectors` [K, D] (or one [D]) made orthogonal to every row of `others` [M, D].

    Raises UserError when a vector (almost) lies inside the others' span: nothing would be left.
    """
    single = np.ndim(vectors) == 1
    v = np.atleast_2d(np.asarray(vectors, np.float64))
    q = orthonormal_rows(np.atleast_2d(np.asarray(others, np.float64)))  # [M, D]
    rest = v - (v @ q.T) @ q
    norms = np.linalg.norm(rest, axis=1, keepdims=True)
    if np.any(norms < min_norm * np.linalg.norm(v, axis=1, keepdims=True)):
        raise UserError("this direction lies (almost) inside the span of the attributes it should leave alone; "
                        "condition on fewer attributes")
    out = rest / norms
    return out[0] if single else out


def conditional_direction(direction: Direction, others: Sequence[Direction], latents: np.ndarray,
                          labels: Sequence) -> Direction:
    """A new entry "<name>|<other>+<other>": `direction` orthogonal to the others, units re-measured.

    `latents` [N, D] and `labels` [N] (option names of direction's attribute, None = unlabeled) are
    the data the plain direction was fitted on; they give the new vectors' units and class positions.
    """
    if direction.kind == "custom":
        raise UserError("conditioning needs a fitted attribute direction, not a custom one")
    against = np.concatenate([span_of(o) for o in others])
    x = np.asarray(latents, np.float64)
    labels = clean_labels(list(labels))
    keep = np.array([v is not None and v in direction.classes for v in labels], bool)
    x = x[keep]
    y = np.array([direction.classes.index(v) for v in labels[keep]], int)
    n_classes = len(direction.classes)
    basis = centroids = within_cov = priors = None
    if direction.kind == "categorical":
        basis = orthonormal_rows(project_out(direction.basis, against))
        centroids = class_centroids(x, y, n_classes, basis)
        within_cov, priors = subspace_model(x, y, n_classes, basis)
        vectors = towards_vectors(x, y, n_classes, basis)
    else:
        vectors = project_out(direction.vectors, against)
    scales, origins, positions = measure_units(vectors, x, y, n_classes)
    if direction.metrics.get("units") == "calibrated":  # the same units as the plain direction
        scales, positions, _ = calibrate_units(vectors, x, y, n_classes, direction.kind, scales, positions)
    names = [o.name for o in others]
    cos = np.sum(vectors * direction.vectors, axis=1)
    metrics = {**direction.metrics, "conditioned_on": names, "cosine_to_plain": cos.round(4).tolist(),
               "cv_accuracy": None, "cv_balanced_accuracy": None, "svm_cv_accuracy": None, "svm_cosine": None,
               "plain_cv_accuracy": direction.metrics.get("cv_accuracy")}
    if direction.kind != "categorical":
        metrics["monotonic"] = bool(np.all(np.diff(positions[0]) > 0))
    suffix = "|" + "+".join(names)
    return Direction(name=direction.name + suffix, attribute=direction.attribute, kind=direction.kind,
                     classes=list(direction.classes),
                     names=[n + suffix for n in direction.names], vectors=vectors, scales=scales,
                     origins=origins, class_positions=positions, basis=basis, class_centroids=centroids,
                     within_cov=within_cov, class_priors=priors, metrics=metrics)


def parse_conditions(items: Sequence[str] | str | None) -> dict[str, list[str]]:
    """Which attributes each conditional entry must leave alone, from "ATTR: OTHER, OTHER" items.

    `items` is a list (the CLI's repeated --condition) or one text with items separated by ";" or
    new lines (the app): 'age: hair_length, accessory; blush: age' ->
    {'age': ['hair_length', 'accessory'], 'blush': ['age']}.
    """
    if isinstance(items, str):
        items = items.replace("\n", ";").split(";")
    out = {}
    for item in items or []:
        if not item.strip():
            continue
        name, sep, others = item.partition(":")
        names = [o.strip() for o in others.split(",") if o.strip()]
        if not sep or not name.strip() or not names:
            raise UserError(f"cannot read the condition {quoted(item.strip())}; write ATTR: OTHER, OTHER, e.g. age: hair_length")
        out[name.strip()] = names
    return out
