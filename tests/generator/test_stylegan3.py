"""StyleGAN3-T and -R network pickles (written here with persistence stubs holding numpy arrays, as
the real ones do) load without running anything and draw what a float64 reference draws."""

import pickle
import sys
from pathlib import Path

import numpy as np
import pytest
import torch

sys.path.insert(0, str(Path(__file__).parent))
import _ref_checkpoints as ckpts  # noqa: E402
import _ref_stylegan3 as ref  # noqa: E402

import latentlab.cli as cli  # noqa: E402
from latentlab.cli.common import EXIT_USER  # noqa: E402
from latentlab.core.latents import load_latents  # noqa: E402
from latentlab.generator.interface import LatentGenerator, map_latents, render, sample_z  # noqa: E402
from latentlab.generator.loading import load_generator  # noqa: E402
from latentlab.generator.native import CheckpointError, is_convertible, save_native  # noqa: E402
from latentlab.generator.stylegan3 import StyleGAN3Generator  # noqa: E402

TOL = 1e-4
Z, W, MAP_LAYERS, CLAMP = 24, 32, 2, 1.0
CONFIGS = {  # config T: 3x3 convolutions, separable filters; R: 1x1 convolutions, radial down filters
    "T": dict(resolution=32, num_layers=4, conv_kernel=3, radial=False, channel_max=12),
    "R": dict(resolution=16, num_layers=4, conv_kernel=1, radial=True, channel_base=512, channel_max=20),
}


def max_diff(a, b) -> float:
    return float((a.double() - b.double()).abs().max())


@pytest.fixture(scope="module", params=sorted(CONFIGS))
def sg3(request, tmp_path_factory):
    """(path, tensors, geometry, marker) of a StyleGAN3 snapshot whose conv_clamp bites."""
    tmp = tmp_path_factory.mktemp(f"sg3{request.param}")
    geo = ckpts.stylegan3_geometry(**CONFIGS[request.param])
    tensors = ckpts.stylegan3_tensors(geo, Z, W, MAP_LAYERS, seed=11)
    marker = tmp / "module_src_ran"
    path = ckpts.write_stylegan3(tmp / f"stylegan3-{request.param.lower()}.pkl", tensors, geo, Z, W, MAP_LAYERS,
                                 conv_clamp=CLAMP, marker=marker)
    return request.param, path, tensors, geo, marker


def test_loads_the_stored_layer_plan_and_never_runs_module_src(sg3):
    kind, path, tensors, geo, marker = sg3
    gen = load_generator(path, "cpu")
    assert not marker.exists()
    assert isinstance(gen, LatentGenerator) and isinstance(gen, StyleGAN3Generator)
    assert (gen.resolution, gen.z_dim, gen.w_dim, gen.num_ws) == (geo["resolution"], Z, W, geo["num_layers"] + 2)
    assert gen.generator_id.startswith(f"sg3-{geo['resolution']}px-")
    assert gen.source_info.details["architecture"].startswith(f"StyleGAN3-{kind}")
    assert [x.name for x in gen.cfg.layers] == [x["name"] for x in geo["layers"]]
    assert [x.padding for x in gen.cfg.layers] == [tuple(x["padding"]) for x in geo["layers"]]
    assert torch.equal(gen.w_avg, tensors["mapping.w_avg"])


def test_synthesis_matches_the_float64_reference(sg3):
    _, path, tensors, geo, _ = sg3
    gen = load_generator(path, "cpu")
    ws = torch.randn(2, gen.num_ws, W, generator=torch.Generator().manual_seed(5))  # a different w per layer
    expected = ref.synthesis(tensors, geo, ws, conv_clamp=CLAMP)
    with torch.no_grad():
        image = gen.synthesis(ws)
        assert image.shape == (2, 3, geo["resolution"], geo["resolution"])
        assert max_diff(image, expected) < TOL
        assert torch.equal(gen.synthesis(ws, noise_mode="random"), image)  # no noise inputs in StyleGAN3
        for layer in gen.synthesis_net.children():
            layer.conv_clamp = None
        assert max_diff(gen.synthesis(ws), expected) > 1e-2  # the clamp matters here


@pytest.mark.parametrize("psi,cutoff", [(1.0, None), (0.6, None), (0.7, 3)])
def test_mapping_and_truncation_match_reference(sg3, psi, cutoff):
    _, path, tensors, _, _ = sg3
    gen = load_generator(path, "cpu")
    z = torch.from_numpy(sample_z(2, 3, Z))
    w = ref.mapping(tensors, z)
    expected = ref.truncate(w[:, None].repeat(1, gen.num_ws, 1), tensors["mapping.w_avg"], psi, cutoff)
    with torch.no_grad():
        assert max_diff(gen.mapping_ws(z, truncation_psi=psi, truncation_cutoff=cutoff), expected) < 1e-5
        if cutoff is None:
            assert max_diff(gen.mapping(z, truncation_psi=psi), expected[:, 0]) < 1e-5


def test_a_w_plus_edit_of_one_layer_matches_reference(sg3):
    _, path, tensors, geo, _ = sg3
    gen = load_generator(path, "cpu")
    with torch.no_grad():
        ws = gen.mapping_ws(torch.from_numpy(sample_z(1, 4, Z)), truncation_psi=0.7)
        edited = ws.clone()
        edited[:, 2] += 3.0  # layer L1 only
        image = gen.synthesis(edited)
        assert max_diff(image, gen.synthesis(ws)) > 1e-3
    assert max_diff(image, ref.synthesis(tensors, geo, edited, conv_clamp=CLAMP)) < TOL


def test_sample_command_and_interface_helpers(sg3, tmp_path):
    _, path, tensors, geo, marker = sg3
    grid = tmp_path / "grid.png"
    assert cli.main(["sample", "--generator", str(path), "--device", "cpu", "--n", "2", "--truncation", "0.7",
                     "--out", str(grid)]) == 0
    latents = load_latents(grid.with_suffix(".npz"))
    gen = load_generator(path, "cpu")
    assert latents.generator_id == gen.generator_id
    expected_w = ref.truncate(ref.mapping(tensors, torch.from_numpy(latents.z)), tensors["mapping.w_avg"], 0.7)
    assert np.abs(latents.w - expected_w.numpy()).max() < 1e-5
    w = map_latents(gen, latents.z, 0.7)
    images = render(gen, w)
    assert images.shape == (2, geo["resolution"], geo["resolution"], 3) and images.dtype == np.uint8
    assert not marker.exists()


def test_safe_format_round_trip_keeps_images_and_identity(sg3, tmp_path):
    _, path, _, _, _ = sg3
    gen = load_generator(path, "cpu")
    assert is_convertible(gen)
    out = save_native(gen, tmp_path / "sg3.safetensors")
    again = load_generator(out, "cpu")
    assert isinstance(again, StyleGAN3Generator) and again.generator_id == gen.generator_id
    assert again.cfg == gen.cfg
    ws = torch.randn(2, gen.num_ws, W)
    with torch.no_grad():
        assert torch.equal(again.synthesis(ws), gen.synthesis(ws))


def test_w_plus_inversion_runs_on_stylegan3(sg3):
    from latentlab.inversion.losses import pixel_distance
    from latentlab.inversion.projector import ProjectorConfig, project

    kind, path, _, _, _ = sg3
    if kind != "R":
        pytest.skip("one configuration is enough for the projector")
    gen = load_generator(path, "cpu")
    with torch.no_grad():
        target = render(gen, gen.mapping(torch.from_numpy(sample_z(1, 9, Z)), 0.8))
    result = project(gen, target, pixel_distance, ProjectorConfig(space="w+", steps=6, lr=0.05, w_noise=0.0))
    assert result.ws.shape == (1, gen.num_ws, W)
    assert result.final_loss[0] < result.loss_history[0, 0]


# -- damaged or hostile StyleGAN3 files ---------------------------------------------------------------------------

def _edit_layer(name: str, **attrs):
    def edit(g_ema):
        layer = getattr(g_ema.synthesis, name)
        for k, v in attrs.items():
            setattr(layer, k, v)
    return edit


@pytest.mark.parametrize("edit,expected", [
    (_edit_layer("L1_52_12", padding=[-6, -9, -6, -12]), "L1_52_12's filters and padding make 52x50 px"),
    (_edit_layer("L0_36_12", out_size=np.broadcast_to(np.asarray(40), [2])), "make 36x36 px, not its 40 px"),
    (_edit_layer("L0_36_12", up_taps=2 ** 20), "up_taps=1048576 is outside the range"),
    (_edit_layer("L0_36_12", in_channels=2 ** 30), "in_channels=1073741824 is outside the range"),
])
def test_edited_layer_plans_are_damaged_in_one_line(tmp_path, capsys, edit, expected):
    geo = ckpts.stylegan3_geometry(**CONFIGS["T"])
    tensors = ckpts.stylegan3_tensors(geo, Z, W, MAP_LAYERS, seed=12)
    path = ckpts.write_stylegan3(tmp_path / "edited.pkl", tensors, geo, Z, W, MAP_LAYERS, edit=edit)
    assert cli.main(["inspect-generator", str(path)]) == EXIT_USER
    err = capsys.readouterr().err.strip()
    assert "\n" not in err and "damaged or was edited" in err and expected in err, err


class _Call:
    def __init__(self, func, *args):
        self.func, self.args = func, args

    def __reduce__(self):
        return (self.func, self.args)


@pytest.mark.parametrize("payload,what", [
    (np.array([1, "rm -rf"], dtype=object), "numpy.dtype('O8')"),
    (np.zeros(2, dtype=[("a", "f4"), ("b", "i4")]), "numpy.dtype('V8')"),
    (_Call(np.ndarray, (2 ** 40,)), "numpy.ndarray"),
])
def test_numpy_arrays_are_accepted_only_with_numeric_dtypes(tmp_path, payload, what):
    path = tmp_path / "arrays.pkl"
    path.write_bytes(pickle.dumps({"G_ema": payload}, protocol=4))
    with pytest.raises(CheckpointError, match="refused|damaged") as e:
        load_generator(path, "cpu")
    assert "\n" not in str(e.value)
    assert what in str(e.value) or "numpy" in str(e.value)


def test_numeric_numpy_arrays_come_back_as_read_only_arrays(tmp_path):
    from latentlab.generator.loaders import nvlabs

    arrays = {"size": np.broadcast_to(np.asarray(36), [2]), "grid": np.arange(12.0, dtype=np.float32).reshape(3, 4),
              "fortran": np.asfortranarray(np.arange(6, dtype=np.int16).reshape(2, 3))}
    for protocol in (2, 4, 5):
        path = tmp_path / f"p{protocol}.pkl"
        path.write_bytes(pickle.dumps(arrays, protocol=protocol))
        with open(path, "rb") as f:
            loaded = nvlabs.RestrictedUnpickler(f).load()
        for key, value in arrays.items():
            got = loaded[key].array if isinstance(loaded[key], nvlabs.NumpyArray) else loaded[key]
            assert isinstance(got, np.ndarray) and got.dtype == value.dtype and np.array_equal(got, value)
