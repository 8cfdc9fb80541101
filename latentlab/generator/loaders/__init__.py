"""Loaders for generators trained elsewhere: rosinality `.pt`, NVlabs `.pkl`, TorchScript.

Each module offers a `FORMAT` (name, content test, loader) and imports nothing from
`generator.loading`, which keeps the registry and tries these after latentlab's own safetensors
format. Importing this package registers nothing. Detection looks at file content, never at the
suffix, in the order of `FORMATS`: a TorchScript zip, then a torch.save file (rosinality: a dict
with `g_ema`), then any pickle (NVlabs, read by a restricted unpickler).
"""

from __future__ import annotations

from latentlab.generator.loaders import nvlabs, rosinality, torchscript
from latentlab.generator.loaders.batching import auto_batch_size
from latentlab.generator.loaders.common import GeneratorFormat, SourceInfo

FORMATS: tuple[GeneratorFormat, ...] = (torchscript.FORMAT, rosinality.FORMAT, nvlabs.FORMAT)

__all__ = ["FORMATS", "GeneratorFormat", "SourceInfo", "auto_batch_size"]
