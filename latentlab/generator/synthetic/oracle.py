"""The oracle: an attribute classifier trained on rendered faces with their true labels.

It is the measuring instrument of every benchmark: it reads the attributes of generated,
edited and inverted faces. Training images get mild blur and noise so that the oracle also
reads the slightly soft images a GAN draws. Seeds: the oracle trains on renders with seeds in
[ORACLE_SEEDS_START, +n) and is evaluated on held-out seeds below 100 000.
"""

from __future__ import annotations

import json
import math
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from safetensors import safe_open
from safetensors.torch import save_file
from torch import nn

from latentlab.core.errors import UserError
from latentlab.core.paths import DEFAULT_ORACLE, data_path
from latentlab.generator.synthetic.attributes import ATTRIBUTES, visible_mask
from latentlab.generator.synthetic.renderer import render_batch

ORACLE_SEEDS_START = 500_000
HELDOUT_SEEDS_END = 100_000
ORACLE_FORMAT = "latentlab-oracle"


class OracleNet(nn.Module):
    """A small CNN with one softmax head per attribute; input float [-1, 1] NCHW at 64x64."""

    def __init__(self, width: int = 24, feature_dim: int = 256):
        super().__init__()

        def block(cin, cout, stride):
            return [nn.Conv2d(cin, cout, 3, stride, 1, bias=False), nn.BatchNorm2d(cout), nn.ReLU(inplace=True)]

        w = width
        self.body = nn.Sequential(
            *block(3, w, 2),  # 32
            *block(w, 2 * w, 1), *block(2 * w, 2 * w, 2),  # 16
            *block(2 * w, 4 * w, 1), *block(4 * w, 4 * w, 2),  # 8
            *block(4 * w, 4 * w, 2),  # 4
        )
        self.fc = nn.Sequential(nn.Flatten(), nn.Linear(4 * w * 16, feature_dim), nn.ReLU(inplace=True))
        self.heads = nn.ModuleDict({k: nn.Linear(feature_dim, len(v)) for k, v in ATTRIBUTES.items()})

    def features(self, x: torch.Tensor) -> torch.Tensor:
        return self.fc(self.body(x))

    def forward(self, x: torch.Tensor) -> dict[str, torch.Tensor]:
        f = self.features(x)
        return {k: head(f) for k, head in self.heads.items()}


def images_to_tensor(images: np.ndarray, size: int = 64) -> torch.Tensor:
    """uint8 NHWC (any size) -> float [-1, 1] NCHW at `size` (antialiased resize)."""
    x = torch.from_numpy(np.ascontiguousarray(images)).permute(0, 3, 1, 2).float() / 127.5 - 1
    if x.shape[-1] != size or x.shape[-2] != size:
        x = F.interpolate(x, size=(size, size), mode="bilinear", antialias=True, align_corners=False)
    return x


@dataclass
class Oracle:
    """Reads the attributes of face images (see module docstring)."""

    net: OracleNet
    device: torch.device
    meta: dict

    def _run(self, images: np.ndarray, fn, batch_size: int = 256):
        out = []
        with torch.inference_mode():
            for i in range(0, len(images), batch_size):
                out.append(fn(images_to_tensor(images[i: i + batch_size]).to(self.device)))
        return out

    def predict_proba(self, images: np.ndarray) -> dict[str, np.ndarray]:
        """uint8 [N, H, W, 3] -> {attribute: probabilities [N, n_classes]}."""
        outs = self._run(images, lambda x: {k: v.softmax(-1).cpu() for k, v in self.net(x).items()})
        return {k: torch.cat([o[k] for o in outs]).numpy() for k in ATTRIBUTES}

    def predict(self, images: np.ndarray) -> dict[str, np.ndarray]:
        """uint8 [N, H, W, 3] -> {attribute: class index [N]} (indices into ATTRIBUTES[attribute])."""
        return {k: p.argmax(-1) for k, p in self.predict_proba(images).items()}

    def features(self, images: np.ndarray) -> np.ndarray:
        """uint8 [N, H, W, 3] -> penultimate-layer features [N, 256] (for kernel distances)."""
        return torch.cat(self._run(images, lambda x: self.net.features(x).cpu())).numpy()


def _augment(x: torch.Tensor, gen: torch.Generator) -> torch.Tensor:
    """Mild blur and noise so that GAN images, which are softer than renders, read the same."""
    n = x.shape[0]
    sigma = torch.rand(n, generator=gen) * 1.2
    k = torch.arange(-2, 3, dtype=torch.float32)
    kernels = torch.exp(-k[None] ** 2 / (2 * sigma[:, None].clamp(min=1e-3) ** 2))
    kernels = kernels / kernels.sum(1, keepdim=True)  # [N, 5]
    kernels[torch.rand(n, generator=gen) < 0.5] = torch.tensor([0.0, 0.0, 1.0, 0.0, 0.0])  # half stay sharp
    c, h, w = x.shape[1:]
    k = kernels.repeat_interleave(c, dim=0)  # one separable kernel per sample and channel
    xb = F.pad(x.reshape(1, n * c, h, w), (2, 2, 2, 2), mode="replicate")
    xb = F.conv2d(xb, k.view(n * c, 1, 1, 5), groups=n * c)
    xb = F.conv2d(xb, k.view(n * c, 1, 5, 1), groups=n * c).reshape(n, c, h, w)
    noise = torch.randn(x.shape, generator=gen) * (torch.rand(n, 1, 1, 1, generator=gen) * 0.06)
    return (xb + noise).clamp(-1, 1)


def train_oracle(n_train: int = 30_000, epochs: int = 5, batch: int = 128, lr: float = 2e-3, seed: int = 0,
                 bf16: bool = False, log=print) -> tuple[OracleNet, dict]:
    """Render the training set, train the CNN, return it with held-out accuracy per attribute."""
    torch.manual_seed(seed)
    log(f"rendering {n_train} training faces")
    imgs, labels = render_batch(range(ORACLE_SEEDS_START, ORACLE_SEEDS_START + n_train))
    x_all = torch.from_numpy(imgs)  # uint8 NHWC; converted per batch to keep memory small
    y_all = {k: torch.from_numpy(v) for k, v in labels.items()}
    net = OracleNet()
    opt = torch.optim.AdamW(net.parameters(), lr=lr, weight_decay=1e-4)
    steps = epochs * math.ceil(n_train / batch)
    sched = torch.optim.lr_scheduler.OneCycleLR(opt, max_lr=lr, total_steps=steps, pct_start=0.15)
    gen = torch.Generator().manual_seed(seed)
    t0 = time.time()
    for epoch in range(epochs):
        net.train()
        perm = torch.randperm(n_train, generator=gen)
        total = 0.0
        for i in range(0, n_train, batch):
            idx = perm[i: i + batch]
            with torch.autocast("cpu", dtype=torch.bfloat16, enabled=bf16):
                logits = net(_augment(images_to_tensor(x_all[idx].numpy()), gen))
            logits = {k: v.float() for k, v in logits.items()}
            loss = sum(F.cross_entropy(logits[k], y_all[k][idx]) for k in ATTRIBUTES)
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
            sched.step()
            total += float(loss.detach()) * len(idx)
        log(f"epoch {epoch + 1}/{epochs}  loss {total / n_train:.4f}  {time.time() - t0:.0f}s")
    net.eval()
    acc = evaluate_oracle(Oracle(net, torch.device("cpu"), {}))
    log("held-out accuracy: " + ", ".join(f"{k} {v:.3f}" for k, v in acc.items()))
    return net, acc


def evaluate_oracle(oracle: Oracle, n: int = 5000, start_seed: int = 0) -> dict[str, float]:
    """Accuracy per attribute on held-out renders (seeds start_seed .. start_seed + n).

    An attribute that is invisible on some faces (eye colour with closed eyes) is scored only
    where it is visible.
    """
    if start_seed + n > HELDOUT_SEEDS_END:
        raise ValueError("held-out seeds must stay below HELDOUT_SEEDS_END")
    imgs, labels = render_batch(range(start_seed, start_seed + n))
    pred = oracle.predict(imgs)
    return {k: float((pred[k] == labels[k])[visible_mask(k, labels)].mean()) for k in ATTRIBUTES}


def save_oracle(net: OracleNet, path: Path, accuracy: dict[str, float]) -> Path:
    meta = {"format": ORACLE_FORMAT, "version": "1", "attributes": json.dumps(ATTRIBUTES),
            "heldout_accuracy": json.dumps(accuracy)}
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    save_file({k: v.contiguous() for k, v in net.state_dict().items()}, str(tmp), metadata=meta)
    tmp.replace(path)
    return path


def load_oracle(device: str | torch.device | None = None, path: str | Path | None = None) -> Oracle:
    """The shipped oracle (data/oracle.safetensors) on `device` (default CPU)."""
    path = Path(path) if path else data_path(DEFAULT_ORACLE)
    if not path.exists():
        raise UserError(f"oracle weights not found at {path}; train them with `latentlab train-oracle`")
    with safe_open(str(path), framework="pt") as f:
        meta = f.metadata() or {}
        state = {k: f.get_tensor(k) for k in f.keys()}
    if meta.get("format") != ORACLE_FORMAT or json.loads(meta["attributes"]) != {k: list(v) for k, v in ATTRIBUTES.items()}:
        raise UserError(f"{path} is not an oracle for the current attribute set; retrain with `latentlab train-oracle`")
    net = OracleNet()
    net.load_state_dict(state)
    dev = torch.device(device or "cpu")
    return Oracle(net.eval().to(dev), dev, meta)
