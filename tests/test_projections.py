"""aae.app.projections: 2-D maps of codes (PCA, t-SNE, UMAP), a code's majority class, its nearest prior part."""

import numpy as np
import pytest
import torch

from aae.app.projections import (
    DEFAULT_POINTS,
    ProjectionStore,
    majority_class,
    nearest_component,
    project,
    shown_subset,
    warm_up_store,
)
from aae.core.metrics import knn_accuracy
from aae.core.priors import PriorConfig, make_prior


def _blobs(n_per: int = 100, dim: int = 8, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Three unit-variance Gaussian blobs 12 apart in `dim` dimensions."""
    rng = np.random.default_rng(seed)
    centres = np.zeros((3, dim))
    centres[1, 0], centres[2, 1] = 12.0, 12.0
    labels = np.repeat(np.arange(3), n_per)
    return (centres[labels] + rng.normal(size=(3 * n_per, dim))).astype(np.float32), labels


def test_pca_shape_and_dtype():
    codes = np.random.default_rng(0).normal(size=(50, 5))
    out = project(codes, "pca")
    assert out.shape == (50, 2) and out.dtype == np.float32


@pytest.mark.parametrize("method", ["pca", "tsne", "umap"])
def test_two_dimensional_codes_are_returned_unchanged(method):
    codes = np.random.default_rng(1).normal(size=(40, 2)).astype(np.float32)
    out = project(codes, method)
    assert out.dtype == np.float32 and np.array_equal(out, codes)


def test_one_dimensional_codes_are_padded_onto_a_line():
    codes = np.arange(6, dtype=np.float64).reshape(6, 1)
    out = project(codes, "pca")
    assert out.shape == (6, 2) and np.array_equal(out[:, 0], codes[:, 0]) and not out[:, 1].any()


def test_pca_keeps_the_variance_ordering_of_an_anisotropic_cloud():
    rng = np.random.default_rng(2)
    stds = np.array([1.0, 5.0, 0.2, 3.0])  # the two widest axes are 1 (std 5) then 3 (std 3)
    codes = rng.normal(size=(2000, 4)) * stds
    out = project(codes, "pca")
    var = out.var(axis=0)
    assert var[0] > var[1] > 0
    assert var[0] == pytest.approx(25.0, rel=0.1) and var[1] == pytest.approx(9.0, rel=0.1)
    # The first component is the std-5 axis itself (up to sign), the second the std-3 axis.
    assert abs(np.corrcoef(out[:, 0], codes[:, 1])[0, 1]) > 0.99
    assert abs(np.corrcoef(out[:, 1], codes[:, 3])[0, 1]) > 0.99


@pytest.mark.parametrize("method", ["tsne", "umap"])
def test_nonlinear_maps_keep_separated_blobs_separated(method):
    codes, labels = _blobs()
    out = project(codes, method, seed=0)
    assert out.shape == (300, 2) and out.dtype == np.float32 and np.isfinite(out).all()
    assert knn_accuracy(out, labels, k=5) > 0.95


def test_clear_errors():
    codes = np.random.default_rng(3).normal(size=(20, 4))
    with pytest.raises(ValueError, match="unknown projection"):
        project(codes, "isomap")
    with pytest.raises(ValueError, match="at least"):
        project(codes[:3], "tsne")
    with pytest.raises(ValueError, match="at least"):
        project(codes[:2], "pca")
    with pytest.raises(ValueError, match="NaN"):
        project(np.full((20, 4), np.nan), "pca")
    with pytest.raises(ValueError, match="2-D array"):
        project(codes[0], "pca")


def test_majority_class_of_the_nearest_codes():
    codes = np.array([[0.0, 0.0], [0.1, 0.0], [0.2, 0.0], [5.0, 5.0], [5.1, 5.0], [0.3, 0.0]])
    labels = np.array([4, 4, 7, 1, 1, 4])
    label, share, idx = majority_class(codes, labels, np.array([0.05, 0.0]), k=4)
    assert label == 4 and share == pytest.approx(0.75)
    assert list(idx) == [0, 1, 2, 5]  # nearest first
    label, share, _ = majority_class(codes, labels, np.array([5.0, 5.1]), k=2)
    assert (label, share) == (1, 1.0)
    with pytest.raises(ValueError, match="dimensions"):
        majority_class(codes, labels, np.zeros(3))


def test_nearest_component_of_class_structured_priors():
    mog = make_prior(PriorConfig("mog10"), 2)
    for k in (0, 3, 9):
        component, distance = nearest_component(mog, mog.means()[k] * 1.1)
        assert component == k and distance == pytest.approx(0.1 * float(mog.means()[k].norm()), rel=1e-4)
    roll = make_prior(PriorConfig("swissroll"), 2)
    draws = roll.sample(20, labels=torch.full((20,), 6), generator=torch.Generator().manual_seed(5))
    found = [nearest_component(roll, z.numpy())[0] for z in draws]
    assert sum(c == 6 for c in found) >= 17  # draws near a segment's ends may touch its neighbour
    with pytest.raises(ValueError, match="components"):
        nearest_component(make_prior(PriorConfig("gaussian"), 2), np.zeros(2))



def test_the_app_warms_up_projections_in_a_background_thread_unless_told_not_to(monkeypatch, tmp_path):
    import threading

    from ui import caches, common

    monkeypatch.setattr(caches, "SHIPPED_DIR", tmp_path / "no-models")  # the compile alone, not the shipped maps
    monkeypatch.setenv("AAE_CACHE_DIR", str(tmp_path / "cache"))
    monkeypatch.setenv("AAE_WARM_UMAP", "0")
    common.warm_up_projections.clear()
    common.warm_up_projections()
    assert not [t for t in threading.enumerate() if t.name == "warm-projections"]

    monkeypatch.setenv("AAE_WARM_UMAP", "1")
    common.warm_up_projections.clear()
    common.warm_up_projections()
    warming = [t for t in threading.enumerate() if t.name == "warm-projections"]
    assert len(warming) == 1 and warming[0].daemon
    warming[0].join(timeout=900)  # a guard, not a speed test: on a busy 2-core machine the compile took over 3 min
    assert not warming[0].is_alive()
    common.warm_up_projections.clear()


def test_shown_subset_is_the_same_seeded_sorted_choice_every_time():
    a, b = shown_subset(10_000, 2_000, 0), shown_subset(10_000, 2_000, 0)
    assert np.array_equal(a, b) and len(np.unique(a)) == 2_000 and np.all(np.diff(a) > 0)
    assert not np.array_equal(a, shown_subset(10_000, 2_000, 1))
    with pytest.raises(ValueError, match="cannot show"):
        shown_subset(100, 101)


def test_the_projection_store_computes_once_and_keys_on_the_weights(tmp_path, monkeypatch):
    import aae.app.projections as projections

    store = ProjectionStore(tmp_path / "store")
    codes = np.random.default_rng(0).normal(size=(300, 5)).astype(np.float32)
    calls = []
    real = projections.project
    monkeypatch.setattr(projections, "project", lambda *a, **k: calls.append(a[1]) or real(*a, **k))

    first = store.project(codes, "pca", weights="a" * 64, dataset="mnist", seed=0)
    again = store.project(codes, "pca", weights="a" * 64, dataset="mnist", seed=0)
    assert calls == ["pca"] and np.array_equal(first, again)  # the second came from the file
    assert np.allclose(first, real(codes, "pca", seed=0))
    # A retrained model (other weights), another dataset, size or seed: another map, computed afresh.
    store.project(codes, "pca", weights="b" * 64, dataset="mnist", seed=0)
    store.project(codes, "pca", weights="a" * 64, dataset="fashion-mnist", seed=0)
    store.project(codes[:200], "pca", weights="a" * 64, dataset="mnist", seed=0)
    assert calls == ["pca"] * 4
    assert not list((tmp_path / "store").glob(".*tmp"))  # written through a temporary name, then renamed
    # A damaged file is computed again and replaced, not shown.
    path = store.path("a" * 64, "mnist", "pca", 300, 0)
    path.write_bytes(b"not an array")
    assert np.allclose(store.project(codes, "pca", weights="a" * 64, dataset="mnist", seed=0), first)
    assert calls == ["pca"] * 5 and store.get("a" * 64, "mnist", "pca", 300, 0) is not None


def test_the_store_keeps_each_models_codes_of_the_test_set(tmp_path):
    """Encoded once per model's weights and dataset, then read: a first visit after a restart encodes nothing."""
    store = ProjectionStore(tmp_path / "store")
    codes = np.random.default_rng(0).normal(size=(500, 3)).astype(np.float32)
    calls = []

    def encode():
        calls.append(1)
        return codes

    assert np.array_equal(store.codes("a" * 64, "mnist", 500, encode), codes)
    assert np.array_equal(store.codes("a" * 64, "mnist", 500, encode), codes) and calls == [1]
    store.codes("b" * 64, "mnist", 500, encode)  # other weights (a retrained model)
    store.codes("a" * 64, "fashion-mnist", 500, encode)  # another dataset
    assert len(calls) == 3
    assert store.get_codes("a" * 64, "mnist", 400) is None  # not the test set asked for: encoded again
    store.codes_path("a" * 64, "mnist").write_bytes(b"damaged")
    assert np.array_equal(store.codes("a" * 64, "mnist", 500, encode), codes) and len(calls) == 4


def test_the_warm_up_runs_in_a_child_process_that_fills_the_store(tiny_models, data_dir, tmp_path):
    """A child process, so its work never holds the server's interpreter lock (which froze pages): it fills the
    same store as the in-process warm-up would, and returns its exit code."""
    from aae.app.projections import warm_up_in_a_process

    models = tiny_models["tiny-aae-8d"].parent
    assert warm_up_in_a_process(tmp_path / "store", models, data_dir, methods=("pca",)) == 0
    made = sorted((tmp_path / "store").rglob("*.npy"))
    assert made and made == sorted(warm_up_store(ProjectionStore(tmp_path / "store"), models, data_dir,
                                                 methods=("pca",)))
    assert warm_up_in_a_process(tmp_path / "other", models, data_dir, methods=("nope",)) != 0  # its failure shows


def test_warm_up_fills_the_store_for_models_whose_codes_need_a_map(tiny_models, data_dir, tmp_path):
    import shutil

    from aae.core.checkpoints import read_card

    models = tmp_path / "models"
    for name in ("tiny-aae-8d", "tiny-aae-2d-gaussian", "tiny-semi"):
        shutil.copytree(tiny_models[name], models / name)
    store = ProjectionStore(tmp_path / "store")
    made = warm_up_store(store, models, data_dir, methods=("pca",))
    weights = read_card(models / "tiny-aae-8d")["files"]["model.safetensors"]
    cards = {name: read_card(models / name) for name in ("tiny-aae-8d", "tiny-aae-2d-gaussian", "tiny-semi")}
    codes = sorted(store.codes_path(card["files"]["model.safetensors"], "mnist") for card in cards.values())
    # The test set's codes of every model with an encoder, then the maps: only the 8-D plain AAE needs one (2-D
    # codes are their own map, a semi-supervised model's codes are not plain).
    assert sorted(made[:3]) == codes and made[3:] == [store.path(weights, "mnist", "pca", DEFAULT_POINTS["pca"], 0)]
    assert made[3].exists() and np.load(made[3]).shape == (DEFAULT_POINTS["pca"], 2)
    for card in cards.values():
        stored = np.load(store.codes_path(card["files"]["model.safetensors"], "mnist"))
        assert stored.shape == (10_000, card["config"]["latent_dim"])
    before = [path.stat().st_mtime_ns for path in made]
    assert warm_up_store(store, models, data_dir, methods=("pca",)) == made
    assert [path.stat().st_mtime_ns for path in made] == before  # stored already: not made again


def test_the_warm_up_process_ends_with_the_server_that_started_it(tmp_path, data_dir):
    """A server stopped (or killed) while its projection warm-up runs leaves no process computing maps behind: a
    restarted server had left one taking a core for minutes."""
    import os
    import signal
    import subprocess
    import sys
    import time
    from pathlib import Path

    root = Path(__file__).resolve().parents[1]
    store = tmp_path / "store"
    server = subprocess.Popen([sys.executable, "-c", (
        "import threading, time\n"
        "from aae.app.projections import warm_up_in_a_process\n"
        f"threading.Thread(target=warm_up_in_a_process, args=({str(store)!r}, {str(root / 'checkpoints')!r}, "
        f"{str(data_dir)!r})).start()\n"
        "time.sleep(600)\n")], cwd=root)

    def warming() -> list[int]:
        found = []
        for entry in Path("/proc").iterdir():
            try:
                command = (entry / "cmdline").read_bytes().split(b"\0")
            except OSError:
                continue
            if b"aae.app.projections" in command and str(store).encode() in command:
                found.append(int(entry.name))
        return found

    try:
        deadline = time.monotonic() + 60
        while not warming() and time.monotonic() < deadline:
            time.sleep(0.2)
        assert warming(), "the warm-up process did not start"
        os.kill(server.pid, signal.SIGKILL)
        server.wait()
        deadline = time.monotonic() + 30
        while warming() and time.monotonic() < deadline:
            time.sleep(0.2)
        assert not warming(), "the warm-up process outlived its server"
    finally:
        for pid in warming():
            os.kill(pid, signal.SIGKILL)
        if server.poll() is None:
            server.kill()


def test_the_guard_ends_an_orphan_before_its_module_runs():
    """The warm-up process checks for its server before importing anything heavy: started for a server that is not
    its parent, it ends at once (0, the module never ran); for its real parent it runs the module as a script
    (which, given no arguments, stops on them)."""
    import os
    import subprocess
    import sys

    def guarded(server_pid: int) -> subprocess.CompletedProcess:
        return subprocess.run([sys.executable, "-m", "aae.app.guard", str(server_pid), "aae.app.projections"],
                              capture_output=True, text=True, timeout=120)

    orphan = guarded(1)
    assert orphan.returncode == 0 and orphan.stderr == ""
    run = guarded(os.getpid())
    assert run.returncode == 1 and "ValueError" in run.stderr  # the module's own argument unpacking
