"""A model over many images or codes at once: batched, without gradients, the results on the CPU (evaluation, the
app's maps and grids, the CLI's exports)."""

from __future__ import annotations

import torch

from aae.core.models import LatentModel


@torch.no_grad()
def encode_all(model: LatentModel, images: torch.Tensor, *, batch_size: int = 1000) -> torch.Tensor:
    """Codes (N, D) of many images, batched, on the CPU."""
    model.eval()
    device = model.device
    return torch.cat([model.encode(images[i:i + batch_size].to(device)).float().cpu()
                      for i in range(0, len(images), batch_size)])


@torch.no_grad()
def decode_all(model: LatentModel, z: torch.Tensor, *, batch_size: int = 1000) -> torch.Tensor:
    """Images (N, 1, 28, 28) of many codes, batched, on the CPU."""
    model.eval()
    device = model.device
    return torch.cat([model.decode(z[i:i + batch_size].to(device)).float().cpu()
                      for i in range(0, len(z), batch_size)])


@torch.no_grad()
def reconstruct_all(
    model: LatentModel, images: torch.Tensor, labels: torch.Tensor | None = None, *, batch_size: int = 1000
) -> torch.Tensor:
    """Each image encoded and decoded again (N, 1, 28, 28) on the CPU; a supervised AAE writes it as `labels`."""
    model.eval()
    out = []
    for i in range(0, len(images), batch_size):
        y = None if labels is None else labels[i:i + batch_size].to(model.device)
        out.append(model.reconstruct(images[i:i + batch_size].to(model.device), labels=y).float().cpu())
    return torch.cat(out)


@torch.no_grad()
def category_probs_all(model: LatentModel, images: torch.Tensor, *, batch_size: int = 1000) -> torch.Tensor:
    """q(y | x) of a semi-supervised or clustering AAE for many images (N, K), on the CPU."""
    model.eval()
    return torch.cat([model.category_probs(images[i:i + batch_size].to(model.device)).float().cpu()
                      for i in range(0, len(images), batch_size)])
