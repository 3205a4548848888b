"""The `aae` command. Every training flag is generated (by tyro) from the run specification's fields, so a
field's name, type, default and help are declared once, in its dataclass (aae.core.spec)."""

from __future__ import annotations

import dataclasses
import os
import sys
import typing
from dataclasses import dataclass, field
from typing import Annotated, Any, Literal

import tyro

from aae.cli import commands
from aae.cli.options import Encode, Eval, Export, Info, Recipes, Report, Sample, Seeds, Sweep
from aae.core import catalog
from aae.core.spec import RunSpec, resolve, spec_fields

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
    from aae.core.spec import _not_applicable

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
        from aae.core.checkpoints import read_card
        from aae.core.spec import from_card

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
    except BrokenPipeError:  # the reader went away (`aae recipes | head`): stop quietly, as other commands do
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())  # nothing more to flush at exit
        return 141
    except (ValueError, RuntimeError, FileNotFoundError) as error:  # our errors carry messages for people
        print(f"aae {name}: error: {error}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
