import math

import pytest
import torch

from aae.explore import cycled_labels, latent_range, plane_density
from aae.priors import PriorConfig, make_prior


@pytest.mark.parametrize("name", ["gaussian", "uniform"])
def test_plane_density_of_a_factorised_prior_is_its_2d_marginal(name):
    high = make_prior(PriorConfig(name, 2.0), 8)
    low = make_prior(PriorConfig(name, 2.0), 2)
    xs, ys, density = plane_density(high, resolution=40)
    xs2, ys2, density2 = low.density_grid(extent=high.extent(), resolution=40)
    assert density.shape == (40, 40) and torch.allclose(xs, xs2) and torch.allclose(ys, ys2)
    assert torch.allclose(density, density2)
    assert float(density.max()) == pytest.approx(1.0)


def test_plane_density_of_a_2d_prior_is_its_density_grid():
    prior = make_prior(PriorConfig("mog10", 1.0), 2)
    _, _, density = plane_density(prior, extent=3.0, resolution=30)
    assert torch.allclose(density, prior.density_grid(extent=3.0, resolution=30)[2])
    # a mixture on a ring: nothing at the centre, its peaks away from it
    assert density[15, 15] < 0.01 and density.max() == pytest.approx(1.0)


def test_latent_range_follows_the_prior_scale():
    assert latent_range(make_prior(PriorConfig("gaussian", 5.0), 8)) == pytest.approx(15.0)
    assert latent_range(make_prior(PriorConfig("uniform", 1.0), 3)) == pytest.approx(math.sqrt(3))
    mog = make_prior(PriorConfig("mog10", 1.0), 2)
    assert latent_range(mog) == pytest.approx(mog.extent())
    # nearly all of a mixture's samples lie inside the range
    z = mog.sample(2000, generator=torch.Generator().manual_seed(0))
    assert (z.abs() <= latent_range(mog)).float().mean() > 0.99


def test_cycled_labels_make_columns_classes():
    labels = cycled_labels(25)
    assert labels.tolist()[:12] == [0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 0, 1]
    assert labels.shape == (25,) and labels.max() == 9
    assert (cycled_labels(40).reshape(4, 10) == torch.arange(10)).all()
