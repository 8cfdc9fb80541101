"""An independent, deliberately plain StyleGAN3 forward pass (and conditional mapping) for the tests.

Written from the paper's description and the upstream layer plan, not from generator/: float64,
one sample at a time for everything spatial, convolutions and FIR filters as explicit sums over
kernel taps, up-sampling as a literal zero insertion, the Fourier grid from torch's affine_grid.
It reads the tensors in NVlabs' own names (`mapping.*`, `synthesis.input.*`, `synthesis.L*`) and
the layer plan from `_ref_checkpoints.stylegan3_geometry`, so a loader that maps a tensor or a
size to the wrong place cannot match it.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F

SQRT2 = math.sqrt(2.0)


def _normalize(x):
    return x / torch.sqrt((x ** 2).mean(dim=1, keepdim=True) + 1e-8)


def mapping(sd, z, c=None, lr_mul=0.01):
    """z [N, z_dim] (+ one-hot or float class vectors c [N, c_dim]) -> w [N, w_dim]; NVlabs' mapping."""
    d = {k: v.double() for k, v in sd.items()}
    x = _normalize(z.double())
    if "mapping.embed.weight" in d:
        e = d["mapping.embed.weight"]
        y = c.double() @ (e / math.sqrt(e.shape[1])).t() + d["mapping.embed.bias"]
        x = torch.cat([x, _normalize(y)], dim=1)
    i = 0
    while f"mapping.fc{i}.weight" in d:
        w = d[f"mapping.fc{i}.weight"]
        x = x @ (w * (lr_mul / math.sqrt(w.shape[1]))).t() + d[f"mapping.fc{i}.bias"] * lr_mul
        x = torch.where(x >= 0, x, 0.2 * x) * SQRT2
        i += 1
    return x


def _affine(d, prefix, w):
    a = d[f"{prefix}.affine.weight"]
    return w @ (a / math.sqrt(a.shape[1])).t() + d[f"{prefix}.affine.bias"]


def fourier_input(d, inp, w):
    """w [w_dim] -> features [C, size, size] for one sample."""
    t = _affine(d, "synthesis.input", w[None])[0]
    t = t / torch.sqrt(t[0] ** 2 + t[1] ** 2)
    cos, sin, tx, ty = t
    rot = torch.tensor([[cos, -sin, 0.0], [sin, cos, 0.0], [0.0, 0.0, 1.0]], dtype=torch.float64)
    shift = torch.tensor([[1.0, 0.0, -tx], [0.0, 1.0, -ty], [0.0, 0.0, 1.0]], dtype=torch.float64)
    m = rot @ shift @ d["synthesis.input.transform"]
    freqs0, phases0 = d["synthesis.input.freqs"], d["synthesis.input.phases"]
    freqs = freqs0 @ m[:2, :2]
    phases = phases0 + freqs0 @ m[:2, 2]
    bw, rate, size = float(inp["bandwidth"]), float(inp["rate"]), inp["size"]
    amp = (1 - (freqs.norm(dim=1) - bw) / (rate / 2 - bw)).clamp(0, 1)
    theta = torch.tensor([[[0.5 * size / rate, 0, 0], [0, 0.5 * size / rate, 0]]], dtype=torch.float64)
    grid = F.affine_grid(theta, [1, 1, size, size], align_corners=False)[0]  # [H, W, (x, y)]
    out = torch.zeros(freqs.shape[0], size, size, dtype=torch.float64)
    for ch in range(freqs.shape[0]):
        out[ch] = torch.sin(2 * math.pi * (grid[..., 0] * freqs[ch, 0] + grid[..., 1] * freqs[ch, 1] + phases[ch]))
        out[ch] *= amp[ch]
    mix = d["synthesis.input.weight"] / math.sqrt(freqs.shape[0])
    return torch.einsum("oc,chw->ohw", mix, out)


def conv(x, k, pad):
    """x [in, H, W] correlated with k [out, in, kh, kw], zero padding `pad`."""
    kk = k.shape[-1]
    xp = F.pad(x, [pad] * 4)
    ho, wo = xp.shape[1] - kk + 1, xp.shape[2] - kk + 1
    out = torch.zeros(k.shape[0], ho, wo, dtype=x.dtype)
    for dy in range(kk):
        for dx in range(kk):
            out += torch.einsum("oi,ihw->ohw", k[:, :, dy, dx], xp[:, dy:dy + ho, dx:dx + wo])
    return out


def fir(x, f, gain=1.0):
    """True 2-D convolution (flipped kernel), 'valid' region; f 1-D (used as outer(f, f)) or 2-D; None = x*gain."""
    if f is None:
        return x * gain
    k = (torch.outer(f, f) if f.ndim == 1 else f) * gain
    kh, kw = k.shape
    ho, wo = x.shape[1] - kh + 1, x.shape[2] - kw + 1
    out = torch.zeros(x.shape[0], ho, wo, dtype=x.dtype)
    for a in range(kh):
        for b in range(kw):
            out += k[kh - 1 - a, kw - 1 - b] * x[:, a:a + ho, b:b + wo]
    return out


def zero_insert(x, up):
    c, h, w = x.shape
    out = torch.zeros(c, h * up, w * up, dtype=x.dtype)
    out[:, ::up, ::up] = x
    return out


def pad_or_crop(x, x0, x1, y0, y1):
    x = F.pad(x, [max(x0, 0), max(x1, 0), max(y0, 0), max(y1, 0)])
    return x[:, max(-y0, 0): x.shape[1] - max(-y1, 0), max(-x0, 0): x.shape[2] - max(-x1, 0)]


def layer_forward(d, layer, x, ws_layer, conv_clamp):
    """One synthesis layer for a batch x [N, in, H, W] (the style normalisation spans the batch)."""
    p = f"synthesis.{layer['name']}"
    weight, bias = d[f"{p}.weight"], d[f"{p}.bias"]
    styles = _affine(d, p, ws_layer)  # [N, in]
    torgb = layer["torgb"]
    if torgb:
        styles = styles / math.sqrt(weight.shape[1] * weight.shape[2] * weight.shape[3])
    else:
        weight = weight / torch.sqrt((weight ** 2).mean(dim=[1, 2, 3], keepdim=True))
        styles = styles / torch.sqrt((styles ** 2).mean())
    gain_in = 1 / torch.sqrt(d[f"{p}.magnitude_ema"])
    up_f, down_f = d.get(f"{p}.up_filter"), d.get(f"{p}.down_filter")
    out = []
    for n in range(x.shape[0]):
        k = weight * styles[n][None, :, None, None]
        if not torgb:
            k = k / torch.sqrt((k ** 2).sum(dim=[1, 2, 3], keepdim=True) + 1e-8)
        y = conv(x[n], k * gain_in, layer["kernel"] - 1) + bias[:, None, None]
        y = pad_or_crop(zero_insert(y, layer["up"]), *layer["padding"])
        y = fir(y, up_f, gain=layer["up"] ** 2)
        if not torgb:
            y = torch.where(y >= 0, y, 0.2 * y) * SQRT2
        if conv_clamp is not None:
            y = y.clamp(-conv_clamp, conv_clamp)
        y = fir(y, down_f)[:, ::layer["down"], ::layer["down"]]
        out.append(y)
    return torch.stack(out)


def synthesis(sd, geo, ws, conv_clamp=256, output_scale=0.25):
    """ws [N, num_layers + 2, w_dim] -> images [N, 3, R, R], float64."""
    d = {k: v.double() for k, v in sd.items()}
    ws = ws.double()
    x = torch.stack([fourier_input(d, geo["input"], ws[n, 0]) for n in range(ws.shape[0])])
    for i, layer in enumerate(geo["layers"]):
        x = layer_forward(d, layer, x, ws[:, i + 1], conv_clamp)
    return x * output_scale


def truncate(ws, w_avg, psi, cutoff=None):
    out = w_avg.double() + psi * (ws.double() - w_avg.double())
    if cutoff is not None:
        out[:, cutoff:] = ws.double()[:, cutoff:]
    return out
