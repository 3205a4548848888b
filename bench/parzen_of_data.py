"""What the Parzen protocol gives the data itself: 10,000 real training images used as the "samples", scored
exactly as `aae eval` scores a model (σ chosen on the 10,000 validation images, the official 10,000 test images
scored). A perfect sampler of MNIST would land here; a model above it is rewarded for something else (blur).

    python bench/parzen_of_data.py [--data-dir DIR] [--images 10000]

Measured 2026-12-01 (MNIST, the paper's split): 243.3 ± 2.1 nats, σ 0.167 — as Theis et al. (2016, table 1)
found for the "true distribution" (243). The shipped 8-D AAE and VAE score about 295, the paper's AAE 340.
"""

from __future__ import annotations

import argparse

from aae.core.data import load_dataset
from aae.core.metrics.parzen import parzen_evaluate


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data-dir", default=None)
    parser.add_argument("--images", type=int, default=10_000, help="training images used as samples")
    args = parser.parse_args()
    splits = load_dataset("mnist", data_dir=args.data_dir, test=True)
    result = parzen_evaluate(splits.train_x[:args.images].flatten(1), splits.val_x.flatten(1),
                             splits.test_x.flatten(1))
    print(f"{args.images:,} real training images as samples: Parzen {result.mean:.1f} ± {result.stderr:.1f} nats "
          f"on {result.n_test:,} test images (σ {result.sigma:.3f}, chosen on {len(splits.val_x):,} validation)")


if __name__ == "__main__":
    main()
