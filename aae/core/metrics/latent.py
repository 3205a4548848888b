"""Latent-space measures: MMD to a prior, kNN accuracy and silhouette of codes, reconstruction error."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Literal

import numpy as np
import torch
from torch import Tensor

ArrayLike = Tensor | np.ndarray

DEFAULT_SCALES: tuple[float, ...] = (0.1, 0.2, 0.5, 1.0, 2.0, 5.0, 10.0)


def _rows64(x: ArrayLike) -> Tensor:
    t = torch.as_tensor(x).detach().cpu().to(torch.float64)
    return t.reshape(t.shape[0], -1)


def _rows(x: ArrayLike, device: torch.device | str | None) -> Tensor:
    """Rows of x as float64 on the CPU (device None: the evaluation's precision), else float32 on `device` (the
    trainer's per-epoch progress: no copy off the GPU, no wait for float64 there)."""
    if device is None:
        return _rows64(x)
    t = torch.as_tensor(x).detach().to(device=device, dtype=torch.float32)
    return t.reshape(t.shape[0], -1)


def _subsample(n: int, k: int, generator: torch.Generator) -> Tensor | None:
    """Indices of a seeded random subset of size k out of n, or None when all n are kept."""
    return None if n <= k else torch.randperm(n, generator=generator)[:k]


def _sq_dists(a: Tensor, b: Tensor) -> Tensor:
    """Squared Euclidean distances (Na, Nb) in float64."""
    d2 = a.pow(2).sum(1, keepdim=True) - 2.0 * a @ b.T + b.pow(2).sum(1)
    return d2.clamp_min_(0.0)


def mmd(
    x: ArrayLike,
    y: ArrayLike,
    *,
    kernel: Literal["imq", "rbf"] = "imq",
    scales: Sequence[float] = DEFAULT_SCALES,
    max_points: int = 2000,
    seed: int = 0,
    device: torch.device | str | None = None,
) -> float:
    """Unbiased estimate of MMD^2 between samples x (N, D) and y (M, D), e.g. encoded codes and prior draws.

    The kernel is a sum over `scales` s of
      imq: k(a, b) = C / (C + ||a - b||^2) with C = 2 D s^2  (inverse multiquadratic, as in the WAE paper,
           Tolstikhin et al. 2018; its heavy tails keep a gradient signal far from the data; the WAE code
           multiplies C by s, here s enters squared so that it reads as a length like the rbf bandwidth)
      rbf: k(a, b) = exp(-||a - b||^2 / (2 D s^2))
    Unbiased: the diagonal terms k(x_i, x_i) are left out, so the estimate can be slightly negative when the
    two distributions are equal. Each side is subsampled (seeded) to at most `max_points` rows, which keeps
    the cost at a few (max_points x max_points) matrices. `device`: None computes in float64 on the CPU (the
    evaluation's figures); a device computes there in float32 (the trainer's per-epoch progress).
    """
    a, b = _rows(x, device), _rows(y, device)
    if a.shape[1] != b.shape[1]:
        raise ValueError(f"dims differ: {a.shape[1]} vs {b.shape[1]}")
    if a.shape[0] < 2 or b.shape[0] < 2:
        raise ValueError("need at least two points on each side")
    if kernel not in ("imq", "rbf"):
        raise ValueError(f"unknown kernel {kernel!r}")
    gen = torch.Generator().manual_seed(seed)
    ia, ib = _subsample(a.shape[0], max_points, gen), _subsample(b.shape[0], max_points, gen)
    a = a if ia is None else a[ia.to(a.device)]
    b = b if ib is None else b[ib.to(b.device)]
    n, m, d = a.shape[0], b.shape[0], a.shape[1]

    cs = [2.0 * d * float(s) ** 2 for s in scales]
    total = 0.0
    for kernel_sum, weight in ((_kernel_sums(a, a, cs, kernel, True), 1.0 / (n * (n - 1))),
                               (_kernel_sums(b, b, cs, kernel, True), 1.0 / (m * (m - 1))),
                               (_kernel_sums(a, b, cs, kernel, False), -2.0 / (n * m))):
        total += float(kernel_sum) * weight
    return total


def _kernel_sums(a: Tensor, b: Tensor, cs: Sequence[float], kernel: str, skip_diagonal: bool) -> Tensor:
    """Σ over the scales' C of Σ_ij k_C(a_i, b_j), the diagonal i = j left out when `skip_diagonal` (a is b):
    rows of a in blocks of about 2¹⁹ distances, so memory stays at a few 4-MB matrices instead of ten (N, M)
    ones (2,000 × 2,000 float64: 290 MB more at the peak of a training run)."""
    block = max(64, 2**19 // max(b.shape[0], 1))
    total = a.new_zeros(())
    for start in range(0, a.shape[0], block):
        dist = _sq_dists(a[start:start + block], b)
        for c in cs:
            k = c / (c + dist) if kernel == "imq" else (-dist / c).exp()
            total += k.sum()
            if skip_diagonal:  # k(a_i, a_i): dropping it is what makes the estimate unbiased
                total -= k.diagonal(offset=start).sum()
    return total


def _labelled_subset(
    codes: ArrayLike, labels: ArrayLike, max_points: int, seed: int
) -> tuple[np.ndarray, np.ndarray]:
    """codes (N, D) and labels (N,) as numpy, seeded-subsampled to at most max_points rows."""
    z = _rows64(codes).numpy()
    y = torch.as_tensor(labels).detach().cpu().reshape(-1).numpy()
    if z.shape[0] != y.shape[0]:
        raise ValueError(f"{z.shape[0]} codes but {y.shape[0]} labels")
    idx = _subsample(z.shape[0], max_points, torch.Generator().manual_seed(seed))
    if idx is not None:
        z, y = z[idx.numpy()], y[idx.numpy()]
    return z, y


def knn_accuracy(
    codes: ArrayLike,
    labels: ArrayLike,
    *,
    k: int = 5,
    n_folds: int = 2,
    max_points: int = 10_000,
    seed: int = 0,
    device: torch.device | str | None = None,
) -> float:
    """How well labels can be read off the codes: k-nearest-neighbour accuracy under n-fold cross-validation.

    With the default `n_folds=2` each half is classified from the other half (held-out half, both ways);
    the accuracies of the folds are averaged. At most `max_points` (seeded) codes are used. In [0, 1].

    scikit-learn's KFold(shuffle=True, random_state=seed) folds and KNeighborsClassifier(k) votes (Euclidean,
    uniform weights, a tie to the smallest label), written with torch: the same figure without importing
    scikit-learn (1.2 s), and on `device` when given (float32 there; None: float64 on the CPU).
    """
    if n_folds < 2:
        raise ValueError("n_folds must be at least 2")
    z = _rows(codes, device)
    y = torch.as_tensor(labels).detach().reshape(-1).to(z.device)
    if z.shape[0] != y.shape[0]:
        raise ValueError(f"{z.shape[0]} codes but {y.shape[0]} labels")
    idx = _subsample(z.shape[0], max_points, torch.Generator().manual_seed(seed))
    if idx is not None:
        z, y = z[idx.to(z.device)], y[idx.to(z.device)]
    n = z.shape[0]
    if n < n_folds:
        raise ValueError(f"{n} codes cannot make {n_folds} folds")
    classes, y = torch.unique(y, return_inverse=True)  # sorted: argmax's first maximum is the smallest label
    order = np.arange(n)
    np.random.RandomState(seed).shuffle(order)  # KFold(shuffle=True, random_state=seed)
    sizes = np.full(n_folds, n // n_folds)
    sizes[:n % n_folds] += 1
    bounds = np.concatenate([[0], np.cumsum(sizes)])
    scores = []
    for f in range(n_folds):
        test = torch.from_numpy(order[bounds[f]:bounds[f + 1]]).to(z.device)
        fit = torch.from_numpy(np.concatenate([order[:bounds[f]], order[bounds[f + 1]:]])).to(z.device)
        hits = z.new_zeros(())
        for start in range(0, len(test), 256):  # (256, n) distances at a time
            rows = test[start:start + 256]
            near = _sq_dists(z[rows], z[fit]).topk(min(k, len(fit)), dim=1, largest=False).indices
            votes = torch.nn.functional.one_hot(y[fit][near], len(classes)).sum(dim=1)
            hits += (votes.argmax(dim=1) == y[rows]).sum()
        scores.append(float(hits) / len(test))
    return float(np.mean(scores))


def silhouette(codes: ArrayLike, labels: ArrayLike, *, sample_size: int = 2000, seed: int = 0) -> float:
    """Mean silhouette of the codes grouped by label (Euclidean), on a seeded subsample of `sample_size`.

    In [-1, 1]: near 1 for tight, well-separated classes, near 0 when the classes overlap.
    """
    from sklearn.metrics import silhouette_score

    z, y = _labelled_subset(codes, labels, sample_size, seed)
    if len(np.unique(y)) < 2:
        raise ValueError("silhouette needs at least two distinct labels")
    return float(silhouette_score(z, y))


def reconstruction_error(x: ArrayLike, x_hat: ArrayLike) -> dict[str, float]:
    """Reconstruction error of images x (B, ...) in [0, 1] by x_hat (same shape).

    Returns {"mse": mean squared error per pixel, "bce": binary cross-entropy summed over the pixels of an
    image and averaged over images (nats)}. x_hat is clamped to [1e-6, 1 - 1e-6] for the BCE only.
    """
    a = torch.as_tensor(x).detach().cpu().to(torch.float64)
    b = torch.as_tensor(x_hat).detach().cpu().to(torch.float64)
    if a.shape != b.shape:
        raise ValueError(f"shapes differ: {tuple(a.shape)} vs {tuple(b.shape)}")
    a, b = a.reshape(a.shape[0], -1), b.reshape(b.shape[0], -1)  # (B, P)
    mse = (a - b).pow(2).mean()
    p = b.clamp(1e-6, 1.0 - 1e-6)
    bce = -(a * p.log() + (1.0 - a) * (1.0 - p).log()).sum(dim=1).mean()
    return {"mse": float(mse), "bce": float(bce)}
