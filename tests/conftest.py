"""Shared by the whole suite.

Torch runs on one thread: tests share 2 cores with each other and with servers they start, and OpenMP
threads that spin while they wait make a busy machine ten times slower. `labeled_run` (directions and
UI tests) and `drawn_face` (UI tests; `drawings.draw_face` itself) live here so that each exists once;
`directions_helpers` beside this file holds the tiny generator's config, schema and ground truth.
"""

import pytest
import torch
from directions_helpers import SCHEMA, TINY, truth_of
from drawings import draw_face

from latentlab.generator.stylegan2 import StyleGAN2Generator

torch.set_num_threads(1)


@pytest.fixture(scope="session")
def labeled_run(tmp_path_factory):
    """A 240-face run of a tiny generator in a real SQLite store, labeled by 3 simulated annotators."""
    from latentlab.generator.native import save_native
    from labeler.dataset import load_run_dataset
    from labeler.runs import create_run
    from labeler.schema import parse_schema
    from labeler.simulation import SimulatedAnnotator, label_run

    tmp = tmp_path_factory.mktemp("fitrun")
    torch.manual_seed(0)
    gen = StyleGAN2Generator(TINY).eval()
    db = f"sqlite:///{tmp / 'store.sqlite'}"
    run_id = create_run(db, gen, n=240, seed=11, truncation_psi=1.0, schema=parse_schema(SCHEMA), workspace=tmp)
    data = load_run_dataset(db, run_id)
    w0 = data.w.mean(0)
    truth = dict(zip(data.item_ids.tolist(), truth_of(data.w - w0)))
    annotators = [SimulatedAnnotator(f"sim{i}", error_rate=0.1, seed=i) for i in range(3)]
    label_run(db, run_id, truth, annotators, k=3)
    return {"gen": gen, "gpath": str(save_native(gen, tmp / "gen.safetensors")), "db": db, "run": run_id,
            "w0": w0, "tmp": tmp}


@pytest.fixture
def drawn_face():
    """`drawn_face(size=200)` -> a PIL picture of a drawn face."""
    return draw_face
