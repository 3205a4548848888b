"""Network pieces shared by the models: the paper's fully connected encoder, decoder and discriminator."""

from __future__ import annotations

from contextlib import contextmanager

import torch
from torch import nn

IMAGE_SHAPE = (1, 28, 28)
IMAGE_DIM = 784


def mlp(sizes: list[int], *, activation: type[nn.Module] = nn.ReLU) -> nn.Sequential:
    """Linear layers of the given sizes with `activation` between them (none after the last)."""
    layers: list[nn.Module] = []
    for i, (n_in, n_out) in enumerate(zip(sizes[:-1], sizes[1:])):
        layers.append(nn.Linear(n_in, n_out))
        if i < len(sizes) - 2:
            layers.append(activation())
    return nn.Sequential(*layers)


class Encoder(nn.Module):
    """Image (B, 1, 28, 28) [+ extra inputs (B, E)] -> `n_outputs` numbers per image, via two hidden layers.

    The paper's clustering encoder adds batch norm after each hidden layer and drops 20 % of the input pixels
    while training (`batch_norm`, `input_dropout`); both off, the layers keep their plain names (net.0, net.2, …).
    """

    def __init__(self, *, hidden: int, n_outputs: int, extra_inputs: int = 0, batch_norm: bool = False,
                 input_dropout: float = 0.0) -> None:
        super().__init__()
        if not 0 <= input_dropout < 1:
            raise ValueError(f"input dropout is a share of the pixels in [0, 1), got {input_dropout}")
        sizes = [IMAGE_DIM + extra_inputs, hidden, hidden]
        if batch_norm:
            layers: list[nn.Module] = []
            for n_in, n_out in zip(sizes[:-1], sizes[1:]):
                layers += [nn.Linear(n_in, n_out), nn.BatchNorm1d(n_out), nn.ReLU()]
            self.net = nn.Sequential(*layers, nn.Linear(hidden, n_outputs))
        else:
            self.net = mlp([*sizes, n_outputs])
        self.input_dropout = nn.Dropout(input_dropout) if input_dropout > 0 else nn.Identity()

    def forward(self, x: torch.Tensor, extra: torch.Tensor | None = None) -> torch.Tensor:
        h = self.input_dropout(x.flatten(1))  # (B, 784)
        if extra is not None:
            h = torch.cat([h, extra], dim=1)  # (B, 784 + E)
        return self.net(h)


class Decoder(nn.Module):
    """Code (B, D) [+ one-hot label] -> Bernoulli means of the pixels (B, 1, 28, 28), as logits or in [0, 1]."""

    def __init__(self, *, latent_dim: int, hidden: int, extra_inputs: int = 0) -> None:
        super().__init__()
        self.net = mlp([latent_dim + extra_inputs, hidden, hidden, IMAGE_DIM])

    def logits(self, z: torch.Tensor, extra: torch.Tensor | None = None) -> torch.Tensor:
        if extra is not None:
            z = torch.cat([z, extra], dim=1)
        return self.net(z).view(-1, *IMAGE_SHAPE)

    def forward(self, z: torch.Tensor, extra: torch.Tensor | None = None) -> torch.Tensor:
        return torch.sigmoid(self.logits(z, extra))


class Discriminator(nn.Module):
    """Vector (B, D) [+ one-hot label] -> one logit per row: "came from the prior" vs "came from the encoder"."""

    def __init__(self, *, input_dim: int, hidden: int) -> None:
        super().__init__()
        self.net = mlp([input_dim, hidden, hidden, 1])

    def forward(self, z: torch.Tensor, extra: torch.Tensor | None = None) -> torch.Tensor:
        if extra is not None:
            z = torch.cat([z, extra], dim=1)
        return self.net(z).squeeze(1)  # (B,)


def reconstruction_loss(logits: torch.Tensor, x: torch.Tensor, kind: str) -> torch.Tensor:
    """Per-image reconstruction loss, summed over pixels and averaged over the batch.

    "bce": −log p(x|z) under independent Bernoulli pixels (pytorch/examples' VAE);
    "mse": ‖x − x̂‖² as in the seeds.
    """
    # The sum over pixels and batch, over the batch size: the per-image sums averaged, without building the
    # (B, 784) per-pixel losses (one fused kernel each way for BCE).
    if kind == "bce":
        total = nn.functional.binary_cross_entropy_with_logits(logits, x, reduction="sum")
    elif kind == "mse":
        total = nn.functional.mse_loss(torch.sigmoid(logits), x, reduction="sum")
    else:
        raise ValueError(f"unknown reconstruction loss {kind!r}; choose 'bce' or 'mse'")
    return total / logits.shape[0]


def set_requires_grad(module: nn.Module, flag: bool) -> None:
    for p in module.parameters():
        p.requires_grad_(flag)


@contextmanager
def frozen(module: nn.Module):
    """Inside, `module`'s weights get no gradient (the generator phase trains through a fixed D).

    Under a torch.func transform flags cannot change; the one such caller, aae.core.batched (several seeds as one
    model), freezes by passing the weights a phase does not train in detached.
    """
    try:
        set_requires_grad(module, False)
    except RuntimeError:
        yield module
        return
    try:
        yield module
    finally:
        set_requires_grad(module, True)


def discriminator_loss(
    logit_real: torch.Tensor, logit_fake: torch.Tensor, *, real_label: float = 1.0
) -> tuple[torch.Tensor, dict[str, float]]:
    """−[log D(real) + log(1 − D(fake))] with D's logits, and its accuracy; `real_label` < 1 smooths."""
    bce = nn.functional.binary_cross_entropy_with_logits
    loss = bce(logit_real, torch.full_like(logit_real, real_label)) + bce(logit_fake, torch.zeros_like(logit_fake))
    return loss, {"disc": loss.detach(), "disc_acc": discriminator_accuracy(logit_real, logit_fake)}


def discriminator_accuracy(logit_real: torch.Tensor, logit_fake: torch.Tensor) -> torch.Tensor:
    """The share of both halves D tells right (a detached 0-d tensor)."""
    return (0.5 * ((logit_real > 0).float().mean() + (logit_fake < 0).float().mean())).detach()


def generator_loss(logit_fake: torch.Tensor) -> tuple[torch.Tensor, dict[str, float]]:
    """The non-saturating generator loss −log D(fake) (Goodfellow et al., 2014, section 3)."""
    loss = nn.functional.binary_cross_entropy_with_logits(logit_fake, torch.ones_like(logit_fake))
    return loss, {"gen": loss.detach()}


def feature_matching(fake_features: torch.Tensor, real_features: torch.Tensor) -> torch.Tensor:
    """‖mean f(G(z)) − mean f(x)‖² over a batch (Salimans et al., 2016, §3.1); the real side carries no gradient."""
    return (fake_features.mean(0) - real_features.detach().mean(0)).pow(2).sum()


def add_feature_matching(loss: torch.Tensor, logs: dict[str, float], weight: float, fake_features: torch.Tensor,
                         real_features: torch.Tensor) -> tuple[torch.Tensor, dict[str, float]]:
    """A generator's loss plus `weight` × feature matching (logged as feat_match); unchanged when weight is 0."""
    if weight <= 0:
        return loss, logs
    matching = feature_matching(fake_features, real_features)
    return loss + weight * matching, {**logs, "feat_match": matching.detach()}
