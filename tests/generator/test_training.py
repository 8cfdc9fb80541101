"""The trainer checkpoints, resumes where it stopped, and exports a loadable generator."""

import json

import torch

from latentlab.generator.loading import load_generator
from latentlab.generator.training import TrainConfig, Trainer, export_checkpoint


def config(out, kimg, tiny_config):
    return TrainConfig(out_dir=str(out), total_kimg=kimg, batch=4, r1_interval=2, generator=tiny_config().to_dict(),
                       d_channels={"16": 16, "8": 16, "4": 16}, grid_minutes=60, ckpt_minutes=60, threads=1)


def test_train_resume_export(tmp_path, tiny_config):
    logs = []
    first = Trainer(config(tmp_path, 0.012, tiny_config), log=logs.append)
    first.run()
    assert first.nimg == 12 and (tmp_path / "checkpoint.pt").exists()
    assert list((tmp_path / "grids").glob("grid_*.png"))
    before = {k: v.clone() for k, v in first.G.state_dict().items()}

    second = Trainer(config(tmp_path, 0.020, tiny_config), log=logs.append)
    second.run()
    assert any("resumed" in m for m in logs)
    assert second.nimg == 20 and second.step == 5  # continued from step 3, not from zero
    after = second.G.state_dict()
    assert any(not torch.equal(before[k], after[k]) for k in before)  # training changed the weights

    out = export_checkpoint(tmp_path / "checkpoint.pt", tmp_path / "g.safetensors")
    g = load_generator(out, device="cpu")
    z = torch.randn(2, g.z_dim)
    assert torch.equal(g(z), second.G_ema(z))
    assert json.loads((tmp_path / "train_config.json").read_text())["batch"] == 4


def test_cli_resume_keeps_the_stored_recipe_unless_overridden(tmp_path, tiny_config):
    from latentlab.cli import main

    cfg = config(tmp_path, 0.004, tiny_config)
    cfg.r1_gamma = 0.7
    Trainer(cfg, log=lambda m: None).run()
    common = ["train-generator", "--out", str(tmp_path), "--batch", "4", "--threads", "1"]

    main(common + ["--kimg", "0.008"])
    stored = json.loads((tmp_path / "train_config.json").read_text())
    assert stored["r1_gamma"] == 0.7 and stored["generator"]["resolution"] == 16  # not the CLI defaults

    main(common + ["--kimg", "0.012", "--r1-gamma", "0.3", "--lr", "0.001"])
    stored = json.loads((tmp_path / "train_config.json").read_text())
    assert stored["r1_gamma"] == 0.3 and stored["total_kimg"] == 0.012 and stored["lr_g"] == stored["lr_d"] == 0.001
    state = torch.load(tmp_path / "checkpoint.pt", weights_only=True)
    assert state["nimg"] == 12
    assert state["opt_g"]["param_groups"][0]["lr"] == 0.001  # Adam used the new rate, not the restored one
    assert abs(state["opt_d"]["param_groups"][0]["lr"] - 0.001 * 2 / 3) < 1e-12  # times the lazy-R1 correction (interval 2)

    other = tmp_path / "branch"  # a new run folder started from that checkpoint names where it came from
    main(["train-generator", "--out", str(other), "--batch", "4", "--threads", "1", "--kimg", "0.016",
          "--resume-from", str(tmp_path / "checkpoint.pt")])
    log_text = (other / "log.txt").read_text()
    assert f"copied {tmp_path / 'checkpoint.pt'}" in log_text and "at 0.0 kimg" in log_text
    assert torch.load(other / "checkpoint.pt", weights_only=True)["nimg"] == 16


def test_path_length_regulariser_trains_resumes_and_is_stored(tmp_path, tiny_config):
    cfg = config(tmp_path, 0.016, tiny_config)
    cfg.pl_weight, cfg.pl_interval = 2.0, 2
    trainer = Trainer(cfg, log=lambda m: None)
    stats = [trainer.train_step() for _ in range(2)]
    assert "pl" in stats[0] and "pl" not in stats[1]  # lazy: every pl_interval-th G step
    assert float(trainer.pl_mean) > 0  # starts at the first measured length, not at zero
    trainer.save()
    again = Trainer(cfg, log=lambda m: None)
    assert again.resume() and torch.equal(again.pl_mean, trainer.pl_mean)


def test_a_signal_ends_the_step_and_writes_a_checkpoint(tmp_path, tiny_config):
    import os
    import signal

    class KilledAfterTwoSteps(Trainer):
        def train_step(self):
            stats = super().train_step()
            if self.step == 2:
                os.kill(os.getpid(), signal.SIGTERM)  # as `kill` or a shutting-down machine sends it
            return stats

    logs = []
    before = signal.getsignal(signal.SIGTERM)
    trainer = KilledAfterTwoSteps(config(tmp_path, 1000.0, tiny_config), log=logs.append)
    trainer.run()
    assert trainer.step == 2 and trainer.nimg == 8
    assert torch.load(tmp_path / "checkpoint.pt", weights_only=True)["nimg"] == 8
    assert any("stopped by SIGTERM at 0.0 kimg" in m for m in logs)
    assert signal.getsignal(signal.SIGTERM) is before  # the handler is the caller's again


def test_a_second_signal_interrupts_at_once(tmp_path, tiny_config):
    import os
    import signal

    import pytest

    class KilledTwice(Trainer):
        def train_step(self):
            stats = super().train_step()
            os.kill(os.getpid(), signal.SIGTERM)
            os.kill(os.getpid(), signal.SIGTERM)  # before the loop could save: for a save that hangs
            return stats

    before = signal.getsignal(signal.SIGTERM)
    with pytest.raises(KeyboardInterrupt, match="second SIGTERM"):
        KilledTwice(config(tmp_path, 1000.0, tiny_config), log=lambda m: None).run()
    assert signal.getsignal(signal.SIGTERM) is before


def test_max_minutes_stops_early_with_a_checkpoint(tmp_path, tiny_config):
    cfg = config(tmp_path, 1000.0, tiny_config)  # far more images than it will see
    cfg.max_minutes = 1e-9
    trainer = Trainer(cfg, log=lambda m: None)
    trainer.run()
    assert trainer.nimg < 1000 * 1000
    assert torch.load(tmp_path / "checkpoint.pt", weights_only=True)["nimg"] == trainer.nimg


def test_cli_mapping_layers_shape_a_new_run_and_are_refused_on_resume(tmp_path, capsys):
    from latentlab.cli import EXIT_USER, main

    common = ["train-generator", "--out", str(tmp_path), "--batch", "2", "--threads", "1", "--kimg", "0.002",
              "--ckpt-minutes", "60", "--grid-minutes", "60"]
    assert main(common + ["--mapping-layers", "8"]) == 0
    state = torch.load(tmp_path / "checkpoint.pt", weights_only=True)
    assert json.loads(state["train_config"])["generator"]["mapping_layers"] == 8
    assert "mapping_net.fc7.weight" in state["G"] and "mapping_net.fc8.weight" not in state["G"]
    assert main(common + ["--mapping-layers", "4"]) == EXIT_USER
    assert "resumed run keeps" in capsys.readouterr().err


def test_eye_critic_joins_a_resumed_run_trains_and_is_stored(tmp_path, tiny_config):
    Trainer(config(tmp_path, 0.008, tiny_config), log=lambda m: None).run()  # a run without it
    cfg = config(tmp_path, 0.016, tiny_config)
    cfg.eye_weight, cfg.eye_rampup_kimg, cfg.eye_lr = 1.0, 0.008, 0.004
    trainer = Trainer(cfg, log=lambda m: None)
    assert trainer.resume() and trainer.eye_start == 8  # a fresh critic, ramped in from the resumed count
    assert abs(trainer.opt_d_eye.param_groups[0]["lr"] - 0.004 * 2 / 3) < 1e-12  # its own rate (lazy-R1 corrected)
    before = {k: v.clone() for k, v in trainer.D_eye.state_dict().items()}
    stats = trainer.train_step()
    assert {"loss_d_eye", "r1_eye", "loss_g_eye"} <= set(stats)
    assert any(not torch.equal(before[k], v) for k, v in trainer.D_eye.state_dict().items())
    trainer.save()
    again = Trainer(cfg, log=lambda m: None)
    assert again.resume() and again.eye_start == 8
    assert all(torch.equal(v, trainer.D_eye.state_dict()[k]) for k, v in again.D_eye.state_dict().items())
    from latentlab.generator.training import checkpoint_recipe
    assert checkpoint_recipe(tmp_path / "checkpoint.pt")["eye_weight"] == 1.0  # resuming keeps it on


def test_eye_critic_sees_only_the_eye_box():
    from latentlab.generator.discriminator import EyeDiscriminator

    critic = EyeDiscriminator((5, 3, 7, 10))
    img = torch.randn(4, 3, 16, 16)
    changed = img.clone()
    changed[:, :, :5] = 0  # rows above the box
    changed[:, :, :, 13:] = 0  # columns right of it
    assert torch.equal(critic(img), critic(changed))
    changed[:, :, 6, 6] += 1  # a pixel inside it
    assert not torch.equal(critic(img), critic(changed))
    from latentlab.generator.synthetic.renderer import eye_box
    assert EyeDiscriminator(eye_box(256))(torch.zeros(2, 3, 256, 256)).shape == (2,)  # deeper crops get their blocks
