"""Sweeps onto a binary or ordinal class: do the eyes pass through "half" on their way to "closed"?

    .venv/bin/python bench/bench_class_sweeps.py --threads 2      # the labeled run of bench_directions.py

The labeled run, the directions (with regions) and the attribute reader are made exactly as in
bench/bench_directions.py (same options and defaults). Then the first OPEN_FACES fresh faces (seed
--eval-seed) the oracle reads with open eyes are swept over --frames frames towards "closed": to +3
units (the slider's end), or to each face's end where the reader reads "closed" (`directions.reach`,
as `animate --along eye_state:closed` and the app's sweeps do); frames even in units or paced by the
reader (`directions.pacing`); drawn in the attribute's region (`directions.regions`). Every frame is
read by the oracle: the share of frames read "half" (goal >= 0.10), the share of faces read "closed"
at the end, and the largest frame-to-frame rise of p(closed) as a share of its whole rise (median over
faces where it rose by > 0.2; goal <= 0.10).
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_directions import jump_of, parse_args, run_with_directions, table  # noqa: E402

OPEN_FACES = 40  # open-eyed fresh faces swept
ATTRIBUTE, SOURCE, TARGET = "eye_state", "open", "closed"


def main() -> int:
    args = parse_args()
    import torch

    torch.set_num_threads(args.threads)
    torch.set_grad_enabled(False)
    from directions.edit import edit
    from directions.pacing import DENSE, change_shares, paced_positions
    from directions.reach import onto_class_units
    from directions.regions import lock_to_regions, set_mask
    from latentlab.generator.interface import map_latents, render, sample_z

    t_start = time.time()
    gen, oracle, _, names, _, _, dset, reader = run_with_directions(args)
    draw = lambda c: render(gen, c, batch_size=64)  # noqa: E731

    w = map_latents(gen, sample_z(args.n_eval, args.eval_seed, gen.z_dim), args.truncation)
    faces = draw(w)
    src, tgt = names[ATTRIBUTE].index(SOURCE), names[ATTRIBUTE].index(TARGET)
    chosen = np.flatnonzero(oracle.predict(faces)[ATTRIBUTE] == src)[:OPEN_FACES]
    wf, base, n = w[chosen], faces[chosen], len(chosen)
    mask = set_mask(dset, [ATTRIBUTE], gen.resolution)
    reach = onto_class_units(wf, dset, ATTRIBUTE, TARGET, draw, reader)

    def codes_at(ends: np.ndarray, f: np.ndarray) -> np.ndarray:
        """Codes [F, n, D]: face i at the share f[k, i] of its way to ends[i] units."""
        return np.stack([np.concatenate([edit(wf[i: i + 1], dset, {ATTRIBUTE: float(ends[i] * f[k, i])})
                                         for i in range(n)]) for k in range(len(f))])

    rows = []
    for label, ends in (("to +3 units", np.full(n, 3.0)), ("to the reader's end", reach)):
        for pace in ("even in units", "paced by the reader"):
            f = np.repeat(np.linspace(0.0, 1.0, args.frames)[:, None], n, axis=1)
            if pace != "even in units":
                dense = draw(codes_at(ends, np.repeat(np.linspace(0, 1, DENSE)[:, None], n, 1)).reshape(-1, w.shape[1]))
                seen = reader.predict_proba(dense, ATTRIBUTE)[ATTRIBUTE].reshape(DENSE, n, -1)
                f = paced_positions(change_shares(seen), f[:, 0])
            frames = draw(codes_at(ends, f).reshape(-1, w.shape[1])).reshape(args.frames, n, *base.shape[1:])
            frames = lock_to_regions(frames, base[None], mask)
            proba = oracle.predict_proba(frames.reshape(-1, *base.shape[1:]))[ATTRIBUTE].reshape(args.frames, n, -1)
            read, p = proba.argmax(-1), proba[:, :, tgt]
            jump, rising = jump_of(p.T)
            rows.append({"sweep": f"{label}, {pace}, drawn in the region", "median units": float(np.median(ends)),
                         "half frames": float(np.mean(read == names[ATTRIBUTE].index("half"))),
                         "closed at the end": float(np.mean(read[-1] == tgt)),
                         "largest jump": jump, "faces rising": rising})
    print(f"\n### {SOURCE} -> {TARGET}: {n} open-eyed fresh faces, {args.frames} frames, read by the oracle\n")
    print(table(rows))
    print(f"\ntotal {time.time() - t_start:.0f} s (threads {args.threads})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
