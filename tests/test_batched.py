"""aae.core.batched: several seeds of one model trained as one batched model (torch.func.vmap over stacked weights)."""

from __future__ import annotations

import pytest
import torch

from aae.core import catalog
from aae.core.batched import SeedBatch
from aae.core.training import TrainConfig, Trainer, create_model

CONFIG = catalog.build_config("aae", {"latent_dim": 2, "hidden": 32})


def _batch(small_splits, n_seeds: int, size: int = 50):
    x = small_splits.train_x[: n_seeds * size].reshape(n_seeds, size, *small_splits.train_x.shape[1:])
    y = small_splits.train_y[: n_seeds * size].reshape(n_seeds, size)
    return x, y


@pytest.mark.parametrize("regularization", ["joint", "shared"])
def test_one_seed_batched_takes_the_engines_step(small_splits, regularization):
    """With one seed, a batched step is the trainer's step: same start, same batch, same noise → same weights.
    Shared: D's step from the reconstruction pass, each loss back-propagated to its own networks alone."""
    cfg = TrainConfig(batch_size=50, lr=1e-3, sample_every=0, precision="fp32",  # auto is bf16 on an AMX CPU
                      regularization=regularization)
    batch = SeedBatch("aae", CONFIG, [3], small_splits, cfg)
    trainer = Trainer(create_model("aae", CONFIG, seed=3), small_splits, cfg)
    x, y = _batch(small_splits, 1)
    for step in range(3):
        torch.manual_seed(100 + step)
        trainer.train_step(x[0], y[0])
        torch.manual_seed(100 + step)
        batch.train_step(x, y)
    (batched,) = batch.models()
    for (name, p), q in zip(trainer.model.named_parameters(), batched.parameters()):
        torch.testing.assert_close(q, p, rtol=1e-4, atol=1e-5, msg=name)
    untrained = create_model("aae", CONFIG, seed=3)
    assert not torch.equal(trainer.model.encoder.net[0].weight, untrained.encoder.net[0].weight)  # it did move
    assert not torch.equal(trainer.model.discriminator.net[0].weight, untrained.discriminator.net[0].weight)


def test_each_seed_trains_on_its_own(small_splits):
    """Changing one model's weights changes nothing in the others' step: the models share no gradient."""
    cfg = TrainConfig(batch_size=50, lr=1e-3, sample_every=0)
    x, y = _batch(small_splits, 3)
    results = []
    for nudge in (False, True):
        batch = SeedBatch("aae", CONFIG, [0, 1, 2], small_splits, cfg)
        if nudge:
            with torch.no_grad():
                batch.params["decoder.net.0.weight"][2] += 0.5
        torch.manual_seed(7)
        batch.train_step(x, y)
        results.append({k: v.detach().clone() for k, v in batch.params.items()})
    plain, nudged = results
    for name in plain:
        torch.testing.assert_close(nudged[name][:2], plain[name][:2], msg=name)
    assert not torch.allclose(nudged["decoder.net.0.weight"][2], plain["decoder.net.0.weight"][2])


def test_a_short_run_trains_every_seed_into_a_different_model(small_splits):
    cfg = TrainConfig(epochs=3, batch_size=50, lr=1e-3, sample_every=0)
    batch = SeedBatch("aae", CONFIG, [0, 1, 2], small_splits, cfg)
    history = batch.fit()
    assert [row["epoch"] for row in history] == [1, 2, 3]
    first, last = history[0]["recon"], history[-1]["recon"]
    assert len(first) == 3 and all(b < 0.85 * a for a, b in zip(first, last))  # every seed learnt
    models = batch.models()
    codes = [m.encode(small_splits.test_x[:100]) for m in models]
    assert all(c.shape == (100, 2) and torch.isfinite(c).all() for c in codes)
    assert not torch.allclose(codes[0], codes[1]) and not torch.allclose(codes[1], codes[2])


def test_models_that_prepare_their_training_are_refused(small_splits):
    semi = catalog.build_config("semi", {"latent_dim": 4, "hidden": 32})
    with pytest.raises(ValueError, match="one by one"):
        SeedBatch("semi", semi, [0, 1], small_splits, TrainConfig(batch_size=50))
    with pytest.raises(ValueError, match="distinct seeds"):
        SeedBatch("aae", CONFIG, [1, 1], small_splits, TrainConfig(batch_size=50))
