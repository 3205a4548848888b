"""bench/load_test.py's protocol client against one real server: `streamlit run app.py` in a process of its own.

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


@pytest.fixture(scope="module")
def server(data_dir, tmp_path_factory):
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    folder = tmp_path_factory.mktemp("load")
    env = {**os.environ, "AAE_DATA_DIR": str(data_dir), "AAE_RUNS_DIR": str(folder / "runs"), "AAE_WARM_UMAP": "0"}
    log = open(folder / "server.log", "wb")
    process = subprocess.Popen(
        [sys.executable, "-m", "streamlit", "run", "app.py", "--server.headless", "true", "--server.port", str(port),
         "--server.address", "127.0.0.1", "--browser.gatherUsageStats", "false"],
        cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
    url = f"http://127.0.0.1:{port}"
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


def test_the_checks_can_fail(server):
    """A missing page is an error, and a slider sent a yes/no instead of its numbers shows an exception element."""
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

    missing, broken = asyncio.run(asyncio.wait_for(probe(), timeout=90))
    assert missing.error and "not found" in missing.error
    assert broken.exceptions, f"no exception element for a wrong widget value (status {broken.status})"
