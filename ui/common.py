"""Streamlit-only helpers shared by the pages: model registry and picker, caches, data status, errors.

Everything that computes lives in `aae`; this module only caches what `aae` returns and draws
the widgets every page shares. Pages import it as `from ui import common`.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import streamlit as st
import torch

from aae import catalog
from aae.checkpoints import (
    CheckpointError,
    classifier_path,
    dataset_of,
    find_checkpoints,
    load_checkpoint,
    read_card,
)
from aae.data import CLASS_NAMES, DATASET_FOLDERS, DataNotFoundError, is_available, load_dataset, resolve_data_dir
from aae.explore import encode_all
from aae.training import describe_device, pick_device

ROOT = Path(__file__).resolve().parents[1]
SHIPPED_DIR = ROOT / "checkpoints"


def runs_dir() -> Path:
    """Where models trained in the app are saved: $AAE_RUNS_DIR, else ./runs beside the app."""
    return Path(os.environ.get("AAE_RUNS_DIR") or ROOT / "runs")


def data_dir() -> Path:
    return resolve_data_dir(None)


# The classifier behind Fréchet distance and coverage, per dataset (tests point these at tiny ones).
CLASSIFIERS = {name: classifier_path(name) for name in DATASET_FOLDERS}
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


def card_mtime(path: str | Path) -> float:
    card = Path(path) / "card.json"
    return card.stat().st_mtime if card.exists() else 0.0


@st.cache_resource(show_spinner="Loading model…", max_entries=16)
def _load(path: str, mtime: float):
    return load_checkpoint(path, device="cpu")


def load(path: str | Path):
    """The checkpoint at `path`, cached until its card changes (a retrained model is reloaded)."""
    return _load(str(path), card_mtime(path))


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
    wanted = url_value(param)  # a shared link names the model (shipped first where names clash)
    if wanted is not None:
        named = [e.path for e in sorted(entries, key=lambda e: not e.shipped) if e.name == wanted]
        if named:
            st.session_state[key] = st.session_state[f"_{key}_widget"] = named[0]
    remembered = st.session_state.get(key)
    index = paths.index(remembered) if remembered in paths else 0
    chosen = where.selectbox(label, paths, index=index, format_func=lambda p: entries[paths.index(p)].label,
                             key=f"_{key}_widget")
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


def url_state(params: dict[str, tuple[str, type]]) -> None:
    """Before a page's widgets: {url name: (session key, type)} — take each from a shared link on the page's first
    run; after them, call `write_url_state(params)` so the address bar always opens this view."""
    for param, (key, kind) in params.items():
        text = url_value(param)
        if text is None:
            continue
        try:
            st.session_state[key] = kind(text)
        except ValueError:  # a hand-edited link: ignore the bad value, keep the default
            continue


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


def page_dataset() -> str:
    """The dataset of the model picked on this page (MNIST until one is picked)."""
    return st.session_state.get("page_dataset", "mnist")


def class_names(dataset: str | None = None) -> list[str]:
    return CLASS_NAMES[dataset or page_dataset()]


def test_set(dataset: str | None = None) -> tuple[torch.Tensor, torch.Tensor] | None:
    """The test images (10000, 1, 28, 28) and labels of `dataset` (default: the picked model's), or None (after
    saying why) when the data is absent."""
    data = splits(dataset)
    return None if data is None else (data.test_x, data.test_y)


@st.cache_resource(show_spinner="Loading the dataset…", max_entries=4)
def _splits(name: str, root: str, mtime: float):
    return load_dataset(name, data_dir=root)


def splits(dataset: str | None = None):
    """`dataset` (default: the picked model's) with its validation hold-out, or None (after saying why) when absent."""
    name = dataset or page_dataset()
    root = data_dir()
    if not is_available(name, root):
        st.info(data_missing_message(root, name))
        return None
    try:
        return _splits(name, str(root), (root / DATASET_FOLDERS[name] / "raw").stat().st_mtime)
    except DataNotFoundError as error:
        st.info(str(error))
        return None


def download_button(root: Path) -> None:
    """Offer to fetch MNIST into `root` with torchvision (online users get the data on first use)."""
    if st.button("Download MNIST now (about 12 MB)", key="download_mnist", icon=":material/download:"):
        with st.spinner(f"Downloading MNIST into {root.resolve()}…"):
            try:
                load_dataset("mnist", data_dir=root, val_size=0)
            except DataNotFoundError as error:
                st.error(str(error))
                return
        st.rerun()


def data_missing_message(root: Path, dataset: str = "mnist") -> str:
    folder = DATASET_FOLDERS[dataset]
    return (f"{folder} is not in `{root.resolve()}/{folder}/raw`. Parts of this page that need data are off. "
            f"Set `AAE_DATA_DIR` to a folder holding {folder} in torchvision's layout (for example "
            "`AAE_DATA_DIR=../shared/data streamlit run app.py`)"
            + (", or, online, use **Download MNIST** on the Home page." if dataset == "mnist" else "."))


@st.cache_data(show_spinner="Encoding the test set…", max_entries=32)
def test_codes(path: str, mtime: float, dataset: str = "mnist") -> np.ndarray:
    """Codes (10000, D) of the model's own test set under the model at `path` (cached per model)."""
    data = test_set(dataset)
    if data is None:
        return np.zeros((0, 0), dtype=np.float32)
    return encode_all(load(path).model, data[0]).numpy()


def codes_for(entry: ModelEntry) -> np.ndarray | None:
    """The test set's codes for a model with an encoder, or None when there is no data."""
    if test_set(entry.dataset) is None or not entry.has_encoder:
        return None
    return test_codes(entry.path, card_mtime(entry.path), entry.dataset)


@st.cache_resource
def warm_up_projections() -> None:
    """Once per process, compile UMAP in a daemon thread (numba: 20-40 s on a CPU), unless AAE_WARM_UMAP=0."""
    if os.environ.get("AAE_WARM_UMAP", "1") == "0":
        return
    import threading

    from aae.projections import warm_up

    threading.Thread(target=warm_up, name="warm-umap", daemon=True).start()


@st.cache_resource
def device_description() -> str:
    return describe_device(pick_device("auto"))


def page_header(title: str, caption: str, *, notice: str | None = None) -> None:
    """The page's title, what it does, and what to look for in it (with the paper's figure it answers)."""
    start_page(title)
    st.title(title)
    st.caption(caption)
    if notice:
        st.markdown(f":material/visibility: **What to notice:** {notice}")


def grid_image(images: torch.Tensor, *, nrow: int = 10, scale: int = 3, row_labels: list[str] | None = None,
               col_labels: list[str] | None = None) -> np.ndarray:
    """A grid of images as a uint8 array, upscaled with nearest neighbours so pixels stay sharp; with labels,
    a white margin on the left names each row and one on top names each column."""
    from aae.explore import image_grid

    grid = image_grid(images, nrow=nrow)
    grid = (np.kron(grid, np.ones((scale, scale), dtype=np.float32)) * 255).round().astype(np.uint8)
    if row_labels is None and col_labels is None:
        return grid
    return label_grid(grid, scale=scale, rows=row_labels or [], cols=col_labels or [])


def label_grid(grid: np.ndarray, *, scale: int, rows: list[str], cols: list[str]) -> np.ndarray:
    """A `grid_image` (uint8) with row names in a left margin and column names in a top margin, centred on
    the cells (28-pixel images with 2-pixel borders, `scale` times)."""
    from PIL import Image, ImageDraw, ImageFont

    cell, pad = (28 + 2) * scale, 2 * scale

    font = ImageFont.load_default(size=max(12, cell // 4))
    measure = ImageDraw.Draw(Image.new("L", (1, 1)))
    left = (max((measure.textlength(t, font=font) for t in rows), default=0) + 12) if rows else 0
    top = (font.size + 10) if cols else 0
    canvas = Image.new("L", (grid.shape[1] + int(left), grid.shape[0] + top), 255)
    canvas.paste(Image.fromarray(grid), (int(left), top))
    draw = ImageDraw.Draw(canvas)
    for i, text in enumerate(rows):
        y = top + pad + i * cell + cell // 2
        draw.text((int(left) - 6, y), text, fill=0, font=font, anchor="rm")
    for j, text in enumerate(cols):
        x = int(left) + pad + j * cell + cell // 2
        draw.text((x, top - 4), text, fill=0, font=font, anchor="mb")
    return np.asarray(canvas)


def digit_image(image: torch.Tensor | np.ndarray, *, scale: int = 8) -> np.ndarray:
    """One 28×28 image as an upscaled uint8 array."""
    array = image.detach().cpu().numpy() if isinstance(image, torch.Tensor) else np.asarray(image)
    array = array.reshape(28, 28)
    return (np.kron(np.clip(array, 0, 1), np.ones((scale, scale))) * 255).round().astype(np.uint8)


# -- latent maps ------------------------------------------------------------------------------

def add_digit_traces(figure, points: np.ndarray, labels: np.ndarray, *, indices: np.ndarray | None = None,
                     opacity: float = 0.6) -> None:
    """One scatter trace per digit, in the colours every page uses; hover shows the digit and its test
    index (`indices`, aligned with `points`; default 0..N-1)."""
    import plotly.graph_objects as go
    from plotly.colors import qualitative

    indices = np.arange(len(labels)) if indices is None else np.asarray(indices)
    names = class_names()  # digits, or Fashion-MNIST's garments for a model trained on those
    for digit in range(10):
        mask = labels == digit
        figure.add_trace(go.Scattergl(
            x=points[mask, 0], y=points[mask, 1], mode="markers",
            name=names[digit] if names[digit] == str(digit) else f"{digit} {names[digit]}",
            marker={"size": 3, "color": qualitative.T10[digit], "opacity": opacity},
            customdata=np.stack([labels[mask], indices[mask]], axis=1),
            hovertemplate="digit %{customdata[0]} · test #%{customdata[1]}<extra></extra>",
        ))


# -- background jobs (Train, GAN vs AAE) ------------------------------------------------------

@st.cache_resource
def job_registry() -> dict[str, dict[str, Any]]:
    """Process-wide {browser session id: {job slot: job}}: jobs outlive reruns and page switches."""
    return {}


def session_jobs() -> dict[str, Any]:
    """This browser session's jobs by slot ("train", "duel"), never another user's."""
    import uuid

    session_id = st.session_state.setdefault("_job_session_id", uuid.uuid4().hex)
    return job_registry().setdefault(session_id, {})


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
