"""Shared fixtures: the real MNIST files in ../shared/data (or $AAE_DATA_DIR) and small slices of them."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
DATA_DIR = Path(os.environ.get("AAE_DATA_DIR") or ROOT.parent / "shared" / "data")


@pytest.fixture(scope="session")
def data_dir() -> Path:
    if not (DATA_DIR / "MNIST" / "raw" / "t10k-images-idx3-ubyte").exists():
        pytest.skip(f"real MNIST not found in {DATA_DIR}")
    return DATA_DIR


@pytest.fixture(scope="session")
def small_splits(data_dir):
    """600 training, 200 validation and 500 test images of real MNIST."""
    from aae.data import load_dataset

    return load_dataset("mnist", data_dir=data_dir, val_size=200, train_limit=600, test_limit=500)
