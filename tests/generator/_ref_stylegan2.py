"""An independent, deliberately plain StyleGAN2 forward pass for checking the loaders.

Written from the format notes (/work/shared/reference/stylegan2-checkpoints.md, sections 1.4 and
2.4), not from generator/: float64, one sample at a time, convolutions as explicit sums over
kernel taps, the transposed convolution as a literal scatter, FIR filtering as shifted sums.
It reads the tensors in each format's *own* layout (rosinality `g_ema` keys, NVlabs state keys),
so a wrong key mapping in a loader shows up as a mismatch.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F

SQRT2 = math.sqrt(2.0)


def lrelu(x):
    return torch.where(x >= 0, x, 0.2 * x) * SQRT2


def correlate(x, w, pad):
    """x [in, H, W], w [out, in, k, k] -> [out, H', W'] (cross-correlation, zero padding)."""
    k = w.shape[-1]
    xp = F.pad(x, [pad] * 4)
    ho, wo = xp.shape[1] - k + 1, xp.shape[2] - k + 1
    out = torch.zeros(w.shape[0], ho, wo, dtype=x.dtype)
    for dy in range(k):
        for dx in range(k):
            out += torch.einsum("oi,ihw->ohw", w[:, :, dy, dx], xp[:, dy:dy + ho, dx:dx + wo])
    return out


def transposed_conv_stride2(x, w):
    """Literal scatter: out[o, 2y+dy, 2x+dx] += w[o, i, dy, dx] * x[i, y, x]; x [in,H,W] -> [out,2H+1,2W+1]."""
    k = w.shape[-1]
    h, wd = x.shape[1:]
    out = torch.zeros(w.shape[0], 2 * (h - 1) + k, 2 * (wd - 1) + k, dtype=x.dtype)
    for dy in range(k):
        for dx in range(k):
            out[:, dy:dy + 2 * h - 1:2, dx:dx + 2 * wd - 1:2] += torch.einsum("oi,ihw->ohw", w[:, :, dy, dx], x)
    return out


def fir(x, kernel, up=1, pad=(0, 0)):
    """Zero-insert upsample by `up`, pad (before, after) on both axes, true convolution with `kernel`."""
    c, h, w = x.shape
    if up > 1:
        xu = torch.zeros(c, h * up, w * up, dtype=x.dtype)
        xu[:, ::up, ::up] = x
        x = xu
    x = F.pad(x, [pad[0], pad[1], pad[0], pad[1]])
    k = kernel.flip(0).flip(1)
    kh, kw = k.shape
    ho, wo = x.shape[1] - kh + 1, x.shape[2] - kw + 1
    out = torch.zeros(c, ho, wo, dtype=x.dtype)
    for i in range(kh):
        for j in range(kw):
            out += k[i, j] * x[:, i:i + ho, j:j + wo]
    return out


def demodulate(w):
    return w / torch.sqrt((w ** 2).sum(dim=(1, 2, 3), keepdim=True) + 1e-8)


# ---------------------------------------------------------------- rosinality --------------------------------

def rosinality_mapping(sd, z, lr_mul=0.01):
    d = {k: v.double() for k, v in sd.items()}
    x = z.double()
    x = x / torch.sqrt((x ** 2).mean(dim=1, keepdim=True) + 1e-8)
    i = 1
    while f"style.{i}.weight" in d:
        w = d[f"style.{i}.weight"]
        x = lrelu(x @ (w * (lr_mul / math.sqrt(w.shape[1]))).t() + d[f"style.{i}.bias"] * lr_mul)
        i += 1
    return x


def rosinality_synthesis(sd, ws, noise=None):
    """ws [N, num_ws, S] -> [N, 3, R, R]; noise: None = stored buffers, 'none' = zeros."""
    d = {k: v.double() for k, v in sd.items()}
    n_blocks = len({k.split(".")[1] for k in d if k.startswith("to_rgbs.")})

    def style(prefix, w):
        a = d[f"{prefix}.conv.modulation.weight"]
        return a @ w / math.sqrt(a.shape[1]) + d[f"{prefix}.conv.modulation.bias"]

    def styled_conv(prefix, x, w, noise_index, up):
        weight = d[f"{prefix}.conv.weight"][0]
        fan_in = weight.shape[1] * weight.shape[2] * weight.shape[3]
        wm = demodulate(weight / math.sqrt(fan_in) * style(prefix, w)[None, :, None, None])
        if up:
            out = fir(transposed_conv_stride2(x, wm), d[f"{prefix}.conv.blur.kernel"], pad=(1, 1))
        else:
            out = correlate(x, wm, pad=1)
        if noise != "none":
            out = out + d[f"{prefix}.noise.weight"][0] * d[f"noises.noise_{noise_index}"][0, 0]
        return lrelu(out + d[f"{prefix}.activate.bias"][:, None, None])

    def to_rgb(prefix, x, w):
        weight = d[f"{prefix}.conv.weight"][0, :, :, 0, 0]
        wm = weight / math.sqrt(weight.shape[1]) * style(prefix, w)[None, :]
        return torch.einsum("oi,ihw->ohw", wm, x) + d[f"{prefix}.bias"][0]

    images = []
    for b in range(ws.shape[0]):
        w = ws[b].double()
        x = d["input.input"][0]
        x = styled_conv("conv1", x, w[0], 0, up=False)
        skip = to_rgb("to_rgb1", x, w[1])
        for k in range(n_blocks):
            x = styled_conv(f"convs.{2 * k}", x, w[2 * k + 1], 2 * k + 1, up=True)
            x = styled_conv(f"convs.{2 * k + 1}", x, w[2 * k + 2], 2 * k + 2, up=False)
            skip = fir(skip, d[f"to_rgbs.{k}.upsample.kernel"], up=2, pad=(2, 1)) + to_rgb(f"to_rgbs.{k}", x,
                                                                                             w[2 * k + 3])
        images.append(skip)
    return torch.stack(images)


def rosinality_truncate(w, center, psi):
    return w if psi >= 1 else center.double() + psi * (w - center.double())


# ---------------------------------------------------------------- NVlabs ------------------------------------

def nvlabs_mapping(sd, z, lr_mul=0.01):
    d = {k: v.double() for k, v in sd.items()}
    x = z.double()
    x = x / torch.sqrt((x ** 2).mean(dim=1, keepdim=True) + 1e-8)
    i = 0
    while f"mapping.fc{i}.weight" in d:
        w = d[f"mapping.fc{i}.weight"]
        x = lrelu(x @ (w * (lr_mul / math.sqrt(w.shape[1]))).t() + d[f"mapping.fc{i}.bias"] * lr_mul)
        i += 1
    return x


def nvlabs_truncate(ws, w_avg, psi, cutoff=None):
    """ws [N, num_ws, w_dim]; lerp towards w_avg on the first `cutoff` layers (all if None)."""
    if psi == 1:
        return ws.double()
    out = ws.double().clone()
    cut = ws.shape[1] if cutoff is None else cutoff
    out[:, :cut] = w_avg.double() + psi * (out[:, :cut] - w_avg.double())
    return out


def nvlabs_synthesis(sd, ws, resolution, conv_clamp=None, noise="const"):
    d = {k: v.double() for k, v in sd.items()}

    def clamp(x):
        return x if conv_clamp is None else x.clamp(-conv_clamp, conv_clamp)

    def style(prefix, w):
        a = d[f"{prefix}.affine.weight"]
        return a @ w / math.sqrt(a.shape[1]) + d[f"{prefix}.affine.bias"]

    def layer(prefix, x, w, up):
        wm = demodulate(d[f"{prefix}.weight"] * style(prefix, w)[None, :, None, None])
        if up:
            out = fir(transposed_conv_stride2(x, wm), d[f"{prefix}.resample_filter"] * 4, pad=(1, 1))
        else:
            out = correlate(x, wm, pad=1)
        if noise == "const" and f"{prefix}.noise_const" in d:  # layers built with use_noise=False have none
            out = out + d[f"{prefix}.noise_strength"] * d[f"{prefix}.noise_const"]
        return clamp(lrelu(out + d[f"{prefix}.bias"][:, None, None]))

    def torgb(prefix, x, w):
        weight = d[f"{prefix}.weight"][:, :, 0, 0]
        s = style(prefix, w) / math.sqrt(weight.shape[1])
        return clamp(torch.einsum("oi,ihw->ohw", weight * s[None, :], x) + d[f"{prefix}.bias"][:, None, None])

    images = []
    resolutions = [2 ** i for i in range(2, int(math.log2(resolution)) + 1)]
    for b in range(ws.shape[0]):
        w = ws[b].double()
        x = d["synthesis.b4.const"]
        x = layer("synthesis.b4.conv1", x, w[0], up=False)
        img = torgb("synthesis.b4.torgb", x, w[1])
        for j, res in enumerate(resolutions[1:]):
            p = f"synthesis.b{res}"
            x = layer(f"{p}.conv0", x, w[2 * j + 1], up=True)
            x = layer(f"{p}.conv1", x, w[2 * j + 2], up=False)
            img = fir(img, d[f"{p}.resample_filter"] * 4, up=2, pad=(2, 1)) + torgb(f"{p}.torgb", x, w[2 * j + 3])
        images.append(img)
    return torch.stack(images)
