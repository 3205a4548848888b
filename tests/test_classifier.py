"""Tests of the MNIST classifier: shapes, the phase protocol, and a short training run on real MNIST."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch

from aae.core.metrics import class_coverage, classifier_frechet_distance
from aae.core.models.base import LatentModel, Phase
from aae.core.models.classifier import ClassifierConfig, MnistClassifier


def _read_idx(path: Path, header: int, count: int) -> np.ndarray:
    """The first `count` records of an IDX file (16-byte header for images, 8 for labels), uint8."""
    with path.open("rb") as f:
        head = np.frombuffer(f.read(header), dtype=">u4")  # big-endian: magic, count[, rows, cols]
        if int(head[1]) < count:
            pytest.skip(f"{path.name} holds {int(head[1])} records, fewer than {count}")
        record = 28 * 28 if header == 16 else 1
        return np.frombuffer(f.read(count * record), dtype=np.uint8)


def _load_mnist(root: Path, split: str, count: int) -> tuple[torch.Tensor, torch.Tensor]:
    """First `count` images (count, 1, 28, 28) float32 in [0, 1] and labels (count,) of "train" or "t10k"."""
    raw = root / "MNIST" / "raw"
    images, labels = raw / f"{split}-images-idx3-ubyte", raw / f"{split}-labels-idx1-ubyte"
    if not (images.exists() and labels.exists()):
        pytest.skip(f"MNIST IDX files not found under {raw}")
    x = _read_idx(images, 16, count).reshape(count, 1, 28, 28)
    y = _read_idx(labels, 8, count)
    return torch.from_numpy(x.astype(np.float32) / 255.0), torch.from_numpy(y.astype(np.int64))


def _train_epoch(model: MnistClassifier, x: torch.Tensor, y: torch.Tensor, *, lr: float, batch: int) -> None:
    """One epoch the way the trainer drives any LatentModel: one Adam per phase, phase_loss per batch."""
    phases = model.phases(lr)
    optims = {p.name: torch.optim.Adam(p.parameters, lr=p.lr, betas=p.betas) for p in phases}
    model.train()
    order = torch.randperm(x.shape[0], generator=torch.Generator().manual_seed(0))
    for i in range(0, x.shape[0], batch):
        idx = order[i : i + batch]
        for p in phases:
            out = model.phase_loss(p.name, x[idx], y[idx])
            optims[p.name].zero_grad()
            out.loss.backward()
            optims[p.name].step()


def test_protocol_and_shapes() -> None:
    torch.manual_seed(0)
    model = MnistClassifier(config=ClassifierConfig(feature_dim=64))
    assert isinstance(model, LatentModel)
    assert model.kind == "classifier" and not model.has_encoder
    assert model.latent_dim == 64
    x = torch.rand(5, 1, 28, 28)
    assert model(x).shape == (5, 10)
    assert model.features(x).shape == (5, 64)
    pred = model.predict(x, batch_size=2)
    assert pred.shape == (5,) and pred.dtype == torch.long
    assert model.training  # predict restores the mode it found
    assert torch.equal(pred, model.eval()(x).argmax(1))
    # Features never use dropout: identical in train and eval mode, and they feed the head.
    model.train()
    assert torch.equal(model.features(x), model.eval().features(x))
    assert torch.allclose(model.head(model.features(x)), model(x))
    (phase,) = model.phases(1e-3)
    assert isinstance(phase, Phase) and phase.name == "classify" and phase.lr == 1e-3
    assert len(phase.parameters) == len(list(model.parameters()))
    assert model.config_dict()["feature_dim"] == 64
    assert MnistClassifier(ClassifierConfig(channels=8)).conv[0].out_channels == 8  # positional
    assert MnistClassifier().config == ClassifierConfig()
    with pytest.raises(NotImplementedError):
        model.decode(torch.zeros(1, 64))
    with pytest.raises(ValueError):
        model.phase_loss("generator", x, torch.zeros(5, dtype=torch.long))


def test_one_adam_step_lowers_loss() -> None:
    torch.manual_seed(0)
    model = MnistClassifier(config=ClassifierConfig(dropout=0.0))  # no dropout: the loss is deterministic
    x = torch.rand(32, 1, 28, 28, generator=torch.Generator().manual_seed(1))
    y = torch.randint(0, 10, (32,), generator=torch.Generator().manual_seed(2))
    (phase,) = model.phases(1e-3)
    opt = torch.optim.Adam(phase.parameters, lr=phase.lr, betas=phase.betas)
    out = model.phase_loss("classify", x, y)
    assert set(out.logs) == {"loss", "accuracy"} and 0.0 <= out.logs["accuracy"] <= 1.0
    assert out.logs["loss"] == pytest.approx(float(out.loss.detach()))
    opt.zero_grad()
    out.loss.backward()
    opt.step()
    assert float(model.phase_loss("classify", x, y).loss.detach()) < out.logs["loss"]


def test_short_training_on_real_mnist(data_dir) -> None:
    torch.manual_seed(0)
    x_train, y_train = _load_mnist(data_dir, "train", 2_000)
    x_test, y_test = _load_mnist(data_dir, "t10k", 1_000)
    model = MnistClassifier()
    _train_epoch(model, x_train, y_train, lr=3e-3, batch=64)  # 32 steps: a brisk lr
    pred = model.predict(x_test)
    accuracy = float((pred == y_test).float().mean())
    assert accuracy > 0.85
    # The trained classifier as a metric: real digits cover all classes, and a shifted copy of the test set
    # is farther from the real test digits (in feature space) than a disjoint sample of real digits is.
    assert class_coverage(pred).missing_modes == 0
    same = classifier_frechet_distance(model, x_test[:500], x_test[500:])
    shifted = classifier_frechet_distance(model, x_test[:500], torch.roll(x_test[500:], shifts=6, dims=3))
    assert shifted > 2 * same
    model.train()  # classifier_frechet_distance switches to eval mode and back
    classifier_frechet_distance(model, x_test[:10], x_test[10:20])
    assert model.training
