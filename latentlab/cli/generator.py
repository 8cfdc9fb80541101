"""CLI subcommands of the generator side: train-generator, export-generator, sample, generator-report."""

from __future__ import annotations

import argparse
from pathlib import Path

from latentlab.cli.common import (add_device_option, add_generator_options, add_threads_option,
                                  add_truncation_option, generator_from_args, log, set_threads)
from latentlab.core.errors import UserError


def _cmd_train_generator(args: argparse.Namespace) -> None:
    from latentlab.generator.training import TrainConfig, Trainer, checkpoint_recipe

    Path(args.out).mkdir(parents=True, exist_ok=True)
    ckpt = Path(args.out) / "checkpoint.pt"

    def log_line(msg: str) -> None:
        log.info(msg)
        with open(Path(args.out) / "log.txt", "a") as f:
            f.write(msg + "\n")

    if args.resume_from and not ckpt.exists():
        import shutil

        src = Path(args.resume_from)
        if not src.exists():
            raise UserError(f"--resume-from {src} does not exist")
        shutil.copyfile(src, ckpt)  # the run folder's own checkpoint wins once it exists
        log_line(f"copied {src} to {ckpt}")  # so the log says where the run came from
    recipe = checkpoint_recipe(ckpt) if ckpt.exists() else {}  # resuming keeps the stored recipe...
    for key in ("r1_gamma", "mixing_prob", "pl_weight", "eye_weight", "eye_lr"):  # ...except what the command line sets
        if getattr(args, key) is not None:
            recipe[key] = getattr(args, key)
    if args.lr is not None:
        recipe["lr_g"] = recipe["lr_d"] = args.lr
    if args.emphasis is not None:
        from latentlab.generator.emphasis import parse_emphasis
        recipe["emphasis"] = parse_emphasis(args.emphasis)
    if args.mapping_layers is not None:
        if ckpt.exists():
            raise UserError("--mapping-layers shapes a new run; a resumed run keeps the networks stored in its "
                            "checkpoint")
        from latentlab.generator.stylegan2 import StyleGAN2Config
        recipe["generator"] = StyleGAN2Config(mapping_layers=args.mapping_layers).to_dict()
    cfg = TrainConfig(out_dir=args.out, total_kimg=args.kimg, batch=args.batch, bf16=args.bf16,
                      threads=args.threads, device=args.device, seed=args.seed,
                      ckpt_minutes=args.ckpt_minutes, grid_minutes=args.grid_minutes,
                      max_minutes=args.max_minutes, **recipe)

    Trainer(cfg, log=log_line).run()


def _cmd_export_generator(args: argparse.Namespace) -> None:
    from latentlab.generator.training import export_checkpoint

    ckpt = Path(args.checkpoint)
    if not ckpt.exists():
        raise UserError(f"no training checkpoint at {ckpt}; train first with `latentlab train-generator`")
    out = export_checkpoint(ckpt, Path(args.out))
    print(f"wrote {out}")


def add_commands(sub: argparse._SubParsersAction) -> None:
    t = sub.add_parser("train-generator", help="train a StyleGAN2 on synthetic anime faces (resumable)",
                       description="Train on the procedural face stream; rerun the same command to resume.")
    t.add_argument("--out", default="runs/default", help="folder for checkpoint.pt, log.txt and grids/")
    t.add_argument("--kimg", type=float, default=600.0, help="train until this many thousand images")
    t.add_argument("--max-minutes", type=float, default=0.0,
                   help="also stop, with a checkpoint, after this many minutes (0 = no limit; for a lent GPU's time)")
    t.add_argument("--batch-size", "--batch", dest="batch", type=int, default=32, help="images per step")
    t.add_argument("--bf16", action="store_true", help="bfloat16 autocast (1.7x faster on AMX CPUs)")
    add_threads_option(t)
    add_device_option(t, "cpu")
    t.add_argument("--seed", type=int, default=0, help="seed of the weights and the face stream")
    t.add_argument("--r1-gamma", type=float, default=None,
                   help="R1 weight on real images (default 0.05); raise it when D wins by far (loss_d << 0.5)")
    t.add_argument("--lr", type=float, default=None,
                   help="Adam learning rate of G and D (default 0.002); lower it when classes hop between grids")
    t.add_argument("--pl-weight", type=float, default=None,
                   help="path-length regulariser weight (default 0 = off; StyleGAN2 uses 2): smoother, "
                        "more linear W, so edits behave")
    t.add_argument("--eye-weight", type=float, default=None,
                   help="weight of a second critic that sees only the eye region (default 0 = off; 1 = as much "
                        "as the whole-face critic), for eye colour and eye state drawn in a few pixels")
    t.add_argument("--eye-lr", type=float, default=None,
                   help="Adam learning rate of the eye critic (default: the critic's rate); a faster one lets a "
                        "critic added to a trained run catch up")
    t.add_argument("--mixing-prob", type=float, default=None,
                   help="probability of style mixing in a batch (default 0.9)")
    t.add_argument("--emphasis", nargs="+", default=None, metavar="ATTR=CLASS[,CLASS]:FACTOR",
                   help="show faces with these classes FACTOR times as often (e.g. blush=yes:3 "
                        "accessory=glasses:3); stored with the run; 'none' switches it off")
    t.add_argument("--mapping-layers", type=int, default=None, choices=range(1, 9), metavar="1..8",
                   help="depth of the mapping network of a new run (default 4; StyleGAN uses 8, whose W "
                        "separates attributes best)")
    t.add_argument("--ckpt-minutes", type=float, default=5.0, help="minutes between checkpoints")
    t.add_argument("--grid-minutes", type=float, default=10.0, help="minutes between sample grids in <out>/grids")
    t.add_argument("--resume-from", default=None, metavar="CKPT",
                   help="start from this checkpoint when --out has none yet (e.g. the committed "
                        "checkpoints/default/checkpoint.pt on a new machine)")
    t.set_defaults(func=_cmd_train_generator)

    e = sub.add_parser("export-generator", help="write a training checkpoint's EMA generator as shippable weights")
    e.add_argument("--checkpoint", default="runs/default/checkpoint.pt", help="training checkpoint to read")
    e.add_argument("--out", default="data/default_generator.safetensors", help="generator file to write")
    e.set_defaults(func=_cmd_export_generator)
    _add_oracle_command(sub)
    _add_sample_commands(sub)
    _add_render_command(sub)


def _cmd_train_oracle(args: argparse.Namespace) -> None:
    from latentlab.core.paths import DEFAULT_ORACLE, data_path
    from latentlab.generator.synthetic.oracle import save_oracle, train_oracle
    from latentlab.generator.synthetic.renderer import TRAINING_STYLES

    set_threads(args.threads)
    styles = _style_list(args.styles) if args.styles else TRAINING_STYLES
    net, acc = train_oracle(n_train=args.n, epochs=args.epochs, seed=args.seed, styles=styles, mixed=args.mixed,
                            augment=args.augment, heavy_share=args.heavy_share,
                            heavy_share_end=args.heavy_share_end, width=args.width, bf16=args.bf16, lr=args.lr,
                            init=Path(args.init) if args.init else None,
                            checkpoint=Path(args.checkpoint) if args.checkpoint else None)
    out = save_oracle(net, Path(args.out) if args.out else data_path(DEFAULT_ORACLE), acc, styles=styles)
    print(f"wrote {out}")


def _cmd_oracle_ensemble(args: argparse.Namespace) -> None:
    from latentlab.generator.synthetic.oracle import save_oracle_ensemble

    # a missing or foreign member file is refused by load_oracle, with its path
    print(f"wrote {save_oracle_ensemble([Path(p) for p in args.members], Path(args.out))}")


def _style_list(text: str) -> tuple[str, ...]:
    from latentlab.generator.synthetic.renderer import STYLES

    styles = tuple(s.strip() for s in text.split(",") if s.strip())
    unknown = [s for s in styles if s not in STYLES]
    if unknown or not styles:
        raise UserError(f"unknown drawing style {', '.join(unknown) or '(none)'}; choose from {', '.join(STYLES)}")
    return styles


def _cmd_oracle_report(args: argparse.Namespace) -> None:
    from latentlab.generator.synthetic.oracle import ensemble_oracle, load_oracle, oracle_report, report_markdown
    from latentlab.generator.synthetic.renderer import HELD_OUT_STYLE, STYLES

    set_threads(args.threads)
    styles = _style_list(args.styles) if args.styles else STYLES
    oracle = ensemble_oracle(args.oracle) if args.oracle and len(args.oracle) > 1 else \
        load_oracle(path=args.oracle[0] if args.oracle else None)
    report = oracle_report(oracle, styles=styles, n=args.n, start_seed=args.seed)
    text = report_markdown(report, held_out=HELD_OUT_STYLE)
    print(text)
    if args.out:
        Path(args.out).parent.mkdir(parents=True, exist_ok=True)
        Path(args.out).write_text(text)
        print(f"wrote {args.out}")


# Named here without importing the renderer (building the parser imports no heavy library);
# tests check that they match renderer.STYLES and renderer.HELD_OUT_STYLE.
STYLE_NAMES = ("classic", "cel", "soft", "chibi", "ink")
HELD_OUT_STYLE = "ink"


def _add_oracle_command(sub: argparse._SubParsersAction) -> None:
    o = sub.add_parser("train-oracle", help="train the attribute classifier used by every benchmark",
                       description="Render faces with known attributes and train the oracle on them "
                                   f"(every drawing style but the held-out {HELD_OUT_STYLE!r}; resumable with "
                                   "--checkpoint).")
    o.add_argument("--n", type=int, default=40_000, help="number of training renders")
    o.add_argument("--epochs", type=int, default=5, help="passes over the training renders")
    o.add_argument("--seed", type=int, default=0, help="seed of the renders and the weights")
    o.add_argument("--styles", default=None,
                   help=f"drawing styles of the training faces, comma-separated (of {', '.join(STYLE_NAMES)}; "
                        f"default: all but {HELD_OUT_STYLE})")
    o.add_argument("--mixed", type=float, default=0.3, help="share of faces whose parts mix those styles")
    o.add_argument("--augment", choices=("heavy", "mild"), default="heavy",
                   help="heavy: pose, colour, line width, rescaling, blur, noise, JPEG; mild: blur and noise")
    o.add_argument("--heavy-share", type=float, default=1.0,
                   help="share of each batch that gets the heavy augmentation (the rest: mild)")
    o.add_argument("--heavy-share-end", type=float, default=None,
                   help="when given, the heavy share moves linearly to this value by the last epoch (ends mild)")
    o.add_argument("--width", type=int, default=24, help="channels of the first convolution (stored in the file)")
    o.add_argument("--bf16", action="store_true", help="bfloat16 autocast (about 3x faster on CPUs with AVX-512 BF16)")
    o.add_argument("--lr", type=float, default=2e-3, help="peak learning rate (one-cycle schedule)")
    o.add_argument("--init", default=None, help="oracle file to start from (fine-tuning) instead of random weights")
    o.add_argument("--checkpoint", default=None,
                   help="training state written after every epoch; rerun the same command to resume")
    add_threads_option(o)
    o.add_argument("--out", default=None, help="oracle file to write (default: the shipped data/oracle.safetensors)")
    o.set_defaults(func=_cmd_train_oracle)

    e = sub.add_parser("oracle-ensemble", help="join oracle files trained apart into one that averages them",
                       description="Write one oracle file whose reading is the mean of the members' probabilities "
                                   "(networks trained apart err on different faces of an unseen style).")
    e.add_argument("members", nargs="+", help="oracle files (2 to 8), e.g. from train-oracle with different --seed")
    e.add_argument("--out", required=True, help="oracle file to write")
    e.set_defaults(func=_cmd_oracle_ensemble)

    r = sub.add_parser("oracle-report", help="oracle accuracy and calibration per drawing style (leave-one-style-out)",
                       description=f"Accuracy and expected calibration error per attribute on held-out seeds, "
                                   f"for every drawing style; {HELD_OUT_STYLE!r} is never trained on.")
    r.add_argument("--n", type=int, default=2000, help="faces per style")
    r.add_argument("--seed", type=int, default=0, help="first seed (held-out seeds lie below 100000)")
    r.add_argument("--styles", default=None, help="comma-separated drawing styles to score (default: all)")
    r.add_argument("--oracle", nargs="+", default=None, metavar="FILE",
                   help="oracle file (default: the shipped one); several: the mean of their readings")
    r.add_argument("--out", default=None, help="also write the markdown tables here")
    add_threads_option(r)
    r.set_defaults(func=_cmd_oracle_report)


def _cmd_sample(args: argparse.Namespace) -> None:
    from PIL import Image

    from latentlab.generator.interface import image_grid, map_latents, render, sample_z
    from latentlab.core.latents import Latents, save_latents

    if args.n < 1:
        raise UserError("--n must be at least 1")
    if not 0 <= args.truncation_psi <= 2:
        raise UserError("--truncation-psi must lie between 0 and 2 (1 = no truncation)")
    out = Path(args.out)
    if out.suffix.lower() not in (".png", ".jpg", ".jpeg", ".webp"):
        raise UserError(f"--out must be an image path (.png, .jpg, .webp), got {out}")
    gen = generator_from_args(args)
    z = sample_z(args.n, args.seed, gen.z_dim)
    w = map_latents(gen, z, args.truncation_psi)
    from latentlab.generator.loaders.batching import auto_batch_size

    batch = args.batch_size or auto_batch_size(gen)
    images = render(gen, w, batch_size=batch, progress=args.n > batch)
    out.parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray(image_grid(images, args.cols)).save(out)
    npz = out.with_suffix(".npz")
    save_latents(npz, Latents(generator_id=gen.generator_id, z=z, w=w, meta={
        "seed": args.seed, "truncation_psi": args.truncation_psi, "n": args.n, "source": "sample",
        "generator_path": str(args.generator) if args.generator else "default",
        **({"class_label": int(gen.class_label)} if getattr(gen, "c_dim", 0) else {})}))
    print(f"wrote {out} and {npz} ({args.n} faces, generator {gen.generator_id})")


def _cmd_report(args: argparse.Namespace) -> None:
    from latentlab.generator.report import generator_report
    from latentlab.generator.synthetic.oracle import load_oracle

    gen = generator_from_args(args)
    rep = generator_report(gen, load_oracle(), n=args.n, seed=args.seed, truncation_psi=args.truncation_psi,
                           progress=True)
    text = rep.to_markdown()
    print(text)
    if args.out:
        Path(args.out).parent.mkdir(parents=True, exist_ok=True)
        Path(args.out).write_text(text)
        print(f"wrote {args.out}")


def _add_sample_commands(sub: argparse._SubParsersAction) -> None:
    s = sub.add_parser("sample", help="draw faces from random latents: a grid PNG plus an .npz of z, w, metadata",
                       description="The same --seed always gives the same latents and images.")
    _add_sampling_options(s, n=64)
    s.add_argument("--out", default="samples.png", help="grid image; the latents go next to it as .npz")
    s.add_argument("--cols", type=int, default=None, help="grid columns (default: square)")
    s.add_argument("--batch-size", type=int, default=0,
                   help="images rendered at once (default: 0 = chosen from free memory)")
    add_generator_options(s)
    s.set_defaults(func=_cmd_sample)

    r = sub.add_parser("generator-report", help="judge a generator with the oracle (frequencies, confidence, KID)")
    _add_sampling_options(r, n=2000)
    r.add_argument("--out", default=None, help="also write the markdown report here (e.g. docs/generator-report.md)")
    add_generator_options(r)
    r.set_defaults(func=_cmd_report)


def _add_sampling_options(p: argparse.ArgumentParser, n: int) -> None:
    p.add_argument("--n", type=int, default=n, help="number of faces")
    p.add_argument("--seed", type=int, default=0, help="seed of the latents z (same seed, same faces)")
    add_truncation_option(p)


def _cmd_render_faces(args: argparse.Namespace) -> None:
    import json

    import numpy as np
    from PIL import Image

    from latentlab.generator.interface import image_grid
    from latentlab.generator.synthetic.attributes import ATTRIBUTES
    from latentlab.generator.synthetic.renderer import render_batch

    images, labels = render_batch(range(args.seed, args.seed + args.n), size=args.size)
    grid = image_grid(images, args.cols)
    if args.scale > 1:
        grid = np.asarray(Image.fromarray(grid).resize((grid.shape[1] * args.scale, grid.shape[0] * args.scale),
                                                       Image.Resampling.NEAREST))
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray(grid).save(out)
    rows = [{k: ATTRIBUTES[k][int(v[i])] for k, v in labels.items()} | {"seed": args.seed + i} for i in range(args.n)]
    out.with_suffix(".json").write_text(json.dumps(rows, indent=1))
    print(f"wrote {out} and {out.with_suffix('.json')} (true attributes)")


def _add_render_command(sub: argparse._SubParsersAction) -> None:
    r = sub.add_parser("render-faces", help="draw synthetic anime faces with their true attributes (no GAN)")
    r.add_argument("--n", type=int, default=64, help="number of faces")
    r.add_argument("--seed", type=int, default=0, help="first seed; seeds below 100000 are held out from training")
    r.add_argument("--size", type=int, default=64, help="face size in pixels")
    r.add_argument("--scale", type=int, default=1, help="nearest-neighbour upscaling of the grid")
    r.add_argument("--cols", type=int, default=None, help="grid columns (default: square)")
    r.add_argument("--out", default="renders.png", help="grid image; the true attributes go next to it as .json")
    r.set_defaults(func=_cmd_render_faces)
