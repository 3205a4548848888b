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


# When a class count means something. A classifier gives every image a class, noise included, and is often
# sure of it: the small GAN's grey blob of its first 100 steps got mean confidence 0.73–0.84 (one "class").
# Confidence alone let that through; the Fréchet distance of the classifier's features does not. Measured on
# one duel with the page's CPU defaults (bench/duel_digits.py, 500 samples a frame, against 5,000 test digits):
# 500 other real digits 33; the AAE 976 at step 100 (blobs), 517 at step 200 (first digits one can read),
# 334 at step 600; the small GAN 1,026 → 777 over 600 steps, never readable.
TRUSTED_CONFIDENCE = 0.7  # the classifier's mean confidence on the samples
DIGIT_FRECHET = 550.0  # the Fréchet distance of their classifier features to the test digits'


def coverage_trust(coverage: dict) -> tuple[bool, str]:
    """Whether a frame's class coverage can be trusted, and if not, why (a sentence for people).

    `coverage` holds "confidence" and, where measured, "frechet" (aae.app.jobs.DuelJob's frames).
    """
    confidence, frechet = coverage.get("confidence"), coverage.get("frechet")
    if frechet is not None and frechet > DIGIT_FRECHET:
        return False, (f"the samples are not digits yet: the Fréchet distance of their classifier features to real "
                       f"test digits is {frechet:,.0f}, above {DIGIT_FRECHET:,.0f} (real digits: about 30; the "
                       "first readable grids: about 500)")
    if confidence is not None and confidence < TRUSTED_CONFIDENCE:
        return False, (f"the classifier is unsure what the samples are: its mean confidence on them is "
                       f"{confidence:.2f}, below {TRUSTED_CONFIDENCE}")
    return True, ""
