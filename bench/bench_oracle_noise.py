"""How much of a measured side effect is the measuring instrument: oracle readings of generated faces
under tiny random moves, and two oracles' agreement on the same generated faces.

    .venv/bin/python bench/bench_oracle_noise.py [--oracles data/oracle.safetensors,OTHER] [--n 300]

Every edit figure (flip, side effect) reads generated faces with the oracle. Generated faces are softer
and more ambiguous than renders, so a reading can change under a move far too small to change the
drawing: that share is the floor under any side-effect figure of that length. Moves are random
directions of W shaped like the latents (`latentlab.generator.smoothness`), lengths in standard
deviations of the latents' projections onto them (3 = generator-report's random-move figure).
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np
import torch

ROOT = Path(__file__).resolve().parents[1]


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--oracles", default="", help="comma-separated oracle files (default: the shipped one)")
    p.add_argument("--generator", default=None, help="generator file (default: the shipped one)")
    p.add_argument("--n", type=int, default=300, help="faces per move length")
    p.add_argument("--distances", default="0.05,0.1,0.25,0.5,1,3", help="move lengths in latent stds")
    p.add_argument("--truncation", type=float, default=0.8, help="as the edit benchmark's fresh faces")
    p.add_argument("--threads", type=int, default=1)
    args = p.parse_args()
    torch.set_num_threads(args.threads)
    torch.set_grad_enabled(False)
    from latentlab.generator.interface import map_latents, render, sample_z
    from latentlab.generator.loading import load_generator
    from latentlab.generator.smoothness import random_move_change_rate
    from latentlab.generator.synthetic.attributes import ATTRIBUTES
    from latentlab.generator.synthetic.oracle import load_oracle

    t0 = time.time()
    gen = load_generator(args.generator, "cpu")
    paths = [s.strip() for s in args.oracles.split(",") if s.strip()] or [None]
    oracles = {(Path(s).name if s else "shipped"): load_oracle(path=s) for s in paths}
    print(f"generator {gen.generator_id}; {args.n} faces per row, truncation {args.truncation}\n")
    print("### Share of (face, attribute) readings changed by a random move\n")
    print("| oracle | move (stds) | mean | " + " | ".join(ATTRIBUTES) + " |")
    print("|---|---|---|" + "---|" * len(ATTRIBUTES))
    for name, oracle in oracles.items():
        for d in (float(v) for v in args.distances.split(",")):
            rates = random_move_change_rate(gen, oracle, n=args.n, distance=d, truncation_psi=args.truncation)
            print(f"| {name} | {d:g} | {np.mean(list(rates.values())):.3f} | "
                  + " | ".join(f"{rates[a]:.3f}" for a in ATTRIBUTES) + " |", flush=True)
    if len(oracles) > 1:
        faces = render(gen, map_latents(gen, sample_z(args.n, 5, gen.z_dim), args.truncation), batch_size=64)
        reads = {name: o.predict(faces) for name, o in oracles.items()}
        first, *rest = reads
        print(f"\n### Agreement of each oracle with {first} on {args.n} generated faces\n")
        print("| oracle | " + " | ".join(ATTRIBUTES) + " |\n|---|" + "---|" * len(ATTRIBUTES))
        for name in rest:
            print(f"| {name} | " + " | ".join(f"{np.mean(reads[name][a] == reads[first][a]):.3f}" for a in ATTRIBUTES)
                  + " |")
    print(f"\ntotal {time.time() - t0:.0f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
