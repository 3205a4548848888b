"""Wall time to train the shipped 8-D AAE with its own recipe, and the quality reached, next to the shipped card.

Runs the shipped recipe (`aae train --recipe aae-8d`: 2 × 1000 ReLU, 8-D, N(0, 5²I), seed 0) into a
temporary folder, then measures kNN accuracy, reconstruction and the
Parzen log-likelihood of the result. `--quick` trains 2 epochs (a smoke run, not the shipped quality).

    python bench/train_time.py [--quick] [--device auto|cpu|cuda] [--data-dir DIR]
"""

from __future__ import annotations

import argparse
import json
import tempfile
import time
from pathlib import Path

from aae.cli import main as aae_main
from aae.core.checkpoints import load_checkpoint
from aae.core.data import load_dataset
from aae.core.device import describe_device, pick_device
from aae.core.metrics.evaluate import evaluate

ROOT = Path(__file__).resolve().parents[1]
RECIPE = ["--recipe", "aae-8d", "--quiet"]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--device", default="auto")
    parser.add_argument("--data-dir", default=None)
    parser.add_argument("--dataset", default="mnist")
    args = parser.parse_args()
    from aae.lab.recipes import get_recipe

    epochs = 2 if args.quick else get_recipe("aae-8d").run["epochs"]
    device = pick_device(args.device)
    extra = ["--data-dir", args.data_dir] if args.data_dir else []
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "aae-8d"
        started = time.perf_counter()
        code = aae_main(["train", "--recipe", "aae-8d", "--epochs", str(epochs), "--device", device.type,
                         "--dataset", args.dataset, "--out", str(out), *extra])
        wall = time.perf_counter() - started
        if code:
            raise SystemExit(code)
        checkpoint = load_checkpoint(out)
        splits = load_dataset("mnist", data_dir=args.data_dir)
        metrics = evaluate(checkpoint.model, splits, n_samples=10_000)
    print(f"device: {describe_device(device)}; {epochs} epochs of {len(splits.train_x)} {args.dataset} images")
    print(f"wall time to train (data loading included): {wall:.1f} s")
    shipped = json.loads((ROOT / "checkpoints" / "aae-8d" / "card.json").read_text()).get("metrics", {})
    print(f"{'metric':32s}{'this run':>12s}{'shipped':>12s}")
    for key in ("knn_accuracy", "recon_bce", "parzen_ll"):
        ref = shipped.get(key)
        print(f"{key:32s}{metrics[key]:12.4g}{ref if ref is None else format(ref, '.4g'):>12}")


if __name__ == "__main__":
    main()
