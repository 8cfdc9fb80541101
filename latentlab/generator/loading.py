"""Load any supported generator file behind the common interface.

The format registry lives here: latentlab's own safetensors format first, then the formats of
other code bases from `generator.loaders` (TorchScript, rosinality `.pt`, NVlabs `.pkl`), then any
added with `register_format`. A file's format is found from its content, never from its name.
`load_generator(None)` gives the shipped default model.
"""

from __future__ import annotations

from pathlib import Path

import torch

from latentlab.core.paths import DEFAULT_GENERATOR, data_path
from latentlab.generator.interface import LatentGenerator, select_device
from latentlab.generator.loaders import FORMATS as LOADER_FORMATS
from latentlab.generator.loaders.common import GeneratorFormat
from latentlab.generator.native import CheckpointError, is_native, load_native

FORMATS: list[GeneratorFormat] = [GeneratorFormat("latentlab", is_native, load_native), *LOADER_FORMATS]

__all__ = ["FORMATS", "GeneratorFormat", "default_generator_path", "detect_format", "load_generator",
           "register_format"]


def register_format(fmt: GeneratorFormat) -> None:
    """Add a format, tried after the built-in ones (a second one of the same name is ignored)."""
    if fmt.name not in {f.name for f in FORMATS}:
        FORMATS.append(fmt)


def _find_format(path: Path) -> GeneratorFormat | None:
    return next((fmt for fmt in FORMATS if fmt.detect(path)), None)


def detect_format(path: str | Path) -> str | None:
    """Name of the registered format that claims `path` (None when none does)."""
    fmt = _find_format(Path(path))
    return fmt.name if fmt is not None else None


def default_generator_path() -> Path:
    return data_path(DEFAULT_GENERATOR)


def load_generator(path: str | Path | None = None, device: str | torch.device | None = None) -> LatentGenerator:
    """Load a generator file (None = the shipped default) onto `device` (None = CUDA if available)."""
    dev = device if isinstance(device, torch.device) else select_device(device)
    path = Path(path) if path is not None else default_generator_path()
    if not path.exists():
        raise CheckpointError(f"generator file {path} does not exist")
    if path.is_dir():
        raise CheckpointError(f"{path} is a folder; pass the checkpoint file itself")
    fmt = _find_format(path)
    if fmt is None:
        known = ", ".join(f.name for f in FORMATS)
        raise CheckpointError(f"{path} is not a generator checkpoint latentlab can read (known formats: {known})")
    return fmt.load(path, dev)
