"""The contract every Latent Lab model keeps, so one trainer and one checkpoint format serve them all.

A model owns its networks and computes its own losses; the trainer owns the optimisers.
Training one mini-batch is a list of *phases*: each phase names the parameters it updates
(one optimiser per phase) and the model computes that phase's loss. The AAE has three
(reconstruction, discriminator, generator), the VAE one (elbo), the GAN two.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import asdict, dataclass, field
from typing import Any, ClassVar, Literal

import torch
from torch import nn

PhaseRole = Literal["reconstruction", "adversarial", "supervised"]


def setting(default: Any, help: str, *, flag: str | None = None) -> Any:
    """A config field declared once with its user help: `latent_dim: int = setting(8, "code size")`.

    `help` is what the Train page's tooltip and `aae train --help` show (one line for users: no history, no
    file or function names). `flag` is a shorter command-line name where the field's own is long
    (`flag="clusters"` for n_categories)."""
    metadata = {"help": help}
    if flag is not None:
        metadata["flag"] = flag
    return field(default=default, metadata=metadata)



class ModelConfig:
    """Base of every model's config dataclass: besides its fields, the defaults that depend on the kind or on other
    options, so each kind declares all of its defaults in one place, its config. `aae train`, the Train page, jobs
    and recipes all resolve through them (aae.core.catalog.build_config and train_config)."""

    @classmethod
    def dependent_defaults(cls, options: Mapping[str, Any]) -> dict[str, Any]:
        """Fields whose default depends on the other options set (`options`: field name → value; a prior as its
        PriorConfig). What this returns fills only the fields left unset: options set always win."""
        return {}

    def training_defaults(self, given: Mapping[str, Any] | None = None) -> dict[str, Any]:
        """The training options (TrainConfig fields) a model of this config trains with unless `given` sets them:
        its rate, its batch, its regularisation and its adversary. A default may follow an option given (an
        adversary's rate may follow the rate given). These are the kinds' that do not say otherwise: the paper's
        batch of 100, a rate of 1e-3, joint regularisation, the adversary at weight 1 and the model's own scale."""
        return {"lr": 1e-3, "batch_size": 100, "regularization": "joint", "adversarial_weight": 1.0}


def writes_digits(model: LatentModel | type[LatentModel]) -> bool:
    """Whether `model` (or its class) writes a style as each digit on demand, the Style & content grid: its
    content is the class. Where `aae eval` scores that grid (style_grid_accuracy)."""
    return model.conditional and model.uses_labels and hasattr(model, "style_grid")

@dataclass(frozen=True)
class Phase:
    """One optimiser step per mini-batch: which parameters it moves, how fast, and what kind of step it is.

    `role` tells the engine which of the paper's optimiser settings applies (aae.core.training.TrainConfig):
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
    repeats: int = 1  # optimiser steps of this phase per mini-batch (a WGAN's critic: 5), each on fresh noise
    # Phases whose step is taken from this phase's forward pass (the engine's shared regularisation): the model
    # returns each one's loss in PhaseOutput.partner_losses, and each loss is back-propagated to its own phase's
    # parameters alone and stepped by its own optimiser, right after this phase's step.
    partners: tuple[Phase, ...] = ()


@dataclass
class PhaseOutput:
    """A phase's loss (the scalar to back-propagate) and the numbers worth logging.

    Logs are detached 0-d tensors, not Python floats: reading a float off a GPU tensor waits for the GPU, and
    a step of every phase did that several times. The trainer turns them into floats only when it reports.
    """

    loss: torch.Tensor
    logs: dict[str, torch.Tensor | float] = field(default_factory=dict)
    # Under shared regularisation: each partner phase's loss, from the same forward pass (see Phase.partners).
    # The engine back-propagates `loss` to this phase's parameters only, then each of these to its phase's.
    partner_losses: dict[str, torch.Tensor] = field(default_factory=dict)
    # True when the model has already routed each loss's gradient to its own phase's parameters alone (the AAE's
    # shared pass, aae.core.models.adversary): the engine then back-propagates the sum of the losses once.
    routed: bool = False


class LatentModel(nn.Module):
    """Base of every model: a config, phases, a loss per phase, and the latent API the app uses.

    Subclasses set `kind` (the name stored in checkpoint cards) and implement
    `phases`, `phase_loss`, `decode`, and where they have one, `encode`.
    """

    kind: ClassVar[str] = "base"
    # Capabilities, declared here and read by the catalogue, metrics, pages and jobs (never probed):
    has_encoder: ClassVar[bool] = True  # encode() maps images to codes
    conditional: ClassVar[bool] = False  # True where decode() writes `labels` as the content (style models)
    categorical: ClassVar[bool] = False  # category_probs() gives q(y | x) over n_content categories
    uses_labels: ClassVar[bool] = False  # categorical y is the class (semi-supervised), not a clustering
    generates: ClassVar[bool] = True  # sample() draws images from a prior (False: the classifier)
    corrupts_inputs: ClassVar[bool] = False  # its config may ask for denoising (config.corruption)
    # A style space W (StyleGAN): mapping(z) → w, synthesize(w per layer), mix, truncate, w_avg, n_style_layers.
    has_style_space: ClassVar[bool] = False
    translates: ClassVar[bool] = False  # translate(x, direction) maps images between two domains (CycleGAN)
    # Its discriminator can learn from the codes of the reconstruction pass (the engine's `shared`
    # regularisation, joint_loss with partners): one encoder pass and one D pass per mini-batch.
    shares_regularization_pass: ClassVar[bool] = False

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

    def joint_loss(self, phase: str, joined: tuple[tuple[str, float], ...], x: torch.Tensor,
                   labels: torch.Tensor, partners: tuple[str, ...] = ()) -> PhaseOutput:
        """The loss of `phase` with the `joined` phases' losses added (weighted): one optimiser step of several
        phases (the engine's joint regularisation). This sums their `phase_loss`es; a model whose phases share
        a forward pass (the AAE: reconstruction and generator both encode x) overrides it to run it once.
        `partners` (shared regularisation) needs a model with `shares_regularization_pass`."""
        if partners:
            raise ValueError(f"a {self.kind} cannot take its {', '.join(partners)} step from the {phase} pass; "
                             "train it with joint or phases regularisation")
        out = self.phase_loss(phase, x, labels)
        for name, weight in joined:
            extra = self.phase_loss(name, x, labels)
            out = PhaseOutput(out.loss + weight * extra.loss, {**out.logs, **extra.logs})
        return out

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

    @property
    def denoising(self) -> bool:
        """Trained on corrupted inputs with clean targets (a denoising AAE)."""
        return self.corrupts_inputs and self.config.corruption != "none"

    def inference_modules(self) -> list[nn.Module]:
        """The submodules that encoding, decoding and sampling need (checkpoints can leave the rest out)."""
        return list(self.children())

    def decoder_network(self) -> nn.Sequential | None:
        """Where `decode(z)` is sigmoid(this network(z)) made of Linear, ReLU, LeakyReLU and BatchNorm1d layers
        only, the network, so a browser can run it (aae.app.explore.dense_layers); None for anything else (a
        conditional or convolutional decoder)."""
        return None


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


@dataclass(frozen=True)
class CatalogEntry:
    """One model kind as the rest of Latent Lab sees it: declared once, next to the model (`CATALOG_ENTRIES`).

    The CLI's `--model` choices, the Train page, jobs, the Home cards and `aae eval` read these entries
    (aae.core.catalog), so a new model is one module with its model, config and entry.
    """

    kind: str  # the name in checkpoint cards and on the command line
    model: type[LatentModel]
    # Its frozen config dataclass (a ModelConfig): every field is an option of `aae train` and the Train page, and
    # its methods give the kind's defaults (rate, batch, the defaults that depend on other options).
    config: type[ModelConfig]
    label: str  # for people: "AAE (adversarial autoencoder)"
    summary: str  # one line: what it is and what it shows
    order: int = 100  # position in lists (lower first)
    priors: tuple[str, ...] | None = None  # the priors its code accepts; None: every prior
    trainable: bool = True  # offered by the Train page (the CLI trains every kind)

    @property
    def capabilities(self) -> dict[str, bool]:
        m = self.model
        return {"style_space": m.has_style_space,
                "encoder": m.has_encoder, "conditional": m.conditional, "categorical": m.categorical,
                "generator_only": m.generates and not m.has_encoder, "generates": m.generates,
                "uses_labels": m.uses_labels, "denoising": m.corrupts_inputs, "translates": m.translates}

    @property
    def metrics(self) -> tuple[str, ...]:
        """The `aae eval` metrics that apply to this kind (keys of aae.core.metrics.evaluate.METRICS)."""
        m = self.model
        if m.translates:  # aae.core.metrics.translation, each way between its two domains
            return tuple(f"{key}_{way}" for way in ("ab", "ba") for key in (
                "class_preservation", "class_preservation_untranslated", "class_preservation_matched",
                "translation_confidence", "translation_frechet", "cycle_error"))
        if not m.generates:
            return ("test_accuracy",)
        keys = ["parzen_ll", "parzen_se", "parzen_sigma", "frechet", "modes_covered", "coverage_entropy",
                "sample_confidence"]
        keys += ["ppl", "ppl_w"] if m.has_style_space else ["ppl"]  # perceptual path length, with a classifier
        if m.categorical:
            keys += ["test_error"] if m.uses_labels else ["cluster_error", "cluster_error_majority"]
        if writes_digits(m):
            keys += ["style_grid_accuracy"]  # with a classifier
        if m.corrupts_inputs:
            keys += ["denoise_mse", "noisy_mse"]  # where the config corrupts its inputs
        if m.has_encoder:
            keys += ["mmd", "knn_accuracy", "silhouette", "recon_bce", "recon_mse"]
        return tuple(keys)
