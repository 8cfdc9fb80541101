"""Judge fitted directions with the oracle: flip rates, side effects (plain vs conditional), CV curve.

    .venv/bin/python bench/bench_directions.py                 # default generator, 1000 labels, 500 fresh faces
    .venv/bin/python bench/bench_directions.py --n-labels 300 --n-eval 200   # a quick look

1. A labeling run of --n-labels faces is created in a temporary SQLite store (the real
   `labeler.runs.create_run`); the oracle reads the cached faces, and simulated annotators with
   known error rates label every face k=3 times through the store's assignment and submit calls.
2. Directions are fitted in W on the aggregated labels (LDA, shrinkage), plain and conditional
   (each attribute orthogonal to every other attribute's directions).
3. On --n-eval fresh faces (held-out seeds) each face is moved by --distance units towards a target
   class (binary: the other class; ordinal: one step up, or down from the top; categorical: a random
   other class, along its "towards" vector) and the oracle reads the result:
   flip rate = share reaching the target; side effect = share of (face, other attribute) pairs whose
   oracle reading changed. "onto class" uses edit(w, {attr: class}) instead of a fixed distance.
   A random direction of the same length gives the chance level of side effects. Also side by side:
   the attribute reader's per-face class ends (directions.reach, on every kind), and StyleSpace edits
   (the label-chosen style channels of each class moved by STYLE_GAIN x their class-mean difference).
   Sweeps are read even in units and paced by picture change or by the attribute reader.
4. The same edits on --n-inverted faces inverted from held-out-style renders (W pivot + pivotal tuning, as
   `latentlab invert`), each drawn by its tuned generator with the region blend `edit` uses (and, for the
   default method, by the tuned weights alone); flip rates next to those on fresh faces.
5. Flip and side effects of the default method refitted on the run's first 100/250/500/1000 faces (the
   label curve), on the same fresh faces and targets.
6. CV accuracy against the number of labels (subsets of the run).
Prints markdown tables (pasted into docs/directions.md) and writes the curve to --plot.
"""

from __future__ import annotations

import argparse
import copy
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent


def parse_args() -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--generator", default=None, help="generator file (default: the shipped one)")
    p.add_argument("--n-labels", type=int, default=1000)
    p.add_argument("--n-eval", type=int, default=500)
    p.add_argument("--distance", type=float, default=3.0, help="move length in direction units")
    p.add_argument("--error-rates", default="0.05,0.1,0.2,0.3", help="one simulated annotator per rate")
    p.add_argument("--k", type=int, default=3, help="labels per face")
    p.add_argument("--aggregation", default="majority", choices=("majority", "dawid_skene"))
    p.add_argument("--truncation", type=float, default=0.8)
    p.add_argument("--seed", type=int, default=0, help="seed of the labeled run's latents")
    p.add_argument("--eval-seed", type=int, default=50_000, help="seed of the fresh faces")
    p.add_argument("--n-sweep", type=int, default=16, help="faces animated per attribute for the sweep figures")
    p.add_argument("--frames", type=int, default=60, help="frames per sweep")
    p.add_argument("--curve", default="100,250,500,1000", help="label counts for the CV and flip curves")
    p.add_argument("--n-inverted", type=int, default=24,
                   help="held-out-style faces inverted (pivot + tuning) and edited like the fresh ones (0: skip)")
    p.add_argument("--plot", default=None,
                   help="CV curve (default: docs/directions_cv.png for the shipped generator, else <generator>_cv.png)")
    p.add_argument("--regions-picture", default=None,
                   help="faces edited whole and drawn in the attribute's region, side by side (default: "
                        "docs/directions_regions.png for the shipped generator, else <generator>_regions.png)")
    p.add_argument("--reader-epochs", type=int, default=40, help="training epochs of the attribute reader")
    p.add_argument("--threads", type=int, default=1)
    p.add_argument("--device", default="cpu")
    args = p.parse_args()
    # docs/ shows the shipped generator: another generator's pictures go next to its file, never over the docs' ones
    gen = Path(args.generator) if args.generator else None
    for attr, suffix, docs_name in (("plot", "_cv.png", "directions_cv.png"),
                                    ("regions_picture", "_regions.png", "directions_regions.png")):
        if getattr(args, attr) is None:
            setattr(args, attr, str(ROOT / "docs" / docs_name if gen is None else gen.with_name(gen.stem + suffix)))
    return args


def table(rows: list[dict], floats: str = "{:.3f}") -> str:
    if not rows:
        return "(none)"
    cols = list(dict.fromkeys(c for r in rows for c in r))  # every column, in first-seen order
    out = ["| " + " | ".join(cols) + " |", "|" + "---|" * len(cols)]
    for r in rows:
        cells = [floats.format(v) if isinstance(v, float) and np.isfinite(v) else ("–" if v is None or (isinstance(v, float) and not np.isfinite(v)) else str(v))
                 for v in (r.get(c) for c in cols)]
        out.append("| " + " | ".join(cells) + " |")
    return "\n".join(out)


def targets_for(kind: str, current: np.ndarray, n_classes: int, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """(target class [N], sign [N]) of each face's move."""
    if kind == "binary":
        return 1 - current, np.where(current == 0, 1.0, -1.0)
    if kind == "ordinal":
        up = current < n_classes - 1
        return np.where(up, current + 1, current - 1), np.where(up, 1.0, -1.0)
    other = (current + rng.integers(1, n_classes, len(current))) % n_classes  # uniform over the other classes
    return other, np.ones(len(current))


def svm_normal(latents: np.ndarray, labels: list, options: list[str]) -> np.ndarray:
    """InterFaceGAN's direction: the unit normal of a linear SVM between the two options."""
    from sklearn.svm import LinearSVC

    keep = np.array([v in options for v in labels])
    y = np.array([options.index(v) for v in np.asarray(labels, object)[keep]])
    x = latents[keep]
    mean, std = x.mean(0), x.std(0)
    svm = LinearSVC(C=0.1, max_iter=5000).fit((x - mean) / std, y)
    normal = svm.coef_[0] / std
    return normal / np.linalg.norm(normal)


REGION_ROW = "default, drawn in the attribute's region"  # directions.regions
REACH_REGION_ROW = "the reader's end, drawn in the attribute's region"  # directions.reach + regions
STYLE_TOP, STYLE_GAIN = 24, 2.0  # the best of 8/24/64 channels x 1/2/3 in a first probe (docs/directions.md)


def render_with_style_offsets(gen, w: np.ndarray, offsets: np.ndarray, sizes: list[int], batch: int = 64) -> np.ndarray:
    """Faces of W codes w [N, D] with `offsets` [N, sum(sizes)] added to the affines' outputs (StyleSpace)."""
    import torch

    from latentlab.generator.interface import to_uint8
    from latentlab.generator.stylespace import _affines

    affines = [module for _, module in _affines(gen)]
    cuts = np.cumsum([0] + list(sizes))
    out = []
    for i in range(0, len(w), batch):
        hooks = []
        for j, module in enumerate(affines):
            d = torch.as_tensor(offsets[i: i + batch, cuts[j]: cuts[j + 1]], dtype=torch.float32)
            hooks.append(module.register_forward_hook(lambda m, inp, o, d=d: o + d.to(o.dtype)))
        try:
            with torch.inference_mode():
                out.append(to_uint8(gen.synthesis(torch.as_tensor(w[i: i + batch]), noise_mode="const")))
        finally:
            for h in hooks:
                h.remove()
    return np.concatenate(out)


def regions_picture(path: str, gen, dset, w: np.ndarray, base: np.ndarray, names: dict) -> None:
    """Per edit three rows: the faces, the whole moved faces, the same moves drawn in the attribute's region."""
    from PIL import Image

    from directions.edit import edit
    from directions.regions import lock_to_regions, set_mask
    from latentlab.generator.interface import image_grid, render

    edits = [e for e in ({"hair_color": "blonde"}, {"age": 3.0}, {"mouth": "open"}, {"eye_state": 3.0})
             if next(iter(e)) in dset.entries]
    rows = []
    for e in edits:
        moved = render(gen, edit(w, dset, e))
        locked = lock_to_regions(moved, base, set_mask(dset, list(e), gen.resolution))
        rows += [image_grid(base, len(w)), image_grid(moved, len(w)), image_grid(locked, len(w)),
                 np.full((4, base.shape[2] * len(w), 3), 255, np.uint8)]
    picture = np.concatenate(rows[:-1])
    Image.fromarray(picture).resize((picture.shape[1] * 2, picture.shape[0] * 2), Image.NEAREST).save(path)
    print(f"wrote {path}: per edit ({', '.join(str(e) for e in edits)}): faces / moved whole / drawn in the region")


def reached(kind: str, before: np.ndarray, after: np.ndarray, target: np.ndarray) -> np.ndarray:
    if kind == "ordinal":  # moved at least one step the right way
        return np.where(target > before, after > before, after < before)
    return after == target


def labeled_run(args: argparse.Namespace, gen, oracle, schema):
    """(run dataset with aggregated labels, its faces, the oracle's reading of them, labels submitted):
    args.n_labels faces labeled k times through the real store by simulated annotators who label the
    oracle's reading with args.error_rates."""
    from labeler.dataset import load_run_dataset
    from labeler.runs import create_run
    from labeler.simulation import SimulatedAnnotator, label_run

    names = {a.name: list(a.options) for a in schema.attributes}
    rates = [float(r) for r in args.error_rates.split(",")]
    with tempfile.TemporaryDirectory(prefix="bench-directions-") as tmp:
        db = f"sqlite:///{Path(tmp) / 'labels.sqlite'}"
        run_id = create_run(db, gen, n=args.n_labels, seed=args.seed, truncation_psi=args.truncation,
                            schema=schema, k=args.k, workspace=tmp, progress=True)
        data = load_run_dataset(db, run_id)
        run_images = data.load_images()
        read = oracle.predict(run_images)
        truth = {int(item): {a: names[a][read[a][i]] for a in names} for i, item in enumerate(data.item_ids)}
        annotators = [SimulatedAnnotator(f"sim{i}-{r:g}", error_rate=r, seed=i) for i, r in enumerate(rates)]
        n_submitted = label_run(db, run_id, truth, annotators, k=args.k)
        data = load_run_dataset(db, run_id, aggregation=args.aggregation)
    return data, run_images, read, n_submitted


def jump_of(p_t: np.ndarray) -> tuple[float | None, int]:
    """p_t [n, F] (a target's probability over a sweep's frames) -> (median over faces whose probability rose by
    > 0.2 of the largest frame-to-frame rise as a share of the whole rise, number of such faces)."""
    rise = p_t[:, -1] - p_t[:, 0]
    rising = rise > 0.2
    if not rising.any():
        return None, 0
    return float(np.median(np.max(np.diff(p_t, axis=1), axis=1)[rising] / rise[rising])), int(rising.sum())


def run_with_directions(args: argparse.Namespace):
    """(generator, oracle, schema, classes per attribute, run dataset, its faces, the default direction set
    fitted on it with regions, its attribute reader): the setup the sweep benchmarks share."""
    from directions.fit import fit_direction_set
    from directions.reader import train_reader
    from labeler.schema import default_schema
    from latentlab.generator.loading import load_generator
    from latentlab.generator.synthetic.oracle import load_oracle

    gen, oracle, schema = load_generator(args.generator, args.device), load_oracle(args.device), default_schema()
    names = {a.name: list(a.options) for a in schema.attributes}
    data, run_images, _, _ = labeled_run(args, gen, oracle, schema)
    dset = fit_direction_set(data.w, data.labels, schema.attributes, generator_id=gen.generator_id, space="w",
                             images=run_images).direction_set
    reader = train_reader(run_images, data.labels, names, generator_id=gen.generator_id, epochs=args.reader_epochs,
                          holdout=0.1)
    return gen, oracle, schema, names, data, run_images, dset, reader


def main() -> int:
    args = parse_args()
    import torch

    torch.set_num_threads(args.threads)
    torch.set_grad_enabled(False)
    from latentlab.core.errors import UserError
    from latentlab.generator.interface import map_latents, render, sample_z
    from latentlab.generator.loading import load_generator

    try:
        from latentlab.generator.synthetic.oracle import load_oracle
        from labeler.schema import default_schema

        gen = load_generator(args.generator, args.device)
        oracle = load_oracle(args.device)
    except (ModuleNotFoundError, UserError) as e:
        print(f"cannot run the directions benchmark: {e}", file=sys.stderr)
        return 1
    from directions.conditional import conditional_direction
    from directions.edit import edit, offset
    from directions.fit import DirectionFitter, TooFewLabels, fit_direction_set
    from directions.mutation import LatentStats
    from directions.pacing import DENSE, change_shares, paced_positions
    from directions.reach import edit_onto_classes
    from directions.reader import train_reader
    from directions.regions import lock_to_regions, set_mask
    from latentlab.generator.stylespace import styles

    t_start = time.time()
    schema = default_schema()
    names = {a.name: list(a.options) for a in schema.attributes}
    kinds = {a.name: a.kind for a in schema.attributes}
    rates = [float(r) for r in args.error_rates.split(",")]
    print(f"generator {gen.generator_id}, oracle {oracle.meta.get('accuracy', '')}")

    # 1. a labeled run through the real store
    t0 = time.time()
    data, run_images, read, n_submitted = labeled_run(args, gen, oracle, schema)
    t_label = time.time() - t0
    print(f"\nlabeled run: {args.n_labels} faces x k={args.k} = {n_submitted} labels from annotators with error "
          f"rates {rates} in {t_label:.0f} s ({args.aggregation} aggregation)")
    agg_rows = []
    for a in names:
        col = data.labels[a]
        known = col.notna().to_numpy()
        true = np.array([names[a][read[a][i]] for i in range(len(col))])
        agg_rows.append({"attribute": a, "aggregated": int(known.sum()),
                         "agree with oracle": float(np.mean(col.to_numpy()[known] == true[known]))})
    print("\n### Aggregated labels vs the oracle's reading\n")
    print(table(agg_rows))

    # 2. directions: plain and conditional
    t0 = time.time()
    result = fit_direction_set(data.w, data.labels, schema.attributes, generator_id=gen.generator_id, space="w",
                               images=run_images)  # with each attribute's region (directions.regions)
    dset = result.direction_set
    fitted = [a for a in names if a in dset.entries]
    for a in fitted:
        others = [dset.entries[o] for o in fitted if o != a]
        dset.add(conditional_direction(dset.entries[a], others, data.w, data.labels[a].tolist()))
    t_fit = time.time() - t0
    print(f"\n### Directions fitted on {args.n_labels} faces in W ({t_fit:.1f} s, conditional: orthogonal to all "
          f"other attributes)\n")
    fit_rows = []
    for a in fitted:
        m = dset.entries[a].metrics
        fit_rows.append({"attribute": a, "kind": kinds[a], "labels": m["n_labels"], "LDA CV acc": m["cv_accuracy"],
                         "majority baseline": m["baseline_accuracy"], "LDA balanced acc": m["cv_balanced_accuracy"], "SVM CV acc": m["svm_cv_accuracy"],
                         "cos(LDA, SVM)": m["svm_cosine"] if m["svm_cosine"] is not None else None,
                         "cos(plain, cond)": float(np.mean(dset.entries[f"{a}|" + "+".join(o for o in fitted if o != a)].metrics["cosine_to_plain"]))})
    print(table(fit_rows))
    for a, why in result.refused.items():
        print(f"- not fitted: {why}")

    # the attribute reader (`fit --reader`): a CNN on the run's faces and the same crowd labels
    t0 = time.time()
    reader = train_reader(run_images, data.labels, names, generator_id=gen.generator_id, epochs=args.reader_epochs,
                          holdout=0.1)
    print(f"\n### Attribute reader ({args.reader_epochs} epochs, {time.time() - t0:.0f} s): agreement with the "
          "crowd's label on 10 % held-out faces\n")
    print(table([{"attribute": a, "reader": v} for a, v in reader.meta["holdout_accuracy"].items()]))

    # StyleSpace (Wu et al.): per class, the style channels whose labeled means differ most (effect size)
    label_styles = np.concatenate(styles(gen, data.w), axis=1)
    style_sizes = [s_.shape[1] for s_ in styles(gen, data.w[:1])]

    def style_shift(a: str, target: np.ndarray) -> np.ndarray:
        """Per face, STYLE_GAIN x (mean style of the target class - of the rest) on its STYLE_TOP channels."""
        col = np.asarray(data.labels[a].tolist(), object)
        out = np.zeros((len(target), label_styles.shape[1]))
        for t in np.unique(target):
            pos, neg = col == names[a][t], (col != None) & (col != names[a][t])  # noqa: E711
            if pos.sum() < 3:
                continue
            diff = label_styles[pos].mean(0) - label_styles[neg].mean(0)
            pooled = np.sqrt((label_styles[pos].var(0) + label_styles[neg].var(0)) / 2) + 1e-8
            top = np.argsort(-np.abs(diff / pooled))[:STYLE_TOP]
            v = np.zeros(label_styles.shape[1])
            v[top] = STYLE_GAIN * diff[top]
            out[target == t] = v
        return out

    # 3. methods side by side on the same fresh faces, at each slider's documented end
    t0 = time.time()
    rng = np.random.default_rng(1)
    w = map_latents(gen, sample_z(args.n_eval, args.eval_seed, gen.z_dim), args.truncation)

    def read_w(codes: np.ndarray) -> dict[str, np.ndarray]:
        return oracle.predict(render(gen, codes, batch_size=64))

    def read_locked(codes: np.ndarray, a: str) -> dict[str, np.ndarray]:
        """The oracle's reading of edits drawn only in attribute a's region (the rest: the faces w)."""
        return oracle.predict(lock_to_regions(render(gen, codes, batch_size=64), base_faces,
                                              set_mask(dset, [a], gen.resolution)))

    def sweep_codes(a: str, mset, wf: np.ndarray, target: np.ndarray, sign: np.ndarray, f: np.ndarray) -> np.ndarray:
        """Codes [F, n, D] of faces wf at shares f [F, n] of the way to the slider's end (per face)."""
        out = np.empty((len(f), len(wf), wf.shape[1]), np.float32)
        for i in range(len(wf)):
            for k, x in enumerate(f[:, i]):
                if kinds[a] == "categorical":
                    out[k, i] = edit(wf[i: i + 1], mset, {a: f"{names[a][target[i]]}@{x:.6f}"})[0]
                else:
                    out[k, i] = wf[i] + sign[i] * x * offset(mset.entries[a], 0, args.distance)
        return out

    def sweep_figures(a: str, mset, wf: np.ndarray, before: dict, target: np.ndarray, sign: np.ndarray,
                      pace: str = "units", locked: bool = False) -> dict:
        """Animate faces wf [n, D] from 0 to the slider's end and read every frame's probabilities.
        pace: "units" (even steps), "pictures" or "reader" (directions.pacing)."""
        n, kind = len(wf), kinds[a]
        tgt, sgn, src = target[:n], sign[:n], before[a][:n]
        even = np.repeat(np.linspace(0.0, 1.0, args.frames)[:, None], n, axis=1)
        if pace == "units":
            f = even
        else:
            dense = sweep_codes(a, mset, wf, tgt, sgn, np.repeat(np.linspace(0, 1, DENSE)[:, None], n, axis=1))
            pics = render(gen, dense.reshape(-1, dense.shape[-1]), batch_size=64)
            readings = pics if pace == "pictures" else reader.predict_proba(pics, a)[a]
            f = paced_positions(change_shares(readings.reshape(DENSE, n, *readings.shape[1:])), even[:, 0])
        codes = sweep_codes(a, mset, wf, tgt, sgn, f).transpose(1, 0, 2)  # [n, F, D]
        frames = render(gen, codes.reshape(-1, codes.shape[-1]), batch_size=64)
        if locked:
            frames = lock_to_regions(frames.reshape(n, args.frames, *frames.shape[1:]), base_faces[:n, None],
                                     set_mask(dset, [a], gen.resolution)).reshape(frames.shape)
        proba = oracle.predict_proba(frames)[a]
        proba = proba.reshape(n, args.frames, -1)
        jump, rising = jump_of(proba[np.arange(n), :, tgt])
        read = proba.argmax(-1)
        out = {"largest jump": jump, "faces rising": rising}
        if kind == "categorical":
            out["third class"] = float(np.mean((read != src[:, None]) & (read != tgt[:, None])))
        if a == "eye_state":
            opening = (src == 0) & (sgn > 0)  # open faces moving towards closed
            out["half"] = float(np.mean(read[opening] == 1)) if opening.any() else None
        return out

    base_faces = render(gen, w, batch_size=64)
    before = oracle.predict(base_faces)
    stats = LatentStats.from_samples(data.w)
    spread = fit_direction_set(data.w, data.labels, schema.attributes, generator_id=gen.generator_id, space="w",
                               units="spread").direction_set
    straight = copy.deepcopy(spread)  # format 1 behaviour: spread units, straight onto-class moves
    for d in straight.entries.values():
        d.within_cov = d.class_priors = None

    def side_effect(after: dict, a: str) -> tuple[float, float, str]:
        changes = {b: float(np.mean(after[b] != before[b])) for b in names if b != a}
        worst = max(changes, key=changes.get)
        return float(np.mean(list(changes.values()))), changes[worst], worst

    def end_codes(a: str, method_set, name: str, target: np.ndarray, sign: np.ndarray, amount: float) -> np.ndarray:
        """Each face at the slider's end: onto its target class (categorical), else `amount` units its way."""
        if kinds[a] == "categorical":
            out = np.empty_like(w)
            for t in np.unique(target):
                out[target == t] = edit(w[target == t], method_set, {name: names[a][t]})
            return out
        return w + sign[:, None] * offset(method_set.entries[name], 0, amount)[None]

    methods = {"LDA, spread units, straight (format 1)": (straight, False),
               "LDA, calibrated units, two-class route (default)": (dset, False),
               "conditional, calibrated": (dset, True)}
    cmp_rows, sweep_rows = [], []
    for a in fitted:
        kind, n_cls = kinds[a], len(names[a])
        target, sign = targets_for(kind, before[a], n_cls, rng)
        default_len = None
        for label, (mset, conditional) in methods.items():
            name = f"{a}|" + "+".join(o for o in fitted if o != a) if conditional else a
            if name not in mset.entries:
                continue
            codes = end_codes(a, mset, name, target, sign, args.distance)
            after = read_w(codes)
            side, worst, worst_name = side_effect(after, a)
            length = float(np.median(np.linalg.norm(codes - w, axis=1)))
            if "default" in label:
                default_len = np.linalg.norm(codes - w, axis=1)
            cmp_rows.append({"attribute": a, "method": label, "W distance": length,
                             "flip": float(np.mean(reached(kind, before[a], after[a], target))),
                             "side": side, "worst side": f"{worst_name} {worst:.2f}"})
            if "default" in label:  # the same moves drawn only in the attribute's region
                after = read_locked(codes, a)
                side, worst, worst_name = side_effect(after, a)
                cmp_rows.append({"attribute": a, "method": REGION_ROW, "W distance": length,
                                 "flip": float(np.mean(reached(kind, before[a], after[a], target))),
                                 "side": side, "worst side": f"{worst_name} {worst:.2f}"})
        if kind == "binary" and default_len is not None:  # InterFaceGAN's SVM normal, as far in W as the default
            m = svm_normal(data.w, data.labels[a].tolist(), names[a])
            after = read_w(w + (sign * default_len)[:, None] * m[None])
            side, worst, worst_name = side_effect(after, a)
            cmp_rows.append({"attribute": a, "method": "SVM normal, equal W distance", "W distance":
                             float(np.median(default_len)), "flip": float(np.mean(reached(kind, before[a], after[a], target))),
                             "side": side, "worst side": f"{worst_name} {worst:.2f}"})
        reached_codes = np.empty_like(w)  # onto the target class, each face as far as the reader needs
        for t in np.unique(target):
            m = target == t
            reached_codes[m] = edit_onto_classes(w[m], dset, {a: names[a][t]}, lambda c: render(gen, c, batch_size=64),
                                                 reader, kinds=None)  # measured on every kind
        after = read_w(reached_codes)
        side, worst, worst_name = side_effect(after, a)
        cmp_rows.append({"attribute": a, "method": "LDA default, onto the class until the reader reads it",
                         "W distance": float(np.median(np.linalg.norm(reached_codes - w, axis=1))),
                         "flip": float(np.mean(reached(kind, before[a], after[a], target))),
                         "side": side, "worst side": f"{worst_name} {worst:.2f}"})
        after = read_locked(reached_codes, a)
        side, worst, worst_name = side_effect(after, a)
        cmp_rows.append({"attribute": a, "method": REACH_REGION_ROW,
                         "W distance": float(np.median(np.linalg.norm(reached_codes - w, axis=1))),
                         "flip": float(np.mean(reached(kind, before[a], after[a], target))),
                         "side": side, "worst side": f"{worst_name} {worst:.2f}"})
        after = oracle.predict(render_with_style_offsets(gen, w, style_shift(a, target), style_sizes))
        side, worst, worst_name = side_effect(after, a)
        cmp_rows.append({"attribute": a, "method": f"StyleSpace, top {STYLE_TOP} channels x {STYLE_GAIN:g}",
                         "W distance": None, "flip": float(np.mean(reached(kind, before[a], after[a], target))),
                         "side": side, "worst side": f"{worst_name} {worst:.2f}"})
        if default_len is not None:  # a random direction of the data's covariance, equal W distance
            u = stats.random_directions(len(w), rng)
            after = read_w(w + default_len[:, None] * u)
            side, worst, worst_name = side_effect(after, a)
            cmp_rows.append({"attribute": a, "method": "random, equal W distance", "W distance":
                             float(np.median(default_len)), "flip": float(np.mean(reached(kind, before[a], after[a], target))),
                             "side": side, "worst side": f"{worst_name} {worst:.2f}"})
        for label, mset, pace in (("format 1, even in units", straight, "units"), ("default, even in units", dset, "units"),
                                  ("default, paced by picture change", dset, "pictures"),
                                  ("default, paced by the attribute reader", dset, "reader"),
                                  ("default, paced by the reader, drawn in its region", dset, "reader")):
            sweep_rows.append({"attribute": a, "method": label,
                               **sweep_figures(a, mset, w[: args.n_sweep], before, target, sign, pace,
                                               locked="region" in label)})
    t_eval = time.time() - t0
    regions_picture(args.regions_picture, gen, dset, w[:6], base_faces[:6], names)

    print(f"\n### Methods side by side at the slider's end ({args.distance:g} units towards the target, or onto "
          f"the class), {args.n_eval} fresh faces, read by the oracle ({t_eval:.0f} s)\n")
    print("flip: share reaching the target class (ordinal: one step the right way); side: share of (face, other "
          "attribute) pairs whose reading changed; W distance: median length of the move in W. The SVM and random "
          "rows move exactly as far in W as the default method.\n")
    print(table(cmp_rows))
    print(f"\n### Sweeps: {args.frames} frames from the face to the slider's end, first {args.n_sweep} faces\n")
    print("largest jump: the largest frame-to-frame rise of the oracle's target probability as a share of the "
          "whole rise (median over faces whose probability rose by > 0.2; goal <= 0.10); third class: share of "
          "frames read as neither the start class nor the target (goal <= 0.05); half: share of frames read "
          "'half' on open -> closed sweeps (goal >= 0.10).\n")
    print(table(sweep_rows))

    # 4. the same edits on inverted faces drawn in a style no model trained on
    if args.n_inverted > 0:
        t0 = time.time()
        inv_rows = inverted_rows(args, gen, oracle, dset, reader, names, kinds, fitted, cmp_rows)
        print(f"\n### The same edits on {args.n_inverted} inverted held-out-style faces ({time.time() - t0:.0f} s)\n")
        print("Each face: a W pivot and pivotal tuning as `latentlab invert` does; edits drawn by its tuned generator "
              "with the region blend `edit` uses (where an edit changes the original generator's drawing more than "
              "the tuned one's, that drawing; 'tuned weights alone': without it). "
              "vs generated: this flip rate / the flip rate of the same method on the fresh faces above "
              "(goal >= 0.9).\n")
        print(table(inv_rows))

    # 5. flips and side effects against the number of labels (the default method, refitted on the first n faces)
    t0 = time.time()
    label_curve = []
    counts = [n for n in (int(c) for c in args.curve.split(",")) if n <= len(data.w)]
    curve_rng = np.random.default_rng(3)
    curve_targets = {a: targets_for(kinds[a], before[a], len(names[a]), curve_rng) for a in names}
    for n in counts:
        sub_set = fit_direction_set(data.w[:n], data.labels.iloc[:n], schema.attributes, generator_id=gen.generator_id,
                                    space="w", compare_svm=False).direction_set
        for a in names:
            if a not in sub_set.entries:
                label_curve.append({"labeled faces": n, "attribute": a, "flip": None, "side": None})
                continue
            target, sign = curve_targets[a]
            after = read_w(end_codes(a, sub_set, a, target, sign, args.distance))
            side, worst, worst_name = side_effect(after, a)
            label_curve.append({"labeled faces": n, "attribute": a,
                                "flip": float(np.mean(reached(kinds[a], before[a], after[a], target))),
                                "side": side, "worst side": f"{worst_name} {worst:.2f}"})
    print(f"\n### Flip and side effects of the default method against the number of labeled faces "
          f"({time.time() - t0:.0f} s; refitted on the run's first n faces, same fresh faces and targets)\n")
    print(table([{"attribute": a, **{f"n={r['labeled faces']}": (f"{r['flip']:.2f} / {r['side']:.2f}"
                                                                 if r["flip"] is not None else None)
                                     for r in label_curve if r["attribute"] == a}} for a in names]))
    print("\n(flip / side)")

    # 6. CV accuracy against the number of labels
    t0 = time.time()
    counts = [n for n in (int(c) for c in args.curve.split(",")) if n <= len(data.w)]
    curve = {a: [] for a in names}
    balanced = {a: [] for a in names}
    for n in counts:
        for a in names:
            fitter = DirectionFitter(kind=kinds[a], classes=names[a], attribute=a, compare_svm=False, min_per_class=5)
            try:
                fitter.fit(data.w[:n], data.labels[a].tolist()[:n])
                curve[a].append(fitter.cv_accuracy_)
                balanced[a].append(fitter.cv_balanced_accuracy_)
            except TooFewLabels:
                curve[a].append(float("nan"))
                balanced[a].append(float("nan"))
    print(f"\n### LDA CV accuracy (balanced accuracy) against the number of labels ({time.time() - t0:.1f} s; "
          "– = a class had < 5 labels)\n")
    print(table([{"attribute": a, **{f"n={n}": (f"{v:.3f} ({b:.3f})" if np.isfinite(v) else None)
                                     for n, v, b in zip(counts, curve[a], balanced[a])}} for a in names]))
    if args.plot:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt

        fig, axes = plt.subplots(1, 2, figsize=(10, 4), sharex=True)
        for ax, values, title in ((axes[0], curve, "accuracy"), (axes[1], balanced, "balanced accuracy (chance = 1/C)")):
            for a in names:
                ax.plot(counts, values[a], marker="o", label=a)
            ax.set_xscale("log")
            ax.set_xticks(counts, [str(c) for c in counts])
            ax.set_xlabel("labeled faces")
            ax.set_title(f"5-fold CV {title}", fontsize=10)
            ax.grid(alpha=0.3)
        axes[0].legend(fontsize=7, ncol=2)
        fig.suptitle(f"LDA directions in W: {args.aggregation} labels from annotators with error rates {rates}; "
                     f"generator {gen.generator_id}", fontsize=8)
        fig.tight_layout()
        Path(args.plot).parent.mkdir(parents=True, exist_ok=True)
        fig.savefig(args.plot, dpi=110)
        print(f"\nwrote {args.plot}")
    print(f"total {time.time() - t_start:.0f} s (threads {args.threads})")
    return 0


def inverted_rows(args, gen, oracle, dset, reader, names, kinds, fitted, cmp_rows) -> list[dict]:
    """Flip and side effects of the default method (and, for categorical attributes, the reader's per-face
    end) on faces inverted from held-out-style renders, each drawn by its own tuned generator."""
    from bench_inversion import target_faces

    from directions.edit import offset
    from directions.reach import edit_onto_classes, reaches
    from directions.regions import lock_to_regions, set_mask
    from latentlab.core.workspace import workspace_dir
    from latentlab.generator.interface import render
    from latentlab.inversion.pipeline import pivot_config, pivot_setup, setup_inversion, tune_projection
    from latentlab.inversion.projector import ProjectorConfig, psnr
    from latentlab.inversion.tuning import TuningConfig

    import torch

    targets, what = target_faces("heldout", args.n_inverted, 20_000, gen.resolution)
    setup = setup_inversion(gen, "metric", None, workspace=workspace_dir())
    with torch.enable_grad():  # the benchmark turns gradients off; inversion needs them
        pivots = pivot_setup(setup).projector(gen, pivot_config(ProjectorConfig(space="w", steps=100)))(targets)
        gens = []
        for i in range(len(targets)):
            one = type(pivots)(ws=pivots.ws[i:i + 1], w=None, images=pivots.images[i:i + 1],
                               loss_history=pivots.loss_history[:, i:i + 1], final_loss=pivots.final_loss[i:i + 1],
                               seconds=0.0, config=pivots.config)
            gens.append(tune_projection(gen, one, targets[i], setup, TuningConfig()).generator)
    w = pivots.ws[:, 0]

    alone = [g.with_blend(None) for g in gens]  # the tuned weights alone, without `invert`'s region blend

    def draw(codes: np.ndarray, by=gens) -> np.ndarray:  # face i of codes [n, D] by its own tuned generator
        return np.concatenate([render(by[i], codes[i: i + 1]) for i in range(len(codes))])

    recon = draw(w)
    print(f"\ninverted {len(w)} faces ({what}): PSNR {psnr(recon, targets).mean():.1f} dB after tuning")
    before = oracle.predict(recon)
    rng = np.random.default_rng(1)
    reference = {(r["attribute"], r["method"]): r["flip"] for r in cmp_rows}
    default = "LDA, calibrated units, two-class route (default)"
    rows = []
    for a in fitted:
        target, sign = targets_for(kinds[a], before[a], len(names[a]), rng)
        reach = "LDA default, onto the class until the reader reads it"
        # (row label, the fresh-face row it is compared with, reader, drawn by)
        variants = [(default, default, None, gens), (f"{default}, tuned weights alone", default, None, alone),
                    (REGION_ROW, REGION_ROW, None, gens)]
        if reaches(dset, a):
            variants += [(reach, reach, reader, gens), (REACH_REGION_ROW, REACH_REGION_ROW, reader, gens)]
        for label, method, with_reader, by in variants:
            if kinds[a] == "categorical" or with_reader is not None:  # onto the class (per face with the reader)
                codes = np.concatenate([
                    edit_onto_classes(w[i: i + 1], dset, {a: names[a][target[i]]}, lambda c, i=i: render(by[i], c),
                                      with_reader) for i in range(len(w))])
            else:
                codes = w + sign[:, None] * offset(dset.entries[a], 0, args.distance)[None]
            pictures = draw(codes, by)
            if method in (REGION_ROW, REACH_REGION_ROW):  # the blended edit in the attribute's region, the reconstruction outside
                pictures = lock_to_regions(pictures, recon, set_mask(dset, [a], gen.resolution))
            after = oracle.predict(pictures)
            flip = float(np.mean(reached(kinds[a], before[a], after[a], target)))
            changes = [float(np.mean(after[b] != before[b])) for b in names if b != a]
            ref = reference.get((a, method))
            rows.append({"attribute": a, "method": label, "flip": flip, "side": float(np.mean(changes)),
                         "flip on generated": ref, "vs generated": flip / ref if ref else None})
    return rows


if __name__ == "__main__":
    sys.exit(main())
