"""Training throughput (images/second) of one AAE, VAE and GAN step at the default sizes, ours vs the common way.

Ours: the dataset lives on the device as one tensor and a batch is an index into it (aae.core.data).
The common way: torchvision's MNIST with ToTensor and a shuffling DataLoader, each batch copied to
the device. Both run the very same model and the same `Trainer.train_step`, so the fp32 ratio is
the data path alone; the bf16 column runs our path with bfloat16 autocast (TrainConfig.precision).
Prints one table; `--quick` runs fewer steps (for CI-friendly time).

    python bench/throughput.py [--quick] [--device auto|cpu|cuda] [--data-dir DIR] [--models aae vae gan]
    (--models also takes supervised, semi, cluster, dimred: the paper's other AAEs at their default sizes)
"""

from __future__ import annotations

import argparse
import platform
import time

import torch

from aae.core.data import load_dataset, resolve_data_dir
from aae.core.device import describe_device, pick_device
from aae.core.training import TrainConfig, Trainer, create_model


def ours(trainer: Trainer, steps: int, batch_size: int, precision: str = "fp32") -> float:
    trainer.config = TrainConfig(**{**trainer.config.__dict__, "precision": precision})
    x_all, y_all = trainer.splits.train_x, trainer.splits.train_y
    order = torch.randperm(len(x_all), device=x_all.device)
    n_batches = len(x_all) // batch_size

    def step(i: int) -> None:
        idx = order[(i % n_batches) * batch_size:(i % n_batches + 1) * batch_size]
        trainer.train_step(x_all[idx], y_all[idx])

    return _timed(step, steps, batch_size, trainer.device)


def dataloader_way(trainer: Trainer, steps: int, batch_size: int, data_dir: str) -> float:
    from torchvision import datasets, transforms

    dataset = datasets.MNIST(data_dir, train=True, download=True, transform=transforms.ToTensor())
    loader = torch.utils.data.DataLoader(dataset, batch_size=batch_size, shuffle=True, drop_last=True)
    batches = iter(loader)

    def step(i: int) -> None:
        nonlocal batches
        try:
            x, y = next(batches)
        except StopIteration:
            batches = iter(loader)
            x, y = next(batches)
        trainer.train_step(x.to(trainer.device, non_blocking=True), y.to(trainer.device, non_blocking=True))

    return _timed(step, steps, batch_size, trainer.device)


def _timed(step, steps: int, batch_size: int, device: torch.device) -> float:
    for i in range(max(3, steps // 10)):  # warm-up: allocator, kernels, caches
        step(i)
    if device.type == "cuda":
        torch.cuda.synchronize()
    started = time.perf_counter()
    for i in range(steps):
        step(i)
    if device.type == "cuda":
        torch.cuda.synchronize()
    return steps * batch_size / (time.perf_counter() - started)


LABELS = {"aae": "AAE 2×1000 ReLU, 8-D, two-phase", "vae": "VAE 2×1000 ReLU, 8-D", "gan": "GAN dense G + conv D",
          "supervised": "supervised AAE 2×1000, 2-D style", "semi": "semi-sup. AAE 2×1000, 4 phases",
          "cluster": "clustering AAE 2×1000, K=16", "dimred": "2-D map AAE 2×1000, 4 phases"}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="fewer steps")
    parser.add_argument("--steps", type=int, default=None)
    parser.add_argument("--batch-size", type=int, default=100)
    parser.add_argument("--device", default="auto")
    parser.add_argument("--data-dir", default=None)
    parser.add_argument("--models", nargs="+", default=["aae", "vae", "gan"], choices=list(LABELS))
    args = parser.parse_args()
    device = pick_device(args.device)
    steps = args.steps or (30 if args.quick else 300)
    data_dir = str(resolve_data_dir(args.data_dir))
    splits = load_dataset("mnist", data_dir=data_dir, device=device)
    cpu = platform.processor() or platform.machine()
    print(f"machine: {cpu}, {describe_device(device)}, torch {torch.__version__}")
    print(f"data: MNIST from {data_dir} ({len(splits.train_x)} training images); batch {args.batch_size}; "
          f"{steps} timed steps after warm-up")
    print(f"{'model (default sizes)':34s}{'ours fp32':>11s}{'ours bf16':>11s}{'DataLoader fp32':>17s}"
          f"{'ratio fp32':>12s}{'best/DL':>9s}  (images/second)")
    for kind in args.models:
        model = create_model(kind, None, seed=0)
        lr = 2e-4 if kind == "gan" else 1e-3
        trainer = Trainer(model, splits, TrainConfig(batch_size=args.batch_size, lr=lr, device=device.type))
        fast = ours(trainer, steps, args.batch_size, "fp32")
        fast_bf16 = ours(trainer, steps, args.batch_size, "bf16")
        trainer.config = TrainConfig(**{**trainer.config.__dict__, "precision": "fp32"})
        slow = dataloader_way(trainer, steps, args.batch_size, data_dir)
        label = LABELS.get(kind, kind)
        print(f"{label:34s}{fast:11.0f}{fast_bf16:11.0f}{slow:17.0f}{fast / slow:12.2f}"
              f"{max(fast, fast_bf16) / slow:9.2f}")


if __name__ == "__main__":
    main()
