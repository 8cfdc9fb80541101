"""Directions from labels: scikit-learn's LinearDiscriminantAnalysis on latents, one attribute at a time.

`DirectionFitter(kind=..., classes=...).fit(latents, labels)` is a scikit-learn estimator: declared
parameters in the constructor, no work there, learned state ending with `_`, `fit` returns self, so
`clone` and `GridSearchCV` (over `shrinkage`, say) work on it.

* binary: the LDA normal Σ⁻¹(μ₊ − μ₋) as a unit vector oriented from classes[0] to classes[1];
* ordinal: the first discriminant, oriented so the class means increase with the option order;
* categorical: the discriminant subspace (orthonormalised) and one "towards <class>" vector per
  class (from the mean of all faces to the class centroid inside the subspace).

Latents have ~100s of dimensions and ~1000 labels, so the within-class covariance is shrunk
(Ledoit–Wolf, `shrinkage="auto"`). Units are those of `directions.io`: one unit is one standard
deviation of the fit latents' projections onto the vector, 0 is their mean.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass, field
from numbers import Integral, Real
from typing import Callable, Sequence

import numpy as np
import pandas as pd
from sklearn.base import BaseEstimator, ClassifierMixin
from sklearn.discriminant_analysis import LinearDiscriminantAnalysis
from sklearn.exceptions import ConvergenceWarning
from sklearn.metrics import accuracy_score
from sklearn.model_selection import StratifiedKFold, cross_val_score, cross_validate
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler
from sklearn.svm import LinearSVC
from sklearn.utils._param_validation import Interval, StrOptions
from sklearn.utils.validation import check_is_fitted
from threadpoolctl import threadpool_limits

from latentlab.core.errors import UserError

from directions.conditional import conditional_direction
from directions.geometry import (UNITS, calibrate_units, class_centroids, clean_labels, measure_units, orthonormal_rows,
                                 towards_vectors)
from directions.io import Direction, DirectionSet, schema_to_dict

FIT_KINDS = ("binary", "ordinal", "categorical")


class TooFewLabels(UserError):
    """An attribute whose classes do not have enough labels to fit and cross-validate."""


@dataclass
class AttributeSpec:
    """What the fitter needs to know about an attribute (a labeler schema Attribute fits too)."""

    name: str
    kind: str
    options: list[str]


class DirectionFitter(ClassifierMixin, BaseEstimator):
    """Fit one attribute's direction(s) from latents [N, D] and labels [N] (option names; None = unlabeled).

    A scikit-learn classifier: `clone`, `get_params`/`set_params` and `GridSearchCV` (e.g. over
    `shrinkage`) work on it; `predict` gives the LDA's class names and `score` its accuracy on the
    labeled rows.

    Parameters: kind ("binary" | "ordinal" | "categorical"); classes (ordered option names; binary:
    [negative, positive]; default: sorted labels); attribute (the name of the entry and its vectors);
    shrinkage (LDA shrinkage: "auto" = Ledoit–Wolf, a float in [0, 1], or None); cv (folds for the
    cross-validated accuracy); min_per_class (fewer labels in any class refuses the fit with
    `TooFewLabels`); compare_svm (also fit a linear SVM, InterFaceGAN's method, and report its CV
    accuracy and, for binary, its cosine to the LDA vector); svm_c; random_state (of the CV folds);
    blas_threads (BLAS threads while fitting; None leaves them alone); units ("calibrated": one unit
    raises the label's fitted log-odds by a fixed amount, the same for every attribute and method;
    "spread": one standard deviation of the projections, format 1's unit).

    Learned: classes_, n_features_in_, label_counts_, n_labels_, vectors_ [K, D], names_, scales_,
    origins_, class_positions_ [K, C], basis_ [r, D] (the discriminant subspace, orthonormal rows),
    class_centroids_ [C, r], cv_accuracy_, cv_accuracy_std_, cv_balanced_accuracy_ (mean per-class
    recall; chance = 1 / n_classes), baseline_accuracy_ (always guessing the largest class),
    monotonic_ (ordinal), svm_cv_accuracy_, svm_vector_ (binary), svm_cosine_ (binary), lda_.
    """

    _parameter_constraints: dict = {
        "kind": [StrOptions(set(FIT_KINDS))],
        "classes": ["array-like", None],
        "attribute": [str],
        "shrinkage": [StrOptions({"auto"}), Interval(Real, 0, 1, closed="both"), None],
        "cv": [Interval(Integral, 2, None, closed="left")],
        "min_per_class": [Interval(Integral, 2, None, closed="left")],
        "compare_svm": ["boolean"],
        "svm_c": [Interval(Real, 0, None, closed="neither")],
        "random_state": ["random_state"],
        "blas_threads": [Interval(Integral, 1, None, closed="left"), None],
        "units": [StrOptions(set(UNITS))],
    }

    def __init__(self, kind: str = "binary", classes: Sequence[str] | None = None, attribute: str = "attribute",
                 shrinkage: float | str | None = "auto", cv: int = 5, min_per_class: int = 10,
                 compare_svm: bool = True, svm_c: float = 0.1, random_state: int | None = 0,
                 blas_threads: int | None = 1, units: str = "calibrated"):
        self.kind = kind
        self.classes = classes
        self.attribute = attribute
        self.shrinkage = shrinkage
        self.cv = cv
        self.min_per_class = min_per_class
        self.compare_svm = compare_svm
        self.svm_c = svm_c
        self.random_state = random_state
        self.blas_threads = blas_threads
        self.units = units

    # -- fitting -----------------------------------------------------------------------------
    def _labeled(self, latents, labels) -> tuple[np.ndarray, np.ndarray]:
        """The labeled rows: latents [n, D] (float64) and their labels (str), unlabeled rows dropped."""
        x = np.asarray(latents, np.float64)
        labels = clean_labels(list(labels))
        if x.ndim != 2 or len(x) != len(labels):
            raise ValueError(f"latents must be [N, D] with one label per row; got {x.shape} and {len(labels)} labels")
        keep = np.array([v is not None for v in labels], bool)
        return x[keep], labels[keep]

    def _classes_of(self, labels: np.ndarray) -> list[str]:
        classes = list(self.classes) if self.classes is not None else sorted(set(labels))
        unknown = sorted(set(labels) - set(classes))
        if unknown:
            raise UserError(f"{self.attribute}: labels {unknown} are not options of this attribute ({classes})")
        if self.kind == "binary" and len(classes) != 2:
            raise UserError(f"{self.attribute}: a binary attribute needs exactly 2 options, got {classes}")
        if len(classes) < 2:
            raise UserError(f"{self.attribute}: need at least 2 classes to find a direction, got {classes}")
        return classes

    def _make_lda(self) -> LinearDiscriminantAnalysis:
        if self.shrinkage is None:
            return LinearDiscriminantAnalysis(solver="svd", store_covariance=True)
        return LinearDiscriminantAnalysis(solver="eigen", shrinkage=self.shrinkage)

    def fit(self, latents: np.ndarray, labels: Sequence) -> "DirectionFitter":
        """Learn the direction(s) of latents [N, D] labeled with option names [N]; returns self."""
        self._validate_params()
        x, labels = self._labeled(latents, labels)
        classes = self._classes_of(labels)
        y = np.array([classes.index(v) for v in labels], int)
        counts = {c: int(np.sum(y == i)) for i, c in enumerate(classes)}
        short = {c: n for c, n in counts.items() if n < self.min_per_class}
        if short:
            listed = ", ".join(f"'{c}' has {n}" for c, n in short.items())
            raise TooFewLabels(f"{self.attribute}: too few labels to fit ({listed}; need at least "
                               f"{self.min_per_class} per class); label more faces or lower the minimum of "
                               "labels per class")
        self.classes_, self.label_counts_, self.n_labels_ = classes, counts, int(len(y))
        self.n_features_in_ = x.shape[1]
        # the matrices are small (D x D, D ~ 100s): several BLAS threads only fight each other and
        # any other process (measured: 1 thread is 10x faster than 2 on a busy 2-core machine)
        with threadpool_limits(limits=self.blas_threads, user_api="blas"):
            self._fit_directions(x, y)
            self._cross_validate(x, y)
        return self

    def _fit_directions(self, x: np.ndarray, y: np.ndarray) -> None:
        n_classes = len(self.classes_)
        lda = self._make_lda().fit(x, y)
        self.lda_ = lda
        if self.kind == "binary":
            v = lda.coef_[0] / np.linalg.norm(lda.coef_[0])  # positive side = class 1
            vectors, names = v[None], [self.attribute]
            basis = vectors
        else:
            if self.kind == "ordinal":  # the first discriminant: the most separating axis
                vectors, names = orthonormal_rows(lda.scalings_[:, :1].T), [self.attribute]
                basis = vectors
            else:  # the span of the LDA's class normals Σ⁻¹μ_c: its decisions depend on these coordinates only
                basis = orthonormal_rows(lda.coef_[1:] - lda.coef_[:1])  # [C - 1, D]
                vectors = towards_vectors(x, y, n_classes, basis)
                names = [f"{self.attribute}:{c}" for c in self.classes_]
        scales, origins, positions = measure_units(vectors, x, y, n_classes)
        if self.kind in ("binary", "ordinal"):
            # orient negative -> positive / up the option order (slope of class positions vs index)
            idx = np.arange(n_classes) - (n_classes - 1) / 2
            if np.nansum(idx * positions[0]) < 0:
                vectors, origins, positions = -vectors, -origins, -positions
            basis = vectors.copy()
        self.spread_units_fallback_ = []
        if self.units == "calibrated":
            scales, positions, self.spread_units_fallback_ = calibrate_units(vectors, x, y, n_classes, self.kind,
                                                                            scales, positions)
        self.monotonic_ = bool(np.all(np.diff(positions[0]) > 0)) if self.kind != "categorical" else None
        self.vectors_, self.names_, self.basis_ = vectors, names, basis
        self.scales_, self.origins_, self.class_positions_ = scales, origins, positions
        self.class_centroids_ = class_centroids(x, y, n_classes, basis)
        # the LDA's own (shrunk) covariance and priors, seen in the subspace: the same model as lda_
        self.within_cov_, self.class_priors_ = basis @ lda.covariance_ @ basis.T, lda.priors_

    def _cross_validate(self, x: np.ndarray, y: np.ndarray) -> None:
        folds = StratifiedKFold(n_splits=min(self.cv, min(self.label_counts_.values())), shuffle=True,
                                random_state=self.random_state)
        scores = cross_validate(self._make_lda(), x, y, cv=folds, scoring=("accuracy", "balanced_accuracy"))
        self.cv_accuracy_ = float(scores["test_accuracy"].mean())
        self.cv_accuracy_std_ = float(scores["test_accuracy"].std())
        self.cv_balanced_accuracy_ = float(scores["test_balanced_accuracy"].mean())  # chance: 1 / n_classes
        self.baseline_accuracy_ = max(self.label_counts_.values()) / self.n_labels_
        self.svm_cv_accuracy_ = self.svm_cosine_ = self.svm_vector_ = None
        if not self.compare_svm:
            return
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", ConvergenceWarning)
            svm = make_pipeline(StandardScaler(), LinearSVC(C=self.svm_c, max_iter=5000))
            self.svm_cv_accuracy_ = float(cross_val_score(svm, x, y, cv=folds).mean())
            if self.kind == "binary":
                svm.fit(x, y)
                scaler, lin = svm[0], svm[-1]
                normal = lin.coef_[0] / scaler.scale_  # back to raw latent coordinates
                self.svm_vector_ = normal / np.linalg.norm(normal)
                self.svm_cosine_ = float(self.svm_vector_ @ self.vectors_[0])

    # -- as a classifier ---------------------------------------------------------------------
    def predict(self, latents: np.ndarray) -> np.ndarray:
        """The LDA's class name [N] for each of latents [N, D]."""
        check_is_fitted(self, "lda_")
        with threadpool_limits(limits=self.blas_threads, user_api="blas"):
            idx = self.lda_.predict(np.asarray(latents, np.float64))
        return np.asarray(self.classes_, dtype=object)[idx]

    def score(self, latents: np.ndarray, labels: Sequence, sample_weight=None) -> float:
        """Accuracy of `predict` on the labeled rows (unlabeled rows are left out)."""
        check_is_fitted(self, "lda_")
        labels = clean_labels(list(labels))
        keep = np.array([v is not None for v in labels], bool)
        weight = None if sample_weight is None else np.asarray(sample_weight)[keep]
        return float(accuracy_score(labels[keep], self.predict(np.asarray(latents)[keep]), sample_weight=weight))

    # -- results -----------------------------------------------------------------------------
    def metrics(self) -> dict:
        check_is_fitted(self, "cv_accuracy_")
        return {
            "n_labels": self.n_labels_, "label_counts": self.label_counts_,
            "class_balance": {c: round(n / self.n_labels_, 4) for c, n in self.label_counts_.items()},
            "cv_accuracy": self.cv_accuracy_, "cv_accuracy_std": self.cv_accuracy_std_,
            "cv_balanced_accuracy": self.cv_balanced_accuracy_,
            "baseline_accuracy": self.baseline_accuracy_, "svm_cv_accuracy": self.svm_cv_accuracy_,
            "svm_cosine": self.svm_cosine_, "monotonic": self.monotonic_,
            "shrinkage": self.shrinkage, "cv_folds": self.cv, "method": "lda", "units": self.units,
            "spread_units_fallback": [self.names_[k] for k in self.spread_units_fallback_],
        }

    def to_direction(self, name: str | None = None) -> Direction:
        """The fitted state as a direction-set entry."""
        check_is_fitted(self, "cv_accuracy_")
        return Direction(
            name=name or self.attribute, attribute=self.attribute, kind=self.kind, classes=list(self.classes_),
            names=list(self.names_), vectors=self.vectors_, scales=self.scales_, origins=self.origins_,
            class_positions=self.class_positions_,
            basis=self.basis_ if self.kind == "categorical" else None,
            class_centroids=self.class_centroids_ if self.kind == "categorical" else None,
            within_cov=self.within_cov_ if self.kind == "categorical" else None,
            class_priors=self.class_priors_ if self.kind == "categorical" else None,
            metrics=self.metrics())


@dataclass
class FitResult:
    direction_set: DirectionSet
    refused: dict[str, str] = field(default_factory=dict)  # attribute -> reason

    def table(self) -> pd.DataFrame:
        rows = self.direction_set.summary()
        rows += [{"name": a, "kind": "refused", "class_positions": why} for a, why in self.refused.items()]
        return pd.DataFrame(rows)


def fit_direction_set(latents: np.ndarray, labels: pd.DataFrame, attributes: Sequence, *, generator_id: str,
                      space: str = "w", conditions: dict[str, Sequence[str]] | None = None, schema=None,
                      source: dict | None = None, progress: bool = False,
                      on_attribute: Callable[[str, int, int], None] | None = None,
                      images: np.ndarray | None = None, **fitter_kwargs) -> FitResult:
    """Fit every attribute (objects with name, kind, options) that has enough labels.

    `images` (uint8 [N, R, R, 3], the labeled faces in the latents' order) adds each entry's region:
    where in the picture its attribute shows (directions.regions), so edits can be drawn there only.

    `conditions` maps an attribute to the attributes it must not change: each adds an entry
    "<attr>|<other>+<other>" whose vectors are orthogonal to those attributes' directions
    (see directions.conditional). Attributes with too few labels are listed in `refused`.
    `on_attribute(name, index, total)` is called before each attribute is fitted (index from 1,
    total = number of attributes), e.g. to show progress; an exception it raises (a cancelled fit)
    stops the fit there and propagates.
    """
    dset = DirectionSet(generator_id=generator_id, space=space, dim=int(np.asarray(latents).shape[1]),
                        schema=schema_to_dict(schema), source=dict(source or {}))
    refused: dict[str, str] = {}
    todo = list(attributes)
    total = len(todo)
    if progress:
        from tqdm import tqdm
        todo = tqdm(todo, desc="fit", unit="attribute")
    for index, attr in enumerate(todo, start=1):
        if on_attribute is not None:
            on_attribute(attr.name, index, total)
        if attr.name not in labels.columns:
            refused[attr.name] = "no labels column"
            continue
        fitter = DirectionFitter(kind=attr.kind, classes=list(attr.options), attribute=attr.name, **fitter_kwargs)
        try:
            fitter.fit(latents, labels[attr.name].tolist())
        except TooFewLabels as e:
            refused[attr.name] = str(e)
            continue
        dset.add(fitter.to_direction())
    if images is not None:
        _add_regions(dset, images, labels, attributes)
    for name, others in (conditions or {}).items():
        if name not in dset.entries:
            refused[f"{name}|{'+'.join(others)}"] = f"{name} was not fitted"
            continue
        missing = [o for o in others if o not in dset.entries]
        if missing:
            raise UserError(f"cannot condition {name} on {', '.join(missing)}: not fitted in this set")
        attr = next(a for a in attributes if a.name == name)
        cond = conditional_direction(dset.entries[name], [dset.entries[o] for o in others],
                                     latents, labels[attr.name].tolist())
        cond.region = dset.entries[name].region
        dset.add(cond)
    if not dset.entries:
        raise TooFewLabels("no attribute could be fitted: " + "; ".join(refused.values()))
    return FitResult(dset, refused)


def _add_regions(dset: DirectionSet, images: np.ndarray, labels: pd.DataFrame, attributes: Sequence) -> None:
    """Attach each fitted entry's region map, computed on every labeled attribute jointly."""
    from directions.regions import region_maps

    if len(images) != len(labels):
        raise UserError(f"{len(images)} images for {len(labels)} labeled faces: they must be the same faces")
    classes = {a.name: list(a.options) for a in attributes if a.name in labels.columns}
    maps = region_maps(images, {a: labels[a].tolist() for a in classes}, classes)
    for entry in dset.entries.values():
        entry.region = maps.get(entry.attribute)


def fit_run(db_url: str, run_id: int, *, space: str = "w", attributes: Sequence[str] | None = None,
            aggregation: str = "majority", conditions: dict[str, Sequence[str]] | None = None,
            progress: bool = False, on_attribute: Callable[[str, int, int], None] | None = None,
            **fitter_kwargs) -> FitResult:
    """Fit directions on a labeling run's aggregated labels (labeler.dataset.load_run_dataset);
    `on_attribute` as in `fit_direction_set`."""
    from labeler.dataset import load_run_dataset

    data = load_run_dataset(db_url, run_id, aggregation=aggregation)
    chosen = data.schema.attributes
    if attributes:
        known = {a.name for a in chosen}
        unknown = [a for a in attributes if a not in known]
        if unknown:
            raise UserError(f"run {run_id}'s schema has no attribute {', '.join(unknown)}; it has {', '.join(sorted(known))}")
        chosen = [a for a in chosen if a.name in attributes]
    latents = {"w": data.w, "z": data.z}.get(space)
    if latents is None:
        raise UserError(f"latent space must be 'w' or 'z', not {space!r}")
    source = {"run_id": int(data.run_id), "aggregation": aggregation, "seed": int(data.seed),
              "truncation_psi": float(data.truncation_psi), "n_items": int(len(latents))}
    if data.class_label is not None:  # conditional generator: fitted with the class held fixed
        source["class_label"] = int(data.class_label)
    images = _run_images(data)
    source["regions"] = "from the run's faces" if images is not None else \
        "none: some of the run's faces are not on disk (still being drawn, or removed); edits are drawn whole"
    return fit_direction_set(latents, data.labels, chosen, generator_id=data.generator_id, space=space,
                             conditions=conditions, schema=data.schema, source=source, progress=progress,
                             on_attribute=on_attribute, images=images, **fitter_kwargs)


def _run_images(data) -> np.ndarray | None:
    """The run's faces at the region maps' size, or None (no regions) when some are not on disk."""
    from directions.regions import MAP_SIDE

    if not data.image_paths or not all(p.is_file() for p in data.image_paths):
        return None
    try:
        return data.load_images(max_side=MAP_SIDE)
    except (OSError, ValueError):  # a damaged face file: fit without regions rather than not at all
        return None
