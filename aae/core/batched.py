"""Several seeds of one model trained as one batched model (a ≥ 3-seed table in one run, not three).

`SeedBatch` builds one model per seed, stacks their parameters along a new first dimension
(`torch.func.stack_module_state`) and runs every phase of the engine's protocol for all of them at once:
`torch.func.vmap` over `torch.func.functional_call` turns each layer into one batched matrix product, and the
prior samples, reparameterisation noise and dropout are drawn separately for each model
(`randomness="different"`). Each seed sees its own order of the training images. One optimiser per phase
steps the stacked tensors: Adam and SGD act element by element, so that is S independent optimisers, and the
summed loss gives each model exactly its own gradient (the models share no parameter).

Only models whose training needs no preparation (no labelled subset to pick) and no running buffers are
batched: the AAE and the VAE of every size and prior, and the GANs without batch norm. `models()` returns
ordinary models, one per seed, for `aae.core.checkpoints.save_checkpoint` and the metrics.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Sequence
from dataclasses import replace
from typing import Any

import torch
from torch import nn
from torch.func import functional_call, stack_module_state, vmap

from aae.core.data import Splits
from aae.core.models.base import LatentModel
from aae.core.training import (
    TrainConfig,
    TrainingDiverged,
    backward_each,
    create_model,
    every_phase,
    joined_phases,
    make_optimizer,
    pick_device,
)


class _PhaseLoss(nn.Module):
    """A model's phase loss as a module's forward, so that `functional_call` can run it on other weights."""

    def __init__(self, model: LatentModel) -> None:
        super().__init__()
        self.model = model
        self.routed = False

    def forward(self, name: str, joined: tuple[tuple[str, float], ...], partners: tuple[str, ...], x: torch.Tensor,
                y: torch.Tensor) -> tuple[list[torch.Tensor], dict[str, torch.Tensor]]:
        # the engine's own step (aae.core.training.Trainer.train_step): the phase's loss, then its partners'
        out = self.model.joint_loss(name, joined, x, y, partners)
        self.routed = out.routed  # not a tensor, so not an output of vmap: read by SeedBatch.train_step
        losses = [out.loss, *(out.partner_losses[p] for p in partners)]
        return losses, {k: torch.as_tensor(v, dtype=torch.float32, device=x.device) for k, v in out.logs.items()}


def can_batch(model: LatentModel) -> str | None:
    """Why `model` cannot be trained as one of a batch, or None when it can."""
    if type(model).prepare_training is not LatentModel.prepare_training:
        return f"a {model.kind} prepares its training (a labelled subset, a cluster count) per model"
    if any(True for _ in model.buffers()):
        return f"a {model.kind} keeps running buffers (batch norm), which a batched step cannot update per model"
    return None


class SeedBatch:
    """`len(seeds)` models of one kind and config, one per seed, trained in lockstep as one batched model."""

    def __init__(self, kind: str, config: Any, seeds: Sequence[int], splits: Splits, train_config: TrainConfig,
                 *, callback: Callable[[int, dict[str, torch.Tensor]], None] | None = None) -> None:
        if len(seeds) < 1 or len(set(seeds)) != len(seeds):
            raise ValueError(f"give one or more distinct seeds, not {list(seeds)}")
        if train_config.precision not in ("fp32", "auto"):
            raise ValueError("batched seeds train in fp32")
        self.kind, self.seeds, self.config = kind, list(seeds), train_config
        self.device = pick_device(train_config.device)
        self.splits = splits.to(self.device)
        self.callback = callback or (lambda step, logs: None)
        models = [create_model(kind, config, seed=s).to(self.device) for s in self.seeds]
        problem = can_batch(models[0])
        if problem:
            raise ValueError(f"{problem}; train its seeds one by one (aae train --seed N)")
        self._models = models
        self.base = models[0]  # its own weights are never used: functional_call swaps the stacked ones in
        self.params, _ = stack_module_state(models)  # name → (S, ...) leaf tensor
        self._loss = _PhaseLoss(self.base)
        names = {id(p): n for n, p in self.base.named_parameters()}
        phases = joined_phases(self.base.phases(train_config.lr), train_config, self.base)

        def stacked(p):
            return replace(p, parameters=[self.params[names[id(q)]] for q in p.parameters],
                           partners=tuple(stacked(q) for q in p.partners))

        self.phases = [stacked(p) for p in phases]
        # Each phase's weights as functional_call takes them. Those it does not train enter detached (views of
        # the same storage, so they follow the optimiser's in-place steps): no gradient is computed for them,
        # as `frozen` does for one model (the encoder's step through D computes none for D's weights). A shared
        # pass trains its partners' weights too; each loss reaches only its own phase's (backward_each).
        self._inputs = {}
        for phase in phases:
            trained = {names[id(q)] for member in every_phase([phase]) for q in member.parameters}
            self._inputs[phase.name] = {f"model.{k}": v if k in trained else v.detach() for k, v in self.params.items()}
        self.optimizers = {p.name: make_optimizer(p, train_config) for p in every_phase(self.phases)}
        n = len(self.splits.train_x)
        if n < train_config.batch_size:
            raise ValueError(f"the training split has {n} images, fewer than one batch of {train_config.batch_size}")
        self.steps_per_epoch = n // train_config.batch_size
        self.history: list[dict[str, Any]] = []  # per epoch: the mean of each logged loss, per seed

    def _phase(self, name: str, joined: tuple, partners: tuple[str, ...], x: torch.Tensor, y: torch.Tensor):
        def one(params: dict[str, torch.Tensor], xs: torch.Tensor, ys: torch.Tensor):
            return functional_call(self._loss, params, (name, joined, partners, xs, ys))

        return vmap(one, in_dims=(0, 0, 0), randomness="different")(self._inputs[name], x, y)

    def train_step(self, x: torch.Tensor, y: torch.Tensor) -> dict[str, torch.Tensor]:
        """One mini-batch for every model: x is (S, B, ...), each model's own batch. Logs are (S,) tensors."""
        logs: dict[str, torch.Tensor] = {}
        for phase in self.phases:
            group = [phase, *phase.partners]
            for _ in range(phase.repeats):
                for member in group:
                    self.optimizers[member.name].zero_grad(set_to_none=True)
                losses, step_logs = self._phase(phase.name, phase.joined, tuple(p.name for p in phase.partners), x, y)
                for member, loss in zip(group, losses):
                    if self.device.type == "cpu" and not torch.isfinite(loss).all():
                        bad = [s for s, v in zip(self.seeds, loss.tolist()) if not math.isfinite(v)]
                        raise TrainingDiverged(f"the {member.name} loss diverged for seed(s) {bad}")
                backward_each(group, [loss.sum() for loss in losses], routed=self._loss.routed)
                for member in group:
                    self.optimizers[member.name].step()
            logs.update({k: v.detach() for k, v in step_logs.items()})
        return logs

    def fit(self) -> list[dict[str, Any]]:
        """Train every model for `config.epochs` epochs; returns the per-epoch history."""
        cfg, b = self.config, self.config.batch_size
        n = len(self.splits.train_x)
        started = time.perf_counter()
        step = 0
        for epoch in range(cfg.epochs):
            for phase in every_phase(self.phases):
                for group in self.optimizers[phase.name].param_groups:
                    group["lr"] = cfg.phase_lr(phase, epoch)
            torch.manual_seed(cfg.seed * 100_003 + epoch)
            # Each seed its own order of the images, drawn as the single-model trainer draws it.
            order = torch.stack([torch.randperm(n, generator=torch.Generator().manual_seed(seed + epoch))
                                 for seed in self.seeds]).to(self.device)
            sums: dict[str, torch.Tensor] = {}
            for i in range(self.steps_per_epoch):
                idx = order[:, i * b:(i + 1) * b]  # (S, B)
                logs = self.train_step(self.splits.train_x[idx], self.splits.train_y[idx])
                for key, value in logs.items():
                    sums[key] = sums.get(key, 0) + value
                step += 1
                self.callback(step, logs)
            means = {k: (v / self.steps_per_epoch).tolist() for k, v in sums.items()}
            self.history.append({"epoch": epoch + 1, "seconds": time.perf_counter() - started, **means})
        return self.history

    def models(self) -> list[LatentModel]:
        """One ordinary model per seed, holding its slice of the trained weights (in eval mode)."""
        with torch.no_grad():
            for i, model in enumerate(self._models):
                for name, p in model.named_parameters():
                    p.copy_(self.params[name][i])
                model.eval()
        return list(self._models)
