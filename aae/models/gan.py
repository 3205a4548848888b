"""Generative Adversarial Network (Goodfellow et al., 2014) as the seeds describe it: a dense generator
from 100-D noise to 28×28 images and a convolutional discriminator, with the non-saturating loss.

Where the AAE puts its adversary on the code z, the GAN puts it on the image x, and has no encoder.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import nn
from torch.nn import functional as F

from aae.models.base import LatentModel, Phase, PhaseOutput
from aae.models.blocks import IMAGE_DIM, IMAGE_SHAPE, set_requires_grad
from aae.priors import PriorConfig, make_prior


@dataclass(frozen=True)
class GANConfig:
    latent_dim: int = 100  # the noise z fed to the generator (the seeds: 100-D)
    generator_hidden: tuple[int, ...] = (256, 512, 1024)  # dense layers of the generator, as PyTorch-GAN's gan.py
    disc_channels: int = 64  # channels of the first conv layer; the second has twice as many
    prior: PriorConfig = PriorConfig(name="gaussian", std=1.0)


class Generator(nn.Module):
    """Noise (B, Z) -> image logits (B, 1, 28, 28), through dense layers with batch norm."""

    def __init__(self, *, latent_dim: int, hidden: tuple[int, ...]) -> None:
        super().__init__()
        layers: list[nn.Module] = []
        n_in = latent_dim
        for i, n_out in enumerate(hidden):
            layers.append(nn.Linear(n_in, n_out))
            if i > 0:
                layers.append(nn.BatchNorm1d(n_out))
            layers.append(nn.LeakyReLU(0.2))
            n_in = n_out
        layers.append(nn.Linear(n_in, IMAGE_DIM))
        self.net = nn.Sequential(*layers)

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        return torch.sigmoid(self.net(z)).view(-1, *IMAGE_SHAPE)


class ImageDiscriminator(nn.Module):
    """Image (B, 1, 28, 28) -> one logit "real": two strided convolutions, then a linear layer."""

    def __init__(self, *, channels: int) -> None:
        super().__init__()
        c = channels
        self.net = nn.Sequential(
            nn.Conv2d(1, c, 4, stride=2, padding=1),  # (B, c, 14, 14)
            nn.LeakyReLU(0.2),
            nn.Conv2d(c, 2 * c, 4, stride=2, padding=1),  # (B, 2c, 7, 7)
            nn.LeakyReLU(0.2),
            nn.Flatten(),
            nn.Dropout(0.3),
            nn.Linear(2 * c * 7 * 7, 1),
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.net(2 * x - 1).squeeze(1)  # inputs centred on 0


class GAN(LatentModel):
    kind = "gan"
    has_encoder = False

    def __init__(self, config: GANConfig | None = None) -> None:
        config = config or GANConfig()
        super().__init__(config)
        self.prior = make_prior(config.prior, config.latent_dim)
        self.generator = Generator(latent_dim=config.latent_dim, hidden=tuple(config.generator_hidden))
        self.discriminator = ImageDiscriminator(channels=config.disc_channels)

    @torch.no_grad()
    def decode(self, z: torch.Tensor, labels: torch.Tensor | None = None) -> torch.Tensor:
        return self.generator(z)

    def sample_latent(self, n, labels=None, generator=None):
        z = self.prior.sample(n, generator=generator, device=None if generator is not None else self.device)
        return z.to(self.device)

    def phases(self, lr: float) -> list[Phase]:
        return [
            Phase("discriminator", list(self.discriminator.parameters()), lr, betas=(0.5, 0.999)),
            Phase("generator", list(self.generator.parameters()), lr, betas=(0.5, 0.999)),
        ]

    def phase_loss(self, phase: str, x: torch.Tensor, labels: torch.Tensor) -> PhaseOutput:
        z = self.sample_latent(x.shape[0])
        if phase == "discriminator":
            # (1) Update D: maximise log D(x) + log(1 − D(G(z)))
            with torch.no_grad():
                fake = self.generator(z)
            logit_real, logit_fake = self.discriminator(x), self.discriminator(fake)
            loss = F.binary_cross_entropy_with_logits(logit_real, torch.ones_like(logit_real)) + \
                F.binary_cross_entropy_with_logits(logit_fake, torch.zeros_like(logit_fake))
            accuracy = 0.5 * ((logit_real > 0).float().mean() + (logit_fake < 0).float().mean())
            return PhaseOutput(loss, {"disc": loss.item(), "disc_acc": accuracy.item()})
        if phase == "generator":
            # (2) Update G: maximise log D(G(z)) (the non-saturating loss)
            set_requires_grad(self.discriminator, False)
            try:
                logit_fake = self.discriminator(self.generator(z))
                loss = F.binary_cross_entropy_with_logits(logit_fake, torch.ones_like(logit_fake))
            finally:
                set_requires_grad(self.discriminator, True)
            return PhaseOutput(loss, {"gen": loss.item()})
        raise ValueError(f"unknown phase {phase!r}")

    def inference_modules(self) -> list[nn.Module]:
        return [self.generator]
