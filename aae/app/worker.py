"""A worker process: `python -m aae.app.worker COMMANDS_FD UPDATES_FD SERVER_PID`, started by `aae.app.workers`.

It runs one job (`aae.app.jobs.TrainingJob` or `DuelJob`) in this process and talks to the server over two pipes
it inherits, as `multiprocessing.connection` Connections. Every message is a tuple pickled with the standard
pickler, so tensors travel as bytes, not as shared-memory handles:

- server → worker: first ("job", (job_type, arguments, threads)); then ("pause" | "resume" | "cancel" | "close",
  None) or ("save", prefix).
- worker → server: ("snapshot", delta, coverage_error) a few times a second, where the delta is the snapshot
  with only the loss rows, history rows, frames and preview the server has not had yet; ("failed", message)
  when the job cannot be made; ("saved", [paths]) or ("save_failed", message) in answer to a save.

Being a module of its own, the worker imports only what it runs: never the server's main script (a Streamlit
page). It ends when its job has finished (a finished duel waits a while for a save), when told to close, and when
the server is gone: the kernel kills it when the server dies (Linux), and an end of the command pipe stops it.
"""

from __future__ import annotations

import copy
import logging
import os
import pickle
import signal
import sys
import time
from multiprocessing.connection import Connection
from typing import Any

from aae.app.guard import die_with

LINGER = 600.0  # seconds a finished duel's worker waits for "save" before it exits


def delta(snap: Any, sent: dict[str, Any]) -> Any:
    """The snapshot with only the list items and preview the server has not had yet; `sent` keeps count."""
    changed = copy.copy(snap)
    for name in ("losses", "history", "frames"):
        items = getattr(snap, name)
        setattr(changed, name, items[sent[name]:])
        sent[name] = len(items)
    if snap.samples is sent["samples"]:
        changed.samples = None
    sent["samples"] = snap.samples
    return changed


def send(updates: Connection, *message: Any) -> None:
    updates.send_bytes(pickle.dumps(message))


def obey(job: Any, commands: Connection, updates: Connection) -> bool:
    """Carry out the commands waiting (cancel, pause, resume, save); False once told to close or the server is
    gone."""
    while commands.poll():
        try:
            command, argument = pickle.loads(commands.recv_bytes())
        except (EOFError, OSError):  # the server closed its end: it is gone
            job.cancel()
            return False
        if command == "close":
            return False
        if command == "save":
            try:
                send(updates, "saved", [str(p) for p in job.save(argument)])
            except (RuntimeError, OSError, ValueError) as error:
                send(updates, "save_failed", str(error))
        elif command in ("pause", "resume", "cancel"):
            getattr(job, command)()
    return True


def run(commands: Connection, updates: Connection) -> None:
    """Make the job the server sent, start it, and report its progress until it is over."""
    _, (job_type, arguments, threads) = pickle.loads(commands.recv_bytes())
    import torch

    from aae.app.jobs import JOB_TYPES
    from aae.core.device import keep_freed_memory

    keep_freed_memory()  # this process trains and ends; the server's own malloc setting is the opposite
    torch.set_num_threads(threads)
    try:
        job = JOB_TYPES[job_type](**arguments)
    except Exception as error:  # the server checked the arguments; whatever else went wrong, it shows
        send(updates, "failed", f"{type(error).__name__}: {error}")
        return
    # A pause or stop asked for while this process was starting holds from the first step.
    if not obey(job, commands, updates):
        return
    job.start()
    try:
        sent: dict[str, Any] = {"losses": 0, "history": 0, "frames": 0, "samples": None}
        finished_at = None
        while obey(job, commands, updates):
            snap = job.snapshot()
            send(updates, "snapshot", delta(snap, sent), job.coverage_error)
            if snap.finished:
                finished_at = finished_at or time.monotonic()
                # A finished training job has nothing left to do; a duel can still be saved for a while.
                if job_type == "training" or time.monotonic() - finished_at > LINGER:
                    return
            time.sleep(0.25 if not snap.finished else 0.5)
    finally:
        # Never leave while the job's thread is inside torch: the interpreter's shutdown would kill it mid-call,
        # and the process would abort ("terminate called without an active exception").
        if not job.snapshot().finished:
            job.cancel()
        job.wait_for_thread(timeout=30)


def main(argv: list[str]) -> None:
    commands_fd, updates_fd, server_pid = (int(arg) for arg in argv)
    die_with(server_pid)
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C in the server's terminal is the server's to handle
    commands = Connection(commands_fd, writable=False)
    updates = Connection(updates_fd, readable=False)
    try:
        run(commands, updates)
    except (BrokenPipeError, EOFError):  # the server is gone: nobody is left to report to
        pass
    finally:
        updates.close()
        commands.close()
        # Leave without the interpreter's teardown: a torch thread still alive then (a job that did not end within
        # the wait above) aborts the process; everything of ours is written and closed by now.
        logging.shutdown()
        sys.stdout.flush()
        sys.stderr.flush()
        os._exit(0)


if __name__ == "__main__":
    main(sys.argv[1:])
