"""Load and sample the same StyleGAN2 with latentlab and with the upstream code in one run; print the ratio.

    .venv/bin/python bench/bench_loaders.py --nvlabs DIR [--rosinality DIR] [--threads N] [--repeats R] [--seconds S] [--large]

NVlabs: builds upstream's `training.networks.Generator` at the shipped default generator's
configuration (64 px; `--large`: 256 px, z = w = 512, stylegan2-ada's paper256 channels) with perturbed
random weights (seed 0), writes a snapshot the way `training_loop.py` does (`pickle.dump` of
{training_set_kwargs, G, D, G_ema, augment_pipe}, network source embedded by `torch_utils.persistence`),
then times `legacy.load_network_pkl(f)["G_ema"]` against `load_generator(path, device="cpu")` and
mapping + synthesis (truncation 1, noise_mode "const", torch.inference_mode) at batch 1 and 16.
rosinality: the same with its `model.Generator` (64 px, z = w = 128, 4 mapping layers, its own fixed
channel table with multiplier 1), `torch.save({"g_ema", "latent_avg"})` and `generate.py`'s way of loading.
DIR: a checkout, e.g. `git clone https://github.com/NVlabs/stylegan2-ada-pytorch DIR`; this script downloads
nothing. Ratios are upstream time / latentlab time (> 1: latentlab faster). Figures depend on the machine's
load; use at most one thread per free core (oversubscribed threads slow both sides down alike, up to 80x).
"""

from __future__ import annotations

import argparse
import copy
import importlib
import pickle
import statistics
import subprocess
import sys
import tempfile
import time
import types
from collections.abc import Callable
from pathlib import Path

import torch

from latentlab.generator.loading import load_generator


def stand_in(*names: str) -> None:
    """Put an empty module in sys.modules for each name that cannot be imported. NVlabs' dnnlib.util
    imports `requests` (only for downloading URLs) and legacy.py imports `click` (only for its CLI);
    neither is called here."""
    for name in names:
        try:
            importlib.import_module(name)
        except ImportError:
            sys.modules[name] = types.ModuleType(name)


def commit_of(path: Path) -> str:
    """The checkout's commit id, from git."""
    out = subprocess.run(["git", "-C", str(path), "rev-parse", "HEAD"], capture_output=True, text=True, check=False)
    return out.stdout.strip() or "unknown (not a git checkout)"


def perturb(net: torch.nn.Module, seed: int = 0) -> None:
    """Add Gaussian noise to every parameter (and w_avg), its standard deviation a fifth of the tensor's largest
    magnitude (0.1 where all zero); a max, unlike a sum, does not depend on the thread count."""
    g = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for name, t in [*net.named_parameters(), *net.named_buffers()]:
            if isinstance(t, torch.nn.Parameter) or name.endswith("w_avg"):
                scale = 0.2 * float(t.abs().max()) or 0.1
                t.add_(torch.randn(t.shape, generator=g) * scale)


def timed(fn: Callable[[], object]) -> float:
    """Seconds one call of fn takes."""
    t0 = time.perf_counter()
    fn()
    return time.perf_counter() - t0


def load_times(up: Callable[[], object], ours: Callable[[], object], repeats: int) -> list[tuple]:
    """Rows (step, upstream s, latentlab s): the first load, then the median of `repeats` interleaved loads."""
    rows = [("load, first (s)", timed(up), timed(ours))]
    pairs = [(timed(up), timed(ours)) for _ in range(repeats)]
    rows.append((f"load, median of {repeats} (s)", statistics.median(p[0] for p in pairs),
                 statistics.median(p[1] for p in pairs)))
    return rows


def throughputs(up: Callable, ours: Callable, z: torch.Tensor, seconds: float, rounds: int = 3) -> tuple[float, float]:
    """(upstream, latentlab) images/s for sampling all of z: median over `rounds` alternating
    rounds of about seconds / rounds / 2 each, after one warm-up call per side."""
    rates: tuple[list[float], list[float]] = ([], [])
    with torch.inference_mode():
        up(z), ours(z)  # warm-up
        for _ in range(rounds):
            for fn, out in ((up, rates[0]), (ours, rates[1])):
                n, t0 = 0, time.perf_counter()
                while n == 0 or time.perf_counter() - t0 < seconds / rounds / 2:
                    fn(z)
                    n += len(z)
                out.append(n / (time.perf_counter() - t0))
    return statistics.median(rates[0]), statistics.median(rates[1])


def compare(name: str, up_load: Callable, up_sample: Callable, path: Path, z_dim: int,
            args: argparse.Namespace) -> None:
    """Time both loaders and samplers on one file and print the markdown table plus the output difference."""
    def ours_load() -> torch.nn.Module:
        return load_generator(path, device="cpu")

    def sample(z: torch.Tensor) -> torch.Tensor:
        return ours.synthesis(ours.mapping(z, 1.0), noise_mode="const")

    rows = [(s, u, o, u / o) for s, u, o in load_times(up_load, ours_load, args.repeats)]
    upstream, ours = up_load(), ours_load()
    z = torch.randn(16, z_dim, generator=torch.Generator().manual_seed(1))
    with torch.inference_mode():
        diff = float((up_sample(upstream, z) - sample(z)).abs().max())
    for batch in (1, 16):
        u, o = throughputs(lambda x: up_sample(upstream, x), sample, z[:batch], args.seconds)
        rows.append((f"sample, batch {batch} (img/s)", u, o, o / u))
    print(f"\n{name}: {path.stat().st_size / 2**20:.1f} MB file, generator {ours.generator_id}, "
          f"max |pixel difference| at batch 16: {diff:.1e}")
    print("| step | upstream | latentlab | ratio |\n|---|---|---|---|")
    for step, u, o, r in rows:
        fmt = ".3f" if "load" in step else ".1f"
        print(f"| {step} | {u:{fmt}} | {o:{fmt}} | {r:.2f} |")


def nvlabs(root: Path, tmp: Path, args: argparse.Namespace) -> None:
    """Build, save, load and sample an NVlabs snapshot (see the module docstring)."""
    sys.path.insert(0, str(root))
    stand_in("requests", "click")
    import dnnlib
    import legacy
    from torch_utils import persistence
    from training.networks import Discriminator, Generator

    if args.large:  # like stylegan2-ada's paper256 / the anime models people train: 256 px, 512 wide
        res, z_dim, layers, lr_mul, clamp, base, cmax = 256, 512, 8, 0.01, 256, 16384, 512
    else:  # the shipped default generator's own configuration
        cfg = load_generator(None, device="cpu").cfg
        res, z_dim, layers, clamp = cfg.resolution, cfg.z_dim, cfg.mapping_layers, cfg.conv_clamp
        lr_mul = cfg.mapping_lr_mul
        base, cmax = cfg.channels[res] * res, max(cfg.channels.values())
        assert cfg.channels == {r: min(base // r, cmax) for r in cfg.resolutions}, "not an NVlabs channel table"
        assert cfg.z_dim == cfg.w_dim and cfg.c_dim == 0
    torch.manual_seed(0)
    syn = dnnlib.EasyDict(channel_base=base, channel_max=cmax, num_fp16_res=0, conv_clamp=clamp)
    G = Generator(z_dim=z_dim, c_dim=0, w_dim=z_dim, img_resolution=res, img_channels=3,
                  mapping_kwargs=dnnlib.EasyDict(num_layers=layers, lr_multiplier=lr_mul), synthesis_kwargs=syn)
    D = Discriminator(c_dim=0, img_resolution=res, img_channels=3, channel_base=base, channel_max=cmax)
    perturb(G)
    snapshot = {"training_set_kwargs": {"class_name": "training.dataset.ImageFolderDataset", "resolution": res}}
    for key, net in (("G", G), ("D", D), ("G_ema", G)):  # as training_loop.py: deep copies in eval mode
        snapshot[key] = copy.deepcopy(net).eval().requires_grad_(False).cpu()
    snapshot["augment_pipe"] = None
    path = tmp / f"network-snapshot-{res}px.pkl"
    with open(path, "wb") as f:
        pickle.dump(snapshot, f)
    # A fresh process has not imported training.networks: make the first load execute the embedded source.
    persistence._module_to_src_dict.clear()
    persistence._src_to_module_dict.clear()

    def up_load() -> torch.nn.Module:
        with open(path, "rb") as f:
            return legacy.load_network_pkl(f)["G_ema"].to("cpu")  # as generate.py

    def up_sample(G, z: torch.Tensor) -> torch.Tensor:
        return G.synthesis(G.mapping(z, None, truncation_psi=1), noise_mode="const")

    compare(f"NVlabs stylegan2-ada-pytorch {commit_of(root)}, {res} px", up_load, up_sample, path, z_dim, args)


def rosinality(root: Path, tmp: Path, args: argparse.Namespace) -> None:
    """Build, save, load and sample a rosinality checkpoint (see the module docstring)."""
    # op/ compiles its CUDA kernels with cpp_extension.load at import time; on CPU its functions use plain
    # PyTorch (upfirdn2d_native, F.leaky_relu) and never touch them, so import it with a load() that returns
    # a placeholder instead of compiling.
    import torch.utils.cpp_extension as ext
    real_load, ext.load = ext.load, lambda name, *a, **k: types.SimpleNamespace(name=name)
    sys.path.insert(0, str(root))
    try:
        from model import Generator
    finally:
        ext.load = real_load
    size, style, n_mlp, mult = 64, 128, 4, 1
    torch.manual_seed(0)
    g = Generator(size, style, n_mlp, channel_multiplier=mult).eval()
    perturb(g)
    path = tmp / f"rosinality-{size}px.pt"
    with torch.no_grad():
        latent_avg = g.mean_latent(4096).squeeze(0)
    torch.save({"g_ema": g.state_dict(), "latent_avg": latent_avg}, path)  # as convert_weight.py writes

    def up_load() -> torch.nn.Module:  # as generate.py
        net = Generator(size, style, n_mlp, channel_multiplier=mult)
        net.load_state_dict(torch.load(path, map_location="cpu")["g_ema"])
        return net.eval()

    def up_sample(net, z: torch.Tensor) -> torch.Tensor:
        return net([z], truncation=1, randomize_noise=False)[0]

    compare(f"rosinality stylegan2-pytorch {commit_of(root)}, {size} px", up_load, up_sample, path, style, args)


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--nvlabs", type=Path, help="checkout of NVlabs/stylegan2-ada-pytorch")
    p.add_argument("--rosinality", type=Path, help="checkout of rosinality/stylegan2-pytorch")
    p.add_argument("--threads", type=int, default=torch.get_num_threads())
    p.add_argument("--repeats", type=int, default=5, help="loads after the first, median reported")
    p.add_argument("--seconds", type=float, default=6.0, help="sampling time per batch size, both sides together")
    p.add_argument("--large", action="store_true", help="NVlabs at 256 px, 512 channels, z = w = 512 (slow on CPU)")
    args = p.parse_args()
    torch.set_num_threads(args.threads)
    print(f"torch {torch.__version__}, {args.threads} thread(s), CPU, float32; ratio = upstream time / latentlab time")
    with tempfile.TemporaryDirectory() as tmp:
        for name, root, run in (("NVlabs", args.nvlabs, nvlabs), ("rosinality", args.rosinality, rosinality)):
            if root is None or not (root / ("training" if run is nvlabs else "model.py")).exists():
                print(f"\n{name}: skipped ({'no checkout given' if root is None else f'{root} is not a checkout'}; "
                      f"--{name.lower()} PATH)")
            else:
                run(root, Path(tmp), args)


if __name__ == "__main__":
    main()
