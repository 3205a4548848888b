"""Latent-space operations the app and the CLI share: grids, the 2-D manifold, traversals, interpolation."""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

import numpy as np
import torch

from aae.core.inference import decode_all, reconstruct_all
from aae.core.models import LatentModel
from aae.core.prior_images import DIGIT_COLOURS

GRID_PAD_VALUE = 0.25  # the grey between the images of a grid


def image_grid(images: torch.Tensor, *, nrow: int = 10, padding: int = 2) -> np.ndarray:
    """Images (N, 1, H, W) in [0, 1] -> one grey grid image (rows·H', nrow·W') as float32 in [0, 1]: `padding`
    pixels of grey around each image; one image alone comes back as it is. (The layout of torchvision's make_grid,
    without importing torchvision, which costs a server 150 MB of memory for its life.)"""
    x = images.detach().float().cpu().clamp(0, 1)
    x = x.reshape(1, *x.shape[-2:]) if x.dim() < 4 else x[:, 0]  # the first channel of each image: (N, H, W)
    n, h, w = x.shape
    if n == 1:
        return x[0].contiguous().numpy()
    columns = min(nrow, n)
    rows = -(-n // columns)
    grid = torch.full((rows * (h + padding) + padding, columns * (w + padding) + padding), GRID_PAD_VALUE)
    for k in range(n):
        top, left = (k // columns) * (h + padding) + padding, (k % columns) * (w + padding) + padding
        grid[top:top + h, left:left + w] = x[k]
    return grid.numpy()


def to_png(image: np.ndarray) -> bytes:
    """A float image in [0, 1] (H, W) as PNG bytes."""
    import io

    from PIL import Image

    buffer = io.BytesIO()
    Image.fromarray((np.clip(image, 0, 1) * 255).round().astype(np.uint8), mode="L").save(buffer, format="PNG")
    return buffer.getvalue()


@torch.no_grad()
def denoise(
    model: LatentModel, clean: torch.Tensor, kind: str, level: float, *, seed: int = 0
) -> tuple[torch.Tensor, torch.Tensor]:
    """(noisy, denoised): `clean` images corrupted reproducibly (aae.core.corruption), then encoded and decoded."""
    from aae.core.corruption import corrupt

    noisy = corrupt(clean.float().cpu(), kind, level, generator=torch.Generator().manual_seed(seed))
    return noisy, reconstruct_all(model, noisy)


def most_confident(probs: torch.Tensor, category: int, n: int) -> torch.Tensor:
    """Indices of up to `n` images whose most probable y is `category`, most confident first."""
    members = (probs.argmax(dim=1) == category).nonzero().flatten()
    order = probs[members, category].argsort(descending=True, stable=True)
    return members[order[:n]]


def manifold_codes(n: int, extent: float, *, dims: tuple[int, int] = (0, 1), latent_dim: int = 2,
                   base: torch.Tensor | None = None) -> torch.Tensor:
    """A regular n × n grid of codes over [−extent, extent]² in two dimensions (rows top to bottom = y
    decreasing), the other dimensions taken from `base` (zeros by default). Shape (n·n, latent_dim)."""
    values = torch.linspace(-extent, extent, n)
    ys, xs = torch.meshgrid(values.flip(0), values, indexing="ij")
    z = (base.clone().float() if base is not None else torch.zeros(latent_dim)).repeat(n * n, 1)
    z[:, dims[0]] = xs.reshape(-1)
    z[:, dims[1]] = ys.reshape(-1)
    return z


def manifold(model: LatentModel, *, n: int = 20, extent: float | None = None) -> torch.Tensor:
    """The paper's manifold figure: decode a regular n × n grid over the plane of a 2-D latent space."""
    if model.latent_dim != 2:
        raise ValueError(f"the manifold grid needs a 2-D latent space; this model's is {model.latent_dim}-D")
    extent = extent if extent is not None else 0.85 * model.prior.extent()
    return decode_all(model, manifold_codes(n, extent))


def traversal_codes(z: torch.Tensor, dim: int, values: torch.Tensor) -> torch.Tensor:
    """Copies of the code `z` (D,) with dimension `dim` swept over `values` (S,) -> (S, D)."""
    if not 0 <= dim < z.shape[-1]:
        raise ValueError(f"dimension {dim} is outside the code's {z.shape[-1]} dimensions")
    codes = z.reshape(1, -1).repeat(len(values), 1).float()
    codes[:, dim] = values.float()
    return codes


InterpolationMode = Literal["linear", "spherical"]


def interpolate(z0: torch.Tensor, z1: torch.Tensor, steps: int, mode: InterpolationMode = "linear") -> torch.Tensor:
    """`steps` codes from z0 to z1 (both (D,)), straight or along the great circle (slerp) -> (steps, D).

    Spherical interpolation keeps the norm near that of typical Gaussian samples, which linear
    interpolation shrinks mid-way (White, "Sampling Generative Networks", 2016).
    """
    if steps < 2:
        raise ValueError("interpolation needs at least 2 steps")
    t = torch.linspace(0, 1, steps)[:, None]
    z0, z1 = z0.reshape(1, -1).float(), z1.reshape(1, -1).float()
    if mode == "linear":
        return (1 - t) * z0 + t * z1
    if mode != "spherical":
        raise ValueError(f"unknown interpolation {mode!r}; choose linear or spherical")
    cos = (z0 * z1).sum() / (z0.norm() * z1.norm()).clamp_min(1e-12)
    omega = torch.arccos(cos.clamp(-1, 1))
    if omega.abs() < 1e-4:  # (nearly) parallel: slerp degenerates to lerp
        return (1 - t) * z0 + t * z1
    return (torch.sin((1 - t) * omega) * z0 + torch.sin(t * omega) * z1) / math.sin(float(omega))


def nearest(codes: torch.Tensor, query: torch.Tensor, k: int = 8) -> torch.Tensor:
    """Indices (k,) of the rows of `codes` (N, D) closest to `query` (D,), nearest first."""
    distances = (codes - query.reshape(1, -1)).pow(2).sum(1)
    return distances.topk(min(k, len(codes)), largest=False).indices


def plane_density(prior, extent: float | None = None, resolution: int = 120):
    """Density of a prior's first two dimensions on a square grid: (xs (R,), ys (R,), density (R, R) [y, x]).

    Gaussian and uniform priors factorise over dimensions, so their 2-D marginal is the same prior in
    two dimensions, in closed form; `Prior.density_grid` would otherwise fall back to a histogram of
    200,000 samples in all `dim` dimensions (slow and noisy for a 100-D GAN's noise).
    """
    from aae.core.priors import GaussianPrior, UniformPrior

    if prior.dim > 2 and isinstance(prior, (GaussianPrior, UniformPrior)):
        prior = type(prior)(2, std=prior.std, n_classes=prior.n_classes)
    return prior.density_grid(extent=extent, resolution=resolution)


def latent_range(prior) -> float:
    """Half-width r of a useful range [−r, r] for one latent coordinate under `prior` (sliders, sweeps).

    ±3σ for a Gaussian, the cube's edge for a uniform prior, and the prior's plotting extent for the
    2-D priors (mixture, swiss roll), whose mass is not centred on 0.
    """
    from aae.core.priors import GaussianPrior, UniformPrior

    if isinstance(prior, GaussianPrior):
        return 3.0 * prior.std
    if isinstance(prior, UniformPrior):
        return prior.half_width
    return float(prior.extent())


def cycled_labels(n: int, n_classes: int = 10) -> torch.Tensor:
    """Labels 0, 1, …, n_classes−1, 0, 1, … (n,): in a grid of n_classes columns (or a multiple), column k
    holds class k."""
    return torch.arange(n) % n_classes


@torch.no_grad()
def dense_layers(model: LatentModel) -> list[dict] | None:
    """The decoder as plain dense layers for a browser to run, or None where it is not an MLP.

    Each layer: {"weight": (out, in) float32 array, "bias": (out,), "activation": "relu" | "leaky_relu" |
    "sigmoid"}; batch norm (eval mode) is folded into the layer before it and the last layer ends in the
    sigmoid, so running the list on z gives exactly `model.decode(z)` (up to float rounding).
    """
    network = model.decoder_network()
    if network is None:
        return None
    layers: list[dict] = []
    for module in network:
        if isinstance(module, torch.nn.Linear):
            layers.append({"weight": module.weight.detach().float().cpu().numpy().copy(),
                           "bias": module.bias.detach().float().cpu().numpy().copy(), "activation": "identity"})
        elif isinstance(module, torch.nn.BatchNorm1d):
            scale = (module.weight / torch.sqrt(module.running_var + module.eps)).float().cpu().numpy()
            shift = (module.bias - module.running_mean * module.weight / torch.sqrt(module.running_var + module.eps))
            last = layers[-1]
            last["weight"] = last["weight"] * scale[:, None]
            last["bias"] = last["bias"] * scale + shift.float().cpu().numpy()
        elif isinstance(module, torch.nn.ReLU):
            layers[-1]["activation"] = "relu"
        elif isinstance(module, torch.nn.LeakyReLU):
            layers[-1]["activation"] = f"leaky_relu:{module.negative_slope}"
        else:
            return None  # anything else: the browser cannot run it
    layers[-1]["activation"] = "sigmoid"
    return layers


# -- the latent space while it trains ------------------------------------------------------------

@dataclass
class LatentFrame:
    """One moment of a 2-D model's latent space while it trains: where a fixed set of test digits sit (q(z)),
    how far that is from the prior (MMD²), and, for an AAE, what its discriminator says over the plane."""

    step: int
    epoch: float
    codes: torch.Tensor  # (N, 2) codes of the fixed test digits
    labels: torch.Tensor  # (N,) their digits
    distance: float  # MMD² between the codes and prior draws (aae.core.metrics.latent.mmd)
    extent: float  # the square [−extent, extent]² the maps cover
    disc: torch.Tensor | None = None  # (R, R) D(z) = P(z came from the prior), rows from the bottom; None: no D
    # (n·n, 28, 28) uint8: the decoded manifold, an n × n grid of codes over the prior's bulk (rows top to bottom =
    # z2 decreasing, as `manifold` gives it); None where not asked for
    manifold: torch.Tensor | None = None


@torch.no_grad()
def latent_frame(model: LatentModel, images: torch.Tensor, labels: torch.Tensor, prior_draws: torch.Tensor, *,
                 step: int, epoch: float, extent: float, resolution: int = 40, manifold_n: int = 10) -> LatentFrame:
    """A LatentFrame of `model` now (2-D models with an encoder), with its decoded `manifold_n` × `manifold_n`
    manifold (0: none). Leaves the model in the mode it found it."""
    from aae.core.metrics.latent import mmd

    was_training = model.training
    model.eval()
    codes = model.encode(images.to(model.device)).float().cpu()
    disc = None
    discriminator = getattr(model, "discriminator", None)
    # The Gaussian / drawn-prior AAE's D sees z alone; a label-regularised one also wants a label (no one map).
    if discriminator is not None and not getattr(model.config, "label_regularized", False):
        axis = torch.linspace(-extent, extent, resolution)
        grid_y, grid_x = torch.meshgrid(axis, axis, indexing="ij")
        points = torch.stack([grid_x.reshape(-1), grid_y.reshape(-1)], dim=1).to(model.device)
        disc = torch.sigmoid(discriminator(points)).float().cpu().reshape(resolution, resolution)
    grid = None
    if manifold_n > 0:
        images_of_grid = manifold(model, n=manifold_n).reshape(-1, 28, 28)
        grid = (images_of_grid.float().clamp(0, 1) * 255).round().to(torch.uint8).cpu()
    model.train(was_training)
    return LatentFrame(step=step, epoch=epoch, codes=codes, labels=labels.cpu(), distance=mmd(codes, prior_draws),
                       extent=extent, disc=disc, manifold=grid)


def manifold_image(frame: LatentFrame, *, scale: int = 1) -> np.ndarray | None:
    """A frame's decoded manifold as one greyscale image (n·28·scale square, uint8), or None when it has none."""
    if frame.manifold is None:
        return None
    n = int(round(len(frame.manifold) ** 0.5))
    sheet = frame.manifold.reshape(n, n, 28, 28).permute(0, 2, 1, 3).reshape(n * 28, n * 28).numpy()
    return np.kron(sheet, np.ones((scale, scale), dtype=np.uint8)) if scale > 1 else sheet


def frame_images(frames: list[LatentFrame], density: torch.Tensor | None = None, *, size: int = 320) -> list:
    """Each LatentFrame as one RGB picture (PIL): its codes as dots coloured by digit over the prior's density
    (`density` (R, R) indexed [y, x] with y increasing, as Prior.density_grid gives, on the frames' square), and
    beside it, where the frame has one, its decoded manifold at the same height."""
    from PIL import Image, ImageDraw

    if not frames:
        raise ValueError("no frames to animate yet")
    if density is not None:
        shade = (1 - 0.45 * density.float().clamp(0, 1)).flip(0)  # light background, the prior darker; top row up
        background = Image.fromarray((shade.numpy() * 255).astype(np.uint8), mode="L").resize((size, size))
    else:
        background = Image.new("L", (size, size), 255)
    images = []
    for frame in frames:
        image = background.convert("RGB")
        draw = ImageDraw.Draw(image)
        scale = size / (2 * frame.extent)
        xs = ((frame.codes[:, 0] + frame.extent) * scale).tolist()
        ys = ((frame.extent - frame.codes[:, 1]) * scale).tolist()
        for x, y, digit in zip(xs, ys, frame.labels.tolist()):
            draw.ellipse([x - 2, y - 2, x + 2, y + 2], fill=DIGIT_COLOURS[int(digit) % 10])
        draw.text((6, 4), f"epoch {frame.epoch:.2f}   MMD^2 {frame.distance:.3f}", fill=(20, 20, 20))
        sheet = manifold_image(frame)
        if sheet is not None:
            side = Image.fromarray(sheet, mode="L").resize((size, size), Image.NEAREST).convert("RGB")
            both = Image.new("RGB", (2 * size, size), (255, 255, 255))
            both.paste(image, (0, 0))
            both.paste(side, (size, 0))
            image = both
        images.append(image)
    return images


def frames_gif(frames: list[LatentFrame], density: torch.Tensor | None = None, *, size: int = 320,
               milliseconds: int = 200) -> bytes:
    """An animated GIF of LatentFrames (`frame_images`: the codes over the prior and the decoded manifold)."""
    import io

    if not frames:
        raise ValueError("no frames to animate yet")
    images = frame_images(frames, density, size=size)
    buffer = io.BytesIO()
    images[0].save(buffer, format="GIF", save_all=True, append_images=images[1:], duration=milliseconds, loop=0)
    return buffer.getvalue()


def frames_mp4(frames: list[LatentFrame], density: torch.Tensor | None = None, *, size: int = 320,
               frames_per_second: float = 5.0) -> bytes:
    """The same animation as `frames_gif`, as an H.264 MP4 (imageio-ffmpeg's own ffmpeg, a dependency).

    Raises RuntimeError, saying why, where no encoder can be run."""
    import tempfile

    if not frames:
        raise ValueError("no frames to animate yet")
    try:
        import imageio_ffmpeg
    except ImportError as error:
        raise RuntimeError("MP4 export needs the imageio-ffmpeg package (pip install imageio-ffmpeg); "
                           "the GIF export works without it") from error
    images = frame_images(frames, density, size=size)
    width, height = images[0].size
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "run.mp4"
        try:
            writer = imageio_ffmpeg.write_frames(str(path), (width, height), fps=frames_per_second, codec="libx264",
                                                 pix_fmt_in="rgb24", pix_fmt_out="yuv420p", macro_block_size=16,
                                                 quality=7, ffmpeg_log_level="error")
            writer.send(None)  # start ffmpeg
            for image in images:
                writer.send(np.ascontiguousarray(np.asarray(image, dtype=np.uint8)))
            writer.close()
        except (OSError, RuntimeError) as error:
            raise RuntimeError(f"the MP4 encoder failed: {error}") from error
        return path.read_bytes()
