"""Any generator exported as TorchScript, for architectures latentlab does not reimplement.

The file must hold a scripted module with

* int attributes `z_dim` and `num_ws` (and optionally `w_dim`, `resolution`);
* an exported method `mapping(z) -> w`: `[N, z_dim] -> [N, w_dim]`, untruncated;
* an exported method `synthesis(ws) -> images`: `[N, num_ws, w_dim] -> [N, 3, R, R]` in about
  [-1, 1]; it may take a second argument `noise_mode: str` ("const", "random", "none");
* optionally a buffer or attribute `w_avg` `[w_dim]`, the truncation centre (otherwise the
  mean of mapping(z) over 4096 latents from `sample_z(4096, seed=0)` is used).

Truncation (`torch.lerp(w_avg, w, psi)`) and broadcasting w to W+ are done here. A TorchScript
file runs TorchScript code (the TorchScript interpreter, not Python): load files you trust.
"""

from __future__ import annotations

import hashlib
import warnings
from pathlib import Path

import torch

from latentlab.core.identity import weights_identity
from latentlab.generator.interface import sample_z
from latentlab.generator.loaders.common import MEAN_W_SAMPLES, MEAN_W_SEED, GeneratorFormat, SourceInfo, zip_entries
from latentlab.generator.native import CheckpointError

NAME = "torchscript"
NOISE_MODES = ("const", "random", "none")


def detect(path: Path) -> bool:
    names = zip_entries(path)
    return names is not None and any(n.endswith("constants.pkl") or "/code/" in n for n in names)


def _int_attr(module, name: str) -> int | None:
    value = getattr(module, name, None)
    return int(value) if isinstance(value, (int, bool)) or (isinstance(value, torch.Tensor) and value.numel() == 1) \
        else None


def _method_code(module, name: str) -> str:
    try:
        return getattr(module, name).code
    except (AttributeError, RuntimeError):
        return ""


class TorchScriptGenerator:
    """The latentlab generator interface over a scripted module (see the module docstring)."""

    def __init__(self, module: torch.jit.ScriptModule, path: Path, device: torch.device):
        self.module = module
        self._device = device
        for method in ("mapping", "synthesis"):
            if not hasattr(module, method):
                raise CheckpointError(f"{path.name} is a TorchScript module without an exported `{method}` method; "
                                      f"see docs/own-generator.md for the required interface")
        z_dim, num_ws = _int_attr(module, "z_dim"), _int_attr(module, "num_ws")
        if z_dim is None or num_ws is None:
            raise CheckpointError(f"{path.name}: the TorchScript module must have int attributes `z_dim` and `num_ws`")
        self.z_dim, self.num_ws = z_dim, num_ws
        args = [a.name for a in module.synthesis.schema.arguments]
        self._takes_noise_mode = len(args) >= 3  # self, ws, noise_mode
        notes = ["TorchScript code runs in the TorchScript interpreter (load only files you trust)"]
        with torch.inference_mode():
            try:
                w = self._map(torch.from_numpy(sample_z(2, MEAN_W_SEED, z_dim)).to(device))
            except RuntimeError as e:
                raise CheckpointError(f"{path.name}: its mapping failed on a [2, {z_dim}] input "
                                      f"({str(e).splitlines()[0][:160]})") from None
            if w.ndim != 2 or w.shape[0] != 2:
                raise CheckpointError(f"{path.name}: mapping must return [N, w_dim], got {tuple(w.shape)}")
            self.w_dim = int(w.shape[1])
            w_avg = getattr(module, "w_avg", None)
            if isinstance(w_avg, torch.Tensor) and w_avg.numel() == self.w_dim:
                self.w_avg = w_avg.detach().reshape(self.w_dim).to(device, torch.float32)
            else:
                z = torch.from_numpy(sample_z(MEAN_W_SAMPLES, MEAN_W_SEED, z_dim))
                ws = [self._map(z[i: i + 512].to(device)).double() for i in range(0, len(z), 512)]
                self.w_avg = torch.cat(ws).mean(dim=0).to(torch.float32)
                notes.append(f"w_avg is the mean of mapping(z) over {MEAN_W_SAMPLES} latents from "
                             f"sample_z(seed={MEAN_W_SEED}) (the module has no w_avg)")
            try:
                img = self.synthesis(self.w_avg[None], "const")
            except RuntimeError as e:
                raise CheckpointError(f"{path.name}: its synthesis failed on a [1, {num_ws}, {self.w_dim}] input "
                                      f"({str(e).splitlines()[0][:160]})") from None
        if img.ndim != 4 or img.shape[1] != 3 or img.shape[2] != img.shape[3]:
            raise CheckpointError(f"{path.name}: synthesis must return [N, 3, R, R] images, got {tuple(img.shape)}")
        self.resolution = int(img.shape[2])
        code = hashlib.sha256((_method_code(module, "mapping") + _method_code(module, "synthesis")).encode())
        config = {"format": NAME, "z_dim": self.z_dim, "w_dim": self.w_dim, "num_ws": self.num_ws,
                  "resolution": self.resolution, "code_sha256": code.hexdigest()}
        self.generator_id = weights_identity(module.state_dict(), config, prefix="ts")
        self.source_info = SourceInfo(NAME, str(path), notes, {"takes_noise_mode": str(self._takes_noise_mode)})

    @property
    def device(self) -> torch.device:
        return self._device

    def _map(self, z: torch.Tensor) -> torch.Tensor:
        return self.module.mapping(z.to(self._device, torch.float32)).to(torch.float32)

    def mapping(self, z: torch.Tensor, truncation_psi: float = 1.0) -> torch.Tensor:
        """z [N, z_dim] -> w [N, w_dim], pulled towards w_avg by psi (NVlabs' lerp; 1 = unchanged)."""
        w = self._map(z)
        return w if truncation_psi == 1 else torch.lerp(self.w_avg.to(w.dtype), w, truncation_psi)

    def synthesis(self, ws: torch.Tensor, noise_mode: str = "const") -> torch.Tensor:
        """w [N, w_dim] or ws [N, num_ws, w_dim] -> images [N, 3, R, R]."""
        if noise_mode not in NOISE_MODES:
            raise ValueError(f"noise_mode must be one of {NOISE_MODES}")
        ws = ws.to(self._device, torch.float32)
        if ws.ndim == 2:
            ws = ws.unsqueeze(1).repeat(1, self.num_ws, 1)
        elif ws.shape[1] != self.num_ws:
            raise ValueError(f"W+ latents need {self.num_ws} layers, got {ws.shape[1]}")
        img = self.module.synthesis(ws, noise_mode) if self._takes_noise_mode else self.module.synthesis(ws)
        return img.to(torch.float32)


def load(path: Path, device: torch.device) -> TorchScriptGenerator:
    try:
        with warnings.catch_warnings():  # torch >= 2.9 marks TorchScript deprecated; it still loads
            warnings.simplefilter("ignore", FutureWarning)
            module = torch.jit.load(str(path), map_location=device)
    except (RuntimeError, ValueError, OSError) as e:
        raise CheckpointError(f"{path.name} is a damaged TorchScript file ({str(e).splitlines()[0][:160]})") from None
    module.eval()
    return TorchScriptGenerator(module, path, device)


FORMAT = GeneratorFormat(NAME, detect, load)
