"""The widgets every page shares: model registry and picker, shareable URLs, page header, model names.

Part of the pages' shared helpers (imported through `ui.common`).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import streamlit as st

from aae.core import catalog
from aae.core.checkpoints import (
    CheckpointError,
    dataset_of,
    find_checkpoints,
    read_card,
)
from ui.caches import SHIPPED_DIR, load, runs_dir

# The kinds most pages show: models that draw images from a plain prior (no label or category input).
PLAIN_KINDS = catalog.kinds(generates=True, conditional=False, categorical=False)


@dataclass(frozen=True)
class ModelEntry:
    path: str
    name: str
    kind: str
    latent_dim: int
    prior: str
    shipped: bool
    card: dict[str, Any]

    @property
    def label(self) -> str:
        where = "shipped" if self.shipped else "yours"
        return f"{self.name} · {self.kind.upper()} {self.latent_dim}-D {self.prior} ({where})"

    @property
    def dataset(self) -> str:
        return dataset_of(self.card)

    @property
    def has_encoder(self) -> bool:
        return self.kind in catalog.CATALOG and catalog.entry(self.kind).capabilities["encoder"]


def list_models(*, kinds: tuple[str, ...] = PLAIN_KINDS) -> list[ModelEntry]:
    """Every loadable checkpoint card in checkpoints/ and the runs folder, of the given kinds."""
    entries = []
    for path in find_checkpoints(SHIPPED_DIR, runs_dir()):
        try:
            card = read_card(path)
        except CheckpointError:
            continue
        if card.get("kind") not in kinds:
            continue
        config = card.get("config", {})
        entries.append(ModelEntry(
            path=str(path), name=card.get("name") or path.name, kind=card["kind"],
            latent_dim=int(config.get("latent_dim", 0)), prior=config.get("prior", {}).get("name", "?"),
            shipped=path.parent.resolve() == SHIPPED_DIR.resolve(), card=card,
        ))
    # MNIST models first (the pages' default choice), then the second dataset's; otherwise as found.
    return sorted(entries, key=lambda e: e.dataset != "mnist")


def model_picker(
    *, kinds: tuple[str, ...] = PLAIN_KINDS, key: str = "model_path", label: str = "Model",
    where=None, min_latent: int = 1, encoder_required: bool = False, prefer=None,
) -> ModelEntry | None:
    """A selectbox of models in the sidebar (or `where`), remembered across pages in st.session_state.

    `prefer(entry) -> bool` puts the entries it accepts first, so one of them is the default choice.
    """
    where = where or st.sidebar
    entries = [e for e in list_models(kinds=kinds) if e.latent_dim >= min_latent
               and (e.has_encoder or not encoder_required)]
    if prefer is not None:
        entries.sort(key=lambda e: not prefer(e))  # stable: otherwise in the usual order
    if not entries:
        where.warning("No models yet. Train one on the **Train** page (or run `bash scripts/train_shipped.sh`).")
        return None
    paths = [e.path for e in entries]
    param = URL_MODEL_PARAMS.get(key, key)
    widget = f"_{key}_widget"
    wanted = url_value(param)  # a shared link names the model (shipped first where names clash)
    if wanted is not None:
        named = [e.path for e in sorted(entries, key=lambda e: not e.shipped) if e.name == wanted]
        if named:
            st.session_state[key] = named[0]
        else:
            ignore_url_value(param, wanted, "no model of that name that this page shows")
    # `key` is the choice every page remembers (a page may set it, as Train does for a new model); the box shows
    # it through Session State alone (a default as well would make Streamlit warn), and a pick in the box goes
    # back to `key` in its callback, before the page runs.
    remembered = st.session_state.get(key)
    shown = remembered if remembered in paths else paths[0]
    if st.session_state.get(widget) != shown:
        st.session_state[widget] = shown

    def picked() -> None:
        st.session_state[key] = st.session_state[widget]

    chosen = where.selectbox(label, paths, format_func=lambda p: entries[paths.index(p)].label, key=widget,
                             on_change=picked)
    st.session_state[key] = chosen
    entry = entries[paths.index(chosen)]
    st.query_params[param] = entry.name
    st.session_state["page_dataset"] = entry.dataset  # the page's data: the picked model's own dataset
    if entry.dataset != "mnist":
        where.caption(f"Trained on **{entry.dataset}**: this page shows {entry.dataset} images and codes.")
    return entry


# -- shareable views: a page's model, prior, seed and slider values live in the URL ------------------

URL_MODEL_PARAMS = {"model_path": "model", "compare_aae_path": "left", "compare_vae_path": "right",
                    "denoise_model_path": "model", "style_model_path": "model"}


def url_value(param: str) -> str | None:
    """`param` from the URL the session was opened with, once per page visit: the first run of a page in a
    session takes it (a shared link), later runs follow the widgets (which write it back, `url_state`)."""
    page = st.session_state.get("_url_page")
    applied = st.session_state.setdefault("_url_applied", set())
    if (page, param) in applied:
        return None
    applied.add((page, param))
    return st.query_params.get(param)


def whole(low: int, high: int) -> Callable[[str], int]:
    """A URL parser for a whole number in [low, high]; its ValueError says what is wrong, for the user."""
    def parse(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            raise ValueError("not a whole number") from None
        if not low <= value <= high:
            raise ValueError(f"not between {low:,} and {high:,}")
        return value
    return parse


def number(low: float, high: float) -> Callable[[str], float]:
    """A URL parser for a number in [low, high]."""
    def parse(text: str) -> float:
        try:
            value = float(text)
        except ValueError:
            raise ValueError("not a number") from None
        if not low <= value <= high:  # also refuses nan
            raise ValueError(f"not between {low:g} and {high:g}")
        return value
    return parse


def one_of(options) -> Callable[[str], str]:
    """A URL parser for one of `options` (strings)."""
    options = [str(o) for o in options]

    def parse(text: str) -> str:
        if text not in options:
            raise ValueError(f"not one of {', '.join(options)}")
        return text
    return parse


PLAIN_REASONS = {int: "not a whole number", float: "not a number"}


def ignore_url_value(param: str, text: str, reason: str) -> None:
    """Say, above the page, that the link's `param` was not used and why (kept for the rest of this visit)."""
    note = f"`{param}={text}` ({reason})"
    st.session_state.setdefault("_url_ignored", []).append(note)
    st.warning(f"Ignored from the link: {note}; the page shows its usual value instead.", icon=":material/link_off:")


def url_state(params: dict[str, tuple[str, Callable[[str], Any]]]) -> None:
    """Before a page's widgets: {url name: (session key, parser)} — take each from a shared link on the page's
    first run; after them, call `write_url_state(params)` so the address bar always opens this view. A parser is
    a type (int, float, str) or one of `whole`, `number`, `one_of`; a value it refuses is named in a warning."""
    for param, (key, parse) in params.items():
        text = url_value(param)
        if text is None:
            continue
        try:
            st.session_state[key] = parse(text)
        except ValueError as error:  # a hand-edited link: keep the page's own value, and say so
            ignore_url_value(param, text, PLAIN_REASONS.get(parse, str(error)))


def write_url_state(params: dict[str, tuple[str, type]]) -> None:
    for param, (key, _) in params.items():
        if key in st.session_state and st.session_state[key] is not None:
            value = st.session_state[key]
            st.query_params[param] = f"{value:.4g}" if isinstance(value, float) else str(value)


def start_page(name: str) -> None:
    """Mark which page is running, so URL parameters are read once per visit of each page."""
    if st.session_state.get("_url_page") != name:
        st.session_state["_url_page"] = name
        st.session_state["_url_applied"] = set()
        st.session_state["_url_ignored"] = []


def picked_model(**picker_options):
    """The sidebar picker's model, loaded: (entry, model). Stops the page with a message when there is no
    model or it cannot be loaded (the picker takes the same options as `model_picker`)."""
    entry = model_picker(**picker_options)
    if entry is None:
        st.stop()
    try:
        return entry, load(entry.path).model
    except CheckpointError as error:
        st.error(f"Could not load {entry.name}: {error}")
        st.stop()


def page_header(title: str, caption: str, *, notice: str | None = None) -> None:
    """The page's title, what it does, and what to look for in it (with the paper's figure it answers)."""
    start_page(title)
    st.title(title)
    st.caption(caption)
    if notice:
        st.markdown(f":material/visibility: **What to notice:** {notice}")
    if ignored := st.session_state.get("_url_ignored"):  # from this visit's first run, while it lasts
        st.warning(f"Ignored from the link: {'; '.join(ignored)}; the page shows its usual values instead.",
                   icon=":material/link_off:")


def kept(key: str, options: list | None = None) -> dict[str, Any]:
    """Keyword arguments for a widget whose value is remembered in st.session_state[key] while the widget is
    not on the page (another model, another page): `st.slider(..., **kept("manifold_n"))`; with `options`, for a
    selectbox or radio of those options.

    Streamlit forgets a widget's state in a run that does not draw it, and a widget drawn again shows its
    default in the browser whatever Session State says; so the widget gets its own key and the remembered
    value as its default, and a change goes back to `key` before the page runs."""
    widget = f"_{key}_widget"
    if widget in st.session_state and st.session_state[widget] != st.session_state.get(key):
        del st.session_state[widget]  # the page (or a link) set `key`: the widget follows it

    def remember() -> None:
        st.session_state[key] = st.session_state[widget]

    value = st.session_state.get(key)
    if options is not None:  # a selectbox or radio: its default is an index
        return {"key": widget, "index": options.index(value) if value in options else 0, "on_change": remember}
    return {"key": widget, "value": value, "on_change": remember}


def model_name_problem(name: str, *, overwrite: bool, folders: tuple[str, ...] | None = None) -> str | None:
    """Why `name` cannot name a new model in the runs folder (None when it can).

    `folders` are the folder names it will write (default: just `name`); a shipped model's name is
    never reused, a model of yours only with `overwrite`.
    """
    import re

    if not name:
        return "Give the model a name."
    if not re.fullmatch(r"[A-Za-z0-9_-]+", name):
        return f"“{name}” is not a usable name: use only letters, digits, - and _ (no spaces)."
    folders = folders or (name,)
    shipped = {p.name for p in find_checkpoints(SHIPPED_DIR)}
    taken = [f for f in folders if f in shipped]
    if taken:
        return f"“{taken[0]}” is the name of a shipped model; choose another name."
    existing = [f for f in folders if (runs_dir() / f).exists()]
    if existing and not overwrite:
        return (f"A model named “{existing[0]}” already exists in `{runs_dir()}`. Choose another name, "
                "or tick “Overwrite” to replace it.")
    return None


def free_model_name(base: str, *, suffixes: tuple[str, ...] = ("",)) -> str:
    """`base`, or `base-2`, `base-3`, …: the first for which no `<name><suffix>` folder is in the runs folder."""
    name, n = base, 1
    while any((runs_dir() / f"{name}{suffix}").exists() for suffix in suffixes):
        n += 1
        name = f"{base}-{n}"
    return name
