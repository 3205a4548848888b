"""Background jobs: training in a worker thread, with progress in a lock-protected snapshot a UI can poll.

Every job offers the pages one interface, the `Job` protocol: the facts it was made with (`info`, checked when the
job is made, so a bad argument is a ValueError at once) and start, snapshot, pause, resume, cancel and join.
`TrainingJob` and `DuelJob` train in a thread of the process that made them; `aae.app.workers.ProcessJob` runs
one of them in a worker process of its own. `BaseJob` is what they share: the facts, the snapshot under a lock,
starting once, and joining.

The worker never calls into any UI. It writes what it has (step, losses, latest samples, errors)
into its job object under a lock; the app reads `snapshot()` on a timer. Jobs outlive page
switches and reruns because the app keeps them in a process-wide registry, not in a page.
"""

from __future__ import annotations

import copy
import logging
import threading
import time
import traceback
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, Literal, Protocol, runtime_checkable

import torch

from aae.core.catalog import kind_of_config, validate_config
from aae.core.checkpoints import CheckpointError, load_checkpoint
from aae.core.data import load_dataset
from aae.core.runner import save_trainer
from aae.core.training import (
    TrainConfig,
    Trainer,
    TrainEvent,
    TrainingDiverged,
    create_model,
    describe_device,
    pick_device,
)

log = logging.getLogger(__name__)

JobStatus = Literal["pending", "running", "paused", "done", "cancelled", "failed"]


# -- progress snapshots and the shared job machinery -------------------------------------------

@dataclass
class JobSnapshot:
    """A consistent copy of a job's progress at one moment."""

    status: JobStatus
    step: int = 0
    total_steps: int = 0
    epoch: int = 0  # epochs completed
    epochs: int = 0
    elapsed: float = 0.0  # seconds spent training (pauses excluded)
    images_per_second: float = 0.0
    message: str = ""
    error: str | None = None  # one readable line for people
    losses: list[dict[str, float]] = field(default_factory=list)  # one row per logged step
    history: list[dict[str, float]] = field(default_factory=list)  # one row per epoch
    samples: torch.Tensor | None = None  # latest preview grid images (N, 1, 28, 28)
    checkpoint: str | None = None
    details: str | None = None  # the traceback of an unexpected error, for a bug report (never for the main view)
    # A duel's DuelFrames, or a 2-D model's LatentFrames (aae.app.explore) while it trains; oldest first.
    frames: list[Any] = field(default_factory=list)

    @property
    def fraction(self) -> float:
        return min(self.step / self.total_steps, 1.0) if self.total_steps else 0.0

    @property
    def finished(self) -> bool:
        return self.status in ("done", "cancelled", "failed")


def copy_snapshot(state: JobSnapshot) -> JobSnapshot:
    """A copy a reader can keep: the worker appends to the lists, the copy must not change under the reader."""
    snap = copy.copy(state)
    snap.losses, snap.history, snap.frames = list(snap.losses), list(snap.history), list(snap.frames)
    return snap


# -- what a job is, and what every job offers ------------------------------------------------------

@dataclass(frozen=True)
class TrainingInfo:
    """What a training job is (`TrainingJob.describe` checks and makes it): a `kind` model of `model_config`,
    trained with `train_config` on `dataset` and saved to `out` under `name`."""

    kind: str
    model_config: Any
    train_config: TrainConfig
    out: Path
    name: str
    dataset: str = "mnist"
    data_dir: str | Path | None = None
    train_limit: int | None = None
    latent_frames: int = 0  # a 2-D model's LatentFrames about every 1/latent_frames of an epoch (0: none)
    frame_images: int = 500  # validation digits in each LatentFrame


@dataclass(frozen=True)
class DuelInfo:
    """What a GAN-vs-AAE duel is (`DuelJob.describe` checks and makes it): a generator-only model of kind
    `gan_kind` and an AAE, trained in lockstep with `train_config` (the GAN at `gan_lr`) on `dataset`."""

    gan_kind: str
    gan_config: Any
    aae_config: Any
    train_config: TrainConfig
    gan_lr: float
    frame_every: int = 100  # steps between DuelFrames
    dataset: str = "mnist"
    data_dir: str | Path | None = None
    train_limit: int | None = None
    classifier: str | Path | None = None  # the classifier that measures class coverage (None: no coverage)
    coverage_samples: int = 500  # samples of each model per frame

    @property
    def name(self) -> str:
        return f"{self.gan_kind}-vs-aae"


@runtime_checkable
class Job(Protocol):
    """What every job offers the pages, whether it trains in a thread (`TrainingJob`, `DuelJob`) or in a worker
    process (`aae.app.workers.ProcessJob`)."""

    info: TrainingInfo | DuelInfo  # what the job is; fixed when it is made
    coverage_error: str | None  # a duel's: why class coverage is off although a classifier was given

    @property
    def name(self) -> str: ...

    @property
    def dataset(self) -> str: ...

    def start(self) -> None: ...

    def snapshot(self) -> JobSnapshot: ...

    def pause(self) -> None: ...

    def resume(self) -> None: ...

    def cancel(self) -> None: ...

    def join(self, timeout: float | None = None) -> None: ...


class BaseJob:
    """What every job shares: its facts, its progress in a lock-protected snapshot, starting once, and joining.

    A subclass says how the job begins (`_begin`) and how it is paused, resumed and cancelled; it reports
    progress with `_update`, or by changing `_state` with `_lock` held and `_note_end` after a status change.
    """

    def __init__(self, info: TrainingInfo | DuelInfo) -> None:
        self.info = info
        self.coverage_error: str | None = None
        self._lock = threading.Lock()
        self._state = JobSnapshot(status="pending", epochs=info.train_config.epochs)
        self._started = False
        self._ended = threading.Event()

    @property
    def name(self) -> str:
        return self.info.name

    @property
    def dataset(self) -> str:
        return self.info.dataset

    def start(self) -> None:
        with self._lock:
            if self._started:
                raise RuntimeError("this job has already been started")
            self._started = True
        self._begin()

    def snapshot(self) -> JobSnapshot:
        with self._lock:
            return copy_snapshot(self._state)

    def join(self, timeout: float | None = None) -> None:
        """Wait until the job has finished (done, cancelled or failed), or `timeout` seconds; a job that was never
        started returns at once."""
        if self._started:
            self._ended.wait(timeout)

    def _begin(self) -> None:
        raise NotImplementedError

    def _update(self, **changes: Any) -> None:
        with self._lock:
            for key, value in changes.items():
                setattr(self._state, key, value)
            self._note_end()

    def _note_end(self) -> None:
        """Wake the joiners once the state says finished; call with the lock held."""
        if self._state.finished:
            self._ended.set()

    def _say_resumed(self) -> None:
        """Say "running" at once: a UI redrawn right after the click must not still see "paused"."""
        with self._lock:
            if self._state.status == "paused":
                self._state.status, self._state.message = "running", "running"


class _Job(BaseJob):
    """A job in a worker thread; it can be paused between steps, resumed and cancelled."""

    def __init__(self, info: TrainingInfo | DuelInfo) -> None:
        super().__init__(info)
        self._cancel = threading.Event()
        self._resume = threading.Event()
        self._resume.set()

    def _begin(self) -> None:
        self._update(status="running")
        self._thread = threading.Thread(target=self._guarded_run, daemon=True, name=type(self).__name__)
        self._thread.start()

    def wait_for_thread(self, timeout: float | None = None) -> bool:
        """Wait until the job's thread has ended, not only its status (after "done" it still frees its model and
        data for a few milliseconds); True once it has, or if it never started."""
        thread = getattr(self, "_thread", None)
        if thread is not None:
            thread.join(timeout)
        return thread is None or not thread.is_alive()

    def cancel(self) -> None:
        self._cancel.set()
        self._resume.set()

    def pause(self) -> None:
        self._resume.clear()

    def resume(self) -> None:
        self._say_resumed()
        self._resume.set()

    def _wait_if_paused(self) -> None:
        """Between steps: block while paused (a pause costs no training time)."""
        if not self._resume.is_set():
            self._update(status="paused", message="paused")
            self._resume.wait()
            if not self._cancel.is_set():
                self._update(status="running", message="running")

    def _guarded_run(self) -> None:
        try:
            self._run()
        except (TrainingDiverged, ValueError, FileNotFoundError, RuntimeError) as error:
            # Our errors (bad config, missing data, divergence) carry messages meant for people.
            self._update(status="failed", error=str(error), message="failed")
        except Exception as error:  # a bug: keep the details for the report, never kill the app
            log.exception("%s failed", type(self).__name__)
            self._update(status="failed", error=f"unexpected {type(error).__name__}: {error}", message="failed",
                         details=traceback.format_exc())

    def _run(self) -> None:
        raise NotImplementedError


# -- one model ---------------------------------------------------------------------------------

class TrainingJob(_Job):
    """Train one model in the background and save it as a checkpoint when it finishes.

    A cancelled job saves nothing (a half-trained model is not what was asked for); a failed one
    records its error message.
    """

    def __init__(self, **arguments: Any) -> None:
        """`arguments` are `describe`'s."""
        super().__init__(self.describe(**arguments))

    @classmethod
    def describe(
        cls,
        *,
        kind: str,
        model_config: Any,
        train_config: TrainConfig,
        out: str | Path,
        dataset: str = "mnist",
        data_dir: str | Path | None = None,
        train_limit: int | None = None,
        name: str | None = None,
        latent_frames: int = 0,
        frame_images: int = 500,
    ) -> TrainingInfo:
        """The job's facts from its arguments, checked (a ValueError says what is wrong); builds no network.

        The model is saved to `out` under `name` (the folder's name by default). A 2-D model with an encoder
        keeps a LatentFrame of `frame_images` validation digits about every 1/latent_frames of an epoch (0: none),
        the live view of q(z) meeting p(z).
        """
        if latent_frames < 0 or frame_images < 10:
            raise ValueError("latent_frames must be ≥ 0 and frame_images ≥ 10")
        out = Path(out)
        return TrainingInfo(kind=kind, model_config=model_config, train_config=train_config, out=out,
                            name=name or out.name, dataset=dataset, data_dir=data_dir, train_limit=train_limit,
                            latent_frames=latent_frames, frame_images=frame_images)

    def _on_event(self, event: TrainEvent) -> None:
        changes: dict[str, Any] = {"step": event.step, "total_steps": event.total_steps, "epochs": event.epochs,
                                   "elapsed": event.elapsed}
        # "step" and "samples" events carry the 0-based epoch in progress; "epoch"/"done" the epochs completed.
        if event.kind in ("start", "epoch", "done", "cancelled"):
            changes["epoch"] = event.epoch
        with self._lock:
            if event.kind == "start":
                changes["message"] = f"training on {event.message}"
            if event.kind == "step":
                self._state.losses.append({"step": event.step, **event.losses})
                changes["images_per_second"] = event.images_per_second
            if event.kind == "epoch":
                self._state.history.append(event.losses)
                changes["images_per_second"] = event.images_per_second
            if event.samples is not None:
                changes["samples"] = event.samples
            for key, value in changes.items():
                setattr(self._state, key, value)

    def _run(self) -> None:
        from aae.core.runner import Run
        from aae.core.spec import DataSpec, RunSpec

        info = self.info
        validate_config(info.kind, info.model_config)
        self._update(message="loading data")
        data = DataSpec(info.dataset, info.train_limit, None if info.data_dir is None else str(info.data_dir))
        run = Run(RunSpec(info.kind, info.model_config, info.train_config, data), callback=self._on_event,
                  cancel=self._cancel, extra_card={"name": info.name})
        trainer, splits, model = run.trainer, run.splits, run.trainer.model
        framed = info.latent_frames > 0 and model.has_encoder and model.latent_dim == 2 and model.generates
        if framed:
            from aae.app.explore import latent_frame

            every = max(1, trainer.steps_per_epoch // info.latent_frames)
            # Validation images: training never reads the test split.
            images, labels = splits.val_x[:info.frame_images], splits.val_y[:info.frame_images]
            draws = model.sample_latent(info.frame_images, generator=torch.Generator().manual_seed(0)).cpu()
            extent = float(draws.abs().max()) * 1.15

            def add_frame(step: int) -> None:
                frame = latent_frame(model, images, labels, draws, step=step,
                                     epoch=step / trainer.steps_per_epoch, extent=extent)
                with self._lock:
                    self._state.frames.append(frame)

            add_frame(0)
        for step in run.steps():
            if framed and step % every == 0:
                add_frame(step)
            self._wait_if_paused()
        result = trainer.result
        if framed and result.status == "done" and result.steps_done % every:
            add_frame(result.steps_done)  # the trained model's own frame, last
        if result.status == "cancelled":
            self._update(status="cancelled", message="cancelled: nothing was saved")
            return
        self._update(message="saving")
        run.save_result(info.out, result)
        self._update(status="done", checkpoint=str(info.out), message=f"saved to {info.out}")


# -- a GAN and an AAE side by side -------------------------------------------------------------

@dataclass
class DuelFrame:
    """One moment of a GAN-vs-AAE run: both models' samples from their fixed noise, and their numbers."""

    step: int
    epoch: float
    gan_samples: torch.Tensor  # (N, 1, 28, 28)
    aae_samples: torch.Tensor
    gan_losses: dict[str, float]
    aae_losses: dict[str, float]
    gan_coverage: dict[str, Any] | None = None  # class shares and modes covered, from the classifier
    aae_coverage: dict[str, Any] | None = None


class DuelJob(_Job):
    """Train a generator-only model (a GAN of any catalogue kind) and an AAE together, in lockstep on the
    engine: two Trainers with the same seed and batch size draw the same batches; each step of one is
    followed by the same step of the other. A frame of both models' samples is kept every `frame_every` steps.

    Can be paused and resumed; `save(prefix)` writes both models once paused or finished. Every
    `train_config.log_every` steps a row of both models' losses ("gan_disc", "aae_recon", ...) is
    added to the snapshot's `losses`; the snapshot's `frames` holds the DuelFrames.
    """

    def __init__(self, **arguments: Any) -> None:
        """`arguments` are `describe`'s."""
        super().__init__(self.describe(**arguments))
        # Models and optimisers change under their own lock, so polling snapshots never waits for a step.
        self._model_lock = threading.Lock()
        self._trainers: dict[str, Trainer] = {}
        self._splits = None
        self._reference = None  # the classifier's features of 5,000 validation images, once it is loaded

    @classmethod
    def describe(
        cls,
        *,
        gan_config: Any,
        aae_config: Any,
        train_config: TrainConfig,
        gan_lr: float | None = None,
        frame_every: int = 100,
        dataset: str = "mnist",
        data_dir: str | Path | None = None,
        train_limit: int | None = None,
        classifier: str | Path | None = None,
        coverage_samples: int = 500,
    ) -> DuelInfo:
        """The duel's facts from its arguments, checked (a ValueError says what is wrong); builds no network.

        `gan_lr` defaults to the catalogue's learning rate for the GAN's kind.
        """
        if frame_every < 1:
            raise ValueError(f"frame_every must be at least 1, got {frame_every}")
        if coverage_samples < 1:
            raise ValueError(f"coverage_samples must be at least 1, got {coverage_samples}")
        from aae.core.catalog import entry

        gan_kind = kind_of_config(gan_config)
        if not entry(gan_kind).capabilities["generator_only"]:
            raise ValueError(f"the duel's first model must be a generator without an encoder, not a {gan_kind}")
        return DuelInfo(gan_kind=gan_kind, gan_config=gan_config, aae_config=aae_config, train_config=train_config,
                        gan_lr=gan_lr if gan_lr is not None else gan_config.training_defaults()["lr"],
                        frame_every=frame_every,
                        dataset=dataset, data_dir=data_dir, train_limit=train_limit, classifier=classifier,
                        coverage_samples=coverage_samples)

    @property
    def gan_kind(self) -> str:
        return self.info.gan_kind

    @property
    def gan_lr(self) -> float:
        return self.info.gan_lr

    def save(self, prefix: str | Path) -> list[Path]:
        """Write both models (full precision, with optimiser state) as `<prefix>-gan` and `<prefix>-aae`.

        Sibling folders rather than one folder holding two, because model lists look for checkpoints
        one level down. Only while paused or once finished, so the weights are not changing under the writer.
        Returns [gan path, aae path].
        """
        with self._lock:
            status, step, epoch, elapsed = self._state.status, self._state.step, self._state.epoch, self._state.elapsed
        if status not in ("paused", "done", "cancelled") or not self._trainers:
            raise RuntimeError("pause or stop the run before saving")
        prefix = Path(prefix)
        paths = []
        with self._model_lock:  # a resume clicked meanwhile waits for the files
            for name, trainer in self._trainers.items():
                path = prefix.with_name(f"{prefix.name}-{name}")
                paths.append(save_trainer(trainer, path, dataset=self.info.dataset, splits=self._splits, epochs=epoch,
                                          steps=step, seconds=elapsed, history=list(trainer.history),
                                          extra={"name": path.name, "duel": True}))
        return paths

    def _coverage(self, classifier, images: torch.Tensor) -> dict[str, Any] | None:
        if classifier is None:
            return None
        from aae.core.metrics import class_coverage
        from aae.core.metrics.frechet import classifier_features, frechet_distance

        probs = classifier.predict_proba(images.to(classifier.device)).cpu()
        cov = class_coverage(probs.argmax(dim=1), n_classes=10)
        return {"shares": list(cov.shares), "modes_covered": cov.modes_covered,
                "normalized_entropy": cov.normalized_entropy, "confidence": float(probs.max(dim=1).values.mean()),
                "frechet": frechet_distance(classifier_features(classifier, images), self._reference)}

    def _load_classifier(self, device: torch.device):
        path = self.info.classifier
        if not path:
            return None
        if not Path(path).exists():
            self.coverage_error = f"no classifier at {path}"
            return None
        try:
            return load_checkpoint(path, device=device).model
        except CheckpointError as error:  # coverage is extra: a broken classifier must not stop the duel
            self.coverage_error = str(error)
            return None

    def _run(self) -> None:
        info = self.info
        cfg = info.train_config
        validate_config(info.gan_kind, info.gan_config)
        validate_config("aae", info.aae_config)
        self._update(message="loading data")
        device = pick_device(cfg.device)
        splits = self._splits = load_dataset(info.dataset, data_dir=info.data_dir, device=device,
                                             train_limit=info.train_limit)
        classifier = self._load_classifier(device)
        if classifier is not None:  # what real digits look like to it: the yardstick of each frame's samples
            from aae.core.metrics.frechet import classifier_features

            self._reference = classifier_features(classifier, splits.val_x[:5000])  # never the test split
        gan = create_model(info.gan_kind, info.gan_config, seed=cfg.seed)
        aae = create_model("aae", info.aae_config, seed=cfg.seed)
        # The duel shows frames, not epochs: no per-epoch validation pass stalls the live view.
        quiet = {"n_preview": info.coverage_samples, "sample_every": 0, "progress_images": 0, "validation_images": 0}
        trainers = {
            "gan": Trainer(gan, splits, replace(cfg, lr=info.gan_lr, **quiet), cancel=self._cancel),
            "aae": Trainer(aae, splits, replace(cfg, **quiet), cancel=self._cancel),
        }
        with self._model_lock:
            self._trainers = trainers
        steps_per_epoch = trainers["aae"].steps_per_epoch
        total = cfg.epochs * steps_per_epoch
        self._update(total_steps=total, message=f"training on {describe_device(device)}")
        runs = {name: trainer.steps() for name, trainer in trainers.items()}
        step, trained_for = 0, 0.0
        while True:
            self._wait_if_paused()
            step_started = time.perf_counter()  # pauses are not training time
            with self._model_lock:  # saving reads the models under the same lock
                advanced = [next(run, None) for run in runs.values()]
            if None in advanced:  # finished, or cancelled (both trainers share the cancel event)
                break
            step += 1
            trained_for += time.perf_counter() - step_started
            report = step % cfg.log_every == 0 or step == total
            frame = step % info.frame_every == 0 or step == total
            # Reading the losses waits for the device: only on the steps that report them.
            logs = {name: trainer.last_logs for name, trainer in trainers.items()} if report or frame else {}
            with self._lock:
                if report:
                    self._state.losses.append({"step": step, **{f"{name}_{k}": v for name, row in logs.items()
                                                                for k, v in row.items()}})
                self._state.step, self._state.epoch = step, step // steps_per_epoch
                self._state.elapsed = trained_for
                self._state.images_per_second = step * cfg.batch_size / max(trained_for, 1e-9)
            if frame:
                self._add_frame(step, step / steps_per_epoch, trainers, logs, classifier)
        if self._cancel.is_set():
            self._update(status="cancelled", message="stopped")
        else:
            self._update(status="done", message=f"done after {cfg.epochs} epochs")

    def _add_frame(self, step, epoch, trainers, logs, classifier) -> None:
        with self._model_lock:
            samples = {name: trainer.preview() for name, trainer in trainers.items()}
        frame = DuelFrame(
            step=step, epoch=epoch, gan_samples=samples["gan"][:100], aae_samples=samples["aae"][:100],
            gan_losses=dict(logs["gan"]), aae_losses=dict(logs["aae"]),
            gan_coverage=self._coverage(classifier, samples["gan"]),
            aae_coverage=self._coverage(classifier, samples["aae"]),
        )
        with self._lock:
            self._state.frames.append(frame)


# -- the job types a page can start ------------------------------------------------------------

JobType = Literal["training", "duel"]
JOB_TYPES: dict[str, type[TrainingJob] | type[DuelJob]] = {"training": TrainingJob, "duel": DuelJob}
