"""Why sweeps still jump or pass through a third class: pacing variants and routes, side by side.

    .venv/bin/python bench/bench_sweep_routes.py --threads 2      # the labeled run of bench_directions.py

The labeled run, the directions and the attribute reader are made exactly as in bench/bench_directions.py
(same options and defaults). Then on the first --n-sweep fresh faces (seed --eval-seed):

1. binary and ordinal attributes, 3 units towards the target class (as bench_directions.py), frames placed
   even in units, paced by the reader (`directions.pacing`, the default), by the reader's probabilities
   sharpened (temperature 0.5) or softened (2, 4), by the reader with more even spacing mixed in (0.4
   instead of `pacing.MIX`), by the mean of three readers trained with different seeds, by the
   picture's change inside the attribute's region; and, as a bound
   that no edit ever uses, paced by the oracle itself. Largest frame-to-frame rise of the oracle's target
   probability as a share of its whole rise (median over faces where it rose by > 0.2; goal <= 0.10), and
   how far apart (in dense steps of 120) the reader and the oracle put the middle of the change;
2. hair colour onto a random other class, each face ending where the reader reads it (as the app): the
   route of `edit` (directions/paths.py), a straight line in W, and two W+ routes whose layers move one
   after another (coarse layers first, or fine first); even and reader-paced frames; the share of frames
   the oracle reads as a third class (goal <= 0.05) and the largest jump; and, as a check on what the
   generator can draw at all, a pixel cross-fade between each face's first and last picture.
The oracle only reads; every route, end and pace comes from the crowd's labels and the reader.
"""

from __future__ import annotations

import sys
import time
from collections import Counter
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_directions import jump_of, parse_args, run_with_directions, table, targets_for  # noqa: E402

BINARY_ORDINAL = ("hair_length", "eye_state", "age", "blush")
CATEGORICAL = "hair_color"
ENSEMBLE = 3  # readers trained with different seeds, averaged (one pacing row)


def tempered(proba: np.ndarray, temperature: float) -> np.ndarray:
    """Class probabilities with their log-probabilities divided by `temperature` (< 1 sharpens, > 1 softens)."""
    logits = np.log(np.clip(proba, 1e-6, 1.0)) / temperature
    e = np.exp(logits - logits.max(-1, keepdims=True))
    return e / e.sum(-1, keepdims=True)


def middle(p_t: np.ndarray) -> np.ndarray:
    """p_t [n, M] -> index of the first step past half of the rise, per face."""
    half = (p_t[:, :1] + p_t[:, -1:]) / 2
    return np.argmax(p_t >= half, axis=1)


def main() -> int:
    args = parse_args()
    import torch

    torch.set_num_threads(args.threads)
    torch.set_grad_enabled(False)
    from directions.edit import edit, offset
    from directions.pacing import DENSE, change_shares, paced_positions
    from directions.reach import onto_class_shares
    from directions.reader import train_reader
    from directions.regions import set_mask
    from latentlab.generator.interface import map_latents, render, sample_z

    t_start = time.time()
    gen, oracle, schema, names, data, run_images, dset, reader = run_with_directions(args)
    kinds = {a.name: a.kind for a in schema.attributes}
    extra = [train_reader(run_images, data.labels, names, generator_id=gen.generator_id, epochs=args.reader_epochs,
                          seed=s, holdout=0.1) for s in range(1, ENSEMBLE)]  # each keeps 10 % out, as the first
    draw = lambda c: render(gen, np.asarray(c).reshape(-1, *np.asarray(c).shape[2:]), batch_size=64)  # noqa: E731
    n, frames, L = args.n_sweep, args.frames, gen.num_ws
    w = map_latents(gen, sample_z(n, args.eval_seed, gen.z_dim), args.truncation)
    faces = render(gen, w, batch_size=64)
    before = oracle.predict(faces)
    rng = np.random.default_rng(1)
    even = np.linspace(0.0, 1.0, frames)
    dense_u = np.repeat(np.linspace(0.0, 1.0, DENSE)[:, None], n, axis=1)

    def oracle_target(codes: np.ndarray, a: str, tgt: np.ndarray) -> np.ndarray:  # codes [K, n, ...] -> [n, K]
        p = oracle.predict_proba(draw(codes))[a].reshape(len(codes), n, -1)
        return p[:, np.arange(n), tgt].T

    rows = []
    for a in BINARY_ORDINAL:
        d = dset.entries[a]
        tgt, sign = targets_for(kinds[a], before[a], len(names[a]), rng)
        step = sign[:, None] * offset(d, 0, args.distance)[None]  # [n, D]
        route = lambda x: (w[None] + x[..., None] * step[None]).astype(np.float32)  # noqa: E731
        pictures = draw(route(dense_u))
        seen = reader.predict_proba(pictures, a)[a].reshape(DENSE, n, -1)
        mean_seen = np.mean([seen] + [r.predict_proba(pictures, a)[a].reshape(DENSE, n, -1) for r in extra], axis=0)
        mask = set_mask(dset, [a], gen.resolution)
        in_region = pictures.reshape(DENSE, n, *faces.shape[1:]).astype(np.float32) * mask[None, None, :, :, None]
        read = oracle.predict_proba(pictures)[a].reshape(DENSE, n, -1)
        paces = {"even in units": np.repeat(even[:, None], n, 1),
                 "reader (default)": paced_positions(change_shares(seen), even),
                 "reader sharpened (T = 0.5)": paced_positions(change_shares(tempered(seen, 0.5)), even),
                 "reader softened (T = 2)": paced_positions(change_shares(tempered(seen, 2.0)), even),
                 "reader softened (T = 4)": paced_positions(change_shares(tempered(seen, 4.0)), even),
                 "reader, even share 0.4": paced_positions(change_shares(seen, mix=0.4), even),
                 f"mean of {ENSEMBLE} readers (seeds)": paced_positions(change_shares(mean_seen), even),
                 "picture change in the region": paced_positions(change_shares(in_region), even),
                 "the oracle itself (a bound, never used)": paced_positions(change_shares(read), even)}
        gap = np.abs(middle(read[:, np.arange(n), tgt].T) - middle(seen[:, np.arange(n), tgt].T))
        for pace, x in paces.items():
            jump, rising = jump_of(oracle_target(route(x), a, tgt))
            rows.append({"attribute": a, "frames paced by": pace, "largest jump": jump, "faces rising": rising,
                         "reader-oracle middle gap (of 120)": float(np.median(gap))})
    print(f"\n### Pacing: {n} fresh faces, {args.distance:g} units towards the target, {frames} frames\n")
    print(table(rows))

    a = CATEGORICAL
    tgt, _ = targets_for("categorical", before[a], len(names[a]), rng)
    share = np.ones(n)
    for c in np.unique(tgt):
        m = tgt == c
        share[m] = onto_class_shares(w[m], dset, a, names[a][c], lambda k: render(gen, k, batch_size=64), reader)

    def edit_route(x: np.ndarray) -> np.ndarray:  # x [K, n] -> W+ [K, n, L, D]
        out = np.stack([np.concatenate([edit(w[i: i + 1], dset, {a: f"{names[a][tgt[i]]}@{x[k, i] * share[i]:.6f}"})
                                        for i in range(n)]) for k in range(len(x))])
        return np.repeat(out[:, :, None], L, axis=2)

    w1 = edit_route(np.ones((1, n)))[0, :, 0]
    order = np.arange(L) / max(L - 1, 1)

    def layered(lag: np.ndarray):  # layer l moves during [lag_l / 2, lag_l / 2 + 1/2] of the way
        def route(x: np.ndarray) -> np.ndarray:
            s = np.clip((x[..., None] - 0.5 * lag) / 0.5, 0, 1)  # [K, n, L]
            return w[None, :, None] + s[..., None] * (w1 - w)[None, :, None]
        return route

    routes = {"edit's route (directions/paths.py)": edit_route,
              "straight line in W": lambda x: np.repeat((w[None] + x[..., None] * (w1 - w)[None])[:, :, None], L, 2),
              "W+, coarse layers first": layered(order), "W+, fine layers first": layered(1 - order)}
    rows, first_last = [], None
    for label, route in routes.items():
        seen = reader.predict_proba(draw(route(dense_u)), a)[a].reshape(DENSE, n, -1)
        for pace, x in (("even", np.repeat(even[:, None], n, 1)),
                        ("reader", paced_positions(change_shares(seen), even))):
            pics = draw(route(x))
            proba = oracle.predict_proba(pics)[a].reshape(frames, n, -1).transpose(1, 0, 2)
            r = proba.argmax(-1)
            jump, _ = jump_of(proba[np.arange(n), :, tgt])
            third = (r != before[a][:, None]) & (r != tgt[:, None])
            rows.append({"route": label, "frames": pace, "third class": float(np.mean(third)), "largest jump": jump,
                         "flip at the end": float(np.mean(r[:, -1] == tgt))})
            if first_last is None:  # the edit's route, even frames: which third classes it shows
                seen_third = Counter((names[a][before[a][i]], names[a][tgt[i]], names[a][r[i, k]])
                                     for i, k in zip(*np.nonzero(third)))
                p = pics.reshape(frames, n, *faces.shape[1:])
                first_last = (p[0].astype(np.float32), p[-1].astype(np.float32))
    fade = np.stack([((1 - t) * first_last[0] + t * first_last[1]).round().astype(np.uint8) for t in even])
    r = oracle.predict(fade.reshape(-1, *faces.shape[1:]))[a].reshape(frames, n).T
    rows.append({"route": "pixel cross-fade of the first and last pictures (not an edit)", "frames": "even",
                 "third class": float(np.mean((r != before[a][:, None]) & (r != tgt[:, None]))), "largest jump": None,
                 "flip at the end": float(np.mean(r[:, -1] == tgt))})
    print(f"\n### {a} onto a random other class, each face to the reader's end: {n} fresh faces, {frames} frames\n")
    print(table(rows))
    print("\nthird classes on the edit's route (source -> target: read as, frames):",
          "; ".join(f"{s} -> {t}: {x} {c}" for (s, t, x), c in seen_third.most_common(8)))
    print(f"\ntotal {time.time() - t_start:.0f} s (threads {args.threads})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
