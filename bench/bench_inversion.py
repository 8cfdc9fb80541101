"""Inversion benchmark: reconstruction quality against steps and wall time, and editability afterwards.

    .venv/bin/python bench/bench_inversion.py                      # 8 held-out renders, 300 steps
    .venv/bin/python bench/bench_inversion.py --n 4 --steps 100    # a quick look

Targets are held-out renders of the synthetic face renderer (seeds below 100 000, which neither the
GAN nor the oracle trained on), i.e. pictures the generator has never drawn. Each method projects
all of them as one batch (samples are optimised independently; times are batch wall time / N).
Every --every steps the current latent is rendered and scored against its target:
PSNR (dB), SSIM (11x11 Gaussian window, per channel) and oracle agreement (the share of the
8 attributes where the oracle reads the same class on the target and on the reconstruction).

Methods: the plain recipe (unnormalised feature L2 on one stage + plain SGD at a constant rate,
W only; VGG16 relu3_3 when its weights are installed, else the metric net's third stage), then
Adam with the ramped rate in W and in W+ (from the W result), with the metric, pixel and (if
installed) vgg16 losses, from w_avg or from the encoder's guess.

Editability: directions are fitted in W (LDA) on --n-fit generator samples labeled by the oracle;
every inverted face (W and W+ results of the metric loss) and, for reference, generated faces,
are moved --distance units towards another class of each attribute, and the oracle reads the result
(flip rate = share reaching the target class, as in bench_directions.py).
Prints markdown tables (pasted into docs/inversion.md) and writes a plot to --plot.

`--suite tuning` measures what `latentlab invert` does now (a W pivot from the encoder's guess, then
pivotal tuning) against the old default (W+, metric loss, encoder start, 300 steps) on faces drawn in a
style the generator never saw (--source heldout: the renderer's held-out style; drawings: the test
drawing; renders: the training style), uploaded at each of --upload-sizes px and prepared as uploads are:
PSNR, SSIM, foreground/background PSNR, seconds per face (wall and CPU), seconds to reach 25 and 30 dB,
flip rates of the fitted directions on the tuned faces against generated faces (drawn by the tuned
weights alone and with the region blend `edit` uses, `latentlab.inversion.blend`), the share of the other
attributes each move changes (side effects), and a picture (targets / old default / pivot / tuned / one edit each):

    .venv/bin/python bench/bench_inversion.py --suite tuning --n 24 --upload-sizes 64,256

`--suite prior` compares untuned pivots under several latent-prior weights (--priors): PSNR, distance
from sampled W, flip rates (docs/inversion.md, *The pivot's prior*):

    .venv/bin/python bench/bench_inversion.py --suite prior --n 48 --n-fit 1000 --priors 0,0.001,0.01,0.1
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent


def parse_args() -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--generator", default=None, help="generator file (default: the shipped one)")
    p.add_argument("--n", type=int, default=8, help="held-out renders to invert")
    p.add_argument("--seed", type=int, default=20_000, help="first held-out render seed")
    p.add_argument("--steps", type=int, default=300)
    p.add_argument("--every", type=int, default=25, help="score the latent every this many steps")
    p.add_argument("--plain-lr", default="auto", help="SGD rate of the plain recipe ('auto': best of a sweep)")
    p.add_argument("--methods", default="", help="comma-separated subset of method names (default: all)")
    p.add_argument("--n-fit", type=int, default=2000, help="oracle-labeled samples to fit directions on")
    p.add_argument("--distance", type=float, default=3.0, help="edit length in direction units")
    p.add_argument("--plot", default=str(ROOT / "docs" / "inversion_bench.png"))
    p.add_argument("--threads", type=int, default=1)
    p.add_argument("--device", default="cpu")
    p.add_argument("--oracle", default=None,
                   help="oracle file that reads the faces (and labels the fit's samples); default: the shipped one")
    p.add_argument("--suite", default="projector", choices=("projector", "tuning", "prior"),
                   help="projector: the methods above; tuning: pivotal tuning against the old default; prior: "
                        "untuned pivots under each of --priors")
    p.add_argument("--priors", default="0,0.001,0.01,0.1", help="prior suite: latent prior weights to compare")
    p.add_argument("--source", default="heldout", choices=("heldout", "drawings", "renders"),
                   help="tuning suite: where the target faces come from")
    p.add_argument("--upload-sizes", default="64,256", help="tuning suite: upload sizes in px")
    p.add_argument("--tune-steps", type=int, default=None, help="tuning suite: tuning steps (default: invert's)")
    p.add_argument("--tune-lr", type=float, default=None,
                   help="tuning suite: Adam rate of the generator's weights (default: TuningConfig's; the noise maps keep theirs)")
    p.add_argument("--tune-detail", type=float, default=None,
                   help="tuning suite: TuningConfig.detail_weight (default: invert's)")
    p.add_argument("--tune-target-psnr", type=float, default=None,
                   help="tuning suite: stop a face's tuning once it reaches this PSNR (dB; default: never)")
    p.add_argument("--pivot-steps", type=int, default=100, help="tuning suite: projection steps of the pivot")
    p.add_argument("--pivot-loss", default="pixel", choices=("metric", "pixel"),
                   help="tuning suite: the loss that finds the pivot, as `invert --pivot-loss` (the tuning keeps "
                        "the metric loss; metric: the pivot before docs/inversion.md's comparison)")
    p.add_argument("--pivot-prior", type=float, default=None,
                   help="tuning suite: weight of the pivot's latent prior, as `invert --pivot-prior` (default: "
                        "invert's; 0: a free pivot, as before docs/inversion.md's comparison)")
    p.add_argument("--baseline-steps", type=int, default=300, help="tuning suite: steps of the old default")
    p.add_argument("--picture", default=str(ROOT / "docs" / "inversion_tuning.png"))
    p.add_argument("--blend-picture", default=str(ROOT / "docs" / "inversion_blend.png"),
                   help="tuning suite: edits drawn by the tuned weights alone and with the region blend ('' to skip)")
    return p.parse_args()


def table(rows: list[dict]) -> str:
    if not rows:
        return "(none)"
    cols = list(rows[0])
    out = ["| " + " | ".join(cols) + " |", "|" + "---|" * len(cols)]
    for r in rows:
        out.append("| " + " | ".join(f"{v:.3f}" if isinstance(v, float) else str(v) for v in r.values()) + " |")
    return "\n".join(out)


def ssim(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Mean SSIM per image of uint8 batches [N, H, W, 3] (Gaussian 11x11, sigma 1.5, per channel)."""
    import torch
    import torch.nn.functional as F

    x = torch.from_numpy(a).permute(0, 3, 1, 2).double()
    y = torch.from_numpy(b).permute(0, 3, 1, 2).double()
    g = torch.exp(-((torch.arange(11) - 5.0) ** 2) / (2 * 1.5 ** 2)).double()
    k = (torch.outer(g, g) / torch.outer(g, g).sum())[None, None].repeat(3, 1, 1, 1)

    def f(t):
        return F.conv2d(t, k, groups=3)

    c1, c2 = (0.01 * 255) ** 2, (0.03 * 255) ** 2
    mx, my = f(x), f(y)
    vx, vy, cxy = f(x * x) - mx ** 2, f(y * y) - my ** 2, f(x * y) - mx * my
    s = ((2 * mx * my + c1) * (2 * cxy + c2)) / ((mx ** 2 + my ** 2 + c1) * (vx + vy + c2))
    return s.mean(dim=(1, 2, 3)).numpy()


def main() -> int:
    args = parse_args()
    if args.suite == "tuning":
        return tuning_suite(args)
    if args.suite == "prior":
        return prior_suite(args)
    import torch

    torch.set_num_threads(args.threads)
    from latentlab.generator.interface import map_latents, render, sample_z
    from latentlab.inversion.losses import FeatureL2, ReconstructionLoss, load_vgg16_features, vgg16_default_path
    from latentlab.core.workspace import workspace_dir
    from latentlab.inversion.pipeline import choose_encoder, choose_loss, encoder_start
    from latentlab.inversion.projector import ProjectorConfig, plain_recipe, project, psnr
    from latentlab.generator.synthetic.attributes import ATTRIBUTES
    from latentlab.generator.synthetic.renderer import render_batch

    gen, oracle = generator_and_oracle(args)
    if oracle is None:
        return 1
    ws_dir = workspace_dir()
    notes: list[str] = []
    metric_loss = choose_loss(gen, "metric", workspace=ws_dir, notes=notes)
    pixel_loss = choose_loss(gen, "pixel")
    encoder = choose_encoder(gen, None, workspace=ws_dir, notes=notes)
    have_vgg = vgg16_default_path().is_file()
    for n in notes:
        print(f"note: {n}")

    targets, truth = render_batch(list(range(args.seed, args.seed + args.n)), gen.resolution)
    read_target = oracle.predict(targets)
    print(f"generator {gen.generator_id}; {args.n} held-out renders (seeds {args.seed}..); encoder: "
          f"{'yes' if encoder is not None else 'none'}; vgg16 weights: {'yes' if have_vgg else 'no'}")
    print(f"oracle on the targets vs their true attributes: "
          f"{np.mean([np.mean(read_target[a] == truth[a]) for a in ATTRIBUTES]):.3f}")

    # the plain recipe's feature extractor and rate
    if have_vgg:
        vgg = load_vgg16_features(device=gen.device)
        plain_loss = ReconstructionLoss(FeatureL2(vgg, tap=2), 1.0, 0.0, "vgg16 relu3_3 L2")
    else:
        plain_loss = ReconstructionLoss(FeatureL2(metric_loss.perceptual.net.raw_features, tap=2), 1.0, 0.0,
                                        "metric stage-3 L2")
    if args.plain_lr == "auto":
        sweep = {}
        for lr in (0.01, 0.03, 0.1, 0.3, 1.0, 3.0):
            p = project(gen, targets[:2], plain_loss, plain_recipe(steps=40, lr=lr))
            sweep[lr] = float(np.mean(p.final_loss)) if np.all(np.isfinite(p.final_loss)) else np.inf
        plain_lr = min(sweep, key=sweep.get)
        print("plain recipe SGD rate sweep (final loss after 40 steps on 2 targets): "
              + ", ".join(f"{k:g}: {v:.4g}" for k, v in sweep.items()) + f" -> {plain_lr:g}")
    else:
        plain_lr = float(args.plain_lr)

    methods = [("plain recipe", plain_loss, plain_recipe(args.steps, plain_lr), False)]
    for space in ("w", "w+"):
        methods.append((f"{space} metric", metric_loss, ProjectorConfig(space=space, steps=args.steps), False))
        methods.append((f"{space} pixel", pixel_loss, ProjectorConfig(space=space, steps=args.steps), False))
        if have_vgg:
            methods.append((f"{space} vgg16", choose_loss(gen, "vgg16"), ProjectorConfig(space=space, steps=args.steps),
                            False))
        if encoder is not None:
            methods.append((f"{space} metric + encoder", metric_loss, ProjectorConfig(space=space, steps=args.steps),
                            True))
    if args.methods:
        keep = {m.strip() for m in args.methods.split(",")}
        methods = [m for m in methods if m[0] in keep]

    def score(images: np.ndarray) -> tuple[float, float, float]:
        read = oracle.predict(images)
        agree = np.mean([np.mean(read[a] == read_target[a]) for a in ATTRIBUTES])
        return float(np.mean(psnr(images, targets))), float(np.mean(ssim(images, targets))), float(agree)

    curves: dict[str, list[tuple[int, float, float, float, float]]] = {}
    finals: dict[str, np.ndarray] = {}
    rows = []
    for name, loss_fn, cfg, use_encoder in methods:
        cfg.preview_every = args.every
        start = encoder_start(encoder, targets, gen.device) if use_encoder else None
        snapshots: list[tuple[int, float, np.ndarray]] = []
        t0 = time.time()
        start_latent = start if start is not None else np.repeat(gen.w_avg.cpu().numpy()[None], args.n, 0)
        snapshots.append((0, 0.0, start_latent))
        proj = project(gen, targets, loss_fn, cfg, init_w=start,
                       callback=lambda s: s.latent is not None and snapshots.append((s.step, time.time() - t0, s.latent)))
        curve = []
        for step, seconds, latent in snapshots:
            s = score(render(gen, latent))
            curve.append((step, seconds / args.n, *s))
        curves[name] = curve
        finals[name] = proj.ws
        final = curve[-1]
        rows.append({"method": name, "steps": cfg.steps, "s/image": round(final[1], 2), "PSNR dB": final[2],
                     "SSIM": final[3], "oracle agreement": final[4], "start PSNR": curve[0][2]})
        print(f"{name}: PSNR {final[2]:.2f} dB, SSIM {final[3]:.3f}, agreement {final[4]:.3f}, "
              f"{proj.seconds:.0f} s for the batch", flush=True)

    print("\n### Reconstruction of held-out renders\n")
    print(table(rows))

    # steps the encoder saves
    enc_rows = []
    for space in ("w", "w+"):
        a, b = curves.get(f"{space} metric"), curves.get(f"{space} metric + encoder")
        if not a or not b:
            continue
        goal = a[-1][2]
        reach = next((step for step, _, p, *_ in b if p >= goal), None)
        enc_rows.append({"space": space, "PSNR from w_avg after all steps": goal,
                         "encoder start PSNR": b[0][2], "w_avg start PSNR": a[0][2],
                         "steps with encoder to match": reach if reach is not None else f"> {args.steps}"})
    if enc_rows:
        print("\n### Steps saved by the encoder (metric loss)\n")
        print(table(enc_rows))

    # editability
    edit_rows = edit_bench(args, gen, oracle, finals, render, map_latents, sample_z, ATTRIBUTES)
    if edit_rows:
        print(f"\n### Editability: flip rate after moving {args.distance:g} units towards another class\n")
        print(table(edit_rows))

    plot(args.plot, curves)
    print(f"\nplot: {args.plot}")
    return 0


def edit_bench(args, gen, oracle, finals, render, map_latents, sample_z, ATTRIBUTES) -> list[dict]:
    try:
        import pandas as pd

        from bench_directions import reached, targets_for
        from directions.edit import offset
        from directions.fit import fit_direction_set
        from labeler.schema import default_schema
    except ModuleNotFoundError as e:
        print(f"\n(editability skipped: {e})")
        return []
    schema = default_schema()
    kinds = {a.name: a.kind for a in schema.attributes}
    w_fit = map_latents(gen, sample_z(args.n_fit, 7, gen.z_dim), 0.8)
    read = oracle.predict(render(gen, w_fit, batch_size=64))
    labels = pd.DataFrame({a: [ATTRIBUTES[a][i] for i in read[a]] for a in ATTRIBUTES})
    dset = fit_direction_set(w_fit, labels, schema.attributes, generator_id=gen.generator_id, space="w").direction_set
    reference = map_latents(gen, sample_z(args.n, 99, gen.z_dim), 0.8)
    codes = {"generated faces (reference)": reference}
    for name in ("w metric", "w+ metric", "w metric + encoder", "w+ metric + encoder"):
        if name in finals:
            codes[f"inverted, {name}"] = finals[name]
    rng = np.random.default_rng(1)
    rows = []
    for label, c in codes.items():
        before = oracle.predict(render(gen, c))
        flips = {}
        for a, entry in dset.entries.items():
            if a not in kinds:
                continue
            target, sign = targets_for(kinds[a], before[a], len(ATTRIBUTES[a]), rng)
            if kinds[a] == "categorical":
                off = np.stack([offset(entry, int(t), args.distance) for t in target])
            else:
                off = sign[:, None] * offset(entry, 0, args.distance)[None]
            moved = c + (off[:, None, :] if c.ndim == 3 else off)
            after = oracle.predict(render(gen, moved.astype(np.float32)))
            flips[a] = float(np.mean(reached(kinds[a], before[a], after[a], target)))
        rows.append({"faces": label, "mean flip rate": float(np.mean(list(flips.values()))),
                     **{a: v for a, v in flips.items()}})
    return rows


def plot(path: str, curves: dict) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, 3, figsize=(15, 4.2))
    for name, curve in curves.items():
        c = np.array(curve, dtype=float)
        style = "--" if "pixel" in name else ":" if "plain" in name else "-"
        axes[0].plot(c[:, 0], c[:, 2], style, label=name)
        axes[1].plot(c[:, 1], c[:, 2], style, label=name)
        axes[2].plot(c[:, 0], c[:, 4], style, label=name)
    axes[0].set(xlabel="step", ylabel="PSNR (dB)", title="PSNR vs steps")
    axes[1].set(xlabel="seconds per image (CPU, batched)", ylabel="PSNR (dB)", title="PSNR vs wall time")
    axes[2].set(xlabel="step", ylabel="oracle agreement", title="attribute agreement vs steps")
    axes[0].legend(fontsize=7)
    for ax in axes:
        ax.grid(alpha=0.3)
    fig.tight_layout()
    Path(path).parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=110)


# -- the tuning suite ---------------------------------------------------------------------------------
def target_faces(source: str, n: int, seed: int, size: int) -> tuple[np.ndarray, str]:
    """n uploads [n, size, size, 3] and a description: held-out-style renders, the test drawing, or renders."""
    from latentlab.generator.synthetic import renderer

    if source == "drawings":
        sys.path.insert(0, str(ROOT / "tests"))
        from drawings import draw_face

        img = np.asarray(draw_face(4 * size).resize((size, size), 1))  # one drawing, shifted per face
        return np.stack([np.roll(img, (i % 5 - 2, i // 5 % 5 - 2), (0, 1)) for i in range(n)]), "test drawing"
    style = getattr(renderer, "HELD_OUT_STYLE", None) if source == "heldout" else renderer.DEFAULT_STYLE
    if style is None:
        return target_faces("drawings", n, seed, size)
    return renderer.render_batch(range(seed, seed + n), size, style=style)[0], f"renders in style {style!r}"


def masked_psnr(a: np.ndarray, b: np.ndarray, mask: np.ndarray) -> np.ndarray:
    err = ((a.astype(np.float64) - b.astype(np.float64)) ** 2).mean(axis=-1)
    mse = np.array([e[m].mean() if m.any() else np.nan for e, m in zip(err, mask)])
    return 10 * np.log10(255.0 ** 2 / np.maximum(mse, 1e-10))


def first_time(curve: list[tuple[float, float]], level: float) -> float | None:
    return next((t for t, p in curve if p >= level), None)


def generator_and_oracle(args):
    """(generator, oracle) for --generator/--device; oracle None, after saying why, where it cannot load."""
    from latentlab.core.errors import UserError
    from latentlab.generator.loading import load_generator

    gen = load_generator(args.generator, args.device)
    try:
        from latentlab.generator.synthetic.oracle import load_oracle

        return gen, load_oracle(args.device, path=args.oracle)
    except (ModuleNotFoundError, UserError) as e:
        print(f"cannot run the inversion benchmark without the oracle: {e}", file=sys.stderr)
        return gen, None


def tuning_suite(args) -> int:
    import torch

    torch.set_num_threads(args.threads)
    from latentlab.core.workspace import workspace_dir
    from latentlab.generator.interface import image_grid
    from latentlab.generator.synthetic.attributes import ATTRIBUTES
    from latentlab.inversion.pipeline import judge, pivot_config, pivot_setup, setup_inversion, tune_projection
    from latentlab.inversion.preprocess import centre_box, crop_and_resize
    from latentlab.inversion.projector import ProjectorConfig, psnr
    from latentlab.inversion.tuning import TuningConfig, foreground_mask
    from PIL import Image

    gen, oracle = generator_and_oracle(args)
    if oracle is None:
        return 1
    setup = setup_inversion(gen, "metric", None, workspace=workspace_dir())
    pivoting = pivot_setup(setup, pivot_loss_name(args))  # as `invert` does
    tcfg = TuningConfig(preview_every=5, target_psnr=args.tune_target_psnr,
                        **({"steps": args.tune_steps} if args.tune_steps else {}),
                        **({"lr": args.tune_lr} if args.tune_lr else {}),
                        **({"detail_weight": args.tune_detail} if args.tune_detail is not None else {}))
    print(f"generator {gen.generator_id}; loss {setup.loss.name}; encoder {'yes' if setup.encoder else 'no'}; "
          f"pivot W {args.pivot_steps} steps + tuning {tcfg.steps} steps; old default W+ {args.baseline_steps} steps")
    dset = fit_directions(args, gen, oracle, ATTRIBUTES)
    rows, edit_rows, picture_rows = [], [], []
    for size in [int(v) for v in args.upload_sizes.split(",") if v]:
        uploads, what = target_faces(args.source, args.n, args.seed, size)
        targets = np.stack([crop_and_resize(Image.fromarray(u), gen.resolution, centre_box(size, size))
                            for u in uploads])
        mask = foreground_mask(targets)
        print(f"\n{args.n} uploads of {size} px: {what}; foreground share {mask.mean():.2f}", flush=True)

        t0, c0 = time.time(), time.process_time()
        old = setup.projector(gen, ProjectorConfig(space="w+", steps=args.baseline_steps))(targets)
        old_wall, old_cpu = (time.time() - t0) / args.n, (time.process_time() - c0) / args.n

        t0, c0 = time.time(), time.process_time()
        pivots = pivoting.projector(gen, pivot_config(ProjectorConfig(space="w", steps=args.pivot_steps),
                                                              args.pivot_prior))(targets)
        pivot_wall, pivot_cpu = (time.time() - t0) / args.n, (time.process_time() - c0) / args.n
        tuned, gens, reach25, reach30, walls, cpus = [], [], [], [], [], []
        for i in range(args.n):
            curve = [(pivot_wall, float(psnr(pivots.images[i], targets[i])[0]))]
            t1, c1 = time.time(), time.process_time()

            def seen(step, i=i, t1=t1, curve=curve):
                if step.image is not None:
                    curve.append((pivot_wall + time.time() - t1, float(psnr(step.image, targets[i])[0])))

            one = type(pivots)(ws=pivots.ws[i:i + 1], w=None, images=pivots.images[i:i + 1],
                               loss_history=pivots.loss_history[:, i:i + 1], final_loss=pivots.final_loss[i:i + 1],
                               seconds=0.0, config=pivots.config)
            t = tune_projection(gen, one, targets[i], setup, tcfg, seen)
            walls.append(pivot_wall + time.time() - t1)
            cpus.append(pivot_cpu + time.process_time() - c1)
            tuned.append(t.image)
            gens.append(t.generator)
            reach25.append(first_time(curve, 25.0))
            reach30.append(first_time(curve, 30.0))
        tuned = np.stack(tuned)
        read_targets = oracle.predict(targets)

        def agreement(images: np.ndarray) -> dict[str, float]:
            """Per attribute, the share of faces read the same as on the target (their mean over attributes is
            the share of (face, attribute) pairs: every attribute is read on every face)."""
            read = oracle.predict(images)
            return {a: float(np.mean(read[a] == read_targets[a])) for a in read_targets}

        for name, images, wall, cpu in (("old default: W+ metric + encoder", old.images, [old_wall], [old_cpu]),
                                        (f"pivot only: W {args.pivot_loss} + encoder", pivots.images, [pivot_wall], [pivot_cpu]),
                                        ("pivot + tuning (new default)", tuned, walls, cpus)):
            p, agree = psnr(images, targets), agreement(images)
            rows.append({"upload px": size, "method": name, "PSNR dB": float(p.mean()), "min PSNR": float(p.min()),
                         "SSIM": float(ssim(images, targets).mean()),
                         "fg PSNR": float(np.nanmean(masked_psnr(images, targets, mask))),
                         "bg PSNR": float(np.nanmean(masked_psnr(images, targets, ~mask))),
                         "close/approx/poor": "/".join(str(sum(judge(v).startswith(w) for v in p))
                                                       for w in ("close", "approx", "poor")),
                         "oracle agreement": float(np.mean(list(agree.values()))),
                         "accessory agreement": agree["accessory"],
                         "s/face wall": float(np.mean(wall)), "s/face CPU": float(np.mean(cpu))})
        # where the default's reconstruction (the loop's last method) and its target part ways
        print(f"{size} px, pivot + tuning: agreement per attribute " + ", ".join(
            f"{a} {v:.3f}" for a, v in agree.items()), flush=True)
        ok25 = [v for v in reach25 if v is not None]
        ok30 = [v for v in reach30 if v is not None]
        rows[-1]["s to 25 dB"] = f"{np.median(ok25):.1f} ({len(ok25)}/{args.n})" if ok25 else f"never (0/{args.n})"
        rows[-1]["s to 30 dB"] = f"{np.median(ok30):.1f} ({len(ok30)}/{args.n})" if ok30 else f"never (0/{args.n})"
        for r in rows[-3:-1]:
            r["s to 25 dB"] = r["s to 30 dB"] = ""
        edit_rows += [{"upload px": size, **r} for r in edit_flips(args, gen, oracle, dset, ATTRIBUTES,
                                                                    pivots.ws[:, 0], gens, old.ws)]
        if not picture_rows:
            edits = edit_examples(gen, oracle, dset, ATTRIBUTES, pivots.ws[:, 0], gens, args.distance)
            k = min(args.n, 8)
            picture_rows = [targets[:k], old.images[:k], pivots.images[:k], tuned[:k], edits[:k]]
            if args.blend_picture:
                blend_rows = blend_examples(oracle, dset, pivots.ws[:k, 0], gens[:k], tuned[:k], args.distance)
                save_grid(np.concatenate([image_grid(tuned[:k], cols=k)] + [image_grid(r, cols=k) for r in blend_rows]),
                          args.blend_picture)
                print(f"\nblend picture (rows: tuned reconstruction, then per attribute the tuned weights alone / "
                      f"the region blend): {args.blend_picture}")
    print("\n### Reconstruction of held-out-style uploads (means over faces; times on this machine)\n")
    print(table(rows))
    print(f"\n### Editability: flip rate after moving {args.distance:g} units towards another class\n")
    print(table(edit_rows))
    save_grid(np.concatenate([image_grid(r, cols=len(r)) for r in picture_rows]), args.picture)
    print(f"\npicture (rows: targets / old default / pivot / tuned / one edit each): {args.picture}")
    return 0


def save_grid(grid: np.ndarray, path: str) -> None:
    """A uint8 grid image, enlarged 2 x (nearest), as PNG."""
    from PIL import Image

    Path(path).parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray(grid).resize((grid.shape[1] * 2, grid.shape[0] * 2), Image.Resampling.NEAREST).save(path)


def blend_examples(oracle, dset, pivots, gens, recon, distance) -> list[np.ndarray]:
    """Per attribute (mouth, hair colour, age), the faces moved `distance` units towards another class (the
    next class round, or the other side, of the class read on their reconstructions `recon`), drawn by the
    tuned weights alone and with the region blend."""
    from directions.edit import offset
    from latentlab.generator.interface import render

    rows = []
    for name in [a for a in ("mouth", "hair_color", "age") if a in dset.entries]:
        entry = dset.entries[name]
        before = oracle.predict(recon)[name]
        moved = []
        for i, w in enumerate(pivots):
            if entry.kind == "categorical":
                off = offset(entry, int((before[i] + 1) % len(entry.classes)), distance)
            else:
                off = offset(entry, 0, distance) * (1.0 if before[i] == 0 else -1.0)
            moved.append((w + off)[None].astype(np.float32))
        rows.append(np.stack([render(g.with_blend(None), m)[0] for g, m in zip(gens, moved)]))
        rows.append(np.stack([render(g, m)[0] for g, m in zip(gens, moved)]))
    return rows


def pivot_loss_name(args) -> str:
    """--pivot-loss as `invert --pivot-loss` names it: metric is the tuning's own loss ("same")."""
    return "same" if args.pivot_loss == "metric" else args.pivot_loss


def prior_suite(args) -> int:
    """Untuned W pivots of --n held-out-style faces (64 px uploads) under each latent prior weight: PSNR, the
    squared Mahalanobis distance from sampled W per dimension (a sample: about 1), and editability."""
    import torch

    torch.set_num_threads(args.threads)
    from latentlab.core.workspace import workspace_dir
    from latentlab.generator.interface import map_latents, render, sample_z
    from latentlab.generator.synthetic.attributes import ATTRIBUTES
    from latentlab.inversion.pipeline import pivot_config, pivot_setup, setup_inversion
    from latentlab.inversion.preprocess import centre_box, crop_and_resize
    from latentlab.inversion.projector import ProjectorConfig, psnr
    from latentlab.inversion.samples import w_whitening
    from PIL import Image

    gen, oracle = generator_and_oracle(args)
    if oracle is None:
        return 1
    pivoting = pivot_setup(setup_inversion(gen, "metric", None, workspace=workspace_dir()), pivot_loss_name(args))
    dset = fit_directions(args, gen, oracle, ATTRIBUTES)
    uploads, what = target_faces(args.source, args.n, args.seed, 64)
    targets = np.stack([crop_and_resize(Image.fromarray(u), gen.resolution, centre_box(64, 64)) for u in uploads])
    mean, whitener = w_whitening(gen)

    def distance(w: np.ndarray) -> float:
        return float((((w - mean) @ whitener.T) ** 2).mean())

    reference = map_latents(gen, sample_z(args.n, 99, gen.z_dim), 0.8)
    ref = _moves(gen, oracle, dset, ATTRIBUTES, reference, lambda i, c: render(gen, c), args.distance,
                 np.random.default_rng(1))
    ref_mean = float(np.mean(list(ref.values())))
    rows = [{"pivot": "generated faces (reference)", "PSNR dB": float("nan"), "distance": distance(reference),
             "flip rate": ref_mean, "vs generated": 1.0, **ref}]
    print(f"{args.n} uploads of 64 px: {what}; pivots W {args.pivot_steps} steps, {args.pivot_loss} loss", flush=True)
    for prior in [float(v) for v in args.priors.split(",") if v]:
        pivots = pivoting.projector(gen, pivot_config(ProjectorConfig(space="w", steps=args.pivot_steps), prior))(targets)
        w = pivots.ws[:, 0]
        flips = _moves(gen, oracle, dset, ATTRIBUTES, w, lambda i, c: render(gen, c), args.distance,
                       np.random.default_rng(1))
        mean_flip = float(np.mean(list(flips.values())))
        rows.append({"pivot": f"prior {prior:g}", "PSNR dB": float(psnr(pivots.images, targets).mean()),
                     "distance": distance(w), "flip rate": mean_flip, "vs generated": mean_flip / ref_mean, **flips})
    print(f"\n### Untuned pivots: flip rate after moving {args.distance:g} units towards another class\n")
    print(table(rows))
    return 0


def fit_directions(args, gen, oracle, ATTRIBUTES):
    import pandas as pd

    from directions.fit import fit_direction_set
    from labeler.schema import default_schema
    from latentlab.generator.interface import map_latents, render, sample_z

    schema = default_schema()
    w_fit = map_latents(gen, sample_z(args.n_fit, 7, gen.z_dim), 0.8)
    read = oracle.predict(render(gen, w_fit, batch_size=64))
    labels = pd.DataFrame({a: [ATTRIBUTES[a][i] for i in read[a]] for a in ATTRIBUTES})
    return fit_direction_set(w_fit, labels, schema.attributes, generator_id=gen.generator_id, space="w").direction_set


def _moves(gen, oracle, dset, ATTRIBUTES, codes, render_with, distance, rng, side=None):
    """{attribute: flip rate} of codes [N, ...] each drawn by render_with(i, codes); with a dict `side`, also
    fills it with {attribute: share of the other attributes read differently after the move}."""
    from bench_directions import reached, targets_for
    from directions.edit import offset
    from labeler.schema import default_schema

    kinds = {a.name: a.kind for a in default_schema().attributes}
    before = oracle.predict(np.concatenate([render_with(i, codes[i:i + 1]) for i in range(len(codes))]))
    flips = {}
    for a, entry in dset.entries.items():
        if a not in kinds:
            continue
        target, sign = targets_for(kinds[a], before[a], len(ATTRIBUTES[a]), rng)
        if kinds[a] == "categorical":
            off = np.stack([offset(entry, int(t), distance) for t in target])
        else:
            off = sign[:, None] * offset(entry, 0, distance)[None]
        moved = (codes + (off[:, None, :] if codes.ndim == 3 else off)).astype(np.float32)
        after = oracle.predict(np.concatenate([render_with(i, moved[i:i + 1]) for i in range(len(codes))]))
        flips[a] = float(np.mean(reached(kinds[a], before[a], after[a], target)))
        if side is not None:
            side[a] = float(np.mean([np.mean(after[b] != before[b]) for b in before if b != a]))
    return flips


def edit_flips(args, gen, oracle, dset, ATTRIBUTES, pivots, gens, old_ws) -> list[dict]:
    from latentlab.generator.interface import map_latents, render, sample_z

    reference = map_latents(gen, sample_z(max(args.n, 24), 99, gen.z_dim), 0.8)
    alone = [g.with_blend(None) for g in gens]
    cases = {"generated faces (reference)": (reference, lambda i, c: render(gen, c)),
             "old default (W+, untuned)": (old_ws, lambda i, c: render(gen, c)),
             "pivot, untuned": (pivots, lambda i, c: render(gen, c)),
             "pivot, tuned weights alone": (pivots, lambda i, c: render(alone[i], c)),
             "pivot, tuned + region blend (default)": (pivots, lambda i, c: render(gens[i], c))}
    rows = []
    for label, (codes, draw) in cases.items():
        side: dict = {}
        flips = _moves(gen, oracle, dset, ATTRIBUTES, codes, draw, args.distance, np.random.default_rng(1), side)
        rows.append({"faces": label, "mean flip rate": float(np.mean(list(flips.values()))),
                     "side effects": float(np.mean(list(side.values()))), **flips})
    ref = rows[0]["mean flip rate"]
    for r in rows:
        r["vs generated"] = r["mean flip rate"] / ref if ref else float("nan")
    return rows


def edit_examples(gen, oracle, dset, ATTRIBUTES, pivots, gens, distance) -> np.ndarray:
    """One edit per face, drawn by its tuned generator: age towards another class (or the first direction)."""
    from directions.edit import offset
    from latentlab.generator.interface import render

    name = "age" if "age" in dset.entries else next(iter(dset.entries))
    entry = dset.entries[name]
    out = []
    for i, w in enumerate(pivots):
        k = len(entry.classes) if entry.kind == "categorical" else 1
        off = offset(entry, (i % k) if entry.kind == "categorical" else 0, distance) * (1 if i % 2 == 0 or entry.kind == "categorical" else -1)
        out.append(render(gens[i], (w + off)[None].astype(np.float32))[0])
    return np.stack(out)


if __name__ == "__main__":
    sys.exit(main())
