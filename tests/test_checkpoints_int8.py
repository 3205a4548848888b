"""int8 weight storage in aae.core.checkpoints: round trip, what stays float16, size and decoding of a real model."""

from __future__ import annotations

import pytest
import torch
from safetensors.torch import load_file

from aae.core.checkpoints import dequantize, load_checkpoint, model_weights, quantize_int8, save_checkpoint

pytestmark = pytest.mark.usefixtures("one_torch_thread")



# -- int8 weights -----------------------------------------------------------------------------------------
def test_quantize_int8_round_trip_is_within_half_a_step_per_row():
    """Per-row symmetric int8: each element within max|row|/254 (half a step; the float16 scale may add
    at most one float16 rounding, 2⁻¹¹ relative)."""
    weight = torch.randn(64, 300, generator=torch.Generator().manual_seed(0)) * torch.logspace(-3, 1, 64)[:, None]
    q, scale = quantize_int8(weight)
    assert q.dtype == torch.int8 and q.shape == weight.shape and q.abs().max() <= 127
    assert scale.dtype == torch.float16 and scale.shape == (64,)
    restored = dequantize({"w": q, "w" + ".int8_scale": scale})
    assert set(restored) == {"w"} and restored["w"].dtype == torch.float32
    bound = weight.abs().amax(dim=1, keepdim=True) / 254 * (1 + 2 ** -10)
    assert ((restored["w"] - weight).abs() <= bound).all()
    assert (q.abs().amax(dim=1) >= 126).all()  # each row uses the whole range
    conv = torch.randn(8, 3, 5, 5, generator=torch.Generator().manual_seed(1))  # conv kernels: one scale per filter
    q, scale = quantize_int8(conv)
    assert scale.shape == (8,)
    restored = dequantize({"k": q, "k.int8_scale": scale})["k"]
    assert ((restored - conv).abs() <= conv.flatten(1).abs().amax(1).view(-1, 1, 1, 1) / 254 * (1 + 2 ** -10)).all()


def test_model_weights_int8_keeps_small_tensors_in_float16_and_refuses_unknown_dtypes(tiny_semi):
    weights = model_weights(tiny_semi, inference_only=True, dtype="int8")
    assert weights["encoder.net.0.weight"].dtype == torch.int8  # 64 × 784
    assert weights["encoder.net.0.weight.int8_scale"].shape == (64,)
    assert weights["encoder.net.0.bias"].dtype == torch.float16
    assert not any(k.startswith(("style_discriminator", "category_discriminator")) for k in weights)
    with pytest.raises(ValueError, match="unknown weights dtype"):
        model_weights(tiny_semi, dtype="int4")


def test_int8_checkpoint_is_smaller_than_float16_and_decodes_closely(tmp_path, tiny_semi, small_splits):
    half = save_checkpoint(tmp_path / "half", tiny_semi, inference_only=True, dtype="float16")
    int8 = save_checkpoint(tmp_path / "int8", tiny_semi, inference_only=True, dtype="int8")
    size = lambda p: (p / "model.safetensors").stat().st_size  # noqa: E731
    assert size(int8) < 0.6 * size(half)
    assert load_file(str(int8 / "model.safetensors"))["decoder.net.4.weight"].dtype == torch.int8

    loaded = load_checkpoint(int8)
    assert loaded.card["weights"] == {"dtype": "int8", "inference_only": True, "resumable": False}
    assert loaded.optimizer_state is None and loaded.model.kind == "semi"
    tiny_semi.eval()
    z = tiny_semi.sample_latent(50, generator=torch.Generator().manual_seed(0))
    labels = torch.arange(50) % 10
    reference = tiny_semi.decode(z, labels)
    assert (loaded.model.decode(z, labels) - reference).abs().max() < 0.01  # measured ~0.001
    assert (loaded.model.decode(z, labels) - reference).abs().mean() < 0.001  # measured ~0.0001
    x = small_splits.test_x[:100]
    agree = (loaded.model.classify(x) == tiny_semi.classify(x)).float().mean()
    assert agree >= 0.95


