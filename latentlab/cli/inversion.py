"""CLI subcommands of the inversion stage: invert, train-metric, train-encoder."""

from __future__ import annotations

import argparse
from pathlib import Path

from latentlab.cli import common
from latentlab.cli.common import generator_from_args, log
from latentlab.core.errors import UserError
from latentlab.core.progress import progress_enabled

# latentlab.inversion's LOSSES and SPACES, written out so that `--help` needs no torch (a test keeps them equal)
LOSSES = ("metric", "vgg16", "pixel")
SPACES = ("w", "w+")
# `invert` on CPU with --threads 0: generators this small invert one image on one thread (measured on 2
# idle cores, 64 px: 10.8-12.2 s a face with one thread, 19.7-21.7 s with two; docs/inversion.md)
SMALL_GENERATOR_PX = 64


def _cmd_invert(args: argparse.Namespace) -> None:
    from PIL import Image

    from latentlab.core.latents import save_latents
    from latentlab.inversion.pipeline import (
        describe_verdict,
        file_digest,
        invert,
        pivot_config,
        pivot_setup,
        setup_inversion,
        to_latents,
        tune_projection,
    )
    from latentlab.inversion.preprocess import parse_box, prepare_image
    from latentlab.inversion.projector import ProjectorConfig
    from latentlab.inversion.tuning import TuningConfig, save_delta

    image_path = Path(args.image)
    box = parse_box(args.crop)
    gen = generator_from_args(args)
    if not args.threads and gen.device.type == "cpu" and gen.resolution <= SMALL_GENERATOR_PX:
        import torch

        torch.set_num_threads(1)  # one image at a time: at this size a second thread only adds waiting
    target = prepare_image(image_path, gen.resolution, box)  # refuses bad files before any work
    workspace = common.workspace(args)
    out = Path(args.out) if args.out else workspace / "inversions" / f"{image_path.stem}.npz"
    _, delta, recon_png, target_png, noise_npz = written = output_paths(out)
    if image_path.resolve() in [p.resolve() for p in written]:  # loses nothing: the upload stays as it is
        raise UserError(f"--out {out} would write over the picture itself ({image_path.name}); choose another, "
                        f"e.g. --out {out.with_name(out.stem + '_inverted.npz')}")
    setup = setup_inversion(gen, args.loss, args.encoder, args.metric, args.encoder_file, args.vgg_weights, workspace)
    for note in setup.notes:
        log.info(f"note: {note}")
    cfg = ProjectorConfig(space=args.space, steps=args.steps, lr=args.lr, seed=args.seed,
                          noise_regularize=args.noise_regularize)
    tuning_cfg = TuningConfig(steps=args.tune_steps, seed=args.seed) if args.tune else None  # checks before work
    pivoting = pivot_setup(setup, args.pivot_loss) if tuning_cfg is not None else setup
    cfg = pivot_config(cfg, args.pivot_prior) if tuning_cfg is not None else cfg
    proj = invert(gen, target, pivoting, cfg, progress=progress_enabled())
    tuning = tune_projection(gen, proj, target, setup, tuning_cfg) if tuning_cfg is not None else None
    source = {"source_image": image_path.name, "source_sha256": file_digest(image_path),
              "crop_box": list(box) if box else "centre"}
    latents = to_latents(gen, proj, target, setup, source, tuning)
    if tuning is not None:  # the delta first: a latent file never claims a tuning that is not there
        save_delta(delta, tuning, gen.generator_id, {"latent_file": out.name})
    save_latents(out, latents)
    if tuning is None and delta.exists():
        delta.unlink()  # an older tuning of another inversion under this name would no longer match
    Image.fromarray(latents.images[0]).save(recon_png)  # the tuned reconstruction when tuned
    Image.fromarray(target).save(target_png)
    if proj.noise_maps is not None:
        import numpy as np

        np.savez_compressed(noise_npz, *proj.noise_maps)
    tuned = (f", tuned {len(tuning.loss_history)} steps: PSNR {latents.meta['pivot_psnr_db'][0]:.2f} -> "
             f"{latents.meta['psnr_db'][0]:.2f} dB, delta {delta.name}") if tuning is not None else ""
    pivot_loss = latents.meta["pivot_loss"]
    losses = f"loss {setup.loss.name}" + (f" (pivot: {pivot_loss})" if pivot_loss != setup.loss.name else "")
    print(f"wrote {out} ({latents.meta['space']}, {losses}, init {latents.meta['init']}, "
          f"PSNR {latents.meta['psnr_db'][0]:.2f} dB, {latents.meta['seconds']:.1f} s{tuned}); "
          f"reconstruction {recon_png}")
    print(f"verdict: {describe_verdict(latents.meta['verdict'])}")


def _cmd_train_network(args: argparse.Namespace) -> None:
    """train-metric / train-encoder: the same steps around a different network."""
    from latentlab.inversion import encoder, metric
    from latentlab.inversion.pipeline import workspace_network_path
    from latentlab.inversion.samples import cached_pool

    gen = generator_from_args(args)
    workspace = common.workspace(args)
    out = Path(args.out) if args.out else workspace_network_path(args.kind, gen.generator_id, workspace)
    load, save = (metric.load_metric, metric.save_metric) if args.kind == "metric" else \
        (encoder.load_encoder, encoder.save_encoder)
    init = load(out, gen.generator_id, strict=True) if args.resume and out.is_file() else None
    pool = cached_pool(gen, None if args.no_cache else workspace, args.samples, args.seed)
    options = {"steps": args.steps, "batch": args.batch, "lr": args.lr, "seed": args.seed,
               "holdout": min(256, args.samples // 8)}
    if args.kind == "metric":
        net, stats = metric.train_metric(pool, gen.generator_id, metric.MetricTrainConfig(**options), init=init,
                                         device=gen.device)
    else:
        w_avg = gen.w_avg.detach().float().cpu().numpy()
        net, stats = encoder.train_encoder(pool, gen.generator_id, w_avg, encoder.EncoderTrainConfig(**options),
                                           init=init, device=gen.device)
    save(net, out, gen.generator_id, stats)
    print(f"wrote {out} (for generator {gen.generator_id})")


def _common(p: argparse.ArgumentParser) -> None:
    common.add_generator_options(p)
    common.add_workspace_option(p)


def _training(p: argparse.ArgumentParser, kind: str, steps: int, batch: int, lr: float) -> None:
    _common(p)
    p.add_argument("--samples", type=int, default=2048,
                   help="generator samples to render (each with a near neighbour); cached in <workspace>/cache")
    p.add_argument("--steps", type=int, default=steps, help="optimisation steps")
    p.add_argument("--batch-size", "--batch", dest="batch", type=int, default=batch, help="samples per step")
    p.add_argument("--lr", type=float, default=lr, help="Adam learning rate")
    p.add_argument("--seed", type=int, default=0, help="seed of the samples and the weights")
    p.add_argument("--out", default=None,
                   help=f"output .safetensors (default: <workspace>/models/{kind}_<generator id>.safetensors)")
    p.add_argument("--resume", action="store_true", help="continue from the weights already at --out")
    p.add_argument("--no-cache", action="store_true", help="do not read or write the rendered sample cache")
    p.set_defaults(func=_cmd_train_network, kind=kind)


def output_paths(out: Path) -> list[Path]:
    """Every file `invert --out out` writes: the latent file, its delta, reconstruction, target and noise."""
    from latentlab.inversion.tuning import delta_path

    return [out, delta_path(out), out.with_suffix(".png"), out.with_name(out.stem + "_target.png"),
            out.with_name(out.stem + "_noise.npz")]


# pipeline.PIVOT_LOSSES, named here without importing torch (building the parser imports no heavy library);
# a test checks that they match
PIVOT_LOSS_NAMES = ("pixel", "same")


def add_commands(sub: argparse._SubParsersAction) -> None:
    i = sub.add_parser("invert", help="find the latent that makes the generator draw an image",
                       description="Project a PNG/JPEG/WebP/GIF onto the generator: writes a latent file "
                                   "(for `latentlab edit`), its reconstruction PNG and the cropped target PNG.")
    i.add_argument("image", help="the picture to invert")
    _common(i)
    i.add_argument("--out", default=None, help="latent file (default: <workspace>/inversions/<image name>.npz)")
    i.add_argument("--space", choices=SPACES, default="w",
                   help="w: one w for all layers (best for editing; the default pivot for tuning); w+: one per "
                        "layer, starting from the W result (closest without tuning)")
    i.add_argument("--steps", type=int, default=100, help="projection steps (the pivot)")
    i.add_argument("--tune", action=argparse.BooleanOptionalAction, default=True,
                   help="pivotal tuning: fine-tune the generator around the found latent so details come back; "
                        "writes <out stem>_tuning.safetensors next to the latent file, which edit, animate and "
                        "the app use automatically (default: on)")
    i.add_argument("--tune-steps", type=int, default=90, help="tuning steps (default %(default)s, as TuningConfig)")
    i.add_argument("--loss", choices=("auto",) + LOSSES, default="auto",
                   help="perceptual term: auto = vgg16 if its weights are installed, else metric, else pixel")
    i.add_argument("--pivot-loss", choices=PIVOT_LOSS_NAMES, default="pixel",
                   help="with tuning: the loss that finds the pivot (pixel: keeps the target's colours, measured "
                        "closer and faster after tuning; same: --loss); the tuning uses --loss")
    i.add_argument("--pivot-prior", type=float, default=None,
                   help="with tuning: how strongly the pivot is held near the generator's own faces (squared "
                        "Mahalanobis distance in W; default 0.1: edits flip more often for < 1 dB; 0 = free)")
    i.add_argument("--encoder", action=argparse.BooleanOptionalAction, default=None,
                   help="start from the encoder's guess (default: when one exists for this generator)")
    i.add_argument("--encoder-file", default=None, help="encoder .safetensors (default: found automatically)")
    i.add_argument("--metric", default=None, help="metric net .safetensors (default: found automatically)")
    i.add_argument("--vgg-weights", default=None,
                   help="torchvision vgg16-397923af.pth (default: the torch hub cache, never downloaded)")
    i.add_argument("--crop", default=None, help="square crop box left,top,right,bottom in pixels (default: centre)")
    i.add_argument("--lr", type=float, default=0.1, help="peak Adam learning rate")
    i.add_argument("--noise-regularize", type=float, default=0.0,
                   help="also optimise the noise maps with this penalty weight (e.g. 1e5; default: 0 = off); "
                        "edits ignore them")
    i.add_argument("--seed", type=int, default=0, help="seed of the noise maps and random starts")
    i.set_defaults(func=_cmd_invert)

    m = sub.add_parser("train-metric", help="train the perceptual metric net on the generator's samples",
                       description="Triplet loss on generator samples: an image should be closer to its "
                                   "small-latent-step or augmented neighbour than to other samples.")
    _training(m, "metric", steps=300, batch=32, lr=2e-3)

    e = sub.add_parser("train-encoder", help="train the encoder that guesses w from an image",
                       description="Regress w from generator samples, so that `invert` starts close to the answer.")
    _training(e, "encoder", steps=800, batch=64, lr=1e-3)

