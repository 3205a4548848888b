import math

import pytest
import torch

from aae.core.priors import (
    GaussianPrior,
    MixtureOfGaussiansPrior,
    PriorConfig,
    SwissRollPrior,
    UniformPrior,
    make_prior,
)

N = 50_000


def gen():
    return torch.Generator().manual_seed(0)


@pytest.mark.parametrize("std", [1.0, 5.0])
def test_gaussian_moments(std):
    z = GaussianPrior(8, std=std).sample(N, generator=gen())
    assert z.shape == (N, 8)
    assert z.mean(0).abs().max() < 0.05 * std
    assert torch.allclose(z.std(0), torch.full((8,), std), rtol=0.03)


def test_uniform_has_the_requested_std_and_bounds():
    prior = UniformPrior(3, std=2.0)
    z = prior.sample(N, generator=gen())
    assert z.abs().max() <= prior.half_width
    assert torch.allclose(z.std(0), torch.full((3,), 2.0), rtol=0.03)


def test_mixture_labels_pick_their_component():
    prior = MixtureOfGaussiansPrior(2)
    labels = torch.arange(10).repeat_interleave(2000)
    z = prior.sample(len(labels), labels=labels, generator=gen())
    means = prior.means()
    for k in range(10):
        assert torch.allclose(z[labels == k].mean(0), means[k], atol=0.05)
    # every sample is nearest to its own component's mean
    nearest = torch.cdist(z, means).argmin(1)
    assert (nearest == labels).float().mean() > 0.99


def test_mixture_without_labels_uses_all_components_evenly():
    prior = MixtureOfGaussiansPrior(2)
    z = prior.sample(N, generator=gen())
    counts = torch.bincount(torch.cdist(z, prior.means()).argmin(1), minlength=10).float() / N
    assert (counts - 0.1).abs().max() < 0.01


def test_swiss_roll_segments_are_ordered_along_the_roll():
    prior = SwissRollPrior(2)
    radii = [prior.sample(2000, labels=torch.full((2000,), k), generator=gen()).norm(dim=1).mean() for k in range(10)]
    assert all(a < b for a, b in zip(radii, radii[1:]))


@pytest.mark.parametrize("name", ["mog10", "swissroll"])
def test_two_dimensional_priors_refuse_other_dimensions(name):
    with pytest.raises(ValueError, match="2-D"):
        make_prior(PriorConfig(name=name), 8)


def test_bad_labels_are_refused():
    with pytest.raises(ValueError):
        MixtureOfGaussiansPrior(2).sample(3, labels=torch.tensor([0, 1, 10]))


@pytest.mark.parametrize("prior", [GaussianPrior(2, std=1.5), MixtureOfGaussiansPrior(2), UniformPrior(2)])
def test_log_density_integrates_to_one(prior):
    extent = prior.extent() * 1.5
    xs = torch.linspace(-extent, extent, 600)
    gy, gx = torch.meshgrid(xs, xs, indexing="ij")
    points = torch.stack([gx.reshape(-1), gy.reshape(-1)], 1)
    cell = (xs[1] - xs[0]) ** 2
    assert math.isclose(float(prior.log_density(points).exp().sum() * cell), 1.0, rel_tol=0.02)


def test_gaussian_log_density_matches_torch():
    prior = GaussianPrior(3, std=2.0)
    z = torch.randn(10, 3)
    expected = torch.distributions.Normal(0, 2.0).log_prob(z).sum(1)
    assert torch.allclose(prior.log_density(z), expected, atol=1e-5)


@pytest.mark.parametrize(("name", "contrast"), [("gaussian", 3), ("mog10", 3), ("swissroll", 3), ("uniform", 1.4)])
def test_density_grid_is_normalised_and_peaks_where_samples_are(name, contrast):
    prior = make_prior(PriorConfig(name=name), 2)
    xs, ys, density = prior.density_grid(resolution=60)
    assert density.shape == (60, 60) and float(density.max()) == pytest.approx(1.0)
    z = prior.sample(5000, generator=gen())
    ix = torch.bucketize(z[:, 0].clamp(xs[0], xs[-1]), xs).clamp(max=59)
    iy = torch.bucketize(z[:, 1].clamp(ys[0], ys[-1]), ys).clamp(max=59)
    # samples fall where the plotted density is high, not uniformly over the square
    assert density[iy, ix].mean() > contrast * density.mean()


def test_describe_prior_names_each_prior_as_the_pages_show_it():
    from aae.core.priors import describe_prior

    assert describe_prior(PriorConfig("gaussian", 5.0), 8) == "Gaussian N(0, 5²I)"
    assert describe_prior(PriorConfig("gaussian", 1.0), 2) == "Gaussian N(0, I)"
    assert describe_prior(PriorConfig("mog10", 1.0), 2).startswith("mixture of 10 Gaussians")
    assert describe_prior(PriorConfig("uniform", 1.0), 3) == "uniform on [−1.73, 1.73]^3"
