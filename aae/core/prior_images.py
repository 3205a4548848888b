"""A prior drawn as an image: a drawing (a file, bytes, a canvas array) read as a density over the latent
plane, and its ink in the digits' colours read as each digit's region (label regularisation)."""

from __future__ import annotations

import io
import os
from pathlib import Path
from typing import Any

import torch

from aae.core.priors import IMAGE_PRIOR, IMAGE_RESOLUTION, PriorConfig, check_density

MAX_IMAGE_PIXELS = 25_000_000  # bigger images are refused, not resized (a 5000 × 5000 PNG is plenty)
MAX_IMAGE_BYTES = 50 * 2**20


def open_drawing(image: Any) -> Any:
    """`image` as a PIL image: a path, PNG/JPEG bytes, a PIL image, or an (H, W) / (H, W, 3|4) array (a canvas
    drawing). Refused with a ValueError: not an image, or too large (checked from a file's header first)."""
    import numpy as np
    from PIL import Image, UnidentifiedImageError

    def check_size(picture: Any) -> None:  # read from the header, before a file's pixels are decoded
        if picture.width * picture.height > MAX_IMAGE_PIXELS:
            raise ValueError(f"the image is {picture.width} × {picture.height}: too large (at most "
                             f"{MAX_IMAGE_PIXELS:,} pixels)")

    try:
        if isinstance(image, (str, os.PathLike, bytes, bytearray)):
            if isinstance(image, (bytes, bytearray)):
                source: Any = io.BytesIO(image)
            else:
                source = Path(image)
                if not source.is_file():
                    raise ValueError(f"no image at {source}")
                if source.stat().st_size > MAX_IMAGE_BYTES:
                    raise ValueError(f"{source} is over {MAX_IMAGE_BYTES // 2**20} MB: use a smaller image")
            with Image.open(source) as opened:
                check_size(opened)
                picture = opened.copy()
        elif isinstance(image, Image.Image):
            picture = image
        else:
            array = np.asarray(image)
            if array.ndim not in (2, 3) or array.size == 0:
                raise ValueError(f"expected an image array (H, W) or (H, W, 3|4), got shape {array.shape}")
            if array.dtype != np.uint8:
                array = (np.clip(array, 0, 1) * 255 if array.max() <= 1 else np.clip(array, 0, 255)).astype(np.uint8)
            picture = Image.fromarray(array)
    except (UnidentifiedImageError, OSError, Image.DecompressionBombError) as error:
        raise ValueError(f"not an image this app can read ({error.__class__.__name__}): use a PNG or JPEG") from None
    check_size(picture)
    return picture


def image_density(image: Any, resolution: int = IMAGE_RESOLUTION) -> torch.Tensor:
    """The ink of an image (anything `open_drawing` takes) as a (resolution, resolution) density, first row at the
    top. Ink is opacity where the image has a transparent background, else darkness on a light background.
    Refused with a ValueError: not an image, too large, blank, or a single dot.
    """
    import numpy as np
    from PIL import Image

    rgba = np.asarray(open_drawing(image).convert("RGBA"), dtype=np.float32) / 255
    alpha = rgba[..., 3]
    if alpha.min() < 0.99:  # a transparent background: what is opaque is ink
        ink = alpha
    else:
        ink = 1 - (0.299 * rgba[..., 0] + 0.587 * rgba[..., 1] + 0.114 * rgba[..., 2])
    small = Image.fromarray(ink.astype(np.float32), mode="F").resize((resolution, resolution), Image.BOX)
    grid = torch.from_numpy(np.asarray(small, dtype=np.float32).copy())
    grid[grid < 0.02] = 0  # paper white and JPEG noise are not ink
    check_density(grid)
    return grid


# The digits' colours, as every page draws them (Plotly's T10; the GIF export and the live decoder use these too):
# ink of digit k's colour is digit k's region of a drawn prior.
DIGIT_COLOURS = ("#4C78A8", "#F58518", "#E45756", "#72B7B2", "#54A24B", "#EECA3B", "#B279A2", "#FF9DA6", "#9D755D",
                 "#BAB0AC")


def image_regions(image: Any, resolution: int = IMAGE_RESOLUTION) -> tuple[torch.Tensor, torch.Tensor] | None:
    """For each cell of `image_density`'s grid, the digit whose colour (DIGIT_COLOURS) most of its ink is drawn in
    (−1 for ink of no digit's colour, black or grey, or no ink), and the share of the cell that coloured ink
    covers; None when no ink is in a digit's colour.

    A pixel is a digit's ink when it is that colour or a tint of it on white paper (the soft edge of a stroke):
    pixel = white − a·(white − colour) for some a in [0.35, 1], within a small residual. Neutral pixels
    (black, every grey, the soft edges of black strokes) are never a digit's ink, even near digit 9's warm grey."""
    import numpy as np

    rgba = np.asarray(open_drawing(image).convert("RGBA"), dtype=np.float32)
    rgb, alpha = rgba[..., :3], rgba[..., 3] / 255
    palette = np.array([[int(c[i:i + 2], 16) for i in (1, 3, 5)] for c in DIGIT_COLOURS], dtype=np.float32)
    # 1. How much of each digit's colour each pixel holds, as a tint on white, and how far it is off that tint.
    ink_of = 255 - palette  # (10, 3)
    depth = 255 - rgb  # (H, W, 3)
    share = np.clip((depth @ ink_of.T) / (ink_of ** 2).sum(-1), 0, 1)  # (H, W, 10)
    residual = ((depth[..., None, :] - share[..., None] * ink_of) ** 2).sum(-1)  # (H, W, 10)
    nearest = residual.argmin(-1)
    best_share = np.take_along_axis(share, nearest[..., None], -1)[..., 0]
    # 2. Coloured: near a digit's tint, strong enough to be its ink, and not neutral (r ≈ g ≈ b).
    chroma = rgb.max(-1) - rgb.min(-1)
    inked = alpha > 0.5 if alpha.min() < 0.99 else rgb.mean(-1) < 245
    coloured = inked & (chroma >= 8) & (residual.min(-1) < 20.0 ** 2) & (best_share >= 0.35)
    if not coloured.any():
        return None
    h, w = nearest.shape
    rows = (np.arange(h) * resolution // h)[:, None].repeat(w, 1)
    cols = (np.arange(w) * resolution // w)[None, :].repeat(h, 0)
    votes = np.zeros((resolution, resolution, 11), dtype=np.int64)  # per cell: 10 digits, then "no digit"
    np.add.at(votes, (rows[inked], cols[inked], np.where(coloured, nearest, 10)[inked]), 1)
    regions = votes.argmax(-1)
    regions[(regions == 10) | (votes.sum(-1) == 0)] = -1
    pixels = np.zeros((resolution, resolution), dtype=np.int64)
    np.add.at(pixels, (rows, cols), 1)
    coverage = votes[..., :10].sum(-1) / np.maximum(pixels, 1)
    return torch.from_numpy(regions.astype(np.int64)), torch.from_numpy(coverage.astype(np.float32))


def image_prior_config(image: Any, std: float = 1.0) -> PriorConfig:
    """A PriorConfig for the ink of `image` (see image_density), rounded to 4 decimals for the card, with the
    digits' regions where the ink is drawn in their colours (see image_regions)."""
    picture = open_drawing(image)  # read and decoded once, for the ink and for its colours
    grid = image_density(picture)
    coloured = image_regions(picture, resolution=grid.shape[0])
    regions = None
    if coloured is not None:
        # Coloured ink counts by the area it covers, not by how dark its colour is: digit 5's light yellow and
        # digit 9's grey are as much prior as digit 0's dark blue.
        regions, coverage = coloured
        grid = torch.where(regions >= 0, coverage * float(grid.max()), grid)
    grid = grid / grid.max()
    return PriorConfig(name=IMAGE_PRIOR, std=std, density=tuple(tuple(round(float(v), 4) for v in row) for row in grid),
                       regions=None if regions is None else tuple(tuple(int(v) for v in row) for row in regions))


EXAMPLE_SHAPES: tuple[str, ...] = ("ring", "two moons", "letter L", "checkerboard", "ten coloured slices")


def example_drawing(name: str, size: int = 256) -> Any:
    """A ready-made drawing (black ink on white, a PIL image) to start from when not drawing one's own."""
    from PIL import Image, ImageDraw

    image = Image.new("RGB", (size, size), (255, 255, 255))
    draw = ImageDraw.Draw(image)
    s = size / 256
    if name == "ring":
        draw.ellipse([40 * s, 40 * s, 216 * s, 216 * s], outline=0, width=int(34 * s))
    elif name == "two moons":
        draw.arc([20 * s, 40 * s, 160 * s, 180 * s], 180, 360, fill=0, width=int(30 * s))
        draw.arc([96 * s, 76 * s, 236 * s, 216 * s], 0, 180, fill=0, width=int(30 * s))
    elif name == "letter L":
        draw.rectangle([60 * s, 30 * s, 105 * s, 226 * s], fill=0)
        draw.rectangle([60 * s, 181 * s, 200 * s, 226 * s], fill=0)
    elif name == "ten coloured slices":  # a ring cut in ten, each slice one digit's colour: digit k in slice k
        for digit, colour in enumerate(DIGIT_COLOURS):
            start = digit * 36 - 90
            draw.pieslice([30 * s, 30 * s, 226 * s, 226 * s], start + 2, start + 34, fill=colour)
        draw.ellipse([88 * s, 88 * s, 168 * s, 168 * s], fill=(255, 255, 255))
    elif name == "checkerboard":
        cell = size // 4
        for i in range(4):
            for j in range(4):
                if (i + j) % 2 == 0:
                    draw.rectangle([j * cell, i * cell, (j + 1) * cell - 1, (i + 1) * cell - 1], fill=0)
    else:
        raise ValueError(f"no example shape {name!r}; choose one of {', '.join(EXAMPLE_SHAPES)}")
    return image
