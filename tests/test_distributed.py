"""aae.core.distributed: `torchrun --standalone --nproc-per-node 2 -m aae train` on the CPU with gloo."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
import torch

from aae.cli import main
from aae.core.checkpoints import load_checkpoint

TINY = ["--model", "classifier", "--set", "dropout=0", "--set", "channels=8", "--set", "feature_dim=32",
        "--epochs", "1", "--train-limit", "1000", "--batch-size", "100", "--quiet", "--save-every", "0",
        "--precision", "fp32"]  # compared to 1e-5: auto would pick bf16 on a CPU with AMX


def test_two_gloo_processes_train_the_model_one_process_trains_on_the_same_global_batches(data_dir, tmp_path):
    """No randomness inside the steps (a classifier without dropout), so the two runs can be compared exactly:
    each rank takes half of every global batch and the gradients are averaged before each step."""
    torchrun = Path(sys.executable).with_name("torchrun")
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    done = subprocess.run([str(torchrun), "--standalone", "--nproc-per-node", "2", "-m", "aae", "train", *TINY,
                           "--data-dir", str(data_dir), "--out", str(tmp_path / "ddp")],
                          env=env, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-2000:]
    assert "2 processes" in done.stdout and done.stdout.count("wrote") == 1  # rank 0 alone writes
    assert main(["train", *TINY, "--data-dir", str(data_dir), "--out", str(tmp_path / "single")]) == 0

    ddp, single = load_checkpoint(tmp_path / "ddp"), load_checkpoint(tmp_path / "single")
    assert ddp.card["training"]["processes"] == 2 and "processes" not in single.card["training"]
    a, b = ddp.model.state_dict(), single.model.state_dict()
    assert set(a) == set(b)
    for key in a:
        assert torch.allclose(a[key], b[key], atol=1e-5), key
    # and the checkpoint is an ordinary one: `aae eval` reads it
    assert main(["eval", str(tmp_path / "ddp"), "--data-dir", str(data_dir)]) == 0


def test_a_batch_that_does_not_split_evenly_is_refused(small_splits):
    from aae.core.distributed import World
    from aae.core.models import ClassifierConfig
    from aae.core.training import TrainConfig, Trainer, create_model

    model = create_model("classifier", ClassifierConfig(channels=4, feature_dim=8))
    with pytest.raises(ValueError, match="split evenly"):
        Trainer(model, small_splits, TrainConfig(batch_size=101, device="cpu"), world=World(rank=0, size=2))
