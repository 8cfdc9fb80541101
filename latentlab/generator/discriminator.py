"""Residual StyleGAN2-style discriminator, used only to train latentlab's own generators."""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import nn

from latentlab.generator.ops import bias_act


class EqualConv2d(nn.Module):
    """Conv with equalised learning rate; optional 2x average-pool downsampling after it."""

    def __init__(self, in_ch: int, out_ch: int, kernel: int, *, bias: bool = True, activation: str = "lrelu",
                 down: bool = False):
        super().__init__()
        self.weight = nn.Parameter(torch.randn(out_ch, in_ch, kernel, kernel))
        self.bias = nn.Parameter(torch.zeros(out_ch)) if bias else None
        self.gain = 1.0 / math.sqrt(in_ch * kernel * kernel)
        self.activation, self.down, self.padding = activation, down, kernel // 2

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = F.conv2d(x, (self.weight * self.gain).to(x.dtype), padding=self.padding)
        if self.down:
            x = F.avg_pool2d(x, 2)
        return bias_act(x, self.bias, self.activation) if self.bias is not None or self.activation != "linear" else x


class DiscriminatorBlock(nn.Module):
    def __init__(self, in_ch: int, out_ch: int):
        super().__init__()
        self.conv0 = EqualConv2d(in_ch, in_ch, 3)
        self.conv1 = EqualConv2d(in_ch, out_ch, 3, down=True)
        self.skip = EqualConv2d(in_ch, out_ch, 1, bias=False, activation="linear", down=True)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return (self.skip(x) + self.conv1(self.conv0(x))) / math.sqrt(2)


class Discriminator(nn.Module):
    """image [N, 3, H, W] -> realness logit [N].

    Square R x R by default; `size` = (H, W) gives a rectangular input (a crop, see EyeDiscriminator).
    `channels` is keyed by the height at each stage; blocks halve until the height is 4 or less.
    """

    def __init__(self, resolution: int = 64, channels: dict[int, int] | None = None, mbstd_group: int = 4,
                 size: tuple[int, int] | None = None):
        super().__init__()
        channels = channels or {64: 32, 32: 64, 16: 128, 8: 128, 4: 128}
        h, w = size or (resolution, resolution)
        self.from_rgb = EqualConv2d(3, channels[h], 1)
        blocks = []
        while h > 4:
            blocks.append(DiscriminatorBlock(channels[h], channels[h // 2]))
            h, w = h // 2, w // 2
        self.blocks = nn.Sequential(*blocks)
        c = channels[h]
        self.mbstd_group = mbstd_group
        self.conv = EqualConv2d(c + 1, c, 3)
        self.fc = nn.Linear(c * h * w, c)
        self.out = nn.Linear(c, 1)

    def minibatch_std(self, x: torch.Tensor) -> torch.Tensor:
        n, c, h, w = x.shape
        g = min(self.mbstd_group, n)
        while n % g:
            g -= 1
        y = x.reshape(g, -1, c, h, w).float()
        y = (y.var(dim=0, unbiased=False) + 1e-8).sqrt().mean(dim=[1, 2, 3])  # [N/g]
        y = y.reshape(-1, 1, 1, 1).repeat(g, 1, h, w).to(x.dtype)
        return torch.cat([x, y], dim=1)

    def forward(self, img: torch.Tensor) -> torch.Tensor:
        x = self.blocks(self.from_rgb(img))
        x = self.conv(self.minibatch_std(x))
        x = F.leaky_relu(self.fc(x.flatten(1)), 0.2) * math.sqrt(2)
        return self.out(x).squeeze(1)


class EyeDiscriminator(nn.Module):
    """Judges only the eye region of a face: image [N, 3, R, R] -> realness logit [N].

    A second critic for eye colour and eye state, which live in a few pixels of a 64 px face where the
    whole-image critic spends little capacity. `box` = (top, left, height, width) in pixels at R.
    """

    def __init__(self, box: tuple[int, int, int, int], channels: dict[int, int] | None = None, mbstd_group: int = 4):
        super().__init__()
        self.box = tuple(int(v) for v in box)
        heights = [self.box[2]]  # the heights Discriminator's blocks pass through
        while heights[-1] > 4:
            heights.append(heights[-1] // 2)
        channels = channels or {h: 64 if h == heights[0] else 128 for h in heights}
        self.net = Discriminator(channels=channels, mbstd_group=mbstd_group, size=(self.box[2], self.box[3]))

    def forward(self, img: torch.Tensor) -> torch.Tensor:
        top, left, h, w = self.box
        return self.net(img[:, :, top:top + h, left:left + w])
