"""Fréchet distance between two feature sets (the FID formula), and its version on our MNIST classifier."""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np
import torch
from torch import Tensor

if TYPE_CHECKING:  # only for the annotation: keeps aae.core.metrics importable without the model package
    from aae.core.models.classifier import MnistClassifier

ArrayLike = Tensor | np.ndarray


def _moments(features: ArrayLike) -> tuple[Tensor, Tensor]:
    """(N, D) features -> mean (D,) and unbiased covariance (D, D), both float64."""
    f = torch.as_tensor(features).detach().cpu().to(torch.float64)
    if f.dim() != 2:
        f = f.reshape(f.shape[0], -1)
    if f.shape[0] < 2:
        raise ValueError("need at least two feature vectors to estimate a covariance")
    mu = f.mean(dim=0)
    centred = f - mu
    cov = centred.T @ centred / (f.shape[0] - 1)
    return mu, cov


def _psd_sqrt(mat: Tensor) -> Tensor:
    """Symmetric square root of a symmetric PSD matrix; tiny negative eigenvalues from rounding become 0."""
    w, v = torch.linalg.eigh(0.5 * (mat + mat.T))
    return (v * w.clamp_min(0.0).sqrt()) @ v.T


def frechet_distance(features_a: ArrayLike, features_b: ArrayLike) -> float:
    """||mu_a - mu_b||^2 + Tr(S_a + S_b - 2 (S_a S_b)^(1/2)) between Gaussians fitted to two (N, D) sets.

    Tr((S_a S_b)^(1/2)) is taken as the sum of square roots of the eigenvalues of the symmetric PSD
    matrix S_a^(1/2) S_b S_a^(1/2), which has the same spectrum as S_a S_b. That avoids scipy's
    `sqrtm` of a non-symmetric product and the complex parts it returns. All in float64.
    """
    mu_a, cov_a = _moments(features_a)
    mu_b, cov_b = _moments(features_b)
    if mu_a.shape != mu_b.shape:
        raise ValueError(f"feature dims differ: {mu_a.shape[0]} vs {mu_b.shape[0]}")
    root_a = _psd_sqrt(cov_a)
    middle = root_a @ cov_b @ root_a  # (D, D), symmetric PSD up to rounding
    eig = torch.linalg.eigvalsh(0.5 * (middle + middle.T)).clamp_min(0.0)
    tr_sqrt = eig.sqrt().sum()
    dist = (mu_a - mu_b).pow(2).sum() + torch.trace(cov_a) + torch.trace(cov_b) - 2.0 * tr_sqrt
    # The distance is non-negative; rounding can leave about -1e-12 for identical sets.
    return max(float(dist), 0.0)


@torch.no_grad()
def _classifier_features(classifier: MnistClassifier, images: ArrayLike, batch_size: int) -> Tensor:
    """Penultimate features (N, feature_dim) of images (N, 1, 28, 28) in [0, 1], on the CPU."""
    x = torch.as_tensor(images)
    if x.dim() == 2:  # (N, 784) flattened images
        x = x.reshape(-1, 1, 28, 28)
    elif x.dim() == 3:  # (N, 28, 28)
        x = x.unsqueeze(1)
    device = classifier.device
    out = [
        classifier.features(x[i : i + batch_size].to(device=device, dtype=torch.float32)).cpu()
        for i in range(0, x.shape[0], batch_size)
    ]
    return torch.cat(out)


def classifier_features(classifier: MnistClassifier, images: ArrayLike, *, batch_size: int = 500) -> Tensor:
    """The classifier's penultimate features of `images`, in eval mode (restored afterwards), on the CPU."""
    was_training = classifier.training
    classifier.eval()
    try:
        return _classifier_features(classifier, images, batch_size)
    finally:
        classifier.train(was_training)


def classifier_frechet_distance(
    classifier: MnistClassifier, images_a: ArrayLike, images_b: ArrayLike, *, batch_size: int = 500
) -> float:
    """Fréchet distance between the classifier's penultimate features of two image sets (an MNIST 'FID').

    The classifier runs in eval mode (restored afterwards) with gradients off, `batch_size` images at a time.
    """
    return frechet_distance(classifier_features(classifier, images_a, batch_size=batch_size),
                            classifier_features(classifier, images_b, batch_size=batch_size))
