"""Data-parallel training across processes (`torchrun`), gloo on CPUs and NCCL on GPUs.

Each rank trains the same model on its shard of every global batch (the batch the single-process run would
take, split by rank), and after each phase's backward pass the gradients of that phase's parameters are
averaged across ranks before the optimiser step — what DistributedDataParallel does, done per phase because
our models compute their losses in `phase_loss`, not in `forward` (DDP only hooks `forward`). With equal
shards, the averaged gradient is the gradient of the global batch's mean loss, so the model follows the
single-process run. Rank 0 alone reports progress and writes checkpoints.
"""

from __future__ import annotations

import os
from dataclasses import dataclass

import torch
import torch.distributed as dist


@dataclass(frozen=True)
class World:
    rank: int = 0
    size: int = 1

    @property
    def main(self) -> bool:
        return self.rank == 0

    @property
    def distributed(self) -> bool:
        return self.size > 1


SINGLE = World()


def setup(device: torch.device) -> World:
    """The process group torchrun asked for (WORLD_SIZE > 1), or the single process (plain `aae train`)."""
    size = int(os.environ.get("WORLD_SIZE", "1"))
    if size <= 1:
        return SINGLE
    rank = int(os.environ["RANK"])
    if not dist.is_initialized():
        dist.init_process_group(backend="nccl" if device.type == "cuda" else "gloo")
    if device.type == "cuda":
        torch.cuda.set_device(int(os.environ.get("LOCAL_RANK", "0")))
    return World(rank=rank, size=size)


def shard(indices: torch.Tensor, world: World) -> torch.Tensor:
    """This rank's part of a global batch's indices (every size-th, starting at its rank)."""
    return indices if not world.distributed else indices[world.rank::world.size]


def average_gradients(parameters: list[torch.nn.Parameter], world: World) -> None:
    """Average the gradients of `parameters` across ranks, in one flat buffer (one collective per phase)."""
    if not world.distributed:
        return
    grads = [p.grad for p in parameters if p.grad is not None]
    if not grads:
        return
    flat = torch.cat([g.reshape(-1) for g in grads])
    dist.all_reduce(flat, op=dist.ReduceOp.SUM)
    flat /= world.size
    offset = 0
    for g in grads:
        g.copy_(flat[offset:offset + g.numel()].view_as(g))
        offset += g.numel()


def barrier(world: World) -> None:
    if world.distributed:
        dist.barrier()


def teardown(world: World) -> None:
    if world.distributed and dist.is_initialized():
        dist.destroy_process_group()
