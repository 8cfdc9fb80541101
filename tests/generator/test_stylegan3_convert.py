"""StyleGAN3 beyond loading: `latentlab convert` writes it as .safetensors, `inspect-generator` says what
it is, and the StyleSpace tools refuse it in one line."""

import sys
from pathlib import Path

import numpy as np
import pytest

sys.path.insert(0, str(Path(__file__).parent))
import _ref_checkpoints as ckpts  # noqa: E402
from test_stylegan3 import CLAMP, CONFIGS, MAP_LAYERS, W, Z  # noqa: E402

import latentlab.cli as cli  # noqa: E402
from latentlab.core.errors import UserError  # noqa: E402
from latentlab.generator.interface import map_latents, render, sample_z  # noqa: E402
from latentlab.generator.loading import load_generator  # noqa: E402
from latentlab.generator.stylegan3 import StyleGAN3Generator  # noqa: E402
from latentlab.generator.stylespace import style_layers, styles  # noqa: E402

C = 3


@pytest.fixture(scope="module")
def sg3_pickles(tmp_path_factory):
    """(unconditional, conditional with C classes) StyleGAN3-T pickles."""
    tmp = tmp_path_factory.mktemp("sg3convert")
    geo = ckpts.stylegan3_geometry(**CONFIGS["T"])
    plain = ckpts.write_stylegan3(tmp / "sg3.pkl", ckpts.stylegan3_tensors(geo, Z, W, MAP_LAYERS, seed=3), geo, Z, W,
                                  MAP_LAYERS, conv_clamp=CLAMP)
    tensors = ckpts.stylegan3_tensors(geo, Z, W, MAP_LAYERS, seed=4, c_dim=C)
    conditional = ckpts.write_stylegan3(tmp / "sg3-cond.pkl", tensors, geo, Z, W, MAP_LAYERS, conv_clamp=CLAMP,
                                        c_dim=C)
    return plain, conditional


@pytest.mark.parametrize("which", [0, 1], ids=["unconditional", "conditional"])
def test_convert_writes_a_stylegan3_that_draws_the_same_faces(sg3_pickles, tmp_path, capsys, which):
    src = sg3_pickles[which]
    out = tmp_path / "sg3.safetensors"
    assert cli.main(["convert", str(src), str(out)]) == 0
    printed = capsys.readouterr().out
    assert "max |image difference| 0 on 4 test latents" in printed
    original, converted = load_generator(src, "cpu"), load_generator(out, "cpu")
    assert isinstance(converted, StyleGAN3Generator) and converted.generator_id == original.generator_id
    assert converted.c_dim == original.c_dim == (C if which else 0)
    for cls in range(max(1, converted.c_dim)):
        original.class_label = converted.class_label = cls
        z = sample_z(2, 5, Z)
        w = map_latents(original, z, 0.7)
        assert np.array_equal(map_latents(converted, z, 0.7), w)
        assert np.array_equal(render(converted, w), render(original, w))


def test_inspect_generator_names_stylegan3_and_its_classes(sg3_pickles, capsys):
    plain, conditional = sg3_pickles
    assert cli.main(["inspect-generator", str(conditional)]) == 0
    rows = capsys.readouterr().out.splitlines()
    assert any(r.startswith("family") and r.endswith("StyleGAN3 (StyleSpace tools need StyleGAN2)") for r in rows)
    assert any(r.startswith("c_dim") and f"{C} (conditional: classes 0..{C - 1}" in r for r in rows)
    assert cli.main(["inspect-generator", str(plain)]) == 0
    rows = capsys.readouterr().out.splitlines()
    assert any(r.startswith("family") for r in rows) and not any(r.startswith("c_dim") for r in rows)


def test_stylespace_tools_refuse_stylegan3_in_one_line(sg3_pickles):
    gen = load_generator(sg3_pickles[0], "cpu")
    message = "StyleSpace tools need a StyleGAN2 generator; StyleGAN3 layers are not supported"
    with pytest.raises(UserError, match=message):
        style_layers(gen)
    with pytest.raises(UserError, match=message):
        styles(gen, np.zeros((2, W), np.float32))


def test_stylespace_still_reads_a_stylegan2(tiny_generator):
    layers = style_layers(tiny_generator)
    assert layers[0].name == "b4.conv1" and max(x.ws_index for x in layers) == tiny_generator.num_ws - 1
