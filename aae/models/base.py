"""The contract every Latent Lab model keeps, so one trainer and one checkpoint format serve them all.

A model owns its networks and computes its own losses; the trainer owns the optimisers.
Training one mini-batch is a list of *phases*: each phase names the parameters it updates
(one optimiser per phase) and the model computes that phase's loss. The AAE has three
(reconstruction, discriminator, generator), the VAE one (elbo), the GAN two.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any, ClassVar, Literal

import torch
from torch import nn

PhaseRole = Literal["reconstruction", "adversarial", "supervised"]


@dataclass(frozen=True)
class Phase:
    """One optimiser step per mini-batch: which parameters it moves, how fast, and what kind of step it is.

    `role` tells the engine which of the paper's optimiser settings applies (aae.training.TrainConfig):
    reconstruction (and the VAE's ELBO), adversarial (discriminators and encoders-as-generators), or
    supervised (a classification loss on labels).
    """

    name: str
    parameters: list[nn.Parameter]
    lr: float
    betas: tuple[float, float] = (0.9, 0.999)  # Adam's; adversarial phases use (0.5, 0.999) as DCGAN does
    role: PhaseRole = "reconstruction"
    # Other phases' losses added to this one's, with weights: how the engine runs joint regularisation.
    joined: tuple[tuple[str, float], ...] = ()


@dataclass
class PhaseOutput:
    """A phase's loss (the scalar to back-propagate) and the numbers worth logging."""

    loss: torch.Tensor
    logs: dict[str, float] = field(default_factory=dict)


class LatentModel(nn.Module):
    """Base of every model: a config, phases, a loss per phase, and the latent API the app uses.

    Subclasses set `kind` (the name stored in checkpoint cards) and implement
    `phases`, `phase_loss`, `decode`, and where they have one, `encode`.
    """

    kind: ClassVar[str] = "base"
    has_encoder: ClassVar[bool] = True
    conditional: ClassVar[bool] = False  # True where decode() writes `labels` as the content (style models)

    def __init__(self, config: Any) -> None:
        super().__init__()
        self.config = config

    # -- training ---------------------------------------------------------------------------
    def phases(self, lr: float) -> list[Phase]:
        raise NotImplementedError

    def prepare_training(self, splits: Any, seed: int) -> dict[str, Any]:
        """Called by the trainer once the model and data are on the device (e.g. to pick a labelled subset)."""
        return {}

    def phase_loss(self, phase: str, x: torch.Tensor, labels: torch.Tensor) -> PhaseOutput:
        """Loss of `phase` on a batch `x` (B, 1, 28, 28) in [0, 1] with `labels` (B,)."""
        raise NotImplementedError

    # -- latent space -----------------------------------------------------------------------
    @property
    def latent_dim(self) -> int:
        return self.config.latent_dim

    @property
    def device(self) -> torch.device:
        return next(self.parameters()).device

    def encode(self, x: torch.Tensor) -> torch.Tensor:
        """The code of each image (B, 1, 28, 28) -> (B, latent_dim); the posterior mean where stochastic."""
        raise NotImplementedError(f"a {self.kind} model has no encoder")

    def decode(self, z: torch.Tensor, labels: torch.Tensor | None = None) -> torch.Tensor:
        """Images (B, 1, 28, 28) in [0, 1] from codes (B, latent_dim)."""
        raise NotImplementedError

    def sample_latent(
        self, n: int, labels: torch.Tensor | None = None, generator: torch.Generator | None = None
    ) -> torch.Tensor:
        """`n` codes from the model's prior (n, latent_dim), on the model's device."""
        raise NotImplementedError

    @torch.no_grad()
    def sample(
        self, n: int, labels: torch.Tensor | None = None, generator: torch.Generator | None = None
    ) -> torch.Tensor:
        """`n` generated images (n, 1, 28, 28): prior samples pushed through the decoder."""
        z = self.sample_latent(n, labels=labels, generator=generator)
        return self.decode(z, labels=labels)

    @torch.no_grad()
    def reconstruct(self, x: torch.Tensor, labels: torch.Tensor | None = None) -> torch.Tensor:
        return self.decode(self.encode(x), labels=labels)

    def config_dict(self) -> dict[str, Any]:
        return asdict(self.config)


def adversarial_phases(
    encoder: nn.Module, decoder: nn.Module, adversaries: list[nn.Parameter], lr: float, adversarial_scale: float
) -> list[Phase]:
    """The AAE's three phases per mini-batch: reconstruction (encoder + decoder), the discriminator(s),
    then the encoder as generator; the last two at `adversarial_scale` × lr with DCGAN's betas."""
    adv_lr = lr * adversarial_scale
    return [
        Phase("reconstruction", [*encoder.parameters(), *decoder.parameters()], lr),
        Phase("discriminator", list(adversaries), adv_lr, betas=(0.5, 0.999), role="adversarial"),
        Phase("generator", list(encoder.parameters()), adv_lr, betas=(0.5, 0.999), role="adversarial"),
    ]
