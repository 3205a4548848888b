"""Epoch time of every catalogue kind with and without the CUDA-graph step (TrainConfig.cuda_graph), on one GPU.

One process, one run per kind and mode, each kind at its catalogue defaults (its model config, rate, batch and
regularisation: aae.core.catalog.train_config). A run takes `--warmup` steps (the graph's warm-up and capture among
them), then times `--steps` steps between two GPU synchronisations; the epoch time printed is that step time
× the steps of one epoch of the 50,000-image training split (extrapolated, not a measured epoch). The batches
are random images of MNIST's shape and random labels: the step's arithmetic does not depend on the pixels. The
last column compares the main loss averaged over the timed steps, so a graph that trains wrongly shows.

    python scripts/gpu_bench.py [--steps 200] [--warmup 10] [--kinds aae,vae]

Without CUDA it says so and exits 0 after a smoke run of the same code on the CPU (a few steps of two kinds).
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from aae.core.catalog import CATALOG, build_config, train_config  # noqa: E402
from aae.core.data import Splits  # noqa: E402
from aae.core.device import describe_device
from aae.core.training import Trainer, create_model  # noqa: E402

TRAIN_IMAGES = 50_000  # the protocol's training split
# Kinds a Trainer cannot feed from plain MNIST batches, and why.
SKIP = {"cyclegan": "trains on two datasets (MNIST and a second domain it loads itself)"}


def time_kind(kind: str, device: str, graph: bool, steps: int, warmup: int) -> dict:
    """{seconds a step, the graph's note, mean main loss over the timed steps} of one run."""
    model_config = build_config(kind, {})
    config = train_config(kind, model_config, epochs=1, device=device, cuda_graph=graph, sample_every=0,
                          progress_images=0, validation_images=0)
    n = max(config.batch_size * 4, 2000)  # enough per class for a semi-supervised kind's labelled subset
    gen = torch.Generator().manual_seed(0)
    x = torch.rand(n, 1, 28, 28, generator=gen)
    y = torch.arange(n) % 10
    trainer = Trainer(create_model(kind, model_config, seed=0), Splits("mnist", x, y, x[:0], y[:0]), config)
    dev = trainer.device
    order = torch.randperm(n, generator=gen).to(dev)
    per_batch = n // config.batch_size

    def batch(i: int):
        idx = order[(i % per_batch) * config.batch_size:(i % per_batch + 1) * config.batch_size]
        return trainer.splits.batch("train", idx), trainer.splits.train_y[idx]

    def sync() -> None:
        if dev.type == "cuda":
            torch.cuda.synchronize(dev)

    torch.manual_seed(0)
    for i in range(warmup):
        trainer.train_step(*batch(i), step=i)
    sync()
    first = None
    total = torch.zeros((), device=dev)
    started = time.perf_counter()
    for i in range(warmup, warmup + steps):
        logs = trainer.train_step(*batch(i), step=i)
        first = first or next(iter(logs))
        total += logs[first].float() if isinstance(logs[first], torch.Tensor) else logs[first]
    sync()
    seconds = (time.perf_counter() - started) / steps
    graphed = trainer.graphed is not None and trainer.graphed.active
    note = "eager" if not graph else (trainer.graph_note if not graphed else
                                      f"graph ({trainer.graphed.captures} capture)")
    return {"step": seconds, "epoch": seconds * (TRAIN_IMAGES // config.batch_size), "note": note,
            "loss": f"{first} {float(total) / steps:.4g}", "batch": config.batch_size, "graphed": graphed}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--steps", type=int, default=200, help="timed steps per run")
    parser.add_argument("--warmup", type=int, default=10, help="untimed steps first (the graph's capture among them)")
    parser.add_argument("--kinds", default="", help="comma-separated kinds (default: every catalogue kind)")
    parser.add_argument("--device", default="cuda", help="cuda; cpu only for the smoke run")
    args = parser.parse_args(argv)
    kinds = [k for k in args.kinds.split(",") if k] or list(CATALOG)
    device = args.device
    if device == "cuda" and not torch.cuda.is_available():
        print("gpu_bench.py needs a CUDA GPU; none here (torch sees no CUDA). Smoke run of the code path on the "
              "CPU instead; no figures.")
        device, kinds, args.steps, args.warmup = "cpu", ["vae", "aae"], 2, 4
        print("(CPU smoke run: the times below are two steps on a CPU, not figures)")
    print(f"device: {describe_device(device)}; torch {torch.__version__}; {args.steps} timed steps per run after "
          f"{args.warmup}, extrapolated to one epoch of {TRAIN_IMAGES:,} images")
    print("| kind | batch | eager s/epoch | graph s/epoch | eager ÷ graph | graph | loss eager / graph |")
    print("|---|---|---|---|---|---|---|")
    for kind in kinds:
        if kind in SKIP:
            print(f"| {kind} | | | | | skipped: {SKIP[kind]} | |")
            continue
        try:
            eager = time_kind(kind, device, False, args.steps, args.warmup)
            graph = time_kind(kind, device, True, args.steps, args.warmup)
        except Exception as error:  # noqa: BLE001 (one kind's failure is a row, not the end of the table)
            print(f"| {kind} | | | | | failed: {type(error).__name__}: {str(error).splitlines()[0][:150]} | |")
            continue
        ratio = f"{eager['epoch'] / graph['epoch']:.2f}" if graph["graphed"] else "—"
        print(f"| {kind} | {eager['batch']} | {eager['epoch']:.2f} | {graph['epoch']:.2f} | {ratio} | "
              f"{graph['note']} | {eager['loss']} / {graph['loss']} |", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
