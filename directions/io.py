"""Direction sets: what `latentlab fit` and the mutation explorer produce, in one self-describing file.

A direction set holds, for one generator and one latent space ("w" or "z"), one `Direction`
entry per attribute (plus conditional variants and hand-picked "custom" directions). The file is
one `.npz`: the large arrays (unit vectors, categorical subspace bases, region maps) as plain arrays and
everything else as a JSON string `meta` (format version, generator id, space, schema, creation
time, and per entry: attribute, kind, classes, slider units, class-mean positions, CV accuracy,
label counts). It is written and read through `latentlab.core.artifacts`: atomically, and with
`allow_pickle=False`, so a direction file can never carry code.

Units (the same in files, `edit`, the CLI and the app): `scales` is the latent length of one unit
along each vector and 0 is the fit latents' mean projection (`origins`); `class_positions` are the
class means in those units. Format 2 (`metrics["units"] == "calibrated"`, the default): one unit
raises the label's fitted log-odds by 4 (`directions.units.LOGIT_PER_UNIT`), the same label change for
every attribute and method, so "age = +1" moves a face on the teen/adult boundary to about 98 % adult
by the labels' own model (the image follows more slowly: see docs/directions.md).
Format 1 files (and `units="spread"`): one unit is one standard deviation of the projections; they
load unchanged.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path

import numpy as np

from latentlab.core.artifacts import check_generator_id, damaged, load_npz, save_npz
from latentlab.core.errors import UserError

FORMAT = "latentlab-directions"
FORMAT_VERSION = 2  # 2: calibrated units (metrics['units']); 1 still loads
KINDS = ("binary", "ordinal", "categorical", "custom")
SPACES = ("w", "z")


@dataclass
class Direction:
    """One entry of a set: an attribute's direction(s) in latent space, with their units.

    * binary / ordinal: one unit vector (`names == [name]`), oriented from options[0] towards
      options[-1] (negative -> positive, or up the order).
    * categorical: one unit vector per class, "towards <class>" (`names == [f"{name}:{c}" ...]`),
      plus the discriminant subspace `basis` [r, D] and the class centroids in it, so that an edit
      can move a face onto a class.
    * custom: one unit vector without classes (a direction picked in the mutation explorer).
    """

    name: str
    attribute: str
    kind: str
    classes: list[str]
    names: list[str]
    vectors: np.ndarray  # [K, D] unit rows
    scales: np.ndarray  # [K] latent length of one unit (std of the projections)
    origins: np.ndarray  # [K] mean raw projection: the 0 of the slider
    class_positions: np.ndarray  # [K, C] class means along each vector, in units (C may be 0)
    basis: np.ndarray | None = None  # [r, D] orthonormal rows (categorical only)
    class_centroids: np.ndarray | None = None  # [C, r] class means in basis coordinates (raw)
    within_cov: np.ndarray | None = None  # [r, r] within-class covariance in basis coordinates (format 2)
    class_priors: np.ndarray | None = None  # [C] label shares (format 2): with within_cov, LDA in the subspace
    region: np.ndarray | None = None  # [s, s] where the attribute shows in the picture (directions.regions)
    metrics: dict = field(default_factory=dict)  # cv_accuracy, label_counts, svm_..., conditioned_on

    def __post_init__(self) -> None:
        self.vectors = np.atleast_2d(np.asarray(self.vectors, np.float64))
        self.scales = np.asarray(self.scales, np.float64).reshape(-1)
        self.origins = np.asarray(self.origins, np.float64).reshape(-1)
        k = len(self.vectors)
        self.class_positions = np.asarray(self.class_positions, np.float64).reshape(k, -1)
        if self.kind not in KINDS:
            raise ValueError(f"unknown direction kind {self.kind!r}; expected one of {KINDS}")
        if not (len(self.names) == len(self.scales) == len(self.origins) == k):
            raise ValueError(f"direction {self.name}: names, scales, origins and vectors disagree in length")
        if self.basis is not None:
            self.basis = np.atleast_2d(np.asarray(self.basis, np.float64))
            self.class_centroids = np.asarray(self.class_centroids, np.float64).reshape(len(self.classes), -1)
        if self.within_cov is not None:
            r = len(self.basis)
            self.within_cov = np.asarray(self.within_cov, np.float64).reshape(r, r)
            self.class_priors = np.asarray(self.class_priors, np.float64).reshape(len(self.classes))
        if self.region is not None:
            self.region = np.asarray(self.region, np.float32)
            if self.region.ndim != 2 or self.region.shape[0] != self.region.shape[1] or not self.region.size \
                    or not np.all(np.isfinite(self.region)):
                raise ValueError(f"direction {self.name}: a region map is a finite square array, "
                                 f"not shape {self.region.shape}")

    @property
    def dim(self) -> int:
        return self.vectors.shape[1]

    def position_of(self, cls: str, k: int = 0) -> float:
        """A class's mean position along vector k, in units."""
        if cls not in self.classes:
            raise UserError(f"{self.attribute} has no class {cls!r}; choose one of {', '.join(self.classes)}")
        return float(self.class_positions[k, self.classes.index(cls)])

    def to_meta(self) -> dict:
        def clean(x):  # JSON has no NaN
            return [None if (isinstance(v, float) and math.isnan(v)) else v for v in x]

        return {
            "name": self.name, "attribute": self.attribute, "kind": self.kind, "classes": list(self.classes),
            "names": list(self.names), "scales": self.scales.tolist(), "origins": self.origins.tolist(),
            "class_positions": [clean(row) for row in self.class_positions.tolist()],
            "class_centroids": None if self.class_centroids is None else self.class_centroids.tolist(),
            "within_cov": None if self.within_cov is None else self.within_cov.tolist(),
            "class_priors": None if self.class_priors is None else self.class_priors.tolist(),
            "metrics": self.metrics,
        }


def _now() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="seconds")


@dataclass
class DirectionSet:
    """Directions for one generator and one latent space; entries keyed by name."""

    generator_id: str
    space: str = "w"
    dim: int | None = None
    entries: dict[str, Direction] = field(default_factory=dict)
    schema: dict | None = None  # {"name": ..., "attributes": [{"name", "kind", "options"}]}
    source: dict = field(default_factory=dict)  # run_id, aggregation, seed, truncation_psi, ...
    created: str = field(default_factory=_now)

    def __post_init__(self) -> None:
        if self.space not in SPACES:
            raise ValueError(f"latent space must be one of {SPACES}, not {self.space!r}")

    def add(self, direction: Direction) -> None:
        """Add or replace an entry; all entries share the set's dimension."""
        if self.dim is None:
            self.dim = direction.dim
        if direction.dim != self.dim:
            raise UserError(f"direction {direction.name} has {direction.dim} dimensions but this set's "
                            f"{self.space} space has {self.dim}")
        self.entries[direction.name] = direction

    def names(self) -> list[str]:
        """Every name `edit` accepts: entry names plus the per-class vectors of categorical entries."""
        out = []
        for d in self.entries.values():
            out.append(d.name)
            if d.kind == "categorical":
                out.extend(d.names)
        return out

    def find(self, name: str) -> tuple[Direction, int | None]:
        """(entry, vector index) for a name; index None for a categorical entry addressed as a whole."""
        if name in self.entries:
            d = self.entries[name]
            return d, (None if d.kind == "categorical" else 0)
        for d in self.entries.values():
            if name in d.names:
                return d, d.names.index(name)
        raise UserError(f"direction set has no direction {name!r}; it has: {', '.join(self.names()) or 'none'}")

    def check_generator(self, generator_id: str, where: str = "this direction set") -> None:
        """Refuse to apply these directions to another generator than the one they were fitted for."""
        check_generator_id(self.generator_id, generator_id, where, made="was fitted for",
                           remedy="load the generator it was fitted for, or fit the directions again on a run "
                                  "of this generator")

    def summary(self) -> list[dict]:
        """One row per entry, for tables in the CLI and the app (`summary_row`)."""
        return [summary_row(d) for d in self.entries.values()]


AT_BASELINE = "⚠ at or below the baseline"


def summary_row(d: Direction) -> dict:
    """An entry's row in the fit tables of the CLI and the app.

    Accuracies are cross-validated; `baseline` is always guessing the largest class, and
    `at_baseline` flags a fit no better than that (the note says so). A conditional entry
    ("age|hair_length") has no CV of its own: it shows the plain direction's CV accuracy
    (`plain_cv_accuracy`) and the cosine of each of its vectors to the plain one (`cosine_to_plain`,
    1 = conditioning changed nothing).
    """
    m = d.metrics
    if d.kind in ("binary", "ordinal"):
        pos = ", ".join(f"{c} {p:+.2f}" for c, p in zip(d.classes, d.class_positions[0]))
    elif d.kind == "categorical":
        pos = f"{len(d.classes)} classes, subspace of {len(d.basis)}"
    else:
        pos = ""
    cv, base = m.get("cv_accuracy"), m.get("baseline_accuracy")
    at_baseline = cv is not None and base is not None and cv <= base + 1e-9
    conditioned_on = list(m.get("conditioned_on") or [])
    notes = []
    if at_baseline:
        notes.append(f"{AT_BASELINE} (always guessing the largest class)")
    if conditioned_on:
        notes.append(f"orthogonal to {', '.join(conditioned_on)}; no CV of its own")
    return {
        "name": d.name, "kind": d.kind, "labels": m.get("n_labels"),
        "cv_accuracy": cv, "baseline": base,
        "cv_minus_baseline": cv - base if cv is not None and base is not None else None,
        "balanced_accuracy": m.get("cv_balanced_accuracy"),
        "svm_cv_accuracy": m.get("svm_cv_accuracy"), "svm_cosine": m.get("svm_cosine"),
        "plain_cv_accuracy": m.get("plain_cv_accuracy") if conditioned_on else None,
        "cosine_to_plain": (", ".join(f"{c:.3f}" for c in m.get("cosine_to_plain") or [])
                            if conditioned_on else None),
        "class_positions": pos, "conditioned_on": ",".join(conditioned_on),
        "at_baseline": at_baseline, "notes": "; ".join(notes),
    }


def save_direction_set(path: str | Path, dset: DirectionSet) -> Path:
    """Write a set atomically (temporary file, then rename): a crash never leaves half a file."""
    path = Path(path)
    if path.suffix != ".npz":
        raise UserError(f"direction sets are .npz files; got {path}")
    entries, arrays = [], {}
    for i, d in enumerate(dset.entries.values()):
        entries.append(d.to_meta())
        arrays[f"e{i}_vectors"] = d.vectors.astype(np.float32)
        if d.basis is not None:
            arrays[f"e{i}_basis"] = d.basis.astype(np.float32)
        if d.region is not None:
            arrays[f"e{i}_region"] = d.region.astype(np.float32)
    meta = {"generator_id": dset.generator_id, "space": dset.space, "dim": dset.dim, "created": dset.created,
            "schema": dset.schema, "source": dset.source, "entries": entries}
    return save_npz(path, arrays, meta, fmt=FORMAT, version=FORMAT_VERSION)


def load_direction_set(path: str | Path, generator_id: str | None = None) -> DirectionSet:
    """Read a set; with `generator_id`, refuse a set fitted for another generator."""
    arrays, meta = load_npz(path, fmt=FORMAT, version=FORMAT_VERSION, what="direction set",
                            missing="fit one on a labeling run first")
    try:
        dset = DirectionSet(generator_id=meta["generator_id"], space=meta["space"], dim=meta.get("dim"),
                            schema=meta.get("schema"), source=meta.get("source") or {},
                            created=meta.get("created", ""))
    except (KeyError, ValueError) as e:
        raise damaged(path, "direction set", e) from None
    if generator_id is not None:
        dset.check_generator(generator_id, where=f"direction set {path}")
    try:
        for i, e in enumerate(meta["entries"]):
            cp = np.array([[np.nan if v is None else v for v in row] for row in e["class_positions"]], np.float64)
            dset.add(Direction(
                name=e["name"], attribute=e["attribute"], kind=e["kind"], classes=e["classes"], names=e["names"],
                vectors=arrays[f"e{i}_vectors"], scales=e["scales"], origins=e["origins"],
                class_positions=cp.reshape(len(e["names"]), -1),
                basis=arrays.get(f"e{i}_basis"), class_centroids=e.get("class_centroids"),
                within_cov=e.get("within_cov"), class_priors=e.get("class_priors"),
                region=arrays.get(f"e{i}_region"), metrics=e.get("metrics") or {}))
    except (KeyError, ValueError, TypeError) as e:
        raise damaged(path, "direction set", e) from None
    return dset


def list_direction_sets(folder: str | Path) -> list[Path]:
    """Direction set files in a folder (the workspace's `directions/`), newest first."""
    folder = Path(folder)
    if not folder.is_dir():
        return []
    return sorted(folder.glob("*.npz"), key=lambda p: p.stat().st_mtime, reverse=True)


def schema_to_dict(schema) -> dict | None:
    """A labeler Schema (or anything with .name and .attributes of name/kind/options) as plain JSON."""
    if schema is None:
        return None
    if isinstance(schema, dict):
        return schema
    return {"name": getattr(schema, "name", ""),
            "attributes": [{"name": a.name, "kind": a.kind, "options": list(a.options)} for a in schema.attributes]}
