"""The options of the `aae` commands other than `train` (whose flags are generated from the run specification):
one frozen dataclass each, read by tyro, each field's comment its help."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import tyro

Positional = tyro.conf.Positional


@dataclass(frozen=True)
class Sample:
    """Decode prior samples of a checkpoint into a PNG grid."""

    checkpoint: Positional[str]
    out: str  # the PNG file to write
    n: int = 100  # how many samples
    seed: int = 0
    manifold: bool = False  # a 2-D model: decode a regular grid over the plane


@dataclass(frozen=True)
class Export:
    """Copy a checkpoint as small inference-only weights (for shipping)."""

    checkpoint: Positional[str]
    out: str  # the checkpoint folder to write
    half: bool = False  # float16 weights (the default)
    int8: bool = False  # int8 weight matrices with one scale per row


@dataclass(frozen=True)
class Recipes:
    """List the named recipes the shipped models were trained with."""

    names: bool = False  # only the names, one per line
    shipped: bool = False  # only the recipes of the models in checkpoints/
    ship: str | None = None  # print how this recipe is shipped: half or int8


@dataclass(frozen=True)
class Info:
    """Print a checkpoint's card."""

    checkpoint: Positional[str]


@dataclass(frozen=True)
class Encode:
    """Write a split's codes (N, D) and labels to an .npz, for other tools."""

    checkpoint: Positional[str]
    out: str  # the .npz to write: arrays `codes` (float32) and `labels` (int64)
    split: Literal["test", "val", "train"] = "test"  # which images to encode
    data_dir: str | None = None  # data root (default: $AAE_DATA_DIR, else ./data)


@dataclass(frozen=True)
class Eval:
    """Measure finished checkpoints on their dataset's test images: Parzen, Fréchet, coverage, latent metrics."""

    checkpoints: Positional[tuple[str, ...]]
    data_dir: str | None = None  # data root (default: $AAE_DATA_DIR, else ./data)
    samples: int = 10_000  # samples per model (papers: 10,000)
    classifier: str | None = None  # classifier checkpoint for Fréchet and coverage (default: the dataset's shipped one)
    no_parzen: bool = False  # skip the Parzen estimate (the slowest metric)
    seed: int = 0
    json: bool = False  # print JSON instead of a table
    write: bool = False  # store the metrics in each checkpoint's card


@dataclass(frozen=True)
class Sweep:
    """Train a recipe over a grid of values and seeds, judge every trial on validation images, and pick the best
    mean over seeds. Trials run in parallel processes; several machines share one --storage."""

    recipe: Positional[str]
    out: str  # the folder for the sweep's record (sweep.json) and its study journal
    set: tyro.conf.UseAppendAction[tuple[str, ...]] = ()  # FIELD=V1,V2 sweeps a field; FIELD=V sets it for all
    seeds: tuple[int, ...] = (0,)  # each value combination is trained with each of these seeds
    workers: int = 1  # trials at once, each in its own process
    metric: str | None = None  # the validation figure to pick by (default: the model's error, else Parzen)
    samples: int = 2000  # samples per model for the validation Parzen estimate and Fréchet distance
    storage: str | None = None  # a shared journal file or database URL (default: a journal in --out)


@dataclass(frozen=True)
class Seeds:
    """Train a recipe with each seed, then measure every finished model as `aae eval` measures a shipped one, and
    write the recipe's seed figures."""

    recipe: Positional[str]
    out: str  # the folder for the trained models and the sweep's record
    seeds: tuple[int, ...] = (0, 1, 2)
    workers: int = 1  # seeds trained at once, each in its own process
    set: tyro.conf.UseAppendAction[tuple[str, ...]] = ()  # FIELD=V for every seed (e.g. a shorter run)
    samples: int = 10_000  # samples per model for Parzen and Fréchet, as `aae eval`
    figures: str | None = None  # the seed figures file to update (default: the lab's)


@dataclass(frozen=True)
class Report:
    """Write docs/results.md and the README's results table from the cards, seed figures and sweep records."""

    check: bool = False  # write nothing; fail when a committed file is not what the sources give
