"""Time estimates for people before a run starts: the measured training rate of a model on this device, and
a job's wall time from Start to its saved model."""

from __future__ import annotations

import os
import pickle
import subprocess
import sys
import threading
import time
from collections.abc import Iterable
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import torch

from aae.core.data import Splits
from aae.core.device import pick_device
from aae.core.training import TrainConfig, Trainer, create_model


def measure_throughput(kind: str, model_config: Any, config: TrainConfig, *, steps: int = 3,
                       seconds: float = 0.25) -> float:
    """Training images per second of this model and config on this device, for time estimates before a run (the
    real data runs at the same rate): after one warm-up step, two rounds of at least `steps` steps and at least
    `seconds` each, on random images; the faster round counts. (Three steps of a small model take a tenth of a
    second, and one hiccup of a busy machine in them made the Draw a prior page promise 12 min for a 1-min run.)"""
    device = pick_device(config.device)
    n = max(config.batch_size * 2, 2000)  # enough per class for a semi-supervised model's labelled subset
    gen = torch.Generator().manual_seed(0)
    x = torch.rand(n, 1, 28, 28, generator=gen)
    y = torch.arange(n) % 10
    splits = Splits("mnist", x, y, x[:0], y[:0])
    # Eager: an estimate must not wait for a compile (a compiled run is about 9 % faster once compiled, here).
    trainer = Trainer(create_model(kind, model_config, seed=0), splits, replace(config, epochs=1, compile=False))
    rows = slice(None, config.batch_size)
    batch_x, batch_y = trainer.splits.batch("train", rows), trainer.splits.train_y[rows]
    trainer.train_step(batch_x, batch_y)
    if device.type == "cuda":
        torch.cuda.synchronize()
    best = 0.0
    for _ in range(2):
        started, done = time.perf_counter(), 0
        while done < steps or time.perf_counter() - started < seconds:
            trainer.train_step(batch_x, batch_y)
            done += 1
            if device.type == "cuda":
                torch.cuda.synchronize()
        best = max(best, done * config.batch_size / max(time.perf_counter() - started, 1e-9))
    return best


class Measurer:
    """`measure_throughput` for the app's server, in a process of its own (`python -m aae.app.estimates`): the
    models, their optimisers and the steps' buffers (about 200 MB) live there, not in the server. The process is
    started ahead of need (`warm`: it imports torch while people read another page), answers any number of
    requests, and ends by itself after `linger` seconds without one, giving its memory back; the next request
    starts another. Requests from several sessions take turns."""

    def __init__(self, linger: float = 60.0) -> None:
        self.linger = linger
        self._lock = threading.Lock()
        self._process: subprocess.Popen | None = None

    @property
    def pid(self) -> int | None:
        """The measuring process's id while it runs, else None."""
        return self._process.pid if self._alive() else None

    def _alive(self) -> bool:
        return self._process is not None and self._process.poll() is None

    def _start(self) -> None:
        root = str(Path(__file__).resolve().parents[2])
        path = os.environ.get("PYTHONPATH")
        env = {**os.environ, "PYTHONPATH": root + (os.pathsep + path if path else "")}
        self._process = subprocess.Popen([sys.executable, "-P", "-m", "aae.app.estimates", str(self.linger)],
                                         stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL,
                                         env=env)

    def warm(self) -> None:
        """Start the process now unless it is running: the first estimate then waits for no start. Never waits:
        while a measurement holds the process, it is running."""
        if self._lock.acquire(blocking=False):
            try:
                if not self._alive():
                    self._start()
            finally:
                self._lock.release()

    def measure(self, *runs: tuple[str, Any, TrainConfig], timeout: float = 300.0) -> list[float]:
        """Images per second of each (kind, model config, training config). A refused setting raises ValueError
        with the process's message; any other failure RuntimeError."""
        with self._lock:
            for attempt in range(2):  # a process that lingered out just as the request came is started again
                if not self._alive():
                    self._start()
                try:
                    _send(self._process.stdin, runs)
                    status, answer = _receive(self._process.stdout, timeout)
                    break
                except (BrokenPipeError, EOFError) as error:
                    self._process.kill()
                    self._process.wait()
                    if attempt:
                        raise RuntimeError("measuring this machine's speed failed: the measuring process ended") \
                            from error
                except TimeoutError as error:
                    self._process.kill()
                    self._process.wait()
                    raise RuntimeError(f"measuring this machine's speed took more than {timeout:.0f} s") from error
        if status == "refused":  # the settings or the device were refused: the message says which
            raise ValueError(answer)
        if status != "ok":
            raise RuntimeError(f"measuring this machine's speed failed: {answer}")
        return answer


def _send(stream: Any, message: Any) -> None:
    data = pickle.dumps(message)
    stream.write(len(data).to_bytes(8, "little") + data)
    stream.flush()


def _receive(stream: Any, timeout: float | None = None) -> Any:
    """One message from `stream`; EOFError at its end, TimeoutError when nothing came within `timeout` seconds."""
    import select

    if timeout is not None and not select.select([stream], [], [], timeout)[0]:
        raise TimeoutError
    header = stream.read(8)
    if len(header) < 8:
        raise EOFError
    return pickle.loads(stream.read(int.from_bytes(header, "little")))


def _serve(linger: float) -> None:
    """The measuring process: answer each request of `Measurer.measure` until the server closes the pipe or
    `linger` seconds pass without one."""
    import select

    # Ahead of the first request: the first steps of a process are slower than the rest (kernels chosen, memory
    # first touched). Memory is kept as the training workers keep it, so the rates measured are theirs.
    from aae.core import catalog
    from aae.core.device import keep_freed_memory

    keep_freed_memory()

    config = catalog.build_config("aae", {"latent_dim": 2, "hidden": 64})
    measure_throughput("aae", config, catalog.train_config("aae", config, epochs=1, batch_size=50), steps=2,
                       seconds=0.05)
    while select.select([sys.stdin.buffer], [], [], linger)[0]:
        try:
            runs = _receive(sys.stdin.buffer)
        except EOFError:
            return
        try:
            answer = ("ok", [measure_throughput(*run) for run in runs])
        except (ValueError, RuntimeError) as refused:  # bad settings, or a device this machine lacks
            answer = ("refused", str(refused))
        except Exception as error:  # noqa: BLE001 - any other failure is reported, and the process goes on
            answer = ("failed", f"{type(error).__name__}: {error}")
        _send(sys.stdout.buffer, answer)


MEASURER = Measurer()  # the server's one measuring process


# A worker process's start before its first step (spawn, imports, loading MNIST), on this 2-core CPU:
# 3.6–3.9 s measured (2026-11-30, aae.app.workers.start_job, then the first step).
WORKER_STARTUP_SECONDS = 4.0


def estimate_job_seconds(images_per_second: float, *, epochs: int, train_images: int,
                         validation_images: float = 0) -> float:
    """Wall time of a training job from Start to its saved model, for the estimate on a Start button.

    The measured training rate, plus the worker's start, plus each epoch's validation pass: a forward pass
    only, about a third of a training step per image. Checked against runs of the Train page's default AAE
    (2026-11-30, this CPU): 13.8 s for 1 epoch of 10,000 images (this: 12.1 s; the plain rate alone: 6.1 s)
    and 35.6 s for 1 epoch of 50,000 (this: 36.3 s).
    """
    per_epoch = (train_images + validation_images / 3) / max(images_per_second, 1e-9)
    return WORKER_STARTUP_SECONDS + epochs * per_epoch


# A measured rate older than this is measured again before an estimate uses it: what else the machine is doing
# changes, and with it the rate.
MEASUREMENT_MAX_AGE = 600.0

CAVEAT = ("An estimate: the run takes longer while other work (another training, another user of this app) keeps "
          "the machine busy.")


@dataclass(frozen=True)
class Rate:
    """Training images per second measured on this machine (`measure_throughput`), and when (time.time())."""

    images_per_second: float
    measured_at: float


def lockstep(*rates: Rate) -> Rate:
    """The rate of models trained in lockstep on the same batches (a duel): each image costs each model its time."""
    return Rate(1 / sum(1 / max(r.images_per_second, 1e-9) for r in rates), min(r.measured_at for r in rates))


@dataclass(frozen=True)
class Estimate:
    """A job's wall time from Start to its saved model, as every page shows it; `images_per_second` is the rate it
    rests on (None for several jobs at different rates)."""

    seconds: float
    measured_at: float
    images_per_second: float | None = None

    @property
    def duration(self) -> str:
        return format_duration(self.seconds)


def validation_images_per_epoch(config: TrainConfig, validation_split: int = 10_000) -> float:
    """The validation images a training job reads per epoch, on average, as the engine schedules them: each epoch's
    subset (all when None) and, where the subset is smaller, the whole split every `full_validation_every` epochs
    and after the last."""
    epochs, every = max(config.epochs, 1), config.full_validation_every
    per_epoch = validation_split if config.validation_images is None else min(config.validation_images,
                                                                               validation_split)
    full_passes = 0
    if per_epoch < validation_split and (per_epoch > 0 or every):
        full_passes = (epochs // every if every else 0) + (0 if every and epochs % every == 0 else 1)
    return per_epoch + full_passes * validation_split / epochs


def job_estimate(rate: Rate, *, epochs: int, train_images: int, validation_images: float = 0) -> Estimate:
    """`estimate_job_seconds` at a measured `rate`, as an Estimate that remembers the measurement."""
    seconds = estimate_job_seconds(rate.images_per_second, epochs=epochs, train_images=train_images,
                                   validation_images=validation_images)
    return Estimate(seconds, rate.measured_at, rate.images_per_second)


def training_estimate(rate: Rate, config: TrainConfig, *, train_images: int,
                      validation_split: int = 10_000) -> Estimate:
    """A training job's Estimate: `config.epochs` epochs of `train_images` at `rate`, its validation as `config`
    schedules it, and the worker's start."""
    return job_estimate(rate, epochs=config.epochs, train_images=train_images,
                        validation_images=validation_images_per_epoch(config, validation_split))


def total(estimates: Iterable[Estimate], *, at_once: int = 1) -> Estimate:
    """Several jobs started together: side by side when `at_once` workers may train at once (the longest one
    counts), else one after another in the queue (their times add up)."""
    estimates = list(estimates)
    if len(estimates) == 1:
        return estimates[0]
    seconds = [e.seconds for e in estimates]
    return Estimate(max(seconds) if at_once >= len(seconds) else sum(seconds), min(e.measured_at for e in estimates))


def measured_ago(measured_at: float, now: float | None = None) -> str:
    """"just now", "20 min ago", "2.5 h ago": the age of a measurement, for people."""
    age = max(0.0, (time.time() if now is None else now) - measured_at)
    if age < 60:
        return "just now"
    if age < 90 * 60:
        return f"{age / 60:.0f} min ago"
    return f"{age / 3600:.1f} h ago"


def describe_estimate(estimate: Estimate, what: str, *, now: float | None = None) -> str:
    """The sentence beside a Start button: the estimate (in bold, as the button says it), `what` it covers, the
    measurement it rests on and its age, and that it depends on the machine's load."""
    rate = "" if estimate.images_per_second is None else f"{estimate.images_per_second:,.0f} images/s, "
    return (f"Estimated time: **{estimate.duration}** {what}, from this machine's speed ({rate}measured "
            f"{measured_ago(estimate.measured_at, now)}). {CAVEAT}")


def format_duration(seconds: float) -> str:
    """"about 40 s", "about 12 min", "about 3.5 h": an estimate for people."""
    if seconds < 90:
        return f"about {max(seconds, 1):.0f} s"
    if seconds < 90 * 60:
        return f"about {seconds / 60:.0f} min"
    return f"about {seconds / 3600:.1f} h"


# The measuring process of Measurer: requests arrive on stdin, answers leave on stdout.
if __name__ == "__main__":
    _serve(float(sys.argv[1]) if len(sys.argv) > 1 else 60.0)
