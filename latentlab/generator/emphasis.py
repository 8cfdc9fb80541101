"""A training stream that shows rare, small features more often than the renderer draws them.

Why: the default generator draws blush on 0.08 of its faces where the renderer draws it on 0.30, and
accessories on 0.24 where the renderer has 0.46 (docs/training.md). Both are a few pixels at 64 px, so
the discriminator gains little by noticing their absence and the generator keeps dropping them.
Showing them more often (`--emphasis blush=yes:2`) makes their absence cost more.

How: seeds are taken in order from a cursor; each is kept with probability weight / largest weight,
where a face's weight is the product of the factors of the classes it has (a face with no emphasised
class weighs 1). A seed's attributes are known without drawing it (`seed_attributes`) and its keep
draw comes from its own number, so the stream is the same on every machine and on resume from the
same cursor. With no emphasis every seed is kept (the plain stream).
"""

from __future__ import annotations

import numpy as np

from latentlab.core.errors import UserError
from latentlab.generator.synthetic.attributes import ATTRIBUTES, class_frequencies
from latentlab.generator.synthetic.renderer import seed_attributes

KEEP_STREAM = 0xE3F  # second number of each seed's keep draw (not the renderer's 0x5EED)
MAX_FACTOR = 20.0


def parse_emphasis(specs: list[str]) -> dict[str, float]:
    """['blush=yes:2', 'accessory=ribbon,glasses:1.5'] -> {'blush=yes': 2.0, 'accessory=ribbon': 1.5, ...}.

    One factor per class, > 0 and <= MAX_FACTOR; ['none'] (or []) is no emphasis."""
    out: dict[str, float] = {}
    for spec in specs:
        if spec.strip().lower() == "none":
            continue
        head, sep, factor_text = spec.rpartition(":")
        attr, eq, classes = head.partition("=")
        try:
            factor = float(factor_text)
        except ValueError:
            factor = float("nan")
        if not sep or not eq or not (0 < factor <= MAX_FACTOR):
            raise UserError(f"--emphasis {spec!r}: write ATTRIBUTE=CLASS[,CLASS]:FACTOR with 0 < FACTOR <= "
                            f"{MAX_FACTOR:g}, e.g. blush=yes:2")
        if attr not in ATTRIBUTES:
            raise UserError(f"--emphasis {spec!r}: no attribute {attr!r} (one of {', '.join(ATTRIBUTES)})")
        for name in classes.split(","):
            if name not in ATTRIBUTES[attr]:
                raise UserError(f"--emphasis {spec!r}: {attr} has no class {name!r} "
                                f"(one of {', '.join(ATTRIBUTES[attr])})")
            out[f"{attr}={name}"] = factor
    return out


def largest_weight(emphasis: dict[str, float]) -> float:
    """The largest weight any face can have: per attribute the largest of its factors (or 1), multiplied."""
    best: dict[str, float] = {}
    for key, factor in emphasis.items():
        attr = key.partition("=")[0]
        best[attr] = max(best.get(attr, 1.0), factor)
    return float(np.prod(list(best.values()))) if best else 1.0


def face_weight(seed: int, emphasis: dict[str, float]) -> float:
    """Product of the factors of the classes the seed's face has (1 with no emphasised class)."""
    names = seed_attributes(seed).names()
    return float(np.prod([emphasis.get(f"{a}={c}", 1.0) for a, c in names.items()]))


def emphasised_seeds(cursor: int, n: int, emphasis: dict[str, float]) -> tuple[list[int], int]:
    """The next n kept seeds from `cursor` on, and the cursor after the last one examined."""
    if not emphasis:
        return list(range(cursor, cursor + n)), cursor + n
    top = largest_weight(emphasis)
    seeds: list[int] = []
    while len(seeds) < n:
        keep = np.random.default_rng([cursor, KEEP_STREAM]).random() < face_weight(cursor, emphasis) / top
        if keep:
            seeds.append(cursor)
        cursor += 1
    return seeds, cursor


def emphasised_frequencies(emphasis: dict[str, float]) -> dict[str, np.ndarray]:
    """Exact class frequencies of the emphasised stream (what the generator is shown), per attribute."""
    return class_frequencies({a: [emphasis.get(f"{a}={c}", 1.0) for c in classes]
                              for a, classes in ATTRIBUTES.items()})
