import gzip
import os
import subprocess
import sys

import numpy as np
import pytest
import torch

import aae.core.data
from aae.core.data import (
    DataNotFoundError,
    TestSplitWithheld,
    cached_idx,
    is_available,
    load_dataset,
    load_split,
    load_test_split,
    resolve_data_dir,
)


def test_splits_are_whole_float_tensors_without_overlap(data_dir):
    splits = load_dataset("mnist", data_dir=data_dir, test=True)  # the paper's split: 50,000 + 10,000 validation
    assert splits.train_x.shape == (50000, 1, 28, 28) and splits.val_x.shape == (10000, 1, 28, 28)
    assert splits.test_x.shape == (10000, 1, 28, 28)
    assert splits.train_x.dtype == torch.float32 and 0 <= splits.train_x.min() and splits.train_x.max() == 1
    # validation images are carved out of the training set: none of them is also a training image
    train_rows = {row.numpy().tobytes() for row in (splits.train_x[:, 0] * 255).byte()}
    assert not any(row.numpy().tobytes() in train_rows for row in (splits.val_x[:, 0] * 255).byte())
    # every class is present in each split
    for labels in (splits.train_y, splits.val_y, splits.test_y):
        assert torch.bincount(labels, minlength=10).min() > 50


def test_limits_and_seeded_validation_split(data_dir):
    a = load_dataset(data_dir=data_dir, val_size=100, train_limit=300, test=True, test_limit=50, seed=1)
    b = load_dataset(data_dir=data_dir, val_size=100, train_limit=300, test_limit=50, seed=1)
    c = load_dataset(data_dir=data_dir, val_size=100, train_limit=300, test_limit=50, seed=2)
    assert len(a.train_x) == 300 and len(a.test_x) == 50 and a.test_images == 10000
    assert torch.equal(a.val_x, b.val_x) and not torch.equal(a.val_x, c.val_x)


def test_fashion_mnist_has_the_full_training_set(data_dir):
    if not is_available("fashion-mnist", data_dir):
        pytest.skip("Fashion-MNIST not in the data folder")
    x, y = load_split("fashion-mnist", train=True, data_dir=data_dir)
    assert x.shape == (60000, 28, 28) and y.max() == 9


def test_data_dir_resolution(monkeypatch, tmp_path):
    import aae.core.data

    monkeypatch.delenv("AAE_DATA_DIR", raising=False)
    monkeypatch.chdir(tmp_path)
    shared = tmp_path / "shared" / "data"
    monkeypatch.setattr(aae.core.data, "SHARED_DATA", shared)
    assert str(resolve_data_dir()) == "data"  # nothing anywhere: ./data, where a download goes
    shared.mkdir(parents=True)
    assert resolve_data_dir() == shared  # a fresh checkout beside ../shared finds the team's data
    (tmp_path / "data" / "MNIST" / "raw").mkdir(parents=True)
    assert str(resolve_data_dir()) == "data"  # data of its own wins
    monkeypatch.setenv("AAE_DATA_DIR", str(tmp_path))
    assert resolve_data_dir() == tmp_path
    assert resolve_data_dir(tmp_path / "x") == tmp_path / "x"


def test_missing_data_offline_is_one_clear_error(tmp_path, monkeypatch):
    import torchvision.datasets.utils as tv_utils

    def offline(*args, **kwargs):
        raise OSError("network is unreachable")

    monkeypatch.setattr(tv_utils, "urlretrieve", offline, raising=False)
    with pytest.raises(DataNotFoundError) as info:
        load_split("mnist", train=True, data_dir=tmp_path)
    message = str(info.value)
    assert str(tmp_path) in message and "AAE_DATA_DIR" in message and "IDX" in message


def test_unknown_dataset_is_refused(tmp_path):
    with pytest.raises(ValueError, match="unknown dataset"):
        load_split("cifar", train=True, data_dir=tmp_path)


def test_the_test_split_is_withheld_unless_asked_for(data_dir):
    """Training, validation curves and sweeps get splits without test images: reading them is an error that
    names the rule; evaluation asks for them explicitly and gets the dataset's official test set."""
    splits = load_dataset("mnist", data_dir=data_dir, val_size=100, train_limit=200)
    assert not splits.has_test and splits.test_images == 10000  # the count, from the file's header alone
    for name in ("test_x", "test_y"):
        with pytest.raises(TestSplitWithheld, match="final evaluation of a finished model only") as info:
            getattr(splits, name)
        assert "load_test_split" in str(info.value)
    with pytest.raises(TestSplitWithheld):
        assert splits.to("cpu").test_x is None  # moving keeps it withheld: this raises
    x, y = load_test_split("mnist", data_dir=data_dir, limit=300)
    images, labels = load_split("mnist", train=False, data_dir=data_dir)
    assert torch.equal(x, aae.core.data.to_float(images[:300])) and torch.equal(y, labels[:300])
    full = load_dataset("mnist", data_dir=data_dir, val_size=100, train_limit=200, test=True, test_limit=300)
    assert torch.equal(full.test_x, x) and torch.equal(full.train_x, splits.train_x)
    assert not full.without_test().has_test


def test_the_slice_kept_with_the_tests_loads_with_every_digit_and_refuses_a_hold_out_it_cannot_give(
        mnist_slice_dir):
    """The slice is a data folder like any other, of gzipped IDX files only: found, loaded with a hold-out that
    fits it, and refused the paper's 10,000-image hold-out with the count it has."""
    assert is_available("mnist", mnist_slice_dir)
    n = len(load_split("mnist", train=True, data_dir=mnist_slice_dir)[1])
    splits = load_dataset("mnist", data_dir=mnist_slice_dir, val_size=200, test=True)
    assert (len(splits.train_y), len(splits.val_y)) == (n - 200, 200) and splits.test_images == len(splits.test_y)
    for labels in (torch.cat([splits.train_y, splits.val_y]), splits.test_y):
        assert torch.bincount(labels, minlength=10).min() >= 50
    assert torch.bincount(splits.test_y[:100], minlength=10).min() > 0  # its first test images hold every digit
    for val_size in (10_000, n, -1):
        with pytest.raises(ValueError, match=f"cannot hold out {val_size:,} validation images: MNIST in .* has "
                                             f"{n:,} training images"):
            load_dataset("mnist", data_dir=mnist_slice_dir, val_size=val_size)


def test_the_slice_is_real_mnist_drawn_the_same_way_every_time(data_dir, mnist_slice_dir, tmp_path):
    """Every image of the slice is an image of the full files with its own label, and drawing it again gives the
    same bytes."""
    from mnist_slice import write_slice

    for train in (True, False):
        full_x, full_y = load_split("mnist", train=train, data_dir=data_dir)
        part_x, part_y = load_split("mnist", train=train, data_dir=mnist_slice_dir)
        label_of = {image.tobytes(): int(label) for image, label in zip(np.asarray(full_x), np.asarray(full_y))}
        assert [label_of.get(image.tobytes()) for image in np.asarray(part_x)] == np.asarray(part_y).tolist()
    again = write_slice(data_dir, tmp_path) / "MNIST" / "raw"
    for path in sorted((mnist_slice_dir / "MNIST" / "raw").glob("*.gz")):
        assert (again / path.name).read_bytes() == path.read_bytes(), path.name


def _write_idx(path, array: np.ndarray) -> None:
    header = bytes([0, 0, 8, array.ndim]) + b"".join(int(d).to_bytes(4, "big") for d in array.shape)
    opener = gzip.open if str(path).endswith(".gz") else open
    with opener(path, "wb") as handle:
        handle.write(header + array.astype(np.uint8).tobytes())


def test_the_cache_is_written_once_reused_and_renewed_when_the_source_changes(tmp_path, monkeypatch):
    source, cache = tmp_path / "raw" / "train-images-idx3-ubyte", tmp_path / "cache"
    source.parent.mkdir()
    first = np.arange(3 * 4 * 5).reshape(3, 4, 5) % 256
    _write_idx(source, first)
    array = cached_idx(source, cache)
    assert np.array_equal(array, first) and isinstance(array, np.memmap)  # memory-mapped from its copy
    copies = list(cache.glob("*.npy"))
    assert len(copies) == 1 and not list(cache.glob(".*tmp"))  # one copy, no temporary file left
    written = copies[0].stat().st_mtime_ns

    def no_parsing(path):
        raise AssertionError(f"{path} was parsed again")

    monkeypatch.setattr(aae.core.data, "read_idx", no_parsing)
    assert np.array_equal(cached_idx(source, cache), first)  # reused: not parsed again, not rewritten
    assert copies[0].stat().st_mtime_ns == written
    monkeypatch.undo()

    second = 255 - first[:2]  # another size and content: the copy is renewed and the old one removed
    _write_idx(source, second)
    os.utime(source, ns=(written + 10**9, written + 10**9))
    assert np.array_equal(cached_idx(source, cache), second)
    assert len(list(cache.glob("*.npy"))) == 1 and not copies[0].exists()


def test_the_cache_reads_gzipped_sources_and_works_where_it_cannot_write(tmp_path):
    labels = np.array([3, 1, 4, 1, 5], dtype=np.uint8)
    source = tmp_path / "t10k-labels-idx1-ubyte.gz"
    _write_idx(source, labels)
    assert np.array_equal(cached_idx(source, tmp_path / "cache"), labels)
    blocked = tmp_path / "a-file"
    blocked.write_text("not a folder")
    assert np.array_equal(cached_idx(source, blocked / "cache"), labels)  # parsed, nothing cached
    (tmp_path / "bad").write_bytes(b"\x00\x00\x0d\x01" + (5).to_bytes(4, "big"))  # floats, not bytes
    with pytest.raises(ValueError, match="not an IDX file of unsigned bytes"):
        cached_idx(tmp_path / "bad", tmp_path / "cache")


def test_cached_tensors_equal_torchvisions(data_dir, tmp_path, monkeypatch):
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    for train in (True, False):
        images, labels = load_split("mnist", train=train, data_dir=data_dir)
        reference = aae.core.data._torchvision_split("mnist", resolve_data_dir(data_dir), train)
        assert torch.equal(images, reference.data) and torch.equal(labels, reference.targets)
        assert images.dtype == reference.data.dtype and labels.dtype == reference.targets.dtype
    assert len(list((tmp_path / "latent-lab" / "data").glob("*.npy"))) == 4


def test_loading_from_the_cache_never_imports_torchvision(data_dir, tmp_path):
    code = ("import sys; from aae.core.data import load_dataset; s = load_dataset('mnist', train_limit=100); "
            "assert len(s.train_x) == 100; print('torchvision' in sys.modules)")
    env = {**os.environ, "XDG_CACHE_HOME": str(tmp_path), "AAE_DATA_DIR": str(data_dir)}
    runs = [subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True)
            for _ in range(2)]  # the first writes the cache, the second reads it
    assert [run.stdout.strip() for run in runs] == ["False", "False"]
    assert len(list((tmp_path / "latent-lab" / "data").glob("*.npy"))) == 2  # the training split's two files


def test_splits_keep_bytes_and_make_floats_only_when_read(mnist_slice_dir):
    """The images stay uint8 (a quarter of the memory); a batch converts only its rows; train_x is made once."""
    splits = load_dataset("mnist", data_dir=mnist_slice_dir, val_size=100, train_limit=300)
    stored = splits.images("train")
    assert stored.dtype == torch.uint8 and stored.shape == (300, 28, 28)
    rows = torch.tensor([5, 0, 299])
    batch = splits.batch("train", rows)
    assert batch.dtype == torch.float32 and torch.equal(batch, aae.core.data.to_float(stored[rows]))
    assert "train" not in splits._floats  # no whole float copy for a batch
    assert torch.equal(splits.train_x, aae.core.data.to_float(stored)) and splits.train_x is splits.train_x
    assert torch.equal(splits.to("cpu").val_x, splits.val_x) and splits.val_x.shape == (100, 1, 28, 28)
    with pytest.raises(TestSplitWithheld):
        splits.images("test")


def test_evaluation_reads_the_test_split_itself(data_dir):
    """`aae eval` hands evaluate() splits loaded the default way: evaluation (the one reader of test images) loads
    the official test set itself, from the same data folder."""
    from aae.core.metrics.evaluate import with_test_split

    splits = load_dataset("mnist", data_dir=data_dir, val_size=100, train_limit=200)
    tested = with_test_split(splits)
    assert tested.has_test and not splits.has_test
    assert len(tested.test_y) == 10000 and torch.equal(tested.test_y, load_split("mnist", train=False,
                                                                                 data_dir=data_dir)[1])
    assert with_test_split(tested) is tested
