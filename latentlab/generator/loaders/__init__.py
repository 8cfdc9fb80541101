"""Loaders for generators trained elsewhere: rosinality `.pt`, NVlabs `.pkl`, TorchScript.

Importing this package registers the formats with `generator.loading` (load_generator does that
itself). Detection looks at file content, never at the suffix: a TorchScript zip, then a
torch.save file (rosinality: a dict with `g_ema`), then any pickle (NVlabs, read by a restricted
unpickler). latentlab's own safetensors format is registered by `generator.loading` itself.
"""

from __future__ import annotations

from latentlab.generator.loading import FORMATS, register_format
from latentlab.generator.loaders import nvlabs, rosinality, torchscript
from latentlab.generator.loaders.batching import auto_batch_size
from latentlab.generator.loaders.common import SourceInfo, detect_format

__all__ = ["auto_batch_size", "detect_format", "SourceInfo"]


def _register() -> None:
    known = {f.name for f in FORMATS}
    for fmt in (torchscript.FORMAT, rosinality.FORMAT, nvlabs.FORMAT):
        if fmt.name not in known:
            register_format(fmt)


_register()
