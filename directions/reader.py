"""A reader of attributes learned from the crowd: a small CNN trained on the labeled run's faces.

Why: in an entangled W a linear model of the labels reads some attributes poorly (LDA separates hair
colours at about 0.66 balanced accuracy on the shipped generator), while in the pictures they are
plain to see. A CNN trained on the same faces and the same aggregated crowd labels reads them far
better (hair colour 0.99, eye state 0.97 on held-out faces of a labeled run), so it can tell where
along a sweep the attribute actually changes. Sweeps use it to place their frames
(`directions.pacing`): equal shares of the reader's change of the swept attribute, so a switch is
spread over many frames instead of happening between two.

It learns from labels and pictures only; the benchmark's oracle never trains it. Files are arrays +
JSON (`latentlab.core.artifacts`), tied to the generator whose faces it was trained on, and stored
next to their direction set as `<set>.reader.npz`.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Sequence

import numpy as np
import pandas as pd
import torch
import torch.nn.functional as F
from torch import nn

from latentlab.core.artifacts import check_generator_id, damaged, load_npz, save_npz
from latentlab.core.errors import UserError

READER_FORMAT = "latentlab-attribute-reader"
READER_VERSION = 1
READER_SIZE = 64  # pictures are read at 64x64 px
MAX_WIDTH = 256  # channels of the first layer a file may ask for (checked before building)
MAX_CLASSES = 256


class ReaderNet(nn.Module):
    """Six 3x3 convolutions (stride 2 at 32, 16, 8, 4 px), GroupNorm, SiLU, one linear head per attribute."""

    def __init__(self, heads: dict[str, int], width: int = 32):
        super().__init__()

        def block(cin: int, cout: int, stride: int) -> list[nn.Module]:
            return [nn.Conv2d(cin, cout, 3, stride, 1), nn.GroupNorm(8, cout), nn.SiLU()]

        w = width
        self.body = nn.Sequential(*block(3, w, 1), *block(w, w, 2), *block(w, 2 * w, 1), *block(2 * w, 2 * w, 2),
                                  *block(2 * w, 4 * w, 2), *block(4 * w, 4 * w, 2), nn.AdaptiveAvgPool2d(2),
                                  nn.Flatten(), nn.Dropout(0.3))
        self.heads = nn.ModuleDict({name: nn.Linear(16 * w, n) for name, n in heads.items()})

    def forward(self, x: torch.Tensor) -> dict[str, torch.Tensor]:
        f = self.body(x)
        return {name: head(f) for name, head in self.heads.items()}


def to_input(images: np.ndarray) -> torch.Tensor:
    """uint8 [N, H, W, 3] -> float [-1, 1] NCHW at 64 px (antialiased resize)."""
    x = torch.from_numpy(np.ascontiguousarray(images)).permute(0, 3, 1, 2).float() / 127.5 - 1
    if x.shape[-2:] != (READER_SIZE, READER_SIZE):
        x = F.interpolate(x, size=(READER_SIZE, READER_SIZE), mode="bilinear", antialias=True, align_corners=False)
    return x


def _augment(x: torch.Tensor, gen: torch.Generator) -> torch.Tensor:
    """Mirror, shift by up to 3 px, and jitter brightness/contrast a little: 1000 faces are few."""
    n = len(x)
    flip = torch.rand(n, generator=gen) < 0.5
    x = torch.where(flip[:, None, None, None], x.flip(-1), x)
    dy, dx = (int(v) for v in torch.randint(-3, 4, (2,), generator=gen))
    x = torch.roll(x, (dy, dx), (2, 3))
    gain = 1 + 0.1 * torch.randn(n, 3, 1, 1, generator=gen)
    shift = 0.05 * torch.randn(n, 3, 1, 1, generator=gen)
    return (x * gain + shift).clamp(-1, 1)


@dataclass
class AttributeReader:
    """The trained net, the classes of each attribute, and where it came from."""

    net: ReaderNet
    classes: dict[str, list[str]]
    generator_id: str | None
    meta: dict

    def predict_proba(self, images: np.ndarray, attribute: str | None = None, batch_size: int = 256
                      ) -> dict[str, np.ndarray]:
        """uint8 [N, H, W, 3] -> {attribute: probabilities [N, C]} (one attribute, or all)."""
        names = [attribute] if attribute else list(self.classes)
        if attribute and attribute not in self.classes:
            raise UserError(f"the attribute reader knows no attribute {attribute!r}; it reads "
                            f"{', '.join(self.classes)}")
        parts: dict[str, list[np.ndarray]] = {a: [] for a in names}
        self.net.eval()
        with torch.inference_mode():
            for i in range(0, len(images), batch_size):
                out = self.net(to_input(images[i: i + batch_size]))
                for a in names:
                    parts[a].append(out[a].softmax(-1).numpy())
        return {a: np.concatenate(p) if p else np.zeros((0, len(self.classes[a]))) for a, p in parts.items()}


def train_reader(images: np.ndarray, labels: pd.DataFrame, classes: dict[str, Sequence[str]], *,
                 generator_id: str | None, epochs: int = 40, batch: int = 64, seed: int = 0, width: int = 32,
                 holdout: float = 0.0, on_epoch: Callable[[int, int], None] | None = None) -> AttributeReader:
    """Train on faces uint8 [N, H, W, 3] and their aggregated labels (option names, None = unknown).

    `holdout` > 0 keeps that share of faces out and stores the reader's accuracy on them per
    attribute in `meta["holdout_accuracy"]` (agreement with the crowd's aggregated label).
    `on_epoch(epoch, epochs)` is called before each epoch (1-based): progress, or an exception to stop.
    About 40 s per 1000 faces and 10 epochs on 2 CPU cores."""
    classes = {a: list(c) for a, c in classes.items() if a in labels.columns}
    if not classes:
        raise UserError("no labeled attribute to train the attribute reader on")
    if len(images) != len(labels):
        raise ValueError(f"{len(images)} images but {len(labels)} label rows")
    y = {a: torch.as_tensor(np.array([c.index(v) if v in c else -1 for v in labels[a]], np.int64))
         for a, c in classes.items()}
    known = sum((y[a] >= 0).sum().item() for a in y)
    if known < 10:
        raise UserError(f"only {known} labels to train the attribute reader on; label more faces first")
    gen = torch.Generator().manual_seed(seed)
    torch.manual_seed(seed)
    x = to_input(images)
    order = torch.randperm(len(x), generator=gen)
    n_hold = int(round(holdout * len(x)))
    hold, train = order[:n_hold], order[n_hold:]
    net = ReaderNet({a: len(c) for a, c in classes.items()}, width)
    opt = torch.optim.AdamW(net.parameters(), 2e-3, weight_decay=1e-3)
    steps = epochs * max(1, -(-len(train) // batch))
    sched = torch.optim.lr_scheduler.OneCycleLR(opt, 3e-3, total_steps=steps)
    with torch.enable_grad():
        for epoch in range(epochs):
            if on_epoch is not None:
                on_epoch(epoch + 1, epochs)
            net.train()
            perm = train[torch.randperm(len(train), generator=gen)]
            for i in range(0, len(perm), batch):
                j = perm[i: i + batch]
                out = net(_augment(x[j], gen))
                losses = [F.cross_entropy(out[a], y[a][j], ignore_index=-1, label_smoothing=0.05)
                          for a in classes if (y[a][j] >= 0).any()]
                if not losses:
                    continue
                opt.zero_grad()
                torch.stack(losses).sum().backward()
                opt.step()
                sched.step()
    net.eval()
    meta = {"width": width, "epochs": epochs, "n_faces": int(len(train)), "seed": seed}
    if n_hold:
        with torch.inference_mode():
            out = net(x[hold])
        acc = {}
        for a in classes:
            ok = y[a][hold] >= 0
            if ok.any():
                acc[a] = float((out[a][ok].argmax(1) == y[a][hold][ok]).float().mean())
        meta["holdout_accuracy"] = acc
    return AttributeReader(net, classes, generator_id, meta)


def train_run_reader(db_url: str, run_id: int, *, aggregation: str = "majority", epochs: int = 40,
                     holdout: float = 0.1, on_epoch: Callable[[int, int], None] | None = None) -> AttributeReader:
    """The attribute reader of a labeling run: trained on the faces its annotators saw and the same
    aggregated labels its directions are fitted on (`fit --reader`, the app's Fit tab)."""
    from labeler.dataset import load_run_dataset

    data = load_run_dataset(db_url, run_id, aggregation=aggregation)
    classes = {a.name: list(a.options) for a in data.schema.attributes}
    return train_reader(data.load_images(), data.labels, classes, generator_id=data.generator_id, epochs=epochs,
                        holdout=holdout, on_epoch=on_epoch)


def reader_path(direction_set_path: str | Path) -> Path:
    """Where a direction set's reader lives: `run1-w.npz` -> `run1-w.reader.npz`."""
    p = Path(direction_set_path)
    return p.with_name(p.stem + ".reader.npz")


def drop_reader(direction_set_path: str | Path) -> bool:
    """Delete the reader next to a direction set (a set replaced without one must not keep the reader of
    the set it replaced); whether there was one."""
    path = reader_path(direction_set_path)
    if not path.exists():
        return False
    path.unlink()
    return True


def agreement_text(reader: AttributeReader) -> str:
    """"hair_color 0.98, age 0.84, ...": the reader's held-out agreement with the crowd, per attribute."""
    return ", ".join(f"{a} {v:.2f}" for a, v in (reader.meta.get("holdout_accuracy") or {}).items())


def save_reader(path: str | Path, reader: AttributeReader) -> Path:
    arrays = {f"p/{k}": v.detach().cpu().numpy() for k, v in reader.net.state_dict().items()}
    meta = {**reader.meta, "classes": reader.classes, "generator_id": reader.generator_id}
    return save_npz(path, arrays, meta, fmt=READER_FORMAT, version=READER_VERSION)


def load_reader(path: str | Path, generator_id: str | None = None) -> AttributeReader:
    """Load a reader file; refuses one trained on another generator's faces, and checks every size
    against the architecture before building it."""
    arrays, meta = load_npz(path, fmt=READER_FORMAT, version=READER_VERSION, what="attribute reader")
    try:
        classes = {str(a): [str(c) for c in cs] for a, cs in dict(meta["classes"]).items()}
        width = int(meta["width"])
        if not 8 <= width <= MAX_WIDTH or width % 8 or not classes or \
                any(not 2 <= len(c) <= MAX_CLASSES for c in classes.values()):
            raise ValueError(f"width {width} or class counts out of range")
        shapes = _expected_shapes({a: len(c) for a, c in classes.items()}, width)
        state = {k[2:]: v for k, v in arrays.items() if k.startswith("p/")}
        if set(state) != set(shapes) or any(tuple(state[k].shape) != shapes[k] for k in shapes):
            raise ValueError("its tensors do not match the network it describes")
        net = ReaderNet({a: len(c) for a, c in classes.items()}, width)
        net.load_state_dict({k: torch.from_numpy(np.asarray(v, np.float32)) for k, v in state.items()})
    except (KeyError, TypeError, ValueError, AttributeError) as e:
        raise damaged(path, "attribute reader", e) from None
    made_for = meta.get("generator_id")
    check_generator_id(made_for, generator_id, f"attribute reader {path}")
    return AttributeReader(net.eval(), classes, made_for, meta)


def _expected_shapes(heads: dict[str, int], width: int) -> dict[str, tuple[int, ...]]:
    """Parameter and buffer shapes of ReaderNet(heads, width), computed without building it."""
    w = width
    convs = [(3, w), (w, w), (w, 2 * w), (2 * w, 2 * w), (2 * w, 4 * w), (4 * w, 4 * w)]
    shapes: dict[str, tuple[int, ...]] = {}
    for i, (cin, cout) in enumerate(convs):
        conv, norm = 3 * i, 3 * i + 1
        shapes[f"body.{conv}.weight"] = (cout, cin, 3, 3)
        shapes[f"body.{conv}.bias"] = (cout,)
        shapes[f"body.{norm}.weight"] = (cout,)
        shapes[f"body.{norm}.bias"] = (cout,)
    for a, n in heads.items():
        shapes[f"heads.{a}.weight"] = (n, 16 * w)
        shapes[f"heads.{a}.bias"] = (n,)
    return shapes
