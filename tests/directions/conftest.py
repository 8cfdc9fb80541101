"""Fixtures of the direction tests: a tiny generator and a labeled run in a real SQLite store."""

import pytest
import torch
from directions_helpers import SCHEMA, TINY, truth_of

from latentlab.generator.stylegan2 import StyleGAN2Generator



@pytest.fixture
def tiny_generator() -> StyleGAN2Generator:
    torch.manual_seed(0)
    return StyleGAN2Generator(TINY).eval()


@pytest.fixture(scope="session")
def labeled_run(tmp_path_factory):
    """A 240-face run of a tiny generator in a real SQLite store, labeled by 3 simulated annotators."""
    pytest.importorskip("labeler.dataset")
    pytest.importorskip("labeler.simulation")
    import torch

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
