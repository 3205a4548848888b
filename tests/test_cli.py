import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from aae.cli import main


def test_train_sample_info_resume(tmp_path, data_dir, capsys):
    out = tmp_path / "m"
    args = ["train", "--model", "aae", "--prior", "mog10", "--label-regularized", "--latent-dim", "2",
            "--hidden", "64", "--epochs", "1", "--train-limit", "500", "--data-dir", str(data_dir),
            "--out", str(out), "--quiet"]
    assert main(args) == 0
    assert (out / "card.json").exists()
    card = json.loads((out / "card.json").read_text())
    assert card["kind"] == "aae" and card["training"]["epochs"] == 1 and card["dataset"]["train_images"] == 500

    assert main(["sample", str(out), "--n", "30", "--out", str(tmp_path / "g.png")]) == 0
    grid = np.asarray(Image.open(tmp_path / "g.png"))
    assert grid.shape == (3 * 30 + 2, 10 * 30 + 2) and grid.std() > 10  # not a blank image
    assert main(["sample", str(out), "--manifold", "--out", str(tmp_path / "m.png")]) == 0
    assert np.asarray(Image.open(tmp_path / "m.png")).shape == (20 * 30 + 2, 20 * 30 + 2)

    capsys.readouterr()
    assert main(["info", str(out)]) == 0
    assert json.loads(capsys.readouterr().out)["config"]["prior"]["name"] == "mog10"

    assert main(args[:-3] + ["--epochs", "2", "--resume", str(out), "--out", str(tmp_path / "m2"), "--quiet"]) == 0
    resumed = json.loads((tmp_path / "m2" / "card.json").read_text())
    assert resumed["training"]["epochs"] == 2 and len(resumed["training"]["history"]) == 2


def test_errors_are_messages_not_tracebacks(tmp_path, capsys):
    assert main(["info", str(tmp_path / "absent")]) == 2
    assert "no checkpoint" in capsys.readouterr().err
    assert main(["train", "--model", "vae", "--prior", "mog10", "--out", str(tmp_path / "x"),
                 "--data-dir", str(tmp_path)]) == 2
    assert "Gaussian prior" in capsys.readouterr().err
    assert main(["train", "--model", "gan", "--feature-matching", "-1", "--out", str(tmp_path / "x"),
                 "--data-dir", str(tmp_path)]) == 2
    assert "feature-matching weight must be 0 or more" in capsys.readouterr().err


def _model(*args):
    from aae.cli import parse_train

    return parse_train(list(args))[1].model


def test_gan_options_reach_the_config():
    config = _model("--model", "gan", "--feature-matching", "5", "--no-spectral-norm", "--generator", "conv",
                    "--generator-channels", "128")
    assert (config.feature_matching, config.spectral_norm, config.generator, config.generator_channels) == \
        (5.0, False, "conv", 128)
    # `--model gan` alone draws all ten digits; the plain GAN stays available by its flags
    default = _model("--model", "gan")
    assert (default.feature_matching, default.spectral_norm) == (1.0, False)
    plain = _model("--model", "gan", "--feature-matching", "0", "--spectral-norm")
    assert (plain.feature_matching, plain.spectral_norm) == (0.0, True)
    conv = _model("--model", "gan", "--generator", "conv")  # the conv generator's own defaults follow it
    assert (conv.feature_matching, conv.spectral_norm) == (0.0, True)


def test_semi_supervised_additions_reach_the_config_and_are_off_by_default():
    config = _model("--model", "semi", "--consistency", "10", "--pseudo-label", "0.9", "--augment-degrees", "15",
                    "--augment-labelled", "--cycle", "1", "--labels-per-class", "all")
    assert (config.consistency_weight, config.pseudo_label_threshold, config.augment_degrees,
            config.augment_labelled, config.cycle_weight, config.labels_per_class) == (10.0, 0.9, 15.0, True, 1.0, None)
    plain = _model("--model", "semi")
    assert (plain.pseudo_label_threshold, plain.augment_degrees, plain.augment_labelled,
            plain.cycle_weight, plain.labels_per_class) == (0.0, 0.0, False, 0.0, 10)
    with pytest.raises(ValueError, match=r"--augment-degrees does not apply to the AAE .*; it applies to --model semi"):
        _model("--model", "aae", "--set", "augment_degrees=15")


def test_every_field_of_the_run_is_a_flag_with_its_help(capsys):
    from aae.core import catalog
    from aae.core.spec import spec_fields

    for kind in catalog.CATALOG:
        assert main(["train", "--model", kind, "--help"]) == 0
        text = " ".join(capsys.readouterr().out.split())
        for f in spec_fields(kind):
            assert f"--{f.cli_name}" in text, f"{kind}: no flag for {f.name}"
            assert f.help and " ".join(f.help.split())[:30] in text.replace("│ ", ""), f"{kind}: no help for {f.name}"


def test_dry_run_prints_the_resolved_specification(capsys):
    assert main(["train", "--model", "gan", "--generator", "conv", "--epochs", "3", "--dry-run"]) == 0
    text = capsys.readouterr().out
    assert 'model = "gan"' in text and 'generator = "conv"' in text and "feature_matching = 0" in text
    assert "\n[train]\n" in text and "epochs = 3" in text and 'dataset = "mnist"' in text


def test_console_script_is_installed():
    script = Path(sys.executable).with_name("aae")
    result = subprocess.run([str(script), "--help"], capture_output=True, text=True)
    assert result.returncode == 0 and "train" in result.stdout and "sample" in result.stdout


def test_eval_prints_metrics_and_writes_them_to_the_card(tiny_models, data_dir, capsys):
    import math

    path = str(tiny_models["tiny-aae-2d-mog10"])
    gan = str(tiny_models["tiny-gan"])
    assert main(["eval", path, gan, "--samples", "300", "--json", "--write", "--data-dir", str(data_dir)]) == 0
    results = json.loads(capsys.readouterr().out)
    aae, gan_row = results["tiny-aae-2d-mog10"], results["tiny-gan"]
    assert math.isfinite(aae["parzen_ll"]) and aae["parzen_se"] > 0 and 0.1 <= aae["parzen_sigma"] <= 1
    assert 0 <= aae["knn_accuracy"] <= 1 and aae["recon_bce"] > 0 and math.isfinite(aae["mmd"])
    assert "knn_accuracy" not in gan_row and math.isfinite(gan_row["parzen_ll"])  # a GAN has no encoder
    assert aae["data"]["test_images"] == 10000 and aae["data"]["samples"] == 300
    card = json.loads((tiny_models["tiny-aae-2d-mog10"] / "card.json").read_text())
    assert card["metrics"]["knn_accuracy"] == aae["knn_accuracy"]

    assert main(["eval", path, "--samples", "300", "--no-parzen", "--data-dir", str(data_dir)]) == 0
    table = capsys.readouterr().out
    assert "kNN accuracy" in table and "Parzen" not in table and "10000 test images" in table


def test_an_interrupted_run_leaves_a_resumable_checkpoint(tmp_path, data_dir, monkeypatch):
    """--save-every 1: after epoch 1 a checkpoint is on disk; an interrupt in epoch 2 keeps it; resume finishes."""
    import aae.cli.commands as cli

    seen = []

    def interrupting(self, event):
        seen.append(event.kind)
        if event.kind == "epoch" and event.epoch == 2:
            raise KeyboardInterrupt

    monkeypatch.setattr(cli.ProgressPrinter, "__call__", interrupting)
    out = tmp_path / "run"
    args = ["train", "--model", "vae", "--latent-dim", "2", "--hidden", "32", "--train-limit", "300",
            "--data-dir", str(data_dir), "--out", str(out), "--save-every", "1"]
    assert main([*args, "--epochs", "3"]) == 130
    card = json.loads((out / "card.json").read_text())
    assert card["training"]["epochs"] == 1 and len(card["training"]["history"]) == 1
    monkeypatch.undo()
    assert main(["train", "--resume", str(out), "--epochs", "3", "--data-dir", str(data_dir), "--train-limit", "300",
                 "--out", str(out), "--quiet"]) == 0
    assert json.loads((out / "card.json").read_text())["training"]["epochs"] == 3


def test_a_label_regularised_aae_gets_the_stronger_adversary_by_default(tmp_path, data_dir):
    common = ["--latent-dim", "2", "--hidden", "32", "--epochs", "1", "--train-limit", "300", "--data-dir",
              str(data_dir), "--quiet"]
    assert main(["train", "--model", "aae", "--prior", "mog10", "--label-regularized", *common,
                 "--out", str(tmp_path / "lr")]) == 0
    assert main(["train", "--model", "aae", "--prior-std", "1", *common, "--out", str(tmp_path / "g")]) == 0
    regularised = json.loads((tmp_path / "lr" / "card.json").read_text())["training"]
    gaussian = json.loads((tmp_path / "g" / "card.json").read_text())["training"]
    assert (regularised["adversarial_weight"], regularised["adversarial_lr"]) == (10.0, regularised["lr"])
    assert (gaussian["adversarial_weight"], gaussian["adversarial_lr"]) == (1.0, None)


def test_each_kind_trains_at_its_own_default_batch_and_rate_unless_told(tmp_path, data_dir):
    common = ["--hidden", "32", "--epochs", "1", "--train-limit", "300", "--data-dir", str(data_dir), "--quiet"]
    runs = {"vae": ["--model", "vae", "--latent-dim", "2"], "vae-set": ["--model", "vae", "--batch-size", "30"],
            "aae": ["--model", "aae"]}
    training = {}
    for name, flags in runs.items():
        assert main(["train", *flags, *common, "--out", str(tmp_path / name)]) == 0
        training[name] = json.loads((tmp_path / name / "card.json").read_text())["training"]
    # The VAE's short runs learn at batch 50 and rate 2e-3 (aae/core/models/vae.py); the others keep the paper's 100.
    assert (training["vae"]["batch_size"], training["vae"]["lr"]) == (50, 2e-3)
    assert training["vae"]["steps"] == 2 * training["aae"]["steps"]  # the same images, half the batch
    assert training["vae-set"]["batch_size"] == 30
    assert training["aae"]["batch_size"] == 100


def test_a_resumed_run_keeps_its_batch_and_rate_unless_told(tmp_path, data_dir):
    common = ["--hidden", "32", "--train-limit", "300", "--data-dir", str(data_dir), "--quiet"]
    out = tmp_path / "vae"
    assert main(["train", "--model", "vae", "--batch-size", "30", "--lr", "5e-4", "--epochs", "1", *common,
                 "--out", str(out)]) == 0
    assert main(["train", "--resume", str(out), "--epochs", "2", *common, "--out", str(out)]) == 0
    training = json.loads((out / "card.json").read_text())["training"]
    assert (training["epochs"], training["batch_size"], training["lr"]) == (2, 30, 5e-4)  # not the VAE's 50, 2e-3
    assert main(["train", "--resume", str(out), "--epochs", "3", "--batch-size", "60", *common,
                 "--out", str(out)]) == 0
    assert json.loads((out / "card.json").read_text())["training"]["batch_size"] == 60


def test_the_aae_trains_shared_by_default_and_a_resumed_joint_run_stays_joint(tmp_path, data_dir, capsys):
    common = ["--hidden", "32", "--train-limit", "300", "--data-dir", str(data_dir), "--quiet"]
    fresh, old = tmp_path / "fresh", tmp_path / "old"
    assert main(["train", "--model", "aae", "--epochs", "1", *common, "--out", str(fresh)]) == 0
    assert json.loads((fresh / "card.json").read_text())["training"]["regularization"] == "shared"
    assert main(["train", "--model", "aae", "--regularization", "joint", "--epochs", "1", *common,
                 "--out", str(old)]) == 0
    assert main(["train", "--resume", str(old), "--epochs", "2", *common, "--out", str(old)]) == 0
    training = json.loads((old / "card.json").read_text())["training"]
    assert (training["epochs"], training["regularization"]) == (2, "joint")
    # A model whose discriminator cannot learn from its reconstruction pass says so, without a traceback.
    capsys.readouterr()
    assert main(["train", "--model", "vae", "--regularization", "shared", "--epochs", "1", *common,
                 "--out", str(tmp_path / "vae")]) != 0
    err = capsys.readouterr().err
    assert "shared regularisation is the AAE's" in err and "Traceback" not in err
    assert not (tmp_path / "vae").exists()


def test_a_reader_that_stops_early_gets_no_traceback():
    """`aae recipes | head -1`: the command stops quietly when its reader goes away."""
    import subprocess
    import sys

    process = subprocess.Popen([sys.executable, "-m", "aae", "recipes"], stdout=subprocess.PIPE,
                               stderr=subprocess.PIPE)
    process.stdout.close()  # the reader is gone before the command writes its first line
    _, err = process.communicate(timeout=120)
    assert b"Traceback" not in err and b"BrokenPipeError" not in err, err.decode()[-2000:]
    assert process.returncode == 141  # as a shell reports a command stopped by a closed pipe
