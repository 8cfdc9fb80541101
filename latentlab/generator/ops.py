"""Low-level StyleGAN2 operations written out in plain torch (no custom kernels).

These follow the published forward math of StyleGAN2 (NVlabs) exactly, so that checkpoints
trained elsewhere reproduce their original outputs: FIR filtering (`upfirdn2d`), bias plus
leaky-ReLU with gain and clamp (`bias_act`), and the modulated convolution with
demodulation, in both the fused (grouped, per-sample weights) and unfused (scale the
activations instead) forms.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F

SQRT2 = math.sqrt(2.0)


def fir_filter(taps=(1.0, 3.0, 3.0, 1.0)) -> torch.Tensor:
    """Separable low-pass filter as a normalised 2-D kernel (sums to 1)."""
    k = torch.tensor(taps, dtype=torch.float32)
    k2 = torch.outer(k, k)
    return k2 / k2.sum()


def upfirdn2d(x: torch.Tensor, f: torch.Tensor, up: int = 1, pad: tuple[int, int, int, int] = (0, 0, 0, 0),
              gain: float = 1.0) -> torch.Tensor:
    """Upsample by zero insertion, pad (negative crops), convolve with `f * gain`.

    x: [NCHW]; f: [kh, kw]; pad: (left, right, top, bottom) in pixels of the upsampled image.
    """
    n, c, h, w = x.shape
    if up > 1:
        x = x.reshape(n, c, h, 1, w, 1)
        x = F.pad(x, [0, up - 1, 0, 0, 0, up - 1])
        x = x.reshape(n, c, h * up, w * up)
    x = F.pad(x, [max(pad[0], 0), max(pad[1], 0), max(pad[2], 0), max(pad[3], 0)])
    x = x[:, :, max(-pad[2], 0): x.shape[2] - max(-pad[3], 0), max(-pad[0], 0): x.shape[3] - max(-pad[1], 0)]
    weight = (f * gain).flip([0, 1]).to(x.dtype)[None, None].repeat(c, 1, 1, 1)  # true convolution
    return F.conv2d(x, weight, groups=c)


def upsample2d(x: torch.Tensor, f: torch.Tensor) -> torch.Tensor:
    """2x upsampling of the skip image: [N,C,H,W] -> [N,C,2H,2W]."""
    return upfirdn2d(x, f, up=2, pad=(2, 1, 2, 1), gain=4.0)


def bias_act(x: torch.Tensor, bias: torch.Tensor | None, act: str = "lrelu", gain: float = 1.0,
             clamp: float | None = None) -> torch.Tensor:
    """x + bias, then leaky ReLU (slope 0.2) scaled by sqrt(2)*gain, then optional clamp."""
    if bias is not None:
        x = x + bias.reshape([1, -1] + [1] * (x.ndim - 2)).to(x.dtype)
    if act == "lrelu":
        x = F.leaky_relu(x, 0.2) * (SQRT2 * gain)
    elif act != "linear":
        raise ValueError(f"unknown activation {act!r}")
    elif gain != 1:
        x = x * gain
    if clamp is not None:
        x = x.clamp(-clamp * gain, clamp * gain)
    return x


def normalize_2nd_moment(x: torch.Tensor, eps: float = 1e-8) -> torch.Tensor:
    """Pixel norm of latent codes: [N, C] scaled to unit mean square per row."""
    return x * (x.square().mean(dim=1, keepdim=True) + eps).rsqrt()


def modulated_conv2d(x: torch.Tensor, weight: torch.Tensor, styles: torch.Tensor, *, demodulate: bool = True,
                     up: bool = False, padding: int = 1, resample_filter: torch.Tensor | None = None,
                     fused: bool = True, weight_scale: float = 1.0) -> torch.Tensor:
    """StyleGAN2 modulated convolution.

    x: [N, in, H, W]; weight: [out, in, k, k]; styles: [N, in].
    `weight_scale` multiplies the weight before modulation (rosinality applies 1/sqrt(fan_in) there;
    NVlabs leaves demodulated weights unscaled). With `up`, the result is 2x larger: a stride-2
    transposed convolution (no spatial flip) followed by the FIR blur with gain 4.
    """
    n = x.shape[0]
    out_ch, in_ch, kh, kw = weight.shape
    w = weight * weight_scale if weight_scale != 1.0 else weight
    if x.dtype == torch.float16 and demodulate:
        # fp16 only (NVlabs): shrink weight and styles below 1 so the products cannot overflow;
        # the factors cancel under demodulation. The float32 path never comes here.
        w = w * (1 / math.sqrt(in_ch * kh * kw) / w.norm(float("inf"), dim=[1, 2, 3], keepdim=True))
        styles = styles / styles.norm(float("inf"), dim=1, keepdim=True)
    if fused:
        wt = w[None] * styles[:, None, :, None, None]  # [N, out, in, k, k]
        if demodulate:
            wt = wt * (wt.square().sum(dim=[2, 3, 4], keepdim=True) + 1e-8).rsqrt()
        x = x.reshape(1, n * in_ch, *x.shape[2:])
        if up:
            wt = wt.transpose(1, 2).reshape(n * in_ch, out_ch, kh, kw)
            x = F.conv_transpose2d(x, wt.to(x.dtype), stride=2, padding=0, groups=n)
        else:
            x = F.conv2d(x, wt.reshape(n * out_ch, in_ch, kh, kw).to(x.dtype), padding=padding, groups=n)
        x = x.reshape(n, out_ch, *x.shape[2:])
    else:
        x = x * styles[:, :, None, None].to(x.dtype)
        if up:
            x = F.conv_transpose2d(x, w.transpose(0, 1).to(x.dtype), stride=2, padding=0)
        else:
            x = F.conv2d(x, w.to(x.dtype), padding=padding)
        if demodulate:
            d = ((w[None] * styles[:, None, :, None, None]).square().sum(dim=[2, 3, 4]) + 1e-8).rsqrt()  # [N, out]
            x = x * d[:, :, None, None].to(x.dtype)
    if up:
        x = upfirdn2d(x, resample_filter, pad=(1, 1, 1, 1), gain=4.0)
    return x
