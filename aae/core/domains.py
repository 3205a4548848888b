"""Image domains for translation (CycleGAN), all as 28×28 images in [0, 1], and the pairs translated between.

MNIST and Fashion-MNIST come from aae.core.data. "digits8" is scikit-learn's bundled digits (`load_digits`: 1,797
handwritten digits at 8×8, grey levels 0–16, from the UCI optical-recognition set): each is upscaled
bilinearly to a 20×20 box and placed in the middle of a 28×28 frame, where an MNIST digit sits, with values
scaled to [0, 1]. It ships with scikit-learn, so it needs no download. Its split is seeded: 1,197 training,
300 validation and 300 test images.
"""

from __future__ import annotations

import inspect
import os
from dataclasses import dataclass
from typing import Literal

import torch
import torch.nn.functional as F

from aae.core.data import CLASS_NAMES, DATASET_TITLES, Splits, load_dataset

DomainName = Literal["mnist", "fashion-mnist", "digits8"]
DOMAIN_NAMES: tuple[str, ...] = ("mnist", "fashion-mnist", "digits8")
DOMAIN_TITLES = {**DATASET_TITLES, "digits8": "8×8 digits"}
DIGITS8_SPLIT = (1197, 300, 300)  # training, validation, test
DIGITS8_LEVELS = 16.0  # load_digits' largest grey level
BOX, FRAME = 20, 28  # an MNIST digit's box and frame


@dataclass(frozen=True)
class DomainPair:
    """Two domains a CycleGAN translates between: A (the trainer's dataset) and B (the model loads it itself)."""

    name: str
    a: str
    b: str
    same_classes: bool  # class k of A is class k of B (digits and digits): translation should keep the class
    summary: str

    def domain(self, direction: str) -> tuple[str, str]:
        """(source, target) domains of `direction` ("ab" or "ba")."""
        check_direction(direction)
        return (self.a, self.b) if direction == "ab" else (self.b, self.a)

    def title(self, direction: str) -> str:
        """"MNIST → 8×8 digits": a direction for people."""
        source, target = self.domain(direction)
        return f"{DOMAIN_TITLES[source]} → {DOMAIN_TITLES[target]}"


PAIRS: dict[str, DomainPair] = {
    "mnist-digits8": DomainPair("mnist-digits8", "mnist", "digits8", True,
                                "MNIST digits and scikit-learn's 8×8 digits (upscaled): the same ten classes"),
    "mnist-fashion": DomainPair("mnist-fashion", "mnist", "fashion-mnist", False,
                                "MNIST digits and Fashion-MNIST clothes: no class of one is a class of the other"),
}
PAIR_NAMES: tuple[str, ...] = tuple(PAIRS)


def check_direction(direction: str) -> None:
    if direction not in ("ab", "ba"):
        raise ValueError(f"a direction is 'ab' (A to B) or 'ba' (B to A), not {direction!r}")


def pair(name: str) -> DomainPair:
    if name not in PAIRS:
        raise ValueError(f"unknown domain pair {name!r}; choose one of {', '.join(PAIRS)}")
    return PAIRS[name]


def class_names(domain: str) -> list[str]:
    return CLASS_NAMES["mnist"] if domain == "digits8" else CLASS_NAMES[domain]


def upscale_digits8(images: torch.Tensor) -> torch.Tensor:
    """8×8 images (N, 8, 8) with grey levels 0–16 -> (N, 1, 28, 28) float32 in [0, 1], MNIST's layout: bilinear
    to 20×20, placed 4 pixels in from each edge of the 28×28 frame. Also the "naive upscale" that a translation
    into MNIST style is compared with."""
    x = torch.as_tensor(images, dtype=torch.float32)
    if x.dim() == 2:
        x = x.unsqueeze(0)
    x = (x / DIGITS8_LEVELS).clamp(0, 1).unsqueeze(1)  # (N, 1, 8, 8)
    box = F.interpolate(x, size=(BOX, BOX), mode="bilinear", align_corners=False).clamp(0, 1)
    margin = (FRAME - BOX) // 2
    return F.pad(box, (margin, margin, margin, margin))


def _splits(name: str, train, val, test, *, with_test: bool) -> Splits:
    """Splits of (images, labels) pairs; without the test images unless asked (where aae.core.data withholds them)."""
    splits = Splits(name, *train, *val, *test)
    return splits if with_test or not hasattr(splits, "without_test") else splits.without_test()


def digits8_indices(seed: int = 0) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """Which of `load_digits()`'s 1,797 images are in the training, validation and test splits: a permutation
    drawn with `seed`, cut 1,197 / 300 / 300."""
    n_train, n_val, n_test = DIGITS8_SPLIT
    order = torch.randperm(n_train + n_val + n_test, generator=torch.Generator().manual_seed(seed))
    return order[:n_train], order[n_train:n_train + n_val], order[n_train + n_val:]


def load_digits8(*, seed: int = 0, device: torch.device | str = "cpu", train_limit: int | None = None,
                 test: bool = False) -> Splits:
    """scikit-learn's 8×8 digits as 28×28 Splits ("digits8"): 1,197 / 300 / 300 images drawn with `seed`.
    The test images are for the final evaluation only: left out unless `test`, as aae.core.data does."""
    from sklearn.datasets import load_digits

    digits = load_digits()
    images = upscale_digits8(torch.from_numpy(digits.images))
    labels = torch.from_numpy(digits.target).long()
    train, val, held = digits8_indices(seed)
    if train_limit is not None:
        train = train[:train_limit]
    return _splits("digits8", (images[train], labels[train]), (images[val], labels[val]),
                   (images[held], labels[held]), with_test=test).to(device)


def load_domain(name: str, *, data_dir: str | os.PathLike | None = None, device: torch.device | str = "cpu",
                seed: int = 0, train_limit: int | None = None, test: bool = False) -> Splits:
    """A domain's train / validation (and with `test`, test) Splits. MNIST and Fashion-MNIST: aae.core.data's split,
    50,000 / 10,000 and the official test set."""
    if name == "digits8":
        return load_digits8(seed=seed, device=device, train_limit=train_limit, test=test)
    if name not in DOMAIN_NAMES:
        raise ValueError(f"unknown domain {name!r}; choose one of {', '.join(DOMAIN_NAMES)}")
    asks_for_test = "test" in inspect.signature(load_dataset).parameters  # aae.core.data withholds it unless asked
    return load_dataset(name, data_dir=data_dir, device=device, seed=seed, train_limit=train_limit,
                        **({"test": test} if asks_for_test else {}))


def to_domain(image: torch.Tensor, domain: str) -> torch.Tensor:
    """A digit in MNIST form (28, 28) or (N, 1, 28, 28), e.g. from aae.app.digits, as an image of `domain`: for the 8×8
    digits, its 20×20 box averaged down to 8×8 and rounded to their 17 grey levels, then upscaled as they are
    (what the digit would be in that data set); MNIST and Fashion-MNIST take it as it is."""
    x = torch.as_tensor(image, dtype=torch.float32)
    x = x.reshape(-1, 1, FRAME, FRAME)
    if domain != "digits8":
        return x
    return upscale_digits8(digits8_grid(x))


def digits8_grid(images: torch.Tensor) -> torch.Tensor:
    """28×28 images (N, 1, 28, 28) in [0, 1] -> (N, 8, 8) grey levels 0–16, the form `load_digits` keeps its digits
    in: the 20×20 box averaged down to 8×8 and rounded."""
    x = torch.as_tensor(images, dtype=torch.float32).reshape(-1, 1, FRAME, FRAME)
    margin = (FRAME - BOX) // 2
    small = F.interpolate(x[..., margin:margin + BOX, margin:margin + BOX], size=(8, 8), mode="area")
    return (small.clamp(0, 1) * DIGITS8_LEVELS).round()[:, 0]
