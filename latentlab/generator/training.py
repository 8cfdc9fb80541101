"""Train a StyleGAN2 generator on the synthetic anime-face stream, resumably, on CPU or CUDA.

Recipe (chosen to converge fast on 2 CPU cores): non-saturating logistic loss, lazy R1 on real
images every `r1_interval` steps, style mixing, an EMA copy of G whose weights are what ships,
Adam with beta1 = 0, unfused modulated convolutions and optional bf16 autocast. Every
`ckpt_minutes` the full state (G, D, G_ema, optimisers, image counter) is written atomically to
`<out>/checkpoint.pt`; starting again with the same `--out` resumes from it. Sample grids of
G_ema on fixed latents go to `<out>/grids/` every `grid_minutes`, progress to `<out>/log.txt`.
With `eye_weight` > 0 a second critic judges only the eye region (discriminator.EyeDiscriminator).
Ctrl-C or SIGTERM (a machine being shut down, `kill`) ends the current step and writes a checkpoint
before exiting, so stopping by hand loses nothing.
"""

from __future__ import annotations

import copy
import json
import math
import os
import signal
import threading
import time
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F

from latentlab.generator.discriminator import Discriminator, EyeDiscriminator
from latentlab.generator.emphasis import emphasised_seeds
from latentlab.generator.stylegan2 import StyleGAN2Config, StyleGAN2Generator
from latentlab.generator.synthetic.renderer import eye_box, render_batch

TRAIN_SEED_OFFSET = 1_000_000  # training renders use seeds >= this; held-out evaluation uses seeds < it


@dataclass
class TrainConfig:
    out_dir: str = "runs/default"
    total_kimg: float = 600.0
    batch: int = 32
    lr_g: float = 0.002
    lr_d: float = 0.002
    r1_gamma: float = 0.05
    r1_interval: int = 16
    pl_weight: float = 0.0  # path-length regulariser (StyleGAN2 config F uses 2); 0 = off
    pl_interval: int = 4
    pl_batch_shrink: int = 2
    pl_decay: float = 0.01
    emphasis: dict = field(default_factory=dict)  # {"blush=yes": 2.0, ...}: latentlab.generator.emphasis
    eye_weight: float = 0.0  # weight of a second critic that sees only the eye region; 0 = off
    eye_lr: float = 0.0  # Adam rate of the eye critic; 0 = lr_d (a critic added late to a run may need a faster one)
    eye_rampup_kimg: float = 10.0  # G's share of that critic's loss grows from 0 over this many images once it starts
    ema_kimg: float = 10.0
    ema_rampup: float = 0.05
    mixing_prob: float = 0.9
    w_avg_beta: float = 0.995
    ckpt_minutes: float = 5.0
    grid_minutes: float = 10.0
    max_minutes: float = 0.0  # stop (with a checkpoint) after this much wall time; 0 = until total_kimg
    seed: int = 0
    threads: int = 0  # 0 = torch default
    bf16: bool = False
    device: str = "cpu"
    generator: dict = field(default_factory=lambda: StyleGAN2Config().to_dict())
    d_channels: dict = field(default_factory=lambda: {"64": 32, "32": 64, "16": 128, "8": 128, "4": 128})


def real_batch(seeds, resolution: int, device: torch.device) -> torch.Tensor:
    """Render the training faces of `seeds` as float [-1, 1] NCHW."""
    imgs, _ = render_batch(seeds, size=resolution)
    x = torch.from_numpy(imgs).to(device).permute(0, 3, 1, 2).float()
    return x / 127.5 - 1.0


def _mixed_ws(G: StyleGAN2Generator, batch: int, prob: float, device) -> torch.Tensor:
    z = torch.randn(batch, G.z_dim, device=device)
    ws = G.broadcast(G.mapping_net(z))
    if prob > 0 and torch.rand(()) < prob:
        cutoff = int(torch.randint(1, G.num_ws, ()))
        ws2 = G.broadcast(G.mapping_net(torch.randn_like(z)))
        ws = torch.cat([ws[:, :cutoff], ws2[:, cutoff:]], dim=1)
    return ws


def save_grid(G: StyleGAN2Generator, z: torch.Tensor, path: Path, psi: float = 1.0) -> None:
    from PIL import Image

    with torch.inference_mode():
        img = G.synthesis(G.mapping(z, psi))
    img = ((img.clamp(-1, 1) + 1) * 127.5).round().byte().permute(0, 2, 3, 1).cpu().numpy()
    n = int(math.sqrt(len(img)))
    r = img.shape[1]
    grid = img[: n * n].reshape(n, n, r, r, 3).transpose(0, 2, 1, 3, 4).reshape(n * r, n * r, 3)
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray(grid).save(path)


class Trainer:
    """Holds networks and optimisers; `run()` trains until `total_kimg`, checkpointing as it goes."""

    def __init__(self, cfg: TrainConfig, log=print):
        self.cfg = cfg
        self.log = log
        self.out = Path(cfg.out_dir)
        self.device = torch.device(cfg.device)
        if cfg.threads:
            torch.set_num_threads(cfg.threads)
        torch.manual_seed(cfg.seed)
        gcfg = StyleGAN2Config.from_dict(cfg.generator)
        self.G = StyleGAN2Generator(gcfg).to(self.device)
        self.D = Discriminator(gcfg.resolution, {int(k): v for k, v in cfg.d_channels.items()}).to(self.device)
        self.G_ema = copy.deepcopy(self.G).eval().requires_grad_(False)
        mb = cfg.r1_interval / (cfg.r1_interval + 1)  # lazy regularisation correction
        self.lrs = (cfg.lr_g, cfg.lr_d * mb)
        self.opt_g = torch.optim.Adam(self.G.parameters(), lr=self.lrs[0], betas=(0.0, 0.99), eps=1e-8)
        self.opt_d = torch.optim.Adam(self.D.parameters(), lr=self.lrs[1], betas=(0.0, 0.99 ** mb), eps=1e-8)
        self.D_eye: EyeDiscriminator | None = None
        self.opt_d_eye: torch.optim.Adam | None = None
        self.eye_start = 0  # image count at which the eye critic joined (a resumed run may add it late)
        self.lr_eye = (cfg.eye_lr or cfg.lr_d) * mb
        if cfg.eye_weight > 0:
            self.D_eye = EyeDiscriminator(eye_box(gcfg.resolution)).to(self.device)
            self.opt_d_eye = torch.optim.Adam(self.D_eye.parameters(), lr=self.lr_eye, betas=(0.0, 0.99 ** mb),
                                              eps=1e-8)
        self.nimg = 0
        self.step = 0
        self.cursor = 0  # next seed of the face stream, minus TRAIN_SEED_OFFSET (ahead of nimg with emphasis)
        self.pl_mean = torch.zeros((), device=self.device)  # running mean of path lengths
        self.stop_signal: str | None = None  # name of the signal that asked the run to stop
        self.grid_z = torch.from_numpy(np.random.default_rng(123).standard_normal((64, gcfg.z_dim)).astype(np.float32))

    # -- checkpoints ------------------------------------------------------------------------------
    @property
    def ckpt_path(self) -> Path:
        return self.out / "checkpoint.pt"

    def save(self) -> None:
        self.out.mkdir(parents=True, exist_ok=True)
        state = {
            "G": self.G.state_dict(), "D": self.D.state_dict(), "G_ema": self.G_ema.state_dict(),
            "opt_g": self.opt_g.state_dict(), "opt_d": self.opt_d.state_dict(),
            "nimg": self.nimg, "step": self.step, "cursor": self.cursor, "train_config": json.dumps(asdict(self.cfg)),
            "torch_rng": torch.get_rng_state(), "pl_mean": self.pl_mean.detach().cpu(),
        }
        if self.D_eye is not None:
            state.update(D_eye=self.D_eye.state_dict(), opt_d_eye=self.opt_d_eye.state_dict(), eye_start=self.eye_start)
        tmp = self.ckpt_path.with_suffix(".tmp")
        torch.save(state, tmp)
        os.replace(tmp, self.ckpt_path)

    def resume(self) -> bool:
        if not self.ckpt_path.exists():
            return False
        state = torch.load(self.ckpt_path, map_location=self.device, weights_only=True)
        self.G.load_state_dict(state["G"])
        self.D.load_state_dict(state["D"])
        self.G_ema.load_state_dict(state["G_ema"])
        self.opt_g.load_state_dict(state["opt_g"])
        self.opt_d.load_state_dict(state["opt_d"])
        self.nimg, self.step = int(state["nimg"]), int(state["step"])
        if self.D_eye is not None:
            if "D_eye" in state:
                self.D_eye.load_state_dict(state["D_eye"])
                self.opt_d_eye.load_state_dict(state["opt_d_eye"])
                self.eye_start = int(state["eye_start"])
            else:  # switched on for a run trained without it: a fresh critic, ramped in from here
                self.eye_start = self.nimg
        for opt, lr in zip((self.opt_g, self.opt_d, self.opt_d_eye), (*self.lrs, self.lr_eye)):
            for group in (opt.param_groups if opt is not None else []):  # the config's rates, not the stored ones
                group["lr"] = lr
        self.cursor = int(state.get("cursor", self.nimg))  # older checkpoints: the plain stream, one seed per image
        torch.set_rng_state(state["torch_rng"])
        if "pl_mean" in state:  # checkpoints before the path-length regulariser have none
            self.pl_mean = state["pl_mean"].to(self.device)
        return True

    # -- one step ---------------------------------------------------------------------------------
    def _autocast(self):
        return torch.autocast(self.device.type, dtype=torch.bfloat16, enabled=self.cfg.bf16)

    def train_step(self) -> dict[str, float]:
        cfg, G, D = self.cfg, self.G, self.D
        b = cfg.batch
        seeds, self.cursor = emphasised_seeds(TRAIN_SEED_OFFSET + self.cursor, b, cfg.emphasis)
        self.cursor -= TRAIN_SEED_OFFSET
        real = real_batch(seeds, G.resolution, self.device)
        stats = {}

        # D (and the eye critic, weighted): logistic loss on fakes and reals.
        critics = [(D, self.opt_d, 1.0, "")]
        if self.D_eye is not None:
            critics.append((self.D_eye, self.opt_d_eye, cfg.eye_weight, "_eye"))
        G.requires_grad_(False)
        with torch.no_grad(), self._autocast():
            fake = G.synthesis(_mixed_ws(G, b, cfg.mixing_prob, self.device), noise_mode="random")
        for critic, opt, weight, name in critics:
            critic.requires_grad_(True)
            with self._autocast():
                loss_d = F.softplus(critic(fake).float()).mean() + F.softplus(-critic(real).float()).mean()
            opt.zero_grad(set_to_none=True)
            (loss_d * weight).backward()
            stats["loss_d" + name] = float(loss_d.detach())
            if self.step % cfg.r1_interval == 0:  # lazy R1, in float32
                real_r = real.detach().requires_grad_(True)
                (grad,) = torch.autograd.grad(critic(real_r).sum(), real_r, create_graph=True)
                r1 = grad.square().sum(dim=[1, 2, 3]).mean()
                (r1 * (cfg.r1_gamma / 2) * cfg.r1_interval * weight).backward()
                stats["r1" + name] = float(r1.detach())
            opt.step()
            critic.requires_grad_(False)

        # G: non-saturating loss against each critic.
        G.requires_grad_(True)
        with self._autocast():
            ws = _mixed_ws(G, b, cfg.mixing_prob, self.device)
            img = G.synthesis(ws, noise_mode="random")
            loss_g = F.softplus(-D(img).float()).mean()
            if self.D_eye is not None:
                ramp = min(1.0, (self.nimg - self.eye_start) / max(cfg.eye_rampup_kimg * 1000, 1.0))
                loss_eye = F.softplus(-self.D_eye(img).float()).mean()
                stats["loss_g_eye"] = float(loss_eye.detach())
                loss_g = loss_g + cfg.eye_weight * ramp * loss_eye
        self.opt_g.zero_grad(set_to_none=True)
        loss_g.backward()
        if cfg.pl_weight > 0 and self.step % cfg.pl_interval == 0:
            stats["pl"] = self._path_length_penalty(b)
        self.opt_g.step()
        stats["loss_g"] = float(loss_g.detach())

        with torch.no_grad():
            G.w_avg.copy_(torch.lerp(ws[:, 0].float().mean(0), G.w_avg, cfg.w_avg_beta))
            ema_nimg = min(cfg.ema_kimg * 1000, max(self.nimg, 1) * cfg.ema_rampup)
            beta = 0.5 ** (b / max(ema_nimg, 1e-8))
            for p_ema, p in zip(self.G_ema.parameters(), G.parameters()):
                p_ema.copy_(p.lerp(p_ema, beta))
            for b_ema, b_ in zip(self.G_ema.buffers(), G.buffers()):
                b_ema.copy_(b_)
        self.nimg += b
        self.step += 1
        return stats

    def _path_length_penalty(self, b: int) -> float:
        """Lazy path-length regulariser (StyleGAN2): a fixed step in W should move the image by a fixed
        amount everywhere, which is what linear edits rely on. Accumulates its gradient into G."""
        cfg, G = self.cfg, self.G
        n = max(b // cfg.pl_batch_shrink, 1)
        ws = _mixed_ws(G, n, cfg.mixing_prob, self.device)
        img = G.synthesis(ws, noise_mode="random")  # float32: double backward through bf16 is noisy
        y = torch.randn_like(img) / math.sqrt(img.shape[2] * img.shape[3])
        (grad,) = torch.autograd.grad((img * y).sum(), ws, create_graph=True)
        lengths = grad.square().sum(2).mean(1).sqrt()  # [N]
        with torch.no_grad():
            if float(self.pl_mean) == 0:  # first use (also when switched on for a trained model): start at the data
                self.pl_mean.copy_(lengths.mean())
            self.pl_mean.copy_(self.pl_mean.lerp(lengths.mean(), cfg.pl_decay))
        penalty = (lengths - self.pl_mean).square().mean()
        (penalty * cfg.pl_weight * cfg.pl_interval).backward()
        return float(lengths.mean().detach())

    @contextmanager
    def _stop_on_signals(self):
        """While training, SIGINT/SIGTERM set `stop_signal`; the loop then saves and returns. A second
        signal before that raises KeyboardInterrupt, for a save that hangs."""
        self.stop_signal = None
        if threading.current_thread() is not threading.main_thread():  # handlers live in the main thread only
            yield
            return

        def stop(signum, _frame):
            if self.stop_signal:
                raise KeyboardInterrupt(f"second {signal.Signals(signum).name}")
            self.stop_signal = signal.Signals(signum).name

        previous = {s: signal.signal(s, stop) for s in (signal.SIGINT, signal.SIGTERM)}
        try:
            yield
        finally:
            for s, handler in previous.items():
                signal.signal(s, handler)

    def run(self) -> None:
        with self._stop_on_signals():
            self._run()

    def _run(self) -> None:
        cfg = self.cfg
        self.out.mkdir(parents=True, exist_ok=True)
        if self.resume():
            self.log(f"resumed from {self.ckpt_path} at {self.nimg / 1000:.1f} kimg")
        (self.out / "train_config.json").write_text(json.dumps(asdict(cfg), indent=2))
        t_ckpt = t_grid = t_log = time.time()
        t0, n0 = time.time(), self.nimg
        save_grid(self.G_ema, self.grid_z, self.out / "grids" / f"grid_{self.nimg // 1000:06d}k.png")
        deadline = t0 + cfg.max_minutes * 60 if cfg.max_minutes > 0 else float("inf")
        while self.nimg < cfg.total_kimg * 1000 and time.time() < deadline and not self.stop_signal:
            stats = self.train_step()
            now = time.time()
            if now - t_log > 30:
                rate = (self.nimg - n0) / (now - t0)
                self.log(f"kimg {self.nimg / 1000:8.1f}  img/s {rate:5.1f}  " +
                         "  ".join(f"{k} {v:.4f}" for k, v in stats.items()))
                t_log = now
            if now - t_grid > cfg.grid_minutes * 60:
                save_grid(self.G_ema, self.grid_z, self.out / "grids" / f"grid_{self.nimg // 1000:06d}k.png")
                t_grid = now
            if now - t_ckpt > cfg.ckpt_minutes * 60:
                self.save()
                t_ckpt = now
        self.save()
        save_grid(self.G_ema, self.grid_z, self.out / "grids" / f"grid_{self.nimg // 1000:06d}k.png")
        if self.stop_signal:
            self.log(f"stopped by {self.stop_signal} at {self.nimg / 1000:.1f} kimg, checkpoint written")
        else:
            self.log(f"done at {self.nimg / 1000:.1f} kimg")


RECIPE_KEYS = ("lr_g", "lr_d", "r1_gamma", "r1_interval", "pl_weight", "pl_interval", "pl_batch_shrink",
               "pl_decay", "emphasis", "eye_weight", "eye_lr", "eye_rampup_kimg", "ema_kimg", "ema_rampup",
               "mixing_prob", "w_avg_beta", "generator", "d_channels")


def checkpoint_recipe(ckpt: Path) -> dict:
    """The recipe a checkpoint was trained with (networks, losses, optimiser), so resuming keeps it."""
    state = torch.load(ckpt, map_location="cpu", weights_only=True)
    stored = json.loads(state["train_config"])
    return {k: stored[k] for k in RECIPE_KEYS if k in stored}


def export_checkpoint(ckpt: Path, out: Path) -> Path:
    """Write the EMA generator of a training checkpoint in latentlab's native format."""
    from latentlab.generator.native import save_native

    state = torch.load(ckpt, map_location="cpu", weights_only=True)
    cfg = TrainConfig(**json.loads(state["train_config"]))
    G = StyleGAN2Generator(StyleGAN2Config.from_dict(cfg.generator))
    G.load_state_dict(state["G_ema"])
    return save_native(G.eval(), out, extra={"trained_kimg": f"{int(state['nimg']) / 1000:.1f}"})
