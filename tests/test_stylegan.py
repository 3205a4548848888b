"""StyleGAN (aae/core/models/stylegan.py) and the perceptual path length (aae/core/metrics/ppl.py)."""

from __future__ import annotations

import math
from pathlib import Path

import pytest
import torch

from aae.app.explore import image_grid
from aae.core import catalog
from aae.core.checkpoints import load_checkpoint, save_checkpoint
from aae.core.metrics.ppl import perceptual_path_length, slerp
from aae.core.models.base import LatentModel
from aae.core.models.stylegan import StyleGAN, StyleGANConfig
from aae.core.spec import resolve
from aae.core.training import Trainer, create_model
from aae.lab.recipes import get_recipe, recipes_for

SHIPPED = Path(__file__).resolve().parents[1] / "checkpoints"


@pytest.fixture(scope="module")
def trained(data_dir, one_torch_thread):
    """The small StyleGAN after one epoch on 2,000 real MNIST images (batch 32: 62 steps), by the real trainer."""
    from aae.core.data import load_dataset

    splits = load_dataset("mnist", data_dir=data_dir, val_size=200, train_limit=2000)
    model = create_model("stylegan", resolve(get_recipe("stylegan-small").run).model, seed=0)
    config = catalog.train_config("stylegan", model.config, epochs=1, sample_every=0, precision="fp32")
    trainer = Trainer(model, splits, config)
    result = trainer.fit()
    return result


@pytest.fixture(scope="module")
def classifier():
    return load_checkpoint(SHIPPED / "classifier").model.eval()


def test_catalogue_entry_capabilities_and_metrics():
    entry = catalog.entry("stylegan")
    assert entry.capabilities["generator_only"] and entry.capabilities["style_space"]
    assert "stylegan" in catalog.kinds(style_space=True) and "gan" not in catalog.kinds(style_space=True)
    assert {"ppl", "ppl_w"} <= set(entry.metrics) and "ppl_w" not in catalog.entry("gan").metrics
    assert "ppl" in catalog.entry("aae").metrics
    for recipe in recipes_for("stylegan"):
        StyleGAN(resolve(recipe.run).model).sample(2)


def test_shapes_and_the_style_api(one_torch_thread):
    model = StyleGAN(StyleGANConfig()).eval()
    z = model.sample_latent(5, generator=torch.Generator().manual_seed(0))
    assert z.shape == (5, 64)
    w = model.mapping(z)
    assert w.shape == (5, 128) and model.n_style_layers == 6 and model.w_avg.shape == (128,)
    images = model.decode(z)
    assert images.shape == (5, 1, 28, 28) and 0 <= images.min() and images.max() <= 1
    per_layer = model.mix(w, w.flip(0), 3)
    assert per_layer.shape == (5, 6, 128)
    assert torch.equal(per_layer[:, :3], model.broadcast(w)[:, :3]) and torch.equal(per_layer[:, 3:],
                                                                                    model.broadcast(w.flip(0))[:, 3:])
    # decode is synthesize of mapping with the stored noise: deterministic
    assert torch.allclose(model.synthesize(w), images) and torch.equal(model.decode(z), images)
    assert len(model.noise_shapes()) == 6 and model.style_resolutions == (7, 7, 14, 14, 28, 28)
    with pytest.raises(ValueError, match="crossover"):
        model.mix(w, w, 7)


def test_one_epoch_trains_through_the_trainer_and_draws_a_finite_grid(trained, tmp_path):
    assert trained.epochs_done == 1 and trained.steps_done == 62
    history = trained.history[0]
    assert all(math.isfinite(v) for v in history.values())
    assert 0 < history["disc_acc"] < 1 and history["r1"] > 0  # both players moved; R1 ran
    model = trained.model.eval()
    images = model.sample(100, generator=torch.Generator().manual_seed(0))
    grid = image_grid(images)
    assert grid.shape == (10 * 30 + 2, 10 * 30 + 2) and bool(torch.isfinite(torch.as_tensor(grid)).all())
    assert images.std() > 0.1  # not blank: ink on background
    assert (images - images.mean(0)).abs().mean() > 0.02  # the samples differ from one another
    # the running mean of w moved off its zero start towards the mean of the mapped codes
    mean_w = model.mapping(model.sample_latent(2000, generator=torch.Generator().manual_seed(1))).mean(0)
    assert torch.nn.functional.cosine_similarity(model.w_avg, mean_w, dim=0) > 0.5
    # an int8 export keeps the weight average and its w_avg, and draws the same digits
    save_checkpoint(tmp_path / "i8", model, inference_only=True, dtype="int8")
    loaded = load_checkpoint(tmp_path / "i8").model
    assert torch.allclose(loaded.w_avg, model.w_avg, atol=1e-2)
    z = model.sample_latent(8, generator=torch.Generator().manual_seed(2))
    assert (loaded.decode(z) - model.decode(z)).abs().mean() < 0.02


def test_style_mixing_uses_both_codes(trained):
    model = trained.model.eval()
    z = model.sample_latent(16, generator=torch.Generator().manual_seed(3))
    w_a, w_b = model.mapping(z[:8]), model.mapping(z[8:])
    a, b = model.synthesize(w_a), model.synthesize(w_b)
    mixed = model.synthesize(model.mix(w_a, w_b, 2))  # coarse (7×7) styles from a, the rest from b
    assert (mixed - a).abs().mean() > 0.01 and (mixed - b).abs().mean() > 0.01
    # the two ends of the crossover are the pure images
    assert torch.allclose(model.synthesize(model.mix(w_a, w_b, 0)), b, atol=1e-6)
    assert torch.allclose(model.synthesize(model.mix(w_a, w_b, model.n_style_layers)), a, atol=1e-6)


def test_truncation_to_zero_gives_the_average_image_for_every_code(trained):
    model = trained.model.eval()
    w = model.mapping(model.sample_latent(6, generator=torch.Generator().manual_seed(4)))
    images = model.synthesize(model.truncate(w, 0.0))
    assert (images - images[:1]).abs().max() < 1e-5
    assert torch.allclose(images[0], model.synthesize(model.w_avg[None])[0], atol=1e-5)
    assert torch.equal(model.truncate(w, 1.0), w)
    full, half = model.synthesize(w), model.synthesize(model.truncate(w, 0.5))
    assert (half - images).abs().mean() < (full - images).abs().mean()  # psi 0.5 is nearer the average image


def test_fresh_noise_changes_the_image_but_little(trained):
    model = trained.model.eval()
    w = model.mapping(model.sample_latent(8, generator=torch.Generator().manual_seed(5)))
    stored = model.synthesize(w)
    fresh = model.synthesize(w, noise=torch.Generator().manual_seed(6))
    again = model.synthesize(w, noise=torch.Generator().manual_seed(6))
    assert torch.equal(fresh, again)  # seeded noise is repeatable
    noise_change = (fresh - stored).abs().mean()
    style_change = (model.synthesize(w.roll(1, 0)) - stored).abs().mean()
    assert noise_change > 0 and noise_change < 0.25 * style_change


class _Toy(LatentModel):
    """A decoder over a 4-D Gaussian prior: a smooth image of z, optionally plus a term that oscillates fast in z."""

    kind = "toy"
    has_encoder = False

    def __init__(self, wiggle: float) -> None:
        super().__init__(config=None)
        gen = torch.Generator().manual_seed(0)
        self.basis = torch.nn.Parameter(torch.randn(4, 784, generator=gen), requires_grad=False)
        self.wiggle = wiggle

    def sample_latent(self, n, labels=None, generator=None):
        return torch.randn(n, 4, generator=generator)

    @torch.no_grad()
    def decode(self, z, labels=None):
        h = z @ self.basis
        return torch.sigmoid(h + self.wiggle * torch.sin(300 * h)).view(-1, 1, 28, 28)


def test_ppl_puts_a_noisy_generator_above_a_smooth_one(classifier, one_torch_thread):
    smooth = perceptual_path_length(_Toy(0.0), classifier, n_pairs=100)
    noisy = perceptual_path_length(_Toy(0.5), classifier, n_pairs=100)
    assert math.isfinite(smooth.mean) and noisy.mean > 3 * smooth.mean
    again = perceptual_path_length(_Toy(0.0), classifier, n_pairs=100)
    assert again.mean == smooth.mean  # seeded
    assert len(smooth.distances) == 100 and smooth.std >= 0


def test_slerp_ends_and_shell():
    a, b = torch.randn(5, 8, dtype=torch.float64), torch.randn(5, 8, dtype=torch.float64)
    assert torch.allclose(slerp(a, b, torch.zeros(5, dtype=torch.float64)), a)
    assert torch.allclose(slerp(a, b, torch.ones(5, dtype=torch.float64)), b)
    middle = slerp(a, b, torch.full((5,), 0.5, dtype=torch.float64))
    assert torch.allclose(middle.norm(dim=1), (a.norm(dim=1) + b.norm(dim=1)) / 2)  # on the shell, not inside it


def test_ppl_in_w_and_z_of_a_style_model(trained, classifier):
    model = trained.model.eval()
    z = perceptual_path_length(model, classifier, space="z", n_pairs=64)
    w = perceptual_path_length(model, classifier, space="w", n_pairs=64)
    assert math.isfinite(z.mean) and math.isfinite(w.mean) and z.mean > 0 and w.mean > 0
    with pytest.raises(ValueError, match="style space"):
        perceptual_path_length(_Toy(0.0), classifier, space="w", n_pairs=8)


def test_evaluate_reports_every_metric_the_catalogue_lists_for_it(trained, classifier, data_dir):
    from aae.core.data import load_dataset
    from aae.core.metrics.evaluate import evaluate, format_table

    splits = load_dataset("mnist", data_dir=data_dir, val_size=200, train_limit=100, test=True, test_limit=200)
    row = evaluate(trained.model, splits, classifier=classifier, n_samples=200, parzen=False)
    assert set(catalog.entry("stylegan").metrics) - {"parzen_ll", "parzen_se", "parzen_sigma"} <= set(row)
    assert row["ppl"] > 0 and row["ppl_w"] > 0
    assert "perceptual path length in w" in format_table(["sg"], [row])
