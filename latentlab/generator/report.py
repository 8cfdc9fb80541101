"""Judge a generator with the oracle: class frequencies, confidence and a kernel distance.

The reference is the renderer itself: its exact attribute probabilities for frequencies, and
held-out renders (seeds below 100 000, never seen by the GAN) for the kernel distance.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from latentlab.generator.interface import LatentGenerator, map_latents, render, sample_z
from latentlab.generator.metrics import class_frequencies, kernel_distance, total_variation
from latentlab.generator.smoothness import Smoothness, measure_smoothness
from latentlab.generator.synthetic.attributes import ATTRIBUTES, marginal_probabilities, visible_mask
from latentlab.generator.synthetic.oracle import Oracle
from latentlab.generator.synthetic.renderer import render_batch


@dataclass
class GeneratorReport:
    generator_id: str
    n: int
    truncation_psi: float
    tv: dict[str, float]
    confidence: dict[str, float]
    frequencies: dict[str, np.ndarray]
    kid: tuple[float, float]
    kid_floor: tuple[float, float]  # renders against other renders: the best reachable value
    oracle_accuracy: dict[str, float]
    smoothness: Smoothness

    def to_markdown(self) -> str:
        sm = self.smoothness
        lines = ["# Default generator report", "",
                 f"generator `{self.generator_id}`, {self.n} samples, truncation psi {self.truncation_psi}", "",
                 "| attribute | TV distance | mean oracle confidence | oracle held-out accuracy | generated freq "
                 "| renderer freq |",
                 "|---|---|---|---|---|---|"]
        ref = marginal_probabilities()
        for k in ATTRIBUTES:
            gen_f = " ".join(f"{v:.2f}" for v in self.frequencies[k])
            ref_f = " ".join(f"{v:.2f}" for v in ref[k])
            lines.append(f"| {k} | {self.tv[k]:.3f} | {self.confidence[k]:.3f} | "
                         f"{self.oracle_accuracy.get(k, float('nan')):.3f} | {gen_f} | {ref_f} |")
        lines += ["", f"mean TV distance {np.mean(list(self.tv.values())):.3f} (max {max(self.tv.values()):.3f}); "
                      f"mean confidence {np.mean(list(self.confidence.values())):.3f}",
                  f"KID on oracle features (x1000): {1000 * self.kid[0]:.2f} ± {1000 * self.kid[1]:.2f} "
                  f"(renders vs renders: {1000 * self.kid_floor[0]:.2f} ± {1000 * self.kid_floor[1]:.2f})", "",
                  "## Smoothness of W (lower is more editable)", "",
                  f"perceptual path length in W (oracle features): {sm.ppl:.0f}; relative to the paths' end "
                  f"points {sm.relative_ppl:.2f} (1 = features change at an even pace)", "",
                  f"share of faces whose reading changes under a random move of {sm.distance:g} "
                  f"standard deviations: mean {sm.mean_change_rate:.3f}; " +
                  ", ".join(f"{k} {v:.2f}" for k, v in sm.change_rate.items()), "",
                  "the same relative to chance (change rate / (1 - sum p²) of the readings; drawing more classes "
                  f"raises the raw rate, not this): mean {sm.mean_relative_change_rate:.3f}; " +
                  ", ".join(f"{k} {v:.2f}" for k, v in sm.relative_change_rate.items()), ""]
        return "\n".join(lines)


def generator_report(gen: LatentGenerator, oracle: Oracle, n: int = 2000, seed: int = 0,
                     truncation_psi: float = 1.0, progress: bool = False) -> GeneratorReport:
    z = sample_z(n, seed, gen.z_dim)
    images = render(gen, map_latents(gen, z, truncation_psi), progress=progress)
    proba = oracle.predict_proba(images)
    pred = {k: p.argmax(1) for k, p in proba.items()}
    visible = {k: visible_mask(k, pred) for k in ATTRIBUTES}  # eye colour only where eyes are open
    freqs = {k: class_frequencies(pred[k][visible[k]], len(ATTRIBUTES[k])) for k in ATTRIBUTES}
    ref = marginal_probabilities()
    real_a, _ = render_batch(range(0, n))
    real_b, _ = render_batch(range(50_000, 50_000 + n))
    f_gen, f_a, f_b = oracle.features(images), oracle.features(real_a), oracle.features(real_b)
    scale = np.sqrt(np.mean(f_a ** 2))  # unit mean square on the reference, as Inception pool features have
    f_gen, f_a, f_b = f_gen / scale, f_a / scale, f_b / scale
    sub = min(1000, n // 2)
    import json
    acc = json.loads(oracle.meta.get("heldout_accuracy", "{}"))
    return GeneratorReport(
        generator_id=gen.generator_id, n=n, truncation_psi=truncation_psi,
        tv={k: total_variation(freqs[k], ref[k]) for k in ATTRIBUTES},
        confidence={k: float(p.max(1)[visible[k]].mean()) for k, p in proba.items()},
        frequencies=freqs,
        kid=kernel_distance(f_gen, f_a, subset_size=sub),
        kid_floor=kernel_distance(f_b, f_a, subset_size=sub),
        oracle_accuracy=acc,
        smoothness=measure_smoothness(gen, oracle, n=min(n, 1000), seed=seed),
    )
