"""2-D views of latent codes (PCA, t-SNE, UMAP) and where one code sits among others: its majority class
among its nearest neighbours, and the prior component it is closest to.

Plain numpy/scikit-learn/umap-learn, no Streamlit: the pages cache and display what these return.
"""

from __future__ import annotations

import os
import threading
import warnings
from collections.abc import Callable
from pathlib import Path
from typing import Literal

import numpy as np
import torch

from aae.core.priors import Prior

__all__ = ["METHODS", "MIN_POINTS", "ProjectionStore", "majority_class", "nearest_component", "project",
           "shown_subset"]

ProjectionMethod = Literal["pca", "tsne", "umap"]
METHODS: tuple[str, ...] = ("pca", "tsne", "umap")
# Fewest points each method can work with: PCA needs more points than components; t-SNE needs
# perplexity < N; UMAP's spectral initialisation needs a neighbour graph of a handful of points.
MIN_POINTS: dict[str, int] = {"pca": 3, "tsne": 5, "umap": 10}
# How many test codes a map shows unless asked for more: t-SNE and UMAP take minutes on all 10,000 on a CPU.
DEFAULT_POINTS: dict[str, int] = {"pca": 10_000, "tsne": 2_000, "umap": 2_000}


def project(
    codes: np.ndarray, method: ProjectionMethod, *, seed: int = 0, n_components: int = 2
) -> np.ndarray:
    """Codes (N, D) -> (N, n_components) float32 for plotting.

    Codes that already have `n_components` dimensions are returned unchanged (as float32): a 2-D latent
    space is its own map. Codes with fewer dimensions are padded with zero columns, so a 1-D code plots
    on a line. PCA is exact and fast (10,000 codes in milliseconds); t-SNE (scikit-learn, PCA
    initialisation, perplexity min(30, (N − 1)/3)) and UMAP (umap-learn, 15 neighbours, min_dist 0.1)
    take seconds to minutes, so callers should subsample and cache.
    """
    if method not in METHODS:
        raise ValueError(f"unknown projection {method!r}; choose one of {', '.join(METHODS)}")
    x = np.asarray(codes, dtype=np.float32)
    if x.ndim != 2:
        raise ValueError(f"codes must be a 2-D array (points × dimensions), got shape {x.shape}")
    if not np.isfinite(x).all():
        raise ValueError("codes contain NaN or infinite values; cannot project them")
    n, d = x.shape
    if d == n_components:
        return x
    if d < n_components:
        return np.concatenate([x, np.zeros((n, n_components - d), dtype=np.float32)], axis=1)
    if n < MIN_POINTS[method]:
        raise ValueError(f"{method} needs at least {MIN_POINTS[method]} points to project; got {n}")

    if method == "pca":
        from sklearn.decomposition import PCA

        out = PCA(n_components=n_components, random_state=seed).fit_transform(x)
    elif method == "tsne":
        from sklearn.manifold import TSNE
        from threadpoolctl import threadpool_limits

        # sklearn requires perplexity < N; (N − 1)/3 keeps about three perplexities of neighbours per point.
        perplexity = min(30.0, (n - 1) / 3)
        tsne = TSNE(n_components=n_components, init="pca", perplexity=perplexity, random_state=seed)
        # Its OpenMP threads spin-wait: on a busy machine with every core taken (training in the
        # background) they ran 10× slower than one thread (300 points: 12-17 s vs 1.1 s). Use half the cores.
        with threadpool_limits(limits=max(1, (os.cpu_count() or 2) // 2)):
            out = tsne.fit_transform(x)
    else:
        # Imported here: umap-learn pulls in numba, whose first import and JIT compile take ~20 s.
        import umap

        reducer = umap.UMAP(n_components=n_components, n_neighbors=min(15, n - 1), min_dist=0.1,
                            random_state=seed)
        with warnings.catch_warnings():
            # A fixed random_state makes UMAP single-threaded, and it warns about that on every call.
            warnings.filterwarnings("ignore", message="n_jobs value", category=UserWarning)
            out = reducer.fit_transform(x)
    return np.ascontiguousarray(out, dtype=np.float32)


def shown_subset(n_total: int, n_points: int, seed: int = 0) -> np.ndarray:
    """The seeded random subset of `n_points` of `n_total` codes a map shows, sorted (the same digits for every
    model, so two maps side by side show the same test digits)."""
    if not 1 <= n_points <= n_total:
        raise ValueError(f"cannot show {n_points} of {n_total} points")
    return np.sort(np.random.default_rng(seed).permutation(n_total)[:n_points])


class ProjectionStore:
    """Projections kept on disk, so a t-SNE or UMAP is computed once per model, not once per server start; and each
    model's codes of the test set, for the same reason.

    t-SNE of 2,000 codes takes tens of seconds on a 2-core CPU; the store keys each one on what determines it: the
    model's weights (the sha256 its card records), its dataset, the shown subset (size and seed) and the method, so
    a retrained model under the same name never reads the old model's map. Files are written atomically (a
    temporary name, then a rename): a reader sees a whole projection or none.
    """

    def __init__(self, root: str | os.PathLike):
        self.root = Path(root)

    def path(self, weights: str, dataset: str, method: str, n_points: int, seed: int) -> Path:
        if method not in METHODS:
            raise ValueError(f"unknown projection {method!r}; choose one of {', '.join(METHODS)}")
        return self.root / f"{weights[:32]}-{dataset}-{method}-n{n_points}-s{seed}.npy"

    def get(self, weights: str, dataset: str, method: str, n_points: int, seed: int) -> np.ndarray | None:
        path = self.path(weights, dataset, method, n_points, seed)
        try:
            points = np.load(path, allow_pickle=False)
        except (OSError, ValueError):  # absent, or unreadable (then it is computed again and replaced)
            return None
        return points if points.shape == (n_points, 2) and np.isfinite(points).all() else None

    def put(self, weights: str, dataset: str, method: str, n_points: int, seed: int, points: np.ndarray) -> None:
        _save(self.path(weights, dataset, method, n_points, seed), points)

    # The test set's codes too: encoding 10,000 digits took 0.4–0.7 s of a page's first visit after every start.
    def codes_path(self, weights: str, dataset: str) -> Path:
        return self.root / f"{weights[:32]}-{dataset}-codes.npy"

    def get_codes(self, weights: str, dataset: str, n_images: int) -> np.ndarray | None:
        """The codes of `dataset`'s `n_images` test images under these weights, when stored whole and finite."""
        try:
            codes = np.load(self.codes_path(weights, dataset), allow_pickle=False)
        except (OSError, ValueError):
            return None
        return codes if codes.ndim == 2 and len(codes) == n_images and np.isfinite(codes).all() else None

    def codes(self, weights: str, dataset: str, n_images: int, encode: Callable[[], np.ndarray]) -> np.ndarray:
        """The stored codes, else `encode()`'s, stored for the next time (a read-only install computes them again)."""
        stored = self.get_codes(weights, dataset, n_images)
        if stored is not None:
            return stored
        codes = np.asarray(encode(), dtype=np.float32)
        try:
            _save(self.codes_path(weights, dataset), codes)
        except OSError:
            pass
        return codes

    def project(self, codes: np.ndarray, method: ProjectionMethod, *, weights: str, dataset: str,
                seed: int = 0) -> np.ndarray:
        """`project(codes, method, seed=seed)`, read from the store when this model's map was made before (by a
        page, or by the app's start-up warm-up), else computed and stored. `codes` is the shown subset, whose
        size is part of the key."""
        stored = self.get(weights, dataset, method, len(codes), seed)
        if stored is not None:
            return stored
        points = project(codes, method, seed=seed)
        try:
            self.put(weights, dataset, method, len(codes), seed, points)
        except OSError:  # a read-only install still shows the map; it just computes it again next time
            pass
        return points


def _save(path: Path, array: np.ndarray) -> None:
    """Write atomically (a temporary name, then a rename): a reader sees the whole array or none."""
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = path.with_name(f".{path.name}.{os.getpid()}.{threading.get_ident()}.tmp")
    with open(temporary, "wb") as handle:
        np.save(handle, np.asarray(array, dtype=np.float32), allow_pickle=False)
    os.replace(temporary, path)


def warm_up(method: str = "umap") -> float:
    """Project a small random set once so numba compiles UMAP's code now, not on a user's first click.

    Returns the seconds it took. The compiled functions stay for the process (the app calls this in a
    background thread at start, so the first UMAP a user asks for waits only for the projection itself).
    """
    import time

    started = time.perf_counter()
    rng = np.random.default_rng(0)
    # UMAP takes exact neighbours below 4,096 points and NN-descent (compiled separately) from there:
    # warm both, so the page's 2,000-code default and a full 10,000-code map each skip the compile.
    for n in (300, 4200):
        project(rng.normal(size=(n, 8)).astype(np.float32), method, seed=0)
    return time.perf_counter() - started


def lower_this_threads_priority() -> None:
    """Give the calling thread the lowest CPU priority (Linux schedules threads one by one; elsewhere nothing
    happens), so background work yields to the pages a user is waiting for. Threads it starts inherit it."""
    try:
        os.setpriority(os.PRIO_PROCESS, threading.get_native_id(), 19)
    except (AttributeError, OSError):
        pass


def warm_up_store(store: ProjectionStore, checkpoints_dir: str | os.PathLike, data_dir: str | os.PathLike, *,
                  seed: int = 0, methods: tuple[str, ...] = ("umap", "tsne")) -> list[Path]:
    """Fill `store` with what pages would otherwise compute on a first visit: first the test set's codes of every
    checkpoint under `checkpoints_dir` with an encoder (a fraction of a second each), then, after compiling UMAP
    (when it is one of `methods`), the maps a user is offered first: for every model whose codes need projecting on
    the *AAE vs VAE* page (an encoder of plain codes of more than 2 dimensions), each of `methods` at its default
    size. Runs at the lowest priority; skips what is stored already, and models whose dataset is absent. Returns the
    files it found or made."""
    from aae.core import catalog
    from aae.core.checkpoints import CheckpointError, dataset_of, find_checkpoints, load_checkpoint, read_card
    from aae.core.data import DataNotFoundError, load_dataset
    from aae.core.inference import encode_all

    lower_this_threads_priority()
    encoders = set(catalog.kinds(encoder=True))
    mapped = set(catalog.kinds(encoder=True, conditional=False, categorical=False))
    test_sets: dict[str, torch.Tensor | None] = {}

    def test_images(dataset: str) -> torch.Tensor | None:
        if dataset not in test_sets:
            try:
                test_sets[dataset] = load_dataset(dataset, data_dir=data_dir, test=True).test_x
            except DataNotFoundError:
                test_sets[dataset] = None
        return test_sets[dataset]

    models = []  # (path, card, dataset, weights) of each model with an encoder whose test set is here
    for path in find_checkpoints(checkpoints_dir):
        try:  # the card says what a model is; a model is loaded only when something of it is missing
            card = read_card(path)
        except CheckpointError:
            continue
        if card.get("kind") in encoders and test_images(dataset_of(card)) is not None:
            models.append((path, card, dataset_of(card), card["files"]["model.safetensors"]))

    def codes_of(path: Path, dataset: str, weights: str) -> np.ndarray | None:
        images = test_images(dataset)

        def encode() -> np.ndarray:
            with torch.no_grad():
                return encode_all(load_checkpoint(path, device="cpu").model, images).numpy()
        try:
            return store.codes(weights, dataset, len(images), encode)
        except CheckpointError:
            return None

    made = []
    for path, _, dataset, weights in models:
        if codes_of(path, dataset, weights) is not None:
            made.append(store.codes_path(weights, dataset))
    if "umap" in methods:
        warm_up()
    for path, card, dataset, weights in models:
        if card["kind"] not in mapped or card.get("config", {}).get("latent_dim", 0) <= 2:
            continue
        wanted = [m for m in methods if store.get(weights, dataset, m, DEFAULT_POINTS[m], seed) is None]
        codes = codes_of(path, dataset, weights) if wanted else None
        if wanted and codes is None:
            continue
        for method in wanted:
            subset = shown_subset(len(codes), DEFAULT_POINTS[method], seed)
            store.project(codes[subset], method, weights=weights, dataset=dataset, seed=seed)
        made += [store.path(weights, dataset, m, DEFAULT_POINTS[m], seed) for m in methods]
    return made


def majority_class(
    codes: np.ndarray, labels: np.ndarray, query: np.ndarray, *, k: int = 10
) -> tuple[int, float, np.ndarray]:
    """The class a code is closest to: the most common label among its k nearest codes (Euclidean).

    Returns (label, share of the k neighbours that carry it, indices of the k neighbours nearest first).
    Ties go to the label whose members are nearer (the first to reach the top count in distance order).
    """
    z = np.asarray(codes, dtype=np.float64)
    y = np.asarray(labels).reshape(-1)
    q = np.asarray(query, dtype=np.float64).reshape(1, -1)
    if z.ndim != 2 or z.shape[0] != y.shape[0] or z.shape[0] == 0:
        raise ValueError(f"need codes (N, D) with N ≥ 1 and N labels; got {z.shape} and {y.shape[0]} labels")
    if q.shape[1] != z.shape[1]:
        raise ValueError(f"query has {q.shape[1]} dimensions but the codes have {z.shape[1]}")
    k = min(k, z.shape[0])
    order = np.argsort(((z - q) ** 2).sum(1), kind="stable")[:k]
    votes = y[order]
    values, counts = np.unique(votes, return_counts=True)
    best = counts.max()
    winners = set(values[counts == best].tolist())
    label = next(int(v) for v in votes if int(v) in winners)
    return label, float(best / k), order


def nearest_component(prior: Prior, code: np.ndarray | torch.Tensor, *, samples_per_class: int = 500,
                      seed: int = 0) -> tuple[int, float]:
    """Which part of a class-structured prior (mog10, swiss roll) a 2-D code lies closest to.

    For the mixture it is the component whose mean is nearest; for priors without means (the swiss roll)
    it is the class of the nearest of `samples_per_class` seeded prior draws per class. Returns
    (component index = digit class, distance to that mean or draw).
    """
    if not prior.supports_labels:
        raise ValueError(f"the {prior.name} prior has no per-class components")
    z = torch.as_tensor(np.asarray(code, dtype=np.float32)).reshape(1, -1)
    if z.shape[1] != prior.dim:
        raise ValueError(f"code has {z.shape[1]} dimensions but the prior has {prior.dim}")
    means = getattr(prior, "means", None)
    if callable(means):
        centres = means().float()
        labels = torch.arange(len(centres))
    else:
        labels = torch.arange(prior.n_classes).repeat_interleave(samples_per_class)
        centres = prior.sample(len(labels), labels=labels, generator=torch.Generator().manual_seed(seed))
    distances = (centres - z).norm(dim=1)
    best = int(distances.argmin())
    return int(labels[best]), float(distances[best])


def warm_up_in_a_process(store_root: str | os.PathLike, checkpoints_dir: str | os.PathLike,
                         data_dir: str | os.PathLike, *, seed: int = 0, methods: tuple[str, ...] = ("umap", "tsne"),
                         timeout: float = 3600) -> int:
    """Run `warm_up_store` in a child process at the lowest priority and wait for it; returns its exit code.

    Not in the caller's process: a thread at the lowest priority that holds the interpreter lock (numba's
    compiler runs in Python) is descheduled for seconds at a time on a busy CPU, and every other thread of
    the process waits for the lock meanwhile. Seen 2026-12-01 with three trainings running beside the server:
    the *Clusters* page stayed blank for more than 3 minutes while a py-spy dump showed the warm-up thread holding
    the lock inside numba's compiler (with the CPU idle the page takes seconds). A child
    process shares no lock with the server (it lowers its own priority, in warm_up_store); its numba
    compilations go to numba's disk cache where the libraries allow it, and its maps to the store, which the
    server reads.
    """
    import subprocess
    import sys

    command = [sys.executable, "-m", "aae.app.guard", str(os.getpid()),  # the child ends when this process does
               "aae.app.projections", str(store_root), str(checkpoints_dir), str(data_dir), str(seed),
               ",".join(methods)]
    try:
        return subprocess.run(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                              timeout=timeout).returncode
    except subprocess.TimeoutExpired:
        return -1


if __name__ == "__main__":  # python -m aae.app.projections STORE CHECKPOINTS DATA SEED METHODS
    import sys

    store_root, checkpoints, data, seed, methods = sys.argv[1:6]
    warm_up_store(ProjectionStore(store_root), checkpoints, data, seed=int(seed), methods=tuple(methods.split(",")))
