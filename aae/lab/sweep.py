"""Sweeps: a recipe trained over a grid of field values and seeds, every trial judged on validation images only.

The engine is Optuna. Every trial of the grid (each value combination × each seed) is queued in a study whose
storage is a journal file in the sweep's folder, and `workers` processes take trials from it until none is
left: the storage hands each trial to one process. The same command spreads over several machines (or
several runs per GPU) by giving them one storage: a journal file on a shared disk, or a database URL
(`--storage postgresql://…`). Each trial trains the recipe's run with its values, then measures the model on
the validation images (`validation_figures`: never the test split, which only `aae eval` of a finished model
reads) and records its figures. The pick is the value combination with the best mean of the stated metric
over its seeds; `sweep.json` in the folder holds every trial and the pick.

Running the same command again resumes: finished trials are kept, and a trial whose process was stopped goes on
from the resumable checkpoint it wrote after its last finished epoch (in the folder's `unfinished/`).
"""

from __future__ import annotations

import itertools
import json
import multiprocessing
import os
import signal
import time
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import torch

from aae.core.data import Splits

# The validation metric a sweep picks by, for each kind of model, first match wins: its own error first; a
# translating model by the share of B's images whose class survives the way into A (MNIST ↔ 8×8 digits: the 8×8
# digits read by MNIST's classifier, the figure that says whether translating helps).
DEFAULT_METRICS = ("val_error", "val_cluster_error", "val_denoise_mse", "val_parzen_ll", "val_accuracy",
                   "val_class_preservation_ba")
LOWER_IS_BETTER = ("error", "mse", "frechet", "mmd", "bce", "ppl", "loss")


def direction_of(metric: str) -> str:
    """minimize for errors, distances and losses; maximize for likelihoods and accuracies."""
    return "minimize" if any(word in metric for word in LOWER_IS_BETTER) else "maximize"


def validation_splits(splits: Splits) -> Splits:
    """The validation images in two halves, as evaluation code reads splits: the first half in the place of
    validation (it chooses the Parzen σ and names clusters), the second in the place of test (it is scored).
    The training images stay (a clustering model's clusters are also named by majority over them). No test
    image is in it."""
    half = len(splits.val_x) // 2
    return Splits(splits.name, splits.train_x, splits.train_y, splits.val_x[:half], splits.val_y[:half],
                  splits.val_x[half:], splits.val_y[half:])


def validation_figures(model: Any, splits: Splits, *, classifier: Any = None, samples: int = 2000,
                       seed: int = 0) -> dict[str, float]:
    """`aae eval`'s headline metrics for `model` (its error, Parzen, Fréchet, coverage; not the path length or the
    latent metrics), measured on the validation images (`validation_splits`), each key named val_…
    (`test_error` becomes `val_error`). Only numbers are kept."""
    from aae.core.metrics.evaluate import evaluate

    figures = evaluate(model, validation_splits(splits.without_test()), classifier=classifier, n_samples=samples,
                       seed=seed, extras=False, translation_split="val")
    out = {}
    for key, value in figures.items():
        if isinstance(value, int | float) and not isinstance(value, bool):
            out["val_" + key.removeprefix("test_")] = float(value)
    return out


@dataclass(frozen=True)
class SweepPlan:
    recipe: str
    grid: dict[str, list[Any]]  # field -> the values swept
    fixed: dict[str, Any]  # field -> a value set for every trial
    seeds: list[int]
    metric: str | None = None  # None: the kind's default (DEFAULT_METRICS)
    samples: int = 2000  # samples per model for the validation Parzen estimate and Fréchet distance
    keep: str | None = None  # a folder to keep each trial's trained model in (`aae seeds` measures them after)
    unfinished: str | None = None  # a folder for each running trial's resumable checkpoint (see run_trial)

    def trials(self) -> list[dict[str, Any]]:
        names = list(self.grid)
        combos = itertools.product(*(self.grid[n] for n in names)) if names else [()]
        return [{**dict(zip(names, combo)), "seed": seed} for combo in combos for seed in self.seeds]


def parse_settings(settings: list[str]) -> tuple[dict[str, list[Any]], dict[str, Any]]:
    """`FIELD=V1,V2` sweeps a field over its values; `FIELD=V` sets it for every trial."""
    grid, fixed = {}, {}
    for text in settings:
        name, sep, values = text.partition("=")
        if not sep or not name.strip() or not values.strip():
            raise ValueError(f"--set takes FIELD=VALUE or FIELD=V1,V2,…, not {text!r}")
        parts = [_value(v) for v in values.split(",")]
        (grid if len(parts) > 1 else fixed)[name.strip()] = parts if len(parts) > 1 else parts[0]
    return grid, fixed


def _value(text: str) -> Any:
    text = text.strip()
    for cast in (int, float):
        try:
            return cast(text)
        except ValueError:
            pass
    return {"true": True, "false": False}.get(text.lower(), text)


def trial_spec(plan: SweepPlan, params: dict[str, Any], overrides: dict[str, Any] | None = None):
    from aae.core.spec import resolve
    from aae.lab.recipes import get_recipe

    return resolve({**get_recipe(plan.recipe).run, **plan.fixed, **(overrides or {}), **params})


def trial_recipe(plan: SweepPlan, params: dict[str, Any]) -> dict[str, Any]:
    """What a trial's card says of how it was made: its recipe, the values it ran with, and the command that trains
    it alone."""
    from aae.lab.recipes import get_recipe

    values = {**plan.fixed, **params}
    flags = "".join(f" --{k.replace('_', '-')} {' '.join(map(str, v)) if isinstance(v, list | tuple) else v}"
                    for k, v in values.items())
    return {"name": plan.recipe, "run": {**get_recipe(plan.recipe).run, **values},
            "command": f"aae train --recipe {plan.recipe}{flags}", "sweep": values}


def run_trial(plan: SweepPlan, params: dict[str, Any], *, report=None, log=None) -> dict[str, Any]:
    """Train one trial and measure it on validation. `report(epoch, history_row)` is called after each epoch
    (Optuna's pruning hook); `log(line)` gets a line of progress after each epoch (where it is, the time left).

    With `plan.unfinished` set, the trial writes a resumable checkpoint (weights and optimiser state) there after
    every epoch but its last, and a trial that finds one (its process was stopped) goes on from it rather than
    from the start. Each epoch seeds its own random draws, so the resumed trial ends with the model the
    uninterrupted one would have. The checkpoint is deleted when the trial finishes."""
    import shutil

    from aae.core.checkpoints import classifier_path, load_checkpoint
    from aae.core.runner import Run

    spec = trial_spec(plan, params)
    started = time.time()
    partial = Path(plan.unfinished) / trial_name(params) if plan.unfinished else None
    resume = partial if partial is not None and (partial / "card.json").exists() else None
    ref: list[Run] = []

    def on_event(event) -> None:
        if event.kind != "epoch":
            return
        if partial is not None and event.epoch < event.epochs:
            ref[0].save(partial, epochs=event.epoch, steps=event.step)
        if log is not None:
            done_here = event.epoch - ref[0].trainer.start_epoch
            left = event.elapsed / max(done_here, 1) * (event.epochs - event.epoch)
            log(f"{trial_name(params)}: epoch {event.epoch}/{event.epochs}, {event.elapsed / 60:.1f} min"
                + (f", about {left / 60:.0f} min left" if event.epoch < event.epochs else ", measuring it"))
        if report is not None:
            report(event.epoch, event.losses)

    run = Run(spec, callback=on_event, resume=resume, extra_card={"recipe": trial_recipe(plan, params)})
    ref.append(run)
    result = run.fit()
    path = classifier_path(spec.data.dataset)
    classifier = load_checkpoint(path).model if path.exists() and spec.kind != "classifier" else None
    figures = validation_figures(result.model, run.splits, classifier=classifier, samples=plan.samples,
                                 seed=spec.train.seed)
    if plan.keep:
        run.save_result(Path(plan.keep) / trial_name(params), result)
    if partial is not None:
        shutil.rmtree(partial, ignore_errors=True)
    record = {"params": params, "figures": figures, "epochs": result.epochs_done,
              "seconds": round(time.time() - started, 1), "precision": result.precision,
              "train_images": len(run.splits.train_x)}
    if run.trainer.start_epoch:  # resumed: `seconds` counts only the part after the stop
        record["resumed_at_epoch"] = run.trainer.start_epoch
    return record


def trial_name(params: dict[str, Any]) -> str:
    """A trial's folder name: its values, then its seed (hidden-64-seed-1)."""
    return "-".join(f"{k.replace('_', '-')}-{v}" for k, v in params.items()) or "trial"


def _metric(plan: SweepPlan, figures: dict[str, float]) -> str:
    if plan.metric:
        if plan.metric not in figures:
            raise ValueError(f"the trials have no validation figure {plan.metric!r}; they have {', '.join(figures)}")
        return plan.metric
    for metric in DEFAULT_METRICS:
        if metric in figures:
            return metric
    raise ValueError(f"no default validation figure among the trials' ({', '.join(figures)}): pass --metric")


def _worker(plan: SweepPlan, storage_url: str, study_name: str, threads: int) -> None:
    import optuna

    from aae.core.device import keep_freed_memory

    keep_freed_memory()  # a trial's process trains and ends
    torch.set_num_threads(threads)
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    study = optuna.load_study(study_name=study_name, storage=_storage(storage_url))

    def objective(trial: optuna.Trial) -> float:
        # A trial's values are the ones it was queued with, read as they are rather than suggested: a suggestion
        # ties each field to one list of values for the whole study, so a rerun with more seeds (or values) failed.
        params = trial.user_attrs.get("params")
        if params is None and trial.user_attrs.get("queued"):  # queued by an earlier version of this command
            params = trial_params(study.trials[trial.number])
        if not params:  # the queue is empty: every trial of the grid is taken
            study.stop()
            raise optuna.TrialPruned()
        record = run_trial(plan, params, log=lambda line: print(f"trial {trial.number}, {line}", flush=True))
        for key, value in record["figures"].items():
            trial.set_user_attr(key, value)
        for key in ("seconds", "precision", "train_images", "epochs", "resumed_at_epoch"):
            if key in record:
                trial.set_user_attr(key, record[key])
        print(f"trial {trial.number}: {params} -> {_metric(plan, record['figures'])} "
              f"{record['figures'][_metric(plan, record['figures'])]:.4g} ({record['seconds']} s)", flush=True)
        return record["figures"][_metric(plan, record["figures"])]

    study.optimize(objective)


def _exit_on_sigterm(signum: int, frame: Any) -> None:
    raise SystemExit(128 + signum)


def trial_params(trial: Any) -> dict[str, Any]:
    """A finished or queued trial's values (its queued values; suggested ones in records of earlier versions)."""
    return dict(trial.user_attrs.get("params") or trial.params or trial.system_attrs.get("fixed_params", {}))


def _storage(url: str):
    if "://" in url:
        return url  # a database: several machines share it
    from optuna.storages import JournalStorage
    from optuna.storages.journal import JournalFileBackend

    return JournalStorage(JournalFileBackend(url))


def sweep(plan: SweepPlan, out: str | Path, *, workers: int = 1, storage: str | None = None) -> dict[str, Any]:
    """Run every trial of `plan` in `workers` processes, write `out`/sweep.json, and return it."""
    import optuna

    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    if plan.unfinished is None:  # a stopped trial goes on from its last epoch when the command is run again
        plan = replace(plan, unfinished=str(out / "unfinished"))
    storage_url = storage or str(out / "study.journal")
    trials = plan.trials()
    spec = trial_spec(plan, trials[0])  # a bad field or value is refused before anything trains
    for params in trials[1:]:
        trial_spec(plan, params)
    metric_guess = plan.metric or "the kind's validation metric"
    study_name = f"{plan.recipe}-sweep"
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    study = optuna.create_study(study_name=study_name, storage=_storage(storage_url), load_if_exists=True,
                                direction=direction_of(plan.metric or DEFAULT_METRICS[0]))
    # A rerun resumes: finished trials are not run again; trials still queued from a run that was stopped are run
    # from the queue as they are; a trial cut off while running is queued again.
    def key(t: Any) -> str:
        return json.dumps(trial_params(t), sort_keys=True)

    finished = {key(t) for t in study.trials if t.state == optuna.trial.TrialState.COMPLETE}
    queued = {key(t) for t in study.trials if t.state == optuna.trial.TrialState.WAITING}
    to_run = [p for p in trials if json.dumps(p, sort_keys=True) not in finished]
    for params in to_run:
        if json.dumps(params, sort_keys=True) not in queued:
            study.enqueue_trial(params, user_attrs={"queued": True, "params": params})
    threads = max(1, (os.cpu_count() or 1) // max(1, workers))
    print(f"sweep of {plan.recipe} ({spec.kind}): {len(trials)} trials, {len(to_run)} to run, {workers} "
          f"process(es), picking by {metric_guess}", flush=True)
    if to_run:
        if workers == 1:
            _worker(plan, storage_url, study_name, threads)
        else:
            context = multiprocessing.get_context("spawn")
            processes = [context.Process(target=_worker, args=(plan, storage_url, study_name, threads))
                         for _ in range(workers)]
            # Stopping the command (Ctrl-C, or a SIGTERM to it alone) stops its trial processes too, rather than
            # leaving them training without it; each keeps its last epoch's checkpoint for the next run.
            previous = signal.signal(signal.SIGTERM, _exit_on_sigterm)
            try:
                for process in processes:
                    process.start()
                for process in processes:
                    process.join()
            finally:
                signal.signal(signal.SIGTERM, previous)
                for process in processes:
                    if process.is_alive():
                        process.terminate()
                        process.join()
    return write_record(plan, optuna.load_study(study_name=study_name, storage=_storage(storage_url)), out)


def write_record(plan: SweepPlan, study: Any, out: Path) -> dict[str, Any]:
    """sweep.json: the plan, every finished trial with its validation figures, and the pick."""
    from optuna.trial import TrialState

    finished, seen = [], set()
    for t in study.trials:  # one trial per value combination and seed (the first finished)
        key = json.dumps(trial_params(t), sort_keys=True)
        if t.state == TrialState.COMPLETE and key not in seen:
            seen.add(key)
            finished.append(t)
    if not finished:
        raise RuntimeError(f"no trial of the sweep finished; see {out}")
    rows = [{"number": t.number, "params": trial_params(t), "figures": {k: v for k, v in t.user_attrs.items()
                                                                       if k.startswith("val_")},
             "seconds": t.user_attrs.get("seconds"), "precision": t.user_attrs.get("precision"),
             "train_images": t.user_attrs.get("train_images"), "epochs": t.user_attrs.get("epochs"),
             **({"resumed_at_epoch": t.user_attrs["resumed_at_epoch"]} if "resumed_at_epoch" in t.user_attrs else {})}
            for t in finished]
    metric = _metric(plan, rows[0]["figures"])
    direction = direction_of(metric)
    groups: dict[str, list[float]] = {}
    for row in rows:
        key = json.dumps({k: v for k, v in row["params"].items() if k != "seed"}, sort_keys=True)
        groups.setdefault(key, []).append(row["figures"][metric])
    means = {key: sum(v) / len(v) for key, v in groups.items()}
    best = (min if direction == "minimize" else max)(means, key=means.get)
    record = {
        "recipe": plan.recipe, "grid": plan.grid, "fixed": plan.fixed, "seeds": plan.seeds,
        "metric": metric, "direction": direction, "split": "validation (σ and cluster names on one half, scored "
                                                           "on the other)",
        "validation_samples": plan.samples,
        "trials": sorted(rows, key=lambda r: r["number"]),
        "means": [{"params": json.loads(k), "mean": m, "seeds": len(groups[k])} for k, m in means.items()],
        "pick": {"params": json.loads(best), "mean": means[best]},
    }
    (out / "sweep.json").write_text(json.dumps(record, indent=1) + "\n")
    return record
