"""Wiring for the CLI, the app and the benchmark: pick the loss and encoder, invert, package the result.

Which files are used, in order:
* metric net: an explicit path; else <workspace>/models/metric_<generator id>.safetensors; else the
  shipped data/metric_default.safetensors (a warning note if it was trained for another generator);
* encoder: an explicit path (refused if trained for another generator); else
  <workspace>/models/encoder_<generator id>.safetensors; else data/encoder_default.safetensors if it
  was trained for this generator; else none;
* loss "auto": vgg16 when torchvision's VGG16 weights are installed, else metric when a metric net
  is found, else pixel.

After the projection, `invert` can tune the generator around the found latent (pivotal tuning,
`tuning.tune`); `to_latents` then records the tuned reconstruction, the target's hash (which ties the
delta file to this picture) and a verdict in words (`judge`).
"""

from __future__ import annotations

import hashlib
import warnings
from dataclasses import dataclass, field, replace
from pathlib import Path

import numpy as np
import torch

from latentlab.core.errors import UserError
from latentlab.core.latents import Latents
from latentlab.core.paths import data_path
from latentlab.generator.interface import LatentGenerator
from latentlab.inversion.encoder import Encoder, load_encoder
from latentlab.inversion.losses import (
    ReconstructionLoss,
    build_loss,
    vgg16_default_path,
)
from latentlab.inversion.metric import load_metric
from latentlab.inversion.preprocess import to_tensor
from latentlab.inversion.projector import Projection, Projector, ProjectorConfig, psnr
from latentlab.inversion.tuning import (
    Tuning,
    TuningConfig,
    image_sha256,
    tune,
    tuning_loss,
)
from latentlab.inversion.weights import GeneratorMismatchWarning, read_network

SHIPPED = {"metric": "metric_default.safetensors", "encoder": "encoder_default.safetensors"}
FORMATS = {"metric": "latentlab-metric", "encoder": "latentlab-encoder"}


def workspace_network_path(kind: str, generator_id: str, workspace: Path) -> Path:
    """Where `train-metric` / `train-encoder` write by default: <workspace>/models/<kind>_<id>.safetensors."""
    return Path(workspace) / "models" / f"{kind}_{generator_id}.safetensors"


def _trained_for(path: Path, kind: str) -> str | None:
    try:
        return read_network(path, FORMATS[kind], kind)[1].get("generator_id")
    except UserError:
        return None


def find_network(kind: str, generator_id: str, workspace: Path | None) -> tuple[Path | None, bool]:
    """(path, matches_generator) of the best available metric/encoder file, or (None, False)."""
    candidates = []
    if workspace is not None:
        candidates.append(workspace_network_path(kind, generator_id, workspace))
    candidates.append(data_path(SHIPPED[kind]))
    found = [p for p in candidates if p.is_file()]
    for p in found:
        if _trained_for(p, kind) == generator_id:
            return p, True
    return (found[-1], False) if found else (None, False)


@dataclass
class InversionSetup:
    """The loss and (optional) encoder for one generator, plus notes on what was chosen and why."""

    loss: ReconstructionLoss
    encoder: Encoder | None
    notes: list[str] = field(default_factory=list)
    files: dict[str, str] = field(default_factory=dict)

    def describe(self) -> dict:
        return {**self.loss.describe(), "encoder": self.encoder is not None, **self.files}

    def projector(self, gen: LatentGenerator, config: ProjectorConfig | None = None) -> Projector:
        """The projector for `gen` with this loss, starting from this encoder's guess (or w_avg)."""
        return Projector(gen, self.loss, self.encoder, config)


def choose_loss(gen: LatentGenerator, name: str = "auto", metric_path: str | Path | None = None,
                vgg_weights: str | Path | None = None, workspace: Path | None = None,
                notes: list[str] | None = None, files: dict | None = None) -> ReconstructionLoss:
    notes = [] if notes is None else notes
    files = {} if files is None else files
    if name == "auto":
        if vgg_weights is not None or vgg16_default_path().is_file():
            name = "vgg16"
        elif metric_path is not None or find_network("metric", gen.generator_id, workspace)[0] is not None:
            name = "metric"
        else:
            name = "pixel"
            notes.append("no VGG16 weights and no metric network found: using the pixel loss "
                         "(train a metric net with `latentlab train-metric`)")
    metric_net = None
    if name == "metric":
        path = Path(metric_path) if metric_path is not None else find_network("metric", gen.generator_id, workspace)[0]
        if path is None:
            raise UserError("no metric network for this generator; train one with `latentlab train-metric` "
                            "or choose --loss pixel")
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always", GeneratorMismatchWarning)
            metric_net = load_metric(path, gen.generator_id, strict=False, device=gen.device)
        notes.extend(str(w.message) for w in caught if issubclass(w.category, GeneratorMismatchWarning))
        files["metric_file"] = str(path)
        files["metric_generator_id"] = str(metric_net.generator_id)
    if name == "vgg16":
        files["vgg_weights"] = str(vgg_weights or vgg16_default_path())
    return build_loss(name, metric_net=metric_net, vgg_weights=vgg_weights, device=gen.device)


def choose_encoder(gen: LatentGenerator, use: bool | None = None, path: str | Path | None = None,
                   workspace: Path | None = None, notes: list[str] | None = None,
                   files: dict | None = None) -> Encoder | None:
    """use=None: the encoder if one for this generator exists; True: required; False: none."""
    notes = [] if notes is None else notes
    files = {} if files is None else files
    if use is False:
        return None
    if path is not None:
        enc = load_encoder(path, gen.generator_id, strict=True, device=gen.device)
        files["encoder_file"] = str(path)
        return enc
    found, matches = find_network("encoder", gen.generator_id, workspace)
    if found is not None and matches:
        files["encoder_file"] = str(found)
        return load_encoder(found, gen.generator_id, strict=True, device=gen.device)
    msg = ("no encoder trained for this generator" + (f" ({found} is for another one)" if found else "")
           + "; starting from w_avg (train one with `latentlab train-encoder`)")
    if use:
        raise UserError(msg.replace("; starting from w_avg", ""))
    notes.append(msg)
    return None


def setup_inversion(gen: LatentGenerator, loss: str = "auto", encoder: bool | None = None,
                    metric_path: str | Path | None = None, encoder_path: str | Path | None = None,
                    vgg_weights: str | Path | None = None, workspace: Path | None = None) -> InversionSetup:
    notes: list[str] = []
    files: dict[str, str] = {}
    loss_fn = choose_loss(gen, loss, metric_path, vgg_weights, workspace, notes, files)
    enc = choose_encoder(gen, encoder, encoder_path, workspace, notes, files)
    return InversionSetup(loss_fn, enc, notes, files)


PIVOT_LOSSES = ("pixel", "same")  # `invert --pivot-loss` (the CLI names them without importing this module)


def pivot_setup(setup: InversionSetup, name: str = "pixel") -> InversionSetup:
    """The setup that finds the pivot of pivotal tuning: this setup's encoder start with the `name` loss
    ("same": this setup unchanged; the tuning itself always uses `setup`'s loss).

    Why pixel by default (docs/inversion.md, 24 held-out-style faces): pixel pivots keep the target's
    colours (hair, eyes) where the metric net's features let them drift, so the tuning has less to change
    and the reconstruction ends closer and sooner."""
    if name not in PIVOT_LOSSES:
        raise UserError(f"unknown pivot loss {name!r}; choose one of {', '.join(PIVOT_LOSSES)}")
    if name == "same" or setup.loss.name == name:
        return setup
    return InversionSetup(build_loss(name), setup.encoder, setup.notes, setup.files)


PIVOT_PRIOR = 0.1  # the pivot's latent prior weight (ProjectorConfig.prior) when tuning follows


def pivot_config(cfg: ProjectorConfig, prior: float | None = None) -> ProjectorConfig:
    """`cfg` with the latent prior of a pivot for tuning (default PIVOT_PRIOR; 0 = a free pivot).

    Why (docs/inversion.md, 24 held-out-style faces): left free, a pivot for another artist's face lands
    14 squared Mahalanobis units per dimension from sampled W (a sample: about 1) where the fitted directions
    flip far less; held near sampled W it costs the tuning under 1 dB and edits flip more often."""
    return replace(cfg, prior=PIVOT_PRIOR if prior is None else float(prior))


def encoder_start(enc: Encoder | None, images_uint8: np.ndarray, device: torch.device) -> np.ndarray | None:
    """The encoder's guess of w [N, w_dim] for uint8 images, or None without an encoder."""
    if enc is None:
        return None
    with torch.no_grad():
        return enc(to_tensor(images_uint8, device)).float().cpu().numpy()


def invert(gen: LatentGenerator, images_uint8: np.ndarray, setup: InversionSetup,
           cfg: ProjectorConfig | None = None, callback=None, progress: bool = False) -> Projection:
    """Project uint8 images [N, R, R, 3] (or one [R, R, 3]) with the setup's loss and encoder start:
    `setup.projector(gen, cfg)(images_uint8, callback=callback, progress=progress)`, the loss's name kept in
    the projection's `meta["loss"]` (a latent file records it as `pivot_loss`)."""
    proj = setup.projector(gen, cfg)(images_uint8, callback=callback, progress=progress)
    proj.meta["loss"] = setup.loss.name
    return proj


def tune_projection(gen: LatentGenerator, proj: Projection, target: np.ndarray, setup: InversionSetup,
                    cfg: TuningConfig | None = None, callback=None) -> Tuning:
    """Pivotal tuning around the first projected latent (its W code in space "w", else its W+ codes)."""
    target = target[0] if target.ndim == 4 else target
    pivot = proj.ws[0, 0] if proj.config.space == "w" else proj.ws[0]
    return tune(gen, pivot, target, tuning_loss(setup.loss), cfg, callback=callback)


# -- the verdict --------------------------------------------------------------------------------------
VERDICTS = ("close", "approximate", "poor: edits will be unreliable")
CLOSE_PSNR, APPROXIMATE_PSNR = 30.0, 22.0  # dB
CLOSE_PERCEPTUAL, APPROXIMATE_PERCEPTUAL = 0.10, 0.35  # the loss's perceptual distance, in [0, 4]


def judge(psnr_db: float, perceptual: float | None = None) -> str:
    """A reconstruction in words: "close" (>= 30 dB and perceptual <= 0.10: details kept), "approximate"
    (>= 22 dB and <= 0.35: the face, not every detail), else "poor: edits will be unreliable"."""
    if psnr_db >= CLOSE_PSNR and (perceptual is None or perceptual <= CLOSE_PERCEPTUAL):
        return VERDICTS[0]
    if psnr_db >= APPROXIMATE_PSNR and (perceptual is None or perceptual <= APPROXIMATE_PERCEPTUAL):
        return VERDICTS[1]
    return VERDICTS[2]


def verdict(reconstruction: np.ndarray, target: np.ndarray, setup: InversionSetup) -> dict:
    """{"verdict", "psnr_db", "perceptual" (None for the pixel loss), thresholds} of one uint8 image pair."""
    value = float(psnr(reconstruction, target)[0])
    perceptual = None
    if setup.loss.perceptual is not None:
        device = next(iter(setup.loss.parameters()), torch.zeros(())).device
        with torch.no_grad():
            perceptual = float(setup.loss.perceptual(to_tensor(reconstruction[None] if reconstruction.ndim == 3
                                                               else reconstruction, device),
                                                     to_tensor(target[None] if target.ndim == 3 else target, device))[0])
    return {"verdict": judge(value, perceptual), "psnr_db": round(value, 3),
            "perceptual": None if perceptual is None else round(perceptual, 4),
            "thresholds": {"close": [CLOSE_PSNR, CLOSE_PERCEPTUAL], "approximate": [APPROXIMATE_PSNR,
                                                                                  APPROXIMATE_PERCEPTUAL]}}


def describe_verdict(v: dict) -> str:
    """One line: 'close (32.1 dB, perceptual 0.041)'."""
    extra = f", perceptual {v['perceptual']:.3f}" if v.get("perceptual") is not None else ""
    return f"{v['verdict']} ({v['psnr_db']:.1f} dB{extra})"


def to_latents(gen: LatentGenerator, proj: Projection, target: np.ndarray, setup: InversionSetup,
               source: dict | None = None, tuning: Tuning | None = None) -> Latents:
    """A latent file's content: w (space "w") or ws ("w+"), the reconstruction, and how it was made.

    With a tuning, the reconstruction is the tuned one (its delta file must be saved next to the latent
    file: `tuning.delta_path`); the untuned figures stay in the metadata as `pivot_psnr_db`.
    """
    target = target[None] if target.ndim == 3 else target
    images = proj.images if tuning is None else tuning.image[None]
    meta = {
        "kind": "inversion",
        "space": proj.config.space,
        "projector": {k: v for k, v in vars(proj.config).items()},
        **setup.describe(),
        "init": proj.meta.get("init"),
        "pivot_loss": proj.meta.get("loss", setup.loss.name),
        "final_loss": [float(v) for v in proj.final_loss],
        "psnr_db": [round(float(v), 3) for v in psnr(images, target)],
        "pivot_psnr_db": [round(float(v), 3) for v in psnr(proj.images, target)],
        "seconds": round(proj.seconds + (tuning.seconds if tuning is not None else 0.0), 2),
        "noise_optimized": proj.noise_maps is not None,
        "target_sha256": [image_sha256(t) for t in target] if len(target) > 1 else image_sha256(target[0]),
        "tuned": tuning is not None,
        **(source or {}),
    }
    if tuning is not None:
        meta["tuning"] = {**{k: v for k, v in vars(tuning.config).items()}, "steps_run": len(tuning.loss_history),
                          "seconds": round(tuning.seconds, 2)}
    meta["verdict"] = verdict(images[0], target[0], setup)
    if proj.config.space == "w":
        return Latents(generator_id=gen.generator_id, w=proj.ws[:, 0], images=images, meta=meta)
    return Latents(generator_id=gen.generator_id, ws=proj.ws, images=images, meta=meta)


def file_digest(path: str | Path) -> str:
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()[:16]
