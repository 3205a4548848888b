import pytest
import torch

from aae.data import DataNotFoundError, is_available, load_dataset, load_split, resolve_data_dir


def test_splits_are_whole_float_tensors_without_overlap(data_dir):
    splits = load_dataset("mnist", data_dir=data_dir)  # the paper's split: 50,000 + 10,000 validation
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
    a = load_dataset(data_dir=data_dir, val_size=100, train_limit=300, test_limit=50, seed=1)
    b = load_dataset(data_dir=data_dir, val_size=100, train_limit=300, test_limit=50, seed=1)
    c = load_dataset(data_dir=data_dir, val_size=100, train_limit=300, test_limit=50, seed=2)
    assert len(a.train_x) == 300 and len(a.test_x) == 50
    assert torch.equal(a.val_x, b.val_x) and not torch.equal(a.val_x, c.val_x)


def test_fashion_mnist_has_the_full_training_set(data_dir):
    if not is_available("fashion-mnist", data_dir):
        pytest.skip("Fashion-MNIST not in the data folder")
    x, y = load_split("fashion-mnist", train=True, data_dir=data_dir)
    assert x.shape == (60000, 28, 28) and y.max() == 9


def test_data_dir_resolution(monkeypatch, tmp_path):
    import aae.data

    monkeypatch.delenv("AAE_DATA_DIR", raising=False)
    monkeypatch.chdir(tmp_path)
    shared = tmp_path / "shared" / "data"
    monkeypatch.setattr(aae.data, "SHARED_DATA", shared)
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
