"""Datasets: MNIST and Fashion-MNIST, read once from their IDX files into a cached array, loaded as whole tensors.

These datasets are small (60,000 × 784 bytes), so the whole split lives in memory as one tensor and a batch
is an index into it: no per-batch DataLoader, decoding or host-to-device copy. A validation split is carved
from the training set with a fixed seed.

The test split is for the final evaluation of a finished model only. `load_dataset` leaves it out unless
asked (`test=True`): training, validation curves and sweeps get Splits whose test_x / test_y raise
TestSplitWithheld. Evaluation code (aae.core.metrics.evaluate, `aae eval`) and pages that show test digits load it
explicitly (`load_test_split`, or `load_dataset(..., test=True)`).

Reading: each IDX file is parsed once into a .npy file under $XDG_CACHE_HOME/latent-lab/data (default
~/.cache/latent-lab/data), written atomically and named after the source's path, size and mtime, so a changed
source is read again; later runs memory-map that file (no torchvision import, no parsing). When the IDX files
are missing, torchvision downloads them (a user online gets the full data).
"""

from __future__ import annotations

import gzip
import hashlib
import os
import uuid
from pathlib import Path
from typing import Literal

import numpy as np
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
TEST_RULE = ("the test split is for the final evaluation of a finished model only: training, validation curves "
             "and sweeps never read it")


class DataNotFoundError(FileNotFoundError):
    """The dataset is neither on disk nor downloadable; the message says where we looked and what to do."""


class TestSplitWithheld(RuntimeError):
    """Test images were asked of Splits loaded without them (the protocol: see aae.core.data)."""

    __test__ = False  # not a pytest test class


# Where a checkout of the project finds the data its team shares: ../shared/data beside the project root.
SHARED_DATA = Path(__file__).resolve().parents[3] / "shared" / "data"


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


def cache_dir() -> Path:
    """Where parsed IDX files are kept: $XDG_CACHE_HOME/latent-lab/data, else ~/.cache/latent-lab/data."""
    base = os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache"
    return Path(base).expanduser() / "latent-lab" / "data"


def is_available(name: DatasetName = "mnist", data_dir: str | os.PathLike | None = None) -> bool:
    """True when the dataset's four raw files (plain or .gz, as the loader reads them) are already on disk (no
    download needed)."""
    raw = resolve_data_dir(data_dir) / DATASET_FOLDERS[name] / "raw"
    return all(_source(raw, f) is not None for f in _RAW_FILES)


def _torchvision_split(name: DatasetName, root: Path, train: bool):
    from torchvision import datasets

    cls = {"mnist": datasets.MNIST, "fashion-mnist": datasets.FashionMNIST}[name]
    return cls(root=str(root), train=train, download=True)


def _check_name(name: str) -> None:
    if name not in DATASET_FOLDERS:
        raise ValueError(f"unknown dataset {name!r}; choose one of {', '.join(DATASET_NAMES)}")


def _source(raw: Path, stem: str) -> Path | None:
    """The IDX file `stem` in `raw`, else its .gz, else None."""
    for path in (raw / stem, raw / f"{stem}.gz"):
        if path.is_file():
            return path
    return None


def read_idx(path: Path) -> np.ndarray:
    """An IDX file of unsigned bytes (plain or .gz) as a uint8 array of the shape its header gives."""
    opener = gzip.open if path.suffix == ".gz" else open
    with opener(path, "rb") as handle:
        data = handle.read()
    if len(data) < 4 or data[:2] != b"\0\0" or data[2] != 0x08:
        raise ValueError(f"{path} is not an IDX file of unsigned bytes")
    dims = data[3]
    shape = tuple(int.from_bytes(data[4 + 4 * i:8 + 4 * i], "big") for i in range(dims))
    offset = 4 + 4 * dims
    if len(data) - offset != int(np.prod(shape)):
        raise ValueError(f"{path} holds {len(data) - offset} bytes after its header, not {shape}")
    return np.frombuffer(data, dtype=np.uint8, offset=offset).reshape(shape)


def idx_length(path: Path) -> int:
    """The number of items an IDX file holds, read from its header alone."""
    opener = gzip.open if path.suffix == ".gz" else open
    with opener(path, "rb") as handle:
        header = handle.read(8)
    return int.from_bytes(header[4:8], "big")


def cached_idx(source: Path, folder: Path | None = None) -> np.ndarray:
    """`source` (an IDX file) as a read-only memory-mapped array from its .npy copy in `folder` (default
    cache_dir()), written the first time. The copy's name holds the source's path, size and mtime: a changed
    source is parsed again and its older copies removed. Written atomically (a temporary file, then a rename), so
    concurrent runs never read a half-written copy. Where the folder cannot be written, the source is parsed."""
    folder = cache_dir() if folder is None else Path(folder)
    stat = source.stat()
    tag = hashlib.sha1(str(source.resolve()).encode()).hexdigest()[:12]
    stem = f"{source.name.removesuffix('.gz')}-{tag}"
    path = folder / f"{stem}-{stat.st_size}-{stat.st_mtime_ns}.npy"
    if path.is_file():
        try:
            return np.load(path, mmap_mode="r")
        except (OSError, ValueError):  # a damaged copy: write it again
            pass
    array = read_idx(source)
    temporary = folder / f".{path.name}.{uuid.uuid4().hex}.tmp"
    try:
        folder.mkdir(parents=True, exist_ok=True)
        with open(temporary, "wb") as handle:
            np.save(handle, array)
        os.replace(temporary, path)
    except OSError:  # a read-only or full disk: parse each time
        try:
            temporary.unlink(missing_ok=True)
        except OSError:
            pass
        return array
    for stale in folder.glob(f"{stem}-*.npy"):
        if stale != path:
            stale.unlink(missing_ok=True)
    return np.load(path, mmap_mode="r")


def _split_files(name: DatasetName, root: Path, train: bool) -> tuple[Path, Path]:
    """The images and labels files of one split, downloaded with torchvision when missing."""
    raw = root / DATASET_FOLDERS[name] / "raw"
    prefix = "train" if train else "t10k"
    stems = (f"{prefix}-images-idx3-ubyte", f"{prefix}-labels-idx1-ubyte")
    sources = [_source(raw, stem) for stem in stems]
    if None in sources:
        try:
            _torchvision_split(name, root, train)
        except Exception as error:  # torchvision raises RuntimeError/URLError/OSError when offline
            raise DataNotFoundError(
                f"{name} is not in {raw.resolve()} and could not be downloaded ({type(error).__name__}: "
                f"{str(error).splitlines()[0][:160] if str(error) else 'no details'}). Put the four IDX files "
                f"({', '.join(_RAW_FILES)}) in that folder, or point Latent Lab at a folder that has them "
                "with --data-dir or the AAE_DATA_DIR environment variable, or connect to the internet."
            ) from None
        sources = [_source(raw, stem) for stem in stems]
        if None in sources:
            raise DataNotFoundError(f"torchvision did not leave {', '.join(stems)} in {raw.resolve()}")
    return sources[0], sources[1]


def _split_arrays(name: DatasetName, root: Path, train: bool) -> tuple[np.ndarray, np.ndarray]:
    images, labels = _split_files(name, root, train)
    return cached_idx(images), cached_idx(labels)


def load_split(
    name: DatasetName = "mnist", *, train: bool, data_dir: str | os.PathLike | None = None
) -> tuple[torch.Tensor, torch.Tensor]:
    """One split as (images uint8 (N, 28, 28), labels int64 (N,)), on the CPU.

    Downloads with torchvision when the files are missing (a user online gets the full data);
    offline and without files, raises DataNotFoundError naming the folder and how to fill it.
    `train=False` is the test split: for evaluation code and display only (see the module's docstring).
    """
    _check_name(name)
    images, labels = _split_arrays(name, resolve_data_dir(data_dir), train)
    return torch.from_numpy(np.array(images)), torch.from_numpy(labels.astype(np.int64))


def count_test_images(name: DatasetName = "mnist", data_dir: str | os.PathLike | None = None) -> int | None:
    """The number of test images of `name` from its file's header (without reading them); None when absent."""
    _check_name(name)
    source = _source(resolve_data_dir(data_dir) / DATASET_FOLDERS[name] / "raw", "t10k-images-idx3-ubyte")
    return None if source is None else idx_length(source)


class Splits:
    """Train / validation (and, when asked for, test) images and labels int64 (N,).

    test_x and the others read as float32 (N, 1, 28, 28) in [0, 1]. load_dataset stores the images as uint8
    (N, 28, 28), a quarter of the memory, and makes each float tensor the first time it is read (then keeps it);
    the trainer never reads them whole: it takes float batches of the stored images (`batch`). Splits built
    from float tensors keep them as given.

    Without the test split (load_dataset's default), reading test_x or test_y raises TestSplitWithheld;
    `test_images` still says how many the dataset has (from the file's header) for a card to record.
    """

    def __init__(self, name: str, train_x: torch.Tensor, train_y: torch.Tensor, val_x: torch.Tensor,
                 val_y: torch.Tensor, test_x: torch.Tensor | None = None, test_y: torch.Tensor | None = None, *,
                 test_images: int | None = None, data_dir: str | None = None) -> None:
        if (test_x is None) != (test_y is None):
            raise ValueError("test images and labels come together")
        self.name = name
        self.train_y, self.val_y, self._test_y = train_y, val_y, test_y
        self._stored = {"train": train_x, "val": val_x, "test": test_x}  # uint8 (N, 28, 28) or float (N, 1, 28, 28)
        self._floats: dict[str, torch.Tensor] = {}
        self.test_images = len(test_x) if test_images is None and test_x is not None else test_images
        self.data_dir = data_dir  # the data root it came from (where evaluation finds the test split)

    def __repr__(self) -> str:
        sizes = ", ".join(f"{split} {len(t):,}" for split, t in self._stored.items() if t is not None)
        return f"Splits({self.name!r}: {sizes}{'' if self.has_test else '; test withheld'})"

    @property
    def has_test(self) -> bool:
        return self._stored["test"] is not None

    def _check(self, split: str, which: str) -> None:
        if split == "test" and not self.has_test:
            raise TestSplitWithheld(
                f"{which}: {TEST_RULE}. These {self.name} splits were loaded without it. Evaluation code and "
                "pages that show test digits load it explicitly: aae.core.data.load_test_split(...) or "
                "load_dataset(..., test=True).")

    def images(self, split: Literal["train", "val", "test"]) -> torch.Tensor:
        """The images of `split` as stored: uint8 (N, 28, 28) or float (N, 1, 28, 28); index them, then `as_float`."""
        self._check(split, f"{split} images")
        return self._stored[split]

    def batch(self, split: Literal["train", "val", "test"], index: torch.Tensor | slice) -> torch.Tensor:
        """Float images (B, 1, 28, 28) of `split` at `index`, converting only those rows."""
        return as_float(self.images(split)[index])

    def _float(self, split: str) -> torch.Tensor:
        self._check(split, f"{split}_x")
        if split not in self._floats:
            self._floats[split] = as_float(self._stored[split])
        return self._floats[split]

    @property
    def train_x(self) -> torch.Tensor:
        return self._float("train")

    @property
    def val_x(self) -> torch.Tensor:
        return self._float("val")

    @property
    def test_x(self) -> torch.Tensor:
        return self._float("test")

    @property
    def test_y(self) -> torch.Tensor:
        self._check("test", "test_y")
        return self._test_y

    @property
    def class_names(self) -> list[str]:
        return CLASS_NAMES[self.name]

    def without_test(self) -> Splits:
        """These splits with no test images (what training gets)."""
        out = Splits(self.name, self._stored["train"], self.train_y, self._stored["val"], self.val_y,
                     test_images=self.test_images, data_dir=self.data_dir)
        out._floats = {k: v for k, v in self._floats.items() if k != "test"}
        return out

    def with_test(self, test_x: torch.Tensor, test_y: torch.Tensor) -> Splits:
        out = Splits(self.name, self._stored["train"], self.train_y, self._stored["val"], self.val_y, test_x, test_y,
                     data_dir=self.data_dir)
        out._floats = {k: v for k, v in self._floats.items() if k != "test"}
        return out

    def to(self, device: torch.device | str) -> Splits:
        moved = {k: None if t is None else t.to(device) for k, t in self._stored.items()}
        test_y = None if self._test_y is None else self._test_y.to(device)
        out = Splits(self.name, moved["train"], self.train_y.to(device), moved["val"], self.val_y.to(device),
                     moved["test"], test_y, test_images=self.test_images, data_dir=self.data_dir)
        out._floats = {k: v.to(device) for k, v in self._floats.items()}  # no copy when already there
        return out


def as_float(images: torch.Tensor) -> torch.Tensor:
    """Stored images as float32 (N, 1, 28, 28) in [0, 1]: uint8 (N, 28, 28) converted, float returned as it is."""
    return to_float(images) if images.dtype == torch.uint8 else images


def to_float(images: torch.Tensor) -> torch.Tensor:
    """uint8 (N, 28, 28) -> float32 (N, 1, 28, 28) in [0, 1]."""
    return images.unsqueeze(1).float().div_(255)


def _uint8_rows(images: np.ndarray, rows: np.ndarray | slice, device: torch.device | str) -> torch.Tensor:
    """images[rows] as a uint8 tensor on `device`, reading only those rows of the mapped file."""
    return torch.from_numpy(np.require(images[rows], requirements=["C", "W"])).to(device)  # a copy of a mapped view


def load_test_split(
    name: DatasetName = "mnist",
    *,
    data_dir: str | os.PathLike | None = None,
    device: torch.device | str = "cpu",
    limit: int | None = None,
) -> tuple[torch.Tensor, torch.Tensor]:
    """The test split as (images float32 (N, 1, 28, 28) in [0, 1], labels int64 (N,)), the first `limit` only
    when given. For evaluating a finished model and for display: never for training or choosing anything."""
    _check_name(name)
    images, labels = _split_arrays(name, resolve_data_dir(data_dir), train=False)
    rows = slice(None, limit)
    return to_float(_uint8_rows(images, rows, device)), torch.from_numpy(labels[rows].astype(np.int64)).to(device)


def load_dataset(
    name: DatasetName = "mnist",
    *,
    data_dir: str | os.PathLike | None = None,
    device: torch.device | str = "cpu",
    val_size: int = 10_000,
    train_limit: int | None = None,
    test: bool = False,
    test_limit: int | None = None,
    seed: int = 0,
) -> Splits:
    """Load a dataset once as whole tensors on `device` (uint8: Splits makes float tensors when they are read,
    the trainer float batches), with `val_size` training images held out.

    The default is the paper's split of MNIST's 60,000 training images: 50,000 to train on and
    10,000 for validation (choosing the Parzen σ, naming clusters, early stopping).

    `test`: also load the test split (evaluation and display only; see the module's docstring). Without it
    the Splits raise TestSplitWithheld on test_x / test_y.

    `train_limit` / `test_limit` keep only the first images (after the seeded shuffle): small
    real slices for tests and quick runs.
    """
    _check_name(name)
    root = resolve_data_dir(data_dir)
    train_images, train_labels = _split_arrays(name, root, train=True)
    if not 0 <= val_size < len(train_images):  # the images' count, not MNIST's 60,000: a folder may hold fewer
        raise ValueError(f"cannot hold out {val_size:,} validation images: {DATASET_TITLES[name]} in "
                         f"{(root / DATASET_FOLDERS[name] / 'raw').resolve()} has {len(train_images):,} training "
                         "images")
    order = torch.randperm(len(train_images), generator=torch.Generator().manual_seed(seed)).numpy()
    val_idx, train_idx = order[:val_size], order[val_size:]
    if train_limit is not None:
        train_idx = train_idx[:train_limit]
    labels = torch.from_numpy(train_labels.astype(np.int64))
    train_rows, val_rows = torch.from_numpy(train_idx), torch.from_numpy(val_idx)
    test_x = test_y = None
    if test:
        test_images, test_labels = _split_arrays(name, root, train=False)
        rows = slice(None, test_limit)
        test_x = _uint8_rows(test_images, rows, device)
        test_y = torch.from_numpy(test_labels[rows].astype(np.int64)).to(device)
    return Splits(
        name,
        _uint8_rows(train_images, train_idx, device), labels[train_rows].to(device),
        _uint8_rows(train_images, val_idx, device), labels[val_rows].to(device),
        test_x, test_y,
        test_images=count_test_images(name, root), data_dir=str(root),
    )
