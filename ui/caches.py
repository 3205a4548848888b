"""Streamlit caches over what `aae` computes: loaded models, datasets, test codes, the device, running jobs.

Part of the pages' shared helpers (imported through `ui.common`): where models and data live, and the
process-wide caches every page reads. Nothing here draws a widget.
"""

from __future__ import annotations

import gc
import logging
import os
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

import numpy as np
import streamlit as st
import torch

from aae.app.projections import ProjectionStore, shown_subset
from aae.core.checkpoints import (
    classifier_path,
    load_checkpoint,
    read_card,
)
from aae.core.data import CLASS_NAMES, DATASET_FOLDERS, DataNotFoundError, is_available, load_dataset, resolve_data_dir
from aae.core.device import describe_device, pick_device, set_malloc_thresholds
from aae.core.inference import encode_all

ROOT = Path(__file__).resolve().parents[1]
SHIPPED_DIR = ROOT / "checkpoints"
MAP_SEED = 0  # the seed of every map's subset and projection (as `aae eval`'s default)


def return_freed_memory_promptly() -> bool:
    """glibc's malloc, told to hand freed memory back to the system: blocks of 1 MB and more get a mapping of their
    own, unmapped when freed, and the heap's free top is trimmed past 1 MB. By default glibc raises the first
    threshold after each large free (up to 32 MB), so the transient arrays of a page's computations (encoding the
    test set, a projection, a speed measurement) stayed in the server's heap, free but resident: on a walk through
    every page the server kept about 130 MB more. True when the setting took; False where malloc is not glibc's."""
    # (1 MB, not less: a page's small arrays, a few hundred kB each, stay in the heap rather than a mapping each.)
    return set_malloc_thresholds(mmap=2**20, trim=2**20)


MALLOC_TUNED = return_freed_memory_promptly()  # process-wide, once, when the pages' helpers are first imported


# -- shared caches that go when nobody is connected ------------------------------------------------------------------
# Every st.cache_data cache, and the st.cache_resource caches marked `releasable` (models, datasets, a page's shared
# results), are emptied once no browser has been connected for this many seconds (AAE_IDLE_RELEASE_S): a server
# between classes holds its libraries, not the last class's data. The job registry and the warm-ups are kept.
IDLE_RELEASE_SECONDS = float(os.environ.get("AAE_IDLE_RELEASE_S", "60"))
_RELEASABLE: dict[str, Any] = {}
_log = logging.getLogger("latent_lab")
Cached = TypeVar("Cached")


def releasable(cached: Cached) -> Cached:
    """Mark a st.cache_resource function as a shared cache that is emptied when no session is connected."""
    _RELEASABLE[f"{cached.__module__}.{cached.__qualname__}"] = cached
    return cached


def release_shared_caches() -> int:
    """Empty every st.cache_data cache and every `releasable` resource cache, collect, and hand the freed heap back
    to the system (glibc's malloc_trim); returns the number of resource caches emptied."""
    st.cache_data.clear()
    for cached in _RELEASABLE.values():
        cached.clear()
    with _preload_lock:
        _preloaded.clear()  # the next page drawn preloads again
    gc.collect()
    try:
        import ctypes

        ctypes.CDLL("libc.so.6").malloc_trim(0)
    except (OSError, AttributeError):
        pass
    return len(_RELEASABLE)


def drop_expired_sessions() -> int:
    """Shut down the closed sessions whose time for a reconnect is up, and return how many.

    Streamlit keeps a closed session for a reconnect (`server.disconnectedSessionTTL`, 2 minutes) and removes the
    expired ones only when a later session disconnects: on a server nobody is connected to, the last visitor's
    session (its state, and the models and images its widgets refer to) stayed for good. Reaches into Streamlit's
    session manager; with a Streamlit that keeps its sessions elsewhere it does nothing.

    A dropped session's state is also emptied: Streamlit's message loop keeps its last flushed session in a local
    variable until another session is flushed, so the last visitor's session object outlives its shutdown."""
    from streamlit.runtime import Runtime

    try:
        cache = Runtime.instance()._session_mgr._session_storage._cache
        expired = cache.expire()
    except (AttributeError, RuntimeError):
        return 0
    for _, info in expired:
        info.session.shutdown()
        _empty(info.session)
    return len(expired)


def _empty(session) -> None:
    """Empty a shut-down session's state, queue and fragments. Its widget states are dropped as they are: emptying
    them through the mapping deserialises each one, and a value a browser sent in the wrong form (a yes/no for a
    slider) raised there, which ended the thread that drops sessions and releases caches."""
    state = getattr(session, "_session_state", None)
    widgets = getattr(getattr(state, "_state", state), "_new_widget_state", None)
    for raw in (getattr(widgets, "states", None), getattr(widgets, "widget_metadata", None)):
        if isinstance(raw, dict):
            raw.clear()
    for part in ("_session_state", "_browser_queue", "_fragment_storage"):  # a fragment holds the page's models
        try:
            if hasattr(session, part):
                getattr(session, part).clear()
        except Exception as error:  # noqa: BLE001 - one session's leftovers never stop the server's housekeeping
            _log.warning("a dropped session's %s could not be emptied: %s", part.strip("_"), error)


def _session_ids(runtime) -> set[str]:
    """The ids of the sessions the server keeps, connected or closed and kept for a reconnect (empty with a
    Streamlit that keeps them elsewhere)."""
    try:
        return {info.session.id for info in runtime._session_mgr.list_sessions()}
    except (AttributeError, RuntimeError):
        return set()


def _watch_for_idle(seconds: float, release: Callable[[], int], drop: Callable[[], int]) -> None:
    from streamlit.runtime import Runtime, RuntimeState

    idle_since, released, known = None, False, set()
    while True:
        time.sleep(max(0.5, min(5.0, seconds / 4)))
        if not Runtime.exists():
            return  # the server has stopped
        try:
            # a visit shorter than one look (a page or two of a warm server takes under a second) counts too
            sessions = _session_ids(Runtime.instance())
            visited, known = bool(sessions - known), sessions
            connected = visited or Runtime.instance().state != RuntimeState.NO_SESSIONS_CONNECTED
            if connected:
                idle_since, released = None, False
            elif idle_since is None:
                idle_since = time.monotonic()
            elif not released and time.monotonic() - idle_since >= seconds:
                count = release()
                released = True
                _log.warning("no session for %.0f s: released the shared caches (%d resource caches and the data "
                             "caches)", seconds, count)
            elif released and drop():
                release()  # what the dropped sessions held
                _log.warning("closed sessions past their time for a reconnect dropped, and their memory released")
        except Exception:  # noqa: BLE001 - the server's housekeeping goes on whatever one round met
            _log.exception("the idle watch met an error; it goes on")


@st.cache_resource(show_spinner=False)
def release_when_idle() -> bool:
    """Start, once per server, the thread that empties the shared caches after IDLE_RELEASE_SECONDS with no
    browser connected (0 or less: never). Without a server (Streamlit's test runtime, a bare script) there are no
    connections to watch, and nothing starts: an empty cache there would be a slower page, never a smaller server."""
    from streamlit.runtime import Runtime

    if IDLE_RELEASE_SECONDS <= 0 or not Runtime.exists() or type(Runtime.instance()) is not Runtime:
        return False  # the test runtime stands a mock (of Runtime's spec) in for the server's
    threading.Thread(target=_watch_for_idle, args=(IDLE_RELEASE_SECONDS, release_shared_caches, drop_expired_sessions),
                     daemon=True, name="aae-idle-release").start()
    return True


def runs_dir() -> Path:
    """Where models trained in the app are saved: $AAE_RUNS_DIR, else ./runs beside the app."""
    return Path(os.environ.get("AAE_RUNS_DIR") or ROOT / "runs")


def data_dir() -> Path:
    return resolve_data_dir(None)


# The classifier behind Fréchet distance and coverage, per dataset (tests point these at tiny ones).
CLASSIFIERS = {name: classifier_path(name) for name in DATASET_FOLDERS}

def card_mtime(path: str | Path) -> float:
    card = Path(path) / "card.json"
    return card.stat().st_mtime if card.exists() else 0.0


# The models most recently used by any session (a page shows at most three at once; 2 to 16 MB each as float32;
# loading one again takes a fraction of a second).
MODELS_KEPT = 8


@releasable
@st.cache_resource(show_spinner="Loading model…", max_entries=MODELS_KEPT)
def _load(path: str, mtime: float):
    return load_checkpoint(path, device="cpu")


def load(path: str | Path):
    """The checkpoint at `path`, cached until its card changes (a retrained model is reloaded)."""
    return _load(str(path), card_mtime(path))


def page_dataset() -> str:
    """The dataset of the model picked on this page (MNIST until one is picked)."""
    return st.session_state.get("page_dataset", "mnist")


def dataset_name(dataset: str | None = None) -> str:
    """"MNIST" or "Fashion-MNIST": the picked model's dataset (or `dataset`), for people."""
    from aae.core.data import DATASET_TITLES

    return DATASET_TITLES[dataset or page_dataset()]


def class_names(dataset: str | None = None) -> list[str]:
    return CLASS_NAMES[dataset or page_dataset()]


def test_set(dataset: str | None = None) -> tuple[torch.Tensor, torch.Tensor] | None:
    """The test images (10000, 1, 28, 28) and labels of `dataset` (default: the picked model's), or None (after
    saying why) when the data is absent."""
    data = splits(dataset)
    return None if data is None else (data.test_x, data.test_y)


# One entry per dataset the app knows (a dataset whose files changed replaces its entry): about 80 MB each for MNIST
# and Fashion-MNIST (uint8 images, and the test images as float32, which every page shows).
@releasable
@st.cache_resource(show_spinner="Loading the dataset…", max_entries=len(DATASET_FOLDERS))
def _splits(name: str, root: str, mtime: float):
    return load_dataset(name, data_dir=root, test=True)  # pages show test digits (display: allowed)


def preload(dataset: str = "mnist") -> threading.Thread | None:
    """Read `dataset` into the shared cache in a background thread (with its float32 test images, which every page
    shows), unless it is there or absent: called once a page has been drawn, so the next page that shows digits does
    not wait for it (0.5 s of Prior & samples' first visit). Returns the thread, or None when there was nothing to
    do."""
    root = data_dir()
    if not is_available(dataset, root):
        return None
    mtime = (root / DATASET_FOLDERS[dataset] / "raw").stat().st_mtime
    with _preload_lock:
        if (dataset, str(root), mtime) in _preloaded:
            return None
        _preloaded.add((dataset, str(root), mtime))

    def load() -> None:
        try:
            _splits(dataset, str(root), mtime).test_x  # noqa: B018 (made once, shared)
        except Exception:  # the page that needs it says what went wrong
            logging.getLogger(__name__).debug("preloading %s failed", dataset, exc_info=True)

    thread = threading.Thread(target=load, name=f"preload-{dataset}", daemon=True)
    thread.start()
    return thread


_preloaded: set[tuple[str, str, float]] = set()  # what `preload` started since the shared caches were last emptied
_preload_lock = threading.Lock()


def splits(dataset: str | None = None):
    """`dataset` (default: the picked model's) with its validation hold-out, or None (after saying why) when absent.

    A view of the process-wide copy: the float32 copies of the training and validation images that reading
    `train_x` / `val_x` makes (150 and 30 MB for MNIST) belong to the view and go when the caller drops it, instead
    of staying in the shared cache for the life of the server; the uint8 images and the float32 test images are
    shared, not copied."""
    name = dataset or page_dataset()
    root = data_dir()
    if not is_available(name, root):
        st.info(data_missing_message(root, name))
        return None
    try:
        shared = _splits(name, str(root), (root / DATASET_FOLDERS[name] / "raw").stat().st_mtime)
    except (DataNotFoundError, ValueError) as error:  # absent, or too few images to hold out the validation set
        st.info(str(error))
        return None
    return shared.with_test(shared.test_x, shared.test_y)


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
            "`AAE_DATA_DIR=../shared/data streamlit run serve.py`)"
            + (", or, online, use **Download MNIST** on the Home page." if dataset == "mnist" else "."))


@st.cache_data(show_spinner="Encoding the test set…", max_entries=32)
def test_codes(path: str, mtime: float, dataset: str = "mnist") -> np.ndarray:
    """Codes (10000, D) of the model's own test set under the model at `path` (cached per model, and on disk in the
    projection store under the model's weights, where the start-up warm-up may have put them already)."""
    data = test_set(dataset)
    if data is None:
        return np.zeros((0, 0), dtype=np.float32)
    return projection_store().codes(weights_id(read_card(path)), dataset, len(data[0]),
                                    lambda: encode_all(load(path).model, data[0]).numpy())


def codes_for(entry) -> np.ndarray | None:  # a ui.widgets.ModelEntry
    """The test set's codes for a model with an encoder, or None when there is no data."""
    if test_set(entry.dataset) is None or not entry.has_encoder:
        return None
    return test_codes(entry.path, card_mtime(entry.path), entry.dataset)


def cache_root() -> Path:
    """Where the app keeps what it computed and can compute again (projections, digit sprites): $AAE_CACHE_DIR,
    else ./.cache beside the app (never committed)."""
    return Path(os.environ.get("AAE_CACHE_DIR") or ROOT / ".cache")


def projection_store() -> ProjectionStore:
    return ProjectionStore(cache_root() / "projections")


def weights_id(card: dict[str, Any]) -> str:
    """What identifies a model's weights: the sha256 of its weights file that its card records."""
    return card["files"]["model.safetensors"]


@st.cache_data(show_spinner=False, max_entries=64)
def projected_codes(path: str, mtime: float, dataset: str, method: str, n_points: int,
                    seed: int) -> tuple[np.ndarray, np.ndarray]:
    """(test indices shown, their 2-D map) for the model at `path`: `n_points` of its test codes (the seeded
    subset every model shows) under `method`, read from the projection store when it was made before."""
    codes = test_codes(path, mtime, dataset)
    subset = shown_subset(len(codes), n_points, seed)
    points = projection_store().project(codes[subset], method, weights=weights_id(read_card(path)),
                                        dataset=dataset, seed=seed)
    return subset, points


@st.cache_resource
def warm_up_projections() -> None:
    """Once per process: a child process at the lowest CPU priority (watched by a daemon thread) compiles UMAP
    (numba: 20-40 s on a CPU), then makes the maps the *AAE vs VAE* page offers first for each shipped model whose
    codes need one (t-SNE and UMAP of the default subset; minutes on a 2-core CPU), into the projection store, so
    a user who picks them waits for none of it, now or after a restart. A process, not a thread of the server:
    see aae.app.projections.warm_up_in_a_process. AAE_WARM_UMAP=0 turns it off (tests)."""
    if os.environ.get("AAE_WARM_UMAP", "1") == "0":
        return
    import threading

    from aae.app.projections import warm_up_in_a_process

    threading.Thread(target=warm_up_in_a_process, args=(projection_store().root, SHIPPED_DIR, data_dir()),
                     kwargs={"seed": MAP_SEED}, name="warm-projections", daemon=True).start()


@st.cache_resource
def device_description() -> str:
    return describe_device(pick_device("auto"))


# -- background jobs (Train, GAN vs AAE) ------------------------------------------------------

@st.cache_resource
def job_registry() -> dict[str, dict[str, Any]]:
    """Process-wide {browser session id: {job slot: job}}: jobs outlive reruns and page switches."""
    return {}


# A finished job stays on its page (result, history, downloads) this long after it ended, then is forgotten (its
# model is saved): $AAE_KEEP_FINISHED_JOBS seconds, an hour by default.
KEEP_FINISHED_JOBS_SECONDS = float(os.environ.get("AAE_KEEP_FINISHED_JOBS", 3600))
# …checked at most this often: the Train page's live view asks for its jobs every 2 s, and every check reads a
# snapshot of every session's jobs.
FORGET_EVERY_SECONDS = 60.0
_last_forget = [float("-inf")]


def session_jobs() -> dict[str, Any]:
    """This browser session's jobs by slot ("train", "duel"), never another user's. Every session's jobs that
    finished more than KEEP_FINISHED_JOBS_SECONDS ago are forgotten first (`aae.app.workers.forget_finished`)."""
    import uuid

    from aae.app.workers import forget_finished

    session_id = st.session_state.setdefault("_job_session_id", uuid.uuid4().hex)
    registry = job_registry()
    if time.monotonic() - _last_forget[0] >= FORGET_EVERY_SECONDS:
        _last_forget[0] = time.monotonic()
        forget_finished(registry, keep_seconds=KEEP_FINISHED_JOBS_SECONDS)
    return registry.setdefault(session_id, {})


def enable_hover(dataset: str | None = None) -> None:
    """Test digits' images on hover over this page's latent maps (`ui.hover`)."""
    from ui.hover import enable

    enable(dataset or page_dataset())
