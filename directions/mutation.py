"""The random-mutation explorer: find a direction by eye, without labels.

From a latent, show a grid of random perturbations of one strength; the person picks the tile
that changed what they want; the next grid shows smaller variations around the picked direction
(tile 0 keeps the pick itself); at any point the picked direction can be saved as a named
"custom" entry of a direction set and animated like a fitted one.

Random directions follow the shape of the latent distribution (drawn from N(0, Σ) of sampled W
codes, then normalised), so a step does not wander off into directions the generator never uses.
Strength is in the units of directions.io: standard deviations of sampled latents' projections
onto the direction, so strength 2 moves a face as far as an "age = 2" edit would.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from latentlab.core.artifacts import check_generator_id, damaged, load_npz, save_npz
from latentlab.core.errors import UserError
from latentlab.generator.smoothness import unit_directions

from directions.io import Direction, DirectionSet, load_direction_set, save_direction_set

SESSION_FORMAT = "latentlab-explorer-session"
SESSION_VERSION = 1


@dataclass
class LatentStats:
    """Mean and covariance of sampled latents: gives random directions their shape and units."""

    mean: np.ndarray  # [D]
    cov: np.ndarray  # [D, D]
    n: int = 0

    @classmethod
    def from_samples(cls, latents: np.ndarray) -> "LatentStats":
        x = np.asarray(latents, np.float64)
        return cls(mean=x.mean(0), cov=np.cov(x, rowvar=False), n=len(x))

    def std_along(self, unit: np.ndarray) -> np.ndarray:
        """Std of the latents' projections onto unit rows [..., D]: the latent length of one unit."""
        u = np.asarray(unit, np.float64)
        return np.sqrt(np.maximum(np.einsum("...i,ij,...j->...", u, self.cov, u), 1e-12))

    def random_directions(self, n: int, rng: np.random.Generator) -> np.ndarray:
        """n unit rows drawn from N(0, Σ) and normalised."""
        return unit_directions(self.cov, n, rng)


def latent_stats(gen, n: int = 2000, seed: int = 987_654, truncation_psi: float = 1.0, space: str = "w",
                 class_label: int | None = None) -> LatentStats:
    """Statistics of n sampled latents of a generator (W: mapped z, of `class_label` for a conditional
    generator; Z: the standard normal itself)."""
    from latentlab.generator.interface import map_latents, sample_z

    z = sample_z(n, seed, gen.z_dim)
    return LatentStats.from_samples(z if space == "z" else map_latents(gen, z, truncation_psi, class_label=class_label))


@dataclass
class MutationExplorer:
    """State of one exploration. `candidates` [n, D] are unit directions; tile i shows
    base + strength * std_along(candidates[i]) * candidates[i].

    Round 0 shows random directions. `pick(i)` keeps candidates[i] and proposes variations
    around it at an angle of `angle` degrees, halved (by `shrink`) each round.
    """

    stats: LatentStats
    strength: float = 2.0
    n: int = 8
    seed: int = 0
    angle: float = 45.0
    shrink: float = 0.5
    round: int = 0
    picked: np.ndarray | None = None
    candidates: np.ndarray | None = None
    history: list[int] = field(default_factory=list)

    def _rng(self) -> np.random.Generator:
        return np.random.default_rng([self.seed, self.round, len(self.history)])

    def propose(self) -> np.ndarray:
        """New candidate directions for the current round (random, or around the pick)."""
        rng = self._rng()
        if self.picked is None:
            self.candidates = self.stats.random_directions(self.n, rng)
            return self.candidates
        theta = np.deg2rad(self.angle * self.shrink ** (self.round - 1))
        noise = self.stats.random_directions(self.n - 1, rng)
        noise = noise - (noise @ self.picked)[:, None] * self.picked  # orthogonal to the pick
        noise /= np.linalg.norm(noise, axis=1, keepdims=True)
        around = np.cos(theta) * self.picked + np.sin(theta) * noise
        self.candidates = np.concatenate([self.picked[None], around])
        return self.candidates

    def offsets(self, strength: float | None = None) -> np.ndarray:
        """Latent offsets [n, D] of the current candidates at `strength` units (default: self.strength)."""
        if self.candidates is None:
            self.propose()
        s = self.strength if strength is None else strength
        return s * self.stats.std_along(self.candidates)[:, None] * self.candidates

    def tiles(self, w: np.ndarray) -> np.ndarray:
        """Codes [n, D] to render for base latent w [D] (or W+ [L, D], the offset added to every layer)."""
        w = np.asarray(w, np.float64)
        off = self.offsets()
        return (w[None] + (off[:, None, :] if w.ndim == 2 else off)).astype(np.float32)

    def pick(self, index: int) -> np.ndarray:
        """Keep candidates[index] and propose the next, finer round around it."""
        if self.candidates is None or not 0 <= index < len(self.candidates):
            raise UserError(f"pick a tile between 0 and {self.n - 1}")
        self.picked = self.candidates[index].copy()
        self.history.append(int(index))
        self.round += 1
        return self.propose()

    def to_direction(self, name: str) -> Direction:
        """The picked direction as a "custom" direction-set entry (units: std of sampled latents)."""
        if self.picked is None:
            raise UserError("pick a tile first; the explorer saves the direction you picked")
        if not name or any(c in name for c in "=:|@") or name != name.strip():
            raise UserError(f"direction name {name!r} is not usable; use letters, digits, '_' or '-'")
        u = self.picked
        return Direction(name=name, attribute=name, kind="custom", classes=[], names=[name], vectors=u[None],
                         scales=[float(self.stats.std_along(u))], origins=[float(self.stats.mean @ u)],
                         class_positions=np.zeros((1, 0)),
                         metrics={"method": "mutation", "strength": self.strength, "rounds": self.round,
                                  "picks": list(self.history), "n_stats": self.stats.n})

    # -- a session on disk (the CLI's `explore` keeps one between calls) --------------------------
    def save(self, path: str | Path, base: np.ndarray, generator_id: str) -> Path:
        """Write the session (atomically) with its base latent and the generator it explores."""
        meta = {"strength": self.strength, "n": self.n, "seed": self.seed, "angle": self.angle,
                "shrink": self.shrink, "round": self.round, "history": self.history,
                "generator_id": generator_id, "n_stats": self.stats.n}
        arrays = {"mean": self.stats.mean, "cov": self.stats.cov, "base": np.asarray(base, np.float32),
                  "candidates": self.candidates if self.candidates is not None else self.propose()}
        if self.picked is not None:
            arrays["picked"] = self.picked
        return save_npz(path, arrays, meta, fmt=SESSION_FORMAT, version=SESSION_VERSION)

    @classmethod
    def load(cls, path: str | Path, generator_id: str | None = None) -> tuple["MutationExplorer", np.ndarray, str]:
        """(explorer, base latent, generator id) from a session file; with `generator_id`, refuse a
        session of another generator."""
        path = Path(path)
        if not path.is_file():
            raise UserError(f"no exploration session at {path}; start one with `latentlab explore LATENTS`")
        arrays, meta = load_npz(path, fmt=SESSION_FORMAT, version=SESSION_VERSION, what="exploration session",
                                legacy=True)
        try:
            ex = cls(stats=LatentStats(arrays["mean"], arrays["cov"], int(meta["n_stats"])),
                     strength=float(meta["strength"]), n=int(meta["n"]), seed=int(meta["seed"]),
                     angle=float(meta["angle"]), shrink=float(meta["shrink"]), round=int(meta["round"]),
                     history=[int(i) for i in meta["history"]], picked=arrays.get("picked"),
                     candidates=arrays["candidates"])
            base, made_for = arrays["base"], str(meta["generator_id"])
        except (KeyError, ValueError, TypeError) as e:
            raise damaged(path, "exploration session", e) from None
        check_generator_id(made_for, generator_id, f"exploration session {path}", made="explores",
                           remedy="load that generator, or start a new session")
        return ex, base, made_for


def save_into_set(path: str | Path, direction: Direction, generator_id: str, space: str = "w",
                  overwrite: bool = False) -> DirectionSet:
    """Add `direction` to the set at `path`, creating the set if needed; an entry of the same name is
    replaced only with `overwrite` (otherwise a UserError, so that no saved direction is lost silently)."""
    path = Path(path)
    dset = (load_direction_set(path, generator_id=generator_id) if path.exists()
            else DirectionSet(generator_id=generator_id, space=space, source={"made_by": "mutation explorer"}))
    if dset.space != space:
        raise UserError(f"{path} holds {dset.space.upper()} directions; save this {space.upper()} direction elsewhere")
    if direction.name in dset.entries and not overwrite:
        raise UserError(f"{path.name} already has a direction named {direction.name!r}; choose another name "
                        "or replace it explicitly")
    dset.add(direction)
    save_direction_set(path, dset)
    return dset
