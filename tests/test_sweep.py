"""`aae sweep`: trials in parallel processes on Optuna's storage, judged on validation images only."""

import json

import pytest

from aae.cli import main
from aae.lab.sweep import SweepPlan, direction_of, parse_settings, sweep, validation_splits


def test_settings_split_into_the_grid_and_fixed_values():
    grid, fixed = parse_settings(["hidden=32,64", "epochs=1", "corruption_level=0,0.3,0.5", "precision=fp32"])
    assert grid == {"hidden": [32, 64], "corruption_level": [0, 0.3, 0.5]}
    assert fixed == {"epochs": 1, "precision": "fp32"}
    plan = SweepPlan("aae-8d", grid, fixed, seeds=[0, 1])
    assert len(plan.trials()) == 12 and {"hidden": 64, "corruption_level": 0.5, "seed": 1} in plan.trials()
    assert direction_of("val_error") == "minimize" and direction_of("val_parzen_ll") == "maximize"
    with pytest.raises(ValueError, match="FIELD=VALUE"):
        parse_settings(["hidden"])


def test_a_tiny_sweep_runs_every_trial_in_two_processes_and_picks_by_validation(tmp_path, data_dir, monkeypatch,
                                                                               capsys):
    monkeypatch.setenv("AAE_DATA_DIR", str(data_dir))
    out = tmp_path / "sweep"
    assert main(["sweep", "aae-2d-gaussian", "--set", "hidden=16,64", "--set", "epochs=1", "--set",
                 "train_limit=2000", "--set", "precision=fp32", "--seeds", "0", "1", "--workers", "2",
                 "--samples", "500", "--out", str(out)]) == 0
    record = json.loads((out / "sweep.json").read_text())
    ran = sorted((t["params"]["hidden"], t["params"]["seed"]) for t in record["trials"])
    assert ran == [(16, 0), (16, 1), (64, 0), (64, 1)]  # four trials, each combination once
    assert record["metric"] == "val_parzen_ll" and record["direction"] == "maximize"
    assert all(t["train_images"] == 2000 and t["epochs"] == 1 for t in record["trials"])
    assert not any(key.startswith("test") for t in record["trials"] for key in t["figures"])
    means = {h: sum(t["figures"]["val_parzen_ll"] for t in record["trials"] if t["params"]["hidden"] == h) / 2
             for h in (16, 64)}
    assert record["pick"]["params"] == {"hidden": max(means, key=means.get)}
    assert record["pick"]["mean"] == pytest.approx(max(means.values()))
    assert "pick: {'hidden': " in capsys.readouterr().out
    # Run again: the study is on disk, so nothing is trained twice.
    assert main(["sweep", "aae-2d-gaussian", "--set", "hidden=16,64", "--set", "epochs=1", "--set",
                 "train_limit=2000", "--set", "precision=fp32", "--seeds", "0", "1", "--samples", "500",
                 "--out", str(out)]) == 0
    assert "4 trials, 0 to run" in capsys.readouterr().out


def test_a_sweep_stopped_before_its_queued_trials_ran_resumes_them(tmp_path, data_dir, monkeypatch, capsys):
    """A sweep stopped early leaves trials queued (waiting) and one cut off while running; running the same command
    again runs each of them once rather than finding nothing to do."""
    import optuna

    from aae.lab.sweep import _storage

    monkeypatch.setenv("AAE_DATA_DIR", str(data_dir))
    out = tmp_path / "stopped"
    out.mkdir()
    study = optuna.create_study(study_name="aae-2d-gaussian-sweep", storage=_storage(str(out / "study.journal")),
                                direction="maximize")
    for seed in (0, 1):
        study.enqueue_trial({"seed": seed}, user_attrs={"queued": True})
    study.ask()  # seed 0 starts, and its process is stopped
    study.enqueue_trial({"seed": 0}, user_attrs={"queued": True})
    plan = SweepPlan("aae-2d-gaussian", {}, {"hidden": 16, "epochs": 1, "train_limit": 2000, "precision": "fp32"},
                     seeds=[0, 1], samples=300)
    record = sweep(plan, out)
    assert "2 trials, 2 to run" in capsys.readouterr().out
    assert sorted(t["params"]["seed"] for t in record["trials"]) == [0, 1]


def test_a_sweep_run_again_with_more_seeds_runs_only_the_new_trials(tmp_path, data_dir, monkeypatch, capsys):
    """Seeds (or values) added to a finished sweep are new trials of the same study: the rerun trains only them
    (before, Optuna refused the changed list of seeds and the rerun failed)."""
    monkeypatch.setenv("AAE_DATA_DIR", str(data_dir))
    fixed = {"hidden": 16, "epochs": 1, "train_limit": 2000, "precision": "fp32"}
    out = tmp_path / "more"
    sweep(SweepPlan("aae-2d-gaussian", {}, fixed, seeds=[0], samples=300), out)
    record = sweep(SweepPlan("aae-2d-gaussian", {}, fixed, seeds=[0, 1], samples=300), out)
    assert "2 trials, 1 to run" in capsys.readouterr().out
    assert sorted(t["params"]["seed"] for t in record["trials"]) == [0, 1]


def test_training_and_sweeps_never_read_the_test_split(tmp_path, data_dir, monkeypatch):
    """The protocol: the test split is read by `aae eval` of a finished model only. Here every way to reach it
    fails; a sweep trial (training, per-epoch validation, the validation figures) still completes."""
    import aae.core.data
    import aae.core.metrics.evaluate

    def refuse(*args, **kwargs):
        raise AssertionError("the test split was read")

    monkeypatch.setattr(aae.core.data, "load_test_split", refuse)
    monkeypatch.setattr(aae.core.metrics.evaluate, "load_test_split", refuse)
    monkeypatch.setenv("AAE_DATA_DIR", str(data_dir))
    plan = SweepPlan("semi-100", {}, {"epochs": 1, "train_limit": 2000, "hidden": 64, "precision": "fp32"}, [0],
                     samples=300)
    record = sweep(plan, tmp_path / "s")
    (trial,) = record["trials"]
    assert record["metric"] == "val_error" and 0 <= trial["figures"]["val_error"] <= 1
    # a clustering model's clusters are named on validation images, and by majority over the training images
    plan = SweepPlan("cluster-16", {}, {"epochs": 1, "train_limit": 2000, "precision": "fp32", "lr_steps": []}, [0],
                     samples=300)
    (trial,) = sweep(plan, tmp_path / "c")["trials"]
    figures = trial["figures"]
    assert 0 <= figures["val_cluster_error"] <= 1 and 0 <= figures["val_cluster_error_majority"] <= 1


def test_validation_splits_hold_no_test_image(small_splits):
    halves = validation_splits(small_splits)
    n = len(small_splits.val_x)
    assert len(halves.val_x) == n // 2 and len(halves.test_x) == n - n // 2
    assert (halves.test_x == small_splits.val_x[n // 2:]).all() and (halves.val_x == small_splits.val_x[:n // 2]).all()
    assert (halves.train_x == small_splits.train_x).all()  # the training images, never the test images


def test_seed_figures_come_from_one_command(tmp_path, data_dir, monkeypatch):
    """`aae seeds`: each seed trained through the sweep engine, each finished model measured as `aae eval`
    measures a shipped one, and the recipe's figures written with how they were measured; other recipes kept."""
    monkeypatch.setenv("AAE_DATA_DIR", str(data_dir))
    figures = tmp_path / "seed_figures.json"
    figures.write_text(json.dumps({"recipes": {"semi-100": {"test_error": {"0": 0.03}}}}))
    assert main(["seeds", "vae-2d", "--seeds", "0", "1", "--set", "epochs=1", "--set", "train_limit=2000",
                 "--set", "hidden=32", "--set", "precision=fp32", "--samples", "300", "--out", str(tmp_path / "s"),
                 "--figures", str(figures)]) == 0
    written = json.loads(figures.read_text())
    assert written["recipes"]["semi-100"] == {"test_error": {"0": 0.03}}
    vae = written["recipes"]["vae-2d"]
    assert set(vae["parzen_ll"]) == {"0", "1"} and vae["parzen_ll"]["0"] != vae["parzen_ll"]["1"]
    how = written["measured_by"]["vae-2d"]
    assert "300 samples" in how["evaluation"] and how["train_images"] == 2000 and how["epochs"] == 1
    # each kept model's card says how it was made: a model chosen among the seeds ships with its recipe named
    card = json.loads((tmp_path / "s" / "models" / "seed-1" / "card.json").read_text())
    assert card["recipe"]["name"] == "vae-2d" and card["recipe"]["run"]["seed"] == 1
    assert card["recipe"]["command"].startswith("aae train --recipe vae-2d") and "--seed 1" in card["recipe"]["command"]


def test_a_trial_stopped_mid_way_goes_on_from_its_last_epoch_and_ends_where_an_unbroken_one_does(tmp_path, data_dir,
                                                                                               monkeypatch):
    """Seeds of the full recipes take hours a trial here, longer than a working session: a trial whose process is
    stopped must not start again from nothing. It keeps a resumable checkpoint after each epoch, the rerun goes on
    from it, and (each epoch seeding its own draws) ends with exactly the model of a trial that was never stopped."""
    from safetensors.torch import load_file

    from aae.lab.sweep import run_trial

    monkeypatch.setenv("AAE_DATA_DIR", str(data_dir))
    fixed = {"hidden": 16, "epochs": 3, "train_limit": 2000, "precision": "fp32"}
    params = {"seed": 0}
    unbroken = run_trial(SweepPlan("aae-2d-gaussian", {}, fixed, [0], samples=300, keep=str(tmp_path / "a")), params)

    class Stopped(Exception):
        pass

    def stop_after_two(epoch, row):
        if epoch == 2:
            raise Stopped

    plan = SweepPlan("aae-2d-gaussian", {}, fixed, [0], samples=300, keep=str(tmp_path / "b"),
                     unfinished=str(tmp_path / "unfinished"))
    with pytest.raises(Stopped):
        run_trial(plan, params, report=stop_after_two)
    partial = tmp_path / "unfinished" / "seed-0"
    card = json.loads((partial / "card.json").read_text())
    assert card["training"]["epochs"] == 2 and (partial / "optimizer.safetensors").exists()

    resumed = run_trial(plan, params)
    assert resumed["resumed_at_epoch"] == 2 and resumed["epochs"] == 3
    assert not partial.exists()  # gone once the trial finished
    assert resumed["figures"] == unbroken["figures"]
    a, b = (load_file(str(tmp_path / side / "seed-0" / "model.safetensors")) for side in ("a", "b"))
    assert a.keys() == b.keys() and all(a[k].equal(b[k]) for k in a)
    history = json.loads((tmp_path / "b" / "seed-0" / "card.json").read_text())["training"]["history"]
    assert [row["epoch"] for row in history] == [1, 2, 3]


def test_stopping_a_sweep_stops_its_trial_processes_and_keeps_their_epochs(tmp_path, data_dir):
    """`aae sweep` prints each trial's progress as it trains; a SIGTERM to the command alone (as a session's end
    sends) stops its trial processes too, rather than leaving them training, and each keeps its last epoch."""
    import os
    import signal
    import subprocess
    import sys

    import psutil

    out = tmp_path / "stopped"
    command = [sys.executable, "-m", "aae", "sweep", "aae-2d-gaussian", "--set", "hidden=16", "--set", "epochs=200",
               "--set", "train_limit=2000", "--set", "precision=fp32", "--seeds", "0", "1", "--workers", "2",
               "--samples", "300", "--out", str(out)]
    process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                               env={**os.environ, "AAE_DATA_DIR": str(data_dir), "OMP_NUM_THREADS": "1"})
    lines = []
    try:
        for line in process.stdout:  # wait until both trials have finished an epoch
            lines.append(line)
            if sum("epoch 2/200" in seen for seen in lines) >= 2:
                break
        children = psutil.Process(process.pid).children(recursive=True)
        trainers = [c for c in children if "resource_tracker" not in " ".join(c.cmdline())]
        assert len(trainers) == 2
        process.send_signal(signal.SIGTERM)
        process.wait(timeout=30)
        _, alive = psutil.wait_procs(trainers, timeout=10)
        assert not alive, "trial processes kept training after the sweep was stopped"
    finally:
        process.kill()
    progress = [line for line in lines if "epoch 2/200" in line]
    assert any("seed-0" in line for line in progress) and all("min left" in line for line in progress)
    kept = {p.name: json.loads((p / "card.json").read_text())["training"]["epochs"]
            for p in (out / "unfinished").iterdir()}
    assert set(kept) == {"seed-0", "seed-1"} and all(e >= 2 for e in kept.values())
