"""bench/load_test.py's protocol client against one real server: `streamlit run serve.py` in a process of its own.

AppTest runs a page in the test's process; this is the server a classroom talks to, over its websocket, with the
BackMsgs a browser sends. Two sessions at once each open two pages and move a control on one; every run must end
in script_finished with no exception element in its deltas and every image it shows must load. The client's checks
are themselves checked: a page that does not exist and a widget sent a value of the wrong kind must fail them.

Two sessions opening their first pages at the same moment on a fresh server is what a classroom does; it found
first-import races between script threads (pandas half imported under plotly, ui.live's declare_component).
"""

from __future__ import annotations

import asyncio
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "bench"))

from load_test import StreamlitSession, control_to_move  # noqa: E402

PAGES = [("Latent traversal", "traversal"), ("Prior & samples", "prior_samples")]
IDLE_RELEASE_S = 4  # the server empties its shared caches after this long with no browser connected
RECONNECT_S = 8  # and keeps a closed session this long for a reconnect (Streamlit's default: 120 s)
SERVER: dict = {}  # the running server's process and log, for the tests that read them


@pytest.fixture(scope="module")
def server(data_dir, tmp_path_factory):
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    folder = tmp_path_factory.mktemp("load")
    env = {**os.environ, "AAE_DATA_DIR": str(data_dir), "AAE_RUNS_DIR": str(folder / "runs"), "AAE_WARM_UMAP": "0",
           "AAE_IDLE_RELEASE_S": str(IDLE_RELEASE_S)}
    log = open(folder / "server.log", "wb")
    process = subprocess.Popen(
        [sys.executable, "-m", "streamlit", "run", "serve.py", "--server.headless", "true", "--server.port", str(port),
         "--server.address", "127.0.0.1", "--browser.gatherUsageStats", "false",
         "--server.disconnectedSessionTTL", str(RECONNECT_S)],
        cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
    url = f"http://127.0.0.1:{port}"
    SERVER.update(process=process, log=folder / "server.log")
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                if urllib.request.urlopen(url + "/_stcore/health", timeout=2).status == 200:
                    break
            except OSError:
                pass
            if process.poll() is not None or time.monotonic() > deadline:
                pytest.fail("the server did not start:\n" + (folder / "server.log").read_text()[-2000:])
            time.sleep(0.3)
        yield url
    finally:
        os.killpg(process.pid, signal.SIGTERM)  # the server's group: any worker it started goes with it
        try:
            process.wait(15)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()
        log.close()


async def student(url: str, index: int) -> list:
    session = StreamlitSession(url, timeout=45)
    await session.connect()
    runs = []
    try:
        for title, path in PAGES[index:] + PAGES[:index]:
            run = await session.page(path, title=title)
            runs.append((title, run, await asyncio.to_thread(session.fetch_images, run)))
            if title == "Latent traversal":  # a student moves a control: the same page, run again
                widget, state = control_to_move(run)
                if widget is not None:  # none when the page broke off early: its exception is the failure then
                    run = await session.page(path, [state], title=f"{title} (moves {widget.label})")
                    runs.append((title, run, await asyncio.to_thread(session.fetch_images, run)))
    finally:
        await session.close()
    return runs


def test_two_sessions_get_every_page(server):
    async def both():
        return await asyncio.gather(student(server, 0), student(server, 1))

    sessions = asyncio.run(asyncio.wait_for(both(), timeout=120))
    for index, runs in enumerate(sessions):
        for title, run, failed_images in runs:
            where = f"session {index}, {run.page}"
            assert not run.exceptions, f"{where}: {run.exceptions}\n" + "\n\n".join(run.stack_traces)
            assert run.error is None, f"{where}: {run.error}"
            assert run.status == "FINISHED_SUCCESSFULLY", f"{where}: {run.status}"
            assert title in run.headings, f"{where}: headings {run.headings}"
            assert run.images, f"{where}: no image"
            assert not failed_images, f"{where}: {failed_images}"
        assert len(runs) == 3, f"session {index} moved no control on Latent traversal"


def _dropped() -> int:
    return SERVER["log"].read_text(errors="replace").count("closed sessions past their time")


def test_the_checks_can_fail(server):
    """A missing page is an error, and a slider sent a yes/no instead of its numbers shows an exception element.
    The server then drops that session like any other once its time for a reconnect is up: emptying its widget
    states deserialised the wrong value, which raised and ended the thread that drops sessions and releases caches
    for good."""
    from streamlit.proto.WidgetStates_pb2 import WidgetState

    async def probe():
        session = StreamlitSession(server, timeout=45)
        await session.connect()
        try:
            missing = await session.page("no_such_page")
            page = await session.page("traversal")
            widget, _ = control_to_move(page)
            assert widget is not None and widget.kind == "slider", [w.label for w in page.widgets]
            broken = await session.page("traversal", [WidgetState(id=widget.id, bool_value=True)])
            return missing, broken
        finally:
            await session.close()

    before = _dropped()
    missing, broken = asyncio.run(asyncio.wait_for(probe(), timeout=90))
    assert missing.error and "not found" in missing.error
    assert broken.exceptions, f"no exception element for a wrong widget value (status {broken.status})"
    deadline = time.monotonic() + RECONNECT_S + 30
    while _dropped() == before and time.monotonic() < deadline:
        time.sleep(0.5)
    log = SERVER["log"].read_text(errors="replace")
    assert "Exception in thread aae-idle-release" not in log and "idle watch met an error" not in log, log[-3000:]
    assert _dropped() > before, "the session with the wrong widget value was never dropped"


def _rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    raise AssertionError("no VmRSS")


def _releases() -> int:
    return SERVER["log"].read_text(errors="replace").count("released the shared caches")


def test_the_shared_caches_go_once_no_browser_is_connected(server):
    """A visit fills the shared caches (MNIST, a model, its maps). Once no browser has been connected for
    AAE_IDLE_RELEASE_S the server empties them, says so in its log and hands the memory back; a later visit still
    gets its pages."""
    before = _releases()
    runs = asyncio.run(asyncio.wait_for(student(server, 1), timeout=120))
    assert all(run.status == "FINISHED_SUCCESSFULLY" for _, run, _ in runs)
    filled = _rss_mb(SERVER["process"].pid)
    deadline = time.monotonic() + 60
    while _releases() == before and time.monotonic() < deadline:
        time.sleep(0.5)
    assert _releases() > before, "no release in the server's log within 60 s of the last session closing"
    time.sleep(1)
    emptied = _rss_mb(SERVER["process"].pid)
    assert emptied < filled - 30, f"resident {filled:.0f} MB with the caches full, {emptied:.0f} MB after the release"
    for title, run, failed_images in asyncio.run(asyncio.wait_for(student(server, 0), timeout=120)):
        assert run.status == "FINISHED_SUCCESSFULLY" and not run.exceptions and run.images and not failed_images, title


def test_a_closed_session_is_dropped_once_its_time_for_a_reconnect_is_up(server):
    """Streamlit drops a closed session past its reconnect time only when a later session disconnects, so the last
    visitor's session (its state, the models and images its widgets refer to) stayed on an idle server for good.
    The idle server drops it itself, and releases what it held."""
    before = _dropped()
    runs = asyncio.run(asyncio.wait_for(student(server, 1), timeout=120))
    assert all(run.status == "FINISHED_SUCCESSFULLY" for _, run, _ in runs)
    deadline = time.monotonic() + RECONNECT_S + 30
    while _dropped() == before and time.monotonic() < deadline:
        time.sleep(0.5)
    assert _dropped() > before, "the closed session was still kept after its time for a reconnect"
