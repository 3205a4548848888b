"""Generative Adversarial Network (Goodfellow et al., 2014) in its classic form: a dense generator
from 100-D noise to 28×28 images and a convolutional discriminator, with the non-saturating loss.

Where the AAE puts its adversary on the code z, the GAN puts it on the image x, and has no encoder.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Literal

import torch
from torch import nn

from aae.core.models.base import CatalogEntry, LatentModel, ModelConfig, Phase, PhaseOutput, setting
from aae.core.models.blocks import (
    IMAGE_DIM,
    IMAGE_SHAPE,
    add_feature_matching,
    discriminator_loss,
    frozen,
    generator_loss,
)
from aae.core.priors import PriorConfig, make_prior


@dataclass(frozen=True)
class GANConfig(ModelConfig):
    latent_dim: int = setting(100, "size of the noise z fed to the generator")
    generator: Literal["dense", "conv"] = setting("dense", "dense: the classic GAN's fully connected generator; "
                                                           "conv: a DCGAN-style convolutional one")
    generator_hidden: tuple[int, ...] = setting((256, 512, 1024), "widths of the dense generator's hidden layers")
    generator_channels: int = setting(64, "conv generator: channels at 7×7 (half as many at 14×14)")
    disc_channels: int = setting(32, "channels of the discriminator's first conv layer, twice as many in the second "
                                     "(64 with the dense generator unless set)")
    prior: PriorConfig = setting(PriorConfig(name="gaussian", std=1.0), "the distribution the noise z is drawn from")
    real_label: float = setting(0.9, "the discriminator's target for real images: below 1 is one-sided label "
                                     "smoothing (Salimans et al., 2016)")
    batch_norm: bool = setting(True, "batch norm in the dense generator's hidden layers (after the first)")
    spectral_norm: bool = setting(True, "spectral normalisation of the discriminator's layers (Miyato et al., 2018) "
                                        "against mode collapse (off with the dense generator unless set)")
    minibatch_std: bool = setting(True, "the discriminator sees the batch's feature spread, so collapsed batches "
                                        "look fake")
    disc_lr_scale: float = setting(1.0, "the discriminator's learning rate as a fraction of the generator's: below 1 "
                                        "keeps a conv discriminator from winning early")
    feature_matching: float = setting(0.0, "weight of the generator's feature-matching term (Salimans et al., 2016); "
                                           "0: off (1 with the dense generator unless set)")

    @classmethod
    def dependent_defaults(cls, options: Mapping[str, Any]) -> dict[str, Any]:
        """Defaults that work (measured, README): the dense generator collapsed onto 5 classes without feature
        matching and drew 9 with it and a plain D; the conv generator drew 10 classes as it is (with spectral norm).
        The dense generator's D has 64 channels: with 32, 5 epochs on 20,000 images drew 6–8 classes (seeds 0, 1, 1
        thread), with 64 (and the rate 1e-3) 8 in each of 7 runs (seeds 0–3 on 1 thread, 0–2 on 2; 2026-12-01)."""
        dense = options.get("generator", "dense") == "dense"
        wider = {"disc_channels": 64} if dense else {}
        return {"feature_matching": 1.0 if dense else 0.0, "spectral_norm": not dense, **wider}

    def training_defaults(self, given: Mapping[str, Any] | None = None) -> dict[str, Any]:
        """Adam's rate for G and D. 2e-4 (DCGAN's) left the dense GAN's 5-epoch samples on 5-7 classes (4 in 10 read
        as 3s); 5e-4 drew 6-9 (seeds 0, 1, on two machines); 1e-3 with D at 64 channels drew 8 in 7 of 7 runs
        (20,000 images, 2026-12-01, README). The shipped recipes pin 2e-4 and their D's 32 channels."""
        return {**super().training_defaults(given), "lr": 1e-3}


class Generator(nn.Module):
    """Noise (B, Z) -> image logits (B, 1, 28, 28), through dense layers with batch norm."""

    def __init__(self, *, latent_dim: int, hidden: tuple[int, ...], batch_norm: bool = True) -> None:
        super().__init__()
        layers: list[nn.Module] = []
        n_in = latent_dim
        for i, n_out in enumerate(hidden):
            layers.append(nn.Linear(n_in, n_out))
            if i > 0 and batch_norm:
                layers.append(nn.BatchNorm1d(n_out))
            layers.append(nn.LeakyReLU(0.2))
            n_in = n_out
        layers.append(nn.Linear(n_in, IMAGE_DIM))
        self.net = nn.Sequential(*layers)

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        return torch.sigmoid(self.net(z)).view(-1, *IMAGE_SHAPE)


class ConvGenerator(nn.Module):
    """Noise (B, Z) -> image (B, 1, 28, 28) with transposed convolutions (Radford et al., 2016, DCGAN)."""

    def __init__(self, *, latent_dim: int, channels: int) -> None:
        super().__init__()
        c = channels
        self.net = nn.Sequential(
            nn.Linear(latent_dim, c * 7 * 7),
            nn.Unflatten(1, (c, 7, 7)),
            nn.BatchNorm2d(c),
            nn.ReLU(),
            nn.ConvTranspose2d(c, c // 2, 4, stride=2, padding=1),  # (B, c/2, 14, 14)
            nn.BatchNorm2d(c // 2),
            nn.ReLU(),
            nn.ConvTranspose2d(c // 2, 1, 4, stride=2, padding=1),  # (B, 1, 28, 28)
        )

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        return torch.sigmoid(self.net(z))


class ImageDiscriminator(nn.Module):
    """Image (B, 1, 28, 28) -> one logit "real": two strided convolutions, then a linear layer.

    With `minibatch_std`, the mean standard deviation of the conv features across the batch is appended
    as one more feature map (Karras et al., 2018): a batch of near-identical fakes then looks fake, which
    gives the generator a reason to keep its samples varied (it counters mode collapse).
    """

    def __init__(self, *, channels: int, spectral_norm: bool = True, minibatch_std: bool = True) -> None:
        super().__init__()
        c = channels
        norm = nn.utils.parametrizations.spectral_norm if spectral_norm else (lambda layer: layer)
        self.features = nn.Sequential(
            norm(nn.Conv2d(1, c, 4, stride=2, padding=1)),  # (B, c, 14, 14)
            nn.LeakyReLU(0.2),
            norm(nn.Conv2d(c, 2 * c, 4, stride=2, padding=1)),  # (B, 2c, 7, 7)
            nn.LeakyReLU(0.2),
        )
        self.minibatch_std = minibatch_std
        self.head = nn.Sequential(
            nn.Flatten(),
            nn.Dropout(0.3),
            norm(nn.Linear((2 * c + int(minibatch_std)) * 7 * 7, 1)),
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.logit_and_features(x)[0]

    def logit_and_features(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """The logit (B,) and the last conv features (B, 2c·7·7) that feature matching compares."""
        h = self.features(2 * x - 1)  # inputs centred on 0 -> (B, 2c, 7, 7)
        features = h.flatten(1)
        if self.minibatch_std:
            spread = h.std(dim=0, correction=0).mean() if h.shape[0] > 1 else h.new_zeros(())
            h = torch.cat([h, spread.expand(h.shape[0], 1, *h.shape[2:])], dim=1)  # (B, 2c + 1, 7, 7)
        return self.head(h).squeeze(1), features


class GAN(LatentModel):
    kind = "gan"
    has_encoder = False

    def __init__(self, config: GANConfig | None = None) -> None:
        config = config or GANConfig()
        if config.feature_matching < 0:
            raise ValueError(f"the feature-matching weight must be 0 or more, not {config.feature_matching}")
        super().__init__(config)
        self.prior = make_prior(config.prior, config.latent_dim)
        if config.generator == "conv":
            self.generator = ConvGenerator(latent_dim=config.latent_dim, channels=config.generator_channels)
        elif config.generator == "dense":
            self.generator = Generator(latent_dim=config.latent_dim, hidden=tuple(config.generator_hidden),
                                       batch_norm=config.batch_norm)
        else:
            raise ValueError(f"unknown generator {config.generator!r}; choose dense or conv")
        self.discriminator = ImageDiscriminator(channels=config.disc_channels, spectral_norm=config.spectral_norm,
                                                minibatch_std=config.minibatch_std)

    @torch.no_grad()
    def decode(self, z: torch.Tensor, labels: torch.Tensor | None = None) -> torch.Tensor:
        return self.generator(z)

    def decoder_network(self) -> nn.Sequential | None:
        return self.generator.net if isinstance(self.generator, Generator) else None  # the conv one: no

    def sample_latent(self, n, labels=None, generator=None):
        z = self.prior.sample(n, generator=generator, device=None if generator is not None else self.device)
        return z.to(self.device)

    def phases(self, lr: float) -> list[Phase]:
        return [
            Phase("discriminator", list(self.discriminator.parameters()), lr * self.config.disc_lr_scale,
                  betas=(0.5, 0.999), role="adversarial"),
            Phase("generator", list(self.generator.parameters()), lr, betas=(0.5, 0.999), role="adversarial"),
        ]

    def phase_loss(self, phase: str, x: torch.Tensor, labels: torch.Tensor) -> PhaseOutput:
        z = self.sample_latent(x.shape[0])
        if phase == "discriminator":
            # (1) Update D: maximise log D(x) + log(1 − D(G(z)))
            with torch.no_grad():
                fake = self.generator(z)
            return PhaseOutput(*discriminator_loss(self.discriminator(x), self.discriminator(fake),
                                                   real_label=self.config.real_label))
        if phase == "generator":
            # (2) Update G: maximise log D(G(z)) (the non-saturating loss); D's weights get no gradient.
            # With feature matching, G also matches the batch mean of D's features on real images, a
            # target that a generator stuck on a few classes cannot meet (Salimans et al., 2016, §3.1).
            with frozen(self.discriminator):
                logit, features = self.discriminator.logit_and_features(self.generator(z))
                loss, logs = generator_loss(logit)
                if self.config.feature_matching > 0:
                    with torch.no_grad():
                        real = self.discriminator.logit_and_features(x)[1]
                    loss, logs = add_feature_matching(loss, logs, self.config.feature_matching, features, real)
                return PhaseOutput(loss, logs)
        raise ValueError(f"unknown phase {phase!r}")

    def inference_modules(self) -> list[nn.Module]:
        return [self.generator]


CATALOG_ENTRIES = (
    CatalogEntry(
        kind="gan", model=GAN, config=GANConfig, label="GAN",
        summary="a generator and an image discriminator, no encoder: the adversary on the images", order=2,
    ),
)
