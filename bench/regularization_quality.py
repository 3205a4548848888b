"""Shared against joint regularisation of the AAE: the same runs, seeds and batches, trained both ways from the CLI,
then measured (a faster step only counts with quality shown equal).

Under `shared` (`aae train --model aae`'s default) the discriminator learns from the codes of the reconstruction
pass, made by the encoder before its step; under `joint` the engine encodes the batch again after that step.
Three short runs on a slice of MNIST's training set, each for every seed and both ways:

- the label-regularised 2-D mog10 AAE, 3 epochs (the short-run bar): how the shipped classifier reads 1,000
  label-cycled samples (mean confidence, classes covered);
- the 2-D Gaussian AAE (2 × 1000 units), 5 epochs: kNN accuracy of the test codes and MMD² to the prior;
- the 8-D AAE with `aae train`'s defaults, 5 epochs: Fréchet distance and classes covered of 2,000 samples,
  kNN accuracy and MMD² of the test codes, reconstruction error (BCE).

Prints each figure per seed and its mean ± std over the seeds, and the training seconds of each run.

    python bench/regularization_quality.py [--seeds 0,1,2] [--train-limit 20000] [--precision fp32] [--data-dir DIR]
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
from aae.core.metrics.coverage import class_coverage
from aae.core.metrics.evaluate import evaluate

RUNS = {
    "2-D mog10, label-regularised": (["--model", "aae", "--latent-dim", "2", "--hidden", "400", "--prior", "mog10",
                                      "--label-regularized"], 3, ("confidence", "classes")),
    "2-D Gaussian, 2 × 1000": (["--model", "aae", "--latent-dim", "2", "--prior", "gaussian", "--prior-std", "1"], 5,
                               ("knn_accuracy", "mmd")),
    "8-D, defaults": (["--model", "aae"], 5, ("frechet", "modes_covered", "knn_accuracy", "mmd", "recon_bce")),
}


def measure(out: Path, figures: tuple[str, ...], classifier, splits) -> dict[str, float]:
    model = load_checkpoint(out).model.eval()
    if "confidence" in figures:
        with torch.no_grad():
            samples = model.sample(1000, labels=torch.arange(1000) % 10, generator=torch.Generator().manual_seed(0))
            probabilities = classifier(samples).softmax(dim=1)
        return {"confidence": probabilities.max(dim=1).values.mean().item(),
                "classes": class_coverage(probabilities.argmax(dim=1)).modes_covered}
    results = evaluate(model, splits, classifier=classifier, n_samples=2000, parzen=False)
    return {key: float(results[key]) for key in figures}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", default="0,1,2")
    parser.add_argument("--train-limit", type=int, default=20_000)
    parser.add_argument("--precision", choices=["auto", "fp32", "bf16"], default="fp32")
    parser.add_argument("--data-dir", default=None)
    args = parser.parse_args()
    seeds = [int(s) for s in args.seeds.split(",")]
    data_dir = str(resolve_data_dir(args.data_dir))
    classifier = load_checkpoint(classifier_path("mnist")).model.eval()
    splits = load_dataset("mnist", data_dir=data_dir)
    print(f"{args.train_limit:,}-image slice of MNIST's training set; measured on the official 10,000 test images; "
          f"seeds {seeds}; {args.precision}; {torch.get_num_threads()} threads")
    with tempfile.TemporaryDirectory() as tmp:
        for index, (name, (flags, epochs, figures)) in enumerate(RUNS.items()):
            print(f"\n{name}, {epochs} epochs")
            for regularization in ("joint", "shared"):
                rows, seconds = [], []
                for seed in seeds:
                    out = Path(tmp) / f"{index}-{regularization}-{seed}"
                    started = time.perf_counter()
                    code = aae_main(["train", *flags, "--regularization", regularization, "--epochs", str(epochs),
                                     "--train-limit", str(args.train_limit), "--seed", str(seed), "--precision",
                                     args.precision, "--data-dir", data_dir, "--quiet", "--out", str(out)])
                    if code:
                        raise SystemExit(code)
                    seconds.append(time.perf_counter() - started)
                    rows.append(measure(out, figures, classifier, splits))
                cells = []
                for key in figures:
                    values = [row[key] for row in rows]
                    spread = statistics.stdev(values) if len(values) > 1 else 0.0
                    cells.append(f"{key} {statistics.mean(values):.3f} ± {spread:.3f} "
                                 f"({', '.join(f'{v:.3f}' for v in values)})")
                print(f"  {regularization:6s} {statistics.mean(seconds):5.1f} s per run | " + " | ".join(cells),
                      flush=True)


if __name__ == "__main__":
    main()
