"""The `aae` command on the paper's other AAEs, in-process: training, eval, sample, export and refusals."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch
from PIL import Image

from aae.cli import main
from aae.core.checkpoints import load_checkpoint, save_checkpoint
from aae.core.models import ClassifierConfig
from aae.core.training import create_model

pytestmark = pytest.mark.usefixtures("one_torch_thread")



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


def test_cli_refuses_corruption_outside_the_autoencoders_and_bad_levels(tmp_path, data_dir, capsys):
    base = ["train", "--epochs", "1", "--data-dir", str(data_dir), "--out", str(tmp_path / "x")]
    assert main([*base, "--model", "gan", "--corruption", "gaussian"]) == 2
    assert "--corruption" in capsys.readouterr().err
    assert main([*base, "--hidden", "32", "--model", "semi", "--corruption", "masking"]) == 2
    assert "applies to --model aae / vae" in capsys.readouterr().err
    assert main([*base, "--hidden", "32", "--model", "aae", "--corruption", "gaussian",
                 "--corruption-level", "1.5"]) == 2
    assert "between 0 and 1" in capsys.readouterr().err
    assert not (tmp_path / "x").exists()

