"""What the Style space page shows, computed here (the page only draws it): paths in Z and in W, StyleGAN's
style-mixing grid, and the same style under re-drawn per-layer noise. Every function takes a model with a style
space (`has_style_space`: mapping, synthesize, mix, truncate) and returns images (N, 1, 28, 28) on the CPU.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch

from aae.core.metrics.ppl import lerp, slerp


def style_codes(model, seeds: list[int]) -> torch.Tensor:
    """One prior code z per seed (len(seeds), latent_dim): each reproducible from its own seed."""
    return torch.cat([model.sample_latent(1, generator=torch.Generator().manual_seed(int(s))) for s in seeds])


def _ws(model, z: torch.Tensor, psi: float) -> torch.Tensor:
    return model.truncate(model.mapping(z), psi)


@torch.no_grad()
def path_images(model, z_a: torch.Tensor, z_b: torch.Tensor, ts: list[float] | torch.Tensor, *, space: str,
                psi: float = 1.0) -> torch.Tensor:
    """Images along the path from code `z_a` to `z_b` (each (latent_dim,)) at the fractions `ts`: in "z", slerp
    between the codes, each then mapped to w; in "w", a straight line between the two codes' w. Both ends are the
    same two images; what lies between differs. Truncation `psi` applies to every w on the path."""
    t = torch.as_tensor(ts, dtype=torch.float64)
    a, b = z_a[None].expand(len(t), -1).double(), z_b[None].expand(len(t), -1).double()
    if space == "z":
        ws = _ws(model, slerp(a, b, t).float(), psi)
    elif space == "w":
        w_a, w_b = _ws(model, z_a[None], psi), _ws(model, z_b[None], psi)
        ws = lerp(w_a.expand(len(t), -1).double(), w_b.expand(len(t), -1).double(), t.to(w_a.device)).float()
    else:
        raise ValueError(f"space is 'z' or 'w', not {space!r}")
    return model.synthesize(ws).float().cpu()


@dataclass(frozen=True)
class MixingGrid:
    """StyleGAN's figure 3: a corner left blank, the column sources along the top, the row sources down the left,
    and in each cell the row's styles before `crossover` with the column's from it on."""

    images: torch.Tensor  # ((rows + 1) · (cols + 1), 1, 28, 28), row by row
    rows: int
    cols: int
    crossover: int


@torch.no_grad()
def mixing_grid(model, row_codes: torch.Tensor, col_codes: torch.Tensor, crossover: int, *,
                psi: float = 1.0) -> MixingGrid:
    """Rows take the layers before `crossover` (the coarse styles) from their code, columns the rest (the fine
    styles) from theirs."""
    w_rows, w_cols = _ws(model, row_codes, psi), _ws(model, col_codes, psi)
    r, c = len(w_rows), len(w_cols)
    cells = model.synthesize(model.mix(w_rows.repeat_interleave(c, dim=0), w_cols.repeat(r, 1), crossover)).cpu()
    top, left = model.synthesize(w_cols).cpu(), model.synthesize(w_rows).cpu()
    blank = torch.zeros(1, *top.shape[1:])
    rows = [torch.cat([blank, top])] + [torch.cat([left[i:i + 1], cells[i * c:(i + 1) * c]]) for i in range(r)]
    return MixingGrid(torch.cat(rows).float(), r, c, crossover)


def crossover_choices(model) -> dict[str, int]:
    """Where a mixing grid can cross over, named by the resolutions the row keeps: {"7×7 (coarse)": 2, …}."""
    resolutions = list(model.style_resolutions)
    names = {7: "coarse", 14: "middle", 28: "fine"}
    choices = {}
    for size in sorted(set(resolutions))[:-1]:
        last = max(i for i, r in enumerate(resolutions) if r == size)
        kept = sorted({r for r in resolutions[:last + 1]})
        label = " + ".join(f"{r}×{r}" for r in kept) + f" ({', '.join(names.get(r, str(r)) for r in kept)})"
        choices[label] = last + 1
    return choices


@dataclass(frozen=True)
class NoiseRedraws:
    stored: torch.Tensor  # (1, 1, 28, 28): the image with the model's stored noise (what decode draws)
    redraws: torch.Tensor  # (n, 1, 28, 28): the same w, fresh noise each
    spread: torch.Tensor  # (1, 1, 28, 28): per-pixel standard deviation over the redraws, scaled to [0, 1]
    spread_max: float  # the largest per-pixel standard deviation (the scale of `spread`)


@torch.no_grad()
def noise_redraws(model, z: torch.Tensor, n: int, *, seed: int = 0, psi: float = 1.0) -> NoiseRedraws:
    """One code's image under `n` fresh draws of every layer's noise (StyleGAN's figure 4): the digit stays,
    stroke edges move; `spread` shows where (the pixel-wise standard deviation)."""
    w = _ws(model, z[None], psi)
    stored = model.synthesize(w).cpu()
    redraws = model.synthesize(w.expand(n, -1), noise=torch.Generator().manual_seed(int(seed))).cpu()
    std = redraws.std(dim=0, keepdim=True) if n > 1 else torch.zeros_like(stored)
    top = float(std.max())
    return NoiseRedraws(stored.float(), redraws.float(), (std / max(top, 1e-8)).float(), top)
