"""Time estimates for people before a run starts: the measured training rate of a model on this device, and
a job's wall time from Start to its saved model."""

from __future__ import annotations

import time
from dataclasses import replace
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


# A worker process's start before its first step (spawn, imports, loading MNIST), on this 2-core CPU:
# 3.6–3.9 s measured (2026-11-30, aae.app.workers.start_job, then the first step).
WORKER_STARTUP_SECONDS = 4.0


def estimate_job_seconds(images_per_second: float, *, epochs: int, train_images: int,
                         validation_images: int = 0) -> float:
    """Wall time of a training job from Start to its saved model, for the estimate on a Start button.

    The measured training rate, plus the worker's start, plus each epoch's validation pass: a forward pass
    only, about a third of a training step per image. Checked against runs of the Train page's default AAE
    (2026-11-30, this CPU): 13.8 s for 1 epoch of 10,000 images (this: 12.1 s; the plain rate alone: 6.1 s)
    and 35.6 s for 1 epoch of 50,000 (this: 36.3 s).
    """
    per_epoch = (train_images + validation_images / 3) / max(images_per_second, 1e-9)
    return WORKER_STARTUP_SECONDS + epochs * per_epoch


def format_duration(seconds: float) -> str:
    """"about 40 s", "about 12 min", "about 3.5 h": an estimate for people."""
    if seconds < 90:
        return f"about {max(seconds, 1):.0f} s"
    if seconds < 90 * 60:
        return f"about {seconds / 60:.0f} min"
    return f"about {seconds / 3600:.1f} h"
