"""CLI subcommands of the generator side: train-generator, export-generator, sample, generator-report."""

from __future__ import annotations

import argparse
from pathlib import Path

from .errors import UserError


def _cmd_train_generator(args: argparse.Namespace) -> None:
    from .training import TrainConfig, Trainer

    cfg = TrainConfig(out_dir=args.out, total_kimg=args.kimg, batch=args.batch, bf16=args.bf16,
                      threads=args.threads, device=args.device, seed=args.seed,
                      ckpt_minutes=args.ckpt_minutes, grid_minutes=args.grid_minutes)
    Path(args.out).mkdir(parents=True, exist_ok=True)

    def log(msg: str) -> None:
        print(msg, flush=True)
        with open(Path(args.out) / "log.txt", "a") as f:
            f.write(msg + "\n")

    Trainer(cfg, log=log).run()


def _cmd_export_generator(args: argparse.Namespace) -> None:
    from .training import export_checkpoint

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
    t.add_argument("--batch", type=int, default=32)
    t.add_argument("--bf16", action="store_true", help="bfloat16 autocast (1.7x faster on AMX CPUs)")
    t.add_argument("--threads", type=int, default=0, help="torch CPU threads (0 = torch's default)")
    t.add_argument("--device", default="cpu", help="cpu or cuda")
    t.add_argument("--seed", type=int, default=0)
    t.add_argument("--ckpt-minutes", type=float, default=5.0)
    t.add_argument("--grid-minutes", type=float, default=10.0)
    t.set_defaults(func=_cmd_train_generator)

    e = sub.add_parser("export-generator", help="write a training checkpoint's EMA generator as shippable weights")
    e.add_argument("--checkpoint", default="runs/default/checkpoint.pt")
    e.add_argument("--out", default="data/default_generator.safetensors")
    e.set_defaults(func=_cmd_export_generator)
