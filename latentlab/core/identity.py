"""A stable identity for a generator's weights.

Label stores and direction files record it so that nobody applies directions found for one
model to another. It depends only on the configuration and the tensors' values, never on the
file they came from, so a converted checkpoint keeps the identity of its source weights.
"""

from __future__ import annotations

import hashlib
import json

import torch


def weights_identity(state_dict: dict[str, torch.Tensor], config: dict, prefix: str = "sg2") -> str:
    """'<prefix>-<res>px-<16 hex>' from the SHA-256 of the config and all tensors (float32, sorted keys)."""
    h = hashlib.sha256(json.dumps(config, sort_keys=True).encode())
    for name in sorted(state_dict):
        t = state_dict[name].detach().to("cpu", torch.float32).contiguous()
        h.update(name.encode())
        h.update(str(tuple(t.shape)).encode())
        h.update(t.numpy().tobytes())
    res = config.get("resolution", "x")
    return f"{prefix}-{res}px-{h.hexdigest()[:16]}"
