"""Parzen-window log-likelihood of held-out data under a generator's samples (GAN/AAE papers' protocol)."""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np
import torch
from torch import Tensor

ArrayLike = Tensor | np.ndarray


def _as_rows(x: ArrayLike) -> Tensor:
    """(N, ...) tensor or array -> (N, D) float tensor on the CPU; float64 input stays float64."""
    t = torch.as_tensor(x).detach().cpu()
    if t.dim() < 2:
        raise ValueError(f"expected a batch of points (N, D) or images (N, ...), got shape {tuple(t.shape)}")
    t = t.reshape(t.shape[0], -1)
    # float32 matmul is about twice as fast as float64 on CPU; the squared norms are still taken in float64
    # below, so only the cross term carries float32 rounding. Pass float64 for an all-float64 computation.
    return t if t.dtype == torch.float64 else t.to(torch.float32)


def _pair(samples: ArrayLike, points: ArrayLike) -> tuple[Tensor, Tensor]:
    """Both sets as (N, D) rows in one dtype: float64 if either is, else float32."""
    s, p = _as_rows(samples), _as_rows(points)
    dtype = torch.promote_types(s.dtype, p.dtype)
    return s.to(dtype), p.to(dtype)


def _default_sigmas() -> list[float]:
    # The GAN paper's code: numpy.logspace(-1, 0, 10), for pixel values in [0, 1].
    return [float(s) for s in torch.logspace(-1, 0, 10, dtype=torch.float64)]


def _parzen_ll_multi(
    samples: Tensor, points: Tensor, sigmas: Sequence[float], *, batch_size: int, sample_batch_size: int
) -> Tensor:
    """Log-likelihood of every point under the Parzen window of `samples`, for several bandwidths at once.

    samples (M, D), points (N, D) -> (S, N) float64, S = len(sigmas). The squared distances of a block of
    points to a block of samples are computed once and reused for every sigma, so a sigma sweep costs
    about as much as a single evaluation.
    """
    if samples.shape[1] != points.shape[1]:
        raise ValueError(f"samples have {samples.shape[1]} dims but points have {points.shape[1]}")
    if batch_size < 1 or sample_batch_size < 1:
        raise ValueError("batch sizes must be positive")
    m, d = samples.shape
    n = points.shape[0]
    sig = torch.as_tensor(list(sigmas), dtype=torch.float64)  # (S,)
    if sig.numel() == 0 or bool((sig <= 0).any()):
        raise ValueError("sigmas must be a non-empty list of positive numbers")

    # Centre both sets on the sample mean: distances are unchanged, but the norms shrink, which reduces the
    # cancellation in ||x||^2 - 2 x.s + ||s||^2. Centring stays in the input dtype and the float64 norms are
    # taken block by block, so no float64 copy of a whole set is made.
    centre = samples.mean(dim=0, dtype=torch.float64).to(samples.dtype)  # (D,)
    samples = samples - centre
    points = points - centre
    s_sq = torch.cat(
        [b.to(torch.float64).pow(2).sum(dim=1) for b in samples.split(sample_batch_size)]
    )  # (M,)

    inv_two_var = 1.0 / (2.0 * sig.pow(2))  # (S,)
    log_norm = math.log(m) + 0.5 * d * torch.log(2.0 * math.pi * sig.pow(2))  # (S,)

    out = torch.empty(sig.numel(), n, dtype=torch.float64)
    for p0 in range(0, n, batch_size):
        x = points[p0 : p0 + batch_size]  # (B, D)
        x_sq = x.to(torch.float64).pow(2).sum(dim=1, keepdim=True)  # (B, 1)
        # Running log-sum-exp over sample blocks, one row per sigma: (S, B).
        acc = torch.full((sig.numel(), x.shape[0]), -math.inf, dtype=torch.float64)
        for s0 in range(0, m, sample_batch_size):
            s = samples[s0 : s0 + sample_batch_size]  # (Ms, D)
            cross = (x @ s.T).to(torch.float64)  # (B, Ms)
            d2 = (x_sq - 2.0 * cross + s_sq[s0 : s0 + sample_batch_size]).clamp_min_(0.0)  # (B, Ms)
            for k in range(sig.numel()):
                block = torch.logsumexp(d2 * -inv_two_var[k], dim=1)  # (B,)
                acc[k] = torch.logaddexp(acc[k], block)
        out[:, p0 : p0 + x.shape[0]] = acc - log_norm[:, None]
    return out


def parzen_log_likelihood(
    samples: ArrayLike,
    points: ArrayLike,
    sigma: float,
    *,
    batch_size: int = 100,
    sample_batch_size: int = 10_000,
) -> Tensor:
    """Log-density of each point under an isotropic Gaussian kernel density estimate built on `samples`.

    log p(x) = logsumexp_i(-||x - s_i||^2 / (2 sigma^2)) - log M - (D/2) log(2 pi sigma^2)

    samples (M, D) or (M, 1, 28, 28), points (N, D) or images likewise -> (N,) float64, in nats.
    Points are processed `batch_size` at a time and samples `sample_batch_size` at a time, so memory is
    about batch_size * sample_batch_size doubles (8 MB with the defaults) whatever M and N are.
    """
    s, p = _pair(samples, points)
    ll = _parzen_ll_multi(s, p, [float(sigma)], batch_size=batch_size, sample_batch_size=sample_batch_size)
    return ll[0]


def select_parzen_sigma(
    samples: ArrayLike,
    validation: ArrayLike,
    *,
    sigmas: Sequence[float] | Tensor | None = None,
    batch_size: int = 100,
    sample_batch_size: int = 10_000,
) -> tuple[float, dict[float, float]]:
    """The bandwidth that maximises the mean log-likelihood of `validation`, and the score of every candidate.

    Default grid: 10 log-spaced values from 0.1 to 1.0, as in the GAN paper's code (pixels in [0, 1]).
    Returns (best sigma, {sigma: mean validation log-likelihood}).
    """
    grid = _default_sigmas() if sigmas is None else [float(v) for v in torch.as_tensor(sigmas).reshape(-1)]
    s, v = _pair(samples, validation)
    ll = _parzen_ll_multi(s, v, grid, batch_size=batch_size, sample_batch_size=sample_batch_size)  # (S, N)
    means = ll.mean(dim=1)
    scores = {g: float(mu) for g, mu in zip(grid, means.tolist(), strict=True)}
    best = grid[int(torch.argmax(means))]
    return best, scores


@dataclass(frozen=True)
class ParzenResult:
    """Mean test log-likelihood (nats) with its standard error, and how sigma was chosen."""

    mean: float
    stderr: float  # std / sqrt(n_test), with the population std (ddof=0) as the GAN paper's code computes it
    sigma: float  # the bandwidth chosen on the validation set
    n_samples: int  # generator samples in the kernel density estimate (the papers use 10,000)
    n_test: int
    sigma_scores: dict[float, float] = field(default_factory=dict)  # sigma -> mean validation log-likelihood


def parzen_evaluate(
    samples: ArrayLike,
    validation: ArrayLike,
    test: ArrayLike,
    *,
    sigmas: Sequence[float] | Tensor | None = None,
    batch_size: int = 100,
    sample_batch_size: int = 10_000,
) -> ParzenResult:
    """The full protocol: choose sigma on `validation`, then report the mean log-likelihood of `test`."""
    sigma, scores = select_parzen_sigma(
        samples, validation, sigmas=sigmas, batch_size=batch_size, sample_batch_size=sample_batch_size
    )
    s, t = _pair(samples, test)
    ll = _parzen_ll_multi(s, t, [sigma], batch_size=batch_size, sample_batch_size=sample_batch_size)[0]
    n = ll.numel()
    return ParzenResult(
        mean=float(ll.mean()),
        stderr=float(ll.std(correction=0) / math.sqrt(n)),
        sigma=sigma,
        n_samples=int(s.shape[0]),
        n_test=n,
        sigma_scores=scores,
    )
