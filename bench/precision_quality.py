"""bf16 against fp32 training, by quality: the same short runs of shipped recipes in each precision, ≥ 3 seeds,
scored with the metrics `aae eval` prints.

Each run is `aae train --recipe NAME --epochs E --train-limit N --precision P --seed S` (the recipe's networks,
optimiser and rates; fewer epochs and images so that the emulated bf16 of an AVX2-only CPU, about 14× slower
than fp32, finishes), then `aae.core.metrics.evaluate` on the official 10,000 test images with `--samples` samples.
Prints, per recipe and metric, mean ± std over the seeds in each precision, the difference, and whether it is
larger than the seeds' own spread (|Δ| > 2 × the larger std). Under `--precision bf16` the matrix products run in
bfloat16 under autocast with fp32 weights and accumulation, natively (AVX-512 BF16, AMX, a GPU) or emulated:
the same arithmetic, only the speed differs.

    python bench/precision_quality.py [--recipes aae-8d aae-2d-gaussian] [--seeds 3] [--epochs 2]
                                      [--train-limit 5000] [--samples 2000] [--data-dir DIR]
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from pathlib import Path

import torch

from aae.cli import main as aae_main
from aae.core.checkpoints import classifier_path, load_checkpoint
from aae.core.data import load_dataset, resolve_data_dir
from aae.core.metrics.evaluate import evaluate, metric_label

METRICS = ("parzen_ll", "frechet", "modes_covered", "knn_accuracy", "mmd", "recon_bce", "class_error")


def run(recipe: str, precision: str, seed: int, args, out: Path, splits, classifier) -> tuple[dict, float]:
    started = time.perf_counter()
    flags = ["train", "--recipe", recipe, "--epochs", str(args.epochs), "--train-limit", str(args.train_limit),
             "--precision", precision, "--seed", str(seed), "--device", "cpu", "--out", str(out), "--quiet"]
    if args.data_dir:
        flags += ["--data-dir", args.data_dir]
    if aae_main(flags) != 0:
        raise SystemExit(f"aae {' '.join(flags)} failed")
    seconds = time.perf_counter() - started
    model = load_checkpoint(out).model
    return evaluate(model, splits, classifier=classifier, n_samples=args.samples, seed=0), seconds


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--recipes", nargs="+", default=["aae-8d", "aae-2d-gaussian"])
    parser.add_argument("--seeds", type=int, default=3)
    parser.add_argument("--epochs", type=int, default=2)
    parser.add_argument("--train-limit", type=int, default=5000)
    parser.add_argument("--samples", type=int, default=2000, help="samples per model for Parzen and Fréchet")
    parser.add_argument("--data-dir", default=None)
    args = parser.parse_args()
    splits = load_dataset("mnist", data_dir=str(resolve_data_dir(args.data_dir)))
    classifier = load_checkpoint(classifier_path("mnist")).model.eval()
    print(f"torch {torch.__version__}, {torch.get_num_threads()} threads; each run: {args.epochs} epochs on "
          f"{args.train_limit:,} MNIST training images; scored on the 10,000 test images with {args.samples:,} "
          f"samples; seeds 0..{args.seeds - 1}")
    with tempfile.TemporaryDirectory() as tmp:
        for recipe in args.recipes:
            scores: dict[str, dict[str, list[float]]] = {"fp32": {}, "bf16": {}}
            seconds: dict[str, list[float]] = {"fp32": [], "bf16": []}
            for precision in ("fp32", "bf16"):
                for seed in range(args.seeds):
                    result, took = run(recipe, precision, seed, args, Path(tmp) / f"{recipe}-{precision}-{seed}",
                                       splits, classifier)
                    seconds[precision].append(took)
                    for key in METRICS:
                        if isinstance(result.get(key), (int, float)):
                            scores[precision].setdefault(key, []).append(float(result[key]))
            print(f"\n{recipe}: training took {statistics.mean(seconds['fp32']):.1f} s in fp32, "
                  f"{statistics.mean(seconds['bf16']):.1f} s in bf16 (mean per run)")
            print(f"  {'metric':44s}{'fp32':>18s}{'bf16':>18s}{'Δ':>9s}  beyond the seeds' spread?")
            for key in METRICS:
                a, b = scores["fp32"].get(key), scores["bf16"].get(key)
                if not a or not b:
                    continue
                sa = statistics.stdev(a) if len(a) > 1 else 0.0
                sb = statistics.stdev(b) if len(b) > 1 else 0.0
                delta = statistics.mean(b) - statistics.mean(a)
                beyond = abs(delta) > 2 * max(sa, sb, 1e-12)
                print(f"  {metric_label(key, short=False)[:44]:44s}{statistics.mean(a):11.3f} ± {sa:<5.3f}"
                      f"{statistics.mean(b):11.3f} ± {sb:<5.3f}{delta:+9.3f}  {'yes' if beyond else 'no'}")


if __name__ == "__main__":
    main()
