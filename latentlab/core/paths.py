"""Where shipped files live: the package `latentlab.data` (the repository's `data/` folder)."""

from __future__ import annotations

from importlib import resources
from pathlib import Path


def data_path(name: str) -> Path:
    """Path of a shipped data file, e.g. data_path('default_generator.safetensors')."""
    return Path(str(resources.files("latentlab.data"))) / name


DEFAULT_GENERATOR = "default_generator.safetensors"
DEFAULT_ORACLE = "oracle.safetensors"
