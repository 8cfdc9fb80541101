"""Where shipped files live: the `latentlab_data` package (the repository's `data/` folder)."""

from __future__ import annotations

from importlib import resources
from pathlib import Path


def data_path(name: str) -> Path:
    """Path of a shipped data file, e.g. data_path('default_generator.safetensors')."""
    try:
        base = Path(str(resources.files("latentlab_data")))
    except ModuleNotFoundError:
        base = Path(__file__).resolve().parent.parent / "data"
    return base / name


DEFAULT_GENERATOR = "default_generator.safetensors"
DEFAULT_ORACLE = "oracle.safetensors"
