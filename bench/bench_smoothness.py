"""Compare generators' smoothness side by side over several seeds: each figure with its spread.

    .venv/bin/python bench/bench_smoothness.py --generators default,runs/x.safetensors [--seeds 5] [--n 1000]

`generator-report` measures W's smoothness once, on 1000 pairs at one seed, and that one figure moves a
lot: the shipped default's path length reads 99 787 at seed 0 and 79 460 at seed 1. Deciding whether a
candidate generator is smoother than another needs the spread, so this runs the report's own smoothness
measurement (`latentlab.generator.smoothness.measure_smoothness`) on every generator at the same seeds
(0, 2, 4, ...: seed s draws its path ends from seeds s and s + 1, so even seeds share no latent) and
prints per-seed figures, the mean over seeds and its standard error (sd / sqrt(seeds)). Units as in the
report: path length in squared oracle-feature units / eps², relative path length 1 = an even pace,
random-move change rate as a share of faces, relative rate 1 = as good as drawing a new face.
"""

from __future__ import annotations

import argparse
import time

import numpy as np
import torch

FIGURES = {  # column -> how to read it off a Smoothness
    "path length": lambda s: s.ppl,
    "relative path length": lambda s: s.relative_ppl,
    "random-move change": lambda s: s.mean_change_rate,
    "relative random-move change": lambda s: s.mean_relative_change_rate,
}


def mean_and_error(values: list[float]) -> tuple[float, float]:
    """Mean and its standard error over seeds (nan error for one seed)."""
    v = np.asarray(values, dtype=float)
    return float(v.mean()), (float(v.std(ddof=1) / np.sqrt(len(v))) if len(v) > 1 else float("nan"))


def _fmt(x: float) -> str:
    return f"{x:,.0f}".replace(",", " ") if abs(x) >= 100 else f"{x:.3f}"


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--generators", default="default",
                   help="comma-separated generator files; 'default' is the shipped one")
    p.add_argument("--seeds", type=int, default=5, help="how many seeds (0, 2, 4, ...)")
    p.add_argument("--n", type=int, default=1000, help="path pairs and moved faces per seed (the report's 1000)")
    p.add_argument("--threads", type=int, default=2)
    args = p.parse_args()
    torch.set_num_threads(args.threads)
    from latentlab.generator.loading import load_generator
    from latentlab.generator.smoothness import measure_smoothness
    from latentlab.generator.synthetic.oracle import load_oracle

    oracle = load_oracle()
    seeds = [2 * i for i in range(args.seeds)]
    names = [s.strip() for s in args.generators.split(",") if s.strip()]
    print(f"{args.n} pairs / faces per seed, seeds {seeds}, threads {args.threads}\n")
    summary = []
    for name in names:
        t0 = time.time()
        gen = load_generator(None if name == "default" else name, "cpu")
        per_seed = [measure_smoothness(gen, oracle, n=args.n, seed=s) for s in seeds]
        cols = {fig: [read(sm) for sm in per_seed] for fig, read in FIGURES.items()}
        print(f"### {name} (`{gen.generator_id}`), {time.time() - t0:.0f} s\n")
        print("| seed | " + " | ".join(FIGURES) + " |\n|---|" + "---|" * len(FIGURES))
        for i, s in enumerate(seeds):
            print(f"| {s} | " + " | ".join(_fmt(cols[f][i]) for f in FIGURES) + " |")
        print(flush=True)
        summary.append((name, gen.generator_id, {f: mean_and_error(v) for f, v in cols.items()}))
    print(f"### Mean ± standard error over {len(seeds)} seeds (lower is smoother)\n")
    print("| generator | " + " | ".join(FIGURES) + " |\n|---|" + "---|" * len(FIGURES))
    for name, gid, stats in summary:
        print(f"| {name} (`{gid}`) | " + " | ".join(f"{_fmt(m)} ± {_fmt(e)}" for m, e in stats.values()) + " |")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
