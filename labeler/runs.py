"""Labeling runs: a fixed sample of latents, their rendered faces cached as PNG, and the schema to label.

A run stores z and w (float32) with the generator id, seed and truncation, so the directions
fitted later on its labels can be traced to exactly these latents. Images are rendered once, so
the app serves each face straight from disk: `create_run` renders them all before storing the run;
`start_run` stores it at once and `draw_faces` renders in the background, in idx order, recording
after each chunk how many are drawn (the store serves only those), so labeling starts within seconds.
"""

from __future__ import annotations

import logging
import threading
import uuid
from pathlib import Path

import numpy as np
from PIL import Image

from latentlab.core.errors import UserError
from latentlab.generator.interface import LatentGenerator, drawn_class, map_latents, render, sample_z

from latentlab.core.workspace import workspace_dir
from labeler.schema import Schema, default_schema
from labeler.store import RunInfo, open_store

MAX_ITEMS = 1_000_000
FIRST_CHUNK = 8  # faces drawn before the first ones are offered (seconds on a CPU)
CHUNK = 64  # faces drawn between two progress records afterwards

log = logging.getLogger("latentlab")


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

    z is `sample_z(n, seed, z_dim)`; w = mapping(z, truncation_psi), with the class a conditional
    generator is set to draw (recorded with the run). Images go to `<workspace>/images/<run uid>/NNNNNN.png`.
    """
    _check_run_parameters(n, truncation_psi, k)
    schema = schema or default_schema()
    store = open_store(db_url)  # fail on a bad URL before rendering anything
    uid = uuid.uuid4().hex
    image_dir = workspace_dir(workspace) / "images" / uid
    z = sample_z(n, seed, generator.z_dim)  # [N, z_dim]
    w = map_latents(generator, z, truncation_psi)  # [N, w_dim], of the generator's class if it has classes
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
        schema=schema, image_dir=image_dir, image_files=names, uid=uid, class_label=drawn_class(generator))


def _check_run_parameters(n: int, truncation_psi: float, k: int) -> None:
    if not 1 <= n <= MAX_ITEMS:
        raise UserError(f"a run needs between 1 and {MAX_ITEMS} items, got {n}")
    if not 0.0 <= truncation_psi <= 2.0:
        raise UserError(f"truncation psi must be between 0 and 2 (1 = no truncation), got {truncation_psi}")
    if k < 1:
        raise UserError(f"k (labels per item) must be at least 1, got {k}")


def start_run(db_url: str, generator: LatentGenerator, n: int, seed: int, truncation_psi: float,
              schema: Schema | None = None, *, k: int = 3, name: str | None = None,
              generator_path: str | Path | None = None, workspace: str | Path | None = None) -> int:
    """Store a run at once with no face drawn yet; `draw_faces` draws them (the same latents and
    files as `create_run`). Only drawn faces are served, so labeling starts with the first chunk."""
    _check_run_parameters(n, truncation_psi, k)
    schema = schema or default_schema()
    store = open_store(db_url)
    uid = uuid.uuid4().hex
    z = sample_z(n, seed, generator.z_dim)  # [N, z_dim]
    w = map_latents(generator, z, truncation_psi)  # [N, w_dim]
    return store.insert_run(
        name=name or f"{schema.name} n={n} seed={seed} psi={truncation_psi:g}",
        generator_id=generator.generator_id, generator_path=str(generator_path) if generator_path else None,
        seed=seed, truncation_psi=truncation_psi, z=z, w=w, resolution=generator.resolution, k=k,
        schema=schema, image_dir=workspace_dir(workspace) / "images" / uid,
        image_files=[_image_name(i) for i in range(n)], uid=uid, rendered=0, class_label=drawn_class(generator))


def draw_faces(db_url: str, run_id: int, generator: LatentGenerator, *, batch_size: int = 32,
               stop: threading.Event | None = None) -> int:
    """Draw the faces of a run that `start_run` stored (or whose drawing was interrupted), in idx
    order, and record after each chunk how many exist; returns how many were drawn now."""
    store = open_store(db_url)
    run = store.get_run(run_id)
    done = start = store.rendered(run.id)
    if done >= run.n:
        return 0
    if generator.generator_id != run.generator_id:
        raise UserError(f"run {run.id} has {run.n - done} faces still to draw and needs its generator "
                        f"{run.generator_id}; start with --generator pointing to it")
    _, _, w = store.latents(run.id)  # [N, w_dim]
    while done < run.n and not (stop and stop.is_set()):
        size = FIRST_CHUNK if done == 0 else CHUNK
        images = render(generator, w[done:done + size], batch_size=batch_size)  # [B, R, R, 3] uint8
        _write_images(images, run.image_dir, first_idx=done)
        done += len(images)
        store.set_rendered(run.id, done)
    return done - start


def draw_in_background(db_url: str, run_id: int, generator: LatentGenerator,
                       stop: threading.Event | None = None) -> threading.Thread:
    """`draw_faces` in a daemon thread (the server answers meanwhile); errors go to the log. Set `stop`
    and join the thread before the process exits: a thread killed inside torch at exit aborts it."""
    def work() -> None:
        try:
            drawn = draw_faces(db_url, run_id, generator, stop=stop)
            log.info(f"run {run_id}: all faces drawn ({drawn} now)")
        except Exception as e:  # noqa: BLE001 - a background thread has nobody else to tell
            log.error(f"run {run_id}: drawing its faces stopped: {e}")

    thread = threading.Thread(target=work, name=f"draw-run-{run_id}", daemon=True)
    thread.start()
    return thread


def ensure_run_images(db_url: str, run_id: int, generator: LatentGenerator | None = None,
                      workspace: str | Path | None = None) -> int:
    """Re-render a run's missing PNGs (a store moved to another machine); returns how many were written.

    Needs the run's own generator: images of another model would not match the stored latents.
    """
    store = open_store(db_url)
    run = store.get_run(run_id)
    table = store.item_table(run_id)
    drawn = store.rendered(run_id)  # faces past it are drawn by `draw_faces`
    missing = [i for i, f in zip(table.idx, table.image_file) if i < drawn and not (run.image_dir / f).is_file()]
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
