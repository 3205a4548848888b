"""Input corruption for the denoising AAE: the encoder sees a damaged image, the decoder must give back the clean one.

Three kinds, each with one `level` in [0, 1]:
    gaussian     x + level · N(0, 1), clipped to [0, 1]   (level = the noise's standard deviation)
    masking      each pixel set to 0 with probability level (dropped strokes)
    salt_pepper  each pixel set to 0 or 1 (even odds) with probability level
"""

from __future__ import annotations

from typing import Literal

import torch

Corruption = Literal["none", "gaussian", "masking", "salt_pepper"]
CORRUPTIONS: tuple[str, ...] = ("none", "gaussian", "masking", "salt_pepper")


def check_corruption(kind: str, level: float) -> None:
    """ValueError with a message for people when (kind, level) is not a corruption this module makes."""
    if kind not in CORRUPTIONS:
        raise ValueError(f"unknown corruption {kind!r}; choose one of {', '.join(CORRUPTIONS)}")
    if not 0.0 <= level <= 1.0:
        raise ValueError(f"the corruption level must be between 0 and 1, got {level}")
    if kind != "none" and level == 0.0:
        raise ValueError(f"a {kind} corruption needs a level above 0 (e.g. 0.3)")


def corrupt(
    x: torch.Tensor, kind: Corruption | str, level: float, *, generator: torch.Generator | None = None
) -> torch.Tensor:
    """A corrupted copy of images `x` (any shape, values in [0, 1]); `generator` makes it repeatable.

    With a generator the noise is drawn on the CPU and moved to x's device, so one seed gives
    the same corruption on every device.
    """
    check_corruption(kind, level)
    if kind == "none":
        return x

    def draw(fn):
        if generator is None:
            return fn(x.shape, device=x.device, dtype=x.dtype)
        return fn(x.shape, generator=generator, dtype=x.dtype).to(x.device)

    if kind == "gaussian":
        return (x + level * draw(torch.randn)).clamp(0.0, 1.0)
    hit = draw(torch.rand) < level
    if kind == "masking":
        return x.masked_fill(hit, 0.0)
    salt = draw(torch.rand) < 0.5
    return torch.where(hit, salt.to(x.dtype), x)
