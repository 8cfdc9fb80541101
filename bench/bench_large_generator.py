"""Memory and throughput of a full-size StyleGAN2 on CPU with the automatically chosen batch size.

Builds a random StyleGAN2 of the size people bring (config-f at 256 px: z = w = 512, 8 mapping
layers, channels min(32768 / res, 512), ~30 M parameters), renders `--n` images through
`generator.interface.render` with `auto_batch_size`, and prints peak resident memory (Linux
VmHWM, reset before rendering) next to the batch-size estimate, plus images per second and the
projected time for 1000 samples. `--sweep 1,2,4` also measures the peak for fixed batch sizes,
to check the per-sample estimate. Nothing is asserted; figures depend on the machine.

    .venv/bin/python bench/bench_large_generator.py --threads 1 --n 8
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import numpy as np
import torch

from latentlab.generator.interface import render, sample_z
from latentlab.generator.loaders.batching import auto_batch_size, bytes_per_sample, free_memory
from latentlab.generator.stylegan2 import StyleGAN2Config, StyleGAN2Generator

MB = 2 ** 20


def _status(field: str) -> int:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1]) * 1024
    return 0


def reset_peak() -> bool:
    """Reset VmHWM to the current RSS (Linux clear_refs 5); False where that is not allowed."""
    try:
        Path("/proc/self/clear_refs").write_text("5")
        return True
    except OSError:
        return False


def measure(gen, ws: np.ndarray, batch_size: int) -> tuple[float, int]:
    """(seconds, peak RSS above the RSS before rendering) for rendering all of `ws`."""
    base = _status("VmRSS")
    reset_peak()
    t0 = time.perf_counter()
    render(gen, ws, batch_size=batch_size)
    return time.perf_counter() - t0, _status("VmHWM") - base


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--resolution", type=int, default=256)
    p.add_argument("--channel-base", type=int, default=32768, help="32768 = config-f; 16384 = ada paper256")
    p.add_argument("--n", type=int, default=8, help="images to render for the throughput figure")
    p.add_argument("--threads", type=int, default=1)
    p.add_argument("--unfused", action="store_true", help="unfused modulated conv (latentlab's own default)")
    p.add_argument("--sweep", default="", help="comma-separated fixed batch sizes to measure as well")
    args = p.parse_args()

    torch.set_num_threads(args.threads)
    res = args.resolution
    channels = {2 ** i: min(args.channel_base // 2 ** i, 512) for i in range(2, res.bit_length())}
    torch.manual_seed(0)
    gen = StyleGAN2Generator(StyleGAN2Config(resolution=res, z_dim=512, w_dim=512, mapping_layers=8,
                                             channels=channels)).eval().requires_grad_(False)
    gen.fused_modconv = not args.unfused
    n_params = sum(t.numel() for t in gen.parameters())
    ws = gen.mapping(torch.from_numpy(sample_z(args.n, 0, 512))).numpy()

    est = bytes_per_sample(gen)
    batch = auto_batch_size(gen, "cpu")
    print(f"generator      {res} px, channels {channels}, {n_params / 1e6:.1f} M parameters, "
          f"{'unfused' if args.unfused else 'fused'} modulated conv, {args.threads} thread(s)")
    free = free_memory(torch.device("cpu"))
    print(f"memory         model RSS {_status('VmRSS') / MB:.0f} MB, free now {free / MB:.0f} MB, "
          f"estimate {est / MB:.0f} MB per sample -> auto batch size {batch}")
    if not reset_peak():
        print("note           cannot reset the peak-RSS counter here; peaks below include earlier work")
    measure(gen, ws[:1], 1)  # warm-up (allocator, oneDNN kernels)
    seconds, peak = measure(gen, ws, batch)
    print(f"auto batch     {args.n} images in {seconds:.1f} s = {args.n / seconds:.2f} img/s "
          f"({seconds / args.n:.2f} s/img); peak RSS +{peak / MB:.0f} MB while rendering "
          f"(estimate for batch {min(batch, args.n)}: {min(batch, args.n) * est / MB:.0f} MB)")
    print(f"projection     1000 images: {1000 * seconds / args.n / 60:.1f} min; uint8 results "
          f"{1000 * res * res * 3 / MB:.0f} MB")
    for size in [int(s) for s in args.sweep.split(",") if s.strip()]:
        seconds, peak = measure(gen, ws[:size], size)
        print(f"batch {size:<8d} {size / seconds:.2f} img/s, peak RSS +{peak / MB:.0f} MB "
              f"({peak / size / MB:.0f} MB per sample; estimate {est / MB:.0f})")


if __name__ == "__main__":
    main()
