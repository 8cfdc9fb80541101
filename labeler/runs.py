"""Labeling runs: a fixed sample of latents, their rendered faces cached as PNG, and the schema to label.

A run stores z and w (float32) with the generator id, seed and truncation, so the directions
fitted later on its labels can be traced to exactly these latents. Images are rendered once,
when the run is created, so the app serves each face straight from disk.
"""

from __future__ import annotations

import uuid
from pathlib import Path

import numpy as np
from PIL import Image

from latentlab.core.errors import UserError
from latentlab.generator.interface import LatentGenerator, map_latents, render, sample_z

from latentlab.core.workspace import workspace_dir
from labeler.schema import Schema, default_schema
from labeler.store import RunInfo, open_store

MAX_ITEMS = 1_000_000


def _image_name(idx: int) -> str:
    return f"{idx:06d}.png"


def _write_images(images: np.ndarray, folder: Path, first_idx: int = 0) -> list[str]:
    """Write uint8 [N, R, R, 3] faces as PNG files via a temporary name (no half-written PNG survives)."""
    folder.mkdir(parents=True, exist_ok=True)
    names = []
    for i, img in enumerate(images, start=first_idx):
        name = _image_name(i)
        tmp = folder / f".{name}.tmp"
        Image.fromarray(img).save(tmp, format="PNG")
        tmp.replace(folder / name)
        names.append(name)
    return names


def create_run(db_url: str, generator: LatentGenerator, n: int, seed: int, truncation_psi: float,
               schema: Schema | None = None, *, k: int = 3, name: str | None = None,
               generator_path: str | Path | None = None, workspace: str | Path | None = None,
               batch_size: int = 32, progress: bool = False) -> int:
    """Sample n latents with `seed`, render and cache their faces, store the run; returns its id.

    z is `sample_z(n, seed, z_dim)`; w = mapping(z, truncation_psi). Images go to
    `<workspace>/images/<run uid>/NNNNNN.png`.
    """
    if not 1 <= n <= MAX_ITEMS:
        raise UserError(f"a run needs between 1 and {MAX_ITEMS} items, got {n}")
    if not 0.0 <= truncation_psi <= 2.0:
        raise UserError(f"truncation psi must be between 0 and 2 (1 = no truncation), got {truncation_psi}")
    if k < 1:
        raise UserError(f"k (labels per item) must be at least 1, got {k}")
    schema = schema or default_schema()
    store = open_store(db_url)  # fail on a bad URL before rendering anything
    uid = uuid.uuid4().hex
    image_dir = workspace_dir(workspace) / "images" / uid
    z = sample_z(n, seed, generator.z_dim)  # [N, z_dim]
    w = map_latents(generator, z, truncation_psi)  # [N, w_dim]
    names: list[str] = []
    from tqdm import tqdm
    with tqdm(total=n, desc="render faces", unit="face", disable=not progress) as bar:
        for start in range(0, n, 256):
            images = render(generator, w[start:start + 256], batch_size=batch_size)  # [B, R, R, 3] uint8
            names += _write_images(images, image_dir, first_idx=start)
            bar.update(len(images))
    return store.insert_run(
        name=name or f"{schema.name} n={n} seed={seed} psi={truncation_psi:g}",
        generator_id=generator.generator_id, generator_path=str(generator_path) if generator_path else None,
        seed=seed, truncation_psi=truncation_psi, z=z, w=w, resolution=generator.resolution, k=k,
        schema=schema, image_dir=image_dir, image_files=names, uid=uid)


def ensure_run_images(db_url: str, run_id: int, generator: LatentGenerator | None = None,
                      workspace: str | Path | None = None) -> int:
    """Re-render a run's missing PNGs (a store moved to another machine); returns how many were written.

    Needs the run's own generator: images of another model would not match the stored latents.
    """
    store = open_store(db_url)
    run = store.get_run(run_id)
    table = store.item_table(run_id)
    missing = [i for i, f in zip(table.idx, table.image_file) if not (run.image_dir / f).is_file()]
    if not missing:
        return 0
    if generator is None or generator.generator_id != run.generator_id:
        raise UserError(f"run {run_id} has {len(missing)} images missing from {run.image_dir} and needs its "
                        f"generator {run.generator_id} to render them; start with --generator pointing to it")
    image_dir = run.image_dir
    try:
        image_dir.mkdir(parents=True, exist_ok=True)
    except OSError:
        image_dir = workspace_dir(workspace) / "images" / run.uid
        store.set_image_dir(run_id, image_dir)
    _, _, w = store.latents(run_id)
    idx = np.array(missing)
    images = render(generator, w[idx])
    for i, img in zip(idx, images):
        _write_images(img[None], image_dir, first_idx=int(i))
    return len(missing)


def latest_run(db_url: str) -> RunInfo | None:
    runs = open_store(db_url).list_runs()
    return runs[-1] if runs else None
