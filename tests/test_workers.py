"""Jobs in worker processes: the same jobs, run in a process of their own; the server reads progress."""

from __future__ import annotations

import os
import signal
import time

import pytest

from aae.app import workers
from aae.app.jobs import Job
from aae.core.checkpoints import load_checkpoint
from aae.core.models import AAEConfig, GANConfig
from aae.core.priors import PriorConfig
from aae.core.training import TrainConfig

TINY_AAE = AAEConfig(latent_dim=2, hidden=32, prior=PriorConfig("gaussian", 1.0))
TINY_GAN = GANConfig(latent_dim=16, generator_hidden=(32, 64), disc_channels=8)


def training(tmp_path, name, *, epochs=1, limit=300, **extra):
    config = TrainConfig(epochs=epochs, batch_size=100, seed=0, device="cpu", log_every=1, sample_every=2)
    return dict(kind="aae", model_config=TINY_AAE, train_config=config, out=tmp_path / name,
                data_dir=os.environ["AAE_DATA_DIR"], train_limit=limit, name=name, **extra)


@pytest.fixture(autouse=True)
def data_env(data_dir, monkeypatch):
    monkeypatch.setenv("AAE_DATA_DIR", str(data_dir))


def test_a_worker_trains_to_done_in_its_own_process(tmp_path):
    job = workers.start_job("training", **training(tmp_path, "w1", latent_frames=1))
    assert isinstance(job, Job) and job.name == "w1" and job.info.model_config == TINY_AAE and job.dataset == "mnist"
    job.join(120)
    snap = job.snapshot()
    assert snap.status == "done", snap.error
    assert (snap.step, snap.total_steps) == (3, 3) and [row["step"] for row in snap.losses] == [1, 2, 3]
    assert snap.samples.shape == (100, 1, 28, 28) and len(snap.history) == 1 and snap.frames  # all came over
    assert job.pid not in (None, os.getpid())
    assert load_checkpoint(tmp_path / "w1").card["name"] == "w1"


def test_a_killed_worker_is_a_failed_job_with_a_message(tmp_path):
    job = workers.start_job("training", **training(tmp_path, "w2", epochs=50, limit=2000))
    deadline = time.monotonic() + 60
    while job.snapshot().step == 0 and time.monotonic() < deadline:
        time.sleep(0.05)
    os.kill(job.pid, signal.SIGKILL)
    job.join(30)
    snap = job.snapshot()
    assert snap.status == "failed" and "stopped unexpectedly" in snap.error and "-9" in snap.error
    assert not (tmp_path / "w2").exists()


def test_a_worker_told_to_close_mid_training_stops_its_job_and_exits_cleanly(tmp_path):
    """Leaving while the job's thread was inside torch aborted the process at shutdown ("terminate called without
    an active exception", exit code -6); the worker now stops its job, waits for the thread, then exits 0."""
    job = workers.start_job("training", **training(tmp_path, "w-close", epochs=50, limit=2000))
    deadline = time.monotonic() + 60
    while job.snapshot().step == 0 and time.monotonic() < deadline:
        time.sleep(0.05)
    assert job.snapshot().step > 0
    job.close()
    job.join(60)
    snap = job.snapshot()
    assert snap.finished and "exit code 0" in (snap.error or ""), snap.error
    assert not (tmp_path / "w-close").exists()  # stopped before the end: nothing saved


def test_the_queue_runs_at_most_n_jobs_at_once(tmp_path, monkeypatch):
    monkeypatch.setenv("AAE_MAX_JOBS", "1")
    first = workers.start_job("training", **training(tmp_path, "q1", epochs=2, limit=600))
    second = workers.start_job("training", **training(tmp_path, "q2"))
    third = workers.start_job("training", **training(tmp_path, "q3"))
    assert second.snapshot().status == "pending" and "1 job ahead" in second.snapshot().message
    assert "2 jobs ahead" in third.snapshot().message
    third.cancel()  # a queued job leaves the queue at once
    assert third.snapshot().status == "cancelled"
    training_together = 0
    while not second.snapshot().finished:
        snaps = [first.snapshot(), second.snapshot()]
        training_together = max(training_together, sum(snap.step > 0 and not snap.finished for snap in snaps))
        time.sleep(0.02)
    assert first.snapshot().status == "done" and second.snapshot().status == "done"
    assert training_together == 1 and second.snapshot().step == 3
    assert not (tmp_path / "q3").exists()


def test_pause_resume_cancel_and_a_duel_saved_by_its_worker(tmp_path):
    from aae.app.jobs import DuelJob  # noqa: F401  (the class the worker runs)

    config = TrainConfig(epochs=50, batch_size=50, seed=0, device="cpu", log_every=1)
    duel = workers.start_job("duel", gan_config=TINY_GAN, aae_config=TINY_AAE, train_config=config,
                             frame_every=2, data_dir=os.environ["AAE_DATA_DIR"], train_limit=500, classifier=None)
    deadline = time.monotonic() + 60
    while duel.snapshot().step < 3 and time.monotonic() < deadline:
        time.sleep(0.05)
    duel.pause()
    while duel.snapshot().status != "paused" and time.monotonic() < deadline:
        time.sleep(0.05)
    paused_at = duel.snapshot().step
    time.sleep(1.0)
    assert duel.snapshot().step == paused_at and duel.snapshot().frames  # paused: no steps
    paths = duel.save(tmp_path / "d")
    assert [p.name for p in paths] == ["d-gan", "d-aae"] and all(load_checkpoint(p) for p in paths)
    duel.resume()
    while duel.snapshot().step <= paused_at and time.monotonic() < deadline:
        time.sleep(0.05)
    assert duel.snapshot().step > paused_at
    duel.cancel()
    duel.join(30)
    assert duel.snapshot().status == "cancelled"
    duel.close()


def test_a_worker_outlives_the_thread_that_started_it(tmp_path):
    """Streamlit starts jobs from a script thread that ends with each rerun: the worker must not die with it."""
    import threading

    started = []
    thread = threading.Thread(target=lambda: started.append(
        workers.start_job("training", **training(tmp_path, "t1", epochs=2, limit=1000))))
    thread.start()
    thread.join()
    job = started[0]
    job.join(120)
    assert job.snapshot().status == "done", job.snapshot().error


def test_workers_stop_when_the_server_stops(tmp_path):
    """A server killed outright (no clean-up of its own) takes its training processes with it."""
    import subprocess
    import sys

    script = f"""
import os, sys, time
sys.path.insert(0, {str(workers.__file__.rsplit('/aae/', 1)[0])!r})
from aae.app import workers
from aae.core.models import AAEConfig
from aae.core.priors import PriorConfig
from aae.core.training import TrainConfig
job = workers.start_job("training", kind="aae", model_config=AAEConfig(latent_dim=2, hidden=32,
    prior=PriorConfig("gaussian", 1.0)), train_config=TrainConfig(epochs=500, device="cpu", sample_every=0),
    out={str(tmp_path / "orphan")!r}, data_dir={os.environ["AAE_DATA_DIR"]!r}, train_limit=1000)
while job.snapshot().step == 0:
    time.sleep(0.05)
print(job.pid, flush=True)
time.sleep(600)
"""
    server = subprocess.Popen([sys.executable, "-c", script], stdout=subprocess.PIPE, text=True)
    worker_pid = int(server.stdout.readline())
    os.kill(worker_pid, 0)  # training
    server.kill()  # SIGKILL: the server gets no chance to stop anything itself
    server.wait()
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        try:
            os.kill(worker_pid, 0)
        except ProcessLookupError:
            return
        time.sleep(0.1)
    os.kill(worker_pid, signal.SIGKILL)
    raise AssertionError("the worker outlived its server")


def test_a_bad_argument_is_a_value_error_before_any_worker_starts(tmp_path):
    with pytest.raises(ValueError, match="without an encoder"):
        workers.start_job("duel", gan_config=TINY_AAE, aae_config=TINY_AAE, train_config=TrainConfig())
    with pytest.raises(ValueError, match="latent_frames"):
        workers.start_job("training", **training(tmp_path, "bad", latent_frames=-1))
    with pytest.raises(ValueError, match="training job or a duel"):
        workers.start_job("sweep", **training(tmp_path, "bad"))


def test_importing_the_workers_changes_nothing_in_multiprocessing():
    import multiprocessing.spawn

    preparation = multiprocessing.spawn.get_preparation_data
    assert (preparation.__module__, preparation.__qualname__) == ("multiprocessing.spawn", "get_preparation_data")


def test_a_worker_never_runs_the_servers_main_script(tmp_path, monkeypatch):
    """Streamlit runs each page as `__main__`: a worker that ran it again would execute a page while training."""
    import sys
    import types

    ran = tmp_path / "page-ran"
    page = tmp_path / "page.py"
    page.write_text(f"open({str(ran)!r}, 'w').write('the page ran')\n")
    main = types.ModuleType("__main__")
    main.__file__ = str(page)
    monkeypatch.setitem(sys.modules, "__main__", main)
    job = workers.start_job("training", **training(tmp_path, "m1"))
    job.join(120)
    assert job.snapshot().status == "done", job.snapshot().error
    assert not ran.exists()
