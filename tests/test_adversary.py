"""The shared pass's discriminator node (aae.core.models.adversary): its written-out backward against autograd's."""

import pytest
import torch
from torch import nn
from torch.nn import functional as F

from aae.core.models.adversary import plain_mlp_layers, shared_adversary
from aae.core.models.blocks import mlp


def _by_autograd(net, z_real, z_fake, weight, real_label):
    """The two backward passes the node replaces: w × gen to the codes only, D's loss to D's weights only."""
    logit_real, logit_fake = net(torch.cat([z_real, z_fake])).squeeze(1).split(len(z_real))
    gen = F.binary_cross_entropy_with_logits(logit_fake, torch.ones_like(logit_fake))
    disc = (F.binary_cross_entropy_with_logits(logit_real, torch.full_like(logit_real, real_label))
            + F.binary_cross_entropy_with_logits(logit_fake, torch.zeros_like(logit_fake)))
    (grad_fake,) = torch.autograd.grad(weight * gen, z_fake, retain_graph=True)
    grads = torch.autograd.grad(disc, list(net.parameters()))
    return gen, disc, grad_fake, grads


@pytest.mark.parametrize("sizes,real_label", [([3, 32, 32, 1], 1.0), ([5, 16, 24, 8, 1], 0.9)])
def test_one_backward_of_the_sum_equals_the_two_routed_backward_passes(sizes, real_label):
    torch.manual_seed(0)
    net = mlp(sizes)
    z_real = torch.randn(40, sizes[0]) * 2
    z_fake = (torch.randn(40, sizes[0]) * 3).requires_grad_()
    gen_ref, disc_ref, grad_fake_ref, grads_ref = _by_autograd(net, z_real, z_fake, 2.5, real_label)

    gen, disc, logit_real, logit_fake = shared_adversary(plain_mlp_layers(net), z_real, z_fake, real_label=real_label)
    torch.testing.assert_close(gen, gen_ref)
    torch.testing.assert_close(disc, disc_ref)
    assert logit_real.shape == logit_fake.shape == (40,)
    (2.5 * gen + disc).backward()
    torch.testing.assert_close(z_fake.grad, grad_fake_ref, rtol=1e-5, atol=1e-7)
    for p, g in zip(net.parameters(), grads_ref):
        assert g.abs().max() > 0
        torch.testing.assert_close(p.grad, g, rtol=1e-5, atol=1e-7)


def test_each_loss_reaches_only_its_own_side():
    """The encoder's loss moves no weight of D; D's loss sends nothing to the codes."""
    torch.manual_seed(1)
    net = mlp([2, 16, 16, 1])
    z_real, z_fake = torch.randn(10, 2), torch.randn(10, 2).requires_grad_()
    gen, disc, _, _ = shared_adversary(plain_mlp_layers(net), z_real, z_fake)
    gen.backward(retain_graph=True)
    assert z_fake.grad.abs().max() > 0
    assert all(p.grad is None or not p.grad.any() for p in net.parameters())
    z_fake.grad = None
    disc.backward()
    assert z_fake.grad is None or not z_fake.grad.any()
    assert all(p.grad.abs().max() > 0 for p in net.parameters())


def test_under_bf16_autocast_the_gradients_follow_autograds_to_bf16_precision():
    torch.manual_seed(2)
    net = mlp([8, 64, 64, 1])
    z_real = torch.randn(50, 8) * 5
    z_fake = (torch.randn(50, 8) * 5).requires_grad_()
    with torch.autocast("cpu", dtype=torch.bfloat16):
        _, _, grad_fake_ref, grads_ref = _by_autograd(net, z_real, z_fake, 1.0, 1.0)
        gen, disc, _, _ = shared_adversary(plain_mlp_layers(net), z_real, z_fake)
    (gen + disc).backward()
    assert z_fake.grad.dtype == torch.float32 and all(p.grad.dtype == torch.float32 for p in net.parameters())
    torch.testing.assert_close(z_fake.grad, grad_fake_ref.float(), rtol=0.05, atol=1e-4)
    for p, g in zip(net.parameters(), grads_ref):
        torch.testing.assert_close(p.grad, g.float(), rtol=0.05, atol=1e-4)


def test_only_a_plain_relu_mlp_ending_in_one_logit_takes_the_written_out_path():
    assert len(plain_mlp_layers(mlp([2, 8, 8, 1]))) == 3
    assert plain_mlp_layers(mlp([2, 8, 8, 3])) is None  # more than one logit
    assert plain_mlp_layers(mlp([2, 8, 1], activation=nn.LeakyReLU)) is None
    assert plain_mlp_layers(nn.Sequential(nn.Linear(2, 8), nn.Dropout(0.1), nn.Linear(8, 1))) is None
