"""StyleGAN (Karras et al., 2019; StyleGAN2, Karras et al., 2020), sized for 28×28 digits on a CPU.

A mapping network turns the noise z into an intermediate code w. The synthesis network starts from a learnt
7×7 constant, not from z, and every convolution is *modulated* by its own copy of w: an affine map of w scales
the convolution's input channels, and the output is divided by its expected norm (StyleGAN2's weight
demodulation, here in its unfused form: scale the input, convolve with the shared weight, scale the output,
which is the same arithmetic as a per-sample weight and runs as one ordinary convolution). Each layer also adds
per-pixel noise with learnt per-channel scales, the stochastic detail (stroke texture) that w does not decide.
Outputs at 7×7, 14×14 and 28×28 are summed after upsampling (the skip generator).

Two modulated convolutions per resolution, each with its own w: indices 0–1 style the 7×7 maps (coarse: which
digit, pose), 2–3 the 14×14 ones (middle: stroke shape), 4–5 the 28×28 ones (fine: thickness, texture); each
resolution's image output takes the w of its second convolution.

Training: the non-saturating logistic loss with an R1 penalty on real images (lazy: every `r1_every` D steps,
scaled to match), style mixing (with probability `mixing` a fake's layers from `crossover` on take a second
code's w), a running mean of w (`w_avg`, a buffer) for the truncation trick, and an exponential moving average
of the generator's weights that every sample, decode and metric uses (StyleGAN's G_ema, its half-life ramped up
with the images seen so far). Not here: path-length regularisation and progressive growing.
"""

from __future__ import annotations

import copy
import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import torch
from torch import nn
from torch.nn import functional as F

from aae.core.models.base import CatalogEntry, LatentModel, ModelConfig, Phase, PhaseOutput, setting
from aae.core.models.blocks import discriminator_accuracy, frozen
from aae.core.priors import PriorConfig, make_prior

RESOLUTIONS = (7, 14, 28)
NoiseSpec = None | str | list[torch.Tensor] | torch.Generator


@dataclass(frozen=True)
class StyleGANConfig(ModelConfig):
    latent_dim: int = setting(64, "size of the noise z that the mapping network turns into a style code w")
    w_dim: int = setting(128, "size of the style code w (the intermediate latent space)")
    mapping_layers: int = setting(4, "dense layers of the mapping network z → w")
    channels: tuple[int, ...] = setting((64, 32, 16), "feature maps of the synthesis network at 7×7, 14×14, 28×28")
    disc_channels: tuple[int, ...] = setting((16, 32, 64), "feature maps of the discriminator at 28×28, 14×14, 7×7")
    prior: PriorConfig = setting(PriorConfig(name="gaussian", std=1.0), "the noise z: a standard Gaussian")
    mixing: float = setting(0.9, "chance that a training fake takes its fine styles from a second code")
    r1: float = setting(0.1, "weight γ of the R1 penalty on the discriminator's gradient at real images")
    r1_every: int = setting(4, "discriminator steps between R1 penalties (scaled up to match; 1 = every step)")
    w_avg_beta: float = setting(0.995, "decay per step of the running mean of w that truncation pulls towards")
    ema_images: int = setting(10_000, "half-life, in images, of the generator's weight average (0 = no average)")
    mapping_lr_scale: float = setting(0.01, "learning rate of the mapping network as a share of the generator's")

    def training_defaults(self, given: Mapping[str, Any] | None = None) -> dict[str, Any]:
        return {**super().training_defaults(given), "lr": 2e-3, "batch_size": 32}


# -- layers with equalised learning rate ----------------------------------------------------------------
# Weights are stored N(0, 1) (÷ lr_scale) and scaled by 1/√fan_in at run time (Karras et al., 2018), so Adam's
# step is the same size relative to every layer's weights.

class EqualLinear(nn.Module):
    def __init__(self, n_in: int, n_out: int, *, bias_init: float = 0.0, lr_scale: float = 1.0,
                 activate: bool = False) -> None:
        super().__init__()
        self.weight = nn.Parameter(torch.randn(n_out, n_in) / lr_scale)
        self.bias = nn.Parameter(torch.full((n_out,), float(bias_init) / lr_scale))
        self.weight_gain, self.lr_scale, self.activate = lr_scale / math.sqrt(n_in), lr_scale, activate

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = F.linear(x, self.weight * self.weight_gain, self.bias * self.lr_scale)
        return F.leaky_relu(x, 0.2) * math.sqrt(2) if self.activate else x


class EqualConv(nn.Module):
    """A plain convolution (the discriminator's) with equalised learning rate and a scaled leaky ReLU."""

    def __init__(self, n_in: int, n_out: int, kernel: int, *, activate: bool = True) -> None:
        super().__init__()
        self.weight = nn.Parameter(torch.randn(n_out, n_in, kernel, kernel))
        self.bias = nn.Parameter(torch.zeros(n_out))
        self.gain, self.activate = 1 / math.sqrt(n_in * kernel * kernel), activate

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = F.conv2d(x, self.weight * self.gain, self.bias, padding=self.weight.shape[-1] // 2)
        return F.leaky_relu(x, 0.2) * math.sqrt(2) if self.activate else x


class ModulatedConv(nn.Module):
    """A convolution whose input channels are scaled by an affine map of w, output demodulated (StyleGAN2)."""

    def __init__(self, n_in: int, n_out: int, kernel: int, w_dim: int, *, demodulate: bool = True) -> None:
        super().__init__()
        self.affine = EqualLinear(w_dim, n_in, bias_init=1.0)  # styles start at 1: the unmodulated convolution
        self.weight = nn.Parameter(torch.randn(n_out, n_in, kernel, kernel))
        self.gain, self.demodulate = 1 / math.sqrt(n_in * kernel * kernel), demodulate

    def forward(self, x: torch.Tensor, w: torch.Tensor) -> torch.Tensor:
        styles = self.affine(w)  # (B, n_in)
        weight = self.weight * self.gain
        x = F.conv2d(x * styles[:, :, None, None], weight, padding=weight.shape[-1] // 2)
        if self.demodulate:  # 1 / ‖the per-sample weight w_oik · s_i‖ for each output channel
            norms = styles.square() @ weight.square().sum(dim=(2, 3)).t()  # (B, n_out)
            x = x * (norms + 1e-8).rsqrt()[:, :, None, None]
        return x


class StyleLayer(nn.Module):
    """Modulated 3×3 convolution (after a ×2 upsampling where asked), noise with learnt scales, bias, activation."""

    def __init__(self, n_in: int, n_out: int, w_dim: int, resolution: int, *, upsample: bool) -> None:
        super().__init__()
        self.conv = ModulatedConv(n_in, n_out, 3, w_dim)
        self.upsample, self.resolution = upsample, resolution
        self.noise_strength = nn.Parameter(torch.zeros(n_out))  # per channel, from 0 as StyleGAN's
        self.bias = nn.Parameter(torch.zeros(n_out))

    def forward(self, x: torch.Tensor, w: torch.Tensor, noise: torch.Tensor) -> torch.Tensor:
        if self.upsample:
            x = F.interpolate(x, scale_factor=2, mode="bilinear", align_corners=False)
        x = self.conv(x, w) + self.noise_strength[None, :, None, None] * noise
        return F.leaky_relu(x + self.bias[None, :, None, None], 0.2) * math.sqrt(2)


class ToImage(nn.Module):
    """Modulated 1×1 convolution to one channel of image logits (no demodulation), as StyleGAN2's toRGB."""

    def __init__(self, n_in: int, w_dim: int) -> None:
        super().__init__()
        self.conv = ModulatedConv(n_in, 1, 1, w_dim, demodulate=False)
        self.bias = nn.Parameter(torch.zeros(1))

    def forward(self, x: torch.Tensor, w: torch.Tensor) -> torch.Tensor:
        return self.conv(x, w) + self.bias


class MappingNetwork(nn.Module):
    """z (B, latent_dim) → w (B, w_dim): z normalised to unit mean square, then dense layers at a reduced rate."""

    def __init__(self, latent_dim: int, w_dim: int, layers: int, lr_scale: float) -> None:
        super().__init__()
        sizes = [latent_dim] + [w_dim] * layers
        self.net = nn.Sequential(*(EqualLinear(a, b, lr_scale=lr_scale, activate=True)
                                   for a, b in zip(sizes[:-1], sizes[1:])))

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        z = z * (z.square().mean(dim=1, keepdim=True) + 1e-8).rsqrt()
        return self.net(z)


class SynthesisNetwork(nn.Module):
    """w per layer (B, n_style_layers, w_dim) [+ noise per layer] → image logits (B, 1, 28, 28)."""

    def __init__(self, w_dim: int, channels: tuple[int, ...]) -> None:
        super().__init__()
        if len(channels) != len(RESOLUTIONS):
            raise ValueError(f"the synthesis network has {len(RESOLUTIONS)} resolutions; give as many channel counts")
        c7, c14, c28 = channels
        self.const = nn.Parameter(torch.randn(1, c7, 7, 7))
        self.layers = nn.ModuleList([
            StyleLayer(c7, c7, w_dim, 7, upsample=False), StyleLayer(c7, c7, w_dim, 7, upsample=False),
            StyleLayer(c7, c14, w_dim, 14, upsample=True), StyleLayer(c14, c14, w_dim, 14, upsample=False),
            StyleLayer(c14, c28, w_dim, 28, upsample=True), StyleLayer(c28, c28, w_dim, 28, upsample=False),
        ])
        self.outputs = nn.ModuleList([ToImage(c, w_dim) for c in channels])
        # Fixed noise for a deterministic decode(z) (StyleGAN's noise_mode="const"): drawn once, stored.
        gen = torch.Generator().manual_seed(0)
        for i, layer in enumerate(self.layers):
            self.register_buffer(f"noise_const{i}", torch.randn(1, 1, layer.resolution, layer.resolution,
                                                                generator=gen))

    @property
    def n_style_layers(self) -> int:
        return len(self.layers)  # one w per convolution; each resolution's image output takes its last layer's

    def const_noise(self) -> list[torch.Tensor]:
        return [getattr(self, f"noise_const{i}") for i in range(len(self.layers))]

    def random_noise(self, n: int, generator: torch.Generator | None = None) -> list[torch.Tensor]:
        device = self.const.device
        return [torch.randn(n, 1, layer.resolution, layer.resolution, generator=generator,
                            device=device if generator is None else generator.device).to(device)
                for layer in self.layers]

    def forward(self, ws: torch.Tensor, noise: list[torch.Tensor]) -> torch.Tensor:
        x = self.const.expand(ws.shape[0], -1, -1, -1)
        image = None
        # w index i styles layer i; each resolution's image output takes the w of its second layer
        for i, (layer, layer_noise) in enumerate(zip(self.layers, noise)):
            x = layer(x, ws[:, i], layer_noise)
            if i % 2 == 1:
                out = self.outputs[i // 2](x, ws[:, i])
                image = out if image is None else F.interpolate(image, scale_factor=2, mode="bilinear",
                                                                align_corners=False) + out
        return image


class StyleGenerator(nn.Module):
    """Mapping and synthesis networks, and the running mean of w that truncation pulls towards."""

    def __init__(self, config: StyleGANConfig) -> None:
        super().__init__()
        self.mapping = MappingNetwork(config.latent_dim, config.w_dim, config.mapping_layers, config.mapping_lr_scale)
        self.synthesis = SynthesisNetwork(config.w_dim, tuple(config.channels))
        self.register_buffer("w_avg", torch.zeros(config.w_dim))

    def noise(self, spec: NoiseSpec, n: int) -> list[torch.Tensor]:
        if spec is None or (isinstance(spec, str) and spec == "const"):
            return self.synthesis.const_noise()
        if isinstance(spec, str) and spec == "random":
            return self.synthesis.random_noise(n)
        if isinstance(spec, torch.Generator):
            return self.synthesis.random_noise(n, spec)
        if isinstance(spec, str):
            raise ValueError(f"noise is 'const', 'random', a torch.Generator or a list of tensors, not {spec!r}")
        return list(spec)

    def images(self, ws: torch.Tensor, noise: NoiseSpec = "random") -> torch.Tensor:
        return torch.sigmoid(self.synthesis(ws, self.noise(noise, ws.shape[0])))


class StyleDiscriminator(nn.Module):
    """Image (B, 1, 28, 28) → one logit: two conv blocks with average pooling, a minibatch-std map, dense head."""

    def __init__(self, channels: tuple[int, ...]) -> None:
        super().__init__()
        c28, c14, c7 = channels
        self.blocks = nn.Sequential(
            EqualConv(1, c28, 3), EqualConv(c28, c28, 3), nn.AvgPool2d(2),  # → 14×14
            EqualConv(c28, c14, 3), EqualConv(c14, c14, 3), nn.AvgPool2d(2),  # → 7×7
        )
        self.last = EqualConv(c14 + 1, c7, 3)
        self.head = nn.Sequential(EqualLinear(c7 * 49, c7, activate=True), EqualLinear(c7, 1))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        h = self.blocks(2 * x - 1)
        # minibatch standard deviation over groups of up to 4 (Karras et al., 2018): collapsed fakes look fake
        group = math.gcd(4, h.shape[0])
        grouped = h.view(group, -1, *h.shape[1:])
        spread = (grouped.var(dim=0, correction=0) + 1e-8).sqrt().mean(dim=(1, 2, 3))  # (B / group,)
        spread = spread.repeat(group)[:, None, None, None].expand(-1, 1, *h.shape[2:])
        h = self.last(torch.cat([h, spread], dim=1))
        return self.head(h.flatten(1)).squeeze(1)


class StyleGAN(LatentModel):
    kind = "stylegan"
    has_encoder = False
    has_style_space = True  # mapping, synthesize, mix, truncate, w_avg, n_style_layers

    def __init__(self, config: StyleGANConfig | None = None) -> None:
        config = config or StyleGANConfig()
        if not 0 <= config.mixing <= 1 or config.r1 < 0 or config.r1_every < 1 or config.ema_images < 0:
            raise ValueError("mixing must be in [0, 1], r1 0 or more, r1_every at least 1 and ema_images 0 or more")
        super().__init__(config)
        self.prior = make_prior(config.prior, config.latent_dim)
        self.generator = StyleGenerator(config)  # the one the optimiser moves
        # The weight average that samples come from; without one, the trained generator itself.
        self.generator_ema = copy.deepcopy(self.generator).requires_grad_(False) if config.ema_images else None
        self.discriminator = StyleDiscriminator(tuple(config.disc_channels))
        self.register_buffer("images_seen", torch.zeros((), dtype=torch.float64))  # drives the average's ramp-up
        self._d_steps = 0

    # -- what the app uses -------------------------------------------------------------------------------------
    @property
    def inference_generator(self) -> StyleGenerator:
        return self.generator_ema if self.generator_ema is not None else self.generator

    @property
    def n_style_layers(self) -> int:
        return self.generator.synthesis.n_style_layers

    @property
    def w_avg(self) -> torch.Tensor:
        """The running mean of w over training (w_dim,): the centre of truncation."""
        return self.inference_generator.w_avg

    @property
    def style_resolutions(self) -> tuple[int, ...]:
        """The resolution each w index styles (n_style_layers,): 7, 7, 14, 14, 28, 28."""
        return tuple(layer.resolution for layer in self.generator.synthesis.layers)

    @torch.no_grad()
    def mapping(self, z: torch.Tensor) -> torch.Tensor:
        """Codes z (B, latent_dim) → style codes w (B, w_dim)."""
        return self.inference_generator.mapping(z.to(self.device))

    def broadcast(self, w: torch.Tensor) -> torch.Tensor:
        """w (B, w_dim) → the same w for every layer (B, n_style_layers, w_dim); per-layer w's pass unchanged."""
        return w[:, None].expand(-1, self.n_style_layers, -1) if w.dim() == 2 else w

    @torch.no_grad()
    def synthesize(self, w_per_layer: torch.Tensor, noise: NoiseSpec = None) -> torch.Tensor:
        """Images (B, 1, 28, 28) in [0, 1] from w (B, w_dim) or one w per layer (B, n_style_layers, w_dim).
        `noise`: None (the stored noise: a deterministic image), "random", a torch.Generator to draw it from,
        or one tensor per layer (`noise_shapes`)."""
        return self.inference_generator.images(self.broadcast(w_per_layer.to(self.device)), noise)

    def noise_shapes(self) -> list[tuple[int, int, int]]:
        """The noise each layer adds: (1, H, W) per layer (a batch of them is (B, 1, H, W))."""
        return [(1, layer.resolution, layer.resolution) for layer in self.generator.synthesis.layers]

    def mix(self, w_coarse: torch.Tensor, w_fine: torch.Tensor, crossover: int) -> torch.Tensor:
        """One w per layer (B, n_style_layers, w_dim): layers before `crossover` from `w_coarse`, the rest from
        `w_fine` (each (B, w_dim) or per layer). crossover 0: all `w_fine`; n_style_layers: all `w_coarse`."""
        if not 0 <= crossover <= self.n_style_layers:
            raise ValueError(f"crossover is a layer in 0..{self.n_style_layers}, not {crossover}")
        coarse, fine = self.broadcast(w_coarse), self.broadcast(w_fine)
        return torch.cat([coarse[:, :crossover], fine[:, crossover:]], dim=1)

    def truncate(self, w: torch.Tensor, psi: float) -> torch.Tensor:
        """w pulled towards the running mean: w_avg + psi · (w − w_avg); psi 1 leaves w, 0 gives w_avg."""
        if psi == 1:
            return w
        w_avg = self.w_avg.to(w.device)
        return w_avg + psi * (w - w_avg)

    @torch.no_grad()
    def decode(self, z: torch.Tensor, labels: torch.Tensor | None = None, *, psi: float = 1.0) -> torch.Tensor:
        w = self.mapping(z)
        return self.synthesize(self.truncate(w, psi) if psi != 1 else w)

    def sample_latent(self, n, labels=None, generator=None):
        z = self.prior.sample(n, generator=generator, device=None if generator is not None else self.device)
        return z.to(self.device)

    def inference_modules(self) -> list[nn.Module]:
        return [self.inference_generator]

    # -- training -----------------------------------------------------------------------------------------------
    def phases(self, lr: float) -> list[Phase]:
        # Adam β = (0, 0.99) as StyleGAN2; the mapping network's rate is scaled inside its layers.
        return [
            Phase("discriminator", list(self.discriminator.parameters()), lr, betas=(0.0, 0.99), role="adversarial"),
            Phase("generator", list(self.generator.parameters()), lr, betas=(0.0, 0.99), role="adversarial"),
        ]

    def _training_ws(self, n: int) -> torch.Tensor:
        """w per layer for `n` training fakes, with style mixing: (n, n_style_layers, w_dim)."""
        mapping = self.generator.mapping
        ws = self.broadcast(mapping(self.sample_latent(n)))
        if self.training and self.config.mixing > 0:
            second = self.broadcast(mapping(self.sample_latent(n)))
            layers = torch.arange(self.n_style_layers, device=ws.device)
            crossover = torch.randint(1, self.n_style_layers, (n, 1), device=ws.device)
            mixed = (torch.rand(n, 1, device=ws.device) < self.config.mixing) & (layers[None] >= crossover)
            ws = torch.where(mixed[:, :, None], second, ws)
        return ws

    def phase_loss(self, phase: str, x: torch.Tensor, labels: torch.Tensor) -> PhaseOutput:
        learning = self.training and torch.is_grad_enabled()
        if phase == "discriminator":
            if learning:
                self._update_average(x.shape[0])  # after the previous generator step
            with torch.no_grad():
                fake = self.generator.images(self._training_ws(x.shape[0]))
            r1 = learning and self.config.r1 > 0 and self._d_steps % self.config.r1_every == 0
            real = x.detach().requires_grad_(True) if r1 else x
            logit_real, logit_fake = self.discriminator(real), self.discriminator(fake)
            loss = F.softplus(-logit_real).mean() + F.softplus(logit_fake).mean()
            logs = {"disc": loss.detach(), "disc_acc": discriminator_accuracy(logit_real, logit_fake)}
            if r1:
                (grad,) = torch.autograd.grad(logit_real.sum(), real, create_graph=True)
                penalty = grad.square().sum(dim=(1, 2, 3)).mean()
                loss = loss + 0.5 * self.config.r1 * self.config.r1_every * penalty
                logs["r1"] = penalty.detach()
            if learning:
                self._d_steps += 1
            return PhaseOutput(loss, logs)
        if phase == "generator":
            with frozen(self.discriminator):
                ws = self._training_ws(x.shape[0])
                loss = F.softplus(-self.discriminator(self.generator.images(ws))).mean()
            if learning:
                with torch.no_grad():
                    self.generator.w_avg.lerp_(ws[:, 0].float().mean(dim=0), 1 - self.config.w_avg_beta)
            return PhaseOutput(loss, {"gen": loss.detach()})
        raise ValueError(f"unknown phase {phase!r}")

    @torch.no_grad()
    def _update_average(self, batch: int) -> None:
        """Move the averaged generator towards the trained one; its half-life is `ema_images`, ramped up as
        StyleGAN2-ADA's (at most 5 % of the images seen so far), so a short run's average is not its start."""
        self.images_seen += batch
        if self.generator_ema is None:
            return
        half_life = min(float(self.config.ema_images), 0.05 * float(self.images_seen))
        beta = 0.5 ** (batch / max(half_life, 1e-8))
        for average, live in zip(self.generator_ema.parameters(), self.generator.parameters()):
            average.lerp_(live.detach(), 1 - beta)
        for average, live in zip(self.generator_ema.buffers(), self.generator.buffers()):
            average.copy_(live)


CATALOG_ENTRIES = (
    CatalogEntry(
        kind="stylegan", model=StyleGAN, config=StyleGANConfig, label="StyleGAN",
        summary="a GAN whose noise becomes a style code w that modulates every layer, with per-layer noise",
        order=5, priors=("gaussian",),
    ),
)
