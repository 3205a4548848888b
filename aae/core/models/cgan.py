"""The conditional GAN (Mirza & Osindero, 2014), a GAN variant: the label goes to both sides.

The generator writes noise z as the class it is given (z and the one-hot label are its input); the
discriminator judges (image, label) pairs, so an image that looks real but not like its label is fake.
The label enters the discriminator as ten extra input maps (the one-hot label spread over the image), so
its first convolution sees pixels and label together (as in PyTorch-GAN's cgan, with convolutions), and
an auxiliary head names the digit it sees (AC-GAN, Odena et al., 2017): D learns to classify real digits
and G to draw digits that D classifies as their label. Without that head the generator ignored its label
(measured: 1,000 steps on 10,000 images, every column of the grid the same digit, 3 variants tried).
Like the supervised AAE (style and content), it can write one
noise as every digit — but it has no encoder, so it cannot read a digit's style back.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Literal

import torch
from torch import nn
from torch.nn import functional as F

from aae.core.models.base import CatalogEntry, LatentModel, ModelConfig, Phase, PhaseOutput, setting
from aae.core.models.blocks import add_feature_matching, discriminator_loss, frozen, generator_loss
from aae.core.models.gan import Generator
from aae.core.priors import PriorConfig, make_prior


@dataclass(frozen=True)
class ConditionalGANConfig(ModelConfig):
    latent_dim: int = setting(100, "size of the noise z fed to the generator")
    n_classes: int = setting(10, "number of labels the generator writes and the discriminator checks")
    generator_hidden: tuple[int, ...] = setting((256, 512, 1024), "widths of the dense generator's hidden layers")
    disc_channels: int = setting(32, "channels of the discriminator's first conv layer, twice as many in the second")
    prior: PriorConfig = setting(PriorConfig(name="gaussian", std=1.0), "the distribution the noise z is drawn from")
    real_label: float = setting(0.9, "the discriminator's target for real (image, label) pairs: below 1 is "
                                     "one-sided label smoothing")
    spectral_norm: bool = setting(True, "spectral normalisation of the discriminator's layers")
    feature_matching: float = setting(1.0, "weight of the generator's feature-matching term on the batch's real "
                                           "images (Salimans et al., 2016); 0: off")
    auxiliary_classifier: float = setting(1.0, "weight of the auxiliary classifier's cross-entropy (AC-GAN), for the "
                                               "discriminator and the generator; 0: off")

    def training_defaults(self, given: Mapping[str, Any] | None = None) -> dict[str, Any]:
        return {**super().training_defaults(given), "lr": 2e-4}  # DCGAN's Adam rate


class LabelledDiscriminator(nn.Module):
    """(Image (B, 1, 28, 28), label (B,)) -> one logit "a real image of this label", and its last conv features."""

    def __init__(self, *, channels: int, n_classes: int, spectral_norm: bool = True) -> None:
        super().__init__()
        c, self.n_classes = channels, n_classes
        norm = nn.utils.parametrizations.spectral_norm if spectral_norm else (lambda layer: layer)
        self.features = nn.Sequential(
            norm(nn.Conv2d(1 + n_classes, c, 4, stride=2, padding=1)),  # (B, c, 14, 14)
            nn.LeakyReLU(0.2),
            norm(nn.Conv2d(c, 2 * c, 4, stride=2, padding=1)),  # (B, 2c, 7, 7)
            nn.LeakyReLU(0.2),
            nn.Flatten(),
        )
        self.head = nn.Sequential(nn.Dropout(0.3), norm(nn.Linear(2 * c * 7 * 7, 1)))
        # The auxiliary classifier sees the image alone (no label maps): which digit is this?
        self.classifier = nn.Sequential(
            norm(nn.Conv2d(1, c, 4, stride=2, padding=1)), nn.LeakyReLU(0.2),
            norm(nn.Conv2d(c, 2 * c, 4, stride=2, padding=1)), nn.LeakyReLU(0.2),
            nn.Flatten(), norm(nn.Linear(2 * c * 7 * 7, n_classes)),
        )

    def forward(self, x: torch.Tensor, labels: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        maps = F.one_hot(labels, self.n_classes).float()[:, :, None, None].expand(-1, -1, *x.shape[2:])
        features = self.features(torch.cat([2 * x - 1, maps], dim=1))
        return self.head(features).squeeze(1), features

    def classify(self, x: torch.Tensor) -> torch.Tensor:
        """Class logits (B, n_classes) of images alone."""
        return self.classifier(2 * x - 1)


class ConditionalGAN(LatentModel):
    kind = "cgan"
    has_encoder = False
    conditional = True  # decode(z, labels) writes z as the classes `labels`
    uses_labels = True  # its content is the class

    def __init__(self, config: ConditionalGANConfig | None = None) -> None:
        config = config or ConditionalGANConfig()
        super().__init__(config)
        self.n_content = config.n_classes
        self.prior = make_prior(config.prior, config.latent_dim)
        self.generator = Generator(latent_dim=config.latent_dim + config.n_classes, hidden=config.generator_hidden)
        self.discriminator = LabelledDiscriminator(channels=config.disc_channels, n_classes=config.n_classes,
                                                   spectral_norm=config.spectral_norm)

    def _labels(self, labels: torch.Tensor | None, n: int) -> torch.Tensor:
        """`labels` on the device, or the classes cycled 0, 1, …, K−1 (a balanced, repeatable sample set)."""
        if labels is None:
            return torch.arange(n, device=self.device) % self.n_content
        return labels.to(self.device).long()

    def _generate(self, z: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
        return self.generator(torch.cat([z, F.one_hot(labels, self.n_content).float()], dim=1))

    def _judge(self, x: torch.Tensor, labels: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        return self.discriminator(x, labels)

    @torch.no_grad()
    def decode(self, z: torch.Tensor, labels: torch.Tensor | None = None) -> torch.Tensor:
        return self._generate(z, self._labels(labels, len(z)))

    def sample_latent(self, n, labels=None, generator=None):
        z = self.prior.sample(n, generator=generator, device=None if generator is not None else self.device)
        return z.to(self.device)

    def sample_styles(self, n: int, generator: torch.Generator | None = None) -> torch.Tensor:
        return self.sample_latent(n, generator=generator)

    @torch.no_grad()
    def style_grid(self, styles: torch.Tensor, *, rows: Literal["style", "content"] = "style") -> torch.Tensor:
        """Every noise (S, D) written as every class: S rows of K images (or K rows of S with rows="content")."""
        styles = styles.to(self.device)
        k, s = self.n_content, len(styles)
        if rows == "style":
            z, labels = styles.repeat_interleave(k, dim=0), torch.arange(k, device=self.device).repeat(s)
        else:
            z, labels = styles.repeat(k, 1), torch.arange(k, device=self.device).repeat_interleave(s)
        return self._generate(z, labels)

    def phases(self, lr: float) -> list[Phase]:
        return [
            Phase("discriminator", list(self.discriminator.parameters()), lr, betas=(0.5, 0.999),
                  role="adversarial"),
            Phase("generator", list(self.generator.parameters()), lr, betas=(0.5, 0.999), role="adversarial"),
        ]

    def phase_loss(self, phase: str, x: torch.Tensor, labels: torch.Tensor) -> PhaseOutput:
        labels = labels.long()
        z = self.sample_latent(x.shape[0])
        if phase == "discriminator":
            # real (image, its label) pairs against generated ones written as the same labels
            with torch.no_grad():
                fake = self._generate(z, labels)
            loss, logs = discriminator_loss(self._judge(x, labels)[0], self._judge(fake, labels)[0],
                                            real_label=self.config.real_label)
            if self.config.auxiliary_classifier > 0:  # D learns the digits from real images only
                class_logits = self.discriminator.classify(x)
                loss = loss + self.config.auxiliary_classifier * F.cross_entropy(class_logits, labels)
                logs["aux_acc"] = (class_logits.argmax(1) == labels).float().mean().detach()
            return PhaseOutput(loss, logs)
        if phase == "generator":
            with frozen(self.discriminator):
                fake = self._generate(z, labels)
                logit, features = self._judge(fake, labels)
                loss, logs = generator_loss(logit)
                if self.config.auxiliary_classifier > 0:  # G draws digits D reads as their label
                    class_logits = self.discriminator.classify(fake)
                    loss = loss + self.config.auxiliary_classifier * F.cross_entropy(class_logits, labels)
                    logs["label_acc"] = (class_logits.argmax(1) == labels).float().mean().detach()
                if self.config.feature_matching > 0:
                    with torch.no_grad():
                        real = self._judge(x, labels)[1]
                    loss, logs = add_feature_matching(loss, logs, self.config.feature_matching, features, real)
                return PhaseOutput(loss, logs)
        raise ValueError(f"unknown phase {phase!r}")

    def inference_modules(self) -> list[nn.Module]:
        return [self.generator]


CATALOG_ENTRIES = (
    CatalogEntry(
        kind="cgan", model=ConditionalGAN, config=ConditionalGANConfig, label="conditional GAN",
        summary="a GAN told which digit to draw: the label goes to the generator and the discriminator", order=3,
    ),
)
