"""Jobs in worker processes: a training job or a duel runs in a process of its own; the server only reads
its progress (in threads of the Streamlit server a duel trained 15–100× slower than the engine).

`ProcessJob` has the interface of `aae.app.jobs.TrainingJob` / `DuelJob` (start, snapshot, pause, resume, cancel,
join, and a duel's `save`), and runs that very class in a spawned process: the same engine, the same
snapshots. The worker sends what changed in its snapshot a few times a second (new loss rows, new frames,
a new preview), pickled by hand so tensors travel as bytes, not shared-memory handles. Commands go the other
way. At most `max_running()` workers train at once (default: one per two cores; `AAE_MAX_JOBS`); the rest
wait in a queue, their snapshot saying how many jobs are ahead. A worker that dies becomes a failed job with
a message; a worker never outlives the server (Linux: it is killed when its parent dies).
"""

from __future__ import annotations

import copy
import multiprocessing
import multiprocessing.spawn
import os
import pickle
import queue
import signal
import threading
import time
import weakref
from pathlib import Path
from typing import Any, Literal

from aae.app.jobs import DuelJob, JobSnapshot, TrainingJob, copy_snapshot

JobKind = Literal["training", "duel"]
JOB_CLASSES = {"training": TrainingJob, "duel": DuelJob}
_CONTEXT = multiprocessing.get_context("spawn")  # fork copies the server's threads and torch state: unsafe
_PROCESS_PREFIX = "aae-worker-"


def _preparation_data(name: str, _original=multiprocessing.spawn.get_preparation_data) -> dict[str, Any]:
    """What a spawned process re-creates of its parent, less the parent's main module for our workers.

    Streamlit runs each page as `__main__`, and spawn would run that module again in the worker (a page
    executed in bare mode, in the training process). The worker's code lives in this module, so it needs none.
    """
    data = _original(name)
    if name.startswith(_PROCESS_PREFIX):
        data.pop("init_main_from_path", None)
        data.pop("init_main_from_name", None)
    return data


multiprocessing.spawn.get_preparation_data = _preparation_data
_LINGER = 600.0  # seconds a finished duel's worker waits for "save" before it exits
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
        process, started = _LAUNCHES.get()
        try:
            process.start()
        except Exception as error:  # reported to the job that asked
            started.error = error
        started.set()


def _start_process(process: Any) -> None:
    global _LAUNCHER
    if _LAUNCHER is None or not _LAUNCHER.is_alive():
        _LAUNCHER = threading.Thread(target=_launcher, daemon=True, name="aae-worker-launcher")
        _LAUNCHER.start()
    started = threading.Event()
    started.error = None
    _LAUNCHES.put((process, started))
    started.wait()
    if started.error is not None:
        raise started.error


def max_running() -> int:
    """How many workers may train at once: AAE_MAX_JOBS, else one per two cores (at least one)."""
    setting = os.environ.get("AAE_MAX_JOBS")
    if setting:
        return max(1, int(setting))
    return max(1, (os.cpu_count() or 2) // 2)


# -- the worker process ---------------------------------------------------------------------------

def _die_with_parent() -> None:
    """Linux: the kernel sends this process SIGTERM when the server that spawned it dies."""
    try:
        import ctypes

        ctypes.CDLL("libc.so.6").prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG
    except (OSError, AttributeError):
        pass


def _delta(snap: JobSnapshot, sent: dict[str, Any]) -> JobSnapshot:
    """The snapshot with only the list items and preview the parent has not had yet."""
    delta = copy.copy(snap)
    for name in ("losses", "history", "frames"):
        items = getattr(snap, name)
        setattr(delta, name, items[sent[name]:])
        sent[name] = len(items)
    if snap.samples is sent["samples"]:
        delta.samples = None
    sent["samples"] = snap.samples
    return delta


def _obey(job: Any, commands: Any, updates: Any) -> bool:
    """Carry out the commands waiting (cancel, pause, resume, save); False once told to close."""
    while True:
        try:
            command, argument = commands.get_nowait()
        except queue.Empty:
            return True
        if command == "close":
            return False
        if command == "save":
            try:
                updates.put(pickle.dumps(("saved", [str(p) for p in job.save(argument)])))
            except (RuntimeError, OSError, ValueError) as error:
                updates.put(pickle.dumps(("save_failed", str(error))))
        else:
            getattr(job, command)()


def _worker(job_type: JobKind, kwargs: dict[str, Any], threads: int, commands: Any, updates: Any) -> None:
    _die_with_parent()
    import torch

    torch.set_num_threads(threads)
    try:
        job = JOB_CLASSES[job_type](**kwargs)
    except Exception as error:  # a bad argument: the parent shows it as a failed job
        updates.put(pickle.dumps(("failed", f"{type(error).__name__}: {error}")))
        return
    # A pause or stop asked for while this process was starting holds from the first step.
    if not _obey(job, commands, updates):
        return
    job.start()
    sent: dict[str, Any] = {"losses": 0, "history": 0, "frames": 0, "samples": None}
    finished_at = None
    while _obey(job, commands, updates):
        snap = job.snapshot()
        extra = {"coverage_error": getattr(job, "coverage_error", None)}
        updates.put(pickle.dumps(("snapshot", _delta(snap, sent), extra)))
        if snap.finished:
            finished_at = finished_at or time.monotonic()
            # A finished training job has nothing left to do; a duel can still be saved for a while.
            if job_type == "training" or time.monotonic() - finished_at > _LINGER:
                return
        time.sleep(0.25 if not snap.finished else 0.5)


# -- the server's side ------------------------------------------------------------------------------

class ProcessJob:
    """A TrainingJob (`job_type="training"`) or DuelJob (`job_type="duel"`) running in a worker process.

    The constructor's keyword arguments are the job class's. The job is also built here, unstarted: a bad
    argument is a ValueError at once, and its attributes (`job.name`, `job.model_config`, `job.dataset`, …)
    read as on the job itself.
    """

    def __init__(self, job_type: JobKind, /, **kwargs: Any) -> None:
        if job_type not in ("training", "duel"):
            raise ValueError(f"a worker runs a training job or a duel, not {job_type!r}")
        self.job_type, self.kwargs = job_type, kwargs
        self._template = JOB_CLASSES[job_type](**kwargs)  # never started: the job's own attributes
        self.coverage_error: str | None = None  # a duel's, as its worker reports it
        self._lock = threading.Lock()
        self._state = JobSnapshot(status="pending", epochs=self._template.snapshot().epochs, message="starting")
        self._commands = _CONTEXT.Queue()
        self._updates = _CONTEXT.Queue()
        self._replies: queue.Queue = queue.Queue()
        self._process = None
        self._reader: threading.Thread | None = None
        self._started = False

    def __getattr__(self, name: str) -> Any:  # the job's own attributes: name, model_config, dataset, …
        template = self.__dict__.get("_template")
        if template is None or name.startswith("_"):
            raise AttributeError(name)
        return getattr(template, name)

    # -- the job interface ------------------------------------------------------------------------
    def start(self) -> None:
        if self._started:
            raise RuntimeError("this job has already been started")
        self._started = True
        with _SCHEDULER_LOCK:
            if len(_RUNNING) < max_running():
                self._launch()
            else:
                _WAITING.append(self)
                self._say_position()

    def snapshot(self) -> JobSnapshot:
        with self._lock:
            return copy_snapshot(self._state)

    def cancel(self) -> None:
        with _SCHEDULER_LOCK:
            if self in _WAITING:  # never started: nothing to stop
                _WAITING.remove(self)
                self._set(status="cancelled", message="cancelled before it started: nothing was saved")
                return
        self._send("cancel")

    def pause(self) -> None:
        self._send("pause")

    def resume(self) -> None:
        with self._lock:
            if self._state.status == "paused":  # say it at once, as the thread jobs do
                self._state.status, self._state.message = "running", "running"
        self._send("resume")

    def join(self, timeout: float | None = None) -> None:
        """Wait until the job has finished (done, cancelled or failed), or `timeout` seconds."""
        deadline = None if timeout is None else time.monotonic() + timeout
        while not self.snapshot().finished and (deadline is None or time.monotonic() < deadline):
            time.sleep(0.05)

    def save(self, prefix: str | Path, timeout: float = 120) -> list[Path]:
        """A duel's `save(prefix)`, done by the worker (where the models are); the paths it wrote."""
        if self.job_type != "duel":
            raise RuntimeError("only a duel is saved on request; a training job saves itself when it finishes")
        if self._process is None or not self._process.is_alive():
            raise RuntimeError("the run's process has ended (a finished run waits 10 minutes for a save)")
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
    def _launch(self) -> None:
        """Start the worker (the scheduler lock is held)."""
        threads = int(os.environ.get("AAE_WORKER_THREADS") or max(1, (os.cpu_count() or 2) // max_running()))
        label = getattr(self._template, "name", self.job_type)  # a duel has no name of its own
        self._process = _CONTEXT.Process(target=_worker, name=f"{_PROCESS_PREFIX}{self.job_type}-{label}",
                                         daemon=True,
                                         args=(self.job_type, self.kwargs, threads, self._commands, self._updates))
        _start_process(self._process)
        _RUNNING.append(self)
        self._set(status="running", message="starting a worker process")
        self._reader = threading.Thread(target=self._read, daemon=True, name=f"reader-{label}")
        self._reader.start()

    def _say_position(self) -> None:
        ahead = _WAITING.index(self) + len(_RUNNING)
        self._set(status="pending", message=f"waiting: {ahead} job{'s' if ahead != 1 else ''} ahead "
                                            f"(at most {max_running()} train at once)")

    def _send(self, command: str, argument: Any = None) -> None:
        if self._process is not None:
            self._commands.put((command, argument))

    def _set(self, **changes: Any) -> None:
        with self._lock:
            for key, value in changes.items():
                setattr(self._state, key, value)

    def _apply(self, delta: JobSnapshot, extra: dict[str, Any]) -> None:
        with self._lock:
            state = self._state
            losses, history, frames = state.losses, state.history, state.frames
            samples = delta.samples if delta.samples is not None else state.samples
            self._state = delta
            delta.losses, delta.history, delta.frames = (losses + delta.losses, history + delta.history,
                                                         frames + delta.frames)
            delta.samples = samples
        self.coverage_error = extra.get("coverage_error")

    def _read(self) -> None:
        """Apply the worker's updates until it has finished, or fail the job if the worker dies first."""
        finished = False
        while True:
            try:
                message = pickle.loads(self._updates.get(timeout=0.5))
            except queue.Empty:
                if self._process.is_alive():
                    continue
                if not finished:
                    code = self._process.exitcode
                    self._set(status="failed", message="failed",
                              error=f"the training process stopped unexpectedly (exit code {code}); nothing was "
                                    "saved. Try again; if it happens again, the server's log may say why.")
                break
            if message[0] == "snapshot":
                self._apply(message[1], message[2])
                if message[1].finished and not finished:
                    finished = True
                    self._release()
            elif message[0] == "failed":
                self._set(status="failed", message="failed", error=message[1])
                finished = True
                self._release()
            else:  # the answer to a save
                self._replies.put(message)
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


def start_job(job_type: JobKind, /, **kwargs: Any) -> ProcessJob:
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
    """Stop every worker (the server is shutting down): cancel, then terminate what is left."""
    with _SCHEDULER_LOCK:
        running, _WAITING[:] = list(_RUNNING), []
    for job in running:
        job.cancel()
    deadline = time.monotonic() + timeout
    for job in running:
        if job._process is not None:
            job._process.join(max(0.0, deadline - time.monotonic()))
            if job._process.is_alive():
                job._process.terminate()
