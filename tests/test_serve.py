"""`streamlit run serve.py`: the server imports what the pages use before it takes a visitor."""

from __future__ import annotations

import ast
import os
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

from ui.preload import COMPONENTS, LIBRARIES, ON_DEMAND

ROOT = Path(__file__).resolve().parents[1]
PROJECT = {"aae", "ui", "views", "streamlit", "__future__"}


def imported_packages(path: Path) -> set[str]:
    """The top-level packages a file imports, at its top or inside a function (absolute imports)."""
    names = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            names |= {alias.name.split(".")[0] for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            names.add(node.module.split(".")[0])
    return names


def test_every_library_the_pages_import_is_preloaded_or_named_as_imported_on_demand():
    """A library a page imports that the server did not import as it started costs its first visitor the import
    (PyTorch alone, 2-3 s) and makes the server's size before a visit a wrong baseline."""
    files = [ROOT / "app.py", *ROOT.glob("views/*.py"), *ROOT.glob("ui/*.py"), *ROOT.glob("aae/app/*.py")]
    used = set().union(*(imported_packages(path) for path in files)) - PROJECT - set(sys.stdlib_module_names)
    covered = {name.split(".")[0] for name in (*LIBRARIES, *COMPONENTS)} | set(ON_DEMAND)
    assert used, "no library found: the scan reads nothing"
    assert not used - covered, f"imported by the pages but not preloaded: {sorted(used - covered)}"
    # Every named module exists (a typo would fail the server's start, not this list).
    import importlib.util

    for name in LIBRARIES:
        assert importlib.util.find_spec(name) is not None, name


def test_the_server_has_imported_the_libraries_before_its_first_visitor(data_dir, tmp_path):
    """The README's command: healthy only once PyTorch is loaded, with no session opened yet."""
    import psutil

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    env = {**os.environ, "AAE_DATA_DIR": str(data_dir), "AAE_RUNS_DIR": str(tmp_path / "runs"), "AAE_WARM_UMAP": "0"}
    log = tmp_path / "server.log"
    with log.open("wb") as out:
        server = subprocess.Popen([sys.executable, "-m", "streamlit", "run", "serve.py", "--server.headless", "true",
                                   "--server.port", str(port), "--server.address", "127.0.0.1",
                                   "--browser.gatherUsageStats", "false"], cwd=ROOT, env=env, stdout=out,
                                  stderr=subprocess.STDOUT)
    try:
        deadline = time.monotonic() + 90
        while True:
            try:
                if urllib.request.urlopen(f"http://127.0.0.1:{port}/_stcore/health", timeout=2).status == 200:
                    break
            except OSError:
                pass
            if server.poll() is not None or time.monotonic() > deadline:
                pytest.fail("the server did not start:\n" + log.read_text()[-2000:])
            time.sleep(0.2)
        mapped = {Path(m.path).name for m in psutil.Process(server.pid).memory_maps()}
        assert any(name.startswith("libtorch_cpu") for name in mapped), "PyTorch was not loaded when it answered"
        assert "Traceback" not in log.read_text()
    finally:
        server.terminate()
        server.wait(15)


def test_app_py_runs_as_a_plain_script(data_dir, tmp_path):
    """A process started with multiprocessing's spawn runs its parent's main file first; after Streamlit's test
    runtime has run app.py in a process, that file is app.py (a sweep's trial processes, started from a test
    process, ran it). It must not fail there, where no Streamlit component can be registered, nor start reading
    MNIST in a thread that is still inside PyTorch when the process ends (it aborted so on a busy machine)."""
    code = ("import runpy; runpy.run_path('app.py', run_name='__mp_main__'); from ui import caches; "
            "print('ran', len(caches._preloaded))")
    env = {**os.environ, "AAE_DATA_DIR": str(data_dir), "AAE_RUNS_DIR": str(tmp_path), "AAE_WARM_UMAP": "0"}
    done = subprocess.run([sys.executable, "-c", code], cwd=ROOT, env=env, capture_output=True, text=True,
                          timeout=120)
    assert done.returncode == 0 and "ran 0" in done.stdout, done.stderr[-2000:]
