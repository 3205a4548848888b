"""Adversarial Autoencoder (Makhzani et al., ICLR 2016): an autoencoder whose aggregated posterior q(z)
is matched to a prior p(z) by a discriminator on z, trained per mini-batch in two phases.

(1) Reconstruction: encoder + decoder minimise −log p(x | z).
(2) Regularisation: the discriminator learns to tell z ~ p(z) from z ~ q(z | x), then the
    encoder, as the generator, learns to fool it.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Literal

import torch
from torch import nn
from torch.nn import functional as F

from aae.core.corruption import Corruption, check_corruption, corrupt
from aae.core.models.adversary import plain_mlp_layers, shared_adversary
from aae.core.models.base import CatalogEntry, LatentModel, ModelConfig, Phase, PhaseOutput, adversarial_phases, setting
from aae.core.models.blocks import (
    Decoder,
    Discriminator,
    Encoder,
    discriminator_accuracy,
    discriminator_loss,
    frozen,
    generator_loss,
    reconstruction_loss,
)
from aae.core.priors import IMAGE_PRIOR, PriorConfig, make_prior

EncoderKind = Literal["deterministic", "gaussian", "universal"]


@dataclass(frozen=True)
class AAEConfig(ModelConfig):
    latent_dim: int = setting(8, "size of the code z (the paper's likelihood experiment: 8)")
    hidden: int = setting(1000, "width of the two hidden layers of the encoder, decoder and discriminator "
                                "(the paper: 1000)")
    encoder: EncoderKind = setting("deterministic", "q(z|x): deterministic, a Gaussian posterior, or a universal "
                                                    "approximator (the image plus random noise)")
    noise_dim: int = setting(8, "size of the random noise the universal-approximator encoder takes beside the image")
    prior: PriorConfig = setting(PriorConfig(name="gaussian", std=5.0),
                                 "p(z), the distribution the discriminator pushes the codes onto "
                                 "(the paper's likelihood model: N(0, 5²I))")
    label_regularized: bool = setting(False, "the discriminator also sees the one-hot label, and each image's code is "
                                             "pushed onto its label's part of the prior (mog10, swissroll)")
    n_classes: int = setting(10, "number of classes in the data: the length of the one-hot label")
    recon_loss: Literal["bce", "mse"] = setting("bce", "reconstruction loss: bce (Bernoulli likelihood of the "
                                                       "pixels) or mse (squared error)")
    # 0.1 rather than 0.5, measured on the 2-D Gaussian AAE: at 0.5 the generator phase moved the encoder as far per
    # step as reconstruction (Adam normalises each phase's step) and the classes smeared (kNN 0.52 after 6 epochs of
    # 20,000 images, falling); at 0.1 it moves it 0.4× as far.
    adversarial_lr_scale: float = setting(0.1, "learning rate of the discriminator and of the encoder as generator, "
                                               "as a fraction of the reconstruction rate")
    corruption: Corruption = setting("none", "denoising AAE: the encoder sees images corrupted this way (gaussian, "
                                             "masking, salt_pepper) and the decoder rebuilds them clean")
    corruption_level: float = setting(0.0, "corruption strength in [0, 1]: the Gaussian noise's σ, or the share of "
                                           "pixels hit (0.3 when a corruption is chosen without a level)")

    @classmethod
    def dependent_defaults(cls, options: Mapping[str, Any]) -> dict[str, Any]:
        """A corruption asked for without a level gets 0.3 (the Gaussian noise's σ, or the share of pixels hit)."""
        return {"corruption_level": 0.3 if options.get("corruption", "none") != "none" else 0.0}

    def training_defaults(self, given: Mapping[str, Any] | None = None) -> dict[str, Any]:
        """Shared regularisation: the discriminator learns from the reconstruction pass's codes (19 % fewer
        multiply-adds per step than joint). And an adversary that works for this config:

        A label-regularised AAE must put each digit's codes on that digit's part of the prior, so it needs a
        stronger adversary than the Gaussian AAE. Measured, 3 epochs on 20,000 images, 2 × 400 units, 2-D mog10:
        with weight 1 and D at a tenth of the rate its samples covered 6 classes at confidence 0.68; with D at the
        full rate, weight 5: 7 and 8 classes at 0.85 and 0.76 (seeds 0, 1; the 4s, 7s and 9s were written as other
        digits), weight 10: 10, 9 and 10 classes at 0.88, 0.83, 0.87 (seeds 0, 1, 2; 2026-12-01, one thread).
        A drawn prior (an image) is as hard to fill: codes of 500 test digits against a drawn ring, 6 epochs on
        600 images, MMD² from 3.73 to 2.03 with the Gaussian AAE's settings, to 1.44 with weight 5 and D at the
        full rate. Everything else: weight 1 and the model's own adversarial scale.
        """
        defaults = {**super().training_defaults(given), "regularization": "shared"}
        lr = (given or {}).get("lr", defaults["lr"])
        if self.label_regularized:
            defaults.update(adversarial_weight=10.0, adversarial_lr=lr)
        elif self.prior.name == IMAGE_PRIOR:
            defaults.update(adversarial_weight=5.0, adversarial_lr=lr)
        return defaults


class AdversarialAutoencoder(LatentModel):
    kind = "aae"
    corrupts_inputs = True  # a `corruption` in its config makes it a denoising AAE
    shares_regularization_pass = True  # D can learn from the reconstruction pass's codes (joint_loss)

    def __init__(self, config: AAEConfig | None = None) -> None:
        config = config or AAEConfig()
        check_corruption(config.corruption, config.corruption_level)
        super().__init__(config)
        self.prior = make_prior(config.prior, config.latent_dim)
        if config.label_regularized and not self.prior.supports_labels:
            raise ValueError(
                f"label-regularised training needs a prior with one part per class (mog10 or swissroll), "
                f"not {config.prior.name!r}"
            )
        n_out = 2 * config.latent_dim if config.encoder == "gaussian" else config.latent_dim
        extra = config.noise_dim if config.encoder == "universal" else 0
        self.encoder = Encoder(hidden=config.hidden, n_outputs=n_out, extra_inputs=extra)
        self.decoder = Decoder(latent_dim=config.latent_dim, hidden=config.hidden)
        label_inputs = config.n_classes if config.label_regularized else 0
        self.discriminator = Discriminator(input_dim=config.latent_dim + label_inputs, hidden=config.hidden)

    # -- q(z|x) -----------------------------------------------------------------------------
    def posterior(self, x: torch.Tensor, *, sample: bool) -> torch.Tensor:
        """z for each image (B, D): drawn from q(z|x) if `sample`, else its mean (η = 0 for universal)."""
        kind = self.config.encoder
        if kind == "universal":
            shape = (x.shape[0], self.config.noise_dim)
            eta = torch.randn(shape, device=x.device) if sample else torch.zeros(shape, device=x.device)
            return self.encoder(x, eta)
        out = self.encoder(x)
        if kind == "deterministic":
            return out
        mu, log_var = out.chunk(2, dim=1)  # (B, D) each
        if not sample:
            return mu
        return mu + torch.randn_like(mu) * (0.5 * log_var).exp()  # reparameterisation (Kingma & Welling)

    @torch.no_grad()
    def encode(self, x: torch.Tensor) -> torch.Tensor:
        return self.posterior(x, sample=False)

    @torch.no_grad()
    def decode(self, z: torch.Tensor, labels: torch.Tensor | None = None) -> torch.Tensor:
        return self.decoder(z)

    def decoder_network(self) -> nn.Sequential:
        return self.decoder.net

    def sample_latent(self, n, labels=None, generator=None):
        z = self.prior.sample(n, labels=labels, generator=generator,
                              device=None if generator is not None else self.device)
        return z.to(self.device)

    def _label_input(self, labels: torch.Tensor) -> torch.Tensor | None:
        if not self.config.label_regularized:
            return None
        return F.one_hot(labels, self.config.n_classes).float()

    # -- training ---------------------------------------------------------------------------
    def phases(self, lr: float) -> list[Phase]:
        return adversarial_phases(self.encoder, self.decoder, list(self.discriminator.parameters()), lr,
                                  self.config.adversarial_lr_scale)

    def phase_loss(self, phase: str, x: torch.Tensor, labels: torch.Tensor) -> PhaseOutput:
        # Denoising: every phase encodes a corrupted copy; the reconstruction target stays the clean x.
        x_in = corrupt(x, self.config.corruption, self.config.corruption_level)
        if phase == "reconstruction":
            # (1) −log p(x|z), z ~ q(z|x̃)
            z = self.posterior(x_in, sample=True)
            loss = reconstruction_loss(self.decoder.logits(z), x, self.config.recon_loss)
            return PhaseOutput(loss, {"recon": loss.detach()})
        label_input = self._label_input(labels)
        if phase == "discriminator":
            # (2a) maximise log D(z_prior) + log(1 − D(z_encoder)); the encoder is held fixed
            with torch.no_grad():
                z_fake = self.posterior(x_in, sample=True)
            z_real = self.sample_latent(x.shape[0], labels=labels if self.config.label_regularized else None)
            # One pass of D over both halves (an MLP: each row on its own), fewer and larger matrix products.
            both = torch.cat([z_real, z_fake])
            logits = self.discriminator(both, None if label_input is None else torch.cat([label_input, label_input]))
            return PhaseOutput(*discriminator_loss(*logits.split(x.shape[0])))
        if phase == "generator":
            # (2b) the encoder fools D: non-saturating −log D(z_encoder); D's weights get no gradient
            with frozen(self.discriminator):
                return PhaseOutput(*generator_loss(self.discriminator(self.posterior(x_in, sample=True), label_input)))
        raise ValueError(f"unknown phase {phase!r}")

    def joint_loss(self, phase: str, joined: tuple[tuple[str, float], ...], x: torch.Tensor,
                   labels: torch.Tensor, partners: tuple[str, ...] = ()) -> PhaseOutput:
        """Reconstruction with the generator's loss joined (joint regularisation): one pass of the encoder serves
        both terms, as one code z ~ q(z|x̃) serves both in the paper's objective, so the encoder runs forward and
        backward once instead of twice (about a fifth of the step's arithmetic).

        With the discriminator as a partner (shared regularisation, `aae train`'s default for the AAE) the same
        pass serves D's step too: D runs once over [z ~ p(z); the codes z just made] and its loss comes back in
        `partner_losses`. D then learns on the codes of the encoder before this step moved it, where the paper's
        order shows it the codes after; pythae's Adversarial_AE does the same. This saves the encoder's second
        forward and D's forward over the codes, 14 % of the step's multiply-adds; with a plain MLP for D its two
        losses come from one node (aae.core.models.adversary) whose single descent through D serves both, 5 % more.
        The reconstruction + generator loss reaches the encoder and decoder only (D's weights get none of it, as
        under `frozen`) and D's loss D only. Other combinations: the sum."""
        if phase != "reconstruction" or [name for name, _ in joined] != ["generator"] \
                or partners not in ((), ("discriminator",)):
            return super().joint_loss(phase, joined, x, labels, partners)
        x_in = corrupt(x, self.config.corruption, self.config.corruption_level)
        z = self.posterior(x_in, sample=True)
        recon = reconstruction_loss(self.decoder.logits(z), x, self.config.recon_loss)
        label_input = self._label_input(labels)
        if not partners:
            with frozen(self.discriminator):
                gen, gen_logs = generator_loss(self.discriminator(z, label_input))
            return PhaseOutput(recon + joined[0][1] * gen, {"recon": recon.detach(), **gen_logs})
        z_real = self.sample_latent(x.shape[0], labels=labels if self.config.label_regularized else None)
        layers = plain_mlp_layers(self.discriminator.net)
        if layers is not None:
            # One node for both losses, its backward written out: D's gradient descent serves the encoder's too
            # (aae.core.models.adversary), and the engine back-propagates the sum once (routed).
            if label_input is not None:
                z_real, z = torch.cat([z_real, label_input], 1), torch.cat([z, label_input], 1)
            gen, disc, logit_real, logit_fake = shared_adversary(layers, z_real, z)
            logs = {"recon": recon.detach(), "gen": gen.detach(), "disc": disc.detach(),
                    "disc_acc": discriminator_accuracy(logit_real, logit_fake)}
            return PhaseOutput(recon + joined[0][1] * gen, logs, partner_losses={"discriminator": disc}, routed=True)
        logits = self.discriminator(torch.cat([z_real, z]),
                                    None if label_input is None else torch.cat([label_input, label_input]))
        logit_real, logit_fake = logits.split(x.shape[0])
        gen, gen_logs = generator_loss(logit_fake)
        disc, disc_logs = discriminator_loss(logit_real, logit_fake)
        return PhaseOutput(recon + joined[0][1] * gen, {"recon": recon.detach(), **gen_logs, **disc_logs},
                           partner_losses={"discriminator": disc})

    def inference_modules(self) -> list[nn.Module]:
        """What decoding and encoding need; the discriminator matters only for training."""
        return [self.encoder, self.decoder]


CATALOG_ENTRIES = (
    CatalogEntry(
        kind="aae", model=AdversarialAutoencoder, config=AAEConfig, label="AAE (adversarial autoencoder)",
        summary="an autoencoder whose codes a discriminator pushes onto a prior of your choice", order=0,
    ),
)
