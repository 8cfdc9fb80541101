"""The oracle: an attribute classifier trained on rendered faces with their true labels.

It is the measuring instrument of every benchmark: it reads the attributes of generated,
edited and inverted faces. Training images get mild blur and noise so that the oracle also
reads the slightly soft images a GAN draws. Seeds: the oracle trains on renders with seeds in
[ORACLE_SEEDS_START, +n) and is evaluated on held-out seeds below 100 000.

Styles: the shipped oracle trains on every drawing style but renderer.HELD_OUT_STYLE (plus faces
whose parts mix those styles) under heavy augmentation (`style_augment`: pose, flips, colour
jitter, line-width changes, rescaling, blur, noise, JPEG), so that it reads drawings it has never
seen; `oracle_report` measures accuracy and calibration per style, the held-out one included.
"""

from __future__ import annotations

import io
import json
import math
import time
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from PIL import Image
from safetensors import safe_open
from safetensors.torch import save_file
from torch import nn

from latentlab.core.artifacts import atomic_path
from latentlab.core.errors import UserError
from latentlab.core.paths import DEFAULT_ORACLE, data_path
from latentlab.generator.synthetic.attributes import ATTRIBUTES, visible_mask
from latentlab.generator.synthetic.renderer import DEFAULT_STYLE, STYLES, TRAINING_STYLES, render_batch

ORACLE_SEEDS_START = 500_000
HELDOUT_SEEDS_END = 100_000
ORACLE_FORMAT = "latentlab-oracle"
MAX_WIDTH = 256  # channels of the first convolution a file may ask for (checked before building)
MAX_MEMBERS = 8  # networks an ensemble file may hold (checked before building)


class OracleNet(nn.Module):
    """A small CNN with one softmax head per attribute; input float [-1, 1] NCHW at 64x64."""

    def __init__(self, width: int = 24, feature_dim: int = 256):
        super().__init__()
        self.width = width

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


class OracleEnsemble(nn.Module):
    """Several oracle networks read as one: its "logits" are the log of their mean probabilities (so a
    softmax gives that mean) and its features are theirs side by side. Why: networks trained apart make
    different mistakes on a drawing style none of them saw, and their mean is wrong less often."""

    def __init__(self, members: list[OracleNet]):
        super().__init__()
        self.members = nn.ModuleList(members)
        self.width = max(m.width for m in members)

    def features(self, x: torch.Tensor) -> torch.Tensor:
        return torch.cat([m.features(x) for m in self.members], dim=1)

    def forward(self, x: torch.Tensor) -> dict[str, torch.Tensor]:
        outs = [m(x) for m in self.members]
        return {k: torch.stack([o[k].softmax(-1) for o in outs]).mean(0).clamp_min(1e-12).log() for k in ATTRIBUTES}


def images_to_tensor(images: np.ndarray, size: int | None = 64) -> torch.Tensor:
    """uint8 NHWC (any size) -> float [-1, 1] NCHW at `size` (antialiased resize; None keeps the size).

    A read-only array (as `np.asarray` of a PIL image gives) is copied: torch refuses to share it."""
    x = torch.from_numpy(np.require(images, requirements=["C", "W"])).permute(0, 3, 1, 2).float() / 127.5 - 1
    if size is not None and (x.shape[-1] != size or x.shape[-2] != size):
        x = F.interpolate(x, size=(size, size), mode="bilinear", antialias=True, align_corners=False)
    return x


@dataclass
class Oracle:
    """Reads the attributes of face images (see module docstring)."""

    net: OracleNet | OracleEnsemble
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


def style_augment(x: torch.Tensor, gen: torch.Generator) -> torch.Tensor:
    """Heavy augmentation for reading unseen drawing styles; float [-1, 1] NCHW in and out.

    Pose (rotation, rescale, shift, mirror), colour jitter that keeps hues (brightness, contrast,
    saturation, white balance), line-width changes (darks or lights spread by a pixel), rescaling
    through a low resolution, stray strokes (`stray_strokes`), then blur and noise (_augment) and JPEG
    compression.
    """
    n = x.shape[0]

    def u(lo, hi, *shape):
        return lo + (hi - lo) * torch.rand(*(shape or (n,)), generator=gen)

    # pose: one affine warp per image (70 %), and a mirror (50 %)
    ang, zoom = u(-12, 12) * math.pi / 180, 1 / u(0.88, 1.12)
    zoom = torch.where(torch.rand(n, generator=gen) < 0.7, zoom, torch.ones(n))
    ang = torch.where(zoom != 1, ang, torch.zeros(n))
    shift = u(-0.1, 0.1, n, 2) * (zoom != 1)[:, None]
    flip = torch.where(torch.rand(n, generator=gen) < 0.5, -1.0, 1.0)
    theta = torch.stack([torch.stack([zoom * torch.cos(ang) * flip, -zoom * torch.sin(ang), shift[:, 0]], 1),
                         torch.stack([zoom * torch.sin(ang) * flip, zoom * torch.cos(ang), shift[:, 1]], 1)], 1)
    grid = F.affine_grid(theta, list(x.shape), align_corners=False)
    x = F.grid_sample(x, grid, mode="bilinear", padding_mode="border", align_corners=False)
    # colour (80 %): brightness, contrast, saturation, per-channel gain
    on = (torch.rand(n, 1, 1, 1, generator=gen) < 0.8).float()
    grey = x.mean(1, keepdim=True)
    sat = 1 + on * (u(0.6, 1.3)[:, None, None, None] - 1)
    x = grey + sat * (x - grey)
    mean = x.mean((1, 2, 3), keepdim=True)
    x = mean + (1 + on * (u(0.75, 1.25)[:, None, None, None] - 1)) * (x - mean)
    x = x + on * u(-0.12, 0.12)[:, None, None, None] + on * u(-0.06, 0.06, n, 3)[:, :, None, None]
    # line width (30 %): darks spread (thicker lines) or lights spread (thinner lines), partly blended
    mode = torch.rand(n, generator=gen)
    thick, thin = -F.max_pool2d(-x, 3, 1, 1), F.max_pool2d(x, 3, 1, 1)
    a = u(0.3, 0.8)[:, None, None, None]
    x = torch.where((mode < 0.2)[:, None, None, None], x + a * (thick - x), x)
    x = torch.where(((mode >= 0.2) & (mode < 0.3))[:, None, None, None], x + 0.6 * a * (thin - x), x)
    # rescale through a lower resolution (25 %)
    size = x.shape[-1]
    low = torch.rand(n, generator=gen) < 0.25
    if low.any():
        side = int(u(34, 56, 1).item())
        small = F.interpolate(x[low], size=(side, side), mode="bilinear", antialias=True, align_corners=False)
        x[low] = F.interpolate(small, size=(size, size), mode="bilinear", align_corners=False)
    x = stray_strokes(x.clamp(-1, 1), gen)
    x = _augment(x, gen)
    # JPEG (30 %)
    jpeg = torch.nonzero(torch.rand(n, generator=gen) < 0.3).flatten().tolist()
    if jpeg:
        arr = ((x[jpeg] + 1) * 127.5).round().clamp(0, 255).byte().permute(0, 2, 3, 1).numpy()
        out = []
        for img, q in zip(arr, u(25, 90, len(jpeg)).tolist()):
            buf = io.BytesIO()
            Image.fromarray(img).save(buf, format="JPEG", quality=int(q))
            out.append(np.asarray(Image.open(buf).convert("RGB")))
        x[jpeg] = images_to_tensor(np.stack(out), size)
    return x


def stray_strokes(x: torch.Tensor, gen: torch.Generator, share: float = 0.3, most: int = 4) -> torch.Tensor:
    """Draw 1..`most` short thin dark strokes (straight or bent, 4-14 px, anywhere in the central 80 %) on a
    `share` of the images, attributes unchanged: artists add line work of their own (hatching, lid lines,
    creases, sweat drops), and none of it is an accessory. float [-1, 1] NCHW in and out."""
    n, _, h, w = x.shape
    pick = torch.nonzero(torch.rand(n, generator=gen) < share).flatten().tolist()
    if not pick:
        return x
    x = x.clone()
    t = torch.linspace(0, 1, 24)
    for i in pick:
        for _ in range(int(torch.randint(1, most + 1, (1,), generator=gen))):
            p0 = (0.1 + 0.8 * torch.rand(2, generator=gen)) * torch.tensor([w - 1.0, h - 1.0])
            ang = torch.rand(1, generator=gen) * 2 * math.pi
            length = 4 + 10 * torch.rand(1, generator=gen)
            bend = (torch.rand(1, generator=gen) - 0.5) * 0.6 * length  # sideways bow at the middle
            along = torch.cat([torch.cos(ang), torch.sin(ang)])
            side = torch.stack([-along[1], along[0]])
            pts = p0 + (t[:, None] * length) * along + (4 * t * (1 - t))[:, None] * bend * side
            px = pts.round().long()
            px[:, 0].clamp_(0, w - 1)
            px[:, 1].clamp_(0, h - 1)
            ink = -1 + 0.6 * torch.rand(3, generator=gen)  # near black, possibly tinted
            alpha = 0.6 + 0.4 * float(torch.rand(1, generator=gen))
            old = x[i, :, px[:, 1], px[:, 0]]
            x[i, :, px[:, 1], px[:, 0]] = old + alpha * (ink[:, None] - old)
    return x


MIXED_SHARE = 0.3
LOWER_LID_SHARE = 0.5


def training_styles(seeds, styles=TRAINING_STYLES, mixed: float = MIXED_SHARE,
                    lower_lid: float = LOWER_LID_SHARE) -> list:
    """The drawing style of each training seed: one of `styles`, or with probability `mixed` a face
    whose parts are mixed from them (styles.mixed_style); then, with probability `lower_lid`, the
    same style with lower lash lines (no training style draws them, and without them an oracle read
    the held-out style's lower lids as glasses frames)."""
    from latentlab.generator.synthetic.styles import mixed_style, style_spec

    out = []
    for seed in seeds:
        rng = np.random.default_rng([int(seed), 0x57])
        style = mixed_style(rng, styles) if rng.random() < mixed else styles[int(rng.integers(len(styles)))]
        if lower_lid > 0 and rng.random() < lower_lid:
            style = replace(style_spec(style), lower_lid=True)
        out.append(style)
    return out


def _render_styled(seeds, styles, mixed: float) -> tuple[np.ndarray, dict[str, np.ndarray]]:
    if tuple(styles) == (DEFAULT_STYLE,) and mixed == 0:
        return render_batch(seeds)
    return render_batch(seeds, style=training_styles(seeds, styles, mixed))


def train_oracle(n_train: int = 40_000, epochs: int = 5, batch: int = 128, lr: float = 2e-3, seed: int = 0,
                 bf16: bool = False, styles=TRAINING_STYLES, mixed: float = MIXED_SHARE, augment: str = "heavy",
                 heavy_share: float = 1.0, heavy_share_end: float | None = None, width: int = 24,
                 init: Path | None = None, checkpoint: Path | None = None,
                 calibrate: bool = True, evaluate_n: int = 5000, log=print) -> tuple[OracleNet, dict]:
    """Render the training set, train the CNN, return it with held-out accuracy per attribute.

    styles / mixed: the drawing styles of the training faces (see training_styles); ("classic",) with
    mixed=0 and augment="mild" is the original recipe; heavy_share: the share of each batch that gets the
    heavy augmentation (the rest gets the mild one); heavy_share_end: when given, the share moves linearly
    from heavy_share in the first epoch to this in the last (a run that ends mild, so fine details such as
    a mouth's curvature are learned on clean renders). width: channels of the first convolution (the
    network's width; stored in the file). init: an oracle file to start from (fine-tuning; it keeps that
    file's width).
    checkpoint: a file written after every epoch;
    the same call resumes from it. calibrate: fit a temperature per attribute on unseen renders of the
    training styles and fold it into the heads, so probabilities mean what they say.
    """
    if augment not in ("mild", "heavy"):
        raise ValueError("augment must be 'mild' or 'heavy'")
    torch.manual_seed(seed)
    net = load_oracle(path=init).net.train() if init else OracleNet(width=width)  # init: that file's width
    if isinstance(net, OracleEnsemble):
        raise UserError(f"{init} is an oracle ensemble; fine-tune one of its member files instead")
    config = dict(n_train=n_train, epochs=epochs, batch=batch, lr=lr, seed=seed, styles=list(styles),
                  mixed=mixed, augment=augment, heavy_share=heavy_share, heavy_share_end=heavy_share_end,
                  width=net.width, bf16=bf16, init=str(init) if init else None)
    log(f"rendering {n_train} training faces in styles {', '.join(styles)} (+{mixed:.0%} mixed)")
    imgs, labels = _render_styled(range(ORACLE_SEEDS_START, ORACLE_SEEDS_START + n_train), styles, mixed)
    x_all = torch.from_numpy(imgs)  # uint8 NHWC; converted per batch to keep memory small
    y_all = {k: torch.from_numpy(v) for k, v in labels.items()}
    opt = torch.optim.AdamW(net.parameters(), lr=lr, weight_decay=1e-4)
    steps = epochs * math.ceil(n_train / batch)
    sched = torch.optim.lr_scheduler.OneCycleLR(opt, max_lr=lr, total_steps=steps, pct_start=0.15)
    gen = torch.Generator().manual_seed(seed)
    def share_at(epoch: int) -> float:
        if heavy_share_end is None or epochs <= 1:
            return heavy_share
        return heavy_share + (heavy_share_end - heavy_share) * epoch / (epochs - 1)

    def aug(x: torch.Tensor, gen: torch.Generator, share: float) -> torch.Tensor:
        if augment == "mild" or share <= 0:
            return _augment(x, gen)
        heavy = torch.rand(len(x), generator=gen) < share
        x = x.clone()
        if heavy.any():
            x[heavy] = style_augment(x[heavy], gen)
        if (~heavy).any():
            x[~heavy] = _augment(x[~heavy], gen)
        return x

    first = 0
    if checkpoint is not None and Path(checkpoint).exists():
        state = torch.load(checkpoint, map_location="cpu", weights_only=True)
        if state["config"] != config:
            raise UserError(f"{checkpoint} belongs to another training setup; delete it or use another --checkpoint")
        net.load_state_dict(state["net"])
        opt.load_state_dict(state["opt"])
        sched.load_state_dict(state["sched"])
        gen.set_state(state["gen"])
        first = state["epoch"]
        log(f"resuming after epoch {first}")
    t0 = time.time()
    for epoch in range(first, epochs):
        net.train()
        perm = torch.randperm(n_train, generator=gen)
        total = 0.0
        for i in range(0, n_train, batch):
            idx = perm[i: i + batch]
            x = aug(images_to_tensor(x_all[idx].numpy()), gen, share_at(epoch))
            with torch.autocast("cpu", dtype=torch.bfloat16, enabled=bf16):
                logits = net(x)
            logits = {k: v.float() for k, v in logits.items()}
            loss = sum(F.cross_entropy(logits[k], y_all[k][idx]) for k in ATTRIBUTES)
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
            sched.step()
            total += float(loss.detach()) * len(idx)
        log(f"epoch {epoch + 1}/{epochs}  loss {total / n_train:.4f}  {time.time() - t0:.0f}s")
        if checkpoint is not None:
            with atomic_path(checkpoint) as tmp:
                torch.save({"net": net.state_dict(), "opt": opt.state_dict(), "sched": sched.state_dict(),
                            "gen": gen.get_state(), "epoch": epoch + 1, "config": config}, tmp)
    net.eval()
    del x_all, imgs
    if calibrate:
        temps = calibrate_temperature(net, range(ORACLE_SEEDS_START + n_train, ORACLE_SEEDS_START + n_train + 3000),
                                      styles, mixed)
        log("temperatures: " + ", ".join(f"{k} {v:.2f}" for k, v in temps.items()))
    acc = evaluate_oracle(Oracle(net, torch.device("cpu"), {}), n=evaluate_n)
    log("held-out accuracy: " + ", ".join(f"{k} {v:.3f}" for k, v in acc.items()))
    return net, acc


def calibrate_temperature(net: OracleNet, seeds, styles=TRAINING_STYLES, mixed: float = MIXED_SHARE,
                          seed: int = 1) -> dict[str, float]:
    """Fit one softmax temperature per attribute (least NLL) on renders of the training styles, half of
    them heavily augmented, and fold it into the heads (logits / T). Returns the temperatures."""
    imgs, labels = _render_styled(seeds, styles, mixed)
    x = images_to_tensor(imgs)
    half = len(x) // 2
    x[half:] = style_augment(x[half:], torch.Generator().manual_seed(seed))
    with torch.no_grad():
        outs = [net(x[i: i + 256]) for i in range(0, len(x), 256)]
    logits = {k: torch.cat([o[k] for o in outs]) for k in ATTRIBUTES}
    temps = {}
    for k in ATTRIBUTES:
        y = torch.from_numpy(labels[k])
        keep = torch.from_numpy(visible_mask(k, labels))
        grid = torch.exp(torch.linspace(math.log(0.5), math.log(5.0), 80))
        nll = torch.stack([F.cross_entropy(logits[k][keep] / t, y[keep]) for t in grid])
        temps[k] = float(grid[nll.argmin()])
        with torch.no_grad():
            net.heads[k].weight /= temps[k]
            net.heads[k].bias /= temps[k]
    return temps


def evaluate_oracle(oracle: Oracle, n: int = 5000, start_seed: int = 0, style=DEFAULT_STYLE) -> dict[str, float]:
    """Accuracy per attribute on held-out renders (seeds start_seed .. start_seed + n) in one style.

    An attribute that is invisible on some faces (eye colour with closed eyes) is scored only
    where it is visible.
    """
    if start_seed + n > HELDOUT_SEEDS_END:
        raise ValueError("held-out seeds must stay below HELDOUT_SEEDS_END")
    imgs, labels = render_batch(range(start_seed, start_seed + n), style=style)
    pred = oracle.predict(imgs)
    return {k: float((pred[k] == labels[k])[visible_mask(k, labels)].mean()) for k in ATTRIBUTES}


def expected_calibration_error(proba: np.ndarray, labels: np.ndarray, bins: int = 15) -> float:
    """ECE: the mean gap between confidence (top probability) and accuracy over equal-width
    confidence bins, weighted by the share of faces in each bin."""
    conf, correct = proba.max(1), proba.argmax(1) == labels
    idx = np.clip(np.digitize(conf, np.linspace(0, 1, bins + 1)[1:-1]), 0, bins - 1)
    return float(sum(abs(correct[idx == b].mean() - conf[idx == b].mean()) * np.mean(idx == b)
                     for b in range(bins) if np.any(idx == b)))


def oracle_report(oracle: Oracle, styles=STYLES, n: int = 1000, start_seed: int = 0) -> dict[str, dict]:
    """{style: {"accuracy": {attribute: ...}, "ece": {attribute: ...}}} on held-out seeds."""
    if start_seed + n > HELDOUT_SEEDS_END:
        raise ValueError("held-out seeds must stay below HELDOUT_SEEDS_END")
    out = {}
    for style in styles:
        imgs, labels = render_batch(range(start_seed, start_seed + n), style=style)
        proba = oracle.predict_proba(imgs)
        acc, ece = {}, {}
        for k in ATTRIBUTES:
            keep = visible_mask(k, labels)
            acc[k] = float((proba[k].argmax(1) == labels[k])[keep].mean())
            ece[k] = expected_calibration_error(proba[k][keep], labels[k][keep])
        out[style] = {"accuracy": acc, "ece": ece}
    return out


def report_markdown(report: dict[str, dict], held_out: str | None = None) -> str:
    """The report as two markdown tables (accuracy, ECE): a row per style, a column per attribute."""
    lines = []
    for key, title in (("accuracy", "accuracy"), ("ece", "expected calibration error (15 bins)")):
        lines += [f"**{title}**", "", "| style | " + " | ".join(ATTRIBUTES) + " | worst |",
                  "|---|" + "---|" * (len(ATTRIBUTES) + 1)]
        for style, r in report.items():
            vals = [r[key][k] for k in ATTRIBUTES]
            worst = min(vals) if key == "accuracy" else max(vals)
            name = f"{style} (held out)" if style == held_out else style
            lines.append(f"| {name} | " + " | ".join(f"{v:.3f}" for v in vals) + f" | {worst:.3f} |")
        lines.append("")
    return "\n".join(lines)


def save_oracle(net: OracleNet, path: Path, accuracy: dict[str, float], styles=None) -> Path:
    meta = {"format": ORACLE_FORMAT, "version": "1", "attributes": json.dumps(ATTRIBUTES),
            "heldout_accuracy": json.dumps(accuracy), "width": str(net.width)}
    if styles is not None:  # the drawing styles it trained on
        meta["training_styles"] = json.dumps(list(styles))
    return _write_oracle_file(net, meta, path)


def _write_oracle_file(net: nn.Module, meta: dict, path: Path) -> Path:
    """Weights and metadata as one safetensors file, written atomically (`core.artifacts.atomic_path`)."""
    with atomic_path(path) as tmp:
        save_file({k: v.contiguous() for k, v in net.state_dict().items()}, str(tmp), metadata=meta)
    return path


def ensemble_oracle(paths: list[Path | str], device: str | torch.device | None = None) -> Oracle:
    """One oracle that reads the mean of several oracle files' probabilities (`OracleEnsemble`); their
    metadata (training styles, held-out accuracy) goes along in `meta`, one entry per member."""
    if not 2 <= len(paths) <= MAX_MEMBERS:
        raise UserError(f"an oracle ensemble joins 2 to {MAX_MEMBERS} oracle files, not {len(paths)}")
    loaded = [load_oracle(device, path=p) for p in paths]
    if any(isinstance(o.net, OracleEnsemble) for o in loaded):
        raise UserError("join single oracles, not ensembles: list the ensemble's own member files instead")
    ensemble = OracleEnsemble([o.net for o in loaded])
    meta = {"format": ORACLE_FORMAT, "version": "1", "attributes": json.dumps(ATTRIBUTES),
            "width": str(ensemble.width), "members": json.dumps([m.width for m in ensemble.members]),
            "member_files": json.dumps([Path(p).name for p in paths]),
            "member_meta": json.dumps([o.meta for o in loaded])}
    return Oracle(ensemble.eval(), loaded[0].device, meta)


def save_oracle_ensemble(paths: list[Path | str], out: Path) -> Path:
    """`ensemble_oracle` of these files, written as one oracle file."""
    oracle = ensemble_oracle(paths)
    return _write_oracle_file(oracle.net, oracle.meta, out)


def _checked_width(path: Path, value) -> int:
    try:
        width = int(value)
    except (TypeError, ValueError):
        raise UserError(f"{path} has an unreadable width in its metadata; retrain with `latentlab train-oracle`") \
            from None
    if not 1 <= width <= MAX_WIDTH:
        raise UserError(f"{path} asks for a network {width} channels wide (at most {MAX_WIDTH}); is it an oracle file?")
    return width


def _network_for(path: Path, meta: dict) -> OracleNet | OracleEnsemble:
    """The empty network an oracle file's metadata describes, its sizes checked before anything is built."""
    if "members" not in meta:
        return OracleNet(width=_checked_width(path, meta.get("width", "24")))  # old files: 24 wide, unstated
    try:
        widths = json.loads(meta["members"])
    except json.JSONDecodeError:
        widths = None
    if not isinstance(widths, list) or not 2 <= len(widths) <= MAX_MEMBERS:
        raise UserError(f"{path} lists an unreadable or too long set of ensemble members (2 to {MAX_MEMBERS})")
    return OracleEnsemble([OracleNet(width=_checked_width(path, w)) for w in widths])


def load_oracle(device: str | torch.device | None = None, path: str | Path | None = None) -> Oracle:
    """The shipped oracle (data/oracle.safetensors) on `device` (default CPU); a file may hold one network
    or an ensemble (`save_oracle_ensemble`)."""
    path = Path(path) if path else data_path(DEFAULT_ORACLE)
    if not path.exists():
        raise UserError(f"oracle weights not found at {path}; train them with `latentlab train-oracle`")
    with safe_open(str(path), framework="pt") as f:
        meta = f.metadata() or {}
        state = {k: f.get_tensor(k) for k in f.keys()}
    try:
        attributes = json.loads(meta.get("attributes", "null"))
    except json.JSONDecodeError:
        attributes = None
    if meta.get("format") != ORACLE_FORMAT or attributes != {k: list(v) for k, v in ATTRIBUTES.items()}:
        raise UserError(f"{path} is not an oracle for the current attribute set; retrain with `latentlab train-oracle`")
    net = _network_for(path, meta)
    try:
        net.load_state_dict(state)
    except RuntimeError:
        raise UserError(f"{path} does not hold the weights its metadata describes (width {net.width}); "
                        "retrain it") from None
    dev = torch.device(device or "cpu")
    return Oracle(net.eval().to(dev), dev, meta)
