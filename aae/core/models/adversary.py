"""The shared regularisation pass of an AAE's discriminator, with its backward pass written out.

Under `shared` regularisation one pass of D over [z ~ p(z); z = encoder(x)] gives two losses: D's own,
−[log D(z_p) + log(1 − D(z))], which trains D alone, and the encoder's non-saturating −log D(z), which trains the
encoder through a fixed D. Autograd back-propagates them one after the other, so the gradient of D's logit runs
down D's hidden layers twice for the encoder's codes. Below the logit D is linear in that gradient row by row
(the ReLU masks are fixed by the forward pass), so one descent serves both: it carries, for each code, the
gradient of the logit itself, J, and each loss scales J by its own derivative at that row's logit. That saves one
(B × hidden) · (hidden × hidden) product per step, about 6 % of the paper's 8-D AAE step.

The function returns both losses from one node and routes their gradients: D's loss reaches D's weights only,
the encoder's loss reaches the codes only. One backward of their sum is then the two backward passes of
`backward(inputs=…)`, to float tolerance (tests/test_training.py checks it against autograd).
"""

from __future__ import annotations

import torch
from torch import nn
from torch.nn import functional as F

from aae.core.models.blocks import discriminator_loss, generator_loss


def plain_mlp_layers(net: nn.Sequential) -> list[nn.Linear] | None:
    """The Linear layers of `net` when it is Linear, ReLU, …, Linear ending in one output; otherwise None."""
    layers = list(net)
    linears, relus = layers[0::2], layers[1::2]
    if not linears or len(linears) != len(relus) + 1 or linears[-1].out_features != 1:
        return None
    if not all(type(m) is nn.Linear for m in linears) or not all(type(m) is nn.ReLU for m in relus):
        return None
    if any(m.bias is None for m in linears):
        return None
    return linears


class _SharedAdversary(torch.autograd.Function):
    """(z_real, z_fake, real_label, W₁, b₁, …, W_L, b_L) → (generator loss, D loss, D's logits on both halves)."""

    generate_vmap_rule = True  # several seeds as one model (aae.core.batched) vmaps over this function

    @staticmethod
    def forward(z_real, z_fake, real_label, *weights):
        # each layer's input: both halves, then each hidden layer's output (after its ReLU, which is also its mask)
        inputs = [torch.cat([z_real, z_fake])]
        n_layers = len(weights) // 2
        for i in range(n_layers):
            a = F.linear(inputs[-1], weights[2 * i], weights[2 * i + 1])
            if i < n_layers - 1:
                inputs.append(torch.relu(a))
        logit_real, logit_fake = a.squeeze(1).float().split(z_real.shape[0])
        disc, _ = discriminator_loss(logit_real, logit_fake, real_label=real_label)
        gen, _ = generator_loss(logit_fake)
        return (gen, disc, logit_real, logit_fake, *inputs)

    @staticmethod
    def setup_context(ctx, inputs, output):
        _, z_fake, real_label, *weights = inputs
        _, _, logit_real, logit_fake, *layer_inputs = output
        ctx.real_label = real_label
        ctx.fake_dtype = z_fake.dtype
        ctx.mark_non_differentiable(logit_real, logit_fake, *layer_inputs)
        ctx.set_materialize_grads(False)  # no zero gradients built for the outputs nothing differentiates
        ctx.save_for_backward(logit_real, logit_fake, *layer_inputs, *weights)
        ctx.n_layers = len(layer_inputs)

    @staticmethod
    def backward(ctx, g_gen, g_disc, *_):
        logit_real, logit_fake, *rest = ctx.saved_tensors
        inputs, weights = rest[:ctx.n_layers], rest[ctx.n_layers:]
        hidden = inputs[1:]
        W, b = weights[0::2], weights[1::2]
        n = logit_fake.shape[0]
        dt = hidden[0].dtype  # the dtype the products ran in (bf16 under autocast)
        # d loss / d logit, per row (each BCE is a mean over its half)
        sig_fake, sig_real = torch.sigmoid(logit_fake), torch.sigmoid(logit_real)
        g_gen = 0.0 if g_gen is None else g_gen
        g_disc = 0.0 if g_disc is None else g_disc
        u_gen = g_gen * (sig_fake - 1) / n
        u_disc = torch.cat([g_disc * (sig_real - ctx.real_label), g_disc * sig_fake]) / n
        # V: rows 0..n-1 carry D's loss's gradient (real half), rows n..2n-1 the bare J (fake half); scaling
        # the fake rows by u_disc gives D's gradient there, by u_gen the encoder's.
        carry = torch.cat([u_disc[:n], torch.ones_like(u_disc[n:])])
        d_scale = torch.cat([torch.ones_like(u_disc[:n]), u_disc[n:]]).to(dt)[:, None]
        grads_w: list[torch.Tensor | None] = [None] * len(weights)
        last = len(W) - 1
        inputs = [inputs[0].to(dt), *hidden]
        grads_w[2 * last] = (u_disc.to(dt)[None, :] @ inputs[last]).to(W[last].dtype)
        grads_w[2 * last + 1] = u_disc.sum().reshape(1).to(b[last].dtype)
        v = carry.to(dt)[:, None] * W[last].to(dt)  # (2n, width): gradient at the last hidden layer's output
        grad_fake = None
        for k in range(last - 1, -1, -1):
            # through the ReLU (one pass, as autograd's own): now the gradient at layer k's pre-activation
            v = torch.ops.aten.threshold_backward(v, hidden[k], 0)
            # D's gradient, (d_scale ⊙ v)ᵀ · input: the row scale goes on the narrower side (D's 8-D input)
            if inputs[k].shape[1] < v.shape[1]:
                grad_w = v.t() @ (d_scale * inputs[k])
            else:
                grad_w = (d_scale * v).t() @ inputs[k]
            grads_w[2 * k] = grad_w.to(W[k].dtype)
            grads_w[2 * k + 1] = (v.t() @ d_scale[:, 0]).to(b[k].dtype)
            if k > 0:
                v = v @ W[k].to(dt)
            else:
                grad_fake = ((u_gen.to(dt)[:, None] * v[n:]) @ W[0].to(dt)).to(ctx.fake_dtype)
        return (None, grad_fake, None, *grads_w)


def shared_adversary(layers: list[nn.Linear], z_real: torch.Tensor, z_fake: torch.Tensor, *,
                     real_label: float = 1.0) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor]:
    """(generator loss, D loss, logit_real, logit_fake) of an MLP discriminator `layers` over one pass of both
    halves; the losses' gradients are routed (module docstring): back-propagate their sum once."""
    weights = [t for layer in layers for t in (layer.weight, layer.bias)]
    gen, disc, logit_real, logit_fake, *_ = _SharedAdversary.apply(z_real, z_fake, real_label, *weights)
    return gen, disc, logit_real, logit_fake
