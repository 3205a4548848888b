"""How much of MNIST the 8×8 digits' classifier can read at all: the ceiling on "class kept" for MNIST → 8×8.

The CycleGAN's class preservation (MNIST → 8×8 digits) is read by a classifier trained on the 8×8 digits' 1,197
training images. This prints what that classifier reads on MNIST validation digits (never the test set):
untranslated, and rendered exactly as an 8×8 digit is made (its 20×20 box averaged down to 8×8, rounded to the
17 grey levels, upscaled back: `aae.core.domains.to_domain`). A translation that keeps the writing of the digit and
only changes its rendering cannot score much above the second figure; above it, the translation must rewrite the
digit in the 8×8 writers' hand. With `--affine`, also a classifier trained with random rotations, stretches and
shears instead of shifts alone, to show how much of the gap is the classifier's. With `--geometry`, also MNIST
cropped to each digit's bounding box and scaled to the 8×8 digits' full height (its shape kept) or stretched to fill
the box before rendering, and a reader of another kind (the pixel SVM of `aae eval`) on the usual rendering.

    python bench/digits8_ceiling.py [--images 5000] [--affine] [--geometry]
"""

from __future__ import annotations

import argparse
import math
import time

import torch
import torch.nn.functional as F


def affine(x: torch.Tensor, generator: torch.Generator, pixels: int) -> torch.Tensor:
    """Each image turned by up to 15°, stretched 0.75–1.25× across and 0.8–1.2× down, sheared up to 0.3, moved
    up to 15 % of the frame (`pixels` is ignored: the shift is part of the transform)."""
    n = len(x)

    def uniform(low: float, high: float) -> torch.Tensor:
        return low + (high - low) * torch.rand(n, generator=generator)

    angle, sx, sy = uniform(-math.radians(15), math.radians(15)), uniform(0.75, 1.25), uniform(0.8, 1.2)
    shear, tx, ty = uniform(-0.3, 0.3), uniform(-0.15, 0.15), uniform(-0.15, 0.15)
    theta = torch.zeros(n, 2, 3)
    theta[:, 0, 0], theta[:, 0, 1] = torch.cos(angle) / sx, (shear - torch.sin(angle)) / sx
    theta[:, 1, 0], theta[:, 1, 1] = torch.sin(angle) / sy, torch.cos(angle) / sy
    theta[:, 0, 2], theta[:, 1, 2] = tx, ty
    grid = F.affine_grid(theta, list(x.shape), align_corners=False)
    return F.grid_sample(x, grid, align_corners=False)


def boxed(x: torch.Tensor, *, stretch: bool) -> torch.Tensor:
    """Each digit cropped to its bounding box (ink > 0.2) and scaled to 20 pixels high, its width in proportion
    (or `stretch`ed to 20), centred in the 20×20 box of a 28×28 frame."""
    out = torch.zeros_like(x)
    for i, image in enumerate(x[:, 0]):
        ink = image > 0.2
        rows, cols = ink.any(1).nonzero().flatten(), ink.any(0).nonzero().flatten()
        if not len(rows):
            continue
        crop = image[rows[0]:rows[-1] + 1, cols[0]:cols[-1] + 1][None, None]
        width = 20 if stretch else max(1, min(20, round(20 * crop.shape[-1] / crop.shape[-2])))
        left = 4 + (20 - width) // 2
        out[i, 0, 4:24, left:left + width] = F.interpolate(crop, size=(20, width), mode="bilinear",
                                                           align_corners=False)[0, 0]
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--images", type=int, default=5000, help="MNIST validation images to read")
    parser.add_argument("--affine", action="store_true", help="also a classifier trained with affine augmentation")
    parser.add_argument("--geometry", action="store_true", help="also MNIST scaled to the 8×8 digits' height, and "
                                                                "the pixel SVM's reading")
    args = parser.parse_args()

    import aae.core.metrics.translation as translation
    from aae.core.domains import load_domain, to_domain

    mnist = load_domain("mnist")  # training and validation only
    x, y = mnist.val_x[:args.images].reshape(-1, 1, 28, 28), mnist.val_y[:args.images]
    variants = [("shifts (the project's)", translation._shifted)] + ([("affine", affine)] if args.affine else [])
    print(f"{len(y):,} MNIST validation digits; classifier trained on the 8×8 digits' training split, seed 0")
    print(f"{'augmentation':<24} {'8×8 validation':>15} {'MNIST as is':>12} {'MNIST as 8×8':>13} {'train s':>8}")
    for name, augment in variants:
        translation._shifted = augment
        started = time.perf_counter()
        classifier, val_accuracy = translation.train_digits8_classifier(0)
        seconds = time.perf_counter() - started
        with torch.no_grad():
            as_is = float((classifier.predict(x) == y).float().mean())
            rendered = float((classifier.predict(to_domain(x, "digits8")) == y).float().mean())
        print(f"{name:<24} {val_accuracy:>15.1%} {as_is:>12.1%} {rendered:>13.1%} {seconds:>8.1f}")
        if args.geometry:
            with torch.no_grad():
                for how, stretch in (("scaled to full height", False), ("stretched to fill", True)):
                    read = float((classifier.predict(to_domain(boxed(x, stretch=stretch), "digits8")) == y)
                                 .float().mean())
                    print(f"  MNIST as 8×8, {how}: {read:.1%}")
    if args.geometry:
        from aae.core.metrics.translation import pixel_reader

        read = float((pixel_reader(to_domain(x, "digits8")) == y).float().mean())
        print(f"the pixel SVM on MNIST as 8×8: {read:.1%}")


if __name__ == "__main__":
    main()
