"""Named recipes: each shipped model comes from one, one small TOML file per recipe in this folder.

A recipe file holds a one-line `summary`, the figure of the paper it is set beside (`paper`), whether its
model is in `checkpoints/` (`shipped`, and `ship`: how its weights are stored there), a pointer to its entry
in the results document (`results`), under `[run]` the run specification's fields it sets, by name,
as `aae train` takes them, and under `[chosen]` which of those values a validation sweep chose: the field's name
and the sweep's folder in docs/sweeps (`corruption_level = "aae-8d"`), or a table that also names the value the
recipe held before the sweep changed it (`consistency_weight = { sweep = "cluster-16", before = 30.0 }`), or why the
recipe does not follow its sweep yet (`pending = "..."`).
`aae recipes` lists them and `aae train --recipe NAME` runs one; any flag given after it wins. A checkpoint
trained from a recipe records the recipe's name and values in its card.
"""

from __future__ import annotations

import tomllib
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import Any

FOLDER = Path(__file__).resolve().parent


@dataclass(frozen=True)
class Choice:
    """A value of a recipe chosen by a validation sweep (docs/sweeps/`sweep`), and its value before, if it changed."""

    sweep: str
    before: Any = None
    pending: str | None = None  # why the recipe does not follow its sweep's pick yet (e.g. a model to retrain)


@dataclass(frozen=True)
class Recipe:
    name: str  # also the shipped checkpoint's folder in checkpoints/
    summary: str  # one line for people
    run: dict[str, Any] = field(default_factory=dict)  # the run specification's fields it sets (aae.core.spec.resolve)
    ship: str = "float16"  # how checkpoints/NAME stores it: float16 or int8 inference weights
    paper: str = ""  # the paper's figure or number it is compared with
    shipped: bool = True  # False: a recipe for comparison, not in checkpoints/
    results: str = ""  # where the results document discusses it
    additions: tuple[str, ...] = ()  # what it adds to the paper's recipe, for people (named beside its figures)
    chosen: dict[str, Choice] = field(default_factory=dict)  # {field of run: the validation sweep that chose it}

    @property
    def args(self) -> tuple[str, ...]:
        """The recipe as `aae train` flags (for people and cards; `--recipe NAME` is the same run)."""
        args: list[str] = []
        for name, value in self.run.items():
            flag = "--" + name.replace("_", "-")
            if isinstance(value, bool):
                args.append(flag if value else "--no-" + name.replace("_", "-"))
            elif isinstance(value, list | tuple):
                args += [flag, *map(str, value)]
            else:
                args += [flag, str(value)]
        return tuple(args)

    @property
    def command(self) -> str:
        return "aae train " + " ".join(self.args)

    @property
    def kind(self) -> str:
        return self.run.get("model", "aae")


def _load(path: Path) -> Recipe:
    try:
        data = tomllib.loads(path.read_text())
    except tomllib.TOMLDecodeError as error:
        raise ValueError(f"recipe {path.stem}: {error}") from None
    known = {"summary", "run", "ship", "paper", "shipped", "results", "additions", "chosen"}
    unknown = set(data) - known
    if unknown or "summary" not in data:
        raise ValueError(f"recipe {path.stem}: needs a summary; unknown keys: {', '.join(sorted(unknown)) or 'none'}")
    data["additions"] = tuple(data.get("additions", ()))
    chosen = {}
    for name, choice in data.get("chosen", {}).items():
        if name not in data.get("run", {}):
            raise ValueError(f"recipe {path.stem}: [chosen] names {name!r}, which its [run] does not set")
        chosen[name] = Choice(choice) if isinstance(choice, str) else Choice(**choice)
    data["chosen"] = chosen
    return Recipe(name=path.stem, **data)


@cache
def all_recipes() -> tuple[Recipe, ...]:
    """Every recipe, shipped ones first, each group by name."""
    recipes = [_load(path) for path in FOLDER.glob("*.toml")]
    return tuple(sorted(recipes, key=lambda r: (not r.shipped, r.name)))


def get_recipe(name: str) -> Recipe:
    for recipe in all_recipes():
        if recipe.name == name:
            return recipe
    names = ", ".join(r.name for r in all_recipes())
    raise ValueError(f"unknown recipe {name!r}; `aae recipes` lists them: {names}")


def recipes_for(kind: str) -> tuple[Recipe, ...]:
    """The recipes that train a `kind` model (what the Train page offers as starting points)."""
    return tuple(r for r in all_recipes() if r.kind == kind)
