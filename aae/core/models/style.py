"""Style and content: AAEs whose decoder takes a one-hot content vector y beside the code z.

The decoder models p(x | y, z). When y carries the digit's class, z is left to carry everything
else — slant, stroke width, size: the *style* (Makhzani et al., 2016, section 5, figure 7).
Fix z and sweep y and one style is written as every digit.

`StyleContentAAE` holds what all such models share (an encoder, a Gaussian adversary on z, decoding with a
given class) and is composed with a readout, the part that says how the decoder reads y and z: here
`ContentReadout` (y beside z), or the 2-D map's cluster heads (aae.core.models.categorical.HeadsReadout).
`SupervisedAAE` is the paper's supervised model, which feeds the true label to the decoder. The
semi-supervised, clustering and 2-D map AAEs (aae.core.models.categorical) infer y instead; they differ only in
what they declare (kind, whether y is the class, readout), not in methods of their own.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, ClassVar, Literal

import torch
from torch import nn
from torch.nn import functional as F

from aae.core.models.base import CatalogEntry, LatentModel, ModelConfig, Phase, PhaseOutput, adversarial_phases, setting
from aae.core.models.blocks import (
    Decoder,
    Discriminator,
    Encoder,
    discriminator_loss,
    frozen,
    generator_loss,
    reconstruction_loss,
)
from aae.core.priors import PriorConfig, make_prior


class ContentReadout:
    """How the decoder reads a code: the style z beside a one-hot content y, p(x | y, z).

    A part the style-and-content models are composed of (`StyleContentAAE.readout`); the 2-D map's
    `aae.core.models.categorical.HeadsReadout` is the other. A readout holds no weights itself: it builds the decoder
    (and any extra modules, registered on the model under their names) and says how codes meet it.
    """

    module_names: tuple[str, ...] = ()  # the names of the modules `extra_modules` builds

    def decoder(self, config, n_content: int) -> Decoder:
        return Decoder(latent_dim=config.latent_dim, hidden=config.hidden, extra_inputs=n_content)

    def extra_modules(self, config, n_content: int) -> dict[str, nn.Module]:
        """Modules of the readout's own, by the names in `module_names` (registered on the model)."""
        return {}

    def code(self, model: StyleContentAAE, y: torch.Tensor, z: torch.Tensor) -> torch.Tensor:
        """What `encode` gives for content probabilities y (B, K) and style z (B, D): the style."""
        return z

    def logits(self, model: StyleContentAAE, y: torch.Tensor, z: torch.Tensor) -> torch.Tensor:
        """The decoder's pixel logits for content y (B, K) (probabilities or one-hot) and style z."""
        return model.decoder.logits(z, y)

    def decode(self, model: StyleContentAAE, z: torch.Tensor, labels: torch.Tensor | None) -> torch.Tensor:
        """Images from codes as `encode` gives them (here styles), written as `labels` (cycled when None)."""
        return self.decode_content(model, z, labels)

    def decode_content(self, model: StyleContentAAE, z: torch.Tensor, labels: torch.Tensor | None) -> torch.Tensor:
        """Styles `z` (B, D) written as the classes or clusters `labels` (B,) (cycled when None)."""
        return model.decoder(z, model.content(labels, len(z)))

    def sample_latent(self, model: StyleContentAAE, n: int, labels, generator) -> torch.Tensor:
        return model.sample_styles(n, generator=generator)

    def parameters(self, model: StyleContentAAE) -> list[nn.Parameter]:
        """Weights of the readout's own modules, trained with the reconstruction."""
        return []

    def penalty(self, model: StyleContentAAE) -> tuple[torch.Tensor, dict[str, torch.Tensor]] | None:
        """A term of the readout's own added to the reconstruction loss (with its logs), or None."""
        return None


class StyleContentAAE(LatentModel):
    """The models with a content y and a style code z (supervised, semi-supervised, clustering, the 2-D map),
    composed of an encoder, a style adversary on z with its Gaussian prior, and a readout (`ContentReadout` or
    the 2-D map's cluster heads) that says how the decoder reads y and z."""

    conditional: ClassVar[bool] = True  # decode() reads `labels` as the content
    readout: ClassVar[ContentReadout] = ContentReadout()

    def __init__(self, config, n_content: int, encoder_outputs: int, **encoder_options: Any) -> None:
        super().__init__(config)
        if config.prior.name != "gaussian":
            raise ValueError(f"the style code takes a Gaussian prior, not {config.prior.name!r}")
        self.n_content = n_content
        self.prior = make_prior(config.prior, config.latent_dim)
        self.encoder = Encoder(hidden=config.hidden, n_outputs=encoder_outputs, **encoder_options)
        self.decoder = self.readout.decoder(config, n_content)
        self.style_discriminator = Discriminator(input_dim=config.latent_dim, hidden=config.hidden)
        for name, module in self.readout.extra_modules(config, n_content).items():
            self.add_module(name, module)

    def content(self, labels: torch.Tensor | None, n: int) -> torch.Tensor:
        """One-hot content (n, K) for `labels`; without labels the classes cycle 0, 1, …, K−1, 0, …

        Cycling (rather than drawing) keeps sample sets balanced over the uniform p(y) and repeatable.
        """
        if labels is None:
            labels = torch.arange(n, device=self.device) % self.n_content
        labels = labels.to(self.device)
        if labels.numel() and (labels.min() < 0 or labels.max() >= self.n_content):
            raise ValueError(f"content labels must lie in 0..{self.n_content - 1}")
        return F.one_hot(labels.long(), self.n_content).float()

    @torch.no_grad()
    def decode(self, z: torch.Tensor, labels: torch.Tensor | None = None) -> torch.Tensor:
        """Images from codes `z` (B, D) as `encode` gives them, written as the classes `labels` (B,) where the
        readout takes a content (cycled when None)."""
        return self.readout.decode(self, z.to(self.device), labels)

    @torch.no_grad()
    def decode_content(self, z: torch.Tensor, labels: torch.Tensor | None) -> torch.Tensor:
        """Style codes `z` (B, D) written as the classes or clusters `labels` (B,) (cycled when None)."""
        return self.readout.decode_content(self, z.to(self.device), labels)

    @torch.no_grad()
    def style_grid(self, styles: torch.Tensor, *, rows: Literal["style", "content"] = "style") -> torch.Tensor:
        """The paper's figure: every style (S, D) written as every class, row by row.

        rows="style": S rows of K images (row r = style r as class 0..K−1), (S·K, 1, 28, 28);
        rows="content": K rows of S images (row k = class or cluster k in each style), (K·S, 1, 28, 28).
        """
        styles = styles.to(self.device)
        k, s = self.n_content, len(styles)
        if rows == "style":
            z = styles.repeat_interleave(k, dim=0)  # (S·K, D): each style K times
            labels = torch.arange(k, device=self.device).repeat(s)
        else:
            z = styles.repeat(k, 1)  # (K·S, D): all styles, once per content
            labels = torch.arange(k, device=self.device).repeat_interleave(s)
        return self.decode_content(z, labels)

    def sample_latent(self, n, labels=None, generator=None):
        return self.readout.sample_latent(self, n, labels, generator)

    def sample_styles(self, n: int, generator: torch.Generator | None = None) -> torch.Tensor:
        """`n` style codes z from the style prior (n, D): what `style_grid` and `decode_content` take.

        The same as `sample_latent` unless the readout places codes elsewhere (the 2-D map adds its heads).
        """
        z = self.prior.sample(n, generator=generator, device=None if generator is not None else self.device)
        return z.to(self.device)

    def _style_adversary(self, z_fake: torch.Tensor) -> PhaseOutput:
        """Discriminator loss on z: N(0, σ²I) samples against the encoder's codes (held fixed)."""
        # From the style prior, not sample_latent: the 2-D map's sample_latent adds its cluster heads, and
        # its style z must still match N(0, σ²I).
        z_real = self.sample_styles(len(z_fake))
        loss, logs = discriminator_loss(self.style_discriminator(z_real), self.style_discriminator(z_fake.detach()))
        return PhaseOutput(loss, {"disc_z": logs["disc"], "disc_z_acc": logs["disc_acc"]})

    def inference_modules(self) -> list[nn.Module]:
        return [self.encoder, self.decoder, *(self.get_submodule(name) for name in self.readout.module_names)]


@dataclass(frozen=True)
class SupervisedAAEConfig(ModelConfig):
    # Small on purpose: a 5- or 10-D code had room for the class too and the decoder learnt to ignore the label
    # (measured: 10 epochs, kNN accuracy of z 0.67 at 5-D vs 0.27 at 2-D).
    latent_dim: int = setting(2, "size of the style code z: small, so the digit's identity comes from the label")
    hidden: int = setting(1000, "width of the two hidden layers of the encoder, decoder and discriminator "
                                "(the paper: 1000)")
    prior: PriorConfig = setting(PriorConfig(name="gaussian", std=1.0),
                                 "p(z), the distribution the discriminator pushes the style codes onto")
    n_classes: int = setting(10, "number of classes: the length of the one-hot label the decoder gets")
    recon_loss: Literal["bce", "mse"] = setting("bce", "reconstruction loss: bce (Bernoulli likelihood of the "
                                                       "pixels) or mse (squared error)")
    # 0.1 rather than 0.5, as the AAE's: at 0.5 the generator phase moved the encoder as far per step as
    # reconstruction and the classes smeared.
    adversarial_lr_scale: float = setting(0.1, "learning rate of the discriminator and of the encoder as generator, "
                                               "as a fraction of the reconstruction rate")


class SupervisedAAE(StyleContentAAE):
    """Encoder x -> z; decoder (one-hot label, z) -> x; an adversary matches q(z) to the Gaussian prior.

    Because the label reaches the decoder directly, the code has no reason to carry the class, and
    the adversary makes it carry as little as it can: z becomes the style.
    """

    kind = "supervised"
    uses_labels = True  # its content (the decoder's label) is the class

    def __init__(self, config: SupervisedAAEConfig | None = None) -> None:
        config = config or SupervisedAAEConfig()
        super().__init__(config, n_content=config.n_classes, encoder_outputs=config.latent_dim)

    @torch.no_grad()
    def encode(self, x: torch.Tensor) -> torch.Tensor:
        return self.encoder(x)

    def phases(self, lr: float) -> list[Phase]:
        return adversarial_phases(self.encoder, self.decoder, list(self.style_discriminator.parameters()), lr,
                                  self.config.adversarial_lr_scale)

    def phase_loss(self, phase: str, x: torch.Tensor, labels: torch.Tensor) -> PhaseOutput:
        if phase == "reconstruction":
            z = self.encoder(x)
            logits = self.readout.logits(self, F.one_hot(labels, self.n_content).float(), z)
            loss = reconstruction_loss(logits, x, self.config.recon_loss)
            return PhaseOutput(loss, {"recon": loss.detach()})
        if phase == "discriminator":
            with torch.no_grad():
                z_fake = self.encoder(x)
            return self._style_adversary(z_fake)
        if phase == "generator":
            with frozen(self.style_discriminator):
                loss, _ = generator_loss(self.style_discriminator(self.encoder(x)))
            return PhaseOutput(loss, {"gen": loss.detach()})
        raise ValueError(f"unknown phase {phase!r}")


CATALOG_ENTRIES = (
    CatalogEntry(
        kind="supervised", model=SupervisedAAE, config=SupervisedAAEConfig, label="supervised AAE (label + style)",
        summary="the decoder gets the label, the code learns the style (the paper's figure 7)", order=10,
        priors=("gaussian",),
    ),
)
