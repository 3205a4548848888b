"""Jobs in worker processes: a training job or a duel runs in a process of its own; the server only reads
its progress (in threads of the Streamlit server a duel trained 15–100× slower than the engine).

`ProcessJob` is a `aae.app.jobs.Job` like `TrainingJob` and `DuelJob` (start, snapshot, pause, resume, cancel,
join, and a duel's `save`): it checks the job's arguments and keeps its facts here, and runs that very class in
a worker process, `python -m aae.app.worker` (see there for the messages). The worker is a fresh interpreter that
imports only the worker module, never the server's main script (a Streamlit page), and talks to the server over
two pipes it inherits. It sends what changed in its snapshot a few times a second; commands go the other way.
At most `max_running()` workers train at once (default: one per two cores; `AAE_MAX_JOBS`); the rest wait in a
queue, their snapshot saying how many jobs are ahead. A worker that dies becomes a failed job with a message; a
worker never outlives the server (Linux: it is killed when the server dies).
"""

from __future__ import annotations

import os
import pickle
import queue
import subprocess
import sys
import threading
import time
import weakref
from collections.abc import Callable
from multiprocessing.connection import Connection, Pipe
from pathlib import Path
from typing import Any

from aae.app.jobs import JOB_TYPES, BaseJob, JobSnapshot, JobType
from aae.app.worker import LINGER

_ROOT = str(Path(__file__).resolve().parents[2])  # the folder that holds this `aae`: the worker runs the same code
_SCHEDULER_LOCK = threading.Lock()
_RUNNING: list[ProcessJob] = []
_WAITING: list[ProcessJob] = []


_LAUNCHES: queue.Queue = queue.Queue()
_LAUNCHER: threading.Thread | None = None


def _launcher() -> None:
    """Starts every worker process, from one thread that lives as long as the server.

    A process's death signal (PR_SET_PDEATHSIG) fires when the *thread* that started it ends, not only the
    process: a worker started from a page's script thread (one per rerun) or a job's reader thread would be
    killed with it.
    """
    while True:
        launch, started = _LAUNCHES.get()
        try:
            started.process = launch()
        except Exception as error:  # reported to the job that asked
            started.error = error
        started.set()


def _in_launcher(launch: Callable[[], subprocess.Popen]) -> subprocess.Popen:
    """`launch()`, called in the launcher thread; its process, or its exception."""
    global _LAUNCHER
    if _LAUNCHER is None or not _LAUNCHER.is_alive():
        _LAUNCHER = threading.Thread(target=_launcher, daemon=True, name="aae-worker-launcher")
        _LAUNCHER.start()
    started = threading.Event()
    started.process, started.error = None, None
    _LAUNCHES.put((launch, started))
    started.wait()
    if started.error is not None:
        raise started.error
    return started.process


def _spawn(commands_fd: int, updates_fd: int) -> subprocess.Popen:
    """A worker process on the two pipe ends it keeps: this interpreter running `aae.app.worker` from this `aae`
    (-P: not from whatever the current folder holds), in the same folder, so relative paths mean the same."""
    path = os.environ.get("PYTHONPATH")
    env = {**os.environ, "PYTHONPATH": _ROOT + (os.pathsep + path if path else "")}
    return subprocess.Popen([sys.executable, "-P", "-m", "aae.app.worker", str(commands_fd), str(updates_fd),
                             str(os.getpid())], pass_fds=(commands_fd, updates_fd), stdin=subprocess.DEVNULL,
                            env=env)


def max_running() -> int:
    """How many workers may train at once: AAE_MAX_JOBS, else one per two cores (at least one)."""
    setting = os.environ.get("AAE_MAX_JOBS")
    if setting:
        return max(1, int(setting))
    return max(1, (os.cpu_count() or 2) // 2)


class ProcessJob(BaseJob):
    """A TrainingJob (`job_type="training"`) or DuelJob (`job_type="duel"`) running in a worker process.

    The keyword arguments are the job class's. They are checked here, where nothing is built (a bad one is a
    ValueError at once), and the job's facts are kept in `info` (`job.name`, `job.dataset`, `job.info.out`, …).
    """

    def __init__(self, job_type: JobType, /, **arguments: Any) -> None:
        if job_type not in JOB_TYPES:
            raise ValueError(f"a worker runs a training job or a duel, not {job_type!r}")
        super().__init__(JOB_TYPES[job_type].describe(**arguments))
        self.job_type, self.arguments = job_type, arguments
        self.pid: int | None = None  # the worker's process id, once it has started
        self._process: subprocess.Popen | None = None
        self._resuming = False  # resumed, and no update since has said anything but "paused"
        self._commands: Connection | None = None  # the server's end of the command pipe, while the worker runs
        self._send_lock = threading.Lock()
        self._save_lock = threading.Lock()
        self._replies: queue.Queue = queue.Queue()

    # -- the job interface ------------------------------------------------------------------------
    def cancel(self) -> None:
        with _SCHEDULER_LOCK:
            if self in _WAITING:  # never started: nothing to stop
                _WAITING.remove(self)
                self._update(status="cancelled", message="cancelled before it started: nothing was saved")
                for waiting in _WAITING:
                    waiting._say_position()
                return
        self._send("cancel")

    def pause(self) -> None:
        self._resuming = False
        self._send("pause")

    def resume(self) -> None:
        # Updates sent before the worker read "resume" still say "paused": until one says otherwise, they must
        # not undo the "running" shown at once.
        self._resuming = True
        self._say_resumed()
        self._send("resume")

    def save(self, prefix: str | Path, timeout: float = 120) -> list[Path]:
        """A duel's `save(prefix)`, done by the worker (where the models are); the paths it wrote."""
        if self.job_type != "duel":
            raise RuntimeError("only a duel is saved on request; a training job saves itself when it finishes")
        if self._process is None or self._process.poll() is not None:
            raise RuntimeError(f"the run's process has ended (a finished run waits {LINGER / 60:.0f} minutes "
                               "for a save)")
        with self._save_lock:
            while not self._replies.empty():  # the late answer to a save that timed out
                self._replies.get_nowait()
            self._send("save", str(prefix))
            try:
                outcome, value = self._replies.get(timeout=timeout)
            except queue.Empty:
                raise RuntimeError("the run's process did not answer the save") from None
        if outcome == "save_failed":
            raise RuntimeError(value)
        return [Path(p) for p in value]

    def close(self) -> None:
        """Let the worker go now (a finished duel otherwise waits a while for a save)."""
        self._send("close")

    # -- inside -----------------------------------------------------------------------------------
    def _begin(self) -> None:
        with _SCHEDULER_LOCK:
            if len(_RUNNING) < max_running():
                self._launch()
            else:
                _WAITING.append(self)
                self._say_position()

    def _launch(self) -> None:
        """Start the worker (the scheduler lock is held); a worker that cannot start is a failed job."""
        threads = int(os.environ.get("AAE_WORKER_THREADS") or max(1, (os.cpu_count() or 2) // max_running()))
        commands_theirs, commands = Pipe(duplex=False)  # (reading end, writing end)
        updates, updates_theirs = Pipe(duplex=False)
        try:
            self._process = _in_launcher(lambda: _spawn(commands_theirs.fileno(), updates_theirs.fileno()))
        except OSError as error:
            commands.close()
            updates.close()
            self._update(status="failed", message="failed", error=f"could not start a worker process: {error}")
            return
        finally:  # the worker has its own copies; ours would keep the pipes open after it ends
            commands_theirs.close()
            updates_theirs.close()
        self.pid = self._process.pid
        with self._send_lock:
            self._commands = commands
        self._send("job", (self.job_type, self.arguments, threads))
        _RUNNING.append(self)
        self._update(status="running", message="starting a worker process")
        threading.Thread(target=self._read, args=(updates,), daemon=True, name=f"reader-{self.name}").start()

    def _say_position(self) -> None:
        ahead = _WAITING.index(self) + len(_RUNNING)
        self._update(status="pending", message=f"waiting: {ahead} job{'s' if ahead != 1 else ''} ahead "
                                               f"(at most {max_running()} train at once)")

    def _send(self, command: str, argument: Any = None) -> None:
        with self._send_lock:
            if self._commands is None:  # not started yet, or ended
                return
            try:
                self._commands.send_bytes(pickle.dumps((command, argument)))
            except OSError:  # the worker has just ended
                pass

    def _apply(self, delta: JobSnapshot, coverage_error: str | None) -> None:
        """Take in a delta from the worker: the lists grow by its items; a preview it left out is unchanged."""
        with self._lock:
            if self._resuming:
                if delta.status == "paused":
                    delta.status, delta.message = "running", "running"
                else:
                    self._resuming = False
            state = self._state
            for name in ("losses", "history", "frames"):
                items = getattr(state, name)
                items.extend(getattr(delta, name))  # snapshot() hands out copies: growing ours is safe
                setattr(delta, name, items)
            if delta.samples is None:
                delta.samples = state.samples
            self._state = delta
            self._note_end()
        self.coverage_error = coverage_error

    def _read(self, updates: Connection) -> None:
        """Apply the worker's updates until it ends; a worker that ends before its job has finished fails it."""
        finished = False
        while True:
            try:
                message = pickle.loads(updates.recv_bytes())
            except (EOFError, OSError):  # the worker has ended and its end of the pipe with it
                break
            if message[0] == "snapshot":
                self._apply(message[1], message[2])
                if message[1].finished and not finished:
                    finished = True
                    self._release()
            elif message[0] == "failed":
                self._update(status="failed", message="failed", error=message[1])
                finished = True
                self._release()
            else:  # the answer to a save
                self._replies.put(message)
        updates.close()
        code = self._process.wait()
        with self._send_lock:
            self._commands.close()
            self._commands = None
        if not finished:
            self._update(status="failed", message="failed",
                         error=f"the training process stopped unexpectedly (exit code {code}); nothing was saved. "
                               "Try again; if it happens again, the server's log may say why.")
        self._release()

    def _release(self) -> None:
        """This job no longer trains: let the next one in the queue start."""
        with _SCHEDULER_LOCK:
            if self in _RUNNING:
                _RUNNING.remove(self)
            while _WAITING and len(_RUNNING) < max_running():
                _WAITING.pop(0)._launch()
            for waiting in _WAITING:
                waiting._say_position()


def start_job(job_type: JobType, /, **kwargs: Any) -> ProcessJob:
    """A ProcessJob of `job_type` with the job class's arguments, started (or queued)."""
    job = ProcessJob(job_type, **kwargs)
    job.start()
    return job


# When each job was first seen finished (by `forget_finished`), without keeping a job alive for it.
_ENDED: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()


def forget_finished(registry: dict[str, dict[str, Any]], *, keep_seconds: float, now: float | None = None) -> int:
    """Drop from `registry` ({session: {slot: job}}) the jobs that finished more than `keep_seconds` ago, and the
    sessions that this left without jobs, so a server that runs for weeks does not hold every finished run's
    frames and samples (a duel's history is megabytes). Their models are saved already; a running, paused or
    queued job is never dropped, nor a session that has no job yet (its page may be about to start one in the
    dict it holds). Returns how many jobs it dropped."""
    now = time.monotonic() if now is None else now
    dropped = 0
    for session in list(registry):
        jobs = registry[session]
        expired = [slot for slot, job in jobs.items()
                   if job.snapshot().finished and now - _ENDED.setdefault(job, now) > keep_seconds]
        for slot in expired:
            del jobs[slot]
        dropped += len(expired)
        if expired and not jobs:
            del registry[session]
    return dropped


def stop_all(timeout: float = 3.0) -> None:
    """Stop every worker (the server is shutting down): cancel, then terminate what is left. Queued jobs are
    cancelled without starting."""
    with _SCHEDULER_LOCK:
        running, waiting, _WAITING[:] = list(_RUNNING), list(_WAITING), []
    for job in waiting:
        job._update(status="cancelled", message="cancelled before it started: nothing was saved")
    for job in running:
        job.cancel()
    deadline = time.monotonic() + timeout
    for job in running:
        try:
            job._process.wait(max(0.0, deadline - time.monotonic()))
        except subprocess.TimeoutExpired:
            job._process.terminate()
