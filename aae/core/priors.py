"""Priors p(z) for the latent space: each a small class that samples and gives a density to plot.

An AAE can be regularised towards any distribution it can *sample* (the discriminator never
needs a density), which is the point of the paper; the densities here are only for drawing.
A new prior is one subclass with `sample`; `log_density` is optional (the base estimates it
from samples with a histogram when there is no closed form, as for the swiss roll).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any, Literal

import torch

PriorName = Literal["gaussian", "mog10", "swissroll", "uniform", "image"]
PRIOR_NAMES: tuple[str, ...] = ("gaussian", "mog10", "swissroll", "uniform")  # the built-in shapes
IMAGE_PRIOR = "image"  # a density drawn or loaded as an image (`--prior image:PATH`, the Draw a prior page)
IMAGE_EXTENT = 4.0  # an image prior covers the square [−4, 4]² (times its scale), top edge at z₂ = +4
IMAGE_RESOLUTION = 64  # cells per side of the stored density: 4,096 numbers in the card


@dataclass(frozen=True)
class PriorConfig:
    """Which prior, and its scale. Stored inside every model config and checkpoint card."""

    # Each field declares its help as aae.core.models.base.setting does (not imported: the models import this module).
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
