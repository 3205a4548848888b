"""The per-epoch validation's share of an epoch, before and after it moved to a fixed subset on the device.

    python bench/validation_share.py [--train-images 20000 50000] [--steps 40] [--repeats 3] [--data-dir DIR]

`aae train --model aae`'s defaults (2 × 1000, 8-D, shared regularisation, precision auto). An epoch's training time
is estimated as the median time of `--steps` training steps × the epoch's steps (timing whole epochs of 50,000
images on a loaded 2-core machine takes minutes each). Then, interleaved `--repeats` times:

  before: what each epoch ran until 2026-12-02 — every phase's loss on all 10,000 validation images, one
          `phase_loss` call per phase (the AAE: reconstruction, then the generator again), batches of 500; kNN
          accuracy (scikit-learn) and MMD² (float64, whole 2,000 × 2,000 matrices) of 2,000 codes, on the CPU;
  after:  Trainer.validate() and Trainer.latent_progress() as they are now — one pass per stepped phase on the
          first 2,000 validation images (TrainConfig.validation_images), kNN and MMD² on the device in float32;
          plus, once per run, the whole split after the last epoch (shown apart: it is not per epoch).

Prints each one's seconds (median of the repeats) and its share of an epoch: validation / (training + validation).
Target: ≤ 5 %.
"""

from __future__ import annotations

import argparse
import os
import statistics
import time
from collections import defaultdict

import numpy as np
import torch

from aae.core import catalog
from aae.core.data import load_dataset, resolve_data_dir
from aae.core.training import Trainer, create_model


def before_validate(trainer: Trainer, batch_size: int = 500) -> dict[str, float]:
    """The per-epoch validation as it was: every phase (and each joined phase again) on all validation images."""
    x, y = trainer.splits.val_x, trainer.splits.val_y
    trainer.model.eval()
    sums: dict[str, float] = defaultdict(float)
    with torch.no_grad():
        for start in range(0, len(x), batch_size):
            xb, yb = x[start:start + batch_size], y[start:start + batch_size]
            for phase in trainer.phases:
                for name in (phase.name, *(joined for joined, _ in phase.joined)):
                    for key, value in trainer.model.phase_loss(name, xb, yb).logs.items():
                        sums[f"val_{key}"] += value * len(xb)
    trainer.model.train()
    return {k: float(v) / len(x) for k, v in sums.items()}


def _before_mmd(x: torch.Tensor, y: torch.Tensor, scales=(0.1, 0.2, 0.5, 1.0, 2.0, 5.0, 10.0)) -> float:
    a, b = x.double(), y.double()
    n, m, d = a.shape[0], b.shape[0], a.shape[1]

    def sq(p, q):
        return (p.pow(2).sum(1, keepdim=True) - 2.0 * p @ q.T + q.pow(2).sum(1)).clamp_min_(0.0)

    d_aa, d_bb, d_ab = sq(a, a), sq(b, b), sq(a, b)
    total = 0.0
    for s in scales:
        c = 2.0 * d * s ** 2
        k_aa, k_bb, k_ab = c / (c + d_aa), c / (c + d_bb), c / (c + d_ab)
        xx = (k_aa.sum() - k_aa.diagonal().sum()) / (n * (n - 1))
        yy = (k_bb.sum() - k_bb.diagonal().sum()) / (m * (m - 1))
        total += float(xx + yy - 2.0 * k_ab.mean())
    return total


def before_progress(trainer: Trainer, n: int = 2000) -> dict[str, float]:
    """The latent progress as it was: codes to the CPU, scikit-learn's kNN, float64 MMD² of whole matrices."""
    from sklearn.model_selection import KFold, cross_val_score
    from sklearn.neighbors import KNeighborsClassifier

    trainer.model.eval()
    with torch.no_grad():
        codes = trainer.model.encode(trainer.splits.val_x[:n]).float().cpu()
        prior = trainer.model.sample_latent(n, generator=torch.Generator().manual_seed(0)).float().cpu()
    labels = trainer.splits.val_y[:n].cpu()
    folds = KFold(n_splits=2, shuffle=True, random_state=0)
    knn = float(np.mean(cross_val_score(KNeighborsClassifier(n_neighbors=5), codes.double().numpy(), labels.numpy(),
                                        cv=folds)))
    trainer.model.train()
    return {"val_knn": knn, "val_mmd": _before_mmd(codes, prior)}


def timed(fn) -> float:
    started = time.perf_counter()
    fn()
    return time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--train-images", type=int, nargs="+", default=[20_000, 50_000])
    parser.add_argument("--steps", type=int, default=40)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--data-dir", default=None)
    args = parser.parse_args()
    splits = load_dataset("mnist", data_dir=str(resolve_data_dir(args.data_dir)))
    config = catalog.build_config("aae", {})
    train_config = catalog.train_config("aae", config, epochs=1, device="cpu", sample_every=0)
    trainer = Trainer(create_model("aae", config, seed=0), splits, train_config)
    load = " / ".join(f"{x:.2f}" for x in os.getloadavg())
    print(f"{os.cpu_count()} logical cores, torch {torch.__version__}, {torch.get_num_threads()} threads, precision "
          f"{trainer.precision}; load average {load}")
    before_validate(trainer), before_progress(trainer), trainer.validate(), trainer.latent_progress()  # warm up
    steps, val, prog, old_val, old_prog = [], [], [], [], []
    order = torch.randperm(len(splits.train_y), generator=torch.Generator().manual_seed(0))
    batch = train_config.batch_size
    for _ in range(args.repeats):
        for i in range(args.steps):
            idx = order[i * batch:(i + 1) * batch]
            steps.append(timed(lambda idx=idx: trainer.train_step(trainer.splits.batch("train", idx),
                                                                  trainer.splits.train_y[idx])))
        old_val.append(timed(lambda: before_validate(trainer)))
        old_prog.append(timed(lambda: before_progress(trainer)))
        val.append(timed(trainer.validate))
        prog.append(timed(trainer.latent_progress))
    full = statistics.median(timed(lambda: trainer.validate(images=None)) for _ in range(args.repeats))
    step = statistics.median(steps)
    before = statistics.median(old_val) + statistics.median(old_prog)
    after = statistics.median(val) + statistics.median(prog)
    print(f"training step: {step * 1000:.1f} ms (median of {len(steps)})")
    print(f"before: validation {statistics.median(old_val):.2f} s + progress {statistics.median(old_prog):.2f} s "
          f"= {before:.2f} s per epoch")
    print(f"after:  validation {statistics.median(val):.2f} s + progress {statistics.median(prog):.2f} s "
          f"= {after:.2f} s per epoch; the whole split once after the last epoch: {full:.2f} s")
    for images in args.train_images:
        epoch = step * (images // batch)
        print(f"{images:,} training images: an epoch's training {epoch:.1f} s; validation's share before "
              f"{before / (epoch + before):.1%}, after {after / (epoch + after):.1%} (target ≤ 5 %)")
    print(f"load average after: {' / '.join(f'{x:.2f}' for x in os.getloadavg())}")


if __name__ == "__main__":
    main()
