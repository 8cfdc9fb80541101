"""Load any supported generator file behind the common interface.

A small registry maps a format detector to a loader. `load_generator(None)` gives the shipped
default model. Formats of other code bases (rosinality `.pt`, NVlabs `.pkl`, TorchScript) are
registered by their own modules with `register_format`.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Callable

import torch

from latentlab.generator.interface import LatentGenerator, select_device
from latentlab.generator.native import CheckpointError, is_native, load_native
from latentlab.core.paths import DEFAULT_GENERATOR, data_path


@dataclass(frozen=True)
class GeneratorFormat:
    name: str
    detect: Callable[[Path], bool]
    load: Callable[[Path, torch.device], LatentGenerator]


FORMATS: list[GeneratorFormat] = [GeneratorFormat("latentlab", is_native, load_native)]


def register_format(fmt: GeneratorFormat) -> None:
    FORMATS.append(fmt)


def _register_optional_formats() -> None:
    """Importing generator.loaders registers the formats of other code bases (once)."""
    try:
        import latentlab.generator.loaders  # noqa: F401
    except ModuleNotFoundError as e:
        if e.name != "latentlab.generator.loaders":
            raise


def default_generator_path() -> Path:
    return data_path(DEFAULT_GENERATOR)


def load_generator(path: str | Path | None = None, device: str | torch.device | None = None) -> LatentGenerator:
    """Load a generator file (None = the shipped default) onto `device` (None = CUDA if available)."""
    _register_optional_formats()
    dev = device if isinstance(device, torch.device) else select_device(device)
    path = Path(path) if path is not None else default_generator_path()
    if not path.exists():
        raise CheckpointError(f"generator file {path} does not exist")
    if path.is_dir():
        raise CheckpointError(f"{path} is a folder; pass the checkpoint file itself")
    for fmt in FORMATS:
        if fmt.detect(path):
            return fmt.load(path, dev)
    known = ", ".join(f.name for f in FORMATS)
    raise CheckpointError(f"{path} is not a generator checkpoint latentlab can read (known formats: {known})")
