"""One progress bar for every long loop (rendering, projection, training the metric net, fitting).

Bars go to stderr through tqdm and are off when the `latentlab` logger is quieter than INFO
(`latentlab --quiet`) or when the caller says so, so library code never prints on its own.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from typing import TypeVar

T = TypeVar("T")


def progress_enabled(requested: bool = True) -> bool:
    """True when a bar was asked for and the user did not ask for quiet output."""
    return requested and logging.getLogger("latentlab").getEffectiveLevel() <= logging.INFO


def progress(iterable: Iterable[T] | None = None, *, desc: str, unit: str = "it", total: int | None = None,
             enabled: bool = True):
    """A tqdm bar over `iterable` (or a manual one with `total`), or a silent stand-in when disabled."""
    from tqdm import tqdm

    return tqdm(iterable, desc=desc, unit=unit, total=total, disable=not progress_enabled(enabled))
