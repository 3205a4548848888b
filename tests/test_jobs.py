"""Background jobs: a TrainingJob and a GAN-vs-AAE DuelJob on tiny configs and a slice of real MNIST."""

from __future__ import annotations

import time

import pytest
import torch

from aae.app.jobs import DuelJob, Job, TrainingJob
from aae.core.catalog import validate_config
from aae.core.checkpoints import load_checkpoint, save_checkpoint
from aae.core.models import AAEConfig, ClassifierConfig, GANConfig, VAEConfig
from aae.core.priors import PriorConfig
from aae.core.training import TrainConfig, create_model, train

TINY_AAE = AAEConfig(latent_dim=2, hidden=32, prior=PriorConfig("gaussian", 1.0))
TINY_GAN = GANConfig(latent_dim=16, generator_hidden=(32, 64), disc_channels=8)


def wait_for(condition, timeout: float = 60.0, what: str = "condition") -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.01)


def run_job(job, timeout: float = 60.0):
    job.start()
    job.join(timeout)
    return job.snapshot()


# -- checking configs before a job ------------------------------------------------------------

def test_validate_model_config_names_the_problem():
    validate_config("aae", AAEConfig(latent_dim=2, prior=PriorConfig("mog10"), label_regularized=True))
    validate_config("gan", GANConfig(latent_dim=2, prior=PriorConfig("swissroll")))
    with pytest.raises(ValueError, match="latent dimension of 2"):
        validate_config("aae", AAEConfig(latent_dim=8, prior=PriorConfig("mog10")))
    with pytest.raises(ValueError, match="mog10 or swissroll"):
        validate_config("aae", AAEConfig(latent_dim=2, prior=PriorConfig("gaussian"), label_regularized=True))
    with pytest.raises(ValueError, match="positive"):
        validate_config("vae", VAEConfig(latent_dim=2, prior=PriorConfig("gaussian", 0.0)))


# -- one model ---------------------------------------------------------------------------------

def test_a_job_is_described_by_its_checked_arguments_before_it_runs(tmp_path):
    config = TrainConfig(epochs=2)
    job = TrainingJob(kind="aae", model_config=TINY_AAE, train_config=config, out=tmp_path / "run-7")
    assert isinstance(job, Job) and job.name == "run-7" and job.info.model_config == TINY_AAE
    assert job.info == TrainingJob.describe(kind="aae", model_config=TINY_AAE, train_config=config,
                                            out=str(tmp_path / "run-7"))
    assert job.snapshot().epochs == 2 and job.snapshot().status == "pending"  # how long, before it starts
    with pytest.raises(ValueError, match="frame_images"):
        TrainingJob.describe(kind="aae", model_config=TINY_AAE, train_config=config, out=tmp_path, frame_images=5)
    match = DuelJob(gan_config=TINY_GAN, aae_config=TINY_AAE, train_config=config, frame_every=7)
    assert isinstance(match, Job) and match.info.frame_every == 7 and match.info.gan_kind == "gan"
    with pytest.raises(ValueError, match="coverage_samples"):
        DuelJob.describe(gan_config=TINY_GAN, aae_config=TINY_AAE, train_config=config, coverage_samples=0)


def test_training_job_runs_to_done_and_writes_a_loadable_checkpoint(tmp_path, data_dir):
    out = tmp_path / "tiny-run"
    config = TrainConfig(epochs=1, batch_size=100, seed=3, device="cpu", log_every=1, sample_every=2)
    job = TrainingJob(kind="aae", model_config=TINY_AAE, train_config=config, out=out, data_dir=data_dir,
                      train_limit=300, name="my tiny run")
    assert job.snapshot().status == "pending"
    snap = run_job(job)
    assert snap.status == "done", snap.error
    assert snap.finished and snap.error is None and snap.checkpoint == str(out)
    assert (snap.step, snap.total_steps, snap.epoch, snap.epochs) == (3, 3, 1, 1)
    assert snap.fraction == 1.0 and snap.images_per_second > 0 and snap.elapsed > 0
    assert [row["step"] for row in snap.losses] == [1, 2, 3]
    assert {"recon", "disc", "gen"} <= set(snap.losses[0])
    assert snap.samples.shape == (100, 1, 28, 28) and 0 <= snap.samples.min() <= snap.samples.max() <= 1
    assert len(snap.history) == 1 and "val_recon" in snap.history[0]

    checkpoint = load_checkpoint(out)
    assert checkpoint.model.kind == "aae" and checkpoint.model.latent_dim == 2
    assert checkpoint.card["name"] == "my tiny run"
    assert checkpoint.card["dataset"]["name"] == "mnist" and checkpoint.card["dataset"]["train_images"] == 300
    assert checkpoint.card["training"]["seed"] == 3
    assert [row["epoch"] for row in checkpoint.card["training"]["history"]] == [1]
    assert checkpoint.optimizer_state is not None  # resumable from the CLI


def test_a_2d_job_keeps_frames_of_its_latent_space_as_it_trains(tmp_path, data_dir):
    """The live view of q(z) meeting p(z): frames of fixed test codes, their distance to the prior, and D(z)."""
    config = TrainConfig(epochs=3, batch_size=50, seed=0, device="cpu", sample_every=0, lr=2e-3,
                         adversarial_weight=5, adversarial_lr=2e-3)
    aae = AAEConfig(latent_dim=2, hidden=64, prior=PriorConfig("gaussian", 1.0))
    snap = run_job(TrainingJob(kind="aae", model_config=aae, train_config=config, out=tmp_path / "a",
                               data_dir=data_dir, train_limit=1000, latent_frames=2, frame_images=300), timeout=120)
    assert snap.status == "done", snap.error
    assert [f.step for f in snap.frames] == [0, 10, 20, 30, 40, 50, 60]  # 20 steps an epoch, 2 frames each
    first, last = snap.frames[0], snap.frames[-1]
    assert first.codes.shape == (300, 2) and torch.equal(first.labels, last.labels)
    # Reconstruction spreads the codes first, then the adversary pulls them onto the prior (measured MMD²:
    # 2.15 at the start, 3.74 at its peak, 1.85 at the end).
    peak = max(f.distance for f in snap.frames)
    assert last.distance < first.distance and last.distance < 0.6 * peak
    assert last.disc.shape == (40, 40) and 0 <= last.disc.min() <= last.disc.max() <= 1
    vae = run_job(TrainingJob(kind="vae", model_config=VAEConfig(latent_dim=2, hidden=32), train_config=config,
                              out=tmp_path / "v", data_dir=data_dir, train_limit=300, latent_frames=1))
    assert vae.status == "done" and vae.frames and all(f.disc is None for f in vae.frames)  # a VAE has no D
    eight = run_job(TrainingJob(kind="aae", model_config=AAEConfig(latent_dim=8, hidden=32), train_config=config,
                                out=tmp_path / "e", data_dir=data_dir, train_limit=300, latent_frames=1))
    assert eight.status == "done" and eight.frames == []  # frames are for 2-D codes


def test_snapshots_are_copies_the_worker_cannot_change(tmp_path, data_dir):
    job = TrainingJob(kind="aae", model_config=TINY_AAE, train_config=TrainConfig(epochs=1, log_every=1),
                      out=tmp_path / "x", data_dir=data_dir, train_limit=300)
    before = job.snapshot()
    run_job(job)
    assert before.status == "pending" and before.losses == [] and before.step == 0


def test_cancel_stops_training_and_writes_nothing(tmp_path, data_dir):
    out = tmp_path / "cancelled"
    config = TrainConfig(epochs=500, batch_size=100, device="cpu", log_every=1, sample_every=0)
    job = TrainingJob(kind="aae", model_config=TINY_AAE, train_config=config, out=out, data_dir=data_dir,
                      train_limit=300)
    job.start()
    wait_for(lambda: job.snapshot().step >= 1, what="the first step")
    job.cancel()
    job.join(30)
    snap = job.snapshot()
    assert snap.status == "cancelled" and snap.finished
    assert 1 <= snap.step < snap.total_steps == 1500
    assert snap.checkpoint is None and not out.exists()
    assert not any(tmp_path.iterdir())  # no half-written temporary folder either


def test_bad_config_fails_with_a_readable_error(tmp_path, data_dir):
    bad = AAEConfig(latent_dim=2, hidden=32, prior=PriorConfig("gaussian"), label_regularized=True)
    job = TrainingJob(kind="aae", model_config=bad, train_config=TrainConfig(epochs=1), out=tmp_path / "bad",
                      data_dir=data_dir, train_limit=300)
    snap = run_job(job)
    assert snap.status == "failed" and snap.finished
    assert "mog10 or swissroll" in snap.error and "Traceback" not in snap.error
    assert not (tmp_path / "bad").exists()


def test_missing_data_fails_with_the_data_not_found_message(tmp_path, monkeypatch):
    import aae.core.data

    def offline(name, root, train):  # what torchvision does with no files and no network
        raise RuntimeError("Error downloading train-images-idx3-ubyte.gz")

    monkeypatch.setattr(aae.core.data, "_torchvision_split", offline)
    empty = tmp_path / "no-data"
    job = TrainingJob(kind="aae", model_config=TINY_AAE, train_config=TrainConfig(epochs=1), out=tmp_path / "m",
                      data_dir=empty)
    snap = run_job(job)
    assert snap.status == "failed"
    assert f"{(empty / 'MNIST' / 'raw').resolve()}" in snap.error and "AAE_DATA_DIR" in snap.error
    assert not (tmp_path / "m").exists()


def test_a_job_starts_only_once(tmp_path, data_dir):
    job = TrainingJob(kind="aae", model_config=TINY_AAE, train_config=TrainConfig(epochs=1), out=tmp_path / "o",
                      data_dir=data_dir, train_limit=300)
    job.cancel()  # cancelled before it starts: the trainer stops before its first step
    snap = run_job(job)
    assert snap.status == "cancelled" and snap.step == 0
    with pytest.raises(RuntimeError, match="already been started"):
        job.start()


# -- a GAN and an AAE side by side -------------------------------------------------------------

@pytest.fixture(scope="module")
def classifier_path(tmp_path_factory, small_splits):
    """A tiny MNIST classifier, trained for a few steps: enough to give coverage numbers."""
    model = create_model("classifier", ClassifierConfig(channels=4, feature_dim=16), seed=0)
    result = train(model, small_splits, TrainConfig(epochs=1, batch_size=100, device="cpu", sample_every=0))
    return save_checkpoint(tmp_path_factory.mktemp("clf") / "classifier", result.model, card={"name": "clf"})


def duel(data_dir, *, epochs: int = 1, **kw) -> DuelJob:
    config = TrainConfig(epochs=epochs, batch_size=100, seed=0, device="cpu", log_every=1)
    return DuelJob(gan_config=TINY_GAN, aae_config=AAEConfig(latent_dim=8, hidden=32), train_config=config,
                   frame_every=1, data_dir=data_dir, train_limit=300, coverage_samples=200, **kw)


def test_duel_pauses_resumes_saves_and_measures_coverage(tmp_path, data_dir, classifier_path):
    job = duel(data_dir, epochs=20, classifier=classifier_path)
    with pytest.raises(RuntimeError, match="pause or stop"):
        job.save(tmp_path / "early")  # nothing to save before it has run
    job.start()
    wait_for(lambda: job.snapshot().step >= 1, what="the first duel step")
    job.pause()
    wait_for(lambda: job.snapshot().status == "paused", what="the pause")
    paused_at = job.snapshot().step
    time.sleep(0.5)
    snap = job.snapshot()
    frames = snap.frames
    assert snap.status == "paused" and snap.step == paused_at < snap.total_steps == 60

    # Saving while paused writes two sibling checkpoints the model lists can see.
    gan_path, aae_path = job.save(tmp_path / "duel")
    assert (gan_path.name, aae_path.name) == ("duel-gan", "duel-aae") and gan_path.parent == tmp_path
    gan, aae = load_checkpoint(gan_path), load_checkpoint(aae_path)
    assert gan.model.kind == "gan" and gan.card["name"] == "duel-gan" and gan.card["training"]["steps"] == paused_at
    assert aae.model.kind == "aae" and aae.model.latent_dim == 8 and aae.card["duel"] is True
    assert gan.optimizer_state is not None and aae.optimizer_state is not None

    job.resume()
    job.join(120)
    snap = job.snapshot()
    frames = snap.frames
    assert snap.status == "done", snap.error
    assert snap.step == 60 and snap.epoch == 20 and snap.fraction == 1.0
    assert [f.step for f in frames] == list(range(1, 61))  # a frame every step, none lost to the pause
    last = frames[-1]
    assert last.gan_samples.shape == last.aae_samples.shape == (100, 1, 28, 28)
    assert not torch.equal(frames[0].gan_samples, last.gan_samples)  # the grids evolve
    assert {"disc", "gen"} <= set(last.gan_losses) and {"recon", "disc", "gen"} <= set(last.aae_losses)
    assert {"gan_disc", "gan_gen", "aae_recon", "aae_disc", "aae_gen"} <= set(snap.losses[-1])
    for coverage in (last.gan_coverage, last.aae_coverage):
        assert len(coverage["shares"]) == 10 and sum(coverage["shares"]) == pytest.approx(1.0)
        assert 0 <= coverage["modes_covered"] <= 10 and 0 <= coverage["normalized_entropy"] <= 1
    assert job.coverage_error is None

    # Saving again once done overwrites the earlier pair with the models as they trained on after the pause.
    job.save(tmp_path / "duel")
    trained = load_checkpoint(tmp_path / "duel-gan")
    assert trained.card["training"]["steps"] == 60
    assert not torch.equal(trained.model.generator.net[0].weight, gan.model.generator.net[0].weight)


def test_duel_stop_while_paused_and_without_a_classifier(tmp_path, data_dir):
    job = duel(data_dir, classifier=tmp_path / "no-classifier")
    job.pause()  # paused before the first step
    job.start()
    wait_for(lambda: job.snapshot().status == "paused", what="the pause")
    job.cancel()
    job.join(30)
    snap = job.snapshot()
    frames = snap.frames
    assert snap.status == "cancelled" and snap.step == 0 and frames == []
    assert "no classifier" in job.coverage_error
    assert len(job.save(tmp_path / "stopped")) == 2  # a stopped run can still be saved


def test_duel_without_classifier_has_no_coverage(data_dir):
    job = duel(data_dir)
    snap = run_job(job)
    frames = job.snapshot().frames
    assert snap.status == "done" and len(frames) == 3
    assert frames[-1].gan_coverage is None and frames[-1].aae_coverage is None
    with pytest.raises(ValueError, match="frame_every"):
        DuelJob(gan_config=TINY_GAN, aae_config=TINY_AAE, train_config=TrainConfig(), frame_every=0)


def test_finished_jobs_are_forgotten_after_a_while_and_running_ones_never(data_dir, tmp_path):
    from aae.app.workers import forget_finished

    config = TrainConfig(epochs=1, batch_size=100, device="cpu", log_every=1, sample_every=0)
    done = TrainingJob(kind="aae", model_config=TINY_AAE, train_config=config, out=tmp_path / "done",
                       data_dir=data_dir, train_limit=300)
    assert run_job(done).status == "done"
    waiting = TrainingJob(kind="aae", model_config=TINY_AAE, train_config=config, out=tmp_path / "waiting",
                          data_dir=data_dir, train_limit=300)  # never started: pending, not finished
    registry = {"alice": {"train": done}, "bob": {"train": waiting}}
    assert forget_finished(registry, keep_seconds=60, now=1000.0) == 0  # first seen finished now: kept
    assert forget_finished(registry, keep_seconds=60, now=1050.0) == 0 and "alice" in registry
    assert forget_finished(registry, keep_seconds=60, now=1061.0) == 1
    assert registry == {"bob": {"train": waiting}}  # alice's session went with her last job
    assert (tmp_path / "done" / "card.json").exists()  # the model itself stays saved
    assert forget_finished(registry, keep_seconds=0, now=1e9) == 0 and registry == {"bob": {"train": waiting}}
