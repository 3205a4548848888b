"""Class coverage of generated samples: how evenly they spread over the classes; mode collapse as a number."""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import torch
from torch import Tensor


@dataclass(frozen=True)
class Coverage:
    """Share of each predicted class and summaries of how far they are from uniform."""

    shares: list[float]  # fraction of samples per class, sums to 1
    entropy: float  # of the shares, in nats; log(n_classes) when uniform, 0 when a single class
    normalized_entropy: float  # entropy / log(n_classes): 1 = uniform, 0 = one class
    missing_modes: int  # classes whose share is below half the fair share 1 / n_classes
    modes_covered: int  # n_classes - missing_modes


def class_coverage(predicted: Tensor | np.ndarray, *, n_classes: int = 10) -> Coverage:
    """Coverage of the class ids `predicted` (N,), typically a classifier's labels for N generated images."""
    if n_classes < 2:
        raise ValueError("n_classes must be at least 2")
    pred = torch.as_tensor(predicted).detach().cpu().reshape(-1).to(torch.long)
    if pred.numel() == 0:
        raise ValueError("no predictions")
    if int(pred.min()) < 0 or int(pred.max()) >= n_classes:
        raise ValueError(f"class ids must lie in [0, {n_classes})")
    counts = torch.bincount(pred, minlength=n_classes).to(torch.float64)
    shares = counts / counts.sum()  # (n_classes,)
    nonzero = shares[shares > 0]  # 0 log 0 = 0
    entropy = float(-(nonzero * nonzero.log()).sum())
    missing = int((shares < 0.5 / n_classes).sum())
    return Coverage(
        shares=[float(s) for s in shares],
        entropy=entropy,
        normalized_entropy=entropy / math.log(n_classes),
        missing_modes=missing,
        modes_covered=n_classes - missing,
    )
