"""The `aae` command. Every training flag is generated (by tyro) from the run specification's fields, so a
field's name, type, default and help are declared once, in its dataclass (aae.spec)."""

from __future__ import annotations

import dataclasses
import json
import sys
import typing
from dataclasses import dataclass, field
from typing import Annotated, Any, Literal

import tyro

from aae import catalog, commands
from aae.spec import RunSpec, resolve, spec_fields

Positional = tyro.conf.Positional
TYRO = (tyro.conf.FlagCreatePairsOff,)  # plain --flag for a command's switches


@dataclass(frozen=True)
class TrainCommand:
    """Train a model and write a checkpoint. Every field of the model's config, the training and the data is a
    flag below, with the default it takes for the chosen --model."""

    model: str = "aae"  # the model kind (`aae train --model KIND --help` shows that kind's fields)
    recipe: str | None = None  # start from a named recipe (`aae recipes`); flags given beside it win
    set: tuple[str, ...] = ()  # FIELD=VALUE for any field, e.g. --set beta=0.5 (repeatable)
    out: str | None = None  # the checkpoint folder to write
    resume: str | None = None  # a checkpoint to continue training (its model config is kept)
    save_every: int = 5  # write a resumable checkpoint every N epochs (0: only at the end)
    half: bool = False  # store float16 inference weights only (small, for shipping; cannot be resumed)
    int8: bool = False  # store int8 inference weights (one scale per row; cannot be resumed)
    fields: bool = False  # list the model's fields with their help and defaults, and exit
    dry_run: bool = False  # print the resolved run specification, and exit
    quiet: bool = False  # no progress bar


def _field_type(hint: Any) -> Any:
    """What tyro parses for a field: optional numbers also take `none` (and `all`: every label)."""
    args = [a for a in typing.get_args(hint) if a is not type(None)]
    if type(None) in typing.get_args(hint) and len(args) == 1 and args[0] in (int, float):
        base = args[0]
        spec = tyro.constructors.PrimitiveConstructorSpec(
            nargs=1, metavar=f"{base.__name__.upper()}|none",
            instance_from_str=lambda texts: None if texts[0].lower() in ("none", "all") else base(texts[0]),
            is_instance=lambda value: value is None or isinstance(value, base),
            str_from_instance=lambda value: ["none" if value is None else str(value)])
        return Annotated[hint, spec]
    return hint


@typing.no_type_check
def train_view(kind: str, spec: RunSpec) -> type:
    """The `aae train` flags for a `kind` run: the command's own, then every specification field, each with
    the default `spec` gives it and its declared help."""
    values = spec.values()
    hints = typing.get_type_hints(TrainCommand)
    columns = []
    for f in dataclasses.fields(TrainCommand):
        if f.name == "model":
            continue
        hint = Annotated[_field_type(hints[f.name]), tyro.conf.arg(help=_help(f.name))]
        if f.name == "set":
            hint = tyro.conf.UseAppendAction[hint]
        elif hints[f.name] is bool:
            hint = tyro.conf.FlagCreatePairsOff[hint]
        columns.append((f.name, hint, field(default=f.default)))
    columns.insert(0, ("model", Annotated[Literal[tuple(catalog.CATALOG)], tyro.conf.arg(
        help="; ".join(f"{k}: {e.summary}" for k, e in catalog.CATALOG.items()))], field(default=kind)))
    for f in spec_fields(kind):
        aliases = (f"--{f.flag.replace('_', '-')}",) if f.flag else None
        hint = Annotated[_field_type(f.type), tyro.conf.arg(help=f.help, aliases=aliases)]
        columns.append((f.name, hint, field(default=values.get(f.name, f.default))))
    return dataclasses.make_dataclass(f"Train_{kind}", columns, frozen=True)


def _help(name: str) -> str:
    return commands.command_help(TrainCommand, name)


def _peek(argv: list[str], flag: str) -> str | None:
    for i, token in enumerate(argv):
        if token == flag and i + 1 < len(argv):
            return argv[i + 1]
        if token.startswith(flag + "="):
            return token.split("=", 1)[1]
    return None


def _given(argv: list[str], kind: str) -> set[str]:
    """The specification fields a command line sets (they win over the recipe and over dependent defaults)."""
    names = {}
    for f in spec_fields(kind):
        for name in {f.name, f.flag or f.name}:
            flag = "--" + name.replace("_", "-")
            names[flag] = names[flag.replace("--", "--no-", 1)] = f.name
    return {names[t.split("=", 1)[0]] for t in argv if t.split("=", 1)[0] in names}


def _refuse_other_kinds_flags(argv: list[str], kind: str) -> None:
    """A flag of another kind's field is refused with where it applies, not as an unknown option."""
    from aae.spec import _not_applicable

    known = {f.name for f in dataclasses.fields(TrainCommand)} | {"help"}
    for f in spec_fields(kind):
        known |= {f.name, f.flag or f.name}
    for token in argv:
        if not token.startswith("--"):
            continue
        name = token[2:].split("=", 1)[0].replace("-", "_")
        bare = name.removeprefix("no_")
        if name not in known and bare not in known:
            message = _not_applicable(kind, bare)
            if "it applies to" in message:
                raise ValueError(message)


def parse_train(argv: list[str]) -> tuple[TrainCommand, RunSpec, Any]:
    """`aae train` arguments -> (the command's options, the resolved run, the recipe or None)."""
    from aae.lab.recipes import get_recipe

    recipe_name, resume = _peek(argv, "--recipe"), _peek(argv, "--resume")
    recipe = get_recipe(recipe_name) if recipe_name else None
    base = dict(recipe.run) if recipe else {}
    if resume:  # a resumed run goes on as its card says it ran, but for what the command line changes
        from aae.checkpoints import read_card
        from aae.spec import from_card

        base = {k: v for k, v in from_card(read_card(resume)).values().items() if v is not None}
    kind = _peek(argv, "--model") or base.get("model") or "aae"
    base["model"] = kind
    view = train_view(kind, resolve(base))
    _refuse_other_kinds_flags(argv, kind)
    parsed = tyro.cli(view, args=argv, prog="aae train", description=" ".join(TrainCommand.__doc__.split()))
    own = {f.name for f in dataclasses.fields(TrainCommand)}
    options = TrainCommand(**{name: getattr(parsed, name) for name in own})
    given = {name: getattr(parsed, name) for name in _given(argv, kind)}
    for setting in options.set:
        name, sep, value = setting.partition("=")
        if not sep or not name.strip():
            raise ValueError(f"--set takes FIELD=VALUE, not {setting!r}")
        given[name.strip()] = value
    return options, resolve({**base, **given}), recipe


def cmd_train(argv: list[str]) -> int:
    options, spec, recipe = parse_train(argv)
    if options.fields:
        print(f"{spec.kind}: {catalog.label(spec.kind)} — {catalog.entry(spec.kind).summary}")
        current = spec.values()
        for f in spec_fields(spec.kind):
            print(f"  [{f.section}] {f.cli_name} = {current.get(f.name)!r}\n      {f.help}")
        return 0
    if options.dry_run:
        print(spec.describe())
        return 0
    if not options.out:
        raise ValueError("--out is required: the checkpoint folder to write")
    return commands.train(spec, options, recipe=recipe, argv=argv)


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


COMMANDS = {"train": TrainCommand, "sweep": Sweep, "seeds": Seeds, "report": Report, "sample": Sample, "export": Export,
            "recipes": Recipes, "info": Info, "encode": Encode, "eval": Eval}


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    name = argv[0] if argv else None
    try:
        if name == "train":
            return cmd_train(argv[1:])
        if name not in COMMANDS:
            tyro.extras.subcommand_cli_from_dict(COMMANDS, prog="aae", args=argv or ["--help"],
                                                 description="Latent Lab: adversarial autoencoders, VAEs and GANs.")
            return 2
        options = tyro.cli(COMMANDS[name], args=argv[1:], prog=f"aae {name}", config=TYRO)
        return getattr(commands, name)(options)
    except SystemExit as stop:  # --help, or a usage error tyro has printed
        return int(stop.code or 0)
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130
    except (ValueError, RuntimeError, FileNotFoundError) as error:  # our errors carry messages for people
        print(f"aae {name}: error: {error}", file=sys.stderr)
        return 2


def print_json(value: Any) -> None:
    print(json.dumps(value, indent=2))


if __name__ == "__main__":
    sys.exit(main())
