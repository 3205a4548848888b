"""An epoch's mean losses are the mean of its steps' losses, whatever precision a model logs them in."""

import pytest
import torch

from aae.core import catalog
from aae.core.models.aae import AdversarialAutoencoder
from aae.core.training import Trainer


class LogsInBF16(AdversarialAutoencoder):
    """An AAE whose phases also log their loss as a bfloat16 tensor, as a model computing under autocast does."""

    def phase_loss(self, phase, x, labels):
        out = super().phase_loss(phase, x, labels)
        out.logs[f"{phase}_bf16"] = out.loss.detach().to(torch.bfloat16)
        return out


def test_an_epochs_mean_loss_is_the_mean_of_its_steps(small_splits, one_torch_thread):
    config = catalog.build_config("aae", {"latent_dim": 2, "hidden": 32})
    train = catalog.train_config("aae", config, epochs=1, batch_size=4, log_every=1, sample_every=0,
                                 regularization="phases", progress_images=0, validation_images=0, precision="fp32")
    steps = []
    torch.manual_seed(0)
    trainer = Trainer(LogsInBF16(config), small_splits, train,
                      callback=lambda e: steps.append({k: float(v) for k, v in e.losses.items()})
                      if e.kind == "step" else None)
    row = trainer.fit().history[0]
    assert len(steps) == trainer.steps_per_epoch == 150
    # Summed in bf16, 150 losses near 0.7 stall where bf16's spacing passes them (a cycle GAN's history read
    # 0.512 for every epoch); each mean must be its steps' mean to float precision.
    assert {"discriminator_bf16", "generator_bf16"} <= set(row)
    for key in steps[0]:
        assert row[key] == pytest.approx(sum(s[key] for s in steps) / len(steps), rel=1e-3), key
