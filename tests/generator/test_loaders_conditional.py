"""Conditional NVlabs StyleGAN2 pickles (c_dim > 0): the class embedding is loaded and every class
samples like the float64 reference."""

import sys
from pathlib import Path

import pytest
import torch
import torch.nn.functional as F

sys.path.insert(0, str(Path(__file__).parent))
import _ref_checkpoints as ckpts  # noqa: E402
import _ref_stylegan2 as ref2  # noqa: E402
import _ref_stylegan3 as ref  # noqa: E402

from latentlab.core.errors import UserError  # noqa: E402
from latentlab.generator.interface import sample_z  # noqa: E402
from latentlab.generator.loading import load_generator  # noqa: E402
from latentlab.generator.native import save_native  # noqa: E402

RES, Z, W, LAYERS, C, LR = 16, 24, 32, 3, 5, 0.01


def max_diff(a, b) -> float:
    return float((a.double() - b.double()).abs().max())


@pytest.fixture(scope="module")
def conditional(tmp_path_factory):
    tensors = ckpts.conditional_nvlabs_tensors(RES, Z, W, LAYERS, C)
    path = ckpts.write_nvlabs(tmp_path_factory.mktemp("cond") / "conditional.pkl", tensors, RES, Z, W, LAYERS,
                              c_dim=C)
    return path, tensors


def test_loads_with_its_class_embedding(conditional):
    path, tensors = conditional
    gen = load_generator(path, "cpu")
    assert (gen.c_dim, gen.z_dim, gen.w_dim) == (C, Z, W)
    assert torch.equal(gen.mapping_net.embed.weight, tensors["mapping.embed.weight"])


@pytest.mark.parametrize("cls", range(C))
def test_each_class_samples_like_the_reference(conditional, cls):
    path, tensors = conditional
    gen = load_generator(path, "cpu")
    z = torch.from_numpy(sample_z(3, 7, Z))
    onehot = F.one_hot(torch.full((3,), cls), C).double()
    w = ref.mapping(tensors, z, onehot, lr_mul=LR)
    with torch.no_grad():
        assert max_diff(gen.mapping(z, c=cls), w) < 1e-5
        assert max_diff(gen.mapping(z, c=[cls] * 3), w) < 1e-5
        assert max_diff(gen.mapping(z, c=onehot.float()), w) < 1e-5
        ws = gen.mapping_ws(z, truncation_psi=0.7, c=cls)
        expected_ws = ref2.nvlabs_truncate(w[:, None].repeat(1, gen.num_ws, 1), tensors["mapping.w_avg"], 0.7)
        assert max_diff(ws, expected_ws) < 1e-5
        # synthesis on the same W+ (the mapping is checked above), judged relative to the picture's range:
        # these random weights draw values up to ~14, where float32 carries ~1e-6 of absolute error
        expected = ref2.nvlabs_synthesis(tensors, ws.double(), RES)
        assert max_diff(gen.synthesis(ws), expected) < 2e-6 * max(1.0, float(expected.abs().max()))


def test_classes_differ_and_the_default_class_is_class_label(conditional):
    path, _ = conditional
    gen = load_generator(path, "cpu")
    z = torch.from_numpy(sample_z(2, 8, Z))
    with torch.no_grad():
        assert max_diff(gen.mapping(z, c=0), gen.mapping(z, c=1)) > 1e-3
        assert torch.equal(gen.mapping(z), gen.mapping(z, c=0))
        gen.class_label = 3
        assert torch.equal(gen.mapping(z), gen.mapping(z, c=3))
        assert torch.equal(gen(z), gen.synthesis(gen.mapping(z, c=3)))
        mixed = gen.mapping(z, c=[1, 4])
        assert torch.equal(mixed[1], gen.mapping(z, c=4)[1]) and torch.equal(mixed[0], gen.mapping(z, c=1)[0])
    with pytest.raises(UserError, match="class 5 does not exist; this generator has classes 0 to 4"):
        gen.mapping(z, c=5)


def test_converted_file_keeps_the_classes(conditional, tmp_path):
    path, _ = conditional
    gen = load_generator(path, "cpu")
    again = load_generator(save_native(gen, tmp_path / "cond.safetensors"), "cpu")
    assert again.c_dim == C and again.generator_id == gen.generator_id
    z = torch.from_numpy(sample_z(2, 9, Z))
    with torch.no_grad():
        assert torch.equal(again.mapping(z, c=2), gen.mapping(z, c=2))


def test_unconditional_generators_ignore_the_class_and_keep_their_id(tiny_generator):
    assert tiny_generator.c_dim == 0 and "c_dim" not in tiny_generator.cfg.to_dict()
    z = torch.randn(2, 32)
    with torch.no_grad():
        assert torch.equal(tiny_generator.mapping(z, c=3), tiny_generator.mapping(z))
