"""Tests of aae.core.metrics against cases with known answers: Gaussians, shifted sets, hand-computed values."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from aae.core.metrics import (
    class_coverage,
    frechet_distance,
    knn_accuracy,
    mmd,
    parzen_evaluate,
    parzen_log_likelihood,
    reconstruction_error,
    select_parzen_sigma,
    silhouette,
)


def _gen(seed: int) -> torch.Generator:
    return torch.Generator().manual_seed(seed)


# -- Parzen -----------------------------------------------------------------------------------------------
def _log_normal(x: torch.Tensor, var: float) -> torch.Tensor:
    """log N(x; 0, var I) for rows x (N, D)."""
    d = x.shape[1]
    return -0.5 * x.pow(2).sum(1) / var - 0.5 * d * math.log(2 * math.pi * var)


@pytest.mark.parametrize("dim", [2, 3])
def test_parzen_matches_gaussian_convolution(dim: int) -> None:
    # A Gaussian KDE on samples of N(0, I) converges to N(0, I) * N(0, sigma^2 I) = N(0, (1 + sigma^2) I).
    sigma = 0.3
    samples = torch.randn(20_000, dim, generator=_gen(1), dtype=torch.float64)
    test = torch.randn(1_000, dim, generator=_gen(2), dtype=torch.float64)
    ll = parzen_log_likelihood(samples, test, sigma)
    assert ll.shape == (1_000,) and ll.dtype == torch.float64
    analytic = _log_normal(test, 1 + sigma**2)
    assert abs(float(ll.mean() - analytic.mean())) < 0.05 * dim
    # A wrong normaliser (e.g. forgetting log M or the sigma term) would be off by whole nats.
    assert abs(float(ll.mean() - analytic.mean())) < abs(
        float(_log_normal(test, 1.0).mean() - analytic.mean())
    )


def test_parzen_float32_input_agrees_with_float64() -> None:
    samples = torch.randn(3_000, 3, generator=_gen(3), dtype=torch.float64)
    points = torch.randn(500, 3, generator=_gen(4), dtype=torch.float64)
    ll64 = parzen_log_likelihood(samples, points, 0.2)
    ll32 = parzen_log_likelihood(samples.float(), points.float(), 0.2)
    assert torch.allclose(ll32, ll64, atol=1e-3)


def test_parzen_accepts_numpy_and_images() -> None:
    rng = np.random.default_rng(0)
    samples = rng.random((50, 1, 4, 4))
    points = rng.random((7, 1, 4, 4))
    ll_np = parzen_log_likelihood(samples, points, 0.5)
    ll_t = parzen_log_likelihood(
        torch.from_numpy(samples).reshape(50, 16), torch.from_numpy(points).reshape(7, 16), 0.5
    )
    assert torch.allclose(ll_np, ll_t)


def test_parzen_batched_equals_unbatched() -> None:
    samples = torch.randn(1_000, 5, generator=_gen(5), dtype=torch.float64)
    points = torch.randn(300, 5, generator=_gen(6), dtype=torch.float64)
    whole = parzen_log_likelihood(samples, points, 0.4, batch_size=10_000, sample_batch_size=10_000)
    pieces = parzen_log_likelihood(samples, points, 0.4, batch_size=7, sample_batch_size=13)
    assert torch.allclose(whole, pieces, rtol=0, atol=1e-10)
    # And both equal the formula written out directly.
    d2 = torch.cdist(points, samples).pow(2)
    direct = (
        torch.logsumexp(-d2 / (2 * 0.4**2), dim=1) - math.log(1_000) - 2.5 * math.log(2 * math.pi * 0.4**2)
    )
    assert torch.allclose(whole, direct, atol=1e-9)


def test_select_sigma_is_interior_and_maximises() -> None:
    samples = torch.randn(5_000, 2, generator=_gen(7), dtype=torch.float64)
    validation = torch.randn(1_000, 2, generator=_gen(8), dtype=torch.float64)
    grid = torch.logspace(-2, 0.5, 11, dtype=torch.float64)
    best, scores = select_parzen_sigma(samples, validation, sigmas=grid)
    keys = list(scores)
    assert len(keys) == 11
    assert best == max(scores, key=scores.get)
    assert keys[0] < best < keys[-1]  # too narrow overfits the samples, too wide blurs: optimum inside
    # Each score is the mean log-likelihood at that sigma.
    assert scores[best] == pytest.approx(
        float(parzen_log_likelihood(samples, validation, best).mean()), abs=1e-9
    )


def test_select_sigma_default_grid() -> None:
    samples = torch.rand(200, 4, generator=_gen(9))
    best, scores = select_parzen_sigma(samples, torch.rand(50, 4, generator=_gen(10)))
    assert list(scores) == pytest.approx([float(v) for v in np.logspace(-1, 0, 10)])
    assert best in scores


def test_parzen_evaluate_stderr_and_fields() -> None:
    samples = torch.randn(2_000, 2, generator=_gen(11), dtype=torch.float64)
    validation = torch.randn(500, 2, generator=_gen(12), dtype=torch.float64)
    test = torch.randn(400, 2, generator=_gen(13), dtype=torch.float64)
    res = parzen_evaluate(samples, validation, test, sigmas=[0.05, 0.2, 0.5, 2.0])
    assert res.n_samples == 2_000 and res.n_test == 400
    assert res.sigma == max(res.sigma_scores, key=res.sigma_scores.get)
    ll = parzen_log_likelihood(samples, test, res.sigma)
    assert res.mean == pytest.approx(float(ll.mean()), abs=1e-9)
    assert res.stderr == pytest.approx(float(ll.numpy().std() / math.sqrt(400)), rel=1e-9)
    with pytest.raises(AttributeError):
        res.mean = 0.0  # type: ignore[misc]  # frozen


# -- Fréchet ----------------------------------------------------------------------------------------------
def _correlated(n: int, d: int, seed: int) -> torch.Tensor:
    g = _gen(seed)
    mix = torch.randn(d, d, generator=g, dtype=torch.float64)
    return torch.randn(n, d, generator=g, dtype=torch.float64) @ mix + 3.0


def test_frechet_self_is_zero() -> None:
    a = _correlated(2_000, 16, 0)
    scale = float(torch.trace(torch.cov(a.T)))
    assert isinstance(frechet_distance(a, a), float)
    assert frechet_distance(a, a) < 1e-6 * scale


def test_frechet_grows_with_noise() -> None:
    a = _correlated(2_000, 16, 1)
    noise = torch.randn(a.shape, generator=_gen(2), dtype=torch.float64)
    d = [frechet_distance(a, a + level * noise) for level in (0.1, 0.5, 1.0)]
    assert 0 < d[0] < d[1] < d[2]


def test_frechet_shift_is_squared_mean_difference() -> None:
    a = _correlated(1_000, 8, 3)
    shift = torch.linspace(-1, 2, 8, dtype=torch.float64)
    assert frechet_distance(a, a + shift) == pytest.approx(float(shift.pow(2).sum()), rel=1e-6)


def test_frechet_diagonal_gaussians_exact() -> None:
    # Whiten a sample so its mean is exactly 0 and covariance exactly I, then scale the axes:
    # FD = ||mu_a - mu_b||^2 + sum_i (s_a,i - s_b,i)^2 for diagonal covariances with stds s.
    x = torch.randn(500, 4, generator=_gen(4), dtype=torch.float64)
    x = x - x.mean(0)
    x = x @ torch.linalg.inv(torch.linalg.cholesky(torch.cov(x.T))).T
    sa = torch.tensor([1.0, 2.0, 0.5, 3.0], dtype=torch.float64)
    sb = torch.tensor([2.0, 2.0, 1.5, 0.1], dtype=torch.float64)
    mu = torch.tensor([0.0, 1.0, 0.0, -1.0], dtype=torch.float64)
    expected = float((sa - sb).pow(2).sum() + mu.pow(2).sum())
    assert frechet_distance(x * sa, x * sb + mu) == pytest.approx(expected, rel=1e-9)


def test_frechet_symmetric_and_real_when_rank_deficient() -> None:
    a, b = _correlated(1_000, 12, 5), _correlated(1_000, 12, 6) * 0.5
    assert frechet_distance(a, b) == pytest.approx(frechet_distance(b, a), rel=1e-9)
    # Fewer samples than dims: singular covariances, where sqrtm-based code returns complex junk.
    small_a, small_b = _correlated(10, 50, 7), _correlated(10, 50, 8)
    d = frechet_distance(small_a.numpy(), small_b.numpy())
    assert isinstance(d, float) and math.isfinite(d) and d > 0


# -- coverage ---------------------------------------------------------------------------------------------
def test_coverage_uniform() -> None:
    cov = class_coverage(torch.arange(1_000) % 10)
    assert cov.shares == pytest.approx([0.1] * 10)
    assert cov.normalized_entropy == pytest.approx(1.0)
    assert cov.entropy == pytest.approx(math.log(10))
    assert cov.missing_modes == 0 and cov.modes_covered == 10


def test_coverage_single_mode() -> None:
    cov = class_coverage(torch.full((500,), 3))
    assert cov.shares[3] == 1.0 and sum(cov.shares) == pytest.approx(1.0)
    assert cov.entropy == 0.0 and cov.normalized_entropy == 0.0
    assert cov.missing_modes == 9 and cov.modes_covered == 1


def test_coverage_two_modes_and_threshold() -> None:
    cov = class_coverage(np.array([1, 7] * 50))
    assert cov.missing_modes == 8 and cov.entropy == pytest.approx(math.log(2))
    # Half the fair share (0.05) is the cut: 6% is covered, 4% is missing.
    pred = torch.arange(10).repeat_interleave(torch.tensor([6, 4, 13, 11, 11, 11, 11, 11, 11, 11]))
    cov = class_coverage(pred)
    assert cov.shares[0] == pytest.approx(0.06) and cov.shares[1] == pytest.approx(0.04)
    assert cov.missing_modes == 1


def test_coverage_rejects_out_of_range() -> None:
    with pytest.raises(ValueError):
        class_coverage(torch.tensor([0, 10]))


# -- MMD --------------------------------------------------------------------------------------------------
@pytest.mark.parametrize("kernel", ["imq", "rbf"])
def test_mmd_same_vs_shifted(kernel: str) -> None:
    x = torch.randn(2_000, 8, generator=_gen(20))
    y = torch.randn(2_000, 8, generator=_gen(21))
    same = mmd(x, y, kernel=kernel)
    shifted = mmd(x, y + 2.0, kernel=kernel)
    assert abs(same) < 0.01
    assert shifted > 0.1 and shifted > 10 * abs(same)


@pytest.mark.parametrize(
    ("kernel", "expected"),
    [
        # x = {0, 1}, y = {0, 2}, one scale s = 1, D = 1 (C = 2); see the kernel formulas in mmd's docstring.
        ("imq", 2 / 3 + 1 / 3 - 2 * (1 + 1 / 3 + 2 / 3 + 2 / 3) / 4),
        ("rbf", math.exp(-0.5) + math.exp(-2) - 2 * (1 + math.exp(-2) + 2 * math.exp(-0.5)) / 4),
    ],
)
def test_mmd_hand_computed(kernel: str, expected: float) -> None:
    x = torch.tensor([[0.0], [1.0]])
    y = torch.tensor([[0.0], [2.0]])
    assert mmd(x, y, kernel=kernel, scales=(1.0,)) == pytest.approx(expected, rel=1e-12)


def test_mmd_subsample_is_seeded() -> None:
    x = torch.randn(3_000, 4, generator=_gen(22))
    y = torch.randn(3_000, 4, generator=_gen(23)) + 0.5
    assert mmd(x, y, max_points=500, seed=1) == mmd(x, y, max_points=500, seed=1)
    assert mmd(x, y, max_points=500, seed=1) != mmd(x, y, max_points=500, seed=2)


# -- kNN accuracy and silhouette --------------------------------------------------------------------------
def _clusters(n: int, seed: int) -> tuple[torch.Tensor, torch.Tensor]:
    g = _gen(seed)
    centres = 10.0 * torch.randn(10, 5, generator=g)
    labels = torch.randint(0, 10, (n,), generator=g)
    return centres[labels] + 0.5 * torch.randn(n, 5, generator=g), labels


def test_knn_and_silhouette_separated_clusters() -> None:
    codes, labels = _clusters(2_000, 30)
    assert knn_accuracy(codes, labels) > 0.95
    assert silhouette(codes, labels) > 0.5


def test_knn_and_silhouette_random_labels() -> None:
    codes, _ = _clusters(2_000, 31)
    labels = torch.randint(0, 10, (2_000,), generator=_gen(32))
    assert knn_accuracy(codes, labels) < 0.3
    assert abs(silhouette(codes, labels)) < 0.1


def test_knn_accuracy_subsamples() -> None:
    codes, labels = _clusters(3_000, 33)
    acc = knn_accuracy(codes.numpy(), labels.numpy(), max_points=500, k=3, n_folds=5)
    assert 0.95 < acc <= 1.0


# -- reconstruction error ---------------------------------------------------------------------------------
def test_reconstruction_error_identity() -> None:
    x = torch.rand(4, 1, 28, 28, generator=_gen(40))
    err = reconstruction_error(x, x.clone())
    assert err["mse"] == 0.0
    # BCE of a perfect reconstruction is the entropy of the pixels, not 0, unless pixels are binary.
    binary = (x > 0.5).float()
    assert reconstruction_error(binary, binary)["bce"] == pytest.approx(784 * -math.log(1 - 1e-6), rel=1e-3)


def test_reconstruction_error_hand_computed() -> None:
    x = torch.tensor([[1.0, 0.0], [1.0, 1.0]])
    x_hat = torch.tensor([[0.5, 0.5], [0.9, 0.1]])
    err = reconstruction_error(x, x_hat)
    assert err["mse"] == pytest.approx((0.25 + 0.25 + 0.01 + 0.81) / 4)
    bce_1 = -2 * math.log(0.5)
    bce_2 = -math.log(0.9) - math.log(0.1)
    assert err["bce"] == pytest.approx((bce_1 + bce_2) / 2)
    # Clamping keeps hard 0/1 predictions finite: a confident miss costs -log(1e-6) per pixel.
    assert reconstruction_error(torch.tensor([[1.0]]), torch.tensor([[0.0]]))["bce"] == pytest.approx(
        -math.log(1e-6)
    )


def test_coverage_is_trusted_for_real_digits_and_not_for_a_blob_the_classifier_is_sure_of(data_dir) -> None:
    """The duel's rule (aae.core.metrics.coverage_trust) with the shipped classifier: real digits pass; one grey
    blob repeated (what a GAN draws in its first steps) fails, even where the classifier is confident of it."""
    from aae.core.checkpoints import classifier_path, load_checkpoint
    from aae.core.data import load_dataset
    from aae.core.metrics import DIGIT_FRECHET, coverage_trust
    from aae.core.metrics.frechet import classifier_features

    splits = load_dataset("mnist", data_dir=data_dir, train_limit=500, val_size=500, test=True, test_limit=2000)
    classifier = load_checkpoint(classifier_path("mnist")).model
    reference = classifier_features(classifier, splits.test_x)

    def judged(images: torch.Tensor) -> tuple[dict, tuple[bool, str]]:
        probs = classifier.predict_proba(images)
        coverage = {"confidence": float(probs.max(dim=1).values.mean()),
                    "frechet": frechet_distance(classifier_features(classifier, images), reference)}
        return coverage, coverage_trust(coverage)

    real, (real_ok, _) = judged(splits.val_x[:500])
    assert real_ok and real["frechet"] < 100
    noise = torch.rand(500, 1, 28, 28, generator=torch.Generator().manual_seed(0))
    blob = splits.train_x.mean(dim=0, keepdim=True) + 0.15 * noise
    fake, (fake_ok, why) = judged(blob.clamp(0, 1))
    assert not fake_ok and fake["frechet"] > DIGIT_FRECHET and "not digits yet" in why
    # Confidence alone would not have caught it.
    assert coverage_trust({"confidence": 0.8})[0]
    assert not coverage_trust({"confidence": 0.8, "frechet": fake["frechet"]})[0]


def test_the_latent_figures_a_card_records_are_what_measuring_gives(data_dir):
    """A shipped card's latent figures, written by `aae eval`, are exactly what measuring the model again gives (the
    AAE vs VAE page shows them without encoding the test set on a first visit); a card measured otherwise (another
    seed, fewer samples, another dataset, a figure missing) is not taken."""
    from pathlib import Path

    from aae.core.checkpoints import load_checkpoint
    from aae.core.data import load_dataset
    from aae.core.metrics.evaluate import eval_generator, latent_metrics, recorded_latent_metrics

    checkpoint = load_checkpoint(Path(__file__).resolve().parents[1] / "checkpoints" / "vae-2d")
    splits = load_dataset("mnist", data_dir=data_dir, test=True)
    recorded = recorded_latent_metrics(checkpoint.card, "mnist", test_images=len(splits.test_y))
    measured = latent_metrics(checkpoint.model, splits, generator=eval_generator(checkpoint.model, seed=0))
    assert recorded is not None and recorded.keys() == measured.keys()
    assert all(recorded[k] == pytest.approx(measured[k], rel=1e-5) for k in measured)
    card = checkpoint.card
    data = card["metrics"]["data"]
    for changed in ({"seed": 1}, {"samples": 2000}, {"dataset": "fashion-mnist"}, {"test_images": 500}):
        assert recorded_latent_metrics({"metrics": {**card["metrics"], "data": {**data, **changed}}}, "mnist",
                                       test_images=len(splits.test_y)) is None, changed
    without = {k: v for k, v in card["metrics"].items() if k != "silhouette"}
    assert recorded_latent_metrics({"metrics": without}, "mnist", test_images=len(splits.test_y)) is None
