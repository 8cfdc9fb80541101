"""Which oracle is right on generated faces: renders with known attributes, inverted into the generator,
read back from the generator's reconstructions by each oracle.

    .venv/bin/python bench/bench_oracle_generated.py [--oracles A,B,...] [--n 96] [--steps 300] [--threads 2]

Every edit figure reads *generated* faces, where no answer is known and two oracles disagree on 15-31 %
of eye colour, mouth and accessory readings (bench_oracle_noise.py). Here the answer is approximately
known: each face is the generator's reconstruction of a render in the generator's own style (held-out
seeds 30000+), projected with `latentlab invert`'s setup (W+, no tuning: the generator's own drawing).
A reconstruction can lose a detail (a mouth, a hairpin), and then no oracle can read the render's answer
from it; that loss is the same for every oracle, so the comparison between oracles is fair, and the rows
of the better-reconstructed half (PSNR above the median) show how much the loss accounts for.
"""

from __future__ import annotations

import argparse
import time

import numpy as np
import torch


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--oracles", default="data/oracle.safetensors,checkpoints/oracle/w48s.safetensors,"
                                        "checkpoints/oracle/w48u.safetensors,checkpoints/oracle/w48x.safetensors",
                   help="comma-separated oracle files")
    p.add_argument("--n", type=int, default=96, help="renders to invert")
    p.add_argument("--steps", type=int, default=300, help="projection steps (as `latentlab invert`)")
    p.add_argument("--threads", type=int, default=2)
    args = p.parse_args()
    torch.set_num_threads(args.threads)
    from latentlab.generator.interface import render
    from latentlab.generator.loading import load_generator
    from latentlab.generator.synthetic.oracle import ATTRIBUTES, load_oracle, visible_mask
    from latentlab.generator.synthetic.renderer import render_batch
    from latentlab.inversion.pipeline import invert, setup_inversion
    from latentlab.inversion.projector import ProjectorConfig

    gen = load_generator(None, "cpu")
    targets, labels = render_batch(range(30000, 30000 + args.n), size=gen.resolution)
    t0 = time.time()
    proj = invert(gen, targets, setup_inversion(gen), ProjectorConfig(space="w+", steps=args.steps))
    with torch.no_grad():
        recon = render(gen, proj.ws)
    err = ((recon.astype(np.float64) - targets) ** 2).reshape(args.n, -1).mean(1)
    psnr = 10 * np.log10(255.0 ** 2 / np.maximum(err, 1e-12))
    better = psnr >= np.median(psnr)
    print(f"{args.n} renders projected in {time.time() - t0:.0f} s; reconstruction PSNR median {np.median(psnr):.1f} dB "
          f"(min {psnr.min():.1f})\n")
    print("Agreement of each oracle's reading with the render's known attribute\n")
    print("| oracle | faces | " + " | ".join(ATTRIBUTES) + " | mean |")
    print("|---|---|" + "---|" * (len(ATTRIBUTES) + 1))
    for path in [s for s in args.oracles.split(",") if s]:
        oracle = load_oracle("cpu", path)
        for name, images, chosen in (("the renders", targets, np.ones(args.n, bool)),
                                     ("reconstructions", recon, np.ones(args.n, bool)),
                                     ("reconstructions, better half", recon, better)):
            proba = oracle.predict_proba(images)
            acc = [float((proba[k].argmax(1) == labels[k])[visible_mask(k, labels) & chosen].mean())
                   for k in ATTRIBUTES]
            print(f"| {path.rsplit('/', 1)[-1]} | {name} | " + " | ".join(f"{a:.3f}" for a in acc)
                  + f" | {np.mean(acc):.3f} |")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
