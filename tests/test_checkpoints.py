import json
import os

import pytest
import torch

from aae.core.checkpoints import CheckpointError, find_checkpoints, load_checkpoint, read_card, save_checkpoint
from aae.core.models import AAEConfig, GANConfig
from aae.core.priors import PriorConfig
from aae.core.training import TrainConfig, create_model, train


@pytest.fixture
def trained(small_splits):
    model = create_model("aae", AAEConfig(latent_dim=2, hidden=32, encoder="gaussian",
                                          prior=PriorConfig("mog10"), label_regularized=True), seed=0)
    return train(model, small_splits, TrainConfig(epochs=1))


def test_save_load_gives_identical_outputs(tmp_path, trained, small_splits):
    path = save_checkpoint(tmp_path / "m", trained.model, card={"dataset": {"name": "mnist"}},
                           optimizer_state=trained.optimizer_state)
    loaded = load_checkpoint(path)
    x = small_splits.test_x[:20]
    z = torch.randn(5, 2)
    assert torch.equal(loaded.model.encode(x), trained.model.eval().encode(x))
    assert torch.equal(loaded.model.decode(z), trained.model.decode(z))
    assert loaded.card["kind"] == "aae" and loaded.card["config"]["prior"]["name"] == "mog10"
    assert loaded.card["dataset"] == {"name": "mnist"}
    assert loaded.optimizer_state is not None
    # joint regularisation (the default): the generator loss rides in the reconstruction step's optimiser
    assert set(loaded.optimizer_state) == set(trained.optimizer_state) == {"reconstruction", "discriminator"}


def test_half_precision_inference_checkpoint_is_small_and_close(tmp_path, trained, small_splits):
    full = save_checkpoint(tmp_path / "full", trained.model, optimizer_state=trained.optimizer_state)
    small = save_checkpoint(tmp_path / "small", trained.model, inference_only=True, half=True)
    size = lambda p: (p / "model.safetensors").stat().st_size  # noqa: E731
    assert size(small) < 0.5 * size(full)
    loaded = load_checkpoint(small)
    assert loaded.optimizer_state is None and not loaded.card["weights"]["resumable"]
    x = small_splits.test_x[:20]
    assert torch.allclose(loaded.model.encode(x), trained.model.encode(x), atol=1e-2)


def test_truncated_weights_raise_a_clear_error(tmp_path, trained):
    path = save_checkpoint(tmp_path / "m", trained.model)
    weights = path / "model.safetensors"
    os.truncate(weights, weights.stat().st_size // 2)
    with pytest.raises(CheckpointError, match="truncated"):
        load_checkpoint(path)


def test_missing_and_foreign_checkpoints_raise_clear_errors(tmp_path, trained):
    with pytest.raises(CheckpointError, match="no checkpoint"):
        load_checkpoint(tmp_path / "absent")
    (tmp_path / "empty").mkdir()
    with pytest.raises(CheckpointError, match="no card.json"):
        load_checkpoint(tmp_path / "empty")
    path = save_checkpoint(tmp_path / "m", trained.model)
    (path / "model.safetensors").unlink()
    with pytest.raises(CheckpointError, match="missing"):
        load_checkpoint(path)


def test_weights_that_do_not_fit_the_card_are_refused(tmp_path, trained):
    path = save_checkpoint(tmp_path / "m", trained.model)
    card = json.loads((path / "card.json").read_text())
    card["config"]["hidden"] = 64
    card["files"] = {}
    (path / "card.json").write_text(json.dumps(card))
    with pytest.raises(CheckpointError, match="do not fit"):
        load_checkpoint(path)


def test_damaged_card_is_a_clear_error(tmp_path, trained):
    path = save_checkpoint(tmp_path / "m", trained.model)
    (path / "card.json").write_text("{not json")
    with pytest.raises(CheckpointError, match="not valid JSON"):
        read_card(path)


def test_overwrite_is_atomic_and_leaves_no_temporary_files(tmp_path, trained):
    save_checkpoint(tmp_path / "m", trained.model, card={"note": "first"})
    gan = create_model("gan", GANConfig(latent_dim=8, generator_hidden=(16, 32), disc_channels=4))
    save_checkpoint(tmp_path / "m", gan, card={"note": "second"})
    assert read_card(tmp_path / "m")["note"] == "second"
    assert load_checkpoint(tmp_path / "m").model.kind == "gan"
    assert [p.name for p in tmp_path.iterdir()] == ["m"]


def test_failed_save_leaves_the_old_checkpoint_intact(tmp_path, trained):
    save_checkpoint(tmp_path / "m", trained.model, card={"note": "good"})
    with pytest.raises(TypeError):
        save_checkpoint(tmp_path / "m", trained.model, card={"note": object()})
    assert read_card(tmp_path / "m")["note"] == "good"
    assert [p.name for p in tmp_path.iterdir()] == ["m"]


def test_find_checkpoints(tmp_path, trained):
    save_checkpoint(tmp_path / "b", trained.model)
    save_checkpoint(tmp_path / "a", trained.model)
    (tmp_path / "not-a-checkpoint").mkdir()
    assert [p.name for p in find_checkpoints(tmp_path, tmp_path / "absent")] == ["a", "b"]
