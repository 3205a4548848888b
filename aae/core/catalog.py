"""The catalogue of model kinds, and the one place that turns options into configs and cards.

Each model module declares its `CATALOG_ENTRIES` next to the model (aae.core.models.base.CatalogEntry);
this module reads them. The CLI, the Train page, jobs, the Home cards and `aae eval` all ask it:
which kinds exist and what they can do (`kinds`, `entry`), how a set of options becomes a
config (`build_config`, checked by `validate_config`), which options a kind has and what each
means (`config_options`, with help taken from the config dataclass's comments), how training is
configured (`train_config`).
"""

from __future__ import annotations

import dataclasses
import inspect
import io
import tokenize
import typing
from collections.abc import Mapping
from dataclasses import dataclass, replace
from functools import cache
from typing import Any

from aae.core.corruption import check_corruption
from aae.core.models import CATALOG, CatalogEntry
from aae.core.prior_images import image_prior_config
from aae.core.priors import IMAGE_PRIOR, PRIOR_NAMES, TWO_D_PRIORS, PriorConfig, make_prior

SEED_MAX = 2**31 - 1  # the largest seed a page's seed box takes (torch.Generator accepts 64-bit; UIs stay at 31)

# Command-line names of config fields where they differ (`--clusters 16` sets n_categories).
OPTION_ALIASES: dict[str, str] = {"clusters": "n_categories", "balance": "balance_weight",
                                  "consistency": "consistency_weight", "pseudo_label": "pseudo_label_threshold",
                                  "cycle": "cycle_weight"}
# Options that are not fields but build one: the prior's name and scale make its PriorConfig.
PRIOR_OPTIONS = ("prior", "prior_std")


def entry(kind: str) -> CatalogEntry:
    """The catalogue entry of `kind`; ValueError naming the known kinds otherwise."""
    if kind not in CATALOG:
        raise ValueError(f"unknown model kind {kind!r}; choose one of {', '.join(CATALOG)}")
    return CATALOG[kind]


def kinds(*, trainable: bool | None = None, **capabilities: bool) -> tuple[str, ...]:
    """The kinds, in catalogue order, that have every capability asked for (e.g. `encoder=True`) and, if
    given, are (not) trainable in the app. Capability names are those of CatalogEntry.capabilities."""
    chosen = []
    for kind, e in CATALOG.items():
        caps = e.capabilities
        unknown = set(capabilities) - set(caps)
        if unknown:
            raise ValueError(f"unknown capabilities: {', '.join(sorted(unknown))}")
        if trainable is not None and e.trainable != trainable:
            continue
        if all(caps[name] == wanted for name, wanted in capabilities.items()):
            chosen.append(kind)
    return tuple(chosen)


def kind_of_config(config: Any) -> str:
    """The kind whose config class `config` is an instance of (exactly: a subclass's own kind wins)."""
    for kind, e in CATALOG.items():
        if type(config) is e.config:
            return kind
    raise ValueError(f"no model kind takes a {type(config).__name__}")


def label(kind: str) -> str:
    return CATALOG[kind].label if kind in CATALOG else kind


def describe_config(kind: str, config: Mapping[str, Any], *, latent_dim: int, prior: str) -> list[str]:
    """Short phrases for a model's card, from its checkpoint's config: "8-D gaussian prior", "16 clusters",
    "denoising (gaussian 0.5)"; what a kind can do decides which of its fields are worth saying."""
    caps = entry(kind).capabilities
    details = []
    if caps["categorical"] or caps["conditional"]:
        details.append(f"{latent_dim}-D style")
        if "n_categories" in config and not caps["uses_labels"]:
            details.append(f"{config['n_categories']} clusters")
        if "labels_per_class" in config:
            labels = config["labels_per_class"]
            details.append(f"{'all' if labels is None else labels * 10} labels")
    elif caps["generates"]:
        details.append(f"{latent_dim}-D {prior} prior")
        if "encoder" in config:
            details.append(f"{config['encoder']} encoder")
        if config.get("label_regularized"):
            details.append("label-regularised")
        if config.get("corruption", "none") != "none":
            details.append(f"denoising ({config['corruption']} {config['corruption_level']:g})")
        if config.get("feature_matching"):
            details.append(f"{config.get('generator', 'dense')} generator, feature matching")
    return details


# -- options and their help ---------------------------------------------------------------------

@dataclass(frozen=True)
class ConfigOption:
    """One field of a model's config as a form or a command line offers it."""

    name: str  # the field's name
    type: Any  # its type hint (int, float, bool, a Literal, PriorConfig, tuple[int, ...], int | None)
    default: Any
    help: str  # from the comment beside (or above) the field in its dataclass

    @property
    def choices(self) -> tuple[Any, ...] | None:
        hint = self.type
        if typing.get_origin(hint) is typing.Literal:
            return typing.get_args(hint)
        return None

    @property
    def optional(self) -> bool:
        return type(None) in typing.get_args(self.type)

    @property
    def base_type(self) -> Any:
        """int, float, bool, str, PriorConfig or tuple: what a widget edits (None stripped from `int | None`)."""
        if self.choices is not None:
            return str
        args = [a for a in typing.get_args(self.type) if a is not type(None)]
        hint = args[0] if self.optional and len(args) == 1 else self.type
        return typing.get_origin(hint) or hint


def _field_comments(cls: type) -> dict[str, str]:
    """{field: comment} from one dataclass's source: the comment after a field, else the comment lines above it."""
    try:
        source = inspect.getsource(cls)
    except (OSError, TypeError):
        return {}
    comments: dict[str, str] = {}
    pending: list[str] = []
    lines = source.splitlines()
    tokens = list(tokenize.generate_tokens(io.StringIO(source).readline))
    inline = {tok.start[0]: tok.string.lstrip("# ").strip() for tok in tokens if tok.type == tokenize.COMMENT}
    for number, line in enumerate(lines, start=1):
        stripped = line.strip()
        if stripped.startswith("#"):
            pending.append(stripped.lstrip("# ").strip())
            continue
        name = stripped.split(":", 1)[0].strip()
        if ":" in stripped and name.isidentifier() and not stripped.startswith(("def ", "class ", "@")):
            comments[name] = inline.get(number) or " ".join(pending)
        pending = []
    return comments


@cache
def config_options(config_cls: type) -> tuple[ConfigOption, ...]:
    """Every field of a config dataclass with its type, default and help (inherited comments included)."""
    hints = typing.get_type_hints(config_cls)
    helps: dict[str, str] = {}
    for cls in reversed(config_cls.__mro__):  # a subclass's comment wins over its parent's
        if dataclasses.is_dataclass(cls):
            helps.update({k: v for k, v in _field_comments(cls).items() if v})
    options = []
    for f in dataclasses.fields(config_cls):
        default = f.default if f.default is not dataclasses.MISSING else (
            f.default_factory() if f.default_factory is not dataclasses.MISSING else None)
        help_text = f.metadata.get("help") or helps.get(f.name, "")
        options.append(ConfigOption(f.name, hints[f.name], default, help_text))
    return tuple(options)


def option_name(field_name: str) -> str:
    """The command-line flag that sets a field: n_categories -> --clusters, latent_dim -> --latent-dim."""
    alias = next((k for k, v in OPTION_ALIASES.items() if v == field_name), field_name)
    return "--" + alias.replace("_", "-")


def parse_option(option: ConfigOption, text: str) -> Any:
    """A field's value from text (`--set name=value`): numbers, booleans, tuples "256,512", none."""
    text = text.strip()
    if option.optional and text.lower() in ("none", "all", ""):
        return None
    kind = option.base_type
    try:
        if kind is bool:
            if text.lower() not in ("true", "false", "1", "0", "yes", "no", "on", "off"):
                raise ValueError
            return text.lower() in ("true", "1", "yes", "on")
        if kind is int:
            return int(text)
        if kind is float:
            return float(text)
        if kind is tuple:
            return tuple(int(part) for part in text.split(",") if part.strip())
    except ValueError:
        raise ValueError(f"{option.name} takes a {getattr(kind, '__name__', kind)}, not {text!r}") from None
    if option.choices is not None and text not in option.choices:
        raise ValueError(f"{option.name} is one of {', '.join(map(str, option.choices))}, not {text!r}")
    if kind is PriorConfig:
        return PriorConfig(name=text)
    return text


# -- options -> config ----------------------------------------------------------------------------

def build_config(kind: str, options: Mapping[str, Any] | None = None) -> Any:
    """The config of a `kind` model from options (field names or their command-line aliases; None = unset).

    `prior` (a name) and `prior_std` build the PriorConfig: an unset scale is the config's default scale for
    its default prior (the AAE's N(0, 5²I)), else 1. A 2-D-only prior without a latent size gets 2. Options
    the kind has no field for are an error that names the option, and the result is checked
    (`validate_config`) without building any network.
    """
    e = entry(kind)
    fields = {o.name: o for o in config_options(e.config)}
    values: dict[str, Any] = {}
    for key, value in (options or {}).items():
        if value is None or key in PRIOR_OPTIONS:
            continue
        name = OPTION_ALIASES.get(key, key)
        if name not in fields:
            raise ValueError(_not_applicable(name, e))
        if fields[name].optional and isinstance(value, str) and value.lower() in ("all", "none"):
            value = None  # set explicitly: "all" labels
        values[name] = value
    prior_name, prior_std = (options or {}).get("prior"), (options or {}).get("prior_std")
    if prior_name is not None or prior_std is not None:
        if "prior" not in fields:
            raise ValueError(_not_applicable("prior", e))
        base = fields["prior"].default
        if isinstance(prior_name, PriorConfig):  # already built (a drawn prior from the app)
            values["prior"] = prior_name if prior_std is None else dataclasses.replace(prior_name, std=float(prior_std))
        elif isinstance(prior_name, str) and prior_name.startswith(f"{IMAGE_PRIOR}:"):  # --prior image:PATH
            values["prior"] = image_prior_config(prior_name.split(":", 1)[1], std=float(prior_std or 1.0))
        else:
            name = prior_name or base.name
            std = prior_std if prior_std is not None else (base.std if name == base.name else 1.0)
            values["prior"] = PriorConfig(name=name, std=float(std))
    for key, value in e.config.dependent_defaults(values).items():
        values.setdefault(key, value)
    prior = values.get("prior")
    two_d = (*TWO_D_PRIORS, IMAGE_PRIOR)
    if "latent_dim" in fields and "latent_dim" not in values and prior is not None and prior.name in two_d:
        values["latent_dim"] = 2
    try:
        config = e.config(**values)
    except TypeError as error:
        raise ValueError(f"bad options for the {e.label}: {error}") from None
    validate_config(kind, config)
    return config


def _not_applicable(name: str, e: CatalogEntry) -> str:
    having = [k for k, other in CATALOG.items() if any(o.name == name for o in config_options(other.config))]
    where = f"; it applies to --model {' / '.join(having)}{' only' if len(having) == 1 else ''}" if having else ""
    return f"{option_name(name)} does not apply to the {e.label}{where}"


def validate_config(kind: str, config: Any) -> None:
    """ValueError with a message for people when `config` cannot make a `kind` model (caught before a job
    starts, without building networks): a prior the kind does not take, a 2-D prior at another size, label
    regularisation with a prior that has no part per class, a corruption out of range."""
    e = entry(kind)
    if not isinstance(config, e.config):
        raise ValueError(f"a {kind} model takes a {e.config.__name__}, not a {type(config).__name__}")
    prior_config = getattr(config, "prior", None)
    if prior_config is None:
        return
    if prior_config.name not in (*PRIOR_NAMES, IMAGE_PRIOR):
        raise ValueError(f"unknown prior {prior_config.name!r}; choose one of {', '.join(PRIOR_NAMES)}, "
                         "or image:PATH")
    if e.priors is not None and prior_config.name not in e.priors:
        names = " or ".join("Gaussian" if p == "gaussian" else p for p in e.priors)
        raise ValueError(f"the {e.label} takes a {names} prior, not {prior_config.name!r}")
    prior = make_prior(prior_config, config.latent_dim)  # a 2-D-only prior at another size raises here
    if getattr(config, "corruption", None) is not None:
        check_corruption(config.corruption, config.corruption_level)
    if getattr(config, "label_regularized", False) and not prior.supports_labels:
        raise ValueError("label-regularised training needs a prior with one part per class "
                         f"({' or '.join(TWO_D_PRIORS)}), not {prior_config.name!r}")


# -- training -------------------------------------------------------------------------------------

def training_defaults(kind: str) -> dict[str, Any]:
    """The training options whose default depends on the kind (its rate, its batch, its regularisation, its
    adversary), for its default config: what its config's `training_defaults` says."""
    return entry(kind).config().training_defaults()


def training_options(kind: str) -> tuple[ConfigOption, ...]:
    """TrainConfig's fields as a form offers them for a `kind` model, each with the default that kind trains with."""
    from aae.core.training import TrainConfig

    defaults = training_defaults(kind)
    return tuple(replace(o, default=defaults.get(o.name, o.default)) for o in config_options(TrainConfig))


def train_config(kind: str, model_config: Any, **options: Any):
    """The TrainConfig for a `kind` model of `model_config`: the options set (not None), and for the rest the
    defaults its config gives (`training_defaults`: the kind's rate, batch and regularisation, and the adversary
    that works for this config, e.g. a label-regularised AAE's)."""
    from aae.core.training import TrainConfig

    e = entry(kind)
    if not isinstance(model_config, e.config):
        raise ValueError(f"a {kind} model takes a {e.config.__name__}, not a {type(model_config).__name__}")
    given = {k: v for k, v in options.items() if v is not None}
    return TrainConfig(**{**model_config.training_defaults(given), **given})
