"""Forms generated from config dataclasses: one widget per field, help from the field's comment.

Every widget starts at "default" (None): only the values a user sets are passed on, so a model's own
defaults, including those that depend on other options (its config's methods), decide the rest, and the
page shows the config that results. A new field or a new model kind needs no edit here.
"""

from __future__ import annotations

from typing import Any

import streamlit as st

from aae.core.catalog import ConfigOption, parse_option
from aae.core.priors import PriorConfig

DEFAULT = "default"


def _format(value: Any) -> str:
    if value is None:
        return DEFAULT
    if value is True:
        return "on"
    if value is False:
        return "off"
    return str(value)


def _nice(name: str) -> str:
    return name.replace("_", " ").capitalize()


def option_widget(option: ConfigOption, key: str, where=None) -> Any:
    """One widget for `option`; returns the value set, or None where left at the default."""
    where = where or st
    label, kind = _nice(option.name), option.base_type
    default = option.default
    help_text = f"{option.help} (default: {_format(default) if default is not None else 'none'})".strip()
    if option.choices is not None or kind is bool:
        values = [None, *(option.choices if option.choices is not None else (True, False))]
        return where.selectbox(label, values, key=key, format_func=_format, help=help_text)
    if kind in (int, float) and not option.optional:
        is_int = kind is int
        return where.number_input(label, value=None, step=1 if is_int else None, key=key,
                                  format=None if is_int else "%g",
                                  placeholder=f"default: {default:g}" if isinstance(default, float)
                                  else f"default: {default}", help=help_text)
    # Optional numbers ("all" labels), tuples of sizes and free text: typed, then parsed as the CLI's --set does.
    shown = ",".join(map(str, default)) if isinstance(default, tuple) else _format(default)
    text = where.text_input(label, value="", key=key, placeholder=f"default: {shown}",
                            help=help_text + (" — 'all' or 'none' for none" if option.optional else ""))
    if not text.strip():
        return None
    if option.optional and text.strip().lower() in ("none", "all"):
        return "none"  # set to none on purpose (empty is the default): as `--set FIELD=none` passes it
    return parse_option(option, text)


def widget_value(option: ConfigOption, value: Any) -> Any:
    """What the widget of `option_widget` holds when it gives `value`: to fill a form with a whole config's values
    (a recipe's), which the user can then change."""
    kind = option.base_type
    if option.choices is not None or kind is bool:
        return value
    if kind in (int, float) and not option.optional:
        return kind(value)
    if value is None:
        return "" if option.default is None else "none"
    return ",".join(map(str, value)) if isinstance(value, tuple | list) else str(value)


def options_form(options: tuple[ConfigOption, ...], *, prefix: str, columns: int = 3,
                 skip: tuple[str, ...] = ()) -> tuple[dict[str, Any], list[str]]:
    """Widgets for every option not in `skip`, laid out in `columns`; ({field: value set}, [problems])."""
    chosen: dict[str, Any] = {}
    problems: list[str] = []
    shown = [o for o in options if o.name not in skip and o.base_type is not PriorConfig]
    cols = st.columns(columns)
    for i, option in enumerate(shown):
        try:
            value = option_widget(option, f"{prefix}{option.name}", where=cols[i % columns])
        except ValueError as error:
            problems.append(str(error))
            continue
        if value is not None:
            chosen[option.name] = value
    return chosen, problems
