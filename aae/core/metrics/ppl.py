"""Perceptual path length (Karras et al., 2019, §3.2): how much a generator's image changes per small step in its
latent space, in a perceptual distance. A well-disentangled space changes the image smoothly along a path;
an entangled one curves through other images, which shows up as long paths.

    PPL = E[ d(G(I(a, b; t)), G(I(a, b; t + ε))) / ε² ]

with a and b two codes from the prior, I slerp in Z (lerp in W), ε = 1e-4, t = 0 ("endpoint" sampling: the
path's length where it leaves a prior sample, as StyleGAN's `sampling="end"`) or t ~ U(0, 1) ("full"), and the
distances below the 1st and above the 99th percentile dropped before the mean, as in the paper.

The paper's d is LPIPS on VGG features; no such network can be downloaded here, so d is the squared distance of
the project's own classifier's penultimate features (those the Fréchet distance uses), each scaled to unit length
first as LPIPS scales its features (so an image's overall feature magnitude does not count, only its direction).
The numbers are comparable between models of one dataset measured with the same classifier, not with the
paper's.

Why not torchmetrics' `perceptual_path_length` (1.9.0), which does take a custom similarity network: its
generator contract (`sample(n)` returning codes) clashes with LatentModel.sample (images), so every model would
need a wrapper module; it has no W space (StyleGAN's mapping would need another wrapper); it draws its codes
from the global random state; and it would add two packages to the project for about forty lines of arithmetic.
This module does the same arithmetic (endpoint sampling, the same percentile cut) on any generator's `decode`,
seeded, and in W for models with a style space. Checked against it (torchmetrics 1.9.0 installed aside, the
shipped GAN, 500 pairs, lerp, the same codes and this distance as its sim_net): 4.87119 there, 4.87123 here.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Literal

import torch
from torch import Tensor

if TYPE_CHECKING:  # annotations only: keeps aae.core.metrics importable without the model package
    from aae.core.models import LatentModel
    from aae.core.models.classifier import MnistClassifier

Space = Literal["z", "w"]
Sampling = Literal["end", "full"]
EPSILON = 1e-4  # the paper's step
# `aae eval`'s default pairs (the paper: 100,000): 1–3 s on a CPU; the mean's spread between seeds 0–4 was 8, 13 and
# 5 % (relative std) on the shipped GAN, 8-D AAE and 8-D VAE (2026-12-02)
N_PAIRS = 500


@dataclass(frozen=True)
class PPLResult:
    mean: float  # over the distances kept (between the percentiles)
    std: float
    distances: Tensor  # (n_pairs,) every pair's d / ε², before the cut


def lerp(a: Tensor, b: Tensor, t: Tensor) -> Tensor:
    return a + (b - a) * t[:, None]


def slerp(a: Tensor, b: Tensor, t: Tensor) -> Tensor:
    """Spherical interpolation of directions, with the length interpolated linearly (a Gaussian code stays on
    its shell; a StyleGAN's mapping normalises the length away, so there it is the paper's slerp on the sphere).
    Parallel pairs fall back to lerp."""
    na, nb = a.norm(dim=1, keepdim=True), b.norm(dim=1, keepdim=True)
    ua, ub = a / na.clamp_min(1e-12), b / nb.clamp_min(1e-12)
    cos = (ua * ub).sum(dim=1, keepdim=True).clamp(-1.0, 1.0)
    omega = torch.acos(cos)
    sin = torch.sin(omega)
    t = t[:, None]
    safe = sin.abs() > 1e-6
    direction = torch.where(safe, (torch.sin((1 - t) * omega) * ua + torch.sin(t * omega) * ub)
                            / torch.where(safe, sin, torch.ones_like(sin)), lerp(ua, ub, t[:, 0]))
    return direction * (na + (nb - na) * t)


def feature_distance(classifier: MnistClassifier, images_a: Tensor, images_b: Tensor) -> Tensor:
    """Per pair (B,): ‖f(a)/‖f(a)‖ − f(b)/‖f(b)‖‖² of the classifier's penultimate features f."""
    was_training = classifier.training
    classifier.eval()
    try:
        with torch.no_grad():
            device = classifier.device
            fa = classifier.features(images_a.to(device=device, dtype=torch.float32)).double()
            fb = classifier.features(images_b.to(device=device, dtype=torch.float32)).double()
    finally:
        classifier.train(was_training)
    fa = fa / fa.norm(dim=1, keepdim=True).clamp_min(1e-12)
    fb = fb / fb.norm(dim=1, keepdim=True).clamp_min(1e-12)
    return (fa - fb).pow(2).sum(dim=1).cpu()


def path_lengths(
    generate,
    endpoints: tuple[Tensor, Tensor],
    distance,
    *,
    interpolation: Literal["lerp", "slerp"] = "lerp",
    sampling: Sampling = "end",
    epsilon: float = EPSILON,
    generator: torch.Generator | None = None,
    batch_size: int = 128,
) -> Tensor:
    """d(G(I(a, b; t)), G(I(a, b; t + ε))) / ε² for each pair of rows of `endpoints` (a, b) — the core, for any
    `generate(codes, rows) -> images` (codes: the starts of the pairs `rows`, then their steps) and
    `distance(images, images) -> (B,)`."""
    a, b = endpoints
    interpolate = slerp if interpolation == "slerp" else lerp
    n = len(a)
    t = torch.rand(n, generator=generator, dtype=torch.float64) if sampling == "full" \
        else torch.zeros(n, dtype=torch.float64)
    out = []
    for i in range(0, n, batch_size):
        ai, bi, ti = a[i:i + batch_size].double(), b[i:i + batch_size].double(), t[i:i + batch_size].to(a.device)
        start = interpolate(ai, bi, ti)
        step = interpolate(ai, bi, ti + epsilon)
        images = generate(torch.cat([start, step]).float(), slice(i, i + len(ai)))
        first, second = images.split(len(ai))
        out.append(distance(first, second) / epsilon ** 2)
    return torch.cat(out).float()


def summarise(distances: Tensor, *, low: float = 0.01, high: float = 0.99) -> PPLResult:
    """The mean and std of the distances between the `low` and `high` quantiles (the paper's cut of outliers)."""
    d = distances.double()
    lo, hi = torch.quantile(d, low, interpolation="lower"), torch.quantile(d, high, interpolation="lower")
    kept = d[(d >= lo) & (d <= hi)]
    return PPLResult(float(kept.mean()), float(kept.std()) if len(kept) > 1 else 0.0, distances)


@torch.no_grad()
def perceptual_path_length(
    model: LatentModel,
    classifier: MnistClassifier,
    *,
    space: Space = "z",
    n_pairs: int = N_PAIRS,
    sampling: Sampling = "end",
    epsilon: float = EPSILON,
    seed: int = 0,
) -> PPLResult:
    """PPL of a generative model's decoder over its prior, with `classifier` features as the distance.

    space "z": the codes `decode` takes, paths between two prior samples (slerp for a Gaussian prior, lerp for
    any other shape). space "w": a model with a style space (StyleGAN: `mapping`, `synthesize`), lerp between the
    two codes' w. A conditional model draws one random class per pair and writes both ends as it. Seeded: the
    same model, seed and classifier give the same number.
    """
    if n_pairs < 2:
        raise ValueError(f"PPL needs at least 2 pairs, not {n_pairs}")
    model.eval()
    gen = torch.Generator().manual_seed(seed)
    labels = None
    if model.conditional:
        labels = torch.randint(0, model.n_content, (n_pairs,), generator=gen).to(model.device)
    a = model.sample_latent(n_pairs, labels=labels, generator=gen)
    b = model.sample_latent(n_pairs, labels=labels, generator=gen)
    if space == "w":
        if not hasattr(model, "synthesize"):
            raise ValueError(f"a {model.kind} has no style space W: measure its PPL in z")
        a, b = model.mapping(a), model.mapping(b)
        interpolation = "lerp"

        def generate(w: Tensor, rows: slice) -> Tensor:
            return model.synthesize(w)
    elif space == "z":
        prior = getattr(model, "prior", None)
        interpolation = "slerp" if getattr(prior, "name", "gaussian") == "gaussian" else "lerp"

        def generate(z: Tensor, rows: slice) -> Tensor:  # z: the starts of pairs `rows`, then their steps
            return model.decode(z, labels=None if labels is None else labels[rows].repeat(2))
    else:
        raise ValueError(f"space is 'z' or 'w', not {space!r}")
    distances = path_lengths(generate, (a, b), lambda x, y: feature_distance(classifier, x, y),
                             interpolation=interpolation, sampling=sampling, epsilon=epsilon, generator=gen)
    return summarise(distances)
