"""The server's resident memory while one visitor walks through every page, and after the visitor leaves.

Starts `streamlit run serve.py` on a free port of 127.0.0.1 (AAE_WARM_UMAP=0, runs in a temporary folder), then one
headless client (bench/load_test.py's, which speaks Streamlit's websocket protocol) opens Home and every page of
app.py's navigation in order, and on each page that has one moves a control (a main-area slider, else a select
box, one notch: a second run of the page). The server's RSS (psutil) is read before the walk, after each page,
a few seconds after the session closes, and `--linger` seconds later (a closed session is kept for reconnection
for 2 minutes by Streamlit); its peak is sampled twice a second throughout.

    python bench/memory_walk.py [--linger 120] [--visitors 2] [--revisit] [--only encode,aae_vs_vae] [--no-moves]
                                [--inspect] [--env MALLOC_ARENA_MAX=2]

Prints one row per reading: what was done, RSS, the change from the previous reading and from the start, and the
heap (the anonymous part of the RSS: what is not pages of mapped libraries and files).
"""

from __future__ import annotations

import argparse
import ast
import asyncio
import os
import re
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "bench"))

from live_fps import free_port, start_server, stop_server, wait_until_healthy  # noqa: E402
from load_test import Memory, StreamlitSession, control_to_move  # noqa: E402


def app_pages() -> list[tuple[str, str]]:
    """(title, URL path) of every page app.py registers, in its order, read from its PAGES without running it."""
    tree = ast.parse((ROOT / "app.py").read_text())
    for node in tree.body:
        if isinstance(node, ast.Assign) and any(getattr(t, "id", None) == "PAGES" for t in node.targets):
            sections = ast.literal_eval(node.value)
            return [(title, url) for pages in sections.values() for _, title, _, url in pages]
    raise SystemExit("app.py has no PAGES")


def rss_mb(pid: int) -> float:
    import psutil

    return psutil.Process(pid).memory_info().rss / 2**20


def anonymous_mb(pid: int) -> float | None:
    """The part of the RSS that is the process's own heap and stacks (not pages of mapped libraries and files)."""
    try:
        text = Path(f"/proc/{pid}/smaps_rollup").read_text()
    except OSError:
        return None
    found = re.search(r"^Anonymous:\s+(\d+) kB", text, re.M)
    return int(found.group(1)) / 1024 if found else None


def reading(label: str, pid: int, seconds: float | None = None) -> tuple[str, float, float | None, float | None]:
    return label, rss_mb(pid), anonymous_mb(pid), seconds


# -- --inspect: what the server's heap holds ------------------------------------------------------------------------
# The server runs under this file (`--as-server`), which adds a SIGUSR1 handler: it writes to $MEMORY_WALK_REPORT the
# bytes of every live torch tensor and numpy array (each storage counted once), the largest of them, and glibc's
# own count of the heap in use and free, before and after malloc_trim(0) (which hands free pages back to the OS).

def _holders(obj, ignore: set[int], depth: int = int(os.environ.get("MEMORY_WALK_DEPTH", "4"))) -> str:
    """Who holds `obj`: a chain of referrers (type names, and the key of a dict), nearest first; $MEMORY_WALK_DEPTH
    links (4 by default)."""
    import gc
    import types

    chain, current = [], obj
    for _ in range(depth):
        every = gc.get_referrers(current)
        ignore.add(id(every))
        skipped = (types.FrameType, types.FunctionType, types.CellType)
        referrers = [r for r in every if id(r) not in ignore and not isinstance(r, skipped)]
        ignore.add(id(referrers))
        if not referrers:
            break
        ignore.update(id(r) for r in referrers)
        holder = referrers[0]
        if isinstance(holder, dict):
            key = next((k for k, v in holder.items() if v is current), "?")
            chain.append(f"dict[{str(key)[:40]!r}]")
        else:
            chain.append(type(holder).__qualname__)
        current = holder
    return " <- ".join(chain)


# Libraries that cost a process tens of MB or more to import (measured one by one after torch and Streamlit).
HEAVY_MODULES = ("torchvision", "sklearn", "scipy", "umap", "numba", "pandas", "matplotlib", "plotly")


def _session_bytes(state) -> dict[str, int]:
    """{key: bytes} of what one session's st.session_state holds (its pickled size; else Python's own size)."""
    import pickle

    sizes = {}
    for key, value in state.filtered_state.items():
        try:
            sizes[str(key)] = len(pickle.dumps(value, protocol=pickle.HIGHEST_PROTOCOL))
        except Exception:  # not picklable: a figure, a job, an uploaded file
            sizes[str(key)] = sys.getsizeof(value)
    return sizes


def _inspect_report() -> dict:
    import ctypes
    import gc

    import numpy as np

    gc.collect()
    found: dict[int, tuple[int, str, object]] = {}
    torch = sys.modules.get("torch")
    everything = gc.get_objects()
    for obj in everything:
        if torch is not None and isinstance(obj, torch.Tensor) and obj.device.type == "cpu":
            try:
                storage = obj.untyped_storage()
            except (RuntimeError, NotImplementedError):
                continue
            found[storage.data_ptr()] = (storage.nbytes(), f"tensor {tuple(obj.shape)} {obj.dtype}", obj)
        elif isinstance(obj, np.ndarray) and obj.base is None:
            found[id(obj)] = (obj.nbytes, f"array {obj.shape} {obj.dtype}", obj)
    largest = sorted(found.values(), key=lambda item: -item[0])[:8]
    ignore = {id(everything), id(found), id(largest), *(id(item) for item in found.values())}
    described = [f"{b / 2**20:.0f} MB {what}, held by {_holders(obj, ignore)}" for b, what, obj in largest]
    tensors = sum(b for b, what, _ in found.values() if what.startswith("tensor"))
    arrays = sum(b for b, what, _ in found.values() if what.startswith("array"))
    sessions = [obj for obj in everything if type(obj).__name__ == "SessionState"
                and type(obj).__module__.startswith("streamlit.")]
    held = [_session_bytes(state) for state in sessions]
    held_by = [_holders(state, ignore) for state in sessions]
    del everything, found, largest, sessions

    class Mallinfo2(ctypes.Structure):
        _fields_ = [(name, ctypes.c_size_t) for name in
                    ("arena", "ordblks", "smblks", "hblks", "hblkhd", "usmblks", "fsmblks", "uordblks", "fordblks",
                     "keepcost")]

    libc = ctypes.CDLL("libc.so.6")
    libc.mallinfo2.restype = Mallinfo2
    before = libc.mallinfo2()
    rss = rss_mb(os.getpid())
    libc.malloc_trim(0)
    return {"tensors_mb": tensors / 2**20, "arrays_mb": arrays / 2**20,
            "malloc_in_use_mb": (before.uordblks + before.hblkhd) / 2**20, "malloc_free_mb": before.fordblks / 2**20,
            "rss_mb": rss, "rss_trimmed_mb": rss_mb(os.getpid()), "largest": described,
            "modules": [m for m in HEAVY_MODULES if m in sys.modules],
            "sessions": [{"mb": sum(sizes.values()) / 2**20, "held_by": by,
                          "largest": sorted(sizes.items(), key=lambda kv: -kv[1])[:3]}
                         for sizes, by in zip(held, held_by, strict=True)]}


def serve_inspected(streamlit_args: list[str]) -> None:
    import json
    import signal

    seen: set[str] = set()

    def handler(signum, frame) -> None:
        target = Path(os.environ["MEMORY_WALK_REPORT"])
        temporary = target.with_suffix(".tmp")
        report = _inspect_report()
        # the packages first imported since the previous report (the first: since the start)
        new = sorted({".".join(m.split(".")[:2]) for m in sys.modules if m not in seen and not m.startswith("_")})
        seen.update(sys.modules)
        report["new_modules"] = new
        temporary.write_text(json.dumps(report))
        os.replace(temporary, target)

    signal.signal(signal.SIGUSR1, handler)
    from streamlit.web.cli import main as streamlit_main

    sys.argv = ["streamlit", *streamlit_args]
    streamlit_main()


def start_inspected_server(data_dir: str, port: int, report: Path, **extra_env: str) -> subprocess.Popen:
    """`streamlit run serve.py` as live_fps.start_server starts it, but under `serve_inspected`."""
    env = {**os.environ, "AAE_DATA_DIR": data_dir, "AAE_WARM_UMAP": "0", "MEMORY_WALK_REPORT": str(report),
           **extra_env}
    server = subprocess.Popen(
        [sys.executable, str(Path(__file__).resolve()), "--as-server", "run", str(ROOT / "serve.py"),
         "--server.headless", "true", "--server.port", str(port), "--server.address", "127.0.0.1"],
        cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    return wait_until_healthy(server, port)


def ask_report(pid: int, path: Path, timeout: float = 120.0) -> dict | None:
    import json
    import signal

    path.unlink(missing_ok=True)
    os.kill(pid, signal.SIGUSR1)
    deadline = time.time() + timeout
    while time.time() < deadline:
        if path.exists():
            return json.loads(path.read_text())
        time.sleep(0.2)
    return None


async def walk(url: str, pid: int, pages, moves: bool, timeout: float, readings: list, problems: list,
               reports: dict | None = None, report_path: Path | None = None, visitor: str = "") -> None:
    session = StreamlitSession(url, timeout)
    await session.connect()
    try:
        for title, path in [("Home", ""), *pages]:
            title = visitor + title
            run = await session.page(path, title=title)
            if run.error or run.exceptions:
                problems.append(f"{title}: {run.error or run.exceptions[0][:300]}")
            await asyncio.to_thread(session.fetch_images, run)
            label = title
            if moves:
                widget, state = control_to_move(run)
                if widget is not None:
                    moved = await session.page(path, [state], title)
                    if moved.error or moved.exceptions:
                        problems.append(f"{title} (moved): {moved.error or moved.exceptions[0][:300]}")
                    label = f"{title} (+ {widget.label[:28]!r})"
            readings.append(reading(label, pid, run.seconds))
            if reports is not None:
                reports[label] = await asyncio.to_thread(ask_report, pid, report_path)
    finally:
        await session.close()


def main(argv: list[str] | None = None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--linger", type=float, default=120.0, help="seconds to watch after the session closes")
    parser.add_argument("--only", default="", help="URL paths of the pages to visit, comma-separated (default: all)")
    parser.add_argument("--revisit", action="store_true",
                        help="after the linger, a new visitor opens Home and leaves; read again after another linger")
    parser.add_argument("--visitors", type=int, default=1, help="walks one after the other, each a new session")
    parser.add_argument("--no-moves", action="store_true", help="only open the pages, move no control")
    parser.add_argument("--timeout", type=float, default=300.0, help="seconds one page may take")
    parser.add_argument("--inspect", action="store_true",
                        help="after each page, ask the server what its heap holds (and trim it: RSS then differs)")
    parser.add_argument("--env", action="append", default=[], help="NAME=VALUE for the server's environment")
    parser.add_argument("--data-dir", default=os.environ.get("AAE_DATA_DIR", str(ROOT.parent / "shared" / "data")))
    args = parser.parse_args(argv)
    pages = app_pages()
    if args.only:
        wanted = args.only.split(",")
        pages = [p for p in pages if p[1] in wanted]
    extra = dict(item.split("=", 1) for item in args.env)

    readings: list[tuple[str, float, float | None, float | None]] = []
    problems: list[str] = []
    port = free_port()
    with tempfile.TemporaryDirectory() as runs:
        report_path = Path(runs) / "memory-report.json"
        reports: dict | None = {} if args.inspect else None
        if args.inspect:
            server = start_inspected_server(args.data_dir, port, report_path, AAE_RUNS_DIR=runs, **extra)
        else:
            server = start_server(args.data_dir, port, AAE_RUNS_DIR=runs, **extra)
        memory = None
        try:
            memory = Memory([server.pid])
            memory.start()
            time.sleep(2)
            readings.append(reading("server started", server.pid))
            started = time.perf_counter()
            for visitor in range(args.visitors):
                name = f"visitor {visitor + 1}: " if args.visitors > 1 else ""
                asyncio.run(walk(f"http://127.0.0.1:{port}", server.pid, pages, not args.no_moves, args.timeout,
                                 readings, problems, reports, report_path, name))
                time.sleep(5)
                readings.append(reading(f"{name}session closed, +5 s", server.pid))
            walked = time.perf_counter() - started
            if args.linger > 0:
                time.sleep(args.linger)
                readings.append(reading(f"+{args.linger:.0f} s more", server.pid))
            if args.revisit:  # a later visitor's connection lets Streamlit drop the sessions past their reconnect time
                asyncio.run(walk(f"http://127.0.0.1:{port}", server.pid, [], False, args.timeout, readings, problems,
                                 reports, report_path, "a later visitor: "))
                time.sleep(max(args.linger, 5))
                readings.append(reading(f"a later visitor's Home, closed, +{max(args.linger, 5):.0f} s", server.pid))
            if reports is not None:
                reports["end"] = ask_report(server.pid, report_path)
        finally:
            if memory is not None:
                memory.done.set()
            stop_server(server)

    print(f"{'after':<48} {'RSS MB':>8} {'Δ MB':>8} {'Δ start':>8} {'heap MB':>8} {'page s':>7}")
    previous = readings[0][1]
    for label, rss, heap, seconds in readings:
        print(f"{label:<48} {rss:8.0f} {rss - previous:+8.0f} {rss - readings[0][1]:+8.0f} "
              + (f"{heap:8.0f} " if heap is not None else " " * 9) + (f"{seconds:7.1f}" if seconds is not None else ""))
        previous = rss
    print(f"peak {memory.servers_peak:.0f} MB ({memory.samples} samples); walks took {walked:.0f} s"
          + (f"; server environment {extra}" if extra else ""))
    for label, found in (reports or {}).items():
        if found is None:
            print(f"{label}: no report")
            continue
        print(f"{label}: tensors {found['tensors_mb']:.0f} MB, arrays {found['arrays_mb']:.0f} MB; malloc in use "
              f"{found['malloc_in_use_mb']:.0f} MB, free {found['malloc_free_mb']:.0f} MB; RSS {found['rss_mb']:.0f} "
              f"-> {found['rss_trimmed_mb']:.0f} MB after malloc_trim; imported: {', '.join(found['modules'])}")
        for line in found["largest"]:
            print("    " + line)
        if found.get("new_modules"):
            print(f"    {len(found['new_modules'])} packages first imported: " + ", ".join(found["new_modules"][:60]))
        for session in found["sessions"]:
            print(f"    a session's st.session_state: {session['mb']:.2f} MB, largest "
                  + ", ".join(f"{key} {size / 2**10:.0f} kB" for key, size in session["largest"])
                  + f"; held by {session.get('held_by', '?')}")
    for line in problems:
        print("problem: " + line)
    return {"readings": readings, "peak": memory.servers_peak, "problems": problems}


if __name__ == "__main__":
    if sys.argv[1:2] == ["--as-server"]:
        serve_inspected(sys.argv[2:])
        sys.exit(0)
    result = main()
    sys.exit(1 if result["problems"] else 0)
