"""Print the default generator's throughput on CPU: images/s at batch 1 and batch 64.

    .venv/bin/python bench/bench_generator.py [--threads N] [--generator PATH] [--seconds S]

Measures mapping + synthesis under torch.inference_mode, fused and unfused modulated
convolutions, after one warm-up call. Figures depend on the other load of the machine.
"""

from __future__ import annotations

import argparse
import time

import torch

from latentlab.generator.loading import load_generator


def throughput(gen, batch: int, seconds: float) -> float:
    z = torch.randn(batch, gen.z_dim)
    with torch.inference_mode():
        gen.synthesis(gen.mapping(z))  # warm-up
        n, t0 = 0, time.perf_counter()
        while time.perf_counter() - t0 < seconds:
            gen.synthesis(gen.mapping(z))
            n += batch
    return n / (time.perf_counter() - t0)


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--threads", type=int, default=torch.get_num_threads())
    p.add_argument("--generator", default=None)
    p.add_argument("--seconds", type=float, default=5.0)
    args = p.parse_args()
    torch.set_num_threads(args.threads)
    gen = load_generator(args.generator, device="cpu")
    print(f"generator {gen.generator_id}  {gen.resolution}px  threads {args.threads}  torch {torch.__version__}")
    print("| modconv | batch 1 img/s | batch 64 img/s |\n|---|---|---|")
    for fused in (False, True):
        gen.fused_modconv = fused
        b1, b64 = throughput(gen, 1, args.seconds), throughput(gen, 64, args.seconds)
        print(f"| {'fused' if fused else 'unfused'} | {b1:.1f} | {b64:.1f} |")


if __name__ == "__main__":
    main()
