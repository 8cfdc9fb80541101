"""Sampling runs: latents stored exactly, faces cached as PNG, the schema and provenance recorded."""

import threading

import numpy as np
import pytest
from labeler_testing import random_answer
from PIL import Image

from latentlab.core.errors import UserError
from latentlab.generator.interface import map_latents, render, sample_z
from labeler.runs import create_run, ensure_run_images
from labeler.schema import default_schema, parse_schema
from labeler.store import open_store


def test_a_run_stores_its_latents_images_and_provenance(db_url, tiny_generator, workspace):
    schema = parse_schema({"name": "mini", "attributes": [{"name": "blush", "kind": "binary",
                                                           "options": ["no", "yes"]}]})
    run_id = create_run(db_url, tiny_generator, n=10, seed=7, truncation_psi=0.6, schema=schema, k=4,
                        workspace=workspace)
    store = open_store(db_url)
    run = store.get_run(run_id)
    assert (run.n, run.seed, run.truncation_psi, run.k) == (10, 7, 0.6, 4)
    assert run.generator_id == tiny_generator.generator_id and run.schema == schema
    assert run.image_dir.is_relative_to(workspace)
    ids, z, w = store.latents(run_id)
    assert z.dtype == np.float32 and w.dtype == np.float32 and len(ids) == 10
    assert np.array_equal(z, sample_z(10, 7, tiny_generator.z_dim))  # bit-exact
    np.testing.assert_allclose(w, map_latents(tiny_generator, z, 0.6), rtol=1e-6, atol=1e-6)
    files = store.item_table(run_id)["image_file"]
    expected = render(tiny_generator, w)
    for i, f in enumerate(files):
        img = np.asarray(Image.open(run.image_dir / f))
        assert img.shape == (16, 16, 3) and np.array_equal(img, expected[i])  # PNG is lossless


def test_missing_images_are_rendered_again_only_by_the_runs_own_generator(sqlite_url, tiny_generator,
                                                                            workspace):
    from latentlab.generator.stylegan2 import StyleGAN2Generator

    run_id = create_run(sqlite_url, tiny_generator, n=4, seed=1, truncation_psi=1.0, workspace=workspace)
    run = open_store(sqlite_url).get_run(run_id)
    victim = run.image_dir / "000002.png"
    original = victim.read_bytes()
    victim.unlink()
    other = StyleGAN2Generator(tiny_generator.cfg).eval()  # same shape, other weights
    with pytest.raises(UserError, match="needs its generator"):
        ensure_run_images(sqlite_url, run_id, other)
    assert ensure_run_images(sqlite_url, run_id, tiny_generator) == 1
    assert victim.read_bytes() == original
    assert ensure_run_images(sqlite_url, run_id, tiny_generator) == 0


@pytest.mark.parametrize("kw, words", [({"n": 0}, "between 1 and"), ({"truncation_psi": -1.0}, "truncation psi"),
                                       ({"k": 0}, "at least 1")])
def test_bad_run_parameters_are_refused_before_anything_is_stored(sqlite_url, tiny_generator, workspace, kw, words):
    args = {"n": 3, "seed": 0, "truncation_psi": 1.0, **kw}
    with pytest.raises(UserError, match=words):
        create_run(sqlite_url, tiny_generator, schema=default_schema(), workspace=workspace, **args)
    assert open_store(sqlite_url).list_runs() == []


def test_a_started_run_serves_only_drawn_faces_and_drawing_resumes(db_url, tiny_generator, workspace):
    from labeler.runs import FIRST_CHUNK, draw_faces, start_run

    run_id = start_run(db_url, tiny_generator, n=80, seed=4, truncation_psi=0.8, k=1, workspace=workspace)
    store = open_store(db_url)
    assert store.rendered(run_id) == 0
    assert store.next_item(run_id, "early") is None  # nothing drawn yet: nothing to serve
    progress = store.progress(run_id, "early")
    assert progress.drawing and progress.rendered == 0
    stop = threading.Event()
    stop.set()  # a stopped drawing (a server that quits) draws nothing
    assert draw_faces(db_url, run_id, tiny_generator, stop=stop) == 0
    store.set_rendered(run_id, FIRST_CHUNK)  # as after the first chunk
    served = []
    while (a := store.next_item(run_id, "early")) is not None:
        served.append(a.idx)
        store.submit(run_id, "early", a.item_id, random_answer(store.get_run(run_id).schema, np.random.default_rng(0)),
                     a.token)
    assert sorted(served) == list(range(FIRST_CHUNK))  # only the drawn faces, each once (k = 1)
    assert draw_faces(db_url, run_id, tiny_generator) == 80 - FIRST_CHUNK  # resumes where it stopped
    assert store.rendered(run_id) == 80 and not store.progress(run_id).drawing
    files = sorted(p.name for p in store.get_run(run_id).image_dir.iterdir())
    assert files == [f"{i:06d}.png" for i in range(FIRST_CHUNK, 80)]  # the ones not drawn before, in order
    # the same latents as a run created in one go with the same seed
    _, _, w = store.latents(run_id)
    other = create_run(db_url, tiny_generator, n=80, seed=4, truncation_psi=0.8, workspace=workspace)
    assert np.array_equal(store.latents(other)[2], w)
    assert store.next_item(run_id, "late").idx == FIRST_CHUNK  # the drawn faces before it have k labels
