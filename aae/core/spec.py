"""The run specification: one object says everything a training run needs, and one function resolves it.

A run is a model kind with its config, the training config and the data. Every field is declared once, in
its dataclass, with its user help in the field's metadata (`aae.core.models.base.setting`). `resolve` turns a
flat mapping of field values (from the command line, a recipe, the Train page or a job) into a `RunSpec`:
the kind's defaults, the defaults that depend on other options, and the checks, in one place. The CLI is
generated from `spec_fields`, the Train page shows `RunSpec.describe()`, and `aae train --dry-run` prints it.
"""

from __future__ import annotations

import dataclasses
import typing
from collections.abc import Mapping
from dataclasses import asdict, dataclass, field
from typing import Any

from aae.core import catalog
from aae.core.data import DatasetName
from aae.core.models.base import setting
from aae.core.priors import PRIOR_NAMES, PriorConfig
from aae.core.training import TrainConfig

SECTIONS = ("model", "train", "data")


@dataclass(frozen=True)
class DataSpec:
    """Which images a run trains on."""

    dataset: DatasetName = setting("mnist", "the images to train on")
    train_limit: int | None = setting(None, "use only this many training images (default: all of the training split)")
    data_dir: str | None = setting(None, "where the datasets are (default: $AAE_DATA_DIR, else ./data)")

    def __post_init__(self) -> None:
        if self.train_limit is not None and self.train_limit < 1:
            raise ValueError(f"train_limit must be at least 1, got {self.train_limit}")


@dataclass(frozen=True)
class SpecField:
    """One field of a run specification as a command line or a form offers it."""

    name: str  # the field's name (its command-line flag is `--` + name with dashes, or `flag`)
    section: str  # model, train or data
    type: Any
    default: Any  # the resolved default for the kind
    help: str
    flag: str | None = None  # a shorter command-line name (`clusters` for n_categories)

    @property
    def cli_name(self) -> str:
        return (self.flag or self.name).replace("_", "-")


@dataclass(frozen=True)
class RunSpec:
    """A whole run: `kind`, its model config, the training config and the data."""

    kind: str
    model: Any
    train: TrainConfig
    data: DataSpec = field(default_factory=DataSpec)

    def to_dict(self) -> dict[str, Any]:
        return {"kind": self.kind, "model": asdict(self.model), "train": asdict(self.train), "data": asdict(self.data)}

    def values(self) -> dict[str, Any]:
        """Every field's value by name, flat (the prior as `prior` and `prior_std`): what `resolve` takes back."""
        flat: dict[str, Any] = {"model": self.kind}
        for section in (self.model, self.train, self.data):
            for f in dataclasses.fields(section):
                value = getattr(section, f.name)
                if isinstance(value, PriorConfig):
                    flat["prior"], flat["prior_std"] = value.name, value.std
                else:
                    flat[f.name] = value
        return flat

    def describe(self) -> str:
        """The resolved specification as TOML-like text, one section per part (what `--dry-run` prints)."""
        lines = [f'model = "{self.kind}"  # {catalog.label(self.kind)}']
        for title, section in (("model", self.model), ("train", self.train), ("data", self.data)):
            lines.append(f"\n[{title}]")
            for f in dataclasses.fields(section):
                value = getattr(section, f.name)
                if isinstance(value, PriorConfig):
                    lines.append(f'prior = "{value.name}"')
                    lines.append(f"prior_std = {value.std:g}")
                    continue
                lines.append(f"{f.name} = {_toml_value(value)}")
        return "\n".join(lines)


def _toml_value(value: Any) -> str:
    if value is None:
        return '"none"'
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        return f'"{value}"'
    if isinstance(value, (tuple, list)):
        return "[" + ", ".join(_toml_value(v) for v in value) + "]"
    if isinstance(value, float):
        return f"{value:g}" if "e" not in f"{value:g}" else repr(value)
    return str(value)


def _hints(cls: type) -> dict[str, Any]:
    return typing.get_type_hints(cls)


def _section_fields(kind: str) -> dict[str, tuple[str, dataclasses.Field, Any]]:
    """{name: (section, dataclass field, type)} for every field of a `kind` run; the prior is split in two."""
    out: dict[str, tuple[str, dataclasses.Field, Any]] = {}
    for section, cls in (("model", catalog.entry(kind).config), ("train", TrainConfig), ("data", DataSpec)):
        hints = _hints(cls)
        for f in dataclasses.fields(cls):
            if f.name in out:
                raise RuntimeError(f"the {kind} run has two fields named {f.name!r} ({out[f.name][0]} and {section})")
            out[f.name] = (section, f, hints[f.name])
    return out


def _aliases(kind: str) -> dict[str, str]:
    """{flag: field name} for the fields declared with a shorter command-line name."""
    aliases = {}
    for name, (_, f, _) in _section_fields(kind).items():
        flag = f.metadata.get("flag") or next((k for k, v in catalog.OPTION_ALIASES.items() if v == name), None)
        if flag:
            aliases[flag] = name
    return aliases


def spec_fields(kind: str) -> tuple[SpecField, ...]:
    """Every field of a `kind` run, in order (model, train, data), with the default it resolves to for `kind`."""
    base = resolve({}, kind=kind).values()
    aliases = {v: k for k, v in _aliases(kind).items()}
    options = {o.name: o for o in catalog.config_options(catalog.entry(kind).config)}
    fields: list[SpecField] = []
    for name, (section, f, hint) in _section_fields(kind).items():
        help_text = f.metadata.get("help") or (options[name].help if name in options else "")
        if hint is PriorConfig:
            fields.append(SpecField("prior", section, str, base["prior"],
                                    "the prior p(z): " + ", ".join(PRIOR_NAMES) + ", or image:PATH (a "
                                    "2-D density drawn as a PNG, dark ink on light)"))
            fields.append(SpecField("prior_std", section, float, base["prior_std"],
                                    "the prior's scale: N(0, std²I); a mixture's and a roll's radius grow with it"))
            continue
        fields.append(SpecField(name, section, hint, base.get(name), help_text, aliases.get(name)))
    return tuple(fields)


def _parse(name: str, hint: Any, text: str) -> Any:
    option = catalog.ConfigOption(name, hint, None, "")
    return catalog.parse_option(option, text)


def resolve(values: Mapping[str, Any] | None = None, *, kind: str | None = None) -> RunSpec:
    """The run that `values` ask for: a flat mapping of field names (or their short flags) to values; text
    (from `--set`) is parsed by the field's type. `model` names the kind (else `kind`, else the AAE).
    Fields left out take the kind's defaults, including those that depend on other fields (a conv GAN's
    feature matching, a label-regularised AAE's adversarial weight). A field the kind has no use for is an
    error that names where it applies."""
    values = dict(values or {})
    kind = values.pop("model", None) or kind or "aae"
    catalog.entry(kind)  # unknown kinds are refused with the list of known ones
    fields = _section_fields(kind)
    aliases = _aliases(kind)
    parts: dict[str, dict[str, Any]] = {section: {} for section in SECTIONS}
    for key, value in values.items():
        name = aliases.get(key, key).replace("-", "_")
        if name in ("prior", "prior_std") and "prior" in fields:
            parts["model"][name] = value
            continue
        if name not in fields:
            raise ValueError(_not_applicable(kind, name))
        section, _, hint = fields[name]
        optional = type(None) in typing.get_args(hint)
        if optional and (value is None or (isinstance(value, str) and value.lower() in ("none", "all"))):
            value = "none" if section == "model" else None  # set explicitly to none ("all" labels)
        elif isinstance(value, str) and hint is not str and typing.get_origin(hint) is not typing.Literal:
            value = _parse(name, hint, value)
        elif isinstance(value, list):
            value = tuple(value)
        elif typing.get_origin(hint) is tuple and isinstance(value, int | float):
            value = (value,)  # one epoch of a list (a sweep's lr_steps=24)
        parts[section][name] = value
    model = catalog.build_config(kind, parts["model"])
    try:
        train = catalog.train_config(kind, model, **parts["train"])
        data = DataSpec(**parts["data"])
    except TypeError as error:
        raise ValueError(f"bad options for the {catalog.label(kind)}: {error}") from None
    return RunSpec(kind, model, train, data)


def _not_applicable(kind: str, name: str) -> str:
    having = [k for k in catalog.CATALOG if name in _section_fields(k) or (name == "prior_std" and "prior" in
                                                                         _section_fields(k))]
    where = (f"; it applies to --model {' / '.join(having)}{' only' if len(having) == 1 else ''}" if having
             else "; `aae train --model KIND --help` lists them")
    return f"--{name.replace('_', '-')} does not apply to the {catalog.label(kind)}{where}"


def from_card(card: Mapping[str, Any]) -> RunSpec:
    """The run a checkpoint card records (its config, training and dataset)."""
    from aae.core.models import config_from_dict

    kind = card["kind"]
    model = config_from_dict(kind, card["config"])
    train_fields = {f.name for f in dataclasses.fields(TrainConfig)}
    training = {k: v for k, v in card.get("training", {}).items() if k in train_fields}
    dataset = card.get("dataset", {})
    data = DataSpec(dataset=dataset.get("name", "mnist"),
                    train_limit=dataset.get("train_limit"))
    return RunSpec(kind, model, TrainConfig(**training), data)
