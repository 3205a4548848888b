"""One way to run a specification and save what it trained: the CLI, background jobs and the duel all use it.

`Run` loads the data, builds (or resumes) the model and its Trainer; `Run.save` writes a checkpoint from the
trainer as it stands, at the end or periodically while it trains, with the card every checkpoint carries (the
run's config, dataset, split and provenance). `train_and_save` is the whole thing for a script.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

from aae.core.checkpoints import load_checkpoint, save_checkpoint
from aae.core.data import load_dataset
from aae.core.device import pick_device
from aae.core.spec import RunSpec, from_card
from aae.core.training import Trainer, TrainEvent, TrainResult, create_model


def training_card(dataset: str, splits: Any, trainer: Trainer, *, epochs: int, steps: int, seconds: float,
                  history: list[dict[str, float]], data_dir: str | None = None) -> dict[str, Any]:
    """What a checkpoint card records about the data and the training (the checkpoint adds the model)."""
    from dataclasses import asdict

    from aae.core.data import count_test_images

    return {
        "dataset": {"name": dataset, "train_images": len(splits.train_y), "val_images": len(splits.val_y),
                    "test_images": count_test_images(dataset, data_dir),
                    "note": f"{len(splits.train_y):,} training images and {len(splits.val_y):,} validation images "
                            "drawn (seeded) from the dataset's training set; the test images are its official "
                            "test set"},
        "training": {**asdict(trainer.config), "epochs": epochs, "steps": steps, "device": str(trainer.device),
                     "precision_used": trainer.precision, "seconds": round(seconds, 1), "history": history},
    }


def save_trainer(trainer: Trainer, out: str | Path, *, dataset: str, splits: Any, epochs: int, steps: int,
                 seconds: float, history: list[dict[str, float]], extra: dict[str, Any] | None = None,
                 dtype: str = "float32", data_dir: str | None = None) -> Path:
    """Write `trainer`'s model as a checkpoint (resumable in float32, inference-only otherwise) with its card."""
    card = training_card(dataset, splits, trainer, epochs=epochs, steps=steps, seconds=seconds, history=history,
                         data_dir=data_dir)
    for key, value in (extra or {}).items():  # a dict for a section the card has joins it
        if isinstance(value, dict) and isinstance(card.get(key), dict):
            card[key].update(value)
        else:
            card[key] = value
    inference_only = dtype != "float32"
    path = save_checkpoint(out, trainer.model, card=card, dtype=dtype, inference_only=inference_only,
                           optimizer_state=None if inference_only else trainer.optimizer_state())
    trainer.model.train()
    return Path(path)


class Run:
    """A specification being trained: its data, its model (fresh, or resumed from a checkpoint) and Trainer."""

    def __init__(self, spec: RunSpec, *, callback: Callable[[TrainEvent], None] | None = None,
                 cancel: threading.Event | None = None, resume: str | Path | None = None, world: Any = None,
                 extra_card: dict[str, Any] | None = None) -> None:
        from aae.core.distributed import SINGLE

        self.started = time.time()
        self.extra_card = dict(extra_card or {})
        self.history_before: list[dict[str, float]] = []
        optimizer_state, start_epoch = None, 0
        if resume is not None:
            checkpoint = load_checkpoint(resume)
            if checkpoint.optimizer_state is None:
                raise ValueError(f"{resume} holds inference weights only and cannot be resumed")
            before = from_card(checkpoint.card)
            start_epoch = checkpoint.card.get("training", {}).get("epochs", 0)
            if start_epoch >= spec.train.epochs:
                raise ValueError(f"{resume} already has {start_epoch} epochs; ask for more with --epochs")
            spec = RunSpec(before.kind, before.model, spec.train, spec.data)
            model, optimizer_state = checkpoint.model, checkpoint.optimizer_state
            self.history_before = checkpoint.card.get("training", {}).get("history", [])
        else:
            model = create_model(spec.kind, spec.model, seed=spec.train.seed)
        self.spec = spec
        device = pick_device(spec.train.device)
        self.splits = load_dataset(spec.data.dataset, data_dir=spec.data.data_dir, device=device,
                                   train_limit=spec.data.train_limit)
        self.trainer = Trainer(model, self.splits, spec.train, callback=callback, cancel=cancel,
                               optimizer_state=optimizer_state, start_epoch=start_epoch, world=world or SINGLE)

    def steps(self) -> Iterator[int]:
        return self.trainer.steps()

    def fit(self) -> TrainResult:
        return self.trainer.fit()

    def save(self, out: str | Path, *, epochs: int, steps: int, dtype: str = "float32") -> Path:
        """A checkpoint of the model as it is now, after `epochs` epochs (`steps` steps) of this run."""
        return save_trainer(self.trainer, out, dataset=self.spec.data.dataset, splits=self.splits,
                            epochs=epochs, steps=steps, seconds=time.time() - self.started,
                            history=self.history_before + list(self.trainer.history), extra=self.extra_card,
                            dtype=dtype, data_dir=self.spec.data.data_dir)

    def save_result(self, out: str | Path, result: TrainResult, dtype: str = "float32") -> Path:
        return self.save(out, epochs=result.epochs_done, steps=result.steps_done, dtype=dtype)


def periodic_saver(run_ref: list[Run], out: str | Path, every: int) -> Callable[[TrainEvent], None]:
    """A callback that writes a resumable checkpoint to `out` every `every` epochs (not after the last)."""

    def on_event(event: TrainEvent) -> None:
        if every > 0 and event.kind == "epoch" and event.epoch % every == 0 and event.epoch < event.epochs:
            run_ref[0].save(out, epochs=event.epoch, steps=event.step)

    return on_event


def train_and_save(spec: RunSpec, out: str | Path, *, dtype: str = "float32", save_every: int = 0,
                   extra_card: dict[str, Any] | None = None) -> tuple[TrainResult, Path | None]:
    """Train `spec` and write its checkpoint to `out` (nothing when cancelled)."""
    ref: list[Run] = []
    run = Run(spec, callback=periodic_saver(ref, out, save_every), extra_card=extra_card)
    ref.append(run)
    result = run.fit()
    if result.status != "done":
        return result, None
    return result, run.save_result(out, result, dtype=dtype)
