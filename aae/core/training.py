"""The training engine: one loop for every model, driven by the model's phases, reporting through a callback.

The engine knows nothing of any UI. It calls `callback(TrainEvent)` as it goes (the CLI prints a
progress bar from these, the app writes them where its pages can poll them), checks a
`threading.Event` between steps so training can be cancelled, and stops with TrainingDiverged
when a loss stops being finite, before anything broken can be saved.
"""

from __future__ import annotations

import threading
import time
import warnings
from collections import defaultdict
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field, replace
from typing import Any, Literal

import torch

from aae.core.data import Splits
from aae.core.device import DeviceChoice, describe_device, pick_device, precision_note, resolve_precision
from aae.core.distributed import SINGLE, World, average_gradients, shard
from aae.core.graphed import GraphedStep, set_capturable
from aae.core.graphed import supported as graph_supported
from aae.core.models import LatentModel, build_model
from aae.core.models.base import Phase, setting
from aae.core.optim import FusedAdam

Precision = Literal["auto", "fp32", "bf16"]
OptimizerKind = Literal["adam", "sgd"]


@dataclass(frozen=True)
class TrainConfig:
    """How a model is trained: the schedule, the optimiser, the regularisation and what is measured on the way.
    Each field's help is what `aae train --help` and the Train page show."""

    epochs: int = setting(20, "passes over the training split")
    batch_size: int = setting(100, "images per step (the paper: 100)")
    lr: float = setting(1e-3, "rate of the main phase: reconstruction, the VAE's ELBO, a GAN's generator")
    seed: int = setting(0, "seeds the initial weights, the batch order and every noise draw: same seed, same model")
    device: DeviceChoice = setting("auto", "where to train: auto takes the GPU when there is one, else the CPU")
    log_every: int = setting(10, "steps between loss reports (0: about 300 over the run)")
    sample_every: int = setting(200, "steps between preview grids (0: at the end of each epoch; -1: four per epoch)")
    n_preview: int = setting(100, "images in each preview grid")
    # On a CPU without native bf16 (AVX-512 BF16 or AMX) bf16 is emulated and many times slower: auto is fp32 there.
    precision: Precision = setting("auto", "fp32, or bf16 matrix products (weights stay fp32); auto: bf16 only "
                                           "where the hardware does it natively and it measures faster")
    compile: bool = setting(False, "compile each network first (torch.compile): slower to start, faster steps; "
                                   "pays off on runs of minutes")
    cuda_graph: bool = setting(False, "GPU only: replay each training step as one CUDA graph, fewer launches and "
                                      "faster small models (other noise draws)")
    # Adam normalises each phase's step; with separate adversarial phases that moved the encoder as far as the
    # reconstruction step did (bench/README.md), which is why the AAEs default to joint regularisation.
    optimizer: OptimizerKind = setting("adam", "adam: one Adam per phase; sgd: the paper's SGD with momentum")
    momentum: float = setting(0.9, "SGD momentum of the reconstruction and supervised phases (the paper: 0.9)")
    adversarial_momentum: float = setting(0.1, "SGD momentum of the adversarial phases (the paper: 0.1)")
    adversarial_lr: float | None = setting(None, "rate of the adversarial phases (none: the model's share of lr)")
    supervised_lr: float | None = setting(None, "rate of the supervised phase (none: the model's share of lr)")
    lr_steps: tuple[int, ...] = setting((), "epochs at which every rate drops tenfold (the paper: 50)")
    regularization: Literal["phases", "joint", "shared"] = setting(
        "joint", "AAEs: phases (separate steps, as the paper), joint (the generator loss in the reconstruction "
                 "step) or shared (joint, and D learns from that pass)")
    adversarial_weight: float = setting(1.0, "joint and shared: weight of the generator loss beside the "
                                             "reconstruction loss")
    progress_images: int = setting(2000, "validation images whose codes are scored each epoch: kNN accuracy and "
                                         "MMD² to the prior (0: off)")
    validation_images: int | None = setting(2000, "validation images behind each epoch's validation losses, a "
                                                  "fixed subset (none: all of them; 0: none)")
    full_validation_every: int = setting(0, "every this many epochs, and after the last, the losses over the whole "
                                            "validation split too (0: after the last epoch only)")
    minutes: float = setting(0.0, "train for about this many minutes: epochs and rate steps shrink to fit once "
                                  "the first epoch's speed is known (0: all epochs)")

    def __post_init__(self) -> None:
        object.__setattr__(self, "lr_steps", tuple(int(e) for e in self.lr_steps))  # a card stores a list
        if self.full_validation_every < 0 or (self.validation_images or 0) < 0 or self.progress_images < 0:
            raise ValueError("validation_images, progress_images and full_validation_every must be 0 or more")
        if self.log_every < 0 or self.sample_every < -1:
            raise ValueError(f"log_every must be ≥ 0 and sample_every ≥ -1, got {self.log_every}, {self.sample_every}")
        for name in ("epochs", "batch_size", "n_preview"):
            if getattr(self, name) < 1:
                raise ValueError(f"{name} must be at least 1, got {getattr(self, name)}")
        if not self.lr > 0:
            raise ValueError(f"lr must be positive, got {self.lr}")
        if self.device not in ("auto", "cpu", "cuda"):
            raise ValueError(f"device must be auto, cpu or cuda, not {self.device!r}")
        if self.precision not in ("auto", "fp32", "bf16"):
            raise ValueError(f"precision must be auto, fp32 or bf16, not {self.precision!r}")
        if self.regularization not in ("phases", "joint", "shared"):
            raise ValueError(f"regularization must be phases, joint or shared, not {self.regularization!r}")
        if not self.adversarial_weight >= 0:
            raise ValueError(f"adversarial_weight must be 0 or more, got {self.adversarial_weight}")
        if self.optimizer not in ("adam", "sgd"):
            raise ValueError(f"optimizer must be adam or sgd, not {self.optimizer!r}")
        for name in ("adversarial_lr", "supervised_lr"):
            value = getattr(self, name)
            if value is not None and not value > 0:
                raise ValueError(f"{name} must be positive, got {value}")
        for name in ("momentum", "adversarial_momentum"):
            if not 0 <= getattr(self, name) < 1:
                raise ValueError(f"{name} must be in [0, 1), got {getattr(self, name)}")
        if not self.minutes >= 0:
            raise ValueError(f"minutes must be 0 (off) or more, got {self.minutes}")
        if any(e < 1 for e in self.lr_steps) or list(self.lr_steps) != sorted(set(self.lr_steps)):
            raise ValueError(f"lr_steps must be increasing epoch numbers ≥ 1, got {list(self.lr_steps)}")

    def phase_lr(self, phase: Phase, epoch: int = 0) -> float:
        """The rate of `phase` during `epoch` (0-based): its role's rate, ÷ 10 for each step passed."""
        base = {"adversarial": self.adversarial_lr, "supervised": self.supervised_lr}.get(phase.role)
        lr = phase.lr if base is None else base
        return lr * 0.1 ** sum(epoch >= step for step in self.lr_steps)

    def fitted_to(self, epochs: int) -> TrainConfig:
        """This config cut to `epochs` (≤ self.epochs), each rate step moved in proportion (see `minutes`)."""
        if epochs >= self.epochs:
            return self
        steps = sorted({max(1, round(step * epochs / self.epochs)) for step in self.lr_steps})
        return replace(self, epochs=max(1, epochs), lr_steps=tuple(steps))


EventKind = Literal["start", "step", "samples", "epoch", "done", "cancelled"]


@dataclass
class TrainEvent:
    """What happened: `kind`, where (step/epoch), the latest losses, and for "samples" the preview images."""

    kind: EventKind
    step: int
    total_steps: int
    epoch: int
    epochs: int
    elapsed: float
    losses: dict[str, float] = field(default_factory=dict)
    samples: torch.Tensor | None = None  # (n_preview, 1, 28, 28) on the CPU, for "samples"
    images_per_second: float = 0.0
    message: str = ""

    @property
    def fraction(self) -> float:
        return self.step / max(self.total_steps, 1)


class TrainingDiverged(RuntimeError):
    """A loss became NaN or infinite; nothing is saved from such a run."""


@dataclass
class TrainResult:
    model: LatentModel
    status: Literal["done", "cancelled"]
    epochs_done: int
    steps_done: int
    elapsed: float
    history: list[dict[str, float]]  # one row per epoch: mean training losses and validation losses
    optimizer_state: dict[str, Any]  # phase name -> optimiser state dict, for resuming
    device: str
    precision: str = "fp32"  # what ran (TrainConfig.precision "auto" resolved)


def create_model(kind: str, config: Any = None, *, seed: int = 0) -> LatentModel:
    """A model whose initial weights depend only on `seed`."""
    torch.manual_seed(seed)
    return build_model(kind, config)


class Trainer:
    """Trains `model` on `splits` with one optimiser per phase of the model (Adam, or the paper's SGD)."""

    def __init__(
        self,
        model: LatentModel,
        splits: Splits,
        config: TrainConfig,
        *,
        callback: Callable[[TrainEvent], None] | None = None,
        cancel: threading.Event | None = None,
        optimizer_state: dict[str, Any] | None = None,
        start_epoch: int = 0,
        world: World = SINGLE,
    ) -> None:
        self.config = config
        self.world = world  # under torchrun: this rank trains on its shard of each global batch
        self.device = pick_device(config.device)
        self.model = model.to(self.device)
        if config.compile:
            for network in model.children():
                network.compile()  # in place: the same module, parameters and state-dict names
        # The engine never holds test images (aae.core.data's protocol): training, validation and progress read
        # the training and validation splits only.
        self.splits = splits.without_test().to(self.device)
        self.callback = callback or (lambda event: None)
        self.cancel = cancel or threading.Event()
        self.start_epoch = start_epoch
        self.precision = resolve_precision(config.precision, self.device)  # what runs: fp32 or bf16
        self.history: list[dict[str, float]] = []  # one row per finished epoch of this run
        self._last_logs: dict[str, torch.Tensor | float] = {}  # the latest step's losses (as tensors)
        self.result: TrainResult | None = None  # set once `steps()` is exhausted
        self.preparation = model.prepare_training(self.splits, config.seed)  # e.g. the labelled subset
        self.phases = joined_phases(model.phases(config.lr), config, model)
        self.optimizers = {p.name: make_optimizer(p, config) for p in every_phase(self.phases)}
        if optimizer_state:
            missing = set(self.optimizers) - set(optimizer_state)
            if missing:
                raise ValueError(f"resume state lacks optimisers for phases: {', '.join(sorted(missing))}")
            for name, opt in self.optimizers.items():
                opt.load_state_dict(optimizer_state[name])
            set_capturable(self.optimizers.values(), False)  # saved by a graphed run: ordinary unless graphed below
        n = len(self.splits.train_y)
        if n < config.batch_size:
            raise ValueError(f"the training split has {n} images, fewer than one batch of {config.batch_size}")
        if config.batch_size % world.size:
            raise ValueError(f"the batch size {config.batch_size} must split evenly over {world.size} processes")
        self.steps_per_epoch = n // config.batch_size  # the last partial batch is dropped
        # The live schedule (0 / -1): enough loss points for a smooth curve, a fresh preview four times an epoch.
        self.log_every = config.log_every or max(1, config.epochs * self.steps_per_epoch // 300)
        self.sample_every = max(1, self.steps_per_epoch // 4) if config.sample_every < 0 else config.sample_every
        # Fixed noise for preview grids; labels cycle 0..9 so a 10-wide grid shows one class per column.
        gen = torch.Generator().manual_seed(config.seed + 12345)
        labels = torch.arange(config.n_preview) % 10
        # A clustering AAE may have fewer than 10 clusters: its decoder takes only labels 0..K−1.
        self.preview_labels = (labels % model.n_content if model.conditional else labels).to(self.device)
        self.preview_z = model.sample_latent(config.n_preview, labels=labels, generator=gen).to(self.device) \
            if _can_sample(model) else None
        # TrainConfig.cuda_graph (aae.core.graphed): the whole step as one CUDA graph where the run allows it
        self.graphed: GraphedStep | None = None
        self.graph_note = ""  # for the "start" message: the graph is on, or why not
        if config.cuda_graph:
            usable, self.graph_note = graph_supported(model, config, self.device, world.size)
            if usable:
                set_capturable(self.optimizers.values(), True)
                self.graphed = GraphedStep(self.graphable_step, self.optimizers.values())

    def _emit(self, kind: EventKind, step: int, epoch: int, started: float, **kw: Any) -> None:
        total = self.config.epochs * self.steps_per_epoch
        self.callback(TrainEvent(kind, step, total, epoch, self.config.epochs, time.perf_counter() - started, **kw))

    @torch.no_grad()
    def preview(self) -> torch.Tensor | None:
        if self.preview_z is None:
            return None
        was_training = self.model.training
        self.model.eval()
        images = self.model.decode(self.preview_z, labels=self.preview_labels).float().cpu()
        self.model.train(was_training)
        return images

    def _validation_subset(self, n: int | None) -> tuple[torch.Tensor, torch.Tensor]:
        """The first `n` validation images (float) and labels (all when None): a fixed subset, on the device."""
        rows = slice(None, n)
        return self.splits.batch("val", rows), self.splits.val_y[rows]

    @torch.no_grad()
    def validate(self, batch_size: int = 500, *,
                 images: int | None | Literal["config"] = "config") -> dict[str, float]:
        """Mean loss of every phase on `images` validation images (default: the config's per-epoch subset,
        validation_images; None: all), in eval mode. One forward pass per phase the engine steps, as in training:
        the phase with the phases joined to it and its partners (the AAE: one encoder, decoder and D pass), in the
        precision the steps run in, so the losses compare with the training losses beside them (bf16: the whole
        split's pass after the last epoch took 0.5 s in fp32 and 0.15 s in bf16 for the 8-D AAE on a 2-core Xeon;
        the losses agreed to 4 digits). The figures `aae eval` reports are measured apart, in fp32."""
        n = self.config.validation_images if images == "config" else images
        total = len(self.splits.val_y) if n is None else min(n, len(self.splits.val_y))
        if total == 0:
            return {}
        self.model.eval()
        sums: dict[str, torch.Tensor | float] = defaultdict(float)
        for start in range(0, total, batch_size):
            rows = slice(start, min(start + batch_size, total))
            xb, yb = self.splits.batch("val", rows), self.splits.val_y[rows]  # converted a batch at a time
            for phase in self.phases:
                partners = tuple(p.name for p in phase.partners)
                with torch.autocast(self.device.type, dtype=torch.bfloat16, enabled=self.precision == "bf16"):
                    out = self.model.joint_loss(phase.name, phase.joined, xb, yb, partners)
                for key, value in out.logs.items():
                    value = value.float() if isinstance(value, torch.Tensor) else value  # summed in fp32
                    sums[f"val_{key}"] += value * len(xb)  # on the device: one wait, at the end
        self.model.train()
        return {k: float(v) / total for k, v in sums.items()}

    def full_validation(self, epoch: int) -> dict[str, float]:
        """val_full_ losses over the whole validation split after epoch `epoch` (0-based) when it is due: every
        `full_validation_every` epochs and after the last; {} otherwise or when the per-epoch subset is all."""
        n, every = self.config.validation_images, self.config.full_validation_every
        if n is None or n == 0 and not every or n >= len(self.splits.val_y):
            return {}
        due = epoch + 1 >= self.config.epochs or (every and (epoch + 1) % every == 0)
        if not due:
            return {}
        return {f"val_full_{k.removeprefix('val_')}": v for k, v in self.validate(images=None).items()}

    @torch.no_grad()
    def latent_progress(self) -> dict[str, float]:
        """kNN accuracy of validation codes and their MMD² to the prior: where the latent space is heading.
        On the first `progress_images` validation images, computed on the device (float32 there)."""
        n = min(self.config.progress_images, len(self.splits.val_y))
        if n < 20 or not self.model.has_encoder or self.preview_z is None:
            return {}
        from aae.core.metrics.latent import knn_accuracy, mmd

        self.model.eval()
        x, labels = self._validation_subset(n)
        codes = self.model.encode(x).float()
        gen = torch.Generator().manual_seed(self.config.seed)
        prior = self.model.sample_latent(n, generator=gen).float().to(self.device)
        progress = {"val_knn": knn_accuracy(codes, labels, device=self.device),
                    "val_mmd": mmd(codes, prior, device=self.device)}
        if self.model.categorical and not self.model.uses_labels:
            # A clustering: its error, the clusters named by majority on the first half, counted on the second
            from aae.core.metrics import assign_clusters, clustering_error

            probs = self.model.category_probs(x).float().cpu()
            labels = labels.cpu()
            half = n // 2
            names = assign_clusters(probs[:half], labels[:half], method="majority")
            progress["val_cluster_err"] = clustering_error(probs[half:].argmax(dim=1), labels[half:], names)
        self.model.train()
        return progress

    def fit(self) -> TrainResult:
        """Train to the end (or until cancelled) and return the result."""
        for _ in self.steps():
            pass
        return self.result

    def steps(self) -> Iterator[int]:
        """Train, yielding the step count after every mini-batch; `result` holds the outcome once exhausted.

        `fit` runs it to the end; the GAN-vs-AAE duel advances two trainers in lockstep with it (same
        seed, same batch size: the same batches), pausing between steps. Events go to the callback as in `fit`.
        """
        started = time.perf_counter()
        asked = self.config  # with `minutes`, self.config is this cut to the epochs that fit
        history: list[dict[str, float]] = []
        self.history = history  # readable from a callback (the CLI saves a resumable checkpoint every few epochs)
        step = self.start_epoch * self.steps_per_epoch
        self.model.train()
        self._emit("start", step, self.start_epoch, started,
                   message="; ".join(filter(None, [describe_device(self.device), self.graph_note,
                                                   precision_note(self.precision, self.device)])))
        status: Literal["done", "cancelled"] = "done"
        epoch = self.start_epoch
        while epoch < self.config.epochs:
            cfg = self.config
            # Seeding per epoch makes a resumed run draw the same batches and noise as an unbroken one.
            # Each rank of a torchrun job draws its own noise (prior samples, dropout) for its shard.
            torch.manual_seed(cfg.seed * 100_003 + epoch + 7919 * self.world.rank)
            order = torch.randperm(len(self.splits.train_y), generator=torch.Generator().manual_seed(cfg.seed + epoch))
            order = order.to(self.device)
            self.set_rates(epoch)
            sums: dict[str, float] = defaultdict(float)
            epoch_started = time.perf_counter()
            for i in range(self.steps_per_epoch):
                if self.cancel.is_set():
                    status = "cancelled"
                    break
                idx = shard(order[i * cfg.batch_size:(i + 1) * cfg.batch_size], self.world)
                x, y = self.splits.batch("train", idx), self.splits.train_y[idx]  # float only for this batch
                logs = self.train_step(x, y, step=step, epoch=epoch)
                self._last_logs = logs
                for key, value in logs.items():
                    # On the device (no wait for the GPU here), in float32: bf16 sums of hundreds of steps stall.
                    sums[key] += value.float() if isinstance(value, torch.Tensor) else value
                step += 1
                if step % self.log_every == 0:
                    rate = (i + 1) * cfg.batch_size / (time.perf_counter() - epoch_started)
                    self._emit("step", step, epoch, started, losses=self.last_logs, images_per_second=rate)
                if self.sample_every and step % self.sample_every == 0:
                    self._emit("samples", step, epoch, started, samples=self.preview())
                yield step
            if status == "cancelled":
                break
            means = {k: float(v) / self.steps_per_epoch for k, v in sums.items()}
            row = {"epoch": epoch + 1, **means, **self.validate(), **self.latent_progress()}
            history.append(row)
            rate = self.steps_per_epoch * cfg.batch_size / (time.perf_counter() - epoch_started)
            if asked.minutes and epoch + 1 < min(cfg.lr_steps, default=cfg.epochs):
                # A time budget: fit the epochs to the speed of the latest epoch, until the first rate step
                # (after it the schedule is fixed). Fitting from what was asked keeps the steps' proportions.
                now = time.perf_counter()
                last = now - epoch_started
                fits = epoch + 1 + int((asked.minutes * 60 - (now - started)) // max(last, 1e-9))
                self.config = asked.fitted_to(max(epoch + 1, fits))
            row.update(self.full_validation(epoch))  # after the fit above: it knows which epoch is the last
            self._emit("epoch", step, epoch + 1, started, losses=row, images_per_second=rate,
                       samples=self.preview())
            epoch += 1
        epochs_done = len(history) + self.start_epoch
        elapsed = time.perf_counter() - started
        self.model.eval()
        self._emit(status, step, epochs_done, started, message=f"{status} after {epochs_done} epochs")
        self.result = TrainResult(
            model=self.model, status=status, epochs_done=epochs_done, steps_done=step, elapsed=elapsed,
            history=history, optimizer_state=self.optimizer_state(), device=str(self.device),
            precision=self.precision,
        )

    @property
    def last_logs(self) -> dict[str, float]:
        """The latest step's losses, as floats (this waits for the GPU: read it when reporting, not every step)."""
        return {k: float(v) for k, v in self._last_logs.items()}

    def optimizer_state(self) -> dict[str, Any]:
        return {k: o.state_dict() for k, o in self.optimizers.items()}

    def set_rates(self, epoch: int) -> None:
        """Every phase's rate for `epoch`, following `lr_steps` (so a resumed run continues the schedule)."""
        for phase in every_phase(self.phases):
            for group in self.optimizers[phase.name].param_groups:
                group["lr"] = self.config.phase_lr(phase, epoch)

    def train_step(self, x: torch.Tensor, y: torch.Tensor, *, step: int = 0,
                   epoch: int = 0) -> dict[str, torch.Tensor | float]:
        """One mini-batch: each phase in order, one optimiser step each. Returns the losses as 0-d tensors.

        A diverged loss stops training. On the CPU every step is checked (free there); on a GPU the check
        waits for the GPU, so it runs at each reported step: a NaN stays NaN until then (no host
        syncs per step). Under a CUDA graph (`graphed`) the losses are the graph's output tensors, overwritten
        by the next step.
        """
        if self.graphed is not None:
            out = self.graphed(x, y)
            if out is not None:
                logs, losses = out
                if (step + 1) % self.log_every == 0:
                    for name, loss in losses.items():
                        self._check_finite(name, loss, step, epoch)
                return dict(logs)
            if self.graphed.reason is not None and self.graph_note != self.graphed.reason:
                self.graph_note = self.graphed.reason  # found while training: said once, then the ordinary step
                warnings.warn(f"{self.graph_note}; training goes on without it", RuntimeWarning, stacklevel=2)
        check = self.device.type == "cpu" or (step + 1) % self.log_every == 0
        return self._phase_steps(x, y, check=check, step=step, epoch=epoch)[0]

    def graphable_step(self, x: torch.Tensor, y: torch.Tensor) -> tuple[dict[str, torch.Tensor | float],
                                                                        dict[str, torch.Tensor]]:
        """One mini-batch as a CUDA graph captures it: no host checks, autocast without its cache; returns
        (the logs, each phase's last loss, detached) for the caller to check."""
        return self._phase_steps(x, y, check=False, graphing=True)

    def _check_finite(self, name: str, loss: torch.Tensor, step: int, epoch: int) -> None:
        if not torch.isfinite(loss):
            raise TrainingDiverged(
                f"the {name} loss became {loss.item()} at step {step + 1} (epoch "
                f"{epoch + 1}); training stopped and nothing was saved. Try a lower learning rate "
                f"(now {self.config.lr}) or another seed."
            )

    def _phase_steps(self, x: torch.Tensor, y: torch.Tensor, *, check: bool, step: int = 0, epoch: int = 0,
                     graphing: bool = False) -> tuple[dict[str, torch.Tensor | float], dict[str, torch.Tensor]]:
        logs: dict[str, torch.Tensor | float] = {}
        last: dict[str, torch.Tensor] = {}
        for phase in self.phases:
            group = [phase, *phase.partners]  # partners: steps taken from this phase's pass (shared)
            names = tuple(p.name for p in phase.partners)
            for _ in range(phase.repeats):
                for member in group:
                    self.optimizers[member.name].zero_grad(set_to_none=True)
                with torch.autocast(self.device.type, dtype=torch.bfloat16, enabled=self.precision == "bf16",
                                    cache_enabled=False if graphing else None):  # a graph cannot hold the cache
                    out = self.model.joint_loss(phase.name, phase.joined, x, y, names)
                losses = [out.loss, *(out.partner_losses[name] for name in names)]
                if check:
                    for member, loss in zip(group, losses):
                        self._check_finite(member.name, loss, step, epoch)
                if graphing:
                    last.update({member.name: loss.detach() for member, loss in zip(group, losses)})
                backward_each(group, losses, routed=out.routed)
                for member in group:
                    average_gradients(member.parameters, self.world)  # data-parallel: no-op in one process
                    self.optimizers[member.name].step()
            logs.update(out.logs)
        return logs, last


def backward_each(group: list[Phase], losses: list[torch.Tensor], *, routed: bool = False) -> None:
    """Back-propagate each phase's loss: alone, as always; with partners (one forward pass, shared
    regularisation), each loss to its own phase's parameters only, the graph kept until the last. `routed`
    (PhaseOutput.routed): the model already sends each loss's gradient to its own phase alone, so one backward
    pass of their sum does the same at less cost."""
    if len(group) == 1 or routed:
        sum(losses[1:], losses[0]).backward()
        return
    for i, (member, loss) in enumerate(zip(group, losses)):
        loss.backward(inputs=member.parameters, retain_graph=i < len(group) - 1)


def every_phase(phases: list[Phase]) -> list[Phase]:
    """The phases and their partners: one optimiser each."""
    return [q for p in phases for q in (p, *p.partners)]


def joined_phases(phases: list[Phase], config: TrainConfig, model: LatentModel | None = None) -> list[Phase]:
    """The model's phases as the engine runs them: under `joint` regularisation an adversarial "generator"
    phase whose parameters all belong to the reconstruction phase is folded into it (same step, one optimiser).
    Under `shared`, `model` must share its pass (`shares_regularization_pass`): as joint, and the discriminator
    phase becomes the reconstruction phase's partner, stepped from the same pass by its own optimiser."""
    if config.regularization == "phases":
        return phases
    if config.regularization == "shared" and not (model is not None and model.shares_regularization_pass):
        kind = getattr(model, "kind", "model")
        raise ValueError(f"a {kind} cannot take its discriminator's step from the reconstruction pass (shared "
                         "regularisation is the AAE's); train it with --regularization joint or phases")
    by_name = {p.name: p for p in phases}
    recon, gen = by_name.get("reconstruction"), by_name.get("generator")
    if recon is None or gen is None or gen.role != "adversarial":
        return phases
    recon_ids = {id(q) for q in recon.parameters}
    if not all(id(q) in recon_ids for q in gen.parameters):
        return phases
    merged = replace(recon, joined=(*recon.joined, ("generator", config.adversarial_weight)))
    disc = by_name.get("discriminator") if config.regularization == "shared" else None
    if disc is not None and disc.repeats == 1:
        merged = replace(merged, partners=(disc,))
    return [merged if p is recon else p for p in phases if p is not gen and not any(p is q for q in merged.partners)]


def make_optimizer(phase: Phase, config: TrainConfig) -> torch.optim.Optimizer | FusedAdam:
    """The optimiser of one phase: Adam with the phase's betas, or SGD with its role's momentum. Adam on the CPU is
    `FusedAdam` (the same kernel, without torch.optim's start-up cost); on a GPU, torch's (CUDA graphs take it)."""
    lr = config.phase_lr(phase)
    if config.optimizer == "sgd":
        momentum = config.adversarial_momentum if phase.role == "adversarial" else config.momentum
        return torch.optim.SGD(phase.parameters, lr=lr, momentum=momentum)
    if all(p.device.type == "cpu" for p in phase.parameters) and hasattr(torch, "_fused_adam_"):
        return FusedAdam(phase.parameters, lr=lr, betas=phase.betas)
    try:  # the fused kernel (one pass over all parameters) where this torch has it
        return torch.optim.Adam(phase.parameters, lr=lr, betas=phase.betas, fused=True)
    except (RuntimeError, TypeError):
        return torch.optim.Adam(phase.parameters, lr=lr, betas=phase.betas)


def _can_sample(model: LatentModel) -> bool:
    try:
        model.sample_latent(1)
    except NotImplementedError:
        return False
    return True


def train(
    model: LatentModel,
    splits: Splits,
    config: TrainConfig,
    *,
    callback: Callable[[TrainEvent], None] | None = None,
    cancel: threading.Event | None = None,
    optimizer_state: dict[str, Any] | None = None,
    start_epoch: int = 0,
) -> TrainResult:
    """Train `model` on `splits` (see Trainer); returns the trained model, its history and optimiser state."""
    trainer = Trainer(model, splits, config, callback=callback, cancel=cancel,
                      optimizer_state=optimizer_state, start_epoch=start_epoch)
    return trainer.fit()
