"""Semi-supervised and clustering AAEs (Makhzani et al., 2016, sections 5–6; the paper's figure 8).

The encoder infers two things from an image: a categorical y (softmax over K values) and a
continuous style z. The decoder rebuilds the image from both. Two adversaries shape them:
one makes y look like one-hot draws from Cat(K) (so the encoder must commit to one value), the
other makes z look like N(0, I) (so z carries no information that y could). Per mini-batch:

    reconstruction   encoder + decoder: −log p(x | y, z)
    discriminator    both adversaries: Cat(K) one-hots vs softmax(y), N(0, I) vs z
    generator        encoder fools both
    classification   (semi-supervised only) encoder: cross-entropy of y on a labelled mini-batch

With K = 10 and a few labels, y becomes the class: a classifier trained mostly without labels.
With K = 16 or 30 and no labels, y becomes a clustering; each cluster is then named after a digit.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, ClassVar, Literal

import torch
from torch import nn
from torch.nn import functional as F

from aae.models.base import Phase, PhaseOutput
from aae.models.blocks import Discriminator, discriminator_loss, frozen, generator_loss, reconstruction_loss
from aae.models.style import StyleContentAAE
from aae.priors import PriorConfig


@dataclass(frozen=True)
class SemiSupervisedAAEConfig:
    latent_dim: int = 4  # the style code z: small, so the digit's identity must go through y (see style.py)
    n_categories: int = 10  # K, the values y can take: the classes here, clusters in the clustering AAE
    hidden: int = 1000  # width of the two hidden layers of encoder, decoder and both discriminators (paper: 1000)
    prior: PriorConfig = PriorConfig(name="gaussian", std=1.0)  # p(z); p(y) is the uniform Cat(K)
    labels_per_class: int | None = 10  # labelled training images per class (10 -> 100 labels); None: all labels
    n_classes: int = 10
    recon_loss: Literal["bce", "mse"] = "bce"
    adversarial_lr_scale: float = 0.5  # the regularisation phases move at this fraction of the base rate
    classification_lr_scale: float = 1.0  # the semi-supervised phase's fraction of the base rate


@dataclass(frozen=True)
class ClusteringAAEConfig(SemiSupervisedAAEConfig):
    latent_dim: int = 2  # smaller still: with no labels, only a tight style code makes y carry the digit
    n_categories: int = 16  # the paper reports 16 and 30 clusters
    labels_per_class: int | None = 0  # no labels: unsupervised


class CategoricalAAE(StyleContentAAE):
    """Shared by the semi-supervised and the clustering AAE; they differ in K and in using labels."""

    uses_labels: ClassVar[bool] = False

    def __init__(self, config: SemiSupervisedAAEConfig) -> None:
        if config.n_categories < 2:
            raise ValueError(f"y needs at least 2 categories, got {config.n_categories}")
        super().__init__(config, n_content=config.n_categories,
                         encoder_outputs=config.n_categories + config.latent_dim)
        self.category_discriminator = Discriminator(input_dim=config.n_categories, hidden=config.hidden)
        self._labelled: tuple[torch.Tensor, torch.Tensor] | None = None

    # -- inference --------------------------------------------------------------------------
    def infer(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """(logits of y (B, K), style z (B, D)) for images x: one encoder pass, two heads."""
        out = self.encoder(x)
        return out[:, :self.n_content], out[:, self.n_content:]

    @torch.no_grad()
    def encode(self, x: torch.Tensor) -> torch.Tensor:
        return self.infer(x)[1]

    @torch.no_grad()
    def category_probs(self, x: torch.Tensor) -> torch.Tensor:
        """q(y | x) (B, K): the class probabilities (semi-supervised) or cluster memberships."""
        return self.infer(x)[0].softmax(dim=1)

    @torch.no_grad()
    def classify(self, x: torch.Tensor) -> torch.Tensor:
        """The most probable y of each image (B,)."""
        return self.infer(x)[0].argmax(dim=1)

    @torch.no_grad()
    def reconstruct(self, x: torch.Tensor, labels: torch.Tensor | None = None) -> torch.Tensor:
        """Decode each image's own inferred y (softmax) and z, as in training."""
        logits, z = self.infer(x)
        return self.decoder(z, logits.softmax(dim=1))

    # -- training ---------------------------------------------------------------------------
    def phases(self, lr: float) -> list[Phase]:
        adv_lr = lr * self.config.adversarial_lr_scale
        adversaries = [*self.category_discriminator.parameters(), *self.style_discriminator.parameters()]
        phases = [
            Phase("reconstruction", [*self.encoder.parameters(), *self.decoder.parameters()], lr),
            Phase("discriminator", adversaries, adv_lr, betas=(0.5, 0.999)),
            Phase("generator", list(self.encoder.parameters()), adv_lr, betas=(0.5, 0.999)),
        ]
        if self.uses_labels:
            phases.append(Phase("classification", list(self.encoder.parameters()),
                                lr * self.config.classification_lr_scale))
        return phases

    def sample_categories(self, n: int) -> torch.Tensor:
        """n one-hot draws from the uniform Cat(K) (n, K): what the category adversary calls real."""
        return F.one_hot(torch.randint(self.n_content, (n,), device=self.device), self.n_content).float()

    def phase_loss(self, phase: str, x: torch.Tensor, labels: torch.Tensor) -> PhaseOutput:
        if phase == "reconstruction":
            logits, z = self.infer(x)
            loss = reconstruction_loss(self.decoder.logits(z, logits.softmax(dim=1)), x, self.config.recon_loss)
            return PhaseOutput(loss, {"recon": loss.item()})
        if phase == "discriminator":
            with torch.no_grad():
                logits, z = self.infer(x)
            y_fake = logits.softmax(dim=1)
            loss_y, logs_y = discriminator_loss(self.category_discriminator(self.sample_categories(len(x))),
                                                self.category_discriminator(y_fake))
            style = self._style_adversary(z)
            return PhaseOutput(loss_y + style.loss,
                               {"disc_y": logs_y["disc"], "disc_y_acc": logs_y["disc_acc"], **style.logs})
        if phase == "generator":
            with frozen(self.category_discriminator), frozen(self.style_discriminator):
                logits, z = self.infer(x)
                y = logits.softmax(dim=1)
                loss_y, _ = generator_loss(self.category_discriminator(y))
                loss_z, _ = generator_loss(self.style_discriminator(z))
            # how one-hot y has become: the mean of its largest probability (1/K uniform … 1 one-hot)
            return PhaseOutput(loss_y + loss_z, {"gen_y": loss_y.item(), "gen_z": loss_z.item(),
                                                 "y_max": y.max(dim=1).values.mean().item()})
        if phase == "classification":
            # Training: a mini-batch of the labelled subset. Validation (eval mode): the batch given,
            # so the logs report the held-out classification error; nothing is learnt from it.
            xb, yb = self._labelled_batch(len(x)) if self.training else (x, labels)
            logits, _ = self.infer(xb)
            loss = F.cross_entropy(logits, yb)
            error = (logits.argmax(dim=1) != yb).float().mean()
            return PhaseOutput(loss, {"class_ce": loss.item(), "class_err": error.item()})
        raise ValueError(f"unknown phase {phase!r}")

    def _labelled_batch(self, n: int) -> tuple[torch.Tensor, torch.Tensor]:
        if self._labelled is None:
            raise RuntimeError("no labelled subset: call prepare_training(splits, seed) before training")
        x, y = self._labelled
        idx = torch.randint(len(x), (n,), device=x.device)
        return x[idx], y[idx]

    def inference_modules(self) -> list[nn.Module]:
        return [self.encoder, self.decoder]


class SemiSupervisedAAE(CategoricalAAE):
    """y is the digit class, learnt from `labels_per_class` labelled images per class and all the unlabelled ones."""

    kind = "semi"
    uses_labels = True

    def __init__(self, config: SemiSupervisedAAEConfig | None = None) -> None:
        config = config or SemiSupervisedAAEConfig()
        if config.n_categories != config.n_classes:
            raise ValueError(f"a semi-supervised AAE has one category per class ({config.n_classes}), "
                             f"not {config.n_categories}")
        if config.labels_per_class is not None and config.labels_per_class < 1:
            raise ValueError("a semi-supervised AAE needs at least 1 label per class (or None for all labels); "
                             "for no labels at all, train a clustering AAE")
        super().__init__(config)

    def prepare_training(self, splits: Any, seed: int) -> dict[str, Any]:
        """Pick the labelled subset: `labels_per_class` training images of each class, chosen by `seed`."""
        x, y = splits.train_x, splits.train_y
        k = self.config.labels_per_class
        if k is None:
            self._labelled = (x, y)
        else:
            index = labelled_subset(y.cpu(), k, n_classes=self.config.n_classes, seed=seed).to(x.device)
            self._labelled = (x[index], y[index])
        return {"labelled_images": len(self._labelled[1])}


class ClusteringAAE(CategoricalAAE):
    """y is one of K clusters, found without labels; labels are used only afterwards, to name the clusters."""

    kind = "cluster"
    uses_labels = False

    def __init__(self, config: ClusteringAAEConfig | None = None) -> None:
        config = config or ClusteringAAEConfig()
        if config.labels_per_class not in (0,):
            raise ValueError("a clustering AAE uses no labels (labels_per_class must be 0); "
                             "for labels, train a semi-supervised AAE")
        super().__init__(config)


def labelled_subset(labels: torch.Tensor, per_class: int, *, n_classes: int = 10, seed: int = 0) -> torch.Tensor:
    """Indices of `per_class` examples of each class (sorted), drawn at random by `seed`.

    Raises ValueError when a class has fewer examples than asked for.
    """
    generator = torch.Generator().manual_seed(seed)
    chosen = []
    for c in range(n_classes):
        members = (labels == c).nonzero().flatten()
        if len(members) < per_class:
            raise ValueError(f"class {c} has only {len(members)} training images; cannot label {per_class} of them")
        chosen.append(members[torch.randperm(len(members), generator=generator)[:per_class]])
    return torch.cat(chosen).sort().values
