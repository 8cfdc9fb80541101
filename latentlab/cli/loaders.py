"""CLI subcommands for generators trained elsewhere: convert, inspect-generator."""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from latentlab.cli.common import add_device_option, load_generator
from latentlab.core.errors import UserError
from latentlab.core.progress import progress


def _max_difference(a, b, n: int = 4, seed: int = 1234) -> float:
    """Largest |image difference| of two generators on n fixed latents (const noise, psi 1)."""
    import torch

    from latentlab.generator.interface import sample_z

    z = torch.from_numpy(sample_z(n, seed, a.z_dim))
    with torch.inference_mode():
        ia = a.synthesis(a.mapping(z.to(a.device))).cpu()
        ib = b.synthesis(b.mapping(z.to(b.device))).cpu()
    return float((ia - ib).abs().max())


def _cmd_convert(args: argparse.Namespace) -> None:
    from latentlab.generator.loading import detect_format
    from latentlab.generator.native import FORMAT as NATIVE_FORMAT
    from latentlab.generator.native import CheckpointError, is_convertible, load_native, save_native

    src, out = Path(args.input), Path(args.output)
    if out.suffix != ".safetensors":
        raise UserError(f"the output must end in .safetensors (got {out.name}); e.g. `latentlab convert "
                        f"{src.name} {src.stem}.safetensors`")
    if out.exists() and not args.force:
        raise UserError(f"{out} already exists; pass --force to overwrite it")
    if out.resolve() == src.resolve():
        raise UserError("the output must be a different file from the input")
    with progress(total=3, desc="convert", unit="step") as bar:
        bar.set_postfix_str("loading")
        gen = load_generator(str(src), "cpu")
        bar.update()
        if not is_convertible(gen):
            raise UserError(f"{src.name} is a {detect_format(src)} generator, which latentlab runs as it is but cannot "
                            f"convert; pass it to --generator directly")
        info = getattr(gen, "source_info", None)
        extra = {"source_format": info.format if info else "latentlab", "source_file": src.name,
                 "fused_modconv": "1" if gen.fused_modconv else "0", "num_fp16_res": "0",
                 "source_notes": json.dumps(info.notes if info else []),
                 "w_avg_source": info.details.get("w_avg", "stored in the file") if info else "stored in the file"}
        if info and "num_fp16_res" in info.details:
            extra["num_fp16_res"] = info.details["num_fp16_res"]
        bar.set_postfix_str("writing")
        save_native(gen, out, extra=extra)
        bar.update()
        bar.set_postfix_str("checking")
        again = load_native(out)
        again.fused_modconv = gen.fused_modconv  # compare the weights, not the convolution form
        diff = _max_difference(gen, again)
        bar.update()
    if again.generator_id != gen.generator_id or diff > 0:
        raise CheckpointError(f"the converted file {out} does not reproduce {src.name} (id {again.generator_id} vs "
                              f"{gen.generator_id}, max difference {diff:.3g}); please report this")
    print(f"wrote {out}\n  format      {extra['source_format']} -> {NATIVE_FORMAT}\n"
          f"  generator   {gen.generator_id} (unchanged)\n  check       max |image difference| {diff:.1g} "
          f"on 4 test latents")
    if info and "w_avg" in info.details:
        print(f"  w_avg       {info.details['w_avg']}")
    for note in info.notes if info else []:
        print(f"  note        {note}")


def describe(gen, path: Path, fmt: str | None) -> list[tuple[str, str]]:
    """Rows of `inspect-generator` for any loaded generator."""
    from latentlab.generator.loaders.batching import auto_batch_size
    from latentlab.generator.stylegan2 import StyleGAN2Generator
    from latentlab.generator.stylegan3 import StyleGAN3Generator

    info = getattr(gen, "source_info", None)
    rows = [("file", str(path)), ("format", fmt or "?"), ("generator id", gen.generator_id)]
    if isinstance(gen, (StyleGAN2Generator, StyleGAN3Generator)):
        rows.append(("family", "StyleGAN2" if isinstance(gen, StyleGAN2Generator)
                     else "StyleGAN3 (StyleSpace tools need StyleGAN2)"))
    rows += [("resolution", f"{gen.resolution} px"), ("z_dim", str(gen.z_dim)), ("w_dim", str(gen.w_dim)),
             ("num_ws", str(gen.num_ws))]
    c_dim = getattr(gen, "c_dim", 0)
    if c_dim > 0:
        rows.append(("c_dim", f"{c_dim} (conditional: classes 0..{c_dim - 1}, chosen with --class)"))
    if isinstance(gen, StyleGAN2Generator):
        cfg = gen.cfg
        n_params = sum(t.numel() for t in gen.parameters())
        rows += [("mapping layers", f"{cfg.mapping_layers} (lr multiplier {cfg.mapping_lr_mul:g})"),
                 ("channels", ", ".join(f"{r}:{c}" for r, c in sorted(cfg.channels.items()))),
                 ("conv_clamp", str(cfg.conv_clamp)), ("convention", cfg.convention),
                 ("modulated conv", "fused (as upstream in eval mode)" if gen.fused_modconv else "unfused"),
                 ("precision", f"float16 in the top {gen.num_fp16_res} resolutions" if gen.num_fp16_res
                  else "float32"),
                 ("parameters", f"{n_params / 1e6:.2f} M"),
                 ("w_avg norm", f"{float(gen.w_avg.norm()):.4g}")]
    rows.append(("device", str(gen.device)))
    rows.append(("auto batch size", str(auto_batch_size(gen))))
    if info:
        rows += [(k, v) for k, v in info.details.items() if k not in ("precision", "num_fp16_res")]
        if "num_fp16_res" in info.details:
            rows.append(("fp16 top blocks", f"{info.details['num_fp16_res']} in the file (used on CUDA only)"))
        rows += [("note", n) for n in info.notes]
    return rows


def _cmd_inspect(args: argparse.Namespace) -> None:
    from latentlab.generator.loading import detect_format

    path = Path(args.path)
    gen = load_generator(args.path, args.device)
    fmt = detect_format(path)
    for key, value in describe(gen, path, fmt):
        print(f"{key + ' ':.<20s} {value}")


def add_commands(sub: argparse._SubParsersAction) -> None:
    c = sub.add_parser("convert", help="write a rosinality .pt / NVlabs .pkl generator as latentlab .safetensors",
                       description="Load a supported generator checkpoint (format detected from its content, "
                                   "never executing code it carries) and write its weights and configuration as "
                                   "latentlab's safetensors file. The generator id stays the same, so labels and "
                                   "directions made with either file keep working.")
    c.add_argument("input", help="checkpoint to read: rosinality .pt, NVlabs .pkl or latentlab .safetensors")
    c.add_argument("output", help="file to write (.safetensors)")
    c.add_argument("--force", action="store_true", help="overwrite OUTPUT if it exists")
    c.set_defaults(func=_cmd_convert)

    i = sub.add_parser("inspect-generator", help="print a generator file's format, sizes and id",
                       description="Load a generator file and print its format, resolution, z/w sizes, number of "
                                   "W+ layers, mapping depth, channels per resolution, truncation centre source "
                                   "and generator id.")
    i.add_argument("path", help="generator file (.safetensors, rosinality .pt, NVlabs .pkl, TorchScript .pt)")
    add_device_option(i, "cpu")
    i.set_defaults(func=_cmd_inspect)
