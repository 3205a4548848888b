"""CycleGAN (Zhu et al., 2017): two generators translate images between domains A and B without pairs.

G_ab maps A to B and G_ba maps B to A; a discriminator in each domain tells its real images from the
translations, and two more terms keep the content: a round trip must come back to where it started (cycle
consistency, L1) and an image already of the target domain should pass unchanged (identity). Here the domains
are 28×28 (aae.core.domains: MNIST with scikit-learn's 8×8 digits, or with Fashion-MNIST). The trainer feeds A, the
dataset it trains on; the model loads B itself when training starts and draws its batches from it.

The generators are small for a 2-core CPU: a conv down to 14×14, residual blocks there, a transposed conv back.
By default each one changes its input rather than drawing from scratch (its output is added to the input's
logits, and its last layer starts at zero), so an untrained generator is the identity and the adversary
only has to learn the difference between the domains.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Literal

import torch
import torch.nn.functional as F
from torch import nn

from aae.core.domains import PAIR_NAMES, check_direction, load_domain, pair
from aae.core.models.base import CatalogEntry, LatentModel, ModelConfig, Phase, PhaseOutput, setting
from aae.core.models.blocks import frozen

EPS = 1e-3  # inputs are clamped to [EPS, 1 − EPS] before their logits are taken (residual output)


@dataclass(frozen=True)
class CycleGANConfig(ModelConfig):
    pair: Literal["mnist-digits8", "mnist-fashion"] = setting(
        "mnist-digits8", "the two domains: mnist-digits8 (MNIST and 8×8 digits) or mnist-fashion; train on the "
                         "first one's dataset")
    channels: int = setting(16, "generator width at 28×28 (twice as many at 14×14, where the residual blocks are)")
    residual_blocks: int = setting(3, "residual blocks in each generator")
    downsamplings: int = setting(1, "halvings of the image before the residual blocks: 1 works at 14×14, 2 at 7×7 "
                                    "(each block then sees the whole digit, for changes of shape)")
    disc_channels: int = setting(16, "discriminator width of the first layer (twice as many in the second)")
    gan_loss: Literal["lsgan", "nonsaturating"] = setting(
        "lsgan", "lsgan: least squares (CycleGAN's); nonsaturating: the classic GAN's cross-entropy")
    cycle_weight: float = setting(10.0, "weight of cycle consistency: a round trip must return the image (L1)")
    identity_weight: float = setting(5.0, "weight of the identity term: an image of the target domain should pass "
                                          "unchanged (L1); 0: off")
    residual_output: bool = setting(True, "each generator changes its input (added to its logits) rather than "
                                          "drawing from scratch, so an untrained one is the identity")
    semantic_weight: float = setting(0.0, "weight of semantic consistency (CyCADA): the first domain's shipped "
                                          "classifier must read each translated training image as its label; 0: off")
    target_class_weight: float = setting(
        0.0, "weight of a class term: a classifier of the second domain (not evaluation's) must read each translated "
             "training image as its label; 0: off")
    upsampling: Literal["transposed", "resize"] = setting(
        "transposed", "how the generators grow the image back: transposed convolutions, or nearest-neighbour "
                      "resizing and a convolution (no checkerboard)")

    def training_defaults(self, given: Mapping[str, Any] | None = None) -> dict[str, Any]:
        return {**super().training_defaults(given), "lr": 2e-4, "batch_size": 50}  # CycleGAN's Adam rate


class ResidualBlock(nn.Module):
    def __init__(self, channels: int) -> None:
        super().__init__()
        self.body = nn.Sequential(
            nn.Conv2d(channels, channels, 3, padding=1), nn.InstanceNorm2d(channels),
            nn.ReLU(),
            nn.Conv2d(channels, channels, 3, padding=1), nn.InstanceNorm2d(channels),
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x + self.body(x)


class TranslationGenerator(nn.Module):
    """Image (B, 1, 28, 28) in [0, 1] -> image in [0, 1]: encoder (strided convs down to 14×14, or 7×7), residual
    blocks, decoder (transposed convs back up)."""

    def __init__(self, *, channels: int, blocks: int, residual_output: bool = True, downsamplings: int = 1,
                 upsampling: str = "transposed") -> None:
        super().__init__()
        if downsamplings not in (1, 2):
            raise ValueError(f"downsamplings is 1 (to 14×14) or 2 (to 7×7), not {downsamplings}")
        if upsampling not in ("transposed", "resize"):
            raise ValueError(f"upsampling is transposed or resize, not {upsampling!r}")

        def grow(n_in: int, n_out: int) -> list[nn.Module]:
            if upsampling == "transposed":
                return [nn.ConvTranspose2d(n_in, n_out, 4, stride=2, padding=1)]
            return [nn.Upsample(scale_factor=2, mode="nearest"), nn.Conv2d(n_in, n_out, 3, padding=1)]

        widths = [channels * 2 ** i for i in range(downsamplings + 1)]  # c at 28×28, 2c at 14×14 (, 4c at 7×7)
        down = [layer for n_in, n_out in zip(widths, widths[1:])
                for layer in (nn.Conv2d(n_in, n_out, 4, stride=2, padding=1), nn.InstanceNorm2d(n_out), nn.ReLU())]
        up = [layer for n_in, n_out in zip(widths[:0:-1], widths[-2::-1])
              for layer in (*grow(n_in, n_out), nn.InstanceNorm2d(n_out), nn.ReLU())]
        self.residual_output = residual_output
        self.net = nn.Sequential(
            nn.Conv2d(1, channels, 3, padding=1), nn.InstanceNorm2d(channels), nn.ReLU(),
            *down, *(ResidualBlock(widths[-1]) for _ in range(blocks)), *up,
            nn.Conv2d(channels, 1, 3, padding=1),
        )
        if residual_output:  # starts as the identity
            nn.init.zeros_(self.net[-1].weight)
            nn.init.zeros_(self.net[-1].bias)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = self.net(2 * x - 1)
        if self.residual_output:
            out = out + torch.logit(x.clamp(EPS, 1 - EPS))
        return torch.sigmoid(out)


class PatchDiscriminator(nn.Module):
    """Image (B, 1, 28, 28) -> (B, 7·7) logits "real", one per overlapping patch of about 18×18 pixels."""

    def __init__(self, *, channels: int) -> None:
        super().__init__()
        c = channels
        self.net = nn.Sequential(
            nn.Conv2d(1, c, 4, stride=2, padding=1), nn.LeakyReLU(0.2),  # (B, c, 14, 14)
            nn.Conv2d(c, 2 * c, 4, stride=2, padding=1), nn.InstanceNorm2d(2 * c), nn.LeakyReLU(0.2),  # 7×7
            nn.Conv2d(2 * c, 1, 3, padding=1),
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.net(2 * x - 1).flatten(1)


def adversarial_d_loss(real: torch.Tensor, fake: torch.Tensor, kind: str) -> torch.Tensor:
    """The discriminator's loss on logits of real and translated images (LSGAN halves it, as CycleGAN does)."""
    if kind == "lsgan":
        return 0.5 * ((real - 1).pow(2).mean() + fake.pow(2).mean())
    return (F.binary_cross_entropy_with_logits(real, torch.ones_like(real))
            + F.binary_cross_entropy_with_logits(fake, torch.zeros_like(fake)))


def adversarial_g_loss(fake: torch.Tensor, kind: str) -> torch.Tensor:
    """The generator's loss on D's logits of its translations: they should read as real."""
    if kind == "lsgan":
        return (fake - 1).pow(2).mean()
    return F.binary_cross_entropy_with_logits(fake, torch.ones_like(fake))


def cycle_loss(original: torch.Tensor, round_trip: torch.Tensor) -> torch.Tensor:
    """Mean absolute difference (per pixel) between images and their round trips: 0 when they return exactly."""
    return (round_trip - original).abs().mean()


class CycleGAN(LatentModel):
    kind = "cyclegan"
    has_encoder = False
    generates = False  # no prior to sample: it translates images it is given
    translates = True

    def __init__(self, config: CycleGANConfig | None = None) -> None:
        config = config or CycleGANConfig()
        pair(config.pair)  # an unknown pair is refused here
        for name in ("cycle_weight", "identity_weight", "semantic_weight", "target_class_weight"):
            if getattr(config, name) < 0:
                raise ValueError(f"{name} must be 0 or more, not {getattr(config, name)}")
        if config.gan_loss not in ("lsgan", "nonsaturating"):
            raise ValueError(f"gan_loss is lsgan or nonsaturating, not {config.gan_loss!r}")
        if config.target_class_weight > 0 and not pair(config.pair).same_classes:
            raise ValueError(f"target_class_weight needs two domains with the same classes; {config.pair} has not")
        super().__init__(config)

        def generator() -> TranslationGenerator:
            return TranslationGenerator(channels=config.channels, blocks=config.residual_blocks,
                                        residual_output=config.residual_output, downsamplings=config.downsamplings,
                                        upsampling=config.upsampling)

        self.g_ab, self.g_ba = generator(), generator()
        self.d_a = PatchDiscriminator(channels=config.disc_channels)
        self.d_b = PatchDiscriminator(channels=config.disc_channels)
        # Domain B's images while training (set by prepare_training; not weights, never saved)
        self.b_train: torch.Tensor | None = None
        self.b_val: torch.Tensor | None = None
        self._step: dict[str, torch.Tensor] | None = None  # the latest generator pass, for the D step after it
        # while training, never saved: "a" reads translations into B as A's classifier (semantic term), "b" as a
        # classifier of B (target class term)
        self._judge: dict[str, nn.Module] = {}

    @property
    def pair(self):
        return pair(self.config.pair)

    @property
    def latent_dim(self) -> int:
        return 0  # no latent space of its own

    def generator(self, direction: str) -> TranslationGenerator:
        check_direction(direction)
        return self.g_ab if direction == "ab" else self.g_ba

    # -- translation ------------------------------------------------------------------------
    @torch.no_grad()
    def translate(self, x: torch.Tensor, direction: str = "ab", batch_size: int = 500) -> torch.Tensor:
        """Images (N, 1, 28, 28) of the source domain of `direction` ("ab": A to B) in the target's style, on
        x's device; eval mode, `batch_size` at a time."""
        g = self.generator(direction)
        was_training = self.training
        self.eval()
        try:
            out = [g(x[i:i + batch_size].to(self.device, torch.float32)).to(x.device)
                   for i in range(0, len(x), batch_size)]
        finally:
            self.train(was_training)
        return torch.cat(out) if out else x.new_zeros(0, 1, 28, 28)

    @torch.no_grad()
    def round_trip(self, x: torch.Tensor, direction: str = "ab") -> torch.Tensor:
        """Images translated by `direction` and back again: what cycle consistency compares with x."""
        return self.translate(self.translate(x, direction), "ba" if direction == "ab" else "ab")

    # -- training ---------------------------------------------------------------------------
    def prepare_training(self, splits, seed: int) -> dict:
        """Load domain B's training and validation images onto the trainer's device (A is `splits`)."""
        p = self.pair
        if splits.name != p.a:
            raise ValueError(f"a {p.name} CycleGAN trains on {p.a} (domain A; it loads {p.b} itself), not "
                             f"{splits.name}: use --dataset {p.a}")
        b = load_domain(p.b, device=splits.train_x.device)
        self.b_train, self.b_val = b.train_x, b.val_x
        if self.config.semantic_weight > 0:
            from aae.core.checkpoints import classifier_path, load_checkpoint

            path = classifier_path(p.a)
            if not path.exists():
                raise ValueError(f"the semantic term reads translations with {p.a}'s classifier, and there is none at "
                                 f"{path}: train one, or set semantic_weight to 0")
            self._judge["a"] = load_checkpoint(path).model.eval()
        if self.config.target_class_weight > 0:
            from aae.core.metrics.translation import training_judge

            self._judge["b"] = training_judge(p.b)
        for judge in self._judge.values():
            judge.to(splits.train_x.device).requires_grad_(False)
        return {"domain_b": p.b, "domain_b_train_images": len(b.train_x)}

    def domain_b_batch(self, n: int, device: torch.device) -> torch.Tensor:
        """`n` images of domain B: drawn at random (the trainer seeds each epoch) while training, the first
        validation images (cycled) in eval mode, so validation losses are comparable between epochs."""
        if self.b_train is None:
            raise RuntimeError("the CycleGAN has no images of its second domain: call prepare_training first")
        if self.training:
            idx = torch.randint(len(self.b_train), (n,), device=self.b_train.device)
            return self.b_train[idx].to(device)
        return self.b_val[torch.arange(n, device=self.b_val.device) % len(self.b_val)].to(device)

    def phases(self, lr: float) -> list[Phase]:
        generators = [*self.g_ab.parameters(), *self.g_ba.parameters()]
        discriminators = [*self.d_a.parameters(), *self.d_b.parameters()]
        return [
            Phase("generator", generators, lr, betas=(0.5, 0.999), role="adversarial"),
            Phase("discriminator", discriminators, lr, betas=(0.5, 0.999), role="adversarial"),
        ]

    def generator_losses(self, a: torch.Tensor, b: torch.Tensor, labels: torch.Tensor | None = None) -> PhaseOutput:
        """Both generators' loss on a batch of each domain: adversarial + cycle (× weight) + identity (× weight),
        and with `labels` of A's images and a semantic weight, domain A's classifier's cross-entropy on their
        translations into B (× weight; CyCADA's semantic consistency, from the labels of the data trained on), and
        with a target class weight the same read by a classifier of domain B."""
        cfg = self.config
        fake_b, fake_a = self.g_ab(a), self.g_ba(b)
        with frozen(self.d_a), frozen(self.d_b):
            adversarial = (adversarial_g_loss(self.d_b(fake_b), cfg.gan_loss)
                           + adversarial_g_loss(self.d_a(fake_a), cfg.gan_loss))
        cycle = cycle_loss(a, self.g_ba(fake_b)) + cycle_loss(b, self.g_ab(fake_a))
        loss = adversarial + cfg.cycle_weight * cycle
        logs = {"gen": adversarial.detach(), "cycle": cycle.detach()}
        if cfg.identity_weight > 0:
            identity = cycle_loss(b, self.g_ab(b)) + cycle_loss(a, self.g_ba(a))
            loss = loss + cfg.identity_weight * identity
            logs["identity"] = identity.detach()
        for term, domain, weight in (("semantic", "a", cfg.semantic_weight),
                                     ("target_class", "b", cfg.target_class_weight)):
            if weight > 0 and labels is not None:  # a classifier of `domain` reads A's translations into B
                if domain not in self._judge:
                    raise RuntimeError(f"the {term.replace('_', ' ')} term needs domain {domain.upper()}'s classifier: "
                                       "call prepare_training first")
                read = F.cross_entropy(self._judge[domain](fake_b).float(), labels)
                loss = loss + weight * read
                logs[term] = read.detach()
        self._step = {"a": a, "b": b, "fake_a": fake_a.detach(), "fake_b": fake_b.detach()}
        return PhaseOutput(loss, logs)

    def discriminator_losses(self, a: torch.Tensor, b: torch.Tensor, fake_a: torch.Tensor,
                             fake_b: torch.Tensor) -> PhaseOutput:
        kind = self.config.gan_loss
        real_a, real_b = self.d_a(a), self.d_b(b)
        out_a, out_b = self.d_a(fake_a), self.d_b(fake_b)
        loss = adversarial_d_loss(real_a, out_a, kind) + adversarial_d_loss(real_b, out_b, kind)
        threshold = 0.5 if kind == "lsgan" else 0.0  # LSGAN's targets are 0 and 1
        accuracy = 0.25 * sum(((t > threshold) if real else (t < threshold)).float().mean()
                              for t, real in ((real_a, True), (real_b, True), (out_a, False), (out_b, False)))
        return PhaseOutput(loss, {"disc": loss.detach(), "disc_acc": accuracy.detach()})

    def phase_loss(self, phase: str, x: torch.Tensor, labels: torch.Tensor) -> PhaseOutput:
        if phase == "generator":
            return self.generator_losses(x, self.domain_b_batch(len(x), x.device), labels)
        if phase == "discriminator":
            step = self._step
            if step is not None and step["a"] is x:  # the translations of this batch's generator pass
                return self.discriminator_losses(x, step["b"], step["fake_a"], step["fake_b"])
            b = self.domain_b_batch(len(x), x.device)
            with torch.no_grad():
                fake_a, fake_b = self.g_ba(b), self.g_ab(x)
            return self.discriminator_losses(x, b, fake_a, fake_b)
        raise ValueError(f"unknown phase {phase!r}")

    def inference_modules(self) -> list[nn.Module]:
        return [self.g_ab, self.g_ba]


@torch.no_grad()
def translation_grid(model: CycleGAN, x: torch.Tensor, direction: str = "ab") -> torch.Tensor:
    """Three rows of images (3N, 1, 28, 28): `x`, its translations, and their round trips back."""
    translated = model.translate(x, direction)
    back = model.translate(translated, "ba" if direction == "ab" else "ab")
    return torch.cat([x.to(translated.device).float(), translated, back])


CATALOG_ENTRIES = (
    CatalogEntry(
        kind="cyclegan", model=CycleGAN, config=CycleGANConfig, label="CycleGAN (domain translation)",
        summary="two generators translate images between two domains (MNIST and 8×8 digits, or MNIST and "
                "Fashion-MNIST) without pairs; no prior to sample", order=80,
        trainable=False,  # the Train page previews prior samples; `aae train --model cyclegan` trains it
    ),
)

__all__ = ["PAIR_NAMES", "CycleGAN", "CycleGANConfig", "cycle_loss", "translation_grid"]
