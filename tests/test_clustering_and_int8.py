"""Clustering and classification errors on hand-made cases, the evaluation of the new variants,
int8 weight storage, and the new `aae` flags and `aae export` command, called in-process."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch
from PIL import Image
from safetensors.torch import load_file

from aae.checkpoints import dequantize, load_checkpoint, model_weights, quantize_int8, save_checkpoint
from aae.cli import main
from aae.corruption import corrupt
from aae.metrics import assign_clusters, classification_error, clustering_error
from aae.metrics.evaluate import categorical_errors, denoising_errors
from aae.models import AAEConfig, ClassifierConfig, ClusteringAAEConfig, SemiSupervisedAAEConfig
from aae.priors import PriorConfig
from aae.training import TrainConfig, create_model, train

pytestmark = pytest.mark.usefixtures("one_torch_thread")


# -- clustering error by hand ----------------------------------------------------------------------------
# Eight reference images, four clusters. Argmax members: cluster 0 <- images 0, 1, 2 (labels 3, 3, 5);
# cluster 1 <- images 3, 4 (labels 1, 1); cluster 2 <- images 5, 6, 7 (labels 7, 2, 7); cluster 3 <- none.
# Most confident member per column: 0 -> image 2 (0.9, label 5), 1 -> image 3 (0.8, label 1),
# 2 -> image 7 (0.7, label 7), 3 -> image 6 (0.4, label 2).
PROBS = torch.tensor([
    [0.70, 0.10, 0.10, 0.10],
    [0.60, 0.20, 0.10, 0.10],
    [0.90, 0.05, 0.05, 0.00],
    [0.10, 0.80, 0.10, 0.00],
    [0.20, 0.50, 0.30, 0.00],
    [0.00, 0.10, 0.60, 0.30],
    [0.10, 0.00, 0.50, 0.40],
    [0.00, 0.20, 0.70, 0.10],
])
LABELS = torch.tensor([3, 3, 5, 1, 1, 7, 2, 7])
CONFIDENT = [5, 1, 7, 2]
MAJORITY = [3, 1, 7, 2]  # cluster 0: two 3s beat one 5; cluster 3 is empty and keeps its confident digit 2


def test_assign_clusters_confident_takes_each_clusters_most_confident_member():
    assert assign_clusters(PROBS, LABELS).tolist() == CONFIDENT
    assert assign_clusters(PROBS, LABELS, method="confident").tolist() == CONFIDENT


def test_assign_clusters_majority_takes_the_commonest_label_and_falls_back_for_empty_clusters():
    assert assign_clusters(PROBS, LABELS, method="majority").tolist() == MAJORITY


def test_clustering_error_is_the_share_of_images_named_after_the_wrong_digit():
    clusters = torch.tensor([0, 0, 1, 2, 3, 3, 2, 0])
    labels = torch.tensor([5, 3, 1, 7, 2, 9, 2, 5])
    # confident names them [5, 5, 1, 7, 2, 2, 7, 5]: wrong at 1, 5, 6
    assert clustering_error(clusters, labels, torch.tensor(CONFIDENT)) == pytest.approx(3 / 8)
    # majority names them [3, 3, 1, 7, 2, 2, 7, 3]: wrong at 0, 5, 6, 7
    assert clustering_error(clusters, labels, torch.tensor(MAJORITY)) == pytest.approx(4 / 8)
    assert clustering_error(clusters, torch.tensor([3, 3, 1, 7, 2, 2, 7, 3]), torch.tensor(MAJORITY)) == 0.0


def test_classification_error_by_hand():
    assert classification_error(torch.tensor([1, 2, 3, 4]), torch.tensor([1, 0, 3, 0])) == 0.5
    assert classification_error(torch.tensor([7]), torch.tensor([7])) == 0.0
    assert classification_error(torch.tensor([0, 1, 2]), torch.tensor([1, 2, 0])) == 1.0


def test_bad_shapes_and_methods_are_refused():
    with pytest.raises(ValueError, match="equal, non-empty"):
        classification_error(torch.tensor([1, 2, 3]), torch.tensor([1, 2, 3, 4]))
    with pytest.raises(ValueError, match="equal, non-empty"):
        classification_error(torch.tensor([], dtype=torch.long), torch.tensor([], dtype=torch.long))
    with pytest.raises(ValueError, match="equal, non-empty"):
        classification_error(torch.zeros(2, 2), torch.zeros(4))
    with pytest.raises(ValueError, match=r"\(N, K\)"):
        assign_clusters(PROBS[:, 0], LABELS)  # one-dimensional
    with pytest.raises(ValueError, match=r"\(N, K\)"):
        assign_clusters(PROBS, LABELS[:5])
    with pytest.raises(ValueError, match=r"\(N, K\)"):
        assign_clusters(torch.zeros(0, 4), torch.zeros(0, dtype=torch.long))
    with pytest.raises(ValueError, match="unknown assignment"):
        assign_clusters(PROBS, LABELS, method="hungarian")


# -- the variants' evaluation -----------------------------------------------------------------------------
@pytest.fixture(scope="module")
def tiny_semi(small_splits):
    """A semi-supervised AAE trained for 2 epochs on 600 real images (5 labels per class)."""
    model = create_model("semi", SemiSupervisedAAEConfig(latent_dim=4, hidden=64, labels_per_class=5), seed=0)
    return train(model, small_splits, TrainConfig(epochs=2, batch_size=50, sample_every=0)).model


def test_categorical_errors_of_a_semi_supervised_aae_is_its_test_error(tiny_semi, small_splits):
    errors = categorical_errors(tiny_semi, small_splits)
    expected = (tiny_semi.classify(small_splits.test_x) != small_splits.test_y).float().mean().item()
    assert errors == {"test_error": pytest.approx(expected)}


def test_categorical_errors_of_a_clustering_aae(small_splits):
    """Cluster errors both ways, one digit per cluster, and cluster sizes that count every test image."""
    model = create_model("cluster", ClusteringAAEConfig(latent_dim=4, hidden=32, n_categories=12), seed=0).eval()
    errors = categorical_errors(model, small_splits)
    assert 0 <= errors["cluster_error"] <= 1 and 0 <= errors["cluster_error_majority"] <= 1
    assert len(errors["cluster_digits"]) == 12 and all(0 <= d <= 9 for d in errors["cluster_digits"])
    assert len(errors["cluster_sizes"]) == 12 and sum(errors["cluster_sizes"]) == len(small_splits.test_x)
    clusters = model.classify(small_splits.test_x)
    mapping = torch.tensor(errors["cluster_digits"])
    assert errors["cluster_error"] == pytest.approx(clustering_error(clusters, small_splits.test_y, mapping))
    # naming each cluster by majority over the training images can only fit those images better
    train_clusters = model.classify(small_splits.train_x)
    majority = assign_clusters(model.category_probs(small_splits.train_x), small_splits.train_y, method="majority")
    assert clustering_error(train_clusters, small_splits.train_y, majority) <= \
        clustering_error(train_clusters, small_splits.train_y, mapping)


def test_denoising_errors_measure_the_reconstruction_of_corrupted_test_images(small_splits):
    model = create_model("aae", AAEConfig(latent_dim=4, hidden=32, prior=PriorConfig("gaussian", 1.0),
                                          corruption="masking", corruption_level=0.5), seed=0).eval()
    test_x = small_splits.test_x[:200]
    errors = denoising_errors(model, test_x, seed=3)
    noisy = corrupt(test_x, "masking", 0.5, generator=torch.Generator().manual_seed(3))
    assert errors["noisy_mse"] == pytest.approx((noisy - test_x).pow(2).mean().item())
    assert errors["denoise_mse"] == pytest.approx((model.reconstruct(noisy) - test_x).pow(2).mean().item(), rel=1e-5)
    assert errors == denoising_errors(model, test_x, seed=3)  # repeatable for a seed


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


# -- the command line ---------------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def cli_models(tmp_path_factory, data_dir):
    """semi, cluster, supervised and denoising checkpoints trained by `aae train` for 1 epoch on 300 images."""
    root = tmp_path_factory.mktemp("cli")
    common = ["--hidden", "32", "--epochs", "1", "--train-limit", "300", "--data-dir", str(data_dir), "--quiet"]
    specs = {
        "semi": ["--model", "semi", "--labels-per-class", "5"],
        "cluster": ["--model", "cluster", "--clusters", "12"],
        "supervised": ["--model", "supervised"],
        "denoise": ["--model", "aae", "--corruption", "gaussian", "--corruption-level", "0.4"],
    }
    for name, args in specs.items():
        assert main(["train", *args, *common, "--out", str(root / name)]) == 0, name
    paths = {name: root / name for name in specs}
    # an untrained small classifier keeps `aae eval`'s Fréchet distance cheap (the shipped one is 20× bigger)
    classifier = create_model("classifier", ClassifierConfig(channels=4, feature_dim=16), seed=0)
    paths["classifier"] = save_checkpoint(root / "classifier", classifier)
    return paths


def test_cli_trains_the_variants_with_their_configs(cli_models):
    cards = {name: json.loads((cli_models[name] / "card.json").read_text())
             for name in ("semi", "cluster", "supervised", "denoise")}
    assert cards["semi"]["kind"] == "semi" and cards["semi"]["config"]["labels_per_class"] == 5
    assert cards["cluster"]["kind"] == "cluster" and cards["cluster"]["config"]["n_categories"] == 12
    assert cards["cluster"]["config"]["labels_per_class"] == 0
    assert cards["supervised"]["kind"] == "supervised"
    assert cards["denoise"]["config"]["corruption"] == "gaussian"
    assert cards["denoise"]["config"]["corruption_level"] == 0.4
    assert all(card["dataset"]["train_images"] == 300 for card in cards.values())
    assert "val_class_err" in cards["semi"]["training"]["history"][0]


def test_cli_labels_per_class_all(tmp_path, data_dir):
    out = tmp_path / "all"
    assert main(["train", "--model", "semi", "--labels-per-class", "all", "--hidden", "32", "--epochs", "1",
                 "--train-limit", "200", "--data-dir", str(data_dir), "--out", str(out), "--quiet"]) == 0
    assert json.loads((out / "card.json").read_text())["config"]["labels_per_class"] is None


def test_cli_eval_reports_the_variants_errors(cli_models, data_dir, capsys):
    """One `aae eval --json` over the semi, cluster and denoising checkpoints."""
    names = ["semi", "cluster", "denoise"]
    capsys.readouterr()
    assert main(["eval", *(str(cli_models[n]) for n in names), "--no-parzen", "--samples", "200",
                 "--classifier", str(cli_models["classifier"]), "--data-dir", str(data_dir), "--json"]) == 0
    results = json.loads(capsys.readouterr().out)
    assert set(results) == set(names)
    semi, cluster, denoise = (results[n] for n in names)
    assert 0 <= semi["test_error"] <= 1 and "cluster_error" not in semi
    assert 0 <= cluster["cluster_error"] <= 1 and 0 <= cluster["cluster_error_majority"] <= 1
    assert len(cluster["cluster_digits"]) == 12 and all(0 <= d <= 9 for d in cluster["cluster_digits"])
    assert sum(cluster["cluster_sizes"]) == cluster["data"]["test_images"] and "test_error" not in cluster
    assert 0 < denoise["denoise_mse"] and 0 < denoise["noisy_mse"] and "test_error" not in denoise
    assert all("parzen_ll" not in row and row["recon_bce"] > 0 and "frechet" in row for row in results.values())


def test_cli_sample_of_a_supervised_model_writes_the_style_grid(cli_models, tmp_path):
    """Each row one style, each column one class: --n 30 gives 3 rows of 10."""
    out = tmp_path / "styles.png"
    assert main(["sample", str(cli_models["supervised"]), "--n", "30", "--out", str(out)]) == 0
    grid = np.asarray(Image.open(out))
    assert grid.shape == (3 * 30 + 2, 10 * 30 + 2) and grid.std() > 10


def test_cli_export_int8_writes_a_loadable_small_checkpoint(cli_models, tmp_path, capsys):
    source = cli_models["semi"]
    out = tmp_path / "semi-int8"
    assert main(["export", str(source), "--int8", "--out", str(out)]) == 0
    assert "int8" in capsys.readouterr().out
    exported, original = load_checkpoint(out), load_checkpoint(source)
    assert exported.card["weights"]["dtype"] == "int8" and exported.card["weights"]["inference_only"]
    assert exported.card["exported_from"]["weights"]["dtype"] == "float32"
    assert exported.card["training"]["epochs"] == 1  # what was known about training is kept
    assert (out / "model.safetensors").stat().st_size < 0.3 * (source / "model.safetensors").stat().st_size
    z = torch.randn(20, original.model.latent_dim, generator=torch.Generator().manual_seed(0))
    labels = torch.arange(20) % 10
    assert (exported.model.decode(z, labels) - original.model.decode(z, labels)).abs().max() < 0.01

    assert main(["export", str(source), "--out", str(tmp_path / "semi-half")]) == 0  # float16 by default
    assert load_checkpoint(tmp_path / "semi-half").card["weights"]["dtype"] == "float16"
    assert main(["export", str(source), "--half", "--int8", "--out", str(tmp_path / "both")]) == 2
    assert "one of --half and --int8" in capsys.readouterr().err


def test_cli_refuses_corruption_outside_the_aae_and_bad_levels(tmp_path, data_dir, capsys):
    base = ["train", "--hidden", "32", "--epochs", "1", "--data-dir", str(data_dir), "--out", str(tmp_path / "x")]
    assert main([*base, "--model", "vae", "--corruption", "gaussian"]) == 2
    assert "--corruption" in capsys.readouterr().err
    assert main([*base, "--model", "semi", "--corruption", "masking"]) == 2
    assert "applies to --model aae only" in capsys.readouterr().err
    assert main([*base, "--model", "aae", "--corruption", "gaussian", "--corruption-level", "1.5"]) == 2
    assert "between 0 and 1" in capsys.readouterr().err
    assert not (tmp_path / "x").exists()
