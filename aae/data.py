"""Datasets: MNIST and Fashion-MNIST through torchvision, loaded once as whole tensors on the device.

These datasets are small (60,000 × 784 bytes), so the whole split lives in memory as one
tensor and a batch is an index into it: no per-batch DataLoader, decoding or host-to-device
copy. A validation split is carved from the training set with a fixed seed.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

import torch

DatasetName = Literal["mnist", "fashion-mnist"]
DATASET_NAMES: tuple[str, ...] = ("mnist", "fashion-mnist")
DATASET_FOLDERS = {"mnist": "MNIST", "fashion-mnist": "FashionMNIST"}
DATASET_TITLES = {"mnist": "MNIST", "fashion-mnist": "Fashion-MNIST"}  # for people
_RAW_FILES = ("train-images-idx3-ubyte", "train-labels-idx1-ubyte", "t10k-images-idx3-ubyte",
              "t10k-labels-idx1-ubyte")
CLASS_NAMES = {
    "mnist": [str(i) for i in range(10)],
    "fashion-mnist": ["T-shirt/top", "Trouser", "Pullover", "Dress", "Coat", "Sandal", "Shirt",
                      "Sneaker", "Bag", "Ankle boot"],
}


class DataNotFoundError(FileNotFoundError):
    """The dataset is neither on disk nor downloadable; the message says where we looked and what to do."""


# Where a checkout of the project finds the data its team shares: ../shared/data beside the project root.
SHARED_DATA = Path(__file__).resolve().parents[2] / "shared" / "data"


def resolve_data_dir(data_dir: str | os.PathLike | None = None) -> Path:
    """The data root: the argument, else the environment variable AAE_DATA_DIR, else ./data when it holds a
    dataset, else ../shared/data beside the project when that exists, else ./data (where a download goes)."""
    if data_dir:
        return Path(data_dir).expanduser()
    if os.environ.get("AAE_DATA_DIR"):
        return Path(os.environ["AAE_DATA_DIR"]).expanduser()
    local = Path("data")
    if not any((local / folder / "raw").is_dir() for folder in DATASET_FOLDERS.values()) and SHARED_DATA.is_dir():
        return SHARED_DATA
    return local


def is_available(name: DatasetName = "mnist", data_dir: str | os.PathLike | None = None) -> bool:
    """True when the dataset's four raw files are already on disk (no download needed)."""
    raw = resolve_data_dir(data_dir) / DATASET_FOLDERS[name] / "raw"
    return all((raw / f).exists() for f in _RAW_FILES)


def _torchvision_split(name: DatasetName, root: Path, train: bool):
    from torchvision import datasets

    cls = {"mnist": datasets.MNIST, "fashion-mnist": datasets.FashionMNIST}[name]
    return cls(root=str(root), train=train, download=True)


def load_split(
    name: DatasetName = "mnist", *, train: bool, data_dir: str | os.PathLike | None = None
) -> tuple[torch.Tensor, torch.Tensor]:
    """One split as (images uint8 (N, 28, 28), labels int64 (N,)), on the CPU.

    Downloads with torchvision when the files are missing (a user online gets the full data);
    offline and without files, raises DataNotFoundError naming the folder and how to fill it.
    """
    if name not in DATASET_FOLDERS:
        raise ValueError(f"unknown dataset {name!r}; choose one of {', '.join(DATASET_NAMES)}")
    root = resolve_data_dir(data_dir)
    try:
        split = _torchvision_split(name, root, train)
    except Exception as error:  # torchvision raises RuntimeError/URLError/OSError when offline
        raw = root / DATASET_FOLDERS[name] / "raw"
        raise DataNotFoundError(
            f"{name} is not in {raw.resolve()} and could not be downloaded ({type(error).__name__}: "
            f"{str(error).splitlines()[0][:160] if str(error) else 'no details'}). Put the four IDX files "
            f"({', '.join(_RAW_FILES)}) in that folder, or point Latent Lab at a folder that has them "
            "with --data-dir or the AAE_DATA_DIR environment variable, or connect to the internet."
        ) from None
    return split.data.clone(), split.targets.clone().long()


@dataclass
class Splits:
    """Train / validation / test images as float32 (N, 1, 28, 28) in [0, 1], labels int64 (N,)."""

    name: str
    train_x: torch.Tensor
    train_y: torch.Tensor
    val_x: torch.Tensor
    val_y: torch.Tensor
    test_x: torch.Tensor
    test_y: torch.Tensor

    @property
    def class_names(self) -> list[str]:
        return CLASS_NAMES[self.name]

    def to(self, device: torch.device | str) -> Splits:
        return Splits(self.name, *(t.to(device) for t in (self.train_x, self.train_y, self.val_x,
                                                            self.val_y, self.test_x, self.test_y)))


def to_float(images: torch.Tensor) -> torch.Tensor:
    """uint8 (N, 28, 28) -> float32 (N, 1, 28, 28) in [0, 1]."""
    return images.unsqueeze(1).float().div_(255)


def load_dataset(
    name: DatasetName = "mnist",
    *,
    data_dir: str | os.PathLike | None = None,
    device: torch.device | str = "cpu",
    val_size: int = 10_000,
    train_limit: int | None = None,
    test_limit: int | None = None,
    seed: int = 0,
) -> Splits:
    """Load a dataset once as whole tensors on `device`, with `val_size` training images held out.

    The default is the paper's split of MNIST's 60,000 training images: 50,000 to train on and
    10,000 for validation (choosing the Parzen σ, naming clusters, early stopping).

    `train_limit` / `test_limit` keep only the first images (after the seeded shuffle): small
    real slices for tests and quick runs.
    """
    train_images, train_labels = load_split(name, train=True, data_dir=data_dir)
    test_images, test_labels = load_split(name, train=False, data_dir=data_dir)
    if not 0 <= val_size < len(train_images):
        raise ValueError(f"val_size must be in [0, {len(train_images)}), got {val_size}")
    order = torch.randperm(len(train_images), generator=torch.Generator().manual_seed(seed))
    val_idx, train_idx = order[:val_size], order[val_size:]
    if train_limit is not None:
        train_idx = train_idx[:train_limit]
    test_slice = slice(None, test_limit)
    splits = Splits(
        name,
        to_float(train_images[train_idx]), train_labels[train_idx],
        to_float(train_images[val_idx]), train_labels[val_idx],
        to_float(test_images[test_slice]), test_labels[test_slice],
    )
    return splits.to(device)
