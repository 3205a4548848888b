"""Rebuild tests/data/MNIST/raw: a slice of the real MNIST dataset for the tests.

It reads the four official IDX files of MNIST (in torchvision's layout, <source>/MNIST/raw/, plain or .gz) and
writes, in the same layout under tests/data, gzipped IDX files of
  - 1,000 training images and labels: 100 of each digit, drawn at random (seed 0) from the 60,000 training images;
  - 500 test images and labels: 50 of each digit, drawn at random (seed 0) from the 10,000 test images;
each in a seeded random order, so that the first few hundred already hold every digit. The images are copied
byte for byte; the gzip headers carry no time stamp, so running it again writes the same bytes.

    .venv/bin/python tests/data/make_slice.py [--source ../shared/data]

The source defaults to $AAE_DATA_DIR, else ../shared/data beside the project.
"""

from __future__ import annotations

import argparse
import gzip
import os
from pathlib import Path

import numpy as np

from aae.core.data import read_idx

HERE = Path(__file__).resolve().parent
PER_CLASS = {"train": 100, "t10k": 50}
SEED = 0


def write_idx(path: Path, array: np.ndarray) -> None:
    """`array` (uint8) as a gzipped IDX file with no time stamp in its header (the same bytes on every run)."""
    header = bytes([0, 0, 0x08, array.ndim]) + b"".join(int(n).to_bytes(4, "big") for n in array.shape)
    with open(path, "wb") as raw, gzip.GzipFile(filename="", mode="wb", fileobj=raw, mtime=0) as handle:
        handle.write(header + np.ascontiguousarray(array, dtype=np.uint8).tobytes())


def source_file(raw: Path, stem: str) -> Path:
    for path in (raw / stem, raw / f"{stem}.gz"):
        if path.is_file():
            return path
    raise SystemExit(f"{stem} is not in {raw}: point --source at a folder holding MNIST/raw")


def pick(labels: np.ndarray, per_class: int, rng: np.random.Generator) -> np.ndarray:
    """`per_class` indices of each label, drawn without replacement, then shuffled together."""
    chosen = np.concatenate([rng.choice(np.flatnonzero(labels == digit), per_class, replace=False)
                             for digit in range(10)])
    return rng.permutation(chosen)


def main() -> None:
    default = os.environ.get("AAE_DATA_DIR") or HERE.parents[2] / "shared" / "data"
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--source", type=Path, default=Path(default), help="the folder holding MNIST/raw")
    parser.add_argument("--out", type=Path, default=HERE, help="where MNIST/raw is written (default: tests/data)")
    args = parser.parse_args()
    raw, out = args.source / "MNIST" / "raw", args.out / "MNIST" / "raw"
    out.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(SEED)
    for prefix, per_class in PER_CLASS.items():
        images = read_idx(source_file(raw, f"{prefix}-images-idx3-ubyte"))
        labels = read_idx(source_file(raw, f"{prefix}-labels-idx1-ubyte"))
        rows = pick(labels, per_class, rng)
        write_idx(out / f"{prefix}-images-idx3-ubyte.gz", images[rows])
        write_idx(out / f"{prefix}-labels-idx1-ubyte.gz", labels[rows])
        print(f"{prefix}: {len(rows)} of {len(labels)} images -> {out}")


if __name__ == "__main__":
    main()
