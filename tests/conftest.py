"""Shared fixtures: the real MNIST files in ../shared/data (or $AAE_DATA_DIR), and a slice drawn from them at the
start of the run for tests that need real digits but not the whole dataset."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
DATA_DIR = Path(os.environ.get("AAE_DATA_DIR") or ROOT.parent / "shared" / "data")
# The app compiles UMAP in a background thread at start; in tests that only competes for the 2 CI cores
# (test_projections checks warm_up itself).
os.environ.setdefault("AAE_WARM_UMAP", "0")
# Projections the pages compute go to a store of this test run's own, never the developer's ./.cache.
os.environ.setdefault("AAE_CACHE_DIR", tempfile.mkdtemp(prefix="latent-lab-test-cache-"))


@pytest.fixture(scope="session")
def data_dir() -> Path:
    if not (DATA_DIR / "MNIST" / "raw" / "t10k-images-idx3-ubyte").exists():
        if os.environ.get("CI", "").lower() in ("true", "1"):  # CI must never pass by skipping what needs data
            pytest.fail(f"real MNIST not found in {DATA_DIR} (CI=true: missing data is a failure)")
        pytest.skip(f"real MNIST not found in {DATA_DIR}")
    return DATA_DIR


@pytest.fixture(scope="session")
def mnist_slice_dir(data_dir, tmp_path_factory) -> Path:
    """A data root holding a slice of real MNIST in torchvision's layout, drawn from the full files for this run
    (tests/mnist_slice.py): 1,000 training images (100 of each digit) and 500 test images (50 of each), each split
    in a seeded random order."""
    from mnist_slice import write_slice

    return write_slice(data_dir, tmp_path_factory.mktemp("mnist-slice"))


@pytest.fixture(scope="session")
def small_splits(mnist_slice_dir):
    """600 training, 200 validation and 500 test images of real MNIST, from the slice (the test images for
    evaluation tests; the trainer drops them)."""
    from aae.core.data import load_dataset

    return load_dataset("mnist", data_dir=mnist_slice_dir, val_size=200, train_limit=600, test=True, test_limit=500)


@pytest.fixture(scope="session")
def tiny_models(tmp_path_factory, mnist_slice_dir):
    """Small real models trained for one epoch on 600 MNIST images of the slice, saved as checkpoints in a runs
    folder.

    Sets AAE_RUNS_DIR (so the app lists them as the user's models) and AAE_DATA_DIR to where `data_dir` looks
    for the full MNIST: the pages show the whole test set, so a test of a page asks for `data_dir` too.
    Returns {name: path}.
    """
    from aae.core.checkpoints import save_checkpoint
    from aae.core.data import load_dataset
    from aae.core.models import (
        AAEConfig,
        ClusteringAAEConfig,
        DimReductionAAEConfig,
        GANConfig,
        SemiSupervisedAAEConfig,
        SupervisedAAEConfig,
        VAEConfig,
    )
    from aae.core.priors import PriorConfig
    from aae.core.training import TrainConfig, create_model, train

    runs = tmp_path_factory.mktemp("runs")
    os.environ["AAE_RUNS_DIR"] = str(runs)
    os.environ["AAE_DATA_DIR"] = str(DATA_DIR)
    splits = load_dataset("mnist", data_dir=mnist_slice_dir, val_size=100, train_limit=600)
    specs = {
        "tiny-aae-2d-mog10": ("aae", AAEConfig(latent_dim=2, hidden=64, prior=PriorConfig("mog10"),
                                               label_regularized=True)),
        "tiny-aae-2d-gaussian": ("aae", AAEConfig(latent_dim=2, hidden=64, prior=PriorConfig("gaussian", 1.0))),
        "tiny-vae-2d": ("vae", VAEConfig(latent_dim=2, hidden=64)),
        "tiny-aae-8d": ("aae", AAEConfig(latent_dim=8, hidden=64)),
        "tiny-vae-8d": ("vae", VAEConfig(latent_dim=8, hidden=64, prior=PriorConfig("gaussian", 5.0))),
        "tiny-gan": ("gan", GANConfig(latent_dim=16, generator_hidden=(32, 64), disc_channels=8)),
        "tiny-supervised": ("supervised", SupervisedAAEConfig(latent_dim=2, hidden=64)),
        "tiny-semi": ("semi", SemiSupervisedAAEConfig(latent_dim=4, hidden=64, labels_per_class=5)),
        "tiny-cluster": ("cluster", ClusteringAAEConfig(latent_dim=2, hidden=64, n_categories=6)),
        "tiny-dimred": ("dimred", DimReductionAAEConfig(hidden=64, labels_per_class=5)),
        "tiny-denoise": ("aae", AAEConfig(latent_dim=8, hidden=64, prior=PriorConfig("gaussian", 1.0),
                                          corruption="gaussian", corruption_level=0.5)),
    }
    paths = {}
    for name, (kind, config) in specs.items():
        result = train(create_model(kind, config, seed=0), splits, TrainConfig(epochs=1, sample_every=0))
        paths[name] = save_checkpoint(runs / name, result.model, card={"name": name, "dataset": {"name": "mnist"}})
    return paths


@pytest.fixture(scope="module")
def one_torch_thread():
    """For modules of tiny models: one intra-op thread is as fast, and far faster on a busy 2-core machine."""
    import torch

    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


@pytest.fixture(scope="module")
def tiny_semi(small_splits):
    """A semi-supervised AAE trained for 2 epochs on 600 real images (5 labels per class)."""
    from aae.core.models import SemiSupervisedAAEConfig
    from aae.core.training import TrainConfig, create_model, train

    model = create_model("semi", SemiSupervisedAAEConfig(latent_dim=4, hidden=64, labels_per_class=5), seed=0)
    return train(model, small_splits, TrainConfig(epochs=2, batch_size=50, sample_every=0)).model


@pytest.fixture(autouse=True)
def no_job_outlives_its_test():
    """After each test, stop the jobs it left in worker processes: the queue runs one at a time per two cores,
    so a duel left running by a failed test kept every later job of that test process waiting."""
    yield
    import sys

    workers = sys.modules.get("aae.app.workers")
    if workers is not None:
        workers.stop_all()
