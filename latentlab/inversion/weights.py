"""Safe files for latentlab's small inversion networks (metric net, encoder).

safetensors holds the tensors; the JSON metadata holds the format, version, network config and
the id of the generator the network was trained for. Writes are atomic (temp file + rename), so
an interrupted training never leaves a half-written file behind.
"""

from __future__ import annotations

import json
import warnings
from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path

import torch
from safetensors import safe_open
from safetensors.torch import save_file

from latentlab.core import artifacts
from latentlab.core.errors import UserError

WEIGHTS_VERSION = "1"


class GeneratorMismatchWarning(UserWarning):
    """A network trained for one generator is being used with another."""


def save_network(path: str | Path, net: torch.nn.Module, fmt: str, generator_id: str, config: dict,
                 extra: dict | None = None) -> Path:
    path = Path(path)
    meta = {"format": fmt, "version": WEIGHTS_VERSION, "generator_id": generator_id,
            "config": json.dumps(config), "extra": json.dumps(extra or {})}
    tensors = {k: v.detach().to("cpu", torch.float32).contiguous() for k, v in net.state_dict().items()}
    with artifacts.atomic_path(path) as tmp:
        save_file(tensors, str(tmp), metadata=meta)
    return path


def read_safetensors(path: str | Path, what: str, unreadable: str) -> tuple[dict[str, torch.Tensor], dict]:
    """(tensors on the CPU, string metadata) of one of latentlab's safetensors files (networks, tuning
    deltas). UserError when it is missing, or `unreadable` (a message with `{path}` and `{error}`) when
    safetensors cannot read it."""
    path = Path(path)
    if not path.is_file():
        raise UserError(f"{what} file {path} does not exist")
    try:
        with safe_open(str(path), framework="pt", device="cpu") as f:
            return {k: f.get_tensor(k) for k in f.keys()}, dict(f.metadata() or {})
    except Exception as e:  # safetensors raises several types for corrupt files
        raise UserError(unreadable.format(path=path, error=str(e)[:160])) from None


def read_network(path: str | Path, fmt: str, what: str) -> tuple[dict[str, torch.Tensor], dict]:
    """(state_dict, metadata with 'config' and 'extra' decoded); UserError for anything else."""
    tensors, meta = read_safetensors(path, what, "{path} is not a readable safetensors file ({error})")
    if meta.get("format") != fmt:
        raise UserError(f"{path} is not a latentlab {what} file (format {meta.get('format')!r}, expected {fmt!r})")
    try:
        meta["config"] = json.loads(meta.get("config", "{}"))
        meta["extra"] = json.loads(meta.get("extra", "{}"))
    except json.JSONDecodeError:
        raise UserError(f"{path} has damaged metadata; train the {what} again") from None
    return tensors, meta


def check_generator_id(meta: dict, generator_id: str | None, path: Path, what: str, strict: bool) -> bool:
    """True when ids match (or no id to compare); otherwise raise (strict) or warn and return False."""
    try:
        artifacts.check_generator_id(meta.get("generator_id"), generator_id, f"{path} is a {what}",
                                     made="trained for", remedy=f"train one for it with `latentlab train-{what}`")
    except artifacts.GeneratorMismatch as e:
        if strict:
            raise
        warnings.warn(str(e), GeneratorMismatchWarning, stacklevel=3)
        return False
    return True


def load_into(net: torch.nn.Module, tensors: dict[str, torch.Tensor], path: Path, what: str) -> torch.nn.Module:
    try:
        net.load_state_dict(tensors, strict=True)
    except RuntimeError as e:
        raise UserError(f"{path} does not match the {what} architecture in its own metadata ({str(e)[:200]})") from None
    return net


@dataclass(frozen=True)
class NetworkFile:
    """How one kind of small network is stored: its format tag, its name in messages ("metric",
    "encoder"), and how to build the empty network from the config in a file's metadata.

    The network carries its architecture config as the dataclass `net.cfg`; a loaded network gets
    `generator_id` (the generator it was trained for) and `stats` (its training statistics).
    """

    fmt: str
    what: str
    build: Callable[[dict], torch.nn.Module]

    def save(self, net: torch.nn.Module, path: str | Path, generator_id: str, stats: dict | None = None) -> Path:
        return save_network(path, net, self.fmt, generator_id, asdict(net.cfg), stats)

    def load(self, path: str | Path, generator_id: str | None, strict: bool,
             device: torch.device | str = "cpu") -> torch.nn.Module:
        """The network in eval mode without gradients; a different generator id raises (strict) or warns."""
        path = Path(path)
        tensors, meta = read_network(path, self.fmt, self.what)
        check_generator_id(meta, generator_id, path, self.what, strict)
        net = load_into(self.build(meta["config"]), tensors, path, self.what)
        net.generator_id = meta.get("generator_id")
        net.stats = meta["extra"]
        return net.eval().requires_grad_(False).to(device)
