"""The GAN variants (the conditional GAN and WGAN-GP) beyond the generic tests of tests/test_model_kinds.py:
one epoch each through the command line, the conditional GAN's labels, the WGAN's critic, and the duel."""

from __future__ import annotations

import io

import pytest
import torch
from PIL import Image

from aae.cli import main
from aae.core import catalog
from aae.core.checkpoints import load_checkpoint
from aae.core.models import build_model
from aae.core.models.cgan import ConditionalGANConfig
from aae.core.models.wgan import WGANGPConfig
from aae.core.training import TrainConfig, Trainer

TINY_CGAN = ConditionalGANConfig(latent_dim=8, generator_hidden=(32, 64), disc_channels=8)
TINY_WGAN = WGANGPConfig(latent_dim=8, generator_hidden=(32, 64), critic_channels=8, critic_steps=3)

pytestmark = pytest.mark.usefixtures("one_torch_thread")  # far faster than two threads on a busy 2-core machine


@pytest.mark.parametrize("kind", ["cgan", "wgan-gp"])
def test_one_epoch_on_a_2000_image_slice_writes_a_sample_grid(kind, data_dir, tmp_path):
    out = tmp_path / kind
    assert main(["train", "--recipe", f"{kind}-small", "--epochs", "1", "--train-limit", "2000",
                 "--data-dir", str(data_dir), "--out", str(out), "--quiet"]) == 0
    checkpoint = load_checkpoint(out)
    assert checkpoint.card["kind"] == kind and checkpoint.card["training"]["steps"] == 20
    assert checkpoint.card["training"]["lr"] == catalog.training_defaults(kind)["lr"]  # the kind's own rate
    png = tmp_path / f"{kind}.png"
    assert main(["sample", str(out), "--out", str(png)]) == 0
    grid = Image.open(io.BytesIO(png.read_bytes()))
    assert grid.size[0] > 280 and grid.size[1] > 280  # 10 × 10 digits with borders
    history = checkpoint.card["training"]["history"][-1]
    assert ("wasserstein" in history) if kind == "wgan-gp" else ("disc_acc" in history)


def test_the_conditional_gan_writes_the_label_it_is_given():
    torch.manual_seed(0)
    model = build_model("cgan", TINY_CGAN).eval()
    z = model.sample_latent(1).repeat(10, 1)
    images = model.decode(z, labels=torch.arange(10))
    assert images.shape == (10, 1, 28, 28)
    assert not torch.allclose(images[0], images[1])  # same noise, another label, another image
    styles = model.sample_styles(3, generator=torch.Generator().manual_seed(1))
    grid = model.style_grid(styles)
    assert grid.shape == (30, 1, 28, 28)
    # row r of the grid: noise r written as every class 0..9, the paper's figure 7 layout
    assert torch.allclose(grid[10:20], model.decode(styles[1:2].repeat(10, 1), labels=torch.arange(10)))


def test_the_conditional_discriminator_judges_image_and_label_together():
    torch.manual_seed(0)
    model = build_model("cgan", TINY_CGAN).eval()
    x = torch.rand(4, 1, 28, 28)
    with torch.no_grad():
        same = model.discriminator(x, torch.zeros(4, dtype=torch.long))[0]
        other = model.discriminator(x, torch.ones(4, dtype=torch.long))[0]
    assert not torch.allclose(same, other)  # one image, two labels: two verdicts


def test_the_wgan_critic_takes_several_steps_per_generator_step(small_splits):
    torch.manual_seed(0)
    model = build_model("wgan-gp", TINY_WGAN)
    trainer = Trainer(model, small_splits, TrainConfig(epochs=1, batch_size=50, device="cpu", lr=1e-4))
    x, y = small_splits.train_x[:50], small_splits.train_y[:50]
    trainer.train_step(x, y)
    steps = {name: next(iter(opt.state.values()))["step"].item() for name, opt in trainer.optimizers.items()}
    assert steps == {"critic": 3, "generator": 1}


def test_the_wgan_critic_widens_the_gap_and_its_penalty_is_a_gradient_norm(small_splits):
    torch.manual_seed(0)
    model = build_model("wgan-gp", TINY_WGAN)
    x, y = small_splits.train_x[:64], small_splits.train_y[:64]
    critic = next(p for p in model.phases(1e-3) if p.name == "critic")
    optimizer = torch.optim.Adam(critic.parameters, lr=1e-3, betas=(0.5, 0.9))
    gaps = []
    for _ in range(30):
        out = model.phase_loss("critic", x, y)
        gaps.append(out.logs["wasserstein"])
        optimizer.zero_grad()
        out.loss.backward()
        optimizer.step()
    assert gaps[-1] > gaps[0] + 0.1  # real digits score above the untrained generator's noise
    with torch.no_grad():  # as in validation: the penalty still needs its gradient
        logs = model.phase_loss("critic", x, y).logs
    assert logs["penalty"] >= 0


def test_a_duel_accepts_any_generator_of_the_catalogue(data_dir):
    from aae.app.jobs import DuelJob
    from aae.core.models import AAEConfig

    job = DuelJob(gan_config=TINY_WGAN, aae_config=AAEConfig(latent_dim=2, hidden=16),
                  train_config=TrainConfig(epochs=1, batch_size=100, device="cpu"), frame_every=1,
                  data_dir=data_dir, train_limit=200)
    assert job.gan_kind == "wgan-gp" and job.gan_lr == catalog.training_defaults("wgan-gp")["lr"]
    job.start()
    job.join(60)
    snap = job.snapshot()
    assert snap.status == "done", snap.error
    assert [f.step for f in snap.frames] == [1, 2] and "wasserstein" in snap.frames[-1].gan_losses
    with pytest.raises(ValueError, match="without an encoder"):
        DuelJob(gan_config=AAEConfig(), aae_config=AAEConfig(), train_config=TrainConfig())
