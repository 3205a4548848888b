"""A classroom on the server: N sessions at once speak Streamlit's own protocol to it (no browsers), two of them train.

Each simulated student is a headless client of Streamlit's websocket, `/_stcore/stream`: it sends the BackMsg a
browser sends (`rerun_script` with a ClientState: the page's URL path as `page_name`, the widget states) and reads
ForwardMsgs until that run's `script_finished`, so what is timed is the server's work for a page, not a browser's
drawing. Like a browser it first loads `/` over HTTP (a proxy's sticky cookie comes from there) and fetches the
images a page shows (`/media/...`, held by the one server that drew them: a wrong route through a proxy is a 404).

A student opens Home, then visits the pages (each in its own order) and on each page that has one moves a control
(a slider of the main area, else a select box: the next value), which is a second timed run of the page. Two
students first start a training job on the Train page, through the page's own widgets (Training images, Epochs,
Name and the Start button, found by their labels in the deltas; values sent by widget id), browse like the others,
then come back to Train until it says the model was trained. Meanwhile the resident memory of the server processes
and of all their children (the training workers) is sampled twice a second with psutil.

    python bench/load_test.py [--sessions 30] [--trainers 2] [--train-limit 2000] [--duration 900]
    python bench/load_test.py --url http://127.0.0.1:8080 --servers 8501,8502   # through scripts/serve.sh's proxy

Without --url it starts `streamlit run serve.py` itself on a free port of 127.0.0.1 (runs in a temporary folder).
--servers names the ports of the servers behind --url, whose processes are found by the port they listen on.
Every request goes to 127.0.0.1 only. Prints p50/p95/max page time, every error (a page that did not finish, an
exception element in its deltas, an image that did not load, a job that did not finish), and the peak memory.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.request
from dataclasses import dataclass, field
from http.cookies import SimpleCookie
from pathlib import Path
from urllib.parse import urlparse

ROOT = Path(__file__).resolve().parents[1]

# The pages a student visits: (title, URL path, as app.py registers them). Home is the default page: path "".
PAGES = [("Prior & samples", "prior_samples"), ("Latent traversal", "traversal"), ("AAE vs VAE", "aae_vs_vae"),
         ("Clusters", "clusters"), ("Style & content", "style_content"), ("Encode a digit", "encode"),
         ("Denoise", "denoise")]
MAX_SESSIONS = 200  # bounded: this is a classroom, not a flood
LOOPBACK = {"127.0.0.1", "localhost", "::1"}


# -- the protocol client --------------------------------------------------------------------------------------------

@dataclass
class Widget:
    id: str
    kind: str  # the Element oneof: slider, selectbox, number_input, text_input, button, ...
    label: str
    proto: object
    sidebar: bool


@dataclass
class PageRun:
    page: str
    seconds: float = 0.0
    status: str = ""  # the last script_finished status; "" when none came
    widgets: list[Widget] = field(default_factory=list)
    headings: list[str] = field(default_factory=list)
    alerts: list[tuple[str, str]] = field(default_factory=list)  # (format, body)
    exceptions: list[str] = field(default_factory=list)  # "Type: message (where)" of each exception element
    stack_traces: list[str] = field(default_factory=list)
    images: list[str] = field(default_factory=list)
    messages: int = 0
    progress: str = ""  # the text of the page's last progress bar
    error: str | None = None  # why the page did not finish, if it did not

    def widget(self, label: str, kind: str | None = None, prefix: bool = False) -> Widget | None:
        for w in self.widgets:
            if (w.label.startswith(label) if prefix else w.label == label) and (kind is None or w.kind == kind):
                return w
        return None


def widget_state(widget: Widget, value):
    """A WidgetState carrying `value` in the field the widget's kind reads (as the frontend fills it)."""
    from streamlit.proto.WidgetStates_pb2 import WidgetState

    state = WidgetState(id=widget.id)
    if widget.kind == "button":
        state.trigger_value = bool(value)
    elif widget.kind == "checkbox":
        state.bool_value = bool(value)
    elif widget.kind == "number_input":
        state.double_value = float(value)
    elif widget.kind in ("selectbox", "text_input", "text_area", "radio"):
        state.string_value = str(value)
    elif widget.kind == "slider":
        state.double_array_value.data.extend(float(v) for v in value)
    else:
        raise ValueError(f"cannot set a {widget.kind}")
    return state


def moved(widget: Widget):
    """The state of `widget` moved by one notch (a slider's next step, a select box's next option), or None."""
    p = widget.proto
    if widget.kind == "slider" and not p.options and len(p.value) == 1 and p.data_type in (0, 1):  # INT, FLOAT
        value = p.value[0]
        new = value + p.step if value + p.step <= p.max else value - p.step
        return widget_state(widget, [new]) if p.min <= new <= p.max and new != value else None
    if widget.kind == "selectbox" and len(p.options) > 1:
        current = p.raw_value if p.set_value or p.raw_value else (p.options[p.default] if p.default >= 0 else "")
        index = list(p.options).index(current) if current in p.options else -1
        return widget_state(widget, p.options[(index + 1) % len(p.options)])
    return None


def control_to_move(run: PageRun):
    """A main-area slider, else a main-area select box, moved one notch: what a student tries first."""
    for kind in ("slider", "selectbox"):
        for w in run.widgets:
            if w.kind == kind and not w.sidebar and not getattr(w.proto, "disabled", False):
                state = moved(w)
                if state is not None:
                    return w, state
    return None, None


def http_get(url: str, cookies: dict[str, str], timeout: float) -> tuple[int, int]:
    """(status, bytes) of a GET, keeping the cookies it sets (a browser's jar of one session)."""
    request = urllib.request.Request(url)
    if cookies:
        request.add_header("Cookie", "; ".join(f"{k}={v}" for k, v in cookies.items()))
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            body = response.read()
            for header in response.headers.get_all("Set-Cookie") or []:
                for name, morsel in SimpleCookie(header).items():
                    cookies[name] = morsel.value
            return response.status, len(body)
    except urllib.error.HTTPError as error:
        return error.code, 0


class StreamlitSession:
    """One browser session's conversation with a Streamlit server, over its websocket, without a browser."""

    def __init__(self, url: str, timeout: float = 180.0) -> None:
        self.url = url.rstrip("/")
        self.timeout = timeout
        self.cookies: dict[str, str] = {}
        self.ws = None

    async def connect(self) -> None:
        import websockets

        status, _ = await asyncio.to_thread(http_get, self.url + "/", self.cookies, self.timeout)
        if status != 200:
            raise ConnectionError(f"GET / answered {status}")
        headers = {"Cookie": "; ".join(f"{k}={v}" for k, v in self.cookies.items())} if self.cookies else {}
        ws_url = "ws" + self.url[len("http"):] + "/_stcore/stream"
        self.ws = await websockets.connect(ws_url, subprotocols=["streamlit"], additional_headers=headers,
                                           max_size=None, open_timeout=self.timeout, ping_interval=None)

    async def close(self) -> None:
        if self.ws is not None:
            await self.ws.close()

    async def page(self, page_name: str, states=(), title: str | None = None) -> PageRun:
        """Run page `page_name` ("" for Home) with widget `states`; collect its deltas until its run finishes."""
        from streamlit.proto.BackMsg_pb2 import BackMsg
        from streamlit.proto.ForwardMsg_pb2 import ForwardMsg

        run = PageRun(title or page_name or "Home")
        back = BackMsg()
        back.rerun_script.query_string = ""
        back.rerun_script.page_name = page_name
        back.rerun_script.widget_states.widgets.extend(states)
        started = time.perf_counter()
        deadline = started + self.timeout
        await self.ws.send(back.SerializeToString())
        begun = False  # messages left over from an earlier run come before this run's new_session
        by_path: dict[tuple, Widget] = {}
        while True:
            left = deadline - time.perf_counter()
            if left <= 0:
                run.error = f"no script_finished within {self.timeout:.0f} s"
                break
            try:
                data = await asyncio.wait_for(self.ws.recv(), left)
            except TimeoutError:
                continue
            except Exception as error:  # the connection closed under the run
                run.error = f"connection lost: {error!r}"
                break
            msg = ForwardMsg()
            msg.ParseFromString(data)
            run.messages += 1
            kind = msg.WhichOneof("type")
            if kind == "new_session":
                begun = True
            elif not begun:
                continue
            elif kind == "page_not_found":
                run.error = f"page not found: {page_name!r}"
            elif kind == "delta" and msg.delta.WhichOneof("type") == "new_element":
                self._element(run, msg.delta.new_element, tuple(msg.metadata.delta_path), by_path)
            elif kind == "script_finished":
                status = ForwardMsg.ScriptFinishedStatus.Name(msg.script_finished)
                run.status = status
                if status == "FINISHED_EARLY_FOR_RERUN":  # st.rerun(): the page runs again at once
                    begun = False
                    continue
                if status == "FINISHED_WITH_COMPILE_ERROR":
                    run.error = "compile error"
                break
        run.seconds = time.perf_counter() - started
        run.widgets = list(by_path.values())  # the last element written at each place is what the page shows
        return run

    @staticmethod
    def _element(run: PageRun, element, path: tuple, by_path: dict) -> None:
        kind = element.WhichOneof("type")
        inner = getattr(element, kind) if kind else None
        if kind == "exception":
            where = [line.strip() for line in inner.stack_trace if line.strip().startswith("File ")]
            run.exceptions.append(f"{inner.type}: {inner.message}" + (f" ({where[-1]})" if where else ""))
            run.stack_traces.append("\n".join(inner.stack_trace))
        elif kind == "heading":
            run.headings.append(inner.body)
        elif kind == "alert":
            run.alerts.append(({1: "error", 2: "warning", 3: "info", 4: "success"}.get(inner.format, "?"), inner.body))
        elif kind == "progress":
            run.progress = inner.text
        elif kind == "imgs":
            run.images.extend(img.url for img in inner.imgs if img.url.startswith("/media/"))
        if inner is not None and hasattr(inner, "id") and hasattr(inner, "label") and inner.id:
            by_path[path] = Widget(inner.id, kind, inner.label, inner, sidebar=bool(path) and path[0] == 1)
        else:
            by_path.pop(path, None)

    def fetch_images(self, run: PageRun) -> list[str]:
        """GET each image the page showed; the failures, as text."""
        failed = []
        for url in run.images:
            status, size = http_get(self.url + url, self.cookies, self.timeout)
            if status != 200 or not size:
                failed.append(f"{url}: HTTP {status}")
        return failed


# -- a student ------------------------------------------------------------------------------------------------------

@dataclass
class Record:
    runs: list[tuple[int, str, float]] = field(default_factory=list)  # (session, page, seconds)
    errors: list[str] = field(default_factory=list)
    jobs: dict[int, str] = field(default_factory=dict)  # session -> how its job ended
    job_seconds: dict[int, float] = field(default_factory=dict)


async def visit(session: StreamlitSession, index: int, page_name: str, title: str, record: Record, states=()):
    run = await session.page(page_name, states, title)
    record.runs.append((index, run.page, run.seconds))
    where = f"session {index}, {run.page}"
    if run.error:
        record.errors.append(f"{where}: {run.error}")
    for text in run.exceptions:
        record.errors.append(f"{where}: exception {text[:300]}")
    for text in await asyncio.to_thread(session.fetch_images, run):
        record.errors.append(f"{where}: image {text}")
    return run


async def start_job(session: StreamlitSession, index: int, args, record: Record) -> float | None:
    """The Train page: Training images, Epochs and Name set, then Start pressed. Its start time, or None."""
    run = await visit(session, index, "train", "Train", record)
    fields = {"Training images": args.train_limit, "Epochs": 1, "Name": f"load-{index}-{os.getpid()}"}
    states = []
    for label, value in fields.items():
        w = run.widget(label)
        if w is None:
            record.errors.append(f"session {index}, Train: no widget labelled {label!r}")
            return None
        states.append(widget_state(w, value))
    run = await visit(session, index, "train", "Train (settings)", record, states)
    start = run.widget("Start training", "button", prefix=True)
    if start is None or start.proto.disabled:
        problems = [body for fmt, body in run.alerts if fmt == "error"]
        record.errors.append(f"session {index}, Train: Start is {'missing' if start is None else 'disabled'}"
                             + (f" ({'; '.join(problems)})" if problems else ""))
        return None
    started = time.perf_counter()
    # A browser sends every widget's value with each rerun: the settings again, with the button's trigger.
    run = await visit(session, index, "train", "Train (start)", record, [*states, widget_state(start, True)])
    if not run.progress:
        record.errors.append(f"session {index}, Train: no progress bar after Start")
        return None
    record.jobs[index] = "started"
    return started


async def wait_for_job(session: StreamlitSession, index: int, started: float, args, end: float, record: Record):
    while time.perf_counter() < end:
        run = await visit(session, index, "train", "Train (watch)", record)
        for fmt, body in run.alerts:
            if fmt == "success" and body.startswith("Trained"):
                record.jobs[index] = "done"
                record.job_seconds[index] = time.perf_counter() - started
                return
            if fmt == "error" and body.startswith("Training failed") or "cancelled" in body:
                record.jobs[index] = body[:200]
                record.errors.append(f"session {index}: job ended: {body[:200]}")
                return
        await asyncio.sleep(3.0)
    record.jobs[index] = "did not finish in time"
    record.errors.append(f"session {index}: its job did not finish within --duration")


async def student(url: str, index: int, trains: bool, args, end: float, record: Record) -> None:
    session = StreamlitSession(url, args.timeout)
    try:
        await asyncio.sleep(args.ramp * index / max(args.sessions, 1))
        await session.connect()
        await visit(session, index, "", "Home", record)
        started = await start_job(session, index, args, record) if trains else None
        pages = PAGES[: args.pages] if args.pages else PAGES
        shift = index % len(pages)
        for title, path in pages[shift:] + pages[:shift]:
            if time.perf_counter() > end:
                record.errors.append(f"session {index}: --duration reached before {title}")
                break
            run = await visit(session, index, path, title, record)
            if not args.no_moves:
                widget, state = control_to_move(run)
                if widget is not None:
                    await visit(session, index, path, f"{title} (moves {widget.label!r})", record, [state])
        if started is not None:
            await wait_for_job(session, index, started, args, end, record)
    except Exception as error:  # a session that could not even talk to the server
        record.errors.append(f"session {index}: {type(error).__name__}: {error}")
    finally:
        await session.close()


# -- the server's memory --------------------------------------------------------------------------------------------

class Memory(threading.Thread):
    """Resident memory of the server processes, and of them with all their children, sampled every `interval` s."""

    def __init__(self, pids: list[int], interval: float = 0.5) -> None:
        super().__init__(daemon=True)
        self.pids, self.interval, self.done = pids, interval, threading.Event()
        self.servers_peak = self.total_peak = 0.0
        self.first = self.measure()[0]
        self.samples = 0

    @staticmethod
    def _rss(process) -> float:
        try:
            return process.memory_info().rss / 2**20
        except Exception:  # gone between the listing and the reading
            return 0.0

    def measure(self) -> tuple[float, float]:
        import psutil

        servers = total = 0.0
        for pid in self.pids:
            try:
                process = psutil.Process(pid)
                kids = process.children(recursive=True)
            except psutil.Error:
                continue
            own = self._rss(process)
            servers += own
            total += own + sum(self._rss(k) for k in kids)
        return servers, total

    def run(self) -> None:
        while not self.done.wait(self.interval):
            servers, total = self.measure()
            self.samples += 1
            self.servers_peak, self.total_peak = max(self.servers_peak, servers), max(self.total_peak, total)


def pids_listening(ports: list[int]) -> list[int]:
    import psutil

    found = set()
    for conn in psutil.net_connections("tcp"):
        if conn.status == psutil.CONN_LISTEN and conn.laddr and conn.laddr.port in ports and conn.pid:
            found.add(conn.pid)
    return sorted(found)


# -- the run --------------------------------------------------------------------------------------------------------

def quantile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    if len(ordered) == 1:
        return ordered[0]
    return statistics.quantiles(ordered, n=100, method="inclusive")[round(q * 100) - 1]


async def classroom(url: str, args, record: Record) -> float:
    end = time.perf_counter() + args.duration
    started = time.perf_counter()
    tasks = [student(url, i, i < args.trainers, args, end, record) for i in range(args.sessions)]
    try:
        await asyncio.wait_for(asyncio.gather(*tasks), timeout=args.duration + args.timeout)
    except TimeoutError:
        record.errors.append("the whole run passed --duration + --timeout and was stopped")
    return time.perf_counter() - started


def report(args, record: Record, wall: float, memory: Memory | None, servers: int) -> dict:
    times = [t for _, _, t in record.runs]
    result = {"sessions": args.sessions, "servers": servers, "trainers": args.trainers, "runs": len(times),
              "wall_s": wall, "errors": record.errors, "jobs": dict(record.jobs), "job_s": dict(record.job_seconds)}
    print(f"{args.sessions} sessions at once on {servers} server(s), {args.trainers} training; "
          f"{len(times)} page runs in {wall:.0f} s")
    if times:
        result |= {"p50": statistics.median(times), "p95": quantile(times, 0.95), "max": max(times)}
        print(f"page time to script_finished: p50 {result['p50']:.2f} s, p95 {result['p95']:.2f} s, "
              f"max {result['max']:.2f} s")
        by_page: dict[str, list[float]] = {}
        for _, page, t in record.runs:
            by_page.setdefault(page.split(" (moves")[0], []).append(t)
        for page, seen in sorted(by_page.items(), key=lambda kv: -statistics.median(kv[1])):
            print(f"  {page:<22} n={len(seen):<3} p50 {statistics.median(seen):6.2f} s   max {max(seen):6.2f} s")
    if memory is not None:
        result |= {"rss_start_mb": memory.first, "rss_servers_peak_mb": memory.servers_peak,
                   "rss_total_peak_mb": memory.total_peak}
        print(f"resident memory of the server process(es): {memory.first:.0f} MB at the start, peak "
              f"{memory.servers_peak:.0f} MB; with their children (training workers) peak {memory.total_peak:.0f} MB "
              f"({memory.samples} samples)")
    for index in sorted(record.jobs):
        took = record.job_seconds.get(index)
        print(f"job of session {index}: {record.jobs[index]}" + (f" after {took:.0f} s" if took else ""))
    print(f"errors: {len(record.errors)}")
    for line in record.errors[:40]:
        print("  " + line)
    return result


def check_loopback(url: str) -> None:
    host = urlparse(url).hostname
    if host not in LOOPBACK:
        raise SystemExit(f"{url}: this load test only talks to 127.0.0.1")


def main(argv: list[str] | None = None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sessions", type=int, default=30)
    parser.add_argument("--trainers", type=int, default=2, help="sessions that start a training job first")
    parser.add_argument("--train-limit", type=int, default=2_000, help="training images of each job (1 epoch)")
    parser.add_argument("--pages", type=int, default=0, help="visit only the first N pages (default: all 7)")
    parser.add_argument("--no-moves", action="store_true", help="only open the pages, move no control")
    parser.add_argument("--ramp", type=float, default=0.0, help="seconds over which the sessions arrive")
    parser.add_argument("--timeout", type=float, default=180.0, help="seconds one page may take")
    parser.add_argument("--duration", type=float, default=900.0, help="seconds the whole run may take")
    parser.add_argument("--url", help="a running server or proxy (default: start a server here)")
    parser.add_argument("--servers", default="", help="ports of the servers behind --url, for their memory: 8501,8502")
    parser.add_argument("--data-dir", default=os.environ.get("AAE_DATA_DIR", str(ROOT.parent / "shared" / "data")))
    args = parser.parse_args(argv)
    if not 1 <= args.sessions <= MAX_SESSIONS:
        parser.error(f"--sessions must be 1..{MAX_SESSIONS}")
    args.trainers = min(args.trainers, args.sessions)
    record = Record()
    if args.url:
        check_loopback(args.url)
        ports = [int(p) for p in args.servers.split(",") if p.strip()] or [urlparse(args.url).port or 80]
        pids = pids_listening(ports)
        memory = Memory(pids) if pids else None
        if memory:
            memory.start()
        try:
            wall = asyncio.run(classroom(args.url, args, record))
        finally:
            if memory:
                memory.done.set()
        return report(args, record, wall, memory, len(ports))
    sys.path.insert(0, str(ROOT / "bench"))
    from live_fps import free_port, start_server, stop_server

    port = free_port()
    with tempfile.TemporaryDirectory() as runs:
        server = start_server(args.data_dir, port, AAE_RUNS_DIR=runs)
        memory = Memory([server.pid])
        memory.start()
        try:
            wall = asyncio.run(classroom(f"http://127.0.0.1:{port}", args, record))
        finally:
            memory.done.set()
            import psutil

            try:  # the workers of jobs still running when the run was cut short go with their server
                workers = psutil.Process(server.pid).children(recursive=True)
            except psutil.Error:
                workers = []
            stop_server(server)
            for worker in workers:
                try:
                    worker.kill()
                except psutil.Error:
                    pass
    return report(args, record, wall, memory, 1)


if __name__ == "__main__":
    result = main()
    sys.exit(1 if result["errors"] else 0)
