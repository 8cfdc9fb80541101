"""Choose how many images to synthesise at once from the memory that is free.

Rendering 1000 samples at 256-512 px must not run out of memory on a small GPU, nor swap a
laptop. The estimate is analytic (no trial runs): the largest per-sample working set of any
synthesis layer (the per-sample modulated weights plus its input, padded and output feature maps)
plus the RGB image, in float32, times a safety factor. `bench/bench_large_generator.py` checks it
against the measured peak memory.
"""

from __future__ import annotations

import os

import torch

from latentlab.generator.stylegan2 import StyleGAN2Generator

BYTES = 4  # float32; fp16 blocks need less, so the estimate stays on the safe side
SAFETY = 2.0  # measured peaks reach ~1.7x the raw sum (allocator slack, im2col buffers)
MEMORY_FRACTION = {"cuda": 0.5, "cpu": 0.25}  # of the memory that is free right now
MAX_BATCH = {"cuda": 64, "cpu": 64}
# On CPU a batch whose working set outgrows the caches gets slower per image (bench_large_generator.py:
# 256 px, ~270 MB per image, batch 1 beat 4 and 16), while small models want large batches
# (64 px, ~5 MB per image: ~3x faster at batch 32 than at 4). So the CPU batch is also bounded by this.
CPU_WORKING_SET = 256 * 2 ** 20


def _layer_bytes(ci: int, co: int, r_in: int, r_out: int, fused: bool) -> int:
    weights = (3 if fused else 2) * co * ci * 9  # per-sample modulated weight and its temporaries
    acts = ci * r_in * r_in + 3 * co * (r_out + 3) ** 2  # input, transposed/padded and output maps
    return BYTES * (weights + acts)


def stylegan2_bytes_per_sample(resolution: int, channels: dict[int, int], fused: bool = True) -> int:
    """Peak working memory of one sample in StyleGAN2 synthesis (bytes, float32, no autograd)."""
    peak = 0
    res = 4
    while res <= resolution:
        co = channels[res]
        if res == 4:
            peak = max(peak, _layer_bytes(co, co, 4, 4, fused))
        else:
            ci = channels[res // 2]
            peak = max(peak, _layer_bytes(ci, co, res // 2, res + 1, fused), _layer_bytes(co, co, res, res, fused))
        res *= 2
    image = BYTES * 3 * resolution * resolution * 3  # skip image, its upsampled copy and the sum
    return int(SAFETY * (peak + image))


def bytes_per_sample(gen) -> int:
    """Estimate for `gen`; generators of unknown architecture are assumed StyleGAN2 config-f sized."""
    if isinstance(gen, StyleGAN2Generator):
        return stylegan2_bytes_per_sample(gen.resolution, gen.cfg.channels, gen.fused_modconv)
    res = int(gen.resolution)
    channels = {2 ** i: min(32768 // 2 ** i, 512) for i in range(2, res.bit_length())}
    return stylegan2_bytes_per_sample(res, channels, fused=True)


def free_memory(device: torch.device) -> int:
    """Bytes free now on `device` (CUDA: the driver's count; CPU: MemAvailable)."""
    if device.type == "cuda":
        free, _total = torch.cuda.mem_get_info(device)
        return int(free)
    try:
        with open("/proc/meminfo") as f:
            for line in f:
                if line.startswith("MemAvailable:"):
                    return int(line.split()[1]) * 1024
    except OSError:
        pass
    try:
        return os.sysconf("SC_AVPHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")
    except (ValueError, OSError):
        return 2 << 30


def auto_batch_size(gen, device: torch.device | str | None = None, memory_bytes: int | None = None) -> int:
    """Largest batch whose estimated working set fits in a fraction of the free memory (>= 1).

    memory_bytes: the budget to use instead of measuring free memory (e.g. for a shared machine).
    """
    dev = torch.device(device) if device is not None else gen.device
    kind = "cuda" if dev.type == "cuda" else "cpu"
    budget = memory_bytes if memory_bytes is not None else int(free_memory(dev) * MEMORY_FRACTION[kind])
    if kind == "cpu":
        budget = min(budget, CPU_WORKING_SET)
    return max(1, min(MAX_BATCH[kind], budget // max(1, bytes_per_sample(gen))))
