"""generator-report: oracle figures with sane ranges, for any generator behind the interface."""

import numpy as np

from latentlab.generator.report import generator_report
from latentlab.generator.synthetic.attributes import ATTRIBUTES
from latentlab.generator.synthetic.oracle import load_oracle


def test_report_fields(tiny_generator):
    rep = generator_report(tiny_generator, load_oracle(), n=40, seed=1)
    assert set(rep.tv) == set(ATTRIBUTES) == set(rep.confidence)
    for k in ATTRIBUTES:
        assert 0 <= rep.tv[k] <= 1 and 0 < rep.confidence[k] <= 1
        assert np.isclose(rep.frequencies[k].sum(), 1.0)
    # a random 16 px generator is far from the renderer; renders are close to other renders
    assert rep.kid[0] > rep.kid_floor[0]
    text = rep.to_markdown()
    assert all(k in text for k in ATTRIBUTES) and tiny_generator.generator_id in text
