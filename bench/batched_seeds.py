"""Three seeds as one batched model (aae.core.batched.SeedBatch) against three single runs, one after another.

Both sides train the same model, sizes, data and epochs; each seed sees its own order of the images. Prints
the wall time of the three single runs (aae.core.training.Trainer, the engine every command and page uses), of the
one batched run, their ratio, and each seed's last-epoch mean reconstruction loss on both sides, so that
"as good" can be read next to "as fast".

On this 2-core AVX2 CPU (2026-11-30) batching does not pay: the batched run took 1.2–1.35× the time of the three
single runs at every size tried (2 × 64, 2 × 256, 2 × 1000), with the same losses. torch.profiler shows why:
the per-model products are already large enough for the CPU's GEMM, and the batched matrix product (bmm) ran
34 % slower than the three models' mm/addmm, plus the copies it needs. It is meant for a GPU, where each small
model leaves the device idle between kernel launches.

    python bench/batched_seeds.py [--seeds 0 1 2] [--latent-dim 2] [--hidden 256] [--train-limit 10000]
                                  [--epochs 3] [--device auto|cpu|cuda] [--data-dir DIR]
"""

from __future__ import annotations

import argparse
import time

import torch

from aae.core import catalog
from aae.core.batched import SeedBatch
from aae.core.data import load_dataset, resolve_data_dir
from aae.core.device import describe_device, pick_device
from aae.core.training import TrainConfig, Trainer, create_model


def _sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--kind", default="aae", choices=["aae", "vae"])
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    parser.add_argument("--latent-dim", type=int, default=2)
    parser.add_argument("--hidden", type=int, default=256)
    parser.add_argument("--train-limit", type=int, default=10_000)
    parser.add_argument("--epochs", type=int, default=3)
    parser.add_argument("--batch-size", type=int, default=100)
    parser.add_argument("--device", default="auto")
    parser.add_argument("--data-dir", default=None)
    args = parser.parse_args()

    device = pick_device(args.device)
    splits = load_dataset("mnist", data_dir=str(resolve_data_dir(args.data_dir)), device=device,
                          train_limit=args.train_limit)
    config = catalog.build_config(args.kind, {"latent_dim": args.latent_dim, "hidden": args.hidden})
    base = TrainConfig(epochs=args.epochs, batch_size=args.batch_size, lr=catalog.training_defaults(args.kind)["lr"],
                       device=device.type, sample_every=0, validation_images=0, progress_images=0,
                       log_every=10**9)
    print(f"{describe_device(device)}, torch {torch.__version__}: {args.kind} {args.latent_dim}-D, 2 × {args.hidden}, "
          f"{len(splits.train_x):,} MNIST images, {args.epochs} epochs, batch {args.batch_size}, "
          f"seeds {args.seeds}")

    single, single_loss = 0.0, []
    key = "recon"
    for seed in args.seeds:
        trainer = Trainer(create_model(args.kind, config, seed=seed), splits, TrainConfig(**{**base.__dict__,
                                                                                             "seed": seed}))
        _sync(device)
        started = time.perf_counter()
        result = trainer.fit()
        _sync(device)
        single += time.perf_counter() - started
        single_loss.append(result.history[-1].get(key, float("nan")))
    batch = SeedBatch(args.kind, config, args.seeds, splits, base)
    _sync(device)
    started = time.perf_counter()
    history = batch.fit()
    _sync(device)
    batched = time.perf_counter() - started
    print(f"{len(args.seeds)} single runs, one after another: {single:.1f} s")
    print(f"one batched run of {len(args.seeds)} seeds:        {batched:.1f} s  ({single / batched:.2f}× faster)")
    print(f"last epoch's mean {key} loss per seed — single: {', '.join(f'{v:.1f}' for v in single_loss)}; "
          f"batched: {', '.join(f'{v:.1f}' for v in history[-1][key])}")


if __name__ == "__main__":
    main()
