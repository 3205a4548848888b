"""The paper's AAE variants: supervised (style + label), semi-supervised, clustering, and the denoising AAE.

What the generic tests (tests/test_model_kinds.py: shapes, phases, checkpoints, samples) leave to each: the
style grid and the content labels, q(y|x), single optimiser steps of each phase, what the categorical adversary
does to y, how the labelled subset is picked, the configs that are refused, input corruption, the 2-D map's
cluster heads, and short real training runs.
"""

from __future__ import annotations

import dataclasses

import pytest
import torch

from aae.core.corruption import CORRUPTIONS, check_corruption, corrupt
from aae.core.models import (
    AAEConfig,
    ClusteringAAE,
    ClusteringAAEConfig,
    SemiSupervisedAAE,
    SemiSupervisedAAEConfig,
    SupervisedAAEConfig,
    VAEConfig,
    build_model,
)
from aae.core.models.blocks import reconstruction_loss
from aae.core.models.categorical import labelled_subset
from aae.core.priors import PriorConfig
from aae.core.training import TrainConfig, create_model, train

SMALL = 32  # hidden width for fast tests

VARIANTS = {
    "supervised": ("supervised", SupervisedAAEConfig(latent_dim=4, hidden=SMALL)),
    "semi": ("semi", SemiSupervisedAAEConfig(latent_dim=4, hidden=SMALL, labels_per_class=5)),
    "cluster": ("cluster", ClusteringAAEConfig(latent_dim=4, hidden=SMALL, n_categories=12)),
    "denoising": ("aae", AAEConfig(latent_dim=4, hidden=SMALL, prior=PriorConfig("gaussian", 1.0),
                                   corruption="gaussian", corruption_level=0.3)),
}
STYLE_VARIANTS = ["supervised", "semi", "cluster"]
CATEGORICAL_VARIANTS = ["semi", "cluster"]


pytestmark = pytest.mark.usefixtures("one_torch_thread")


def _build(name: str, splits, seed: int = 0):
    """A fresh small model of variant `name`, prepared for training on `splits` (picks the labelled subset)."""
    torch.manual_seed(seed)
    kind, config = VARIANTS[name]
    model = build_model(kind, config)
    model.prepare_training(splits, seed)
    return model


@pytest.fixture
def real_batch(small_splits):
    """64 real MNIST training images and their labels."""
    return small_splits.train_x[:64], small_splits.train_y[:64]


# -- the latent API ---------------------------------------------------------------------------------------
@pytest.mark.parametrize("name", STYLE_VARIANTS)
def test_style_grid_writes_every_style_as_every_class(name, small_splits):
    """style_grid(styles) gives S·K images; row r, column c is decode(styles[r], class c)."""
    model = _build(name, small_splits).eval()
    k = model.n_content
    styles = model.sample_latent(3, generator=torch.Generator().manual_seed(1))
    grid = model.style_grid(styles)
    assert grid.shape == (3 * k, 1, 28, 28)
    for r in range(3):
        for c in (0, k // 2, k - 1):
            expected = model.decode(styles[r:r + 1], torch.tensor([c]))
            assert torch.allclose(grid[r * k + c], expected[0], atol=1e-6), (r, c)
    # the class really changes the image: one style written as two classes gives two different images
    assert not torch.allclose(grid[0], grid[1])


@pytest.mark.parametrize("name", CATEGORICAL_VARIANTS)
def test_category_probs_and_classify(name, small_splits, real_batch):
    """q(y|x) has K columns and rows summing to 1; classify is its argmax, an integer in 0..K−1."""
    model = _build(name, small_splits).eval()
    x, _ = real_batch
    probs = model.category_probs(x)
    k = model.config.n_categories
    assert probs.shape == (64, k) and (probs >= 0).all()
    assert torch.allclose(probs.sum(dim=1), torch.ones(64), atol=1e-5)
    predicted = model.classify(x)
    assert predicted.shape == (64,) and not predicted.is_floating_point()
    assert predicted.min() >= 0 and predicted.max() < k
    assert torch.equal(predicted, probs.argmax(dim=1))


@pytest.mark.parametrize("name", STYLE_VARIANTS)
def test_content_labels_out_of_range_are_refused(name, small_splits):
    """decode raises ValueError for a class below 0 or at/above K, rather than a one-hot error deep inside."""
    model = _build(name, small_splits).eval()
    z = torch.zeros(2, 4)
    for bad in ([0, model.n_content], [-1, 0]):
        with pytest.raises(ValueError, match="content labels"):
            model.decode(z, torch.tensor(bad))
    assert model.decode(z, torch.tensor([0, model.n_content - 1])).shape == (2, 1, 28, 28)
    assert model.decode(z).shape == (2, 1, 28, 28)  # without labels the classes cycle


# -- phases ------------------------------------------------------------------------------------------------
@pytest.mark.parametrize("name", sorted(VARIANTS))
def test_one_step_of_each_phase_lowers_its_loss_on_a_fixed_batch(name, small_splits, real_batch):
    """One Adam step on a phase's own parameters lowers that phase's loss, with identical noise draws."""
    for phase in _build(name, small_splits).phases(1e-3):
        model = _build(name, small_splits)  # fresh each time: the phases do not affect one another
        params = next(p for p in model.phases(1e-3) if p.name == phase.name).parameters
        optimizer = torch.optim.Adam(params, lr=phase.lr, betas=phase.betas)
        torch.manual_seed(5)
        before = model.phase_loss(phase.name, *real_batch).loss
        optimizer.zero_grad()
        before.backward()
        optimizer.step()
        torch.manual_seed(5)
        after = model.phase_loss(phase.name, *real_batch).loss.item()
        assert after < before.item(), f"{name}/{phase.name}: {before.item():.5f} -> {after:.5f}"


def test_categorical_adversary_pushes_y_towards_one_hot(small_splits):
    """Trained only with the adversarial phases, a fresh clustering AAE's q(y|x) leaves the uniform
    distribution for one-hot: the mean largest probability rises and the entropy falls."""
    torch.manual_seed(0)
    # the adversary alone, as in the paper (no balance term)
    model = build_model("cluster", ClusteringAAEConfig(latent_dim=4, hidden=64, n_categories=10, balance_weight=0.0))
    x, y = small_splits.train_x[:100], small_splits.train_y[:100]
    phases = {p.name: p for p in model.phases(2e-3)}
    optimizers = {name: torch.optim.Adam(phases[name].parameters, lr=phases[name].lr, betas=phases[name].betas)
                  for name in ("discriminator", "generator")}

    def peak_and_entropy():
        probs = model.category_probs(x)
        entropy = -(probs * probs.clamp_min(1e-12).log()).sum(dim=1).mean().item()
        return probs.max(dim=1).values.mean().item(), entropy

    peak_start, entropy_start = peak_and_entropy()
    assert peak_start < 0.2  # a fresh encoder is close to uniform over 10 clusters
    for _ in range(80):
        for name, optimizer in optimizers.items():
            optimizer.zero_grad()
            model.phase_loss(name, x, y).loss.backward()
            optimizer.step()
    peak_end, entropy_end = peak_and_entropy()
    # over 40 seeds the smallest rise was ×1.95 and the smallest entropy fall 0.28 nats
    assert peak_end > 1.5 * peak_start, (peak_start, peak_end)
    assert entropy_end < entropy_start - 0.1, (entropy_start, entropy_end)


def test_generator_logs_how_one_hot_y_is(small_splits, real_batch):
    """The categorical generator phase reports y_max, the mean largest probability of y (1/K .. 1)."""
    model = _build("cluster", small_splits)
    logs = model.phase_loss("generator", *real_batch).logs
    expected = model.category_probs(real_batch[0]).max(dim=1).values.mean().item()
    assert logs["y_max"] == pytest.approx(expected, abs=1e-5)
    assert 1 / 12 <= logs["y_max"] <= 1


# -- the labelled subset ------------------------------------------------------------------------------------
def test_semi_supervised_picks_labels_per_class_images_of_each_class(small_splits):
    """prepare_training keeps exactly labels_per_class training images per class, the same ones for a seed."""
    model = build_model("semi", SemiSupervisedAAEConfig(hidden=SMALL, labels_per_class=5))
    info = model.prepare_training(small_splits, seed=3)
    assert info == {"labelled_images": 50}
    x, y = model.labelled.images
    assert torch.equal(torch.bincount(y, minlength=10), torch.full((10,), 5))
    index = labelled_subset(small_splits.train_y, 5, seed=3)
    assert torch.equal(x, small_splits.train_x[index]) and torch.equal(y, small_splits.train_y[index])

    again = build_model("semi", SemiSupervisedAAEConfig(hidden=SMALL, labels_per_class=5))
    again.prepare_training(small_splits, seed=3)
    assert torch.equal(again.labelled.images[0], x)
    other = build_model("semi", SemiSupervisedAAEConfig(hidden=SMALL, labels_per_class=5))
    other.prepare_training(small_splits, seed=4)
    assert not torch.equal(other.labelled.images[0], x)


def test_labels_per_class_none_uses_every_training_label(small_splits):
    model = build_model("semi", SemiSupervisedAAEConfig(hidden=SMALL, labels_per_class=None))
    assert model.prepare_training(small_splits, seed=0) == {"labelled_images": len(small_splits.train_x)}
    assert torch.equal(model.labelled.images[1], small_splits.train_y)


def test_labelled_subset_is_sorted_per_class_and_refuses_too_few():
    labels = torch.tensor([0, 1, 2, 0, 1, 2, 0, 1, 2, 0])
    index = labelled_subset(labels, 2, n_classes=3, seed=0)
    assert len(index) == 6 and torch.equal(index, index.sort().values) and len(set(index.tolist())) == 6
    assert torch.equal(torch.bincount(labels[index]), torch.tensor([2, 2, 2]))
    assert torch.equal(index, labelled_subset(labels, 2, n_classes=3, seed=0))
    with pytest.raises(ValueError, match="class 1 has only 3"):
        labelled_subset(labels, 4, n_classes=3)


def test_invalid_variant_configs_are_refused():
    with pytest.raises(ValueError, match="one category per class"):
        SemiSupervisedAAE(SemiSupervisedAAEConfig(hidden=SMALL, n_categories=16))
    with pytest.raises(ValueError, match="at least 1 label"):
        SemiSupervisedAAE(SemiSupervisedAAEConfig(hidden=SMALL, labels_per_class=0))
    for labels in (10, None):
        with pytest.raises(ValueError, match="uses no labels"):
            ClusteringAAE(ClusteringAAEConfig(hidden=SMALL, labels_per_class=labels))
    with pytest.raises(ValueError, match="at least 2 categories"):
        ClusteringAAE(ClusteringAAEConfig(hidden=SMALL, n_categories=1))
    with pytest.raises(ValueError, match="Gaussian prior"):
        build_model("supervised", SupervisedAAEConfig(hidden=SMALL, prior=PriorConfig("mog10")))


def test_classification_phase_needs_the_labelled_subset_when_training(real_batch):
    model = build_model("semi", SemiSupervisedAAEConfig(latent_dim=4, hidden=SMALL, labels_per_class=5))
    with pytest.raises(RuntimeError, match="prepare_training"):
        model.phase_loss("classification", *real_batch)


def test_classification_phase_in_eval_mode_scores_the_batch_given(small_splits):
    """In eval mode (validation) class_err is the model's error on the batch passed in, not on labelled data."""
    model = _build("semi", small_splits).eval()
    x, y = small_splits.val_x[:100], small_splits.val_y[:100]
    logs = model.phase_loss("classification", x, y).logs
    assert logs["class_err"] == pytest.approx((model.classify(x) != y).float().mean().item(), abs=1e-6)
    all_wrong = (model.classify(x) + 1) % 10  # labels that disagree with every prediction
    assert model.phase_loss("classification", x, all_wrong).logs["class_err"] == 1.0


# -- corruption and the denoising AAE ----------------------------------------------------------------------
@pytest.mark.parametrize("kind", [k for k in CORRUPTIONS if k != "none"])
def test_corrupt_stays_in_range_changes_the_image_and_repeats_with_a_generator(kind, real_batch):
    x, _ = real_batch
    noisy = corrupt(x, kind, 0.3, generator=torch.Generator().manual_seed(0))
    assert noisy.shape == x.shape and noisy.dtype == x.dtype
    assert noisy.min() >= 0 and noisy.max() <= 1
    assert (noisy != x).float().mean() > 0.05
    assert torch.equal(noisy, corrupt(x, kind, 0.3, generator=torch.Generator().manual_seed(0)))
    assert not torch.equal(noisy, corrupt(x, kind, 0.3, generator=torch.Generator().manual_seed(1)))
    assert torch.equal(x, real_batch[0])  # the input is left as it was


def test_each_corruption_does_what_it_says(real_batch):
    """masking only blanks pixels (about `level` of the inked ones); salt and pepper sets pixels to 0 or 1."""
    x, _ = real_batch
    gen = torch.Generator().manual_seed(0)
    masked = corrupt(x, "masking", 0.3, generator=gen)
    assert ((masked == x) | (masked == 0)).all()
    inked = x > 0
    assert (masked[inked] == 0).float().mean().item() == pytest.approx(0.3, abs=0.03)
    salted = corrupt(x, "salt_pepper", 0.3, generator=gen)
    changed = salted != x
    assert ((salted[changed] == 0) | (salted[changed] == 1)).all()
    assert changed.float().mean().item() < 0.3  # some hits land on a pixel already 0 or 1
    noisier = [(corrupt(x, "gaussian", level, generator=torch.Generator().manual_seed(0)) - x).abs().mean()
               for level in (0.1, 0.5)]
    assert noisier[0] < noisier[1]


def test_corrupt_none_and_bad_arguments(real_batch):
    x, _ = real_batch
    assert corrupt(x, "none", 0.0) is x
    for kind, level in [("blur", 0.3), ("gaussian", -0.1), ("masking", 1.5), ("salt_pepper", 0.0),
                        ("gaussian", float("nan"))]:
        with pytest.raises(ValueError):
            corrupt(x, kind, level)
        with pytest.raises(ValueError):
            check_corruption(kind, level)


def test_a_denoising_aae_refuses_a_bad_corruption():
    for kind, level in [("gaussian", 1.5), ("gaussian", 0.0), ("blur", 0.3)]:
        with pytest.raises(ValueError, match="corruption"):
            build_model("aae", AAEConfig(hidden=SMALL, corruption=kind, corruption_level=level))


def test_a_denoising_vae_encodes_the_corrupted_input_as_the_denoising_aae_does(real_batch):
    """The same option on the VAE (so the 8-D pair can be compared with the same inputs): its ELBO encodes the
    corrupted x and rebuilds the clean one; a bad corruption is refused as the AAE refuses it."""
    x, y = real_batch
    model = build_model("vae", VAEConfig(latent_dim=4, hidden=SMALL, corruption="gaussian", corruption_level=0.5))
    seen = []
    model.encoder.register_forward_hook(lambda module, inputs, output: seen.append(inputs[0].detach().clone()))
    torch.manual_seed(7)
    noisy = corrupt(x, "gaussian", 0.5)
    torch.manual_seed(7)
    model.phase_loss("elbo", x, y)
    assert len(seen) == 1 and torch.equal(seen[0], noisy)
    plain = build_model("vae", VAEConfig(latent_dim=4, hidden=SMALL))
    plain.encoder.register_forward_hook(lambda module, inputs, output: seen.append(inputs[0].detach().clone()))
    plain.phase_loss("elbo", x, y)
    assert torch.equal(seen[-1], x)
    with pytest.raises(ValueError, match="corruption"):
        build_model("vae", VAEConfig(hidden=SMALL, corruption="gaussian", corruption_level=0.0))


def test_denoising_aae_encodes_a_corrupted_input_and_rebuilds_the_clean_one(small_splits, real_batch):
    """Every phase encodes x + noise (drawn from the global RNG); the reconstruction target stays the clean x."""
    x, y = real_batch
    model = _build("denoising", small_splits)
    seen = []
    model.encoder.register_forward_hook(lambda module, inputs, output: seen.append(inputs[0].detach().clone()))
    torch.manual_seed(7)
    noisy = corrupt(x, "gaussian", 0.3)  # the draws the phase will make after the same seed
    for phase in [p.name for p in model.phases(1e-3)]:
        seen.clear()
        torch.manual_seed(7)
        loss = model.phase_loss(phase, x, y).loss.item()
        assert len(seen) == 1 and torch.equal(seen[0], noisy), phase
    torch.manual_seed(7)
    loss = model.phase_loss("reconstruction", x, y).loss.item()
    with torch.no_grad():
        expected = reconstruction_loss(model.decoder.logits(model.encoder(noisy)), x, "bce").item()
    assert loss == pytest.approx(expected, rel=1e-6)

    plain = build_model("aae", AAEConfig(latent_dim=4, hidden=SMALL, prior=PriorConfig("gaussian", 1.0)))
    plain.load_state_dict(model.state_dict())  # the same weights, no corruption: it encodes x itself
    seen_plain = []
    plain.encoder.register_forward_hook(lambda module, inputs, output: seen_plain.append(inputs[0].detach()))
    torch.manual_seed(7)
    plain_loss = plain.phase_loss("reconstruction", x, y).loss.item()
    assert torch.equal(seen_plain[0], x) and plain_loss != loss


# -- short real training runs --------------------------------------------------------------------------------
def test_semi_supervised_aae_learns_the_classes_from_50_labels(small_splits):
    """Ten epochs on 600 real images, 5 labels per class: validation and test error far below chance (0.9).

    Over 12 seeds the worst validation error was 0.48 and the worst test error 0.49.
    """
    model = create_model("semi", SemiSupervisedAAEConfig(latent_dim=10, hidden=64, labels_per_class=5), seed=0)
    result = train(model, small_splits, TrainConfig(epochs=10, batch_size=50, sample_every=0, seed=0))
    assert result.status == "done" and len(result.history) == 10
    assert result.history[-1]["val_class_err"] < 0.6
    assert result.history[-1]["val_class_err"] < result.history[0]["val_class_err"]
    test_error = (model.classify(small_splits.test_x) != small_splits.test_y).float().mean().item()
    assert test_error < 0.6


def test_a_clustering_aae_with_fewer_than_10_clusters_trains(small_splits):
    """Regression: the trainer's preview decoded classes 0..9, which a 4-cluster decoder refuses."""
    model = create_model("cluster", ClusteringAAEConfig(latent_dim=4, hidden=SMALL, n_categories=4), seed=0)
    seen = []
    result = train(model, small_splits, TrainConfig(epochs=1, batch_size=100, sample_every=3),
                   callback=lambda event: seen.append(event))
    assert result.status == "done"
    previews = [e.samples for e in seen if e.samples is not None]
    assert previews and all(p.shape == (100, 1, 28, 28) for p in previews)
    assert set(result.history[0]) >= {"recon", "disc_y", "gen_y", "y_max", "val_recon"}
    # Each epoch's progress carries the validation cluster error. 4 clusters can name at most 4 of the 10 digits,
    # so more than half of the (roughly balanced) validation digits must count as wrong, yet not all.
    assert 0.5 < result.history[-1]["val_cluster_err"] < 1


# -- the semi-supervised 2-D map with cluster heads ---------------------------------------------------------

def test_dimred_map_point_is_the_inferred_head_plus_the_style(small_splits, real_batch):
    from aae.core.models import DimReductionAAEConfig

    model = _build_dimred(small_splits)
    x, _ = real_batch
    logits, z = model.infer(x)
    expected = logits.softmax(dim=1) @ model.cluster_heads.weight + z
    torch.testing.assert_close(model.encode(x), expected)
    assert model.encode(x).shape == (len(x), DimReductionAAEConfig().latent_dim)
    # decoding a point of the map needs no label; sampling with labels puts points around those heads
    assert model.decode(model.encode(x)).shape == (len(x), 1, 28, 28)
    labels = torch.tensor([3] * 500)
    points = model.sample_latent(500, labels=labels, generator=torch.Generator().manual_seed(0))
    torch.testing.assert_close(points.mean(dim=0), model.cluster_heads.weight[3].detach(), atol=0.2, rtol=0)


def test_dimred_heads_start_apart_and_are_pushed_apart_when_close(small_splits):
    model = _build_dimred(small_splits)
    eta = model.config.head_distance
    assert torch.pdist(model.cluster_heads.weight).min() >= eta  # the circle start: no penalty
    assert model.cluster_heads.penalty(eta).item() == 0.0
    with torch.no_grad():
        model.cluster_heads.weight[1] = model.cluster_heads.weight[0] + 0.5
    penalty = model.cluster_heads.penalty(eta)
    assert penalty.item() > 0
    penalty.backward()
    grad = model.cluster_heads.weight.grad
    # a gradient step moves heads 0 and 1 apart
    moved = model.cluster_heads.weight.detach() - 0.01 * grad
    assert torch.dist(moved[0], moved[1]) > torch.dist(model.cluster_heads.weight[0], model.cluster_heads.weight[1])
    # the reconstruction phase trains the heads, and its loss includes the push
    names = {p.name: p for p in model.phases(1e-3)}
    assert any(p is model.cluster_heads.weight for p in names["reconstruction"].parameters)


def test_dimred_learns_the_classes_from_50_labels(small_splits):
    from aae.core.metrics.evaluate import cluster_report
    from aae.core.models import DimReductionAAEConfig

    config = DimReductionAAEConfig(hidden=64, labels_per_class=5)
    result = train(create_model("dimred", config, seed=0), small_splits,
                   TrainConfig(epochs=10, batch_size=50, sample_every=0))
    assert result.history[-1]["val_class_err"] < 0.6
    assert cluster_report(result.model, small_splits).error < 0.6


def _build_dimred(splits):
    from aae.core.models import DimReductionAAEConfig

    torch.manual_seed(0)
    model = build_model("dimred", DimReductionAAEConfig(hidden=SMALL, labels_per_class=5))
    model.prepare_training(splits, 0)
    return model


def test_batch_imbalance_is_zero_for_even_use_and_log_k_for_one_category():
    from aae.core.models.categorical import batch_imbalance

    even = torch.eye(8).repeat(4, 1)  # 32 one-hots, every category 4 times
    assert batch_imbalance(even).item() == pytest.approx(0.0, abs=1e-6)
    one = torch.zeros(32, 8)
    one[:, 3] = 1.0
    assert batch_imbalance(one).item() == pytest.approx(torch.log(torch.tensor(8.0)).item(), rel=1e-5)


def test_the_balance_term_spreads_a_collapsed_clustering_over_its_categories(small_splits):
    """With the balance term, generator steps move a clustering AAE that puts everything in a few
    categories towards using them all (the paper's adversary alone left a 16-cluster model on 4)."""
    torch.manual_seed(0)
    model = build_model("cluster", ClusteringAAEConfig(latent_dim=2, hidden=SMALL, n_categories=8,
                                                       balance_weight=5.0))
    x, y = small_splits.train_x[:200], small_splits.train_y[:200]
    with torch.no_grad():  # collapse: a large bias on category 0
        model.encoder.net[-1].bias[0] += 6.0
    from aae.core.models.categorical import batch_imbalance

    start = batch_imbalance(model.category_probs(x)).item()
    generator = [p for p in model.phases(1e-3) if p.name == "generator"][0]
    optimizer = torch.optim.Adam(generator.parameters, lr=1e-3)
    for _ in range(30):
        optimizer.zero_grad()
        out = model.phase_loss("generator", x, y)
        out.loss.backward()
        optimizer.step()
    assert "imbalance" in out.logs
    assert batch_imbalance(model.category_probs(x)).item() < 0.5 * start
    assert ClusteringAAEConfig().balance_weight > 0 and SemiSupervisedAAEConfig().balance_weight == 0


def test_dimred_style_adversary_compares_z_with_the_prior_not_with_the_heads(small_splits, real_batch):
    """The 2-D map's sample_latent adds cluster heads; the style adversary's "real" z must not (a bug that
    let z grow to the heads' scale and made the heads meaningless)."""
    model = _build_dimred(small_splits)
    seen = []
    handle = model.style_discriminator.register_forward_hook(lambda module, args, out: seen.append(args[0]))
    model.phase_loss("discriminator", *real_batch)
    handle.remove()
    real = seen[0]  # the first call scores prior draws
    radius = model.cluster_heads.weight.norm(dim=1).min().item()
    assert radius > 8 and real.norm(dim=1).mean().item() < 3  # N(0, I) in 2-D, nowhere near the heads' ring


def test_dimred_style_grid_rows_sit_at_their_heads(small_splits):
    """Styles for style_grid come from the style prior (sample_styles), not from sample_latent, which for the
    2-D map already adds heads: decoded row k must be the points heads[k] + style (a bug put heads in twice)."""
    model = _build_dimred(small_splits)
    styles = model.sample_styles(3, generator=torch.Generator().manual_seed(0))
    assert styles.norm(dim=1).max() < 5  # N(0, I) in 2-D, not on the heads' ring
    grid = model.style_grid(styles, rows="content")  # (K·3, 1, 28, 28)
    heads = model.cluster_heads.weight.detach()
    expected = model.decode(styles.repeat(len(heads), 1) + heads.repeat_interleave(3, dim=0))
    torch.testing.assert_close(grid, expected)


def test_the_2d_maps_decoder_reads_the_point_alone(small_splits):
    """A point of the 2-D map already says its class (it sits near that class's head): decode takes no label,
    while decode_content places a style at the head of the class it is given."""
    model = _build_dimred(small_splits).eval()
    z = model.sample_styles(4, generator=torch.Generator().manual_seed(0))
    threes, sevens = torch.full((4,), 3), torch.full((4,), 7)
    torch.testing.assert_close(model.decode(z, threes), model.decode(z, sevens))
    torch.testing.assert_close(model.decode(z), model.decode(z, threes))
    assert (model.decode_content(z, threes) - model.decode_content(z, sevens)).abs().max() > 1e-3


# -- the additions to the paper's semi-supervised recipe (each behind its own switch) ------------------------
def test_random_affine_without_a_move_is_the_image_and_with_one_keeps_the_digit(real_batch):
    from aae.core.models.categorical import random_affine

    x = real_batch[0][:50]
    assert torch.allclose(random_affine(x, 0, 0.0), x, atol=1e-5)
    torch.manual_seed(0)
    moved = random_affine(x, 2, 15.0)
    assert moved.shape == x.shape and 0 <= moved.min() and moved.max() <= 1
    changed = (moved - x).abs().flatten(1).sum(dim=1)
    assert (changed > 1).float().mean() > 0.9  # nearly every image moved
    ink, moved_ink = x.flatten(1).sum(dim=1), moved.flatten(1).sum(dim=1)
    # the digit stays whole: scaled by at most ±10 % in each direction, so its ink within about ±25 %
    assert ((moved_ink / ink - 1).abs() < 0.3).all()
    rows = torch.arange(28.0)

    def centre(images):  # the ink's centre of mass, (B, 2)
        mass = images[:, 0]
        return torch.stack([(mass.sum(2) * rows).sum(1), (mass.sum(1) * rows).sum(1)], 1) / mass.sum((1, 2))[:, None]

    assert (centre(moved) - centre(x)).abs().max() < 5  # up to 2 pixels, plus what turning about the centre moves


def test_pseudo_labels_teach_only_the_confident_images_their_hard_class(small_splits, real_batch):
    x, y = real_batch
    config = SemiSupervisedAAEConfig(latent_dim=4, hidden=SMALL, labels_per_class=5, consistency_weight=1.0,
                                     shift_pixels=0)
    model = build_model("semi", dataclasses.replace(config, pseudo_label_threshold=0.5))
    model.prepare_training(small_splits, seed=0)
    with torch.no_grad():
        logits, _ = model.infer(x)
        loss, used = model.consistency(x, logits)
        probs = logits.softmax(dim=1)
        # with no shift the moved copy is the image itself: its loss is −log q(guess | x) over the confident ones
        confident = probs.max(dim=1).values >= 0.5
        expected = (-probs.max(dim=1).values.log() * confident).mean()
        assert used.item() == pytest.approx(confident.float().mean().item())
        assert loss.item() == pytest.approx(expected.item(), rel=1e-4)
        # an untrained encoder is nowhere near 0.99 sure: nothing is taught
        strict = build_model("semi", dataclasses.replace(config, pseudo_label_threshold=0.99))
        strict.load_state_dict(model.state_dict())
        loss, used = strict.consistency(x, logits)
        assert loss.item() == 0 and used.item() == 0
        # without a threshold the target is the soft q(y | x): its cross-entropy to itself, the entropy
        soft = build_model("semi", config)
        soft.load_state_dict(model.state_dict())
        loss, used = soft.consistency(x, logits)
        assert used is None and loss.item() == pytest.approx(-(probs * probs.log()).sum(1).mean().item(), rel=1e-4)
    logs = model.phase_loss("reconstruction", x, y).logs
    assert 0 <= logs["confident"].item() <= 1


def test_the_cycle_term_teaches_the_decoder_alone_to_write_what_the_encoder_reads_back(small_splits, real_batch):
    x, y = real_batch
    torch.manual_seed(0)
    model = build_model("semi", SemiSupervisedAAEConfig(latent_dim=4, hidden=SMALL, labels_per_class=5,
                                                        cycle_weight=1.0))
    # the term's gradient reaches the decoder, never the encoder, which is left trainable afterwards
    loss, error = model.cycle(64)
    loss.backward()
    assert all(p.grad is None or p.grad.abs().max() == 0 for p in model.encoder.parameters())
    assert sum(p.grad.abs().sum() for p in model.decoder.parameters() if p.grad is not None) > 0
    assert all(p.requires_grad for p in model.encoder.parameters())
    assert 0 <= error.item() <= 1
    # the reconstruction phase carries it, weighted, in its loss and logs
    logs = model.phase_loss("reconstruction", x, y).logs
    assert {"cycle", "cycle_err"} <= logs.keys()
    # trained on the term alone, the decoder learns to write categories the fixed encoder tells apart
    model.zero_grad()
    optimiser = torch.optim.Adam(model.decoder.parameters(), lr=1e-2)
    with torch.no_grad():
        _, before = model.cycle(500)  # an untrained decoder's images: read as the asked category by chance
    for _ in range(100):
        optimiser.zero_grad()
        model.cycle(64)[0].backward()
        optimiser.step()
    with torch.no_grad():
        _, after = model.cycle(500)
    assert before > 0.8 and after < 0.5


@pytest.mark.parametrize("augment", [False, True])
def test_augment_labelled_moves_the_labelled_images_the_classification_phase_sees(small_splits, augment):
    model = build_model("semi", SemiSupervisedAAEConfig(latent_dim=4, hidden=SMALL, labels_per_class=5,
                                                        augment_labelled=augment, augment_degrees=15))
    model.prepare_training(small_splits, seed=0)
    seen = []
    model.encoder.register_forward_hook(lambda module, inputs, output: seen.append(inputs[0].detach()))
    labelled = model.labelled.images[0]
    torch.manual_seed(0)
    model.phase_loss("classification", small_splits.train_x[:20], small_splits.train_y[:20])
    # each image the phase saw, against the nearest labelled image: equal without augmentation, moved with it
    gaps = torch.cdist(seen[0].flatten(1), labelled.flatten(1),
                       compute_mode="donot_use_mm_for_euclid_dist").min(dim=1).values
    if augment:
        assert (gaps > 0.5).float().mean() > 0.8
    else:
        assert gaps.max() < 1e-4


def test_the_additions_refuse_settings_that_would_do_nothing_or_nonsense():
    with pytest.raises(ValueError, match="consistency"):
        SemiSupervisedAAEConfig(pseudo_label_threshold=0.9)  # no consistency term to give targets to
    with pytest.raises(ValueError, match=r"\[0, 1\)"):
        SemiSupervisedAAEConfig(consistency_weight=1.0, pseudo_label_threshold=1.0)
    with pytest.raises(ValueError, match="augment_degrees"):
        SemiSupervisedAAEConfig(augment_degrees=-5)
    with pytest.raises(ValueError, match="no labelled images"):
        ClusteringAAEConfig(augment_labelled=True)
    with pytest.raises(ValueError, match="cycle"):
        SemiSupervisedAAEConfig(cycle_weight=-1.0)


def test_the_papers_clustering_encoder_has_batch_norm_and_drops_input_pixels_only_while_training(real_batch):
    """The paper's clustering encoder (its appendix): batch norm after each hidden layer, 20 % input dropout."""
    plain = create_model("cluster", ClusteringAAEConfig(latent_dim=4, hidden=SMALL), seed=0)
    paper = create_model("cluster", ClusteringAAEConfig(latent_dim=4, hidden=SMALL, encoder_batch_norm=True,
                                                        input_dropout=0.2), seed=0)
    # Off, the layers keep the names shipped checkpoints were saved with
    assert [k for k in plain.encoder.state_dict() if k.endswith("weight")] == \
        ["net.0.weight", "net.2.weight", "net.4.weight"]
    assert sum(isinstance(m, torch.nn.BatchNorm1d) for m in paper.encoder.modules()) == 2
    x, _ = real_batch
    paper.train()
    torch.manual_seed(0)
    a = paper.infer(x)[0]
    torch.manual_seed(1)
    assert not torch.allclose(a, paper.infer(x)[0])  # other pixels dropped
    paper.eval()
    torch.testing.assert_close(paper.infer(x)[0], paper.infer(x)[0])  # no dropout when reading
    with pytest.raises(ValueError, match="dropout"):
        create_model("cluster", ClusteringAAEConfig(latent_dim=4, hidden=SMALL, input_dropout=1.0), seed=0)
