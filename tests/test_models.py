"""Configurations of the AAE, VAE and GAN beyond the tiny one per kind that tests/test_model_kinds.py runs
(other encoders, priors, label regularisation, convolutional generators, feature matching), and what each
of these models' losses do."""

import pytest
import torch

from aae.core.models import AAEConfig, GANConfig, VAEConfig, build_model, config_from_dict
from aae.core.models.wgan import WGANGPConfig
from aae.core.priors import PriorConfig

SMALL = 32  # hidden width for fast tests

pytestmark = pytest.mark.usefixtures("one_torch_thread")

CONFIGS = {
    "aae-deterministic": ("aae", AAEConfig(latent_dim=4, hidden=SMALL)),
    "aae-gaussian": ("aae", AAEConfig(latent_dim=4, hidden=SMALL, encoder="gaussian")),
    "aae-universal": ("aae", AAEConfig(latent_dim=4, hidden=SMALL, encoder="universal")),
    "aae-mog10-labels": ("aae", AAEConfig(latent_dim=2, hidden=SMALL, prior=PriorConfig("mog10"),
                                          label_regularized=True)),
    "aae-swissroll-labels": ("aae", AAEConfig(latent_dim=2, hidden=SMALL, prior=PriorConfig("swissroll"),
                                              label_regularized=True)),
    "aae-uniform": ("aae", AAEConfig(latent_dim=3, hidden=SMALL, prior=PriorConfig("uniform"))),
    "vae": ("vae", VAEConfig(latent_dim=4, hidden=SMALL)),
    "gan": ("gan", GANConfig(latent_dim=16, generator_hidden=(32, 64), disc_channels=8)),
    "gan-conv": ("gan", GANConfig(latent_dim=16, generator="conv", generator_channels=16, disc_channels=8)),
    "gan-feature-matching": ("gan", GANConfig(latent_dim=16, generator_hidden=(32, 64), disc_channels=8,
                                              feature_matching=1.0)),
    "wgan-gp-conv": ("wgan-gp", WGANGPConfig(latent_dim=16, generator="conv", generator_channels=16,
                                             critic_channels=8)),
}
# The configurations that tests/test_model_kinds.py's tiny ones do not already run through the same checks.
VARIANTS = sorted(set(CONFIGS) - {"aae-deterministic", "vae", "gan"})


@pytest.fixture(params=VARIANTS)
def model(request):
    torch.manual_seed(0)
    kind, config = CONFIGS[request.param]
    return build_model(kind, config)


@pytest.fixture
def batch():
    torch.manual_seed(1)
    return torch.rand(16, 1, 28, 28), torch.arange(16) % 10


def test_sample_and_decode_shapes(model):
    z = model.sample_latent(6, labels=torch.arange(6))
    assert z.shape == (6, model.latent_dim)
    images = model.sample(6, labels=torch.arange(6))
    assert images.shape == (6, 1, 28, 28)
    assert images.min() >= 0 and images.max() <= 1


def test_encode_shapes(model, batch):
    if not model.has_encoder:
        with pytest.raises(NotImplementedError):
            model.encode(batch[0])
        return
    z = model.encode(batch[0])
    assert z.shape == (16, model.latent_dim) and not z.requires_grad
    assert model.reconstruct(batch[0]).shape == (16, 1, 28, 28)


def test_every_phase_gives_a_finite_loss_with_gradients_only_where_it_should(model, batch):
    for phase in model.phases(1e-3):
        model.zero_grad(set_to_none=True)
        out = model.phase_loss(phase.name, *batch)
        assert out.loss.dim() == 0 and torch.isfinite(out.loss)
        assert out.logs and all(torch.isfinite(torch.as_tensor(v)) for v in out.logs.values())
        out.loss.backward()
        moved = {id(p) for p in model.parameters() if p.grad is not None and p.grad.abs().sum() > 0}
        own = {id(p) for p in phase.parameters}
        assert moved and moved <= own, f"phase {phase.name} sent gradients outside its parameters"


def _fixed_batch_loss_after_steps(model, phase_name, batch, steps):
    phase = next(p for p in model.phases(1e-3) if p.name == phase_name)
    optimizer = torch.optim.Adam(phase.parameters, lr=phase.lr)
    torch.manual_seed(2)
    before = model.phase_loss(phase_name, *batch).loss.item()
    for _ in range(steps):
        optimizer.zero_grad()
        model.phase_loss(phase_name, *batch).loss.backward()
        optimizer.step()
    torch.manual_seed(2)
    return before, model.phase_loss(phase_name, *batch).loss.item()


@pytest.mark.parametrize("name", ["aae-deterministic", "aae-gaussian", "aae-universal", "vae"])
def test_a_step_lowers_the_reconstruction_loss_on_a_fixed_batch(name, batch):
    torch.manual_seed(0)
    kind, config = CONFIGS[name]
    model = build_model(kind, config)
    phase = "elbo" if kind == "vae" else "reconstruction"
    before, after = _fixed_batch_loss_after_steps(model, phase, batch, steps=1)
    assert after < before


def test_aae_discriminator_phase_learns_to_tell_the_prior_from_codes_far_from_it():
    """Steps of the discriminator phase alone (its own loss, on the encoder's codes of real-sized batches) take D
    from chance to telling prior draws from codes that sit away from the prior."""
    torch.manual_seed(0)
    model = build_model("aae", AAEConfig(latent_dim=2, hidden=64, prior=PriorConfig("gaussian", std=1.0)))
    with torch.no_grad():
        model.encoder.net[-1].bias.fill_(3.0)  # q(z) away from the prior
    x, y = torch.rand(64, 1, 28, 28), torch.zeros(64, dtype=torch.long)
    phase = next(p for p in model.phases(1e-3) if p.name == "discriminator")
    optimizer = torch.optim.Adam(phase.parameters, lr=1e-3, betas=phase.betas)
    first = float(model.phase_loss("discriminator", x, y).logs["disc_acc"])
    for _ in range(100):  # over seeds 0-2 the accuracy passed 0.95 within 40 steps
        optimizer.zero_grad()
        model.phase_loss("discriminator", x, y).loss.backward()
        optimizer.step()
    with torch.no_grad():
        last = float(model.phase_loss("discriminator", x, y).logs["disc_acc"])
    assert first < 0.8 and last > 0.95, (first, last)


def test_aae_generator_phase_moves_codes_towards_the_prior():
    """The regularisation phases together pull q(z) onto p(z): the mean code shrinks towards 0."""
    torch.manual_seed(0)
    model = build_model("aae", AAEConfig(latent_dim=2, hidden=64, prior=PriorConfig("gaussian", std=1.0)))
    with torch.no_grad():
        model.encoder.net[-1].bias.fill_(4.0)  # start q(z) far from the prior
    x, y = torch.rand(128, 1, 28, 28), torch.zeros(128, dtype=torch.long)
    optimizers = {p.name: torch.optim.Adam(p.parameters, lr=1e-3, betas=p.betas) for p in model.phases(2e-3)}
    start = model.encode(x).mean(0).norm()
    for _ in range(150):
        for name in ("discriminator", "generator"):
            optimizers[name].zero_grad()
            model.phase_loss(name, x, y).loss.backward()
            optimizers[name].step()
    assert model.encode(x).mean(0).norm() < 0.5 * start


def test_label_regularised_discriminator_judges_a_code_with_its_label():
    """With label regularisation D sees (z, one-hot label): one code, two labels, two verdicts."""
    torch.manual_seed(0)
    model = build_model("aae", CONFIGS["aae-mog10-labels"][1]).eval()
    z = model.sample_latent(8, labels=torch.full((8,), 3))
    eye = torch.eye(10)
    with torch.no_grad():
        as_three, as_seven = model.discriminator(z, eye[[3] * 8]), model.discriminator(z, eye[[7] * 8])
    assert (as_three - as_seven).abs().min() > 1e-4


def test_label_regularisation_needs_a_prior_with_parts():
    with pytest.raises(ValueError, match="mog10 or swissroll"):
        build_model("aae", AAEConfig(latent_dim=2, label_regularized=True))


def test_vae_refuses_a_non_gaussian_prior():
    with pytest.raises(ValueError, match="Gaussian"):
        VAEConfig(latent_dim=2, prior=PriorConfig("mog10"))


def test_vae_kl_is_zero_when_the_posterior_is_the_prior():
    model = build_model("vae", VAEConfig(latent_dim=3, hidden=SMALL, prior=PriorConfig("gaussian", std=2.0)))
    with torch.no_grad():
        last = model.encoder.net[-1]
        last.weight.zero_()
        last.bias.copy_(torch.tensor([0.0, 0, 0] + [2 * torch.log(torch.tensor(2.0)).item()] * 3))  # μ=0, σ=2
    out = model.phase_loss("elbo", torch.rand(4, 1, 28, 28), torch.zeros(4, dtype=torch.long))
    assert abs(out.logs["kl"]) < 1e-5


@pytest.mark.parametrize("name", ["gan", "gan-conv"])
def test_a_generator_step_makes_d_rate_the_generators_images_as_more_real(name, batch):
    """One step of the generator phase (its own loss, D held fixed) raises D's verdict on the images the generator
    then writes for the same noise, for both generator kinds."""
    torch.manual_seed(0)
    model = build_model(*CONFIGS[name]).eval()  # eval: no dropout, fixed batch-norm statistics
    phase = next(p for p in model.phases(1e-3) if p.name == "generator")
    optimizer = torch.optim.Adam(phase.parameters, lr=1e-3, betas=phase.betas)
    z = model.sample_latent(16, generator=torch.Generator().manual_seed(3))

    def verdict() -> float:
        with torch.no_grad():
            return float(model.discriminator(model.decode(z)).mean())

    before = verdict()
    optimizer.zero_grad()
    torch.manual_seed(3)  # the phase draws its noise from the global generator: the same z as above
    model.phase_loss("generator", *batch).loss.backward()
    optimizer.step()
    assert verdict() > before


def test_feature_matching_pulls_the_fakes_features_towards_the_real_batch(batch):
    """Generator steps with feature matching shrink the gap between the batch means of D's features on
    fakes and on the real batch; the plain GAN reports no such term."""
    torch.manual_seed(0)
    model = build_model(*CONFIGS["gan-feature-matching"])
    phase = next(p for p in model.phases(1e-3) if p.name == "generator")
    optimizer = torch.optim.Adam(phase.parameters, lr=1e-3)

    def gap() -> float:
        torch.manual_seed(3)  # the same noise z every time
        return model.phase_loss("generator", *batch).logs["feat_match"]

    before = gap()
    for _ in range(20):
        optimizer.zero_grad()
        torch.manual_seed(3)
        model.phase_loss("generator", *batch).loss.backward()
        optimizer.step()
    assert gap() < 0.5 * before
    assert "feat_match" not in build_model(*CONFIGS["gan"]).phase_loss("generator", *batch).logs


def test_unknown_config_fields_are_refused():
    with pytest.raises(ValueError, match="unknown fields"):
        config_from_dict("aae", {"latent_dim": 2, "colour": "red"})


def test_the_aae_shares_one_encoder_pass_between_reconstruction_and_generator(batch):
    """The joint step's loss (aae.core.training's default) equals the two phases' losses summed, from one encoder pass:
    the same value and the same gradients, computed with the encoder run once."""
    from aae.core.models.base import LatentModel

    x, y = batch
    torch.manual_seed(0)
    model = build_model("aae", AAEConfig(latent_dim=4, hidden=32))
    calls = []
    model.encoder.register_forward_hook(lambda *_: calls.append(1))
    shared = model.joint_loss("reconstruction", (("generator", 0.7),), x, y)
    assert len(calls) == 1
    summed = LatentModel.joint_loss(model, "reconstruction", (("generator", 0.7),), x, y)
    assert len(calls) == 3  # the plain sum encodes x once per phase
    torch.testing.assert_close(shared.loss, summed.loss)
    assert set(shared.logs) == set(summed.logs)
    grads = torch.autograd.grad(shared.loss, list(model.encoder.parameters()))
    expected = torch.autograd.grad(summed.loss, list(model.encoder.parameters()))
    for g, e in zip(grads, expected):
        torch.testing.assert_close(g, e)
    model.joint_loss("reconstruction", (("generator", 0.7),), x, y).loss.backward()
    assert all(p.grad is None for p in model.discriminator.parameters())  # D is held fixed in the generator term
    assert all(p.grad is not None for p in model.encoder.parameters())
