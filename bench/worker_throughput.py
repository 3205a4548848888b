"""Training speed of a job run three ways, while the server is busy: the engine alone, a job in a thread of the
server (how jobs ran until 2026-11-30), and a job in a worker process (aae.app.workers, how they run now).

The server's load is simulated: a Python thread of the same process that keeps the interpreter busy the way
page reruns do (plain Python work, holding the GIL), running beside the job for the whole measurement.
Prints images/s for each way and its share of the engine's figure. Model: a 2-D AAE, 2 × 256 units, batch 100.

    python bench/worker_throughput.py [--images 5000] [--epochs 2] [--load 1]
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))


def busy(stop: threading.Event) -> None:
    """Page reruns: pure-Python work that holds the interpreter lock."""
    while not stop.is_set():
        sum(i * i for i in range(20_000))


def main(argv: list[str] | None = None) -> int:
    from aae.app import workers
    from aae.app.jobs import TrainingJob
    from aae.core import catalog
    from aae.core.data import load_dataset
    from aae.core.training import Trainer, create_model

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--images", type=int, default=5_000)
    parser.add_argument("--epochs", type=int, default=2)
    parser.add_argument("--load", type=int, default=1, help="busy server threads beside the job (default 1)")
    args = parser.parse_args(argv)
    data_dir = os.environ.get("AAE_DATA_DIR", str(ROOT.parent / "shared" / "data"))
    config = catalog.build_config("aae", {"latent_dim": 2, "hidden": 256, "prior": "gaussian", "prior_std": 1.0})
    train = catalog.train_config("aae", config, epochs=args.epochs, device="cpu", sample_every=0,
                                 progress_images=0, validation_images=0)
    splits = load_dataset("mnist", data_dir=data_dir, train_limit=args.images)
    started = time.perf_counter()
    trainer = Trainer(create_model("aae", config, seed=0), splits, train)
    trainer.fit()
    engine = args.epochs * trainer.steps_per_epoch * train.batch_size / (time.perf_counter() - started)
    print(f"engine alone (no load):        {engine:8,.0f} images/s")
    stop = threading.Event()
    loads = [threading.Thread(target=busy, args=(stop,), daemon=True) for _ in range(args.load)]
    for load in loads:
        load.start()
    results = {}
    with tempfile.TemporaryDirectory() as out:
        common = dict(kind="aae", model_config=config, train_config=train, data_dir=data_dir,
                      train_limit=args.images)
        thread_job = TrainingJob(out=Path(out) / "thread", **common)
        thread_job.start()
        thread_job.join()
        results["job in a server thread"] = thread_job.snapshot()
        process_job = workers.start_job("training", out=Path(out) / "process", **common)
        process_job.join()
        results["job in a worker process"] = process_job.snapshot()
    stop.set()
    for name, snap in results.items():
        rate = snap.step * train.batch_size / snap.elapsed
        print(f"{name + f' ({args.load} busy thread)':31s}{rate:8,.0f} images/s  {rate / engine:5.0%} of the engine "
              f"({snap.status})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
