"""Priors p(z) for the latent space: each a small class that samples and gives a density to plot.

An AAE can be regularised towards any distribution it can *sample* (the discriminator never
needs a density), which is the point of the paper; the densities here are only for drawing.
A new prior is one subclass with `sample`; `log_density` is optional (the base estimates it
from samples with a histogram when there is no closed form, as for the swiss roll).
"""

from __future__ import annotations

import io
import math
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import torch

PriorName = Literal["gaussian", "mog10", "swissroll", "uniform", "image"]
PRIOR_NAMES: tuple[str, ...] = ("gaussian", "mog10", "swissroll", "uniform")  # the built-in shapes
IMAGE_PRIOR = "image"  # a density drawn or loaded as an image (`--prior image:PATH`, the Draw a prior page)
IMAGE_EXTENT = 4.0  # an image prior covers the square [−4, 4]² (times its scale), top edge at z₂ = +4
IMAGE_RESOLUTION = 64  # cells per side of the stored density: 4,096 numbers in the card
MAX_IMAGE_PIXELS = 25_000_000  # bigger images are refused, not resized (a 5000 × 5000 PNG is plenty)
MAX_IMAGE_BYTES = 50 * 2**20


@dataclass(frozen=True)
class PriorConfig:
    """Which prior, and its scale. Stored inside every model config and checkpoint card."""

    # Each field declares its help as aae.models.base.setting does (not imported: aae.models imports this module).
    name: PriorName = field(default="gaussian", metadata={
        "help": "shape of p(z): gaussian, mog10 (ten Gaussians on a circle), swissroll, uniform, or image (drawn)"})
    std: float = field(default=1.0, metadata={
        "help": "overall scale: N(0, std²I) for the Gaussian; the mixture's and the roll's radius grow with it"})
    n_classes: int = field(default=10, metadata={
        "help": "components of the mixture, or segments of the roll: one per digit class"})
    # Kept in the card, so a checkpoint reloads and samples from the shape it was drawn with.
    density: tuple[tuple[float, ...], ...] | None = field(default=None, metadata={
        "help": "image prior only: the drawn density, ink per cell of a 64 × 64 grid over [−4, 4]² (× std), top row "
                "at z₂ = +4"})
    # From the colours it was drawn in (DIGIT_COLOURS), as the paper's label-regularised mixture and swiss roll put
    # each digit in its own part.
    regions: tuple[tuple[int, ...], ...] | None = field(default=None, metadata={
        "help": "image prior only, optional: each cell's digit (0-9, −1 for none), so digit k is drawn from its "
                "cells; none: one density for all"})

    def __post_init__(self) -> None:
        if self.density is not None:  # a card stores lists
            object.__setattr__(self, "density", tuple(tuple(float(v) for v in row) for row in self.density))
        if self.regions is not None:
            object.__setattr__(self, "regions", tuple(tuple(int(v) for v in row) for row in self.regions))


def _device(generator: torch.Generator | None, device: torch.device | str | None) -> torch.device:
    if device is not None:
        return torch.device(device)
    return generator.device if generator is not None else torch.device("cpu")


class Prior:
    """p(z) in `dim` dimensions. `labels` (n,) pick a mixture component or roll segment where defined."""

    name: str = "prior"
    supports_labels: bool = False

    def __init__(self, dim: int, std: float = 1.0, n_classes: int = 10) -> None:
        if dim < 1:
            raise ValueError(f"latent dimension must be at least 1, got {dim}")
        if not std > 0:
            raise ValueError(f"prior scale must be positive, got {std}")
        self.dim, self.std, self.n_classes = dim, float(std), n_classes

    def sample(
        self,
        n: int,
        labels: torch.Tensor | None = None,
        generator: torch.Generator | None = None,
        device: torch.device | str | None = None,
    ) -> torch.Tensor:
        """(n, dim) float32 samples on `device` (default: `generator`'s device, else the CPU)."""
        raise NotImplementedError

    def log_density(self, z: torch.Tensor) -> torch.Tensor:
        """log p(z) for points (N, dim) -> (N,); only where a closed form exists."""
        raise NotImplementedError

    def density_grid(
        self, extent: float | None = None, resolution: int = 120
    ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """Density of the first two dimensions on a square grid, for contour plots.

        Returns (xs (R,), ys (R,), density (R, R) indexed [y, x]), normalised to max 1.
        """
        extent = extent or self.extent()
        xs = torch.linspace(-extent, extent, resolution)
        ys = torch.linspace(-extent, extent, resolution)
        try:
            if self.dim != 2:
                raise NotImplementedError
            grid_y, grid_x = torch.meshgrid(ys, xs, indexing="ij")
            points = torch.stack([grid_x.reshape(-1), grid_y.reshape(-1)], dim=1)
            density = self.log_density(points).exp().reshape(resolution, resolution)
        except NotImplementedError:
            # No closed form for this marginal: a smoothed histogram of many samples.
            z = self.sample(200_000, generator=torch.Generator().manual_seed(0))[:, :2]
            density = torch.histogramdd(
                z[:, [1, 0]].double(), bins=[resolution, resolution],
                range=[-extent, extent, -extent, extent],
            ).hist.float()
            kernel = torch.tensor([1.0, 4.0, 6.0, 4.0, 1.0]) / 16
            density = torch.nn.functional.conv2d(
                density[None, None], (kernel[:, None] * kernel[None, :])[None, None], padding=2
            )[0, 0]
        return xs, ys, density / density.max().clamp_min(1e-12)

    def extent(self) -> float:
        """Half-width of a square that holds nearly all the mass of the first two dimensions."""
        return 3.5 * self.std

    def __repr__(self) -> str:
        return f"{type(self).__name__}(dim={self.dim}, std={self.std})"


class GaussianPrior(Prior):
    """N(0, std² I): the VAE's prior, and the AAE paper's (std 5 for the likelihood experiment)."""

    name = "gaussian"

    def sample(self, n, labels=None, generator=None, device=None):
        device = _device(generator, device)
        return self.std * torch.randn(n, self.dim, generator=generator, device=device)

    def log_density(self, z):
        return -0.5 * (z / self.std).pow(2).sum(1) - self.dim * math.log(self.std * math.sqrt(2 * math.pi))


class UniformPrior(Prior):
    """Uniform on the cube [-a, a]^dim with a = std·√3, so each coordinate has standard deviation std."""

    name = "uniform"

    @property
    def half_width(self) -> float:
        return self.std * math.sqrt(3)

    def sample(self, n, labels=None, generator=None, device=None):
        device = _device(generator, device)
        return (2 * torch.rand(n, self.dim, generator=generator, device=device) - 1) * self.half_width

    def log_density(self, z):
        inside = (z.abs() <= self.half_width).all(1)
        log_p = -self.dim * math.log(2 * self.half_width)
        return torch.where(inside, torch.full_like(z[:, 0], log_p), torch.full_like(z[:, 0], -math.inf))

    def extent(self):
        return 1.25 * self.half_width


class _TwoDimensionalPrior(Prior):
    supports_labels = True

    def __init__(self, dim: int, std: float = 1.0, n_classes: int = 10) -> None:
        if dim != 2:
            raise ValueError(f"the {self.name} prior is 2-D; use a latent dimension of 2 (got {dim})")
        super().__init__(dim, std, n_classes)

    def _labels(self, n: int, labels: torch.Tensor | None, generator: torch.Generator | None,
                device: torch.device | str | None) -> torch.Tensor:
        device = _device(generator, device)
        if labels is None:
            return torch.randint(0, self.n_classes, (n,), generator=generator, device=device)
        labels = labels.to(device).long()
        if labels.shape != (n,):
            raise ValueError(f"labels must have shape ({n},), got {tuple(labels.shape)}")
        if labels.min() < 0 or labels.max() >= self.n_classes:
            raise ValueError(f"labels must lie in 0..{self.n_classes - 1}")
        return labels


class MixtureOfGaussiansPrior(_TwoDimensionalPrior):
    """Ten 2-D Gaussians on a circle, one per digit class (the paper's Fig. 4 and the seeds' example).

    Each component is elongated along its radius (std 0.5·s) and thin across it (0.1·s), with
    its mean at radius 2·s, so neighbouring classes do not overlap.
    """

    name = "mog10"
    radius, radial_std, tangential_std = 2.0, 0.5, 0.1

    def angles(self) -> torch.Tensor:
        return 2 * math.pi * torch.arange(self.n_classes) / self.n_classes

    def means(self) -> torch.Tensor:
        a = self.angles()
        return self.std * self.radius * torch.stack([a.cos(), a.sin()], dim=1)  # (K, 2)

    def sample(self, n, labels=None, generator=None, device=None):
        labels = self._labels(n, labels, generator, device)
        device = labels.device
        eps = torch.randn(n, 2, generator=generator, device=device)
        a = self.angles().to(device)[labels]
        radial = self.std * (self.radius + self.radial_std * eps[:, 0])
        tangential = self.std * self.tangential_std * eps[:, 1]
        x = radial * a.cos() - tangential * a.sin()
        y = radial * a.sin() + tangential * a.cos()
        return torch.stack([x, y], dim=1)

    def log_density(self, z):
        a = self.angles().to(z.device)  # (K,)
        d = z[:, None, :] - self.means().to(z.device)[None]  # (N, K, 2)
        radial = d[..., 0] * a.cos() + d[..., 1] * a.sin()
        tangential = -d[..., 0] * a.sin() + d[..., 1] * a.cos()
        sr, st = self.std * self.radial_std, self.std * self.tangential_std
        log_comp = -0.5 * ((radial / sr) ** 2 + (tangential / st) ** 2) - math.log(2 * math.pi * sr * st)
        return torch.logsumexp(log_comp, dim=1) - math.log(self.n_classes)

    def extent(self):
        return self.std * (self.radius + 4 * self.radial_std)


class SwissRollPrior(_TwoDimensionalPrior):
    """A 2-D swiss roll; class k takes the k-th tenth of its length (the paper's Fig. 4, right).

    A point at fraction u ∈ [0, 1) along the roll sits at radius 3·√u·s and angle 4π·√u,
    which spreads samples evenly along the arc; small Gaussian noise gives it width.
    """

    name = "swissroll"

    def sample(self, n, labels=None, generator=None, device=None):
        labels = self._labels(n, labels, generator, device)
        device = labels.device
        u = (torch.rand(n, generator=generator, device=device) + labels) / self.n_classes
        r = 3.0 * u.sqrt()
        angle = 4 * math.pi * u.sqrt()
        noise = 0.05 * torch.randn(n, 2, generator=generator, device=device)
        return self.std * (torch.stack([r * angle.cos(), r * angle.sin()], dim=1) + noise)

    def extent(self):
        return 3.4 * self.std


class ImagePrior(Prior):
    """A 2-D density given as an image: samples fall in the inked cells, in proportion to the ink.

    The grid covers [−a, a]² with a = 4·std, first row at the top (z₂ = +a); a sample picks a cell by its
    weight and a uniform point inside it. An image with ink everywhere is the uniform prior on the square.
    """

    name = IMAGE_PRIOR

    def __init__(self, dim: int, std: float = 1.0, n_classes: int = 10,
                 density: Any = None, regions: Any = None) -> None:
        if dim != 2:
            raise ValueError(f"a drawn prior is 2-D; use a latent dimension of 2 (got {dim})")
        super().__init__(dim, std, n_classes)
        if density is None:
            raise ValueError("an image prior needs its density: `--prior image:PATH`, or draw one in the app")
        grid = torch.as_tensor(density, dtype=torch.float32)
        check_density(grid)
        self.weights = grid / grid.sum()  # (R, R), rows from the top
        self.half = IMAGE_EXTENT * self.std
        self.regions = None
        if regions is not None:
            regions = torch.as_tensor(regions, dtype=torch.long)
            if regions.shape != grid.shape or regions.min() < -1 or regions.max() >= n_classes:
                raise ValueError(f"a drawn prior's regions must be a {tuple(grid.shape)} grid of −1 or "
                                 f"0..{n_classes - 1}")
            if not ((regions >= 0) & (grid > 0)).any():
                raise ValueError("the drawing's colours mark no inked cell as a digit's region")
            self.regions = regions
            # Each digit's own cells; a digit drawn in no colour takes the ink of no digit, or else all the ink.
            plain = self.weights * (regions < 0)
            fallback = plain if plain.sum() > 0 else self.weights
            per_digit = []
            for digit in range(n_classes):
                own = self.weights * (regions == digit)
                per_digit.append((own if own.sum() > 0 else fallback).reshape(-1))
            self.digit_weights = torch.stack(per_digit)  # (K, R·R)

    @property
    def supports_labels(self) -> bool:  # type: ignore[override]
        """A drawing in digits' colours is a label-regularised prior: `sample(n, labels)` keeps each digit in its
        own region."""
        return self.regions is not None

    def drawn_digits(self) -> list[int]:
        """The digits that have a region of their own in the drawing."""
        return [] if self.regions is None else sorted({int(v) for v in self.regions[self.weights > 0].tolist()
                                                       if v >= 0})

    @property
    def resolution(self) -> int:
        return self.weights.shape[0]

    def sample(self, n, labels=None, generator=None, device=None):
        device = _device(generator, device)
        r = self.resolution
        if labels is not None and self.regions is not None:
            labels = labels.to(device).long()
            cells = torch.empty(n, dtype=torch.long, device=device)
            for digit in labels.unique().tolist():
                where = (labels == digit).nonzero().flatten()
                cells[where] = torch.multinomial(self.digit_weights[digit].to(device), len(where), replacement=True,
                                                 generator=generator)
        else:
            cells = torch.multinomial(self.weights.reshape(-1).to(device), n, replacement=True, generator=generator)
        row, col = cells // r, cells % r
        u = torch.rand(n, 2, generator=generator, device=device)
        size = 2 * self.half / r
        return torch.stack([-self.half + (col + u[:, 0]) * size, self.half - (row + u[:, 1]) * size], dim=1)

    def log_density(self, z):
        r, size = self.resolution, 2 * self.half / self.resolution
        col = ((z[:, 0] + self.half) / size).floor().long()
        row = ((self.half - z[:, 1]) / size).floor().long()
        inside = (col >= 0) & (col < r) & (row >= 0) & (row < r)
        weights = self.weights.to(z.device)[row.clamp(0, r - 1), col.clamp(0, r - 1)]
        log_p = (weights / size**2).log()
        return torch.where(inside, log_p, torch.full_like(log_p, -math.inf))

    def extent(self):
        return self.half

    def is_uniform(self) -> bool:
        """Ink everywhere, evenly: the page says so (it is then the uniform prior on the square)."""
        return bool((self.weights > 0).all() and self.weights.min() >= 0.8 * self.weights.max())


def check_density(grid: torch.Tensor) -> None:
    """Refuse a density grid that cannot be a prior: not square, negative, empty, or a dot."""
    if grid.dim() != 2 or grid.shape[0] != grid.shape[1] or grid.shape[0] < 4:
        raise ValueError(f"a drawn prior's density must be a square grid, got shape {tuple(grid.shape)}")
    if not torch.isfinite(grid).all() or (grid < 0).any():
        raise ValueError("a drawn prior's density must be finite and not negative")
    if grid.sum() <= 0:
        raise ValueError("the drawing has no ink: draw a shape (dark on light, or opaque on transparent)")
    if (grid > 0).sum() < max(4, grid.numel() // 1000):
        raise ValueError("the drawing covers almost nothing (a dot): draw a region for the codes to fill")


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


_PRIORS: dict[str, type[Prior]] = {
    "gaussian": GaussianPrior,
    "mog10": MixtureOfGaussiansPrior,
    "swissroll": SwissRollPrior,
    "uniform": UniformPrior,
}


TWO_D_PRIORS: tuple[str, ...] = tuple(n for n, cls in _PRIORS.items() if issubclass(cls, _TwoDimensionalPrior))
LABELLED_PRIORS = TWO_D_PRIORS  # priors with one part per class (label regularisation)


def make_prior(config: PriorConfig, dim: int) -> Prior:
    """The prior a config names, in `dim` dimensions."""
    if config.name == IMAGE_PRIOR:
        return ImagePrior(dim, std=config.std, n_classes=config.n_classes, density=config.density,
                          regions=config.regions)
    if config.name not in _PRIORS:
        raise ValueError(f"unknown prior {config.name!r}; choose one of {', '.join(PRIOR_NAMES)}, "
                         "or image:PATH")
    return _PRIORS[config.name](dim, std=config.std, n_classes=config.n_classes)


def describe_prior(config: PriorConfig, dim: int) -> str:
    """A prior's name as the paper writes it (the pages' labels): "Gaussian N(0, 5²I)", "swiss roll (scale 1)"."""
    if config.name == "gaussian":
        scale = "I" if config.std == 1 else f"{config.std:g}²I"
        return f"Gaussian N(0, {scale})"
    if config.name == "mog10":
        return f"mixture of {config.n_classes} Gaussians (scale {config.std:g})"
    if config.name == "swissroll":
        return f"swiss roll (scale {config.std:g})"
    if config.name == IMAGE_PRIOR:
        half = IMAGE_EXTENT * config.std
        return f"drawn prior (an image over [−{half:g}, {half:g}]²)"
    if config.name == "uniform":
        half = config.std * 3 ** 0.5
        return f"uniform on [−{half:.2f}, {half:.2f}]^{dim}"
    return config.name
