"""CycleGAN between two domains: the 8×8 digits' domain, the model's losses, one epoch through the CLI, and what
`aae eval` reports (class preservation read by the target domain's classifier)."""

from __future__ import annotations

import json
import math

import pytest
import torch
from torch import nn

from aae.core.domains import DIGITS8_SPLIT, digits8_indices, load_digits8, load_domain, pair, upscale_digits8
from aae.core.models.cyclegan import (
    EPS,
    CycleGAN,
    CycleGANConfig,
    adversarial_d_loss,
    adversarial_g_loss,
    cycle_loss,
    translation_grid,
)

TINY = {"channels": 4, "residual_blocks": 1, "disc_channels": 4}


@pytest.fixture(scope="module", autouse=True)
def _one_thread(one_torch_thread):
    yield


# -- domains --------------------------------------------------------------------------------------------

def test_digits8_images_are_28x28_in_unit_range_in_the_mnist_box_with_their_labels():
    from sklearn.datasets import load_digits

    splits = load_digits8(test=True)
    assert (len(splits.train_x), len(splits.val_x), len(splits.test_x)) == DIGITS8_SPLIT == (1197, 300, 300)
    for x, y in ((splits.train_x, splits.train_y), (splits.val_x, splits.val_y), (splits.test_x, splits.test_y)):
        assert x.shape[1:] == (1, 28, 28) and x.dtype == torch.float32 and len(y) == len(x)
        assert x.min() >= 0 and x.max() <= 1 and x.max() > 0.9  # full ink reaches 1
        assert set(y.tolist()) == set(range(10))
    outside = splits.train_x.clone()
    outside[..., 4:24, 4:24] = 0
    assert outside.abs().max() == 0  # nothing outside the centred 20×20 box, where MNIST's digits sit
    # each image is its own 8×8 digit, upscaled, with that digit's label
    digits, (train, _, _) = load_digits(), digits8_indices(0)
    i = int(train[5])
    assert torch.allclose(splits.train_x[5], upscale_digits8(torch.from_numpy(digits.images[i]))[0])
    assert int(splits.train_y[5]) == int(digits.target[i])


def test_upscale_fills_the_box_and_keeps_ink_levels():
    full = upscale_digits8(torch.full((1, 8, 8), 16.0))
    assert full.shape == (1, 1, 28, 28)
    assert torch.allclose(full[0, 0, 4:24, 4:24], torch.ones(20, 20)) and float(full.sum()) == pytest.approx(400)
    assert upscale_digits8(torch.full((8, 8), 8.0))[0, 0, 14, 14] == pytest.approx(0.5)


def test_digits8_splits_are_disjoint_complete_and_seeded():
    train, val, test = digits8_indices(0)
    everything = torch.cat([train, val, test])
    assert len(everything) == 1797 and len(set(everything.tolist())) == 1797
    again = digits8_indices(0)
    assert all(torch.equal(a, b) for a, b in zip((train, val, test), again))
    assert not torch.equal(digits8_indices(1)[0], train)
    assert not torch.equal(load_digits8(seed=1).train_x, load_digits8(seed=0).train_x)


def test_test_images_are_withheld_unless_asked_for():
    from aae.core.data import Splits

    if not hasattr(Splits, "without_test"):
        pytest.skip("this aae.core.data keeps test images in every Splits")
    with pytest.raises(RuntimeError, match="test split"):
        _ = load_digits8().test_x


def test_mnist_domain_and_pairs(data_dir):
    splits = load_domain("mnist", data_dir=data_dir, train_limit=100)
    assert splits.name == "mnist" and splits.train_x.shape == (100, 1, 28, 28) and len(splits.val_x) == 10_000
    assert pair("mnist-digits8").domain("ba") == ("digits8", "mnist") and pair("mnist-digits8").same_classes
    assert not pair("mnist-fashion").same_classes
    assert pair("mnist-digits8").title("ab") == "MNIST → 8×8 digits"
    with pytest.raises(ValueError, match="unknown domain pair"):
        pair("mnist-cifar")
    with pytest.raises(ValueError, match="direction"):
        pair("mnist-digits8").domain("a2b")


# -- losses -----------------------------------------------------------------------------------------------

class Invert(nn.Module):
    def forward(self, x):
        return 1 - x


class Blank(nn.Module):
    def forward(self, x):
        return torch.zeros_like(x)


def model_with(g_ab: nn.Module, g_ba: nn.Module, **config) -> CycleGAN:
    model = CycleGAN(CycleGANConfig(**{**TINY, **config}))
    model.g_ab, model.g_ba = g_ab, g_ba
    gen = torch.Generator().manual_seed(0)
    model.b_train = model.b_val = torch.rand(40, 1, 28, 28, generator=gen)
    return model


def test_cycle_and_identity_terms():
    a = torch.rand(8, 1, 28, 28, generator=torch.Generator().manual_seed(1))
    assert cycle_loss(a, a) == 0 and cycle_loss(a, torch.zeros_like(a)) == pytest.approx(float(a.mean()))
    same = model_with(nn.Identity(), nn.Identity()).phase_loss("generator", a, None).logs
    assert same["cycle"] == 0 and same["identity"] == 0
    # inverting twice comes back (no cycle error) but changes an image of the target domain (identity error)
    inverted = model_with(Invert(), Invert()).phase_loss("generator", a, None).logs
    assert inverted["cycle"] < 1e-6 and inverted["identity"] > 0.5
    half = model_with(nn.Identity(), Invert()).phase_loss("generator", a, None).logs  # one way changes, one not
    assert half["cycle"] > 0.5
    assert "identity" not in model_with(nn.Identity(), nn.Identity(), identity_weight=0.0).phase_loss(
        "generator", a, None).logs


def test_adversarial_losses():
    ones, zeros = torch.ones(4, 49), torch.zeros(4, 49)
    assert adversarial_d_loss(ones, zeros, "lsgan") == 0 and adversarial_g_loss(ones, "lsgan") == 0
    assert adversarial_g_loss(zeros, "lsgan") == 1 and adversarial_d_loss(zeros, ones, "lsgan") == 1
    assert adversarial_d_loss(10 * ones, -10 * ones, "nonsaturating") < 1e-3
    assert adversarial_g_loss(-10 * ones, "nonsaturating") > 9


def test_an_untrained_generator_is_the_identity_and_without_residual_output_it_is_not():
    x = torch.rand(4, 1, 28, 28, generator=torch.Generator().manual_seed(2))
    model = CycleGAN(CycleGANConfig(**TINY))
    assert (model.translate(x, "ab") - x).abs().max() <= EPS + 1e-6
    assert (model.round_trip(x, "ba") - x).abs().max() <= EPS + 1e-6
    scratch = CycleGAN(CycleGANConfig(**TINY, residual_output=False))
    assert (scratch.translate(x, "ab") - x).abs().mean() > 0.05
    deeper = CycleGAN(CycleGANConfig(**TINY, downsamplings=2))  # residual blocks at 7×7, wider
    assert (deeper.translate(x, "ba") - x).abs().max() <= EPS + 1e-6
    assert deeper.g_ab.net[9].body[0].in_channels == 4 * TINY["channels"]
    with pytest.raises(ValueError, match="downsamplings"):
        CycleGAN(CycleGANConfig(**TINY, downsamplings=3))


def test_each_phase_moves_only_its_own_networks_and_d_learns_from_the_generator_pass():
    model = model_with(nn.Identity(), nn.Identity())
    model.g_ab, model.g_ba = CycleGAN(CycleGANConfig(**TINY)).g_ab, CycleGAN(CycleGANConfig(**TINY)).g_ba
    draws = []
    draw = model.domain_b_batch
    model.domain_b_batch = lambda n, device: draws.append(n) or draw(n, device)
    a = torch.rand(6, 1, 28, 28)
    model.phase_loss("generator", a, None).loss.backward()
    assert all(p.grad is None for p in [*model.d_a.parameters(), *model.d_b.parameters()])
    assert any(p.grad is not None and p.grad.abs().sum() > 0 for p in model.g_ab.parameters())
    model.zero_grad(set_to_none=True)
    model.phase_loss("discriminator", a, None).loss.backward()
    assert all(p.grad is None for p in [*model.g_ab.parameters(), *model.g_ba.parameters()])
    assert draws == [6]  # D saw the same B batch and translations as the generator step


def test_the_semantic_term_asks_the_first_domains_classifier_to_read_each_translation_as_its_label(data_dir):
    """CyCADA's semantic consistency: with a weight, domain A's shipped classifier reads A's translations into B
    and their cross-entropy against A's labels joins the generators' loss; it is not part of the saved model."""
    from aae.core.data import load_dataset

    splits = load_dataset("mnist", data_dir=data_dir, train_limit=200)
    a, labels = splits.train_x[:50].reshape(-1, 1, 28, 28), splits.train_y[:50]
    model = CycleGAN(CycleGANConfig(**TINY, semantic_weight=2.0))
    with pytest.raises(RuntimeError, match="prepare_training"):
        model.phase_loss("generator", a, labels)
    model.prepare_training(splits, seed=0)
    torch.manual_seed(0)
    right = model.phase_loss("generator", a, labels)
    torch.manual_seed(0)
    wrong = model.phase_loss("generator", a, (labels + 1) % 10)
    # an untrained generator is the identity: the classifier reads MNIST's digits as their labels, not the next
    assert right.logs["semantic"] < 0.2 < 2.0 < wrong.logs["semantic"]
    assert float((wrong.loss - right.loss).detach()) == pytest.approx(
        2.0 * float(wrong.logs["semantic"] - right.logs["semantic"]), rel=1e-4)
    assert "semantic" not in model_with(nn.Identity(), nn.Identity()).phase_loss("generator", a, labels).logs
    assert not [k for k in model.state_dict() if "judge" in k]  # the classifier is not saved with the model
    wrong.loss.backward()
    assert any(p.grad is not None and p.grad.abs().sum() > 0 for p in model.g_ab.parameters())
    with pytest.raises(ValueError, match="semantic_weight"):
        CycleGAN(CycleGANConfig(**TINY, semantic_weight=-1.0))


def test_the_target_class_term_reads_translations_with_a_second_domain_classifier_not_the_evaluations(data_dir):
    """With a target class weight, a classifier of domain B (the 8×8 digits), trained with another seed than the one
    `aae eval` reads with, reads A's translations into B against A's labels; pairs without shared classes refuse."""
    import aae.core.metrics.translation as translation
    from aae.core.data import load_dataset

    splits = load_dataset("mnist", data_dir=data_dir, train_limit=200)
    a, labels = splits.train_x[:50].reshape(-1, 1, 28, 28), splits.train_y[:50]
    model = CycleGAN(CycleGANConfig(**TINY, target_class_weight=3.0))
    with pytest.raises(RuntimeError, match="prepare_training"):
        model.phase_loss("generator", a, labels)
    model.prepare_training(splits, seed=0)
    judge = model._judge["b"]
    assert translation.JUDGE_SEED != 0 and judge is not translation.digits8_classifier(0)
    assert not any(p.requires_grad for p in judge.parameters())
    torch.manual_seed(0)
    right = model.phase_loss("generator", a, labels)
    torch.manual_seed(0)
    wrong = model.phase_loss("generator", a, (labels + 1) % 10)
    assert right.logs["target_class"] < wrong.logs["target_class"]
    assert float((wrong.loss - right.loss).detach()) == pytest.approx(
        3.0 * float(wrong.logs["target_class"] - right.logs["target_class"]), rel=1e-4)
    assert "semantic" not in right.logs and not [k for k in model.state_dict() if "judge" in k]
    wrong.loss.backward()
    assert any(p.grad is not None and p.grad.abs().sum() > 0 for p in model.g_ab.parameters())
    with pytest.raises(ValueError, match="same classes"):
        CycleGAN(CycleGANConfig(**TINY, pair="mnist-fashion", target_class_weight=1.0))
    with pytest.raises(ValueError, match="target_class_weight"):
        CycleGAN(CycleGANConfig(**TINY, target_class_weight=-1.0))


def test_resize_upsampling_grows_the_image_without_transposed_convolutions():
    x = torch.rand(4, 1, 28, 28, generator=torch.Generator().manual_seed(3))
    for downsamplings in (1, 2):
        model = CycleGAN(CycleGANConfig(**TINY, upsampling="resize", downsamplings=downsamplings))
        assert not [m for m in model.modules() if isinstance(m, nn.ConvTranspose2d)]
        assert (model.translate(x, "ab") - x).abs().max() <= EPS + 1e-6  # still starts as the identity
        model.g_ab.net[-1].weight.data.normal_()
        assert model.translate(x, "ab").shape == x.shape
    with pytest.raises(ValueError, match="upsampling"):
        CycleGAN(CycleGANConfig(**TINY, upsampling="bilinear"))


def test_training_refuses_the_wrong_dataset_and_validation_draws_fixed_images():
    from aae.core.data import Splits

    model = CycleGAN(CycleGANConfig(**TINY))
    x = torch.rand(4, 1, 28, 28)
    with pytest.raises(ValueError, match="--dataset mnist"):
        model.prepare_training(Splits("fashion-mnist", x, torch.zeros(4), x, torch.zeros(4)), seed=0)
    model.prepare_training(Splits("mnist", x, torch.zeros(4), x, torch.zeros(4)), seed=0)
    assert len(model.b_train) == 1197 and len(model.b_val) == 300
    model.eval()
    assert torch.equal(model.domain_b_batch(5, torch.device("cpu")), model.b_val[:5])
    model.train()
    torch.manual_seed(0)
    first = model.domain_b_batch(5, torch.device("cpu"))
    torch.manual_seed(0)
    assert torch.equal(model.domain_b_batch(5, torch.device("cpu")), first)  # seeded by the trainer's epoch seed


# -- through the CLI ---------------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def trained(tmp_path_factory, data_dir):
    from aae.cli import main

    out = tmp_path_factory.mktemp("cyclegan") / "cg"
    args = ["train", "--model", "cyclegan", "--epochs", "1", "--train-limit", "2000", "--data-dir", str(data_dir),
            "--out", str(out), "--quiet", *(f"--{k.replace('_', '-')}={v}" for k, v in TINY.items())]
    assert main(args) == 0
    return out


def test_one_epoch_through_the_cli_gives_a_finite_translation_grid(trained, data_dir):
    from aae.core.checkpoints import load_checkpoint

    checkpoint = load_checkpoint(trained)
    model, card = checkpoint.model, checkpoint.card
    assert card["kind"] == "cyclegan" and card["training"]["epochs"] == 1 and card["dataset"]["train_images"] == 2000
    assert math.isfinite(card["training"]["history"][-1]["val_cycle"])
    assert model.g_ab.net[-1].weight.abs().sum() > 0  # trained: the last layer left its zero start
    for direction, domain in (("ab", "mnist"), ("ba", "digits8")):
        x = load_domain(domain, data_dir=data_dir).val_x[:10]
        grid = translation_grid(model, x, direction)
        assert grid.shape == (30, 1, 28, 28) and torch.isfinite(grid).all()
        assert grid.min() >= 0 and grid.max() <= 1 and torch.equal(grid[:10], x)


def test_aae_eval_reports_class_preservation_both_ways(trained, capsys):
    from aae.cli import main
    from aae.core import catalog
    from aae.core.metrics.evaluate import METRICS

    capsys.readouterr()
    assert main(["eval", str(trained), "--json"]) == 0
    row = json.loads(capsys.readouterr().out)[trained.name]
    expected = set(catalog.entry("cyclegan").metrics)
    assert expected <= set(row) and expected <= set(METRICS)
    assert {k for k in row if k.startswith("class_preservation")} == {
        f"class_preservation{part}_{way}" for part in ("", "_untranslated", "_matched") for way in ("ab", "ba")} | {
        "class_preservation_pixels_ab"}  # a second reader where the target is the 8×8 digits
    assert all(0 <= row[k] <= 1 for k in expected if k.startswith(("class_", "translation_conf")))
    assert all(math.isfinite(row[k]) for k in expected)
    # one epoch of tiny generators barely moves them: translating changes little of what the classifier reads
    assert abs(row["class_preservation_ba"] - row["class_preservation_untranslated_ba"]) < 0.1
    assert sum(map(sum, row["translation_confusion_ab"])) == row["data"]["test_images"] == 10_000


def test_class_preservation_reads_the_translations(data_dir):
    """Identity translation keeps exactly what the untranslated images score; a translator to blank images keeps
    about one class in ten."""
    from aae.core.metrics.translation import direction_report, naive_margin

    model = CycleGAN(CycleGANConfig(**TINY))
    model.g_ba = nn.Identity()
    same = direction_report(model, "ba", split="val", data_dir=data_dir)
    assert same.preservation == same.preservation_untranslated > 0.5 and same.images == 300
    assert naive_margin({"class_preservation_ba": 0.9, "class_preservation_untranslated_ba": 0.8}) == \
        pytest.approx(0.1)
    model.g_ba = Blank()
    worst = direction_report(model, "ba", split="val", data_dir=data_dir)
    assert worst.preservation < 0.25 and worst.preservation_matched < 0.25
    assert worst.confusion.sum() == 300 and (worst.confusion.sum(dim=0) > 0).sum() == 1  # one class for all


def test_a_sweeps_figures_of_a_cyclegan_read_the_validation_images_of_both_domains(data_dir):
    """A sweep chooses on validation: its figures for a CycleGAN are the validation images' reports, not the test
    images' (which `aae eval` of a finished model reads)."""
    from aae.core.data import load_dataset
    from aae.core.metrics.translation import direction_report
    from aae.lab.sweep import SweepPlan, _metric, validation_figures

    model = CycleGAN(CycleGANConfig(**TINY))
    model.g_ab, model.g_ba = nn.Identity(), nn.Identity()
    figures = validation_figures(model, load_dataset("mnist", data_dir=data_dir))
    for direction in ("ab", "ba"):
        val = direction_report(model, direction, split="val", data_dir=data_dir)
        assert figures[f"val_class_preservation_{direction}"] == pytest.approx(val.preservation)
        assert figures[f"val_class_preservation_untranslated_{direction}"] == pytest.approx(
            val.preservation_untranslated)
    # the 8×8 classifier reads MNIST's 10,000 test digits differently from its 10,000 validation digits
    test = direction_report(model, "ab", split="test", data_dir=data_dir)
    assert figures["val_class_preservation_ab"] != pytest.approx(test.preservation, abs=1e-4)
    # without --metric, a sweep or `aae seeds` of a CycleGAN picks by the 8×8 digits read by MNIST's classifier
    plan = SweepPlan("cyclegan-mnist-digits8", {}, {}, [0])
    assert _metric(plan, figures) == "val_class_preservation_ba"
    with pytest.raises(ValueError, match="--metric"):
        _metric(plan, {"val_cycle_error_ab": 0.1})


def test_a_reader_of_another_kind_reads_translations_into_the_8x8_digits(trained, data_dir):
    """Beside the CNN, `aae eval` reads MNIST → 8×8 translations with a support-vector machine on the 8×8 grid, which
    a translation trained against a CNN judge cannot have been tuned to. It reads the 8×8 validation digits
    themselves as their classes; the eval figure is its reading of the translations."""
    from aae.core.checkpoints import load_checkpoint
    from aae.core.metrics.translation import direction_report, pixel_reader

    digits = load_domain("digits8", data_dir=data_dir)
    assert float((pixel_reader(digits.val_x) == digits.val_y).float().mean()) > 0.97
    model = load_checkpoint(trained).model
    report = direction_report(model, "ab", split="val", data_dir=data_dir, limit=300)
    translated = model.translate(load_domain("mnist", data_dir=data_dir).val_x[:300].reshape(-1, 1, 28, 28), "ab")
    expected = float((pixel_reader(translated) == report.labels).float().mean())
    assert report.metrics()["class_preservation_pixels_ab"] == pytest.approx(expected)
    assert "class_preservation_pixels_ba" not in direction_report(model, "ba", split="val", data_dir=data_dir,
                                                                  limit=50).metrics()
