"""The true attributes of a synthetic anime face and how often each value is drawn.

The probabilities are the ground truth every benchmark compares against, so they live here
as data, not scattered through the renderer. Two mild, deliberate correlations exist so that
naive directions are entangled and conditional editing has something to fix:

* hair_length depends on age: P(long | child, teen, adult) = 0.35, 0.50, 0.70;
* glasses depend on age: the accessory distribution of adults puts 0.25 on glasses
  (children 0.05, teens 0.15), taking the mass from "none".
"""

from __future__ import annotations

from dataclasses import dataclass
from itertools import product
from typing import Sequence

import numpy as np

ATTRIBUTES: dict[str, tuple[str, ...]] = {
    "hair_color": ("black", "brown", "blonde", "red", "blue", "pink", "silver", "green"),
    "hair_length": ("short", "long"),
    "eye_color": ("blue", "green", "brown", "red", "purple", "gold"),
    "eye_state": ("open", "half", "closed"),
    "age": ("child", "teen", "adult"),
    "mouth": ("closed", "smile", "open"),
    "blush": ("no", "yes"),
    "accessory": ("none", "ribbon", "hairpin", "glasses"),
}

# Attributes that cannot be seen on every face: eye colour is hidden when the eyes are closed.
# Accuracy and frequency figures for such an attribute count only faces where it is visible.
VISIBLE_WHEN: dict[str, tuple[str, tuple[int, ...]]] = {"eye_color": ("eye_state", (0, 1))}


def visible_mask(name: str, labels: dict[str, np.ndarray]) -> np.ndarray:
    """Boolean mask of the faces on which attribute `name` is visible, given (true or predicted) labels."""
    n = len(next(iter(labels.values())))
    if name not in VISIBLE_WHEN:
        return np.ones(n, bool)
    other, allowed = VISIBLE_WHEN[name]
    return np.isin(labels[other], allowed)


# Marginal (unconditional) probabilities; hair_length and accessory are conditional on age.
P_HAIR_COLOR = (0.14, 0.14, 0.14, 0.12, 0.12, 0.12, 0.11, 0.11)
P_EYE_COLOR = (1 / 6,) * 6
P_EYE_STATE = (0.75, 0.10, 0.15)
P_AGE = (0.30, 0.40, 0.30)
P_MOUTH = (0.40, 0.40, 0.20)
P_BLUSH = (0.70, 0.30)
P_LONG_GIVEN_AGE = (0.35, 0.50, 0.70)
P_ACCESSORY_GIVEN_AGE = (
    (0.60, 0.20, 0.15, 0.05),  # child
    (0.55, 0.15, 0.15, 0.15),  # teen
    (0.45, 0.15, 0.15, 0.25),  # adult
)


@dataclass(frozen=True)
class FaceAttributes:
    """Class indices into ATTRIBUTES, one per attribute."""

    hair_color: int
    hair_length: int
    eye_color: int
    eye_state: int
    age: int
    mouth: int
    blush: int
    accessory: int

    def as_dict(self) -> dict[str, int]:
        return {name: getattr(self, name) for name in ATTRIBUTES}

    def names(self) -> dict[str, str]:
        """The same attributes as readable class names."""
        return {name: ATTRIBUTES[name][idx] for name, idx in self.as_dict().items()}


def sample_attributes(rng: np.random.Generator) -> FaceAttributes:
    """Draw one attribute set with the documented probabilities."""
    age = int(rng.choice(3, p=P_AGE))
    return FaceAttributes(
        hair_color=int(rng.choice(8, p=P_HAIR_COLOR)),
        hair_length=int(rng.random() < P_LONG_GIVEN_AGE[age]),
        eye_color=int(rng.choice(6, p=P_EYE_COLOR)),
        eye_state=int(rng.choice(3, p=P_EYE_STATE)),
        age=age,
        mouth=int(rng.choice(3, p=P_MOUTH)),
        blush=int(rng.choice(2, p=P_BLUSH)),
        accessory=int(rng.choice(4, p=P_ACCESSORY_GIVEN_AGE[age])),
    )


def marginal_probabilities() -> dict[str, np.ndarray]:
    """Exact class frequencies of each attribute under sample_attributes (for TV distances)."""
    return class_frequencies()


def class_frequencies(weights: dict[str, Sequence[float]] | None = None) -> dict[str, np.ndarray]:
    """Exact class frequencies of each attribute when each face of sample_attributes counts in proportion
    to the product of its classes' weights (`weights[attribute][class]`; missing attributes weigh 1).

    Correlated attributes shift together (weighting glasses up also makes adults more common).
    Without weights: the plain marginals."""
    w = {a: np.asarray((weights or {}).get(a, np.ones(len(c))), np.float64) for a, c in ATTRIBUTES.items()}
    # the attributes drawn on their own factorise: each one's weighted marginal, normalised on its own
    alone = {"hair_color": P_HAIR_COLOR, "eye_color": P_EYE_COLOR, "eye_state": P_EYE_STATE,
             "mouth": P_MOUTH, "blush": P_BLUSH}
    freq = {a: np.array(p) * w[a] for a, p in alone.items()}
    for a in ("age", "hair_length", "accessory"):  # the attributes drawn given age: summed over their joint
        freq[a] = np.zeros(len(ATTRIBUTES[a]))
    for age, long_, acc in product(range(3), range(2), range(4)):
        p_long = P_LONG_GIVEN_AGE[age] if long_ else 1 - P_LONG_GIVEN_AGE[age]
        p = P_AGE[age] * p_long * P_ACCESSORY_GIVEN_AGE[age][acc]
        mass = p * w["age"][age] * w["hair_length"][long_] * w["accessory"][acc]
        freq["age"][age] += mass
        freq["hair_length"][long_] += mass
        freq["accessory"][acc] += mass
    return {a: freq[a] / freq[a].sum() for a in ATTRIBUTES}
