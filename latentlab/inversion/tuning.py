"""Pivotal tuning (PTI, Roich et al. 2021): after the projector found a pivot latent, fine-tune the
generator's synthesis weights for this one image, so that details no latent reaches (glasses, bows,
hairpins, eye highlights, another artist's line style) come back.

* Only the synthesis network is tuned; the mapping network and `w_avg` stay as they are, so W (and
  every direction fitted in it) keeps its meaning.
* Tuned: the synthesis weights and the constant noise maps (per-pixel detail at every resolution:
  they bring back thin lines, highlights and small accessories fastest).
* Loss: `perceptual + pixel_weight * pixel` on the target (`tuning_loss`: the projector's perceptual
  term with the pixel term weighted up, since the pivot already has the shapes; pixels of the drawing
  count `foreground_weight` times more than the background colour's, so the face is reconstructed as
  closely as the flat background), plus a **locality regulariser**: at latents `w_r` sampled around the pivot
  (`pivot + radius * w_std * unit(w_rand - pivot)`, radius drawn in `locality_radius`), the tuned
  generator must draw what the original one drew (pixel MSE + perceptual, weight `locality_weight`).
  Edits move the pivot by about that much, so they keep behaving as on the original generator.
* The result is a **delta**: float16 differences of the tuned weights from the original ones.
  The tuned generator that draws the reconstruction is *original + float16 delta*, exactly what
  loading the delta file rebuilds, so a saved and reloaded delta gives identical pixels.

A delta file (`<latent stem>_tuning.safetensors`, next to the latent file) is safetensors + JSON
metadata: format, version, the generator id it was tuned on and the SHA-256 of the target pixels
it reproduces; besides the weight deltas it holds the pivot (float32), so an edited copy of the latent
file (whose first code is no longer the pivot) still blends its edits around the right drawing.
Loading checks both ids: a delta for another generator or another image is refused.
`generator_for_latents` is what `edit`, `animate` and the app call: it returns the tuned generator
when a matching delta sits next to the latent file, else the generator unchanged.

Edits: a tuned generator that knows its pivot draws latents away from it with a `blend.RegionBlend`
(the original generator's drawing where the edit changes it and the tuned one does not follow, the
tuned one elsewhere): the tuned weights alone resist edits (docs/inversion.md). At the pivot the
drawing is the tuned one exactly.
"""

from __future__ import annotations

import copy
import hashlib
import json
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np
import torch

from latentlab.core import artifacts
from latentlab.core.errors import UserError
from latentlab.generator.interface import (
    LatentGenerator,
    map_latents,
    sample_z,
    to_uint8,
)
from latentlab.inversion.blend import RegionBlend, blend_edit
from latentlab.inversion.preprocess import to_tensor

TUNING_FORMAT = "latentlab-tuning"
TUNING_VERSION = "2"  # 2: the pivot travels with the delta (1: the latent file's first code is the pivot)
PIVOT_KEY = "pivot"  # the tensor next to the weight deltas: the latent the weights were tuned around
DELTA_SUFFIX = "_tuning.safetensors"

Loss = Callable[[torch.Tensor, torch.Tensor], torch.Tensor]  # (images, target) [N,3,R,R] -> per-sample [N]


class Cancelled(Exception):
    """Raised by a progress callback to stop a projection or a tuning at once (the app's Cancel)."""


@dataclass
class TuningConfig:
    """Every knob of pivotal tuning, with the defaults `latentlab invert` uses."""

    steps: int = 90  # Adam steps on the synthesis weights
    lr: float = 2e-3  # Adam rate, in units of the stored (equalised) weights, which are ~N(0, 1); 5e-3 before (docs)
    lr_rampup: float = 0.1  # linear warm-up over this first fraction of the steps
    lr_rampdown: float = 0.3  # cosine cool-down over this last fraction of the steps
    locality_weight: float = 0.3  # weight of the locality regulariser (0 = off, as PTI's default)
    locality_samples: int = 2  # latents around the pivot per regularised step
    locality_every: int = 2  # regularise every this many steps (halves its cost)
    locality_radius: tuple[float, float] = (0.3, 1.0)  # their distance from the pivot, in units of w_std
    target_psnr: float | None = None  # stop early once the reconstruction reaches this PSNR (dB)
    tune_noise: bool = True  # tune the constant noise maps too (per-pixel detail at every resolution)
    # the pixel term counts pixels of the drawing (not the background colour) this many times more: the
    # face, not the flat background, is what a user judges (`foreground_emphasis`; 1 = every pixel alike)
    foreground_weight: float = 8.0
    # and pixels that stand out from their 3x3 neighbourhood (lines, a mouth's inside, highlights, small
    # accessories) up to 1 + this many times more again: small saturated details are what the oracle
    # reads and the plain pixel term lets fade (`detail_emphasis`; 0 = off, as before 2026-12; docs/inversion.md)
    detail_weight: float = 4.0
    noise_lr: float = 0.5  # Adam rate of the noise maps (unit variance)
    seed: int = 0
    preview_every: int = 10

    def __post_init__(self) -> None:
        if self.steps < 1:
            raise UserError(f"tuning needs at least 1 step, got {self.steps}")
        if not 1.0 <= self.foreground_weight <= 100.0:
            raise UserError(f"the foreground weight must be between 1 and 100, got {self.foreground_weight}")
        if not 0.0 <= self.detail_weight <= 100.0:
            raise UserError(f"the detail weight must be between 0 and 100, got {self.detail_weight}")
        self.locality_radius = tuple(float(r) for r in self.locality_radius)


@dataclass
class TuningStep:
    """What a callback sees: 1-based step, the target loss before the step's update, and at preview steps
    the reconstruction drawn by the tuned weights after the update."""

    step: int
    steps: int
    loss: float
    image: np.ndarray | None  # uint8 [1, R, R, 3] at preview steps


@dataclass
class Tuning:
    """A finished tuning: the float16 delta (name -> tensor, synthesis weights only) and what it gives."""

    delta: dict[str, torch.Tensor]
    generator: TunedGenerator  # original + delta: draws `image`
    image: np.ndarray  # uint8 [R, R, 3], the tuned reconstruction of the pivot
    pivot_image: np.ndarray  # uint8 [R, R, 3], the original generator's drawing of the pivot
    loss_history: list[float]
    seconds: float
    config: TuningConfig
    image_sha256: str
    meta: dict = field(default_factory=dict)


def tuning_loss(loss: torch.nn.Module, pixel_weight: float = 10.0) -> torch.nn.Module:
    """The tuning loss: the projector's perceptual term (if any) with the pixel term weighted `pixel_weight`."""
    from latentlab.inversion.losses import ReconstructionLoss

    perceptual = getattr(loss, "perceptual", None)
    weight = getattr(loss, "perceptual_weight", 0.0)
    return ReconstructionLoss(perceptual, weight, pixel_weight, f"{getattr(loss, 'name', 'custom')} + {pixel_weight:g} pixel")


FOREGROUND_THRESHOLD = 24  # grey levels away from the background colour that make a pixel part of the drawing


def foreground_mask(images: np.ndarray, threshold: int = FOREGROUND_THRESHOLD) -> np.ndarray:
    """bool [N, H, W] of uint8 images [N, H, W, 3]: pixels that differ from the background colour (the median
    of the two top corner patches) by more than `threshold` in some channel. A busy background simply
    makes most pixels foreground."""
    images = np.asarray(images)
    k = max(2, images.shape[1] // 16)
    corners = np.concatenate([images[:, :k, :k], images[:, :k, -k:]], axis=1).reshape(len(images), -1, 3)
    bg = np.median(corners, axis=1)[:, None, None, :]
    return np.abs(images.astype(np.int16) - bg.astype(np.int16)).max(axis=-1) > threshold


def foreground_emphasis(target: np.ndarray, weight: float, device: torch.device | str = "cpu") -> torch.Tensor | None:
    """Per-pixel weights [1, 1, R, R] with mean 1 for a uint8 target [R, R, 3]: `weight` times more on its
    foreground than on its background. None for weight 1 or a target that is all one or the other."""
    mask = foreground_mask(np.asarray(target)[None])[0]
    if weight == 1.0 or mask.all() or not mask.any():
        return None
    emphasis = torch.as_tensor(1.0 + (weight - 1.0) * mask, dtype=torch.float32, device=device)
    return (emphasis / emphasis.mean())[None, None]


def detail_emphasis(target: np.ndarray, weight: float, device: torch.device | str = "cpu") -> torch.Tensor | None:
    """Per-pixel weights [1, 1, R, R] with mean 1 for a uint8 target [R, R, 3]: 1 + `weight` × how far
    each pixel stands out from its 3x3 neighbourhood's mean (largest channel, scaled so the most
    distinct pixel is 1). None for weight 0 or a flat target."""
    if weight == 0.0:
        return None
    y = torch.from_numpy(np.array(target, dtype=np.float32)).to(device).permute(2, 0, 1)[None] / 255.0
    local = torch.nn.functional.avg_pool2d(y, 3, stride=1, padding=1, count_include_pad=False)
    distinct = (y - local).abs().amax(dim=1, keepdim=True)  # [1, 1, R, R]
    if float(distinct.max()) == 0.0:
        return None
    emphasis = 1.0 + weight * distinct / distinct.max()
    return emphasis / emphasis.mean()


def pixel_emphasis(target: np.ndarray, cfg: TuningConfig, device: torch.device | str = "cpu") -> torch.Tensor | None:
    """The tuning's per-pixel weights (mean 1): the foreground's times the details' (None: every pixel alike)."""
    parts = [e for e in (foreground_emphasis(target, cfg.foreground_weight, device),
                         detail_emphasis(target, cfg.detail_weight, device)) if e is not None]
    if not parts:
        return None
    emphasis = parts[0] if len(parts) == 1 else parts[0] * parts[1]
    return emphasis / emphasis.mean()


def emphasised(loss: Loss, x: torch.Tensor, y: torch.Tensor, emphasis: torch.Tensor | None) -> torch.Tensor:
    """`loss(x, y)` per sample [N], its pixel term weighted per pixel by `emphasis` (mean 1): a
    `ReconstructionLoss`'s perceptual term is kept as it is. Other losses are used unweighted."""
    return to_target(loss, y, emphasis)(x)


def to_target(loss: Loss, y: torch.Tensor, emphasis: torch.Tensor | None) -> Callable[[torch.Tensor], torch.Tensor]:
    """`x -> emphasised(loss, x, y, emphasis)` for a fixed target y: the perceptual features of y are
    computed once (`losses.distance_to`), not at every tuning step."""
    from latentlab.inversion.losses import distance_to

    if not hasattr(loss, "pixel_weight"):  # not a ReconstructionLoss: used as it is
        return lambda x: loss(x, y)
    perceptual = getattr(loss, "perceptual", None)
    to_y = distance_to(perceptual, y) if perceptual is not None and loss.perceptual_weight else None

    def distance(x: torch.Tensor) -> torch.Tensor:
        err = (x - y).square() if emphasis is None else emphasis * (x - y).square()
        out = loss.pixel_weight * err.mean(dim=(1, 2, 3))
        return out + loss.perceptual_weight * to_y(x) if to_y is not None else out
    return distance


def image_sha256(image: np.ndarray) -> str:
    """SHA-256 of a uint8 [R, R, 3] target's pixels: the identity of the picture a delta reproduces."""
    image = np.ascontiguousarray(np.asarray(image, np.uint8))
    h = hashlib.sha256(f"{image.shape}".encode())
    h.update(image.tobytes())
    return h.hexdigest()


class TunedGenerator(torch.nn.Module):
    """The generator interface over an original generator and a per-image tuned copy of its synthesis.

    Mapping, `w_avg` and the generator id are the original's (a latent file, a direction set fitted on
    the original generator work unchanged); `synthesis` draws with the tuned weights, and, given the
    pivot and a blend, mixes in the original generator's drawing where a latent's edit changes it
    (`blend.RegionBlend`; blend None: the tuned weights alone).
    """

    def __init__(self, base: LatentGenerator, tuned: torch.nn.Module, image_sha256: str, source: str | None = None,
                 pivot: np.ndarray | torch.Tensor | None = None, blend: RegionBlend | None = None):
        super().__init__()
        self.base = base
        self.tuned = tuned
        self.image_sha256 = image_sha256
        self.source = source  # the delta file, when loaded from one
        self.pivot = None if pivot is None else torch.as_tensor(np.asarray(pivot, np.float32)).reshape(
            -1, base.w_dim)  # [1, w_dim] (W) or [num_ws, w_dim] (W+)
        self.blend = blend
        self._references: tuple[torch.Tensor, torch.Tensor] | None = None  # (original, tuned) drawings of the pivot

    def with_blend(self, blend: RegionBlend | None) -> TunedGenerator:
        """The same tuned generator drawing edits with another blend (None: the tuned weights alone)."""
        return TunedGenerator(self.base, self.tuned, self.image_sha256, self.source, self.pivot, blend)

    z_dim = property(lambda self: self.base.z_dim)
    w_dim = property(lambda self: self.base.w_dim)
    num_ws = property(lambda self: self.base.num_ws)
    resolution = property(lambda self: self.base.resolution)
    w_avg = property(lambda self: self.base.w_avg)
    device = property(lambda self: self.base.device)
    generator_id = property(lambda self: self.base.generator_id)

    def mapping(self, z: torch.Tensor, truncation_psi: float = 1.0, **kw) -> torch.Tensor:
        return self.base.mapping(z, truncation_psi, **kw)

    def synthesis(self, ws: torch.Tensor, noise_mode: str = "const") -> torch.Tensor:
        drawn = self.tuned.synthesis(ws, noise_mode=noise_mode)
        if self.pivot is None or self.blend is None:
            return drawn
        if self._references is None or self._references[0].device != drawn.device:
            pivot = (self.pivot if len(self.pivot) > 1 else self.pivot[0])[None].to(drawn.device)
            with torch.no_grad():
                self._references = (self.base.synthesis(pivot, noise_mode="const"),
                                    self.tuned.synthesis(pivot, noise_mode="const"))
        original, tuned = self._references
        return blend_edit(drawn, tuned, self.base.synthesis(ws, noise_mode=noise_mode), original, self.blend)

    def __getattr__(self, name: str):
        try:
            return super().__getattr__(name)
        except AttributeError:
            return getattr(self._modules["tuned"], name)


def _synthesis_parameters(gen: torch.nn.Module, noise: bool = True) -> dict[str, torch.Tensor]:
    """name -> tensor of the generator's synthesis network that tuning may change: its parameters and
    (noise=True) its constant noise maps."""
    synthesis = getattr(gen, "synthesis_net", None)
    if not isinstance(gen, torch.nn.Module) or not isinstance(synthesis, torch.nn.Module):
        raise UserError("pivotal tuning needs a latentlab StyleGAN2/StyleGAN3 generator (a .safetensors, .pt or .pkl "
                        "checkpoint, not TorchScript); invert with --no-tune")
    tensors = {f"synthesis_net.{k}": p for k, p in synthesis.named_parameters()}
    if noise:
        tensors.update({f"synthesis_net.{k}": b for k, b in synthesis.named_buffers() if k.endswith("noise_const")})
    return tensors


def _copy_for_tuning(gen: LatentGenerator) -> torch.nn.Module:
    _synthesis_parameters(gen)  # refuses generators without a synthesis network
    tuned = copy.deepcopy(gen)
    tuned.requires_grad_(False)
    return tuned


@torch.no_grad()
def apply_delta(gen: LatentGenerator, delta: dict[str, torch.Tensor], image_hash: str,
                source: str | None = None, pivot: np.ndarray | torch.Tensor | None = None,
                blend: RegionBlend | None = RegionBlend()) -> TunedGenerator:
    """original + float16 delta, as a `TunedGenerator` (the original is left untouched); given the pivot,
    edits are drawn with `blend`."""
    tuned = _copy_for_tuning(gen)
    params = _synthesis_parameters(tuned)
    unknown = sorted(set(delta) - set(params))
    if unknown:
        raise UserError(f"{source or 'this delta'} changes weights this generator does not have ({unknown[0]}); "
                        "invert the picture again")
    for name, d in delta.items():
        p = params[name]
        if tuple(d.shape) != tuple(p.shape):
            raise UserError(f"{source or 'this delta'} does not fit this generator's weights ({name}); "
                            "invert the picture again")
        p.add_(d.to(p.device, torch.float32))
    return TunedGenerator(gen, tuned.eval(), image_hash, source, pivot, blend)


def _learning_rate(cfg: TuningConfig, t: float) -> float:
    """The rate at progress t in [0, 1): linear warm-up, cosine cool-down (the projector's ramp)."""
    ramp = min(1.0, (1.0 - t) / cfg.lr_rampdown) if cfg.lr_rampdown > 0 else 1.0
    ramp = 0.5 - 0.5 * np.cos(ramp * np.pi)
    if cfg.lr_rampup > 0:
        ramp *= min(1.0, (t + 1.0 / max(cfg.steps, 1)) / cfg.lr_rampup)
    return float(cfg.lr * ramp)


def _psnr_t(x: torch.Tensor, y: torch.Tensor) -> float:
    mse = float(((x.clamp(-1, 1) - y) * 127.5).square().mean())
    return 10 * np.log10(255.0 ** 2 / max(mse, 1e-10))


def locality_latents(gen: LatentGenerator, pivot: torch.Tensor, n: int, radius: tuple[float, float], w_std: float,
                     rng: np.random.Generator) -> torch.Tensor:
    """n latents around the pivot [num_ws, w_dim] (or [w_dim]): pivot + r * w_std * unit(w_rand - pivot),
    r uniform in `radius`, w_rand a generator sample; same shape as the pivot with a leading [n]."""
    w_rand = torch.from_numpy(map_latents(gen, sample_z(n, int(rng.integers(2**31)), gen.z_dim))).to(pivot.device)
    if pivot.ndim == 2:
        w_rand = w_rand[:, None, :].expand(n, *pivot.shape)
    d = w_rand - pivot[None]
    norm = d.flatten(1).norm(dim=1).clamp_min(1e-8).view(n, *([1] * pivot.ndim))
    if pivot.ndim == 2:
        norm = norm / np.sqrt(pivot.shape[0])  # per layer, w_std is a per-w distance
    r = torch.from_numpy(rng.uniform(*radius, n).astype(np.float32)).to(pivot.device).view(n, *([1] * pivot.ndim))
    return pivot[None] + r * w_std * d / norm


def tune(gen: LatentGenerator, pivot: np.ndarray | torch.Tensor, target: np.ndarray | torch.Tensor, loss: Loss,
         cfg: TuningConfig | None = None, w_std: float | None = None,
         callback: Callable[[TuningStep], None] | None = None) -> Tuning:
    """Fine-tune a copy of `gen`'s synthesis weights so that it draws `target` at `pivot`.

    pivot: w [w_dim] / [1, w_dim] or ws [num_ws, w_dim] / [1, num_ws, w_dim]; target: uint8 [R, R, 3] (or
    [1, ...]) or float [1, 3, R, R] in [-1, 1]. `loss(images, target)` gives a per-sample loss [N]
    (the projector's, e.g. metric + pixel); towards the target its pixel term counts the drawing
    `cfg.foreground_weight` times more than the background and its details up to `1 + cfg.detail_weight`
    times more (`pixel_emphasis`, `emphasised`); the locality term is unweighted.
    `w_std`: the locality unit (default: measured on `gen`).
    A callback may raise `Cancelled` to stop. The original generator is never changed.
    """
    from latentlab.inversion.samples import w_statistics

    cfg = cfg if cfg is not None else TuningConfig()
    started = time.time()
    target_u8 = target if isinstance(target, np.ndarray) else to_uint8(target)
    target_u8 = target_u8[0] if target_u8.ndim == 4 else target_u8
    y = to_tensor(target_u8[None], gen.device).float()  # [1, 3, R, R]
    emphasis = pixel_emphasis(target_u8, cfg, gen.device)  # [1, 1, R, R] or None
    pivot = torch.as_tensor(np.asarray(pivot, np.float32)) if not isinstance(pivot, torch.Tensor) else pivot
    pivot = pivot.detach().float().to(gen.device)
    if pivot.ndim == 3 or (pivot.ndim == 2 and pivot.shape[0] == 1):
        pivot = pivot[0]  # [w_dim] (W) or [num_ws, w_dim] (W+)
    w_std = w_std if w_std is not None else w_statistics(gen)[1]
    rng = np.random.default_rng(cfg.seed)

    tuned = _copy_for_tuning(gen)
    params = _synthesis_parameters(tuned, noise=cfg.tune_noise)
    originals = {k: p.detach().clone() for k, p in params.items()}
    for p in params.values():
        p.requires_grad_(True)
    weights = [p for k, p in params.items() if not k.endswith("noise_const")]
    noise = [p for k, p in params.items() if k.endswith("noise_const")]
    groups = [{"params": weights, "scale": 1.0}] + ([{"params": noise, "scale": cfg.noise_lr / cfg.lr}] if noise else [])
    opt = torch.optim.Adam(groups, lr=cfg.lr, betas=(0.9, 0.999))
    with torch.no_grad():
        pivot_image = gen.synthesis(pivot[None], noise_mode="const")
    target_distance = to_target(loss, y, emphasis)  # the target's features once, not every step
    history: list[float] = []
    with torch.enable_grad():
        for i in range(cfg.steps):
            for group in opt.param_groups:
                group["lr"] = _learning_rate(cfg, i / cfg.steps) * group["scale"]
            local = cfg.locality_weight > 0 and cfg.locality_samples > 0 and i % max(cfg.locality_every, 1) == 0
            if local:  # the pivot and the locality latents in one batch: one pass instead of two
                w_r = locality_latents(gen, pivot, cfg.locality_samples, cfg.locality_radius, w_std, rng)
                with torch.no_grad():
                    ref = gen.synthesis(w_r, noise_mode="const")
                drawn = tuned.synthesis(torch.cat([pivot[None], w_r]), noise_mode="const")
                x = drawn[:1]
            else:
                x = tuned.synthesis(pivot[None], noise_mode="const")
            rec = target_distance(x).sum()
            total = rec
            if local:
                total = total + cfg.locality_weight * loss(drawn[1:], ref).mean()
            opt.zero_grad(set_to_none=True)
            total.backward()
            opt.step()
            history.append(float(rec.detach()))
            preview = None
            done = cfg.target_psnr is not None and _psnr_t(x.detach(), y) >= cfg.target_psnr
            if callback is not None:
                if (i + 1) % max(cfg.preview_every, 1) == 0 or i + 1 == cfg.steps or done:
                    with torch.no_grad():
                        preview = to_uint8(tuned.synthesis(pivot[None], noise_mode="const"))
                callback(TuningStep(i + 1, cfg.steps, history[-1], preview))
            if done:
                break
    delta = {k: (p.detach() - originals[k]).to("cpu", torch.float16).contiguous() for k, p in params.items()}
    image_hash = image_sha256(target_u8)
    result = apply_delta(gen, delta, image_hash, pivot=pivot.cpu())  # exactly what loading the delta file rebuilds
    with torch.no_grad():  # at the pivot the blend draws the tuned weights' drawing exactly: no need to blend
        image = to_uint8(result.tuned.synthesis(pivot[None], noise_mode="const"))[0]
    return Tuning(delta=delta, generator=result, image=image, pivot_image=to_uint8(pivot_image)[0],
                  loss_history=history, seconds=time.time() - started, config=cfg, image_sha256=image_hash,
                  meta={"steps_run": len(history), "w_std": float(w_std)})


# -- delta files --------------------------------------------------------------------------------------
def delta_path(latent_path: str | Path) -> Path:
    """Where a latent file's delta lives: `<folder>/<stem>_tuning.safetensors`."""
    latent_path = Path(latent_path)
    return latent_path.with_name(latent_path.stem + DELTA_SUFFIX)


def save_delta(path: str | Path, tuning: Tuning, generator_id: str, extra: dict | None = None) -> Path:
    """Write the float16 delta with its metadata (safetensors, atomic)."""
    from safetensors.torch import save_file

    meta = {"format": TUNING_FORMAT, "version": TUNING_VERSION, "generator_id": generator_id,
            "image_sha256": tuning.image_sha256, "config": json.dumps(asdict(tuning.config)),
            "extra": json.dumps({**tuning.meta, **(extra or {})})}
    tensors = dict(tuning.delta)
    if tuning.generator.pivot is not None:
        tensors[PIVOT_KEY] = tuning.generator.pivot.to("cpu", torch.float32).contiguous()
    with artifacts.atomic_path(path) as tmp:
        save_file(tensors, str(tmp), metadata=meta)
    return Path(path)


def read_delta(path: str | Path) -> tuple[dict[str, torch.Tensor], dict]:
    """(delta tensors, metadata) of a delta file; UserError for anything that is not one."""
    from latentlab.inversion.weights import read_safetensors

    tensors, meta = read_safetensors(path, "tuning",
                                     "{path} is not a readable tuning file ({error}); invert the picture again")
    if meta.get("format") != TUNING_FORMAT:
        raise UserError(f"{path} is not a latentlab tuning file (format {meta.get('format')!r})")
    if int(meta.get("version", "0") or 0) > int(TUNING_VERSION):
        raise UserError(f"{path} was written by a newer latentlab; upgrade latentlab to read it")
    return tensors, meta


def load_delta(path: str | Path, gen: LatentGenerator, image_hash: str | None,
               pivot: np.ndarray | torch.Tensor | None = None, blend: RegionBlend | None = RegionBlend()) -> TunedGenerator:
    """The tuned generator a delta file describes, refusing a delta made for another generator or image.

    image_hash: SHA-256 of the target pixels the caller expects (a latent file's `target_sha256`);
    None skips that check (only for tools that inspect a delta on its own). blend: how edits are drawn
    (`TunedGenerator`) around the pivot the file holds; `pivot` stands in for it in version-1 files.
    """
    path = Path(path)
    delta, meta = read_delta(path)
    stored = delta.pop(PIVOT_KEY, None)
    artifacts.check_generator_id(meta.get("generator_id"), gen.generator_id, f"tuning file {path}",
                                 made="was tuned on", remedy="load that generator, or invert the picture again")
    if image_hash is not None and meta.get("image_sha256") != image_hash:
        raise UserError(f"tuning file {path} was made for another picture than this latent file's; delete it "
                        "or invert the picture again")
    if stored is not None:
        if stored.numel() not in (gen.w_dim, gen.num_ws * gen.w_dim) or not torch.isfinite(stored).all():
            raise UserError(f"{path} holds a pivot of shape {tuple(stored.shape)} that is no finite latent of "
                            "this generator; invert the picture again")
        pivot = stored  # the latent the weights were tuned around, whatever the latent file holds now
    return apply_delta(gen, delta, meta.get("image_sha256", ""), str(path), pivot, blend)


def generator_for_latents(gen: LatentGenerator, latent_path: str | Path | None, meta: dict | None = None,
                          blend: RegionBlend | None = RegionBlend()):
    """The generator to draw a latent file with: tuned when its delta sits next to it, else `gen`.

    meta: the latent file's metadata (its `target_sha256` must match the delta's image); read from
    the file when not given. A latent file that was tuned but lost its delta is drawn untuned. Edits
    away from the pivot (held by the delta; in version-1 deltas, the latent file's first code) are drawn
    with `blend` (None: the tuned weights alone).
    """
    if latent_path is None:
        return gen
    path = delta_path(latent_path)
    if not path.is_file():
        return gen
    from latentlab.core.latents import load_latents

    latents = load_latents(latent_path)
    meta = latents.meta if meta is None else meta
    expected = meta.get("target_sha256")
    if expected is None:
        raise UserError(f"{path} sits next to {Path(latent_path).name}, which records no target picture to check it "
                        "against; delete the tuning file or invert the picture again")
    pivot = latents.w[0] if latents.w is not None else latents.ws[0] if latents.ws is not None else None
    return load_delta(path, gen, expected, pivot, blend)


__all__ = [
    "DELTA_SUFFIX",
    "Cancelled",
    "TunedGenerator",
    "Tuning",
    "TuningConfig",
    "TuningStep",
    "apply_delta",
    "delta_path",
    "generator_for_latents",
    "image_sha256",
    "load_delta",
    "locality_latents",
    "read_delta",
    "save_delta",
    "tune",
    "tuning_loss",
]
