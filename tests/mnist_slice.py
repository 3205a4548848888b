"""A slice of the real MNIST dataset for the tests, drawn from the full files at the start of a test run (it is
never committed: datasets stay in ../shared/data or $AAE_DATA_DIR).

It reads the four official IDX files of MNIST (in torchvision's layout, <source>/MNIST/raw/, plain or .gz) and
writes, in the same layout under <out>/MNIST/raw, gzipped IDX files of
  - 1,000 training images and labels: 100 of each digit, drawn at random (seed 0) from the 60,000 training images;
  - 500 test images and labels: 50 of each digit, drawn at random (seed 0) from the 10,000 test images;
each in a seeded random order, so that the first few hundred already hold every digit. The images are copied
byte for byte; the gzip headers carry no time stamp, so the same source gives the same bytes.
"""

from __future__ import annotations

import gzip
from pathlib import Path

import numpy as np

from aae.core.data import read_idx

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
    raise FileNotFoundError(f"{stem} is not in {raw}")


def pick(labels: np.ndarray, per_class: int, rng: np.random.Generator) -> np.ndarray:
    """`per_class` indices of each label, drawn without replacement, then shuffled together."""
    chosen = np.concatenate([rng.choice(np.flatnonzero(labels == digit), per_class, replace=False)
                             for digit in range(10)])
    return rng.permutation(chosen)


def write_slice(source: Path, out: Path) -> Path:
    """Draw the slice from the data root `source` into the data root `out`; returns `out`."""
    raw, target = source / "MNIST" / "raw", out / "MNIST" / "raw"
    target.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(SEED)
    for prefix, per_class in PER_CLASS.items():
        images = read_idx(source_file(raw, f"{prefix}-images-idx3-ubyte"))
        labels = read_idx(source_file(raw, f"{prefix}-labels-idx1-ubyte"))
        rows = pick(labels, per_class, rng)
        write_idx(target / f"{prefix}-images-idx3-ubyte.gz", images[rows])
        write_idx(target / f"{prefix}-labels-idx1-ubyte.gz", labels[rows])
    return out
