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

import math
from dataclasses import dataclass, replace
from typing import Any, ClassVar, Literal

import torch
from torch import nn
from torch.nn import functional as F

from aae.core.models.base import CatalogEntry, ModelConfig, Phase, PhaseOutput, adversarial_phases, setting
from aae.core.models.blocks import (
    Decoder,
    Discriminator,
    discriminator_loss,
    frozen,
    generator_loss,
    reconstruction_loss,
)
from aae.core.models.style import ContentReadout, StyleContentAAE
from aae.core.priors import PriorConfig


@dataclass(frozen=True)
class SemiSupervisedAAEConfig(ModelConfig):
    latent_dim: int = setting(4, "size of the style code z: small, so the digit's identity must go through y")
    n_categories: int = setting(10, "K, the values y can take: the classes here, the clusters in the clustering AAE",
                                flag="clusters")
    hidden: int = setting(1000, "width of the two hidden layers of the encoder, decoder and both discriminators "
                                "(the paper: 1000)")
    prior: PriorConfig = setting(PriorConfig(name="gaussian", std=1.0),
                                 "p(z), the distribution the style codes are pushed onto; y's is the uniform Cat(K)")
    labels_per_class: int | None = setting(10, "labelled training images per class (10: 100 labels in all); "
                                               "none: every label")
    n_classes: int = setting(10, "number of classes in the data")
    recon_loss: Literal["bce", "mse"] = setting("bce", "reconstruction loss: bce (Bernoulli likelihood of the "
                                                       "pixels) or mse (squared error)")
    # 0.1 rather than 0.5, as the AAE's: at 0.5 the generator phase moved the encoder as far per step as
    # reconstruction and the classes smeared.
    adversarial_lr_scale: float = setting(0.1, "learning rate of the discriminators and of the encoder as generator, "
                                               "as a fraction of the reconstruction rate")
    classification_lr_scale: float = setting(1.0, "learning rate of the semi-supervised classification phase, as a "
                                                  "fraction of the reconstruction rate")
    # The categorical adversary alone let a 16-cluster model collapse onto 4 categories.
    balance_weight: float = setting(0.0, "weight of KL(batch's mean y ‖ uniform), which keeps every category in use; "
                                         "0: off (not in the paper)", flag="balance")
    input_noise: float = setting(0.0, "σ of Gaussian noise added to the encoder's input while training (the target "
                                      "stays clean); 0: off (the paper: 0.3)")
    consistency_weight: float = setting(0.0, "weight of a term making y of a shifted copy of each image match y of "
                                             "the image; 0: off (not in the paper)", flag="consistency")
    shift_pixels: int = setting(2, "how far, in pixels, the copies of the consistency term (and augmented labelled "
                                   "images) are shifted at most")
    # FixMatch (Sohn et al., 2020).
    pseudo_label_threshold: float = setting(0.0, "above 0: the consistency target is y's likeliest class, for images "
                                                 "this confident only (FixMatch); 0: off", flag="pseudo_label")
    augment_degrees: float = setting(0.0, "the consistency term's copies are also turned by up to this many degrees "
                                          "(and scaled by up to ±degrees/150); 0: shifts only")
    augment_labelled: bool = setting(False, "labelled images are shifted (and turned) the same way, so few labels "
                                            "teach more than fixed pixel patterns")
    # CatGAN and IMSAT minimise it while keeping the batch's mix uniform, as balance_weight does. The clustering
    # AAE's y stayed soft without it (mean largest probability 0.36 with 16 clusters).
    sharpness_weight: float = setting(0.0, "weight of y's mean entropy, so each image commits to one category; "
                                           "0: off (not in the paper)")
    # InfoGAN's mutual-information term (Chen et al., 2016). The encoder is held fixed there, so only the decoder
    # learns from it.
    cycle_weight: float = setting(0.0, "weight of reading y = k back from the decoder's image of (k, a random style), "
                                       "so every style writes the digit asked for; 0: off", flag="cycle")
    encoder_batch_norm: bool = setting(False, "batch norm after each hidden layer of the encoder (the paper's "
                                              "clustering encoder)")
    input_dropout: float = setting(0.0, "share of input pixels dropped while training (the paper's clustering "
                                        "encoder); 0: off")

    def __post_init__(self) -> None:
        if not 0 <= self.pseudo_label_threshold < 1:
            raise ValueError(f"the pseudo-label threshold is a probability in [0, 1) (0: off), "
                             f"got {self.pseudo_label_threshold}")
        if self.pseudo_label_threshold > 0 and self.consistency_weight <= 0:
            raise ValueError("pseudo-labels are the consistency term's targets: give it a weight too "
                             "(--consistency, e.g. 10)")
        if not 0 <= self.augment_degrees <= 90:
            raise ValueError(f"augment_degrees must be in [0, 90], got {self.augment_degrees}")
        if self.cycle_weight < 0:
            raise ValueError(f"the cycle weight must be 0 or more (0: off), got {self.cycle_weight}")
        if self.shift_pixels < 0:
            raise ValueError(f"shift_pixels must be 0 or more, got {self.shift_pixels}")
        if self.augment_labelled and self.labels_per_class == 0:
            raise ValueError("there are no labelled images to move: augment_labelled is for the semi-supervised "
                             "kinds, not clustering")


@dataclass(frozen=True)
class ClusteringAAEConfig(SemiSupervisedAAEConfig):
    latent_dim: int = setting(2, "size of the style code z: with no labels, only a tight style code makes y carry "
                                 "the digit")
    n_categories: int = setting(16, "K, the number of clusters y can take (the paper: 16 and 30)", flag="clusters")
    labels_per_class: int | None = setting(0, "labelled training images per class: 0, as clustering uses no labels")
    # On by default here: without it 16 clusters collapsed onto 4.
    balance_weight: float = setting(5.0, "weight of KL(batch's mean y ‖ uniform), which keeps every cluster in use; "
                                         "0: off (not in the paper)", flag="balance")


class LabelledSubset:
    """The labelled images a semi-supervised model learns its classification phase from: `per_class` training
    images of each class (None: every training image), chosen by the run's seed, drawn in mini-batches."""

    def __init__(self, per_class: int | None, n_classes: int) -> None:
        self.per_class, self.n_classes = per_class, n_classes
        self.images: tuple[torch.Tensor, torch.Tensor] | None = None

    def prepare(self, splits: Any, seed: int) -> int:
        x, y = splits.train_x, splits.train_y
        if self.per_class is None:
            self.images = (x, y)
        else:
            index = labelled_subset(y.cpu(), self.per_class, n_classes=self.n_classes, seed=seed).to(x.device)
            self.images = (x[index], y[index])
        return len(self.images[1])

    def batch(self, n: int) -> tuple[torch.Tensor, torch.Tensor]:
        if self.images is None:
            raise RuntimeError("no labelled subset: call prepare_training(splits, seed) before training")
        x, y = self.images
        idx = torch.randint(len(x), (n,), device=x.device)
        return x[idx], y[idx]


class CategoricalAAE(StyleContentAAE):
    """An encoder that infers a categorical y beside the style z, and a second adversary that makes y one-hot.

    The kinds differ only in what they declare: whether y is the class (`uses_labels`: a `LabelledSubset` and a
    classification phase) or a clustering, and their readout (y and z to the decoder, or the 2-D map's heads).
    """

    categorical: ClassVar[bool] = True
    uses_labels: ClassVar[bool] = False

    def __init__(self, config: SemiSupervisedAAEConfig) -> None:
        if config.n_categories < 2:
            raise ValueError(f"y needs at least 2 categories, got {config.n_categories}")
        if self.uses_labels:
            if config.n_categories != config.n_classes:
                raise ValueError(f"a semi-supervised AAE has one category per class ({config.n_classes}), "
                                 f"not {config.n_categories}")
            if config.labels_per_class is not None and config.labels_per_class < 1:
                raise ValueError("a semi-supervised AAE needs at least 1 label per class (or None for all labels); "
                                 "for no labels at all, train a clustering AAE")
        elif config.labels_per_class != 0:
            raise ValueError("a clustering AAE uses no labels (labels_per_class must be 0); "
                             "for labels, train a semi-supervised AAE")
        super().__init__(config, n_content=config.n_categories,
                         encoder_outputs=config.n_categories + config.latent_dim,
                         batch_norm=config.encoder_batch_norm, input_dropout=config.input_dropout)
        self.category_discriminator = Discriminator(input_dim=config.n_categories, hidden=config.hidden)
        self.labelled = LabelledSubset(config.labels_per_class, config.n_classes) if self.uses_labels else None

    # -- inference --------------------------------------------------------------------------
    def infer(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """(logits of y (B, K), style z (B, D)) for images x: one encoder pass, two heads."""
        out = self.encoder(x)
        return out[:, :self.n_content], out[:, self.n_content:]

    @torch.no_grad()
    def encode(self, x: torch.Tensor) -> torch.Tensor:
        logits, z = self.infer(x)
        return self.readout.code(self, logits.softmax(dim=1), z)

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
        return torch.sigmoid(self.reconstruction_logits(*self.infer(x)))

    # -- training ---------------------------------------------------------------------------
    def prepare_training(self, splits: Any, seed: int) -> dict[str, Any]:
        """Pick the labelled subset (semi-supervised kinds): `labels_per_class` training images of each class."""
        return {} if self.labelled is None else {"labelled_images": self.labelled.prepare(splits, seed)}

    def phases(self, lr: float) -> list[Phase]:
        adversaries = [*self.category_discriminator.parameters(), *self.style_discriminator.parameters()]
        phases = adversarial_phases(self.encoder, self.decoder, adversaries, lr, self.config.adversarial_lr_scale)
        own = self.readout.parameters(self)  # the readout's weights (the 2-D map's heads) learn with the decoder
        phases = [replace(p, parameters=[*p.parameters, *own]) if p.name == "reconstruction" and own else p
                  for p in phases]
        if self.uses_labels:
            phases.append(Phase("classification", list(self.encoder.parameters()),
                                lr * self.config.classification_lr_scale, role="supervised"))
        return phases

    def sample_categories(self, n: int) -> torch.Tensor:
        """n one-hot draws from the uniform Cat(K) (n, K): what the category adversary calls real."""
        return F.one_hot(torch.randint(self.n_content, (n,), device=self.device), self.n_content).float()

    def reconstruction_logits(self, logits: torch.Tensor, z: torch.Tensor) -> torch.Tensor:
        """The decoder's pixel logits from the inferred y (softmax of `logits`) and style z, through the readout."""
        return self.readout.logits(self, logits.softmax(dim=1), z)

    def _noisy(self, x: torch.Tensor) -> torch.Tensor:
        """The encoder's training input: x plus N(0, input_noise²) while training, x itself in eval mode."""
        if not self.training or self.config.input_noise <= 0:
            return x
        return x + self.config.input_noise * torch.randn_like(x)

    def augment(self, x: torch.Tensor) -> torch.Tensor:
        """A moved copy of each image: shifted by up to `shift_pixels`, and turned and scaled when
        `augment_degrees` > 0."""
        if self.config.augment_degrees > 0:
            return random_affine(x, self.config.shift_pixels, self.config.augment_degrees)
        return random_shift(x, self.config.shift_pixels)

    def consistency(self, x: torch.Tensor, logits: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor | None]:
        """(loss, share of images used): the cross-entropy of q(y | moved x) to the detached q(y | x) — its soft
        probabilities, or with `pseudo_label_threshold` its confident hard class (share: how many were confident)."""
        moved = self.infer(self.augment(self._noisy(x)))[0].log_softmax(dim=1)
        probs = logits.detach().softmax(dim=1)
        threshold = self.config.pseudo_label_threshold
        if threshold <= 0:
            return -(probs * moved).sum(dim=1).mean(), None
        confidence, guess = probs.max(dim=1)
        mask = (confidence >= threshold).float()
        return (F.nll_loss(moved, guess, reduction="none") * mask).mean(), mask.mean()

    def cycle(self, n: int) -> tuple[torch.Tensor, torch.Tensor]:
        """(loss, error): decode n draws of (one-hot k from the uniform Cat(K), z from the style prior) and read
        each image back through the encoder, held fixed; the loss is the cross-entropy of that reading to k, so
        its gradient reaches the decoder alone. The error is the share read as another category."""
        k = torch.randint(self.n_content, (n,), device=self.device)
        image = self.readout.decode_content(self, self.sample_styles(n), k)  # with gradient, unlike decode_content()
        with frozen(self.encoder):
            logits = self.infer(image)[0]
        return F.cross_entropy(logits, k), (logits.argmax(dim=1) != k).float().mean()

    def phase_loss(self, phase: str, x: torch.Tensor, labels: torch.Tensor) -> PhaseOutput:
        if phase == "reconstruction":
            logits, z = self.infer(self._noisy(x))
            loss = reconstruction_loss(self.reconstruction_logits(logits, z), x, self.config.recon_loss)
            logs = {"recon": loss.detach()}
            if self.config.consistency_weight > 0:
                term, used = self.consistency(x, logits)
                loss = loss + self.config.consistency_weight * term
                logs["consistency"] = term.detach()
                if used is not None:
                    logs["confident"] = used.detach()
            if self.config.cycle_weight > 0:
                term, error = self.cycle(len(x))
                loss = loss + self.config.cycle_weight * term
                logs.update(cycle=term.detach(), cycle_err=error.detach())
            extra = self.readout.penalty(self)
            if extra is not None:
                loss = loss + extra[0]
                logs.update(extra[1])
            return PhaseOutput(loss, logs)
        if phase == "discriminator":
            with torch.no_grad():
                logits, z = self.infer(self._noisy(x))
            y_fake = logits.softmax(dim=1)
            loss_y, logs_y = discriminator_loss(self.category_discriminator(self.sample_categories(len(x))),
                                                self.category_discriminator(y_fake))
            style = self._style_adversary(z)
            return PhaseOutput(loss_y + style.loss,
                               {"disc_y": logs_y["disc"], "disc_y_acc": logs_y["disc_acc"], **style.logs})
        if phase == "generator":
            with frozen(self.category_discriminator), frozen(self.style_discriminator):
                logits, z = self.infer(self._noisy(x))
                y = logits.softmax(dim=1)
                loss_y, _ = generator_loss(self.category_discriminator(y))
                loss_z, _ = generator_loss(self.style_discriminator(z))
            balance = batch_imbalance(y)
            loss = loss_y + loss_z + self.config.balance_weight * balance
            logs = {"gen_y": loss_y.detach(), "gen_z": loss_z.detach(), "imbalance": balance.detach(),
                    # how one-hot y has become: the mean of its largest probability (1/K uniform … 1 one-hot)
                    "y_max": y.max(dim=1).values.mean().detach()}
            if self.config.sharpness_weight > 0:
                entropy = -(y * logits.log_softmax(dim=1)).sum(dim=1).mean()
                loss = loss + self.config.sharpness_weight * entropy
                logs["y_entropy"] = entropy.detach()
            return PhaseOutput(loss, logs)
        if phase == "classification":
            # Training: a mini-batch of the labelled subset. Validation (eval mode): the batch given,
            # so the logs report the held-out classification error; nothing is learnt from it.
            xb, yb = self.labelled.batch(len(x)) if self.training else (x, labels)
            if self.training and self.config.augment_labelled:
                xb = self.augment(xb)
            logits, _ = self.infer(self._noisy(xb))
            loss = F.cross_entropy(logits, yb)
            error = (logits.argmax(dim=1) != yb).float().mean()
            return PhaseOutput(loss, {"class_ce": loss.detach(), "class_err": error.detach()})
        raise ValueError(f"unknown phase {phase!r}")


class SemiSupervisedAAE(CategoricalAAE):
    """y is the digit class, learnt from `labels_per_class` labelled images per class and all the unlabelled ones."""

    kind = "semi"
    uses_labels = True

    def __init__(self, config: SemiSupervisedAAEConfig | None = None) -> None:
        super().__init__(config or SemiSupervisedAAEConfig())


class ClusteringAAE(CategoricalAAE):
    """y is one of K clusters, found without labels; labels are used only afterwards, to name the clusters."""

    kind = "cluster"
    uses_labels = False

    def __init__(self, config: ClusteringAAEConfig | None = None) -> None:
        super().__init__(config or ClusteringAAEConfig())


@dataclass(frozen=True)
class DimReductionAAEConfig(SemiSupervisedAAEConfig):
    latent_dim: int = setting(2, "dimensions of the map that the cluster heads and the style share")
    labels_per_class: int | None = setting(100, "labelled training images per class (100: the paper's 1,000 labels); "
                                                "none: every label")
    head_distance: float = setting(6.0, "η: cluster heads closer than this, in units of the style's σ, are pushed "
                                        "apart")
    head_weight: float = setting(10.0, "weight of the push between cluster heads, beside the reconstruction loss "
                                       "(nats per image)")


class ClusterHeads(nn.Module):
    """K learnt points in the map (K, D), one per category: W_c in the paper.

    They start evenly on a circle in the first two dimensions, neighbours 1.1 η apart (at the learning
    rates used, heads drawn at random took thousands of steps to separate), and move freely from there.
    """

    def __init__(self, n: int, dim: int, distance: float) -> None:
        super().__init__()
        weight = torch.zeros(n, dim)
        angles = 2 * math.pi * torch.arange(n) / n
        radius = 1.1 * distance / (2 * math.sin(math.pi / n))
        weight[:, 0] = radius * angles.cos()
        if dim > 1:
            weight[:, 1] = radius * angles.sin()
        self.weight = nn.Parameter(weight)

    def penalty(self, distance: float) -> torch.Tensor:
        """Σ over pairs of max(0, η − ‖w_i − w_j‖)²: zero once every two heads are at least η apart."""
        gaps = torch.pdist(self.weight)  # (K(K−1)/2,)
        return F.relu(distance - gaps).pow(2).sum()


class HeadsReadout(ContentReadout):
    """The 2-D map's readout (the paper's section 7, figure 12): the decoder sees one point of a low-dimensional
    map, r = W_c · y + z, the head of the inferred class plus the style; a penalty keeps the heads at least η
    apart, so each class gets its own region and styles spread around its head. Codes are points of the map."""

    module_names = ("cluster_heads",)

    def decoder(self, config, n_content: int) -> Decoder:
        return Decoder(latent_dim=config.latent_dim, hidden=config.hidden)  # r only, no content input

    def extra_modules(self, config, n_content: int) -> dict[str, nn.Module]:
        return {"cluster_heads": ClusterHeads(n_content, config.latent_dim, config.head_distance)}

    def code(self, model, y: torch.Tensor, z: torch.Tensor) -> torch.Tensor:
        return y @ model.cluster_heads.weight + z

    def logits(self, model, y: torch.Tensor, z: torch.Tensor) -> torch.Tensor:
        return model.decoder.logits(self.code(model, y, z))

    def decode(self, model, z: torch.Tensor, labels: torch.Tensor | None) -> torch.Tensor:
        """Images from points of the map (B, D); labels play no part."""
        return model.decoder(z)

    def decode_content(self, model, z: torch.Tensor, labels: torch.Tensor | None) -> torch.Tensor:
        """Styles `z` placed around the heads of `labels` (cycled when None), decoded."""
        return model.decoder(z + model.content(labels, len(z)) @ model.cluster_heads.weight)

    def sample_latent(self, model, n: int, labels, generator) -> torch.Tensor:
        """Points of the map: a style from the prior around the head of `labels` (cycled when None)."""
        return (model.sample_styles(n, generator=generator)
                + model.content(labels, n) @ model.cluster_heads.weight.detach())

    def parameters(self, model) -> list[nn.Parameter]:
        return list(model.cluster_heads.parameters())

    def penalty(self, model) -> tuple[torch.Tensor, dict[str, torch.Tensor]]:
        term = model.cluster_heads.penalty(model.config.head_distance)
        return model.config.head_weight * term, {"heads": term.detach()}


class DimReductionAAE(CategoricalAAE):
    """The paper's semi-supervised dimensionality reduction: a semi-supervised AAE read out through cluster heads.
    `encode` returns r = W_c · y + z, the map itself."""

    kind = "dimred"
    uses_labels = True
    conditional = False  # decode() reads points of the map; labels only pick heads when sampling
    readout = HeadsReadout()

    def __init__(self, config: DimReductionAAEConfig | None = None) -> None:
        super().__init__(config or DimReductionAAEConfig())


def random_shift(x: torch.Tensor, pixels: int) -> torch.Tensor:
    """Each image (B, 1, H, W) moved by its own random whole-pixel offset in [−pixels, pixels]², zero-filled."""
    if pixels <= 0:
        return x
    b, _, h, w = x.shape
    padded = F.pad(x, (pixels, pixels, pixels, pixels))
    dy = torch.randint(0, 2 * pixels + 1, (b,), device=x.device)
    dx = torch.randint(0, 2 * pixels + 1, (b,), device=x.device)
    rows = (dy[:, None] + torch.arange(h, device=x.device)[None, :])  # (B, H)
    cols = (dx[:, None] + torch.arange(w, device=x.device)[None, :])  # (B, W)
    index = torch.arange(b, device=x.device)[:, None, None]
    return padded[index, 0, rows[:, :, None], cols[:, None, :]].unsqueeze(1)


def random_affine(x: torch.Tensor, pixels: int, degrees: float) -> torch.Tensor:
    """Each image (B, 1, H, W) turned by up to ±`degrees`, scaled by up to ±degrees/150 (±10 % at 15°) and moved
    by up to `pixels` in each direction, each with its own random draw; bilinear, zero-filled."""
    b, _, h, w = x.shape
    angle = (torch.rand(b, device=x.device) * 2 - 1) * math.radians(degrees)
    scale = 1 + (torch.rand(b, device=x.device) * 2 - 1) * degrees / 150
    shift = (torch.rand(b, 2, device=x.device) * 2 - 1) * pixels * 2 / torch.tensor([w, h], device=x.device)
    cos, sin = angle.cos() / scale, angle.sin() / scale
    theta = torch.stack([torch.stack([cos, -sin, shift[:, 0]], 1), torch.stack([sin, cos, shift[:, 1]], 1)], 1)
    grid = F.affine_grid(theta.to(x.dtype), list(x.shape), align_corners=False)
    return F.grid_sample(x, grid, mode="bilinear", padding_mode="zeros", align_corners=False)


def batch_imbalance(y: torch.Tensor) -> torch.Tensor:
    """KL(ȳ ‖ uniform) = log K − H(ȳ) of the batch's mean category distribution ȳ: 0 when every category
    is used equally, log K when the whole batch sits in one."""
    mean = y.mean(dim=0)
    return math.log(y.shape[1]) + (mean * mean.clamp_min(1e-12).log()).sum()


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


CATALOG_ENTRIES = (
    CatalogEntry(
        kind="semi", model=SemiSupervisedAAE, config=SemiSupervisedAAEConfig, label="semi-supervised AAE",
        summary="a classifier learnt mostly without labels (the paper's table 2)", order=11, priors=("gaussian",),
    ),
    CatalogEntry(
        kind="cluster", model=ClusteringAAE, config=ClusteringAAEConfig, label="clustering AAE",
        summary="categories found without labels (the paper's table 3)", order=12, priors=("gaussian",),
    ),
    CatalogEntry(
        kind="dimred", model=DimReductionAAE, config=DimReductionAAEConfig,
        label="semi-supervised 2-D map (cluster heads)",
        summary="a cluster head per digit plus the style, in 2-D (the paper's figure 10)", order=13,
        priors=("gaussian",),
    ),
)
