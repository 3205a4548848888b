"""What each `aae` command does, given its parsed options (aae.cli parses them)."""

from __future__ import annotations

import json
import sys
import threading
import time
from pathlib import Path
from typing import Any


def command_help(cls: type, name: str) -> str:
    """The comment beside a command option's field: its help."""
    import inspect

    for line in inspect.getsource(cls).splitlines():
        stripped = line.strip()
        if stripped.startswith(f"{name}:") and "#" in stripped:
            return stripped.split("#", 1)[1].strip()
    return ""


class ProgressPrinter:
    """Turns TrainEvents into a tqdm bar with live losses (or nothing, when quiet)."""

    def __init__(self, quiet: bool = False) -> None:
        self.quiet, self.bar = quiet, None

    def __call__(self, event) -> None:
        if self.quiet:
            return
        from tqdm import tqdm

        if event.kind == "start":
            print(f"training on {event.message}", file=sys.stderr)
            self.bar = tqdm(total=event.total_steps, initial=event.step, unit="step", file=sys.stderr,
                            dynamic_ncols=True)
        elif event.kind == "step" and self.bar is not None:
            self.bar.update(event.step - self.bar.n)
            shown = {k: f"{v:.3g}" for k, v in event.losses.items()}
            self.bar.set_postfix(shown | {"img/s": f"{event.images_per_second:.0f}"}, refresh=False)
        elif event.kind == "epoch" and self.bar is not None:
            self.bar.update(event.step - self.bar.n)
            val = {k: round(v, 3) for k, v in event.losses.items() if k.startswith("val_")}
            self.bar.write(f"epoch {event.epoch}/{event.epochs}  {val}")
        elif event.kind in ("done", "cancelled") and self.bar is not None:
            self.bar.close()


def _dtype(half: bool, int8: bool, default: str = "float32") -> str:
    if half and int8:
        raise ValueError("choose one of --half and --int8")
    return "int8" if int8 else "float16" if half else default


def train(spec, options, *, recipe=None, argv=()) -> int:
    """Train `spec` to `options.out`: a resumable checkpoint every `save_every` epochs, the final one at the end."""
    from aae.core import distributed
    from aae.core.device import keep_freed_memory, pick_device
    from aae.core.runner import Run, periodic_saver

    keep_freed_memory()  # this process trains and ends
    dtype = _dtype(options.half, options.int8)  # a bad combination is refused before training, not after
    world = distributed.setup(pick_device(spec.train.device))  # under torchrun: this process's rank
    printer = ProgressPrinter(options.quiet or not world.main)  # rank 0 alone reports
    extra: dict[str, Any] = {}
    if recipe is not None:
        extra["recipe"] = {"name": recipe.name, "run": dict(recipe.run), "command": "aae train " + " ".join(argv)}
    if world.distributed:
        extra["training"] = {"processes": world.size}  # data-parallel under torchrun
    ref: list = []
    saver = periodic_saver(ref, options.out, options.save_every if world.main else 0)

    def callback(event) -> None:
        printer(event)
        saver(event)

    run = Run(spec, callback=callback, cancel=threading.Event(), resume=options.resume, world=world,
              extra_card=extra)
    ref.append(run)
    try:
        result = run.fit()
    except KeyboardInterrupt:
        print("interrupted: nothing written", file=sys.stderr)
        return 130
    if world.main:
        run.save_result(options.out, result, dtype=dtype)
    distributed.barrier(world)
    distributed.teardown(world)
    if world.main:
        print(f"wrote {options.out} ({result.epochs_done} epochs, {result.elapsed:.1f} s on {result.device}"
              + (f", {world.size} processes" if world.distributed else "") + ")")
    return 0


def sweep(options) -> int:
    from aae.lab.sweep import SweepPlan, parse_settings
    from aae.lab.sweep import sweep as run_sweep

    grid, fixed = parse_settings(list(options.set))
    plan = SweepPlan(options.recipe, grid, fixed, list(options.seeds), options.metric, options.samples)
    record = run_sweep(plan, options.out, workers=options.workers, storage=options.storage)
    print(f"{len(record['trials'])} trials; by {record['metric']} ({record['direction']}, mean over seeds):")
    for row in sorted(record["means"], key=lambda r: r["mean"], reverse=record["direction"] == "maximize"):
        print(f"  {row['params'] or '(the recipe)'}: {row['mean']:.4g} over {row['seeds']} seed(s)")
    print(f"pick: {record['pick']['params'] or '(the recipe)'}; record in {options.out}/sweep.json")
    return 0


def seeds(options) -> int:
    """Train each seed through the sweep engine, then measure each finished model on the test split."""
    from aae.core.checkpoints import classifier_path, load_checkpoint
    from aae.core.data import load_dataset
    from aae.core.metrics.evaluate import evaluate
    from aae.lab.paper import SEED_FIGURES, write_seed_figures
    from aae.lab.sweep import SweepPlan, parse_settings, trial_name
    from aae.lab.sweep import sweep as run_sweep

    grid, fixed = parse_settings(list(options.set))
    if grid:
        raise ValueError("aae seeds trains one run per seed: give single values (FIELD=V), or use aae sweep")
    keep = Path(options.out) / "models"
    plan = SweepPlan(options.recipe, {}, fixed, list(options.seeds), samples=2000, keep=str(keep))
    record = run_sweep(plan, options.out, workers=options.workers)
    measured: dict[str, dict[str, float]] = {}
    for trial in record["trials"]:
        checkpoint = load_checkpoint(keep / trial_name(trial["params"]))
        dataset = checkpoint.card["dataset"]["name"]
        path = classifier_path(dataset)
        classifier = load_checkpoint(path).model if path.exists() else None
        splits = load_dataset(dataset, test=True)
        row = evaluate(checkpoint.model, splits, classifier=classifier, n_samples=options.samples, seed=0)
        seed = str(trial["params"]["seed"])
        for key, value in row.items():
            if isinstance(value, int | float) and not isinstance(value, bool):
                measured.setdefault(key, {})[seed] = float(value)
        print(f"seed {seed}: " + ", ".join(f"{k} {v[seed]:.4g}" for k, v in measured.items() if seed in v))
    how = {"command": f"aae seeds {options.recipe} --seeds {' '.join(map(str, options.seeds))}"
                      + "".join(f" --set {s}" for s in options.set),
           "evaluation": f"aae eval's metrics on the official test set, {options.samples:,} samples, seed 0, "
                         "Parzen σ chosen on the validation images",
           "train_images": record["trials"][0]["train_images"], "epochs": record["trials"][0]["epochs"]}
    path = write_seed_figures(options.recipe, measured, how, Path(options.figures) if options.figures else SEED_FIGURES)
    print(f"wrote the seed figures of {options.recipe} to {path}")
    return 0


def report(options) -> int:
    from aae.lab.report import ROOT
    from aae.lab.report import report as write_report

    stale = write_report(check=options.check)
    names = ", ".join(str(p.relative_to(ROOT)) if p.is_relative_to(ROOT) else str(p) for p in stale)
    if options.check:
        if stale:
            print(f"stale: {names}; run `aae report` and commit them", file=sys.stderr)
            return 1
        print("docs/results.md and the README's results table are current")
        return 0
    print(f"wrote {names}" if stale else "nothing changed")
    return 0


def export(options) -> int:
    """Copy a checkpoint as inference-only weights in a smaller dtype (for shipping), keeping its card."""
    from aae.core.checkpoints import load_checkpoint, save_checkpoint

    checkpoint = load_checkpoint(options.checkpoint)
    card = {k: v for k, v in checkpoint.card.items()
            if k not in ("format", "kind", "config", "weights", "versions", "saved_at", "files")}
    card["name"] = Path(options.out).name
    card["exported_from"] = {"path": str(options.checkpoint), "weights": checkpoint.card.get("weights")}
    dtype = _dtype(options.half, options.int8, default="float16")
    save_checkpoint(options.out, checkpoint.model, card=card, inference_only=True, dtype=dtype)
    size = sum(f.stat().st_size for f in Path(options.out).iterdir())
    print(f"wrote {options.out} ({dtype} inference weights, {size / 1e6:.1f} MB)")
    return 0


def sample(options) -> int:
    import torch

    from aae.app.explore import image_grid, manifold, to_png
    from aae.core.checkpoints import load_checkpoint

    checkpoint = load_checkpoint(options.checkpoint)
    model = checkpoint.model
    if not model.generates:
        raise ValueError(f"{options.checkpoint} is a {model.kind}: it has nothing to sample")
    if options.manifold:
        images, nrow = manifold(model, n=20), 20
    else:
        generator = torch.Generator().manual_seed(options.seed)
        if model.conditional:  # the paper's figure: each row one style z, written as every class (or cluster)
            nrow = model.n_content
            images = model.style_grid(model.sample_styles(max(1, options.n // nrow), generator=generator))
        else:
            images, nrow = model.sample(options.n, labels=torch.arange(options.n) % 10, generator=generator), 10
    Path(options.out).parent.mkdir(parents=True, exist_ok=True)
    Path(options.out).write_bytes(to_png(image_grid(images, nrow=nrow)))
    print(f"wrote {options.out} ({len(images)} images from {checkpoint.name})")
    return 0


def encode(options) -> int:
    import numpy as np

    from aae.core.checkpoints import dataset_of, load_checkpoint
    from aae.core.data import load_dataset
    from aae.core.inference import encode_all

    checkpoint = load_checkpoint(options.checkpoint)
    if not checkpoint.model.has_encoder:
        raise ValueError(f"{options.checkpoint} is a {checkpoint.model.kind}: it has no encoder, so no codes")
    dataset = dataset_of(checkpoint.card)
    splits = load_dataset(dataset, data_dir=options.data_dir, test=options.split == "test")
    x, y = {"test": lambda: (splits.test_x, splits.test_y), "val": lambda: (splits.val_x, splits.val_y),
            "train": lambda: (splits.train_x, splits.train_y)}[options.split]()
    codes = encode_all(checkpoint.model.eval(), x).float().numpy()
    out = Path(options.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    with open(out, "wb") as handle:  # np.savez would add .npz to a name without it
        np.savez(handle, codes=codes.astype(np.float32), labels=y.numpy().astype(np.int64))
    print(f"wrote {out}: {codes.shape[0]:,} {dataset} {options.split} codes of {codes.shape[1]} dimensions")
    return 0


def recipes(options) -> int:
    from aae.lab.recipes import all_recipes, get_recipe

    if options.ship:
        print("int8" if get_recipe(options.ship).ship == "int8" else "half")
        return 0
    chosen = [recipe for recipe in all_recipes() if recipe.shipped or not options.shipped]
    if options.names:
        print("\n".join(recipe.name for recipe in chosen))
        return 0
    for recipe in chosen:
        print(f"{recipe.name}{'' if recipe.shipped else '  (not shipped)'}\n  {recipe.summary}\n  {recipe.command}")
        if recipe.paper:
            print(f"  paper: {recipe.paper}")
    return 0


def info(options) -> int:
    from aae.core.checkpoints import read_card

    card = read_card(options.checkpoint)
    card.get("training", {}).pop("history", None)
    print(json.dumps(card, indent=2))
    return 0


def eval(options) -> int:  # noqa: A001 - the command's name
    """Each checkpoint is measured on its own dataset's test set, with that dataset's classifier."""
    from aae.core.checkpoints import classifier_path, dataset_of, load_checkpoint, update_card
    from aae.core.data import load_dataset
    from aae.core.metrics.evaluate import evaluate, format_table

    splits_by_dataset: dict[str, Any] = {}
    classifiers: dict[str, Any] = {}

    def classifier_for(dataset: str):
        if dataset not in classifiers:
            path = Path(options.classifier) if options.classifier else classifier_path(dataset)
            if path.exists():
                classifiers[dataset] = load_checkpoint(path).model
            elif options.classifier:
                raise ValueError(f"no classifier checkpoint at {path}")
            else:
                classifiers[dataset] = None
                print(f"(no {dataset} classifier at {path}: Fréchet distance and coverage skipped; train one with "
                      f"`aae train --model classifier --dataset {dataset} --out {path}`)", file=sys.stderr)
        return classifiers[dataset]

    names, rows = [], []
    for path in options.checkpoints:
        checkpoint = load_checkpoint(path)
        dataset = dataset_of(checkpoint.card)
        if dataset not in splits_by_dataset:
            splits_by_dataset[dataset] = load_dataset(dataset, data_dir=options.data_dir, test=True)
        print(f"evaluating {checkpoint.name} on {dataset} …", file=sys.stderr)
        started = time.time()
        row = evaluate(checkpoint.model, splits_by_dataset[dataset], classifier=classifier_for(dataset),
                       n_samples=options.samples, seed=options.seed, parzen=not options.no_parzen)
        row["data"]["seconds"] = round(time.time() - started, 1)
        names.append(checkpoint.name)
        rows.append(row)
        if options.write:
            update_card(path, {"metrics": row})
    if options.json:
        print(json.dumps(dict(zip(names, rows)), indent=2))
    else:
        print(format_table(names, rows))
    return 0

