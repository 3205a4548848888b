import threading
from dataclasses import replace

import pytest
import torch

from aae.core.device import pick_device
from aae.core.models import AAEConfig, GANConfig, VAEConfig
from aae.core.priors import PriorConfig
from aae.core.training import (
    TrainConfig,
    Trainer,
    TrainingDiverged,
    create_model,
    joined_phases,
    train,
)

MODELS = {
    "aae": AAEConfig(latent_dim=2, hidden=64, prior=PriorConfig("mog10"), label_regularized=True),
    "vae": VAEConfig(latent_dim=2, hidden=64),
    "gan": GANConfig(latent_dim=16, generator_hidden=(64, 128), disc_channels=8),
}


@pytest.mark.parametrize("kind", sorted(MODELS))
def test_smoke_training_on_real_mnist(kind, small_splits):
    """Two epochs on a small real slice: events arrive in order, losses are finite, previews are images."""
    events = []
    model = create_model(kind, MODELS[kind], seed=0)
    config = TrainConfig(epochs=2, batch_size=100, lr=1e-3, log_every=2, sample_every=3, n_preview=20)
    result = train(model, small_splits, config, callback=events.append)
    kinds = [e.kind for e in events]
    assert kinds[0] == "start" and kinds[-1] == "done"
    assert kinds.count("epoch") == 2 and "step" in kinds and "samples" in kinds
    assert result.status == "done" and result.epochs_done == 2 and result.steps_done == 12
    assert [e.step for e in events] == sorted(e.step for e in events)
    assert all(torch.isfinite(torch.tensor(v)) for row in result.history for v in row.values())
    preview = next(e.samples for e in events if e.kind == "samples")
    assert preview.shape == (20, 1, 28, 28) and 0 <= preview.min() and preview.max() <= 1
    # one optimiser per phase the engine runs (joint regularisation folds the AAE's generator step in)
    assert set(result.optimizer_state) == {p.name for p in joined_phases(model.phases(1e-3), config)}


def test_training_lowers_validation_reconstruction(small_splits):
    model = create_model("aae", AAEConfig(latent_dim=4, hidden=128, prior=PriorConfig("gaussian")), seed=0)
    trainer = Trainer(model, small_splits, TrainConfig(epochs=3, sample_every=0))
    before = trainer.validate()["val_recon"]
    result = trainer.fit()
    assert result.history[-1]["val_recon"] < 0.85 * before


def test_same_seed_same_model_on_the_cpu(small_splits):
    def run():
        model = create_model("aae", AAEConfig(latent_dim=2, hidden=32, encoder="gaussian"), seed=3)
        return train(model, small_splits, TrainConfig(epochs=1, seed=3, device="cpu")).model

    a, b = run(), run()
    for (name, pa), pb in zip(a.state_dict().items(), b.state_dict().values()):
        assert torch.equal(pa, pb), name


def test_cancel_stops_between_steps(small_splits):
    cancel = threading.Event()

    def callback(event):
        if event.kind == "step" and event.step >= 2:
            cancel.set()

    model = create_model("vae", MODELS["vae"], seed=0)
    result = train(model, small_splits, TrainConfig(epochs=5, log_every=1), callback=callback, cancel=cancel)
    assert result.status == "cancelled" and result.steps_done == 2 and result.epochs_done == 0


def test_nan_loss_stops_training_with_a_clear_message(small_splits):
    model = create_model("vae", MODELS["vae"], seed=0)
    with torch.no_grad():
        model.encoder.net[0].weight.fill_(float("nan"))
    with pytest.raises(TrainingDiverged, match="elbo loss became nan.*learning rate"):
        train(model, small_splits, TrainConfig(epochs=1))


def test_a_time_budget_cuts_epochs_and_moves_the_rate_steps_in_proportion(small_splits):
    config = TrainConfig(epochs=1000, lr_steps=(50, 500, 900))
    assert config.fitted_to(100).epochs == 100 and config.fitted_to(100).lr_steps == (5, 50, 90)
    assert config.fitted_to(2000) is config  # never more epochs than asked
    # A budget far shorter than one epoch: the first epoch runs, then the run stops, and the trainer's
    # config (what the card records) says so.
    model = create_model("vae", MODELS["vae"], seed=0)
    trainer = Trainer(model, small_splits, TrainConfig(epochs=4, lr_steps=(2,), minutes=1e-6, sample_every=0))
    result = trainer.fit()
    assert result.epochs_done == 1 and trainer.config.epochs == 1 and trainer.config.lr_steps == (1,)
    roomy = Trainer(create_model("vae", MODELS["vae"], seed=0), small_splits,
                    TrainConfig(epochs=2, minutes=60, sample_every=0))
    assert roomy.fit().epochs_done == 2 and roomy.config.epochs == 2
    with pytest.raises(ValueError, match="minutes"):
        TrainConfig(minutes=-1)


def test_step_losses_stay_tensors_until_reported(small_splits):
    """No wait for the device on every step: a step's logs are tensors; what is reported is floats."""
    events = []
    model = create_model("aae", MODELS["aae"], seed=0)
    trainer = Trainer(model, small_splits, TrainConfig(epochs=1, log_every=2, sample_every=0), callback=events.append)
    logs = trainer.train_step(small_splits.train_x[:50], small_splits.train_y[:50])
    assert logs and all(isinstance(v, torch.Tensor) and v.dim() == 0 and not v.requires_grad for v in logs.values())
    trainer.fit()
    steps = [e for e in events if e.kind == "step"]
    assert steps and all(isinstance(v, float) for e in steps for v in e.losses.values())
    assert all(isinstance(v, float) for v in trainer.last_logs.values())
    assert all(isinstance(v, (int, float)) for v in trainer.history[0].values())  # a card stores them as JSON


def test_resuming_matches_an_unbroken_run(small_splits):
    config = TrainConfig(epochs=2, seed=5)
    unbroken = train(create_model("vae", MODELS["vae"], seed=5), small_splits, config).model
    first = train(create_model("vae", MODELS["vae"], seed=5), small_splits, TrainConfig(epochs=1, seed=5))
    resumed = train(first.model, small_splits, config, optimizer_state=first.optimizer_state, start_epoch=1).model
    for pa, pb in zip(unbroken.state_dict().values(), resumed.state_dict().values()):
        assert torch.allclose(pa, pb, atol=1e-6)


def test_pick_device():
    assert pick_device("cpu").type == "cpu"
    assert pick_device("auto").type == ("cuda" if torch.cuda.is_available() else "cpu")
    if not torch.cuda.is_available():
        with pytest.raises(RuntimeError, match="no CUDA"):
            pick_device("cuda")


def test_bad_train_config_is_refused():
    with pytest.raises(ValueError, match="epochs"):
        TrainConfig(epochs=0)
    with pytest.raises(ValueError, match="lr"):
        TrainConfig(lr=-1)


def test_bf16_autocast_training_still_learns(small_splits):
    model = create_model("aae", AAEConfig(latent_dim=4, hidden=128, prior=PriorConfig("gaussian")), seed=0)
    trainer = Trainer(model, small_splits, TrainConfig(epochs=3, sample_every=0, precision="bf16"))
    before = trainer.validate()["val_recon"]
    result = trainer.fit()
    assert result.history[-1]["val_recon"] < 0.85 * before
    assert all(p.dtype == torch.float32 for p in result.model.parameters())  # weights stay fp32
    with pytest.raises(ValueError, match="precision"):
        TrainConfig(precision="fp8")


def test_sgd_follows_the_papers_momenta_and_stepped_rates(small_splits):
    """SGD: momentum 0.9 for reconstruction, 0.1 for the adversarial phases; every rate ÷10 at each step."""
    model = create_model("aae", MODELS["aae"], seed=0)
    config = TrainConfig(epochs=2, sample_every=0, optimizer="sgd", lr=0.002, adversarial_lr=0.1, lr_steps=(1,),
                         regularization="phases")
    trainer = Trainer(model, small_splits, config)
    groups = {name: opt.param_groups[0] for name, opt in trainer.optimizers.items()}
    assert all(isinstance(opt, torch.optim.SGD) for opt in trainer.optimizers.values())
    assert (groups["reconstruction"]["momentum"], groups["generator"]["momentum"]) == (0.9, 0.1)
    assert (groups["reconstruction"]["lr"], groups["discriminator"]["lr"]) == (0.002, 0.1)
    result = trainer.fit()  # epoch 2 (index 1) runs after the step at epoch 1
    assert result.status == "done"
    assert groups["reconstruction"]["lr"] == pytest.approx(0.0002) and groups["generator"]["lr"] == pytest.approx(0.01)
    with pytest.raises(ValueError, match="lr_steps"):
        TrainConfig(lr_steps=(5, 3))
    with pytest.raises(ValueError, match="optimizer"):
        TrainConfig(optimizer="rmsprop")


def test_adversarial_lr_overrides_only_the_adversarial_phases(small_splits):
    model = create_model("aae", MODELS["aae"], seed=0)
    trainer = Trainer(model, small_splits, TrainConfig(epochs=1, lr=1e-3, adversarial_lr=5e-5, regularization="phases"))
    rates = {name: opt.param_groups[0]["lr"] for name, opt in trainer.optimizers.items()}
    assert rates == {"reconstruction": 1e-3, "discriminator": 5e-5, "generator": 5e-5}
    default = Trainer(model, small_splits, TrainConfig(epochs=1, lr=1e-3, regularization="phases"))
    assert default.optimizers["generator"].param_groups[0]["lr"] == 1e-3 * MODELS["aae"].adversarial_lr_scale


def test_joint_regularization_folds_the_generator_into_reconstruction(small_splits):
    """joint: two steps per batch (reconstruction + weighted generator loss, then D); the GAN is untouched."""
    model = create_model("aae", MODELS["aae"], seed=0)
    trainer = Trainer(model, small_splits, TrainConfig(epochs=1, sample_every=0, adversarial_weight=2.0))
    assert [p.name for p in trainer.phases] == ["reconstruction", "discriminator"]
    assert trainer.phases[0].joined == (("generator", 2.0),)
    x, y = small_splits.train_x[:50], small_splits.train_y[:50]
    logs = trainer.train_step(x, y)
    assert {"recon", "gen", "disc"} <= set(logs)  # the generator loss is still computed and logged
    assert "val_gen" in trainer.validate()
    gan = create_model("gan", MODELS["gan"], seed=0)
    assert [p.name for p in joined_phases(gan.phases(2e-4), TrainConfig())] == ["discriminator", "generator"]
    with pytest.raises(ValueError, match="regularization"):
        TrainConfig(regularization="both")


def test_precision_auto_is_fp32_on_a_cpu_without_native_bf16(monkeypatch, small_splits):
    """bf16 is emulated (14× slower) on a CPU without AVX-512 BF16 or AMX: auto must not pick it there."""
    from aae.core import device as devices
    from aae.core import training  # noqa: F401
    from aae.core.models import AAEConfig

    monkeypatch.setattr(devices, "_PRECISION_CHOICES", {})
    monkeypatch.setattr(devices, "cpu_has_native_bf16", lambda: False)
    monkeypatch.setattr(devices, "_bf16_speedup", lambda device: pytest.fail("no timing without native bf16"))
    assert devices.resolve_precision("auto", "cpu") == "fp32"
    assert devices.resolve_precision("bf16", "cpu") == "bf16"  # asked for explicitly: as asked

    # With native bf16, auto follows the measurement (remembered per device type)
    monkeypatch.setattr(devices, "_PRECISION_CHOICES", {})
    monkeypatch.setattr(devices, "cpu_has_native_bf16", lambda: True)
    monkeypatch.setattr(devices, "_bf16_speedup", lambda device: 1.8)
    assert devices.resolve_precision("auto", "cpu") == "bf16"
    monkeypatch.setattr(devices, "_PRECISION_CHOICES", {})
    monkeypatch.setattr(devices, "_bf16_speedup", lambda device: 1.05)
    assert devices.resolve_precision("auto", "cpu") == "fp32"

    # The card records what ran
    monkeypatch.setattr(devices, "_PRECISION_CHOICES", {})
    monkeypatch.setattr(devices, "cpu_has_native_bf16", lambda: False)
    model = training.create_model("aae", AAEConfig(latent_dim=2, hidden=16), seed=0)
    result = training.train(model, small_splits, training.TrainConfig(epochs=1, device="cpu", sample_every=0))
    assert result.precision == "fp32"


def test_a_run_asking_for_bf16_on_a_cpu_that_emulates_it_is_told_at_the_start(monkeypatch, small_splits):
    """A recipe trained in bf16 on a CPU with native bf16 asks for it by name; on a CPU that emulates bf16 (8.7×
    slower than fp32 for the CycleGAN's step on an AVX2 EPYC) the start message says so and how to go faster."""
    from aae.core import device as devices
    from aae.core import training
    from aae.core.models import AAEConfig

    monkeypatch.setattr(devices, "cpu_has_native_bf16", lambda: False)
    assert devices.precision_note("fp32", "cpu") == "" and devices.precision_note("bf16", "meta") == ""

    def start_message(precision: str) -> str:
        events = []
        model = training.create_model("aae", AAEConfig(latent_dim=2, hidden=16), seed=0)
        training.train(model, small_splits, training.TrainConfig(epochs=1, device="cpu", sample_every=0,
                                                                 precision=precision), callback=events.append)
        return next(e.message for e in events if e.kind == "start")

    assert "--precision fp32" in start_message("bf16") and "emulated" in start_message("bf16")
    assert "emulated" not in start_message("fp32")
    monkeypatch.setattr(devices, "cpu_has_native_bf16", lambda: True)
    assert devices.precision_note("bf16", "cpu") == "" and "emulated" not in start_message("bf16")


@pytest.mark.parametrize("cpuinfo, native", [
    ("model name\t: AMD EPYC (avx512_bf16 in its name, not its flags)\nflags\t\t: fpu sse avx2 avx512f\n", False),
    ("processor\t: 0\nflags\t\t: fpu avx512f avx512_bf16 avx512_vnni\n", True),
    ("flags\t\t: fpu amx_tile amx_bf16\n", True),
    ("flags\t\t: fpu avx512_bf16x\n", False),  # a whole flag, not part of one
    ("processor\t: 0\n", False),  # no flags line at all
    (OSError("no /proc here"), False),  # not Linux: never assume
])
def test_native_bf16_is_read_from_the_cpus_flags(monkeypatch, cpuinfo, native):
    import io

    from aae.core import device as devices
    from aae.core import training  # noqa: F401

    def fake_open(path, *args, **kwargs):
        assert path == "/proc/cpuinfo"
        if isinstance(cpuinfo, OSError):
            raise cpuinfo
        return io.StringIO(cpuinfo)

    monkeypatch.setattr(devices, "open", fake_open, raising=False)  # the module's open, not the builtin
    monkeypatch.delenv("ONEDNN_MAX_CPU_ISA", raising=False)
    assert devices.cpu_has_native_bf16() is native
    if native:  # oneDNN capped below bf16 (the emulation of an older CPU) emulates it: not native
        monkeypatch.setenv("ONEDNN_MAX_CPU_ISA", "AVX2")
        assert devices.cpu_has_native_bf16() is False
        monkeypatch.setenv("ONEDNN_MAX_CPU_ISA", "AVX512_CORE_AMX")
        assert devices.cpu_has_native_bf16() is True


def test_a_job_estimate_counts_the_workers_start_and_each_epochs_validation():
    from aae.app.estimates import WORKER_STARTUP_SECONDS, estimate_job_seconds

    plain = estimate_job_seconds(1000.0, epochs=2, train_images=10_000)
    assert plain == pytest.approx(WORKER_STARTUP_SECONDS + 20.0)
    with_val = estimate_job_seconds(1000.0, epochs=2, train_images=10_000, validation_images=3_000)
    assert with_val == pytest.approx(plain + 2.0)  # a forward pass: a third of a step per image, every epoch
    assert estimate_job_seconds(2000.0, epochs=2, train_images=10_000) < plain


def test_compile_trains_the_same_model_with_the_same_weight_names(small_splits, tmp_path):
    """--compile (TrainConfig.compile) compiles each network in place: training still learns, and the checkpoint's
    weights carry the plain names, so it loads anywhere."""
    from aae.core.checkpoints import load_checkpoint, save_checkpoint
    from aae.core.models import AAEConfig

    config = TrainConfig(epochs=1, batch_size=100, device="cpu", sample_every=0, progress_images=0,
                         validation_images=0, compile=True)
    model = create_model("aae", AAEConfig(latent_dim=2, hidden=16), seed=0)
    plain_names = set(create_model("aae", AAEConfig(latent_dim=2, hidden=16), seed=0).state_dict())
    trainer = Trainer(model, small_splits, config)
    first = trainer.train_step(small_splits.train_x[:100], small_splits.train_y[:100])
    for _ in range(5):
        last = trainer.train_step(small_splits.train_x[:100], small_splits.train_y[:100])
    assert float(last["recon"]) < float(first["recon"])  # it learns
    assert set(model.state_dict()) == plain_names
    save_checkpoint(tmp_path / "c", model, card={"dataset": {"name": "mnist"}})
    assert load_checkpoint(tmp_path / "c").model.encode(small_splits.test_x[:4]).shape == (4, 2)


def test_shared_regularization_takes_ds_step_from_the_reconstruction_pass(small_splits):
    """shared: one step of two optimisers from one pass. The encoder and decoder get exactly joint's gradient
    (reconstruction + weight × generator through a fixed D), and D gets the gradient of its loss on the codes
    of the encoder before its step (where joint re-encodes after it): checked against those computed by hand."""
    from aae.core.models.blocks import discriminator_loss, frozen, generator_loss, reconstruction_loss

    config = AAEConfig(latent_dim=2, hidden=64, prior=PriorConfig("mog10"), label_regularized=True)
    cfg = TrainConfig(epochs=1, sample_every=0, adversarial_weight=2.0, regularization="shared", precision="fp32")
    model = create_model("aae", config, seed=0)
    reference = create_model("aae", config, seed=0)
    trainer = Trainer(model, small_splits, cfg)
    assert [p.name for p in trainer.phases] == ["reconstruction"]
    assert [p.name for p in trainer.phases[0].partners] == ["discriminator"]
    assert set(trainer.optimizers) == {"reconstruction", "discriminator"}  # a joint run's optimiser state fits
    x, y = small_splits.train_x[:50], small_splits.train_y[:50]

    torch.manual_seed(5)
    logs = trainer.train_step(x, y)
    assert {"recon", "gen", "disc", "disc_acc"} <= set(logs)

    # By hand, on the untouched copy: the same draws in the same order (codes, then the prior's samples).
    torch.manual_seed(5)
    onehot = torch.nn.functional.one_hot(y, 10).float()
    z = reference.posterior(x, sample=True)
    z_real = reference.sample_latent(50, labels=y)
    recon = reconstruction_loss(reference.decoder.logits(z), x, "bce")
    with frozen(reference.discriminator):
        gen, _ = generator_loss(reference.discriminator(z, onehot))
    (recon + 2.0 * gen).backward()
    disc, _ = discriminator_loss(reference.discriminator(z_real, onehot), reference.discriminator(z.detach(), onehot))
    disc.backward()
    rates = {"reconstruction": cfg.lr, "discriminator": trainer.optimizers["discriminator"].param_groups[0]["lr"]}
    for phase, params in (("reconstruction", [*reference.encoder.parameters(), *reference.decoder.parameters()]),
                          ("discriminator", list(reference.discriminator.parameters()))):
        betas = trainer.optimizers[phase].param_groups[0]["betas"]
        torch.optim.Adam(params, lr=rates[phase], betas=betas).step()
    for (name, p), q in zip(model.named_parameters(), reference.parameters()):
        torch.testing.assert_close(p, q, rtol=1e-5, atol=1e-6, msg=name)


def test_shared_regularization_is_refused_where_a_model_cannot_share(small_splits):
    """(Every kind's default trains: tests/test_model_kinds.py steps each with its resolved defaults.)"""
    from aae.core import catalog

    aae_config = catalog.build_config("aae", {"latent_dim": 2, "hidden": 32})
    assert catalog.train_config("aae", aae_config, regularization="joint").regularization == "joint"
    vae = create_model("vae", MODELS["vae"], seed=0)
    with pytest.raises(ValueError, match="shared regularisation is the AAE's"):
        Trainer(vae, small_splits, TrainConfig(epochs=1, regularization="shared"))
    semi = create_model("semi", catalog.build_config("semi", {"latent_dim": 2, "hidden": 32}), seed=0)
    with pytest.raises(ValueError, match="--regularization joint or phases"):
        Trainer(semi, small_splits, TrainConfig(epochs=1, regularization="shared"))


def test_shared_regularization_trains_a_2d_aae_as_well_as_joint(data_dir):
    """The shared pass changes what D sees by one encoder step; over a run of 600 steps it sorts the classes and
    fills the prior as joint does (same seed, same batches; each far from an untrained model's codes)."""
    from aae.core import catalog
    from aae.core.data import load_dataset
    from aae.core.metrics import knn_accuracy, mmd

    splits = load_dataset("mnist", data_dir=data_dir, val_size=200, train_limit=3000, test=True, test_limit=1000)
    config = catalog.build_config("aae", {"latent_dim": 2, "hidden": 256, "prior": "gaussian", "prior_std": 1.0})
    prior = create_model("aae", config, seed=0).sample_latent(1000, generator=torch.Generator().manual_seed(1))
    scores = {}
    for regularization in ("untrained", "joint", "shared"):
        model = create_model("aae", config, seed=0)
        if regularization != "untrained":
            Trainer(model, splits, catalog.train_config("aae", config, epochs=20, sample_every=0, precision="fp32",
                                                        regularization=regularization, validation_images=0,
                                                        progress_images=0)).fit()
        codes = model.encode(splits.test_x)
        scores[regularization] = (knn_accuracy(codes, splits.test_y), mmd(codes, prior))
    (untrained_knn, untrained_mmd), (joint_knn, joint_mmd), (shared_knn, shared_mmd) = scores.values()
    assert joint_knn > untrained_knn + 0.1 and joint_mmd < 0.5 * untrained_mmd, scores  # the run learnt
    assert abs(shared_knn - joint_knn) < 0.06 and shared_mmd < 1.5 * joint_mmd, scores


@pytest.mark.parametrize("kind", ["aae", "semi"])
def test_training_never_reads_the_test_split(kind, mnist_slice_dir, small_splits, monkeypatch):
    """The protocol: a real run (steps, per-epoch validation, latent progress, the final full validation, the
    model's own preparation) completes on splits loaded without test images, whose test_x raises; and given
    splits that hold them (the evaluation fixture's), the engine drops them and never reads them either."""
    from aae.core import catalog
    from aae.core.data import Splits, TestSplitWithheld, load_dataset

    config = catalog.build_config(kind, {"latent_dim": 2, "hidden": 32})
    withheld = load_dataset("mnist", data_dir=mnist_slice_dir, val_size=300, train_limit=400)
    with pytest.raises(TestSplitWithheld):
        withheld.test_x  # noqa: B018 (the access is the point)
    run = TrainConfig(epochs=2, batch_size=50, sample_every=0, validation_images=100, progress_images=200)
    result = Trainer(create_model(kind, config, seed=0), withheld, run).fit()
    assert result.status == "done" and {"val_recon", "val_knn", "val_full_recon"} <= set(result.history[-1])

    check = Splits._check

    def guarded(self, split, which):
        if split == "test":
            raise AssertionError(f"training read {which}")
        return check(self, split, which)

    assert small_splits.has_test
    monkeypatch.setattr(Splits, "_check", guarded)  # every read of test images or labels now fails the test
    with pytest.raises(AssertionError, match="training read test_x"):
        small_splits.test_x  # noqa: B018 (the guard works)
    trainer = Trainer(create_model(kind, config, seed=0), small_splits, run)
    assert trainer.fit().status == "done" and not trainer.splits.has_test


def test_validation_is_a_fixed_subset_each_epoch_and_the_whole_split_after_the_last(small_splits):
    """Each epoch's val_ losses come from the first `validation_images` validation images (on the device, one pass
    per phase the engine steps); after the last epoch (or every `full_validation_every`) val_full_ ones from all."""
    from aae.core import catalog

    config = catalog.build_config("aae", {"latent_dim": 2, "hidden": 32})
    run = TrainConfig(epochs=3, batch_size=50, sample_every=0, validation_images=60, progress_images=100,
                      precision="fp32")
    trainer = Trainer(create_model("aae", config, seed=0), small_splits, run)
    history = trainer.fit().history
    assert all("val_recon" in row and "val_knn" in row and "val_mmd" in row for row in history)
    assert [any(k.startswith("val_full_") for k in row) for row in history] == [False, False, True]
    model, val_x, val_y = trainer.model.eval(), trainer.splits.val_x, trainer.splits.val_y
    with torch.no_grad():
        subset = float(model.phase_loss("reconstruction", val_x[:60], val_y[:60]).logs["recon"])
        whole = float(model.phase_loss("reconstruction", val_x, val_y).logs["recon"])
    assert history[-1]["val_recon"] == pytest.approx(subset, rel=1e-5)
    assert history[-1]["val_full_recon"] == pytest.approx(whole, rel=1e-5) and whole != pytest.approx(subset)
    assert {"val_gen", "val_disc"} <= set(history[-1])  # the shared pass's partner (D) is validated too

    every = Trainer(create_model("aae", config, seed=0), small_splits, replace(run, full_validation_every=1)).fit()
    assert all("val_full_recon" in row for row in every.history)
    whole_each_epoch = Trainer(create_model("aae", config, seed=0), small_splits,
                               replace(run, epochs=1, validation_images=None)).fit()
    assert not any(k.startswith("val_full_") for k in whole_each_epoch.history[0])  # it was the whole split
    off = Trainer(create_model("aae", config, seed=0), small_splits,
                  replace(run, epochs=1, validation_images=0, progress_images=0)).fit()
    assert not any(k.startswith("val_") for k in off.history[0])


def test_validation_runs_in_the_precision_of_the_steps(small_splits):
    """A bf16 run's validation passes run under bf16 autocast like its steps (3× faster on a CPU with native bf16),
    summed in fp32: close to the fp32 pass of the same model, but not computed by it."""
    from aae.core import catalog

    config = catalog.build_config("aae", {"latent_dim": 2, "hidden": 64})
    run = TrainConfig(epochs=1, batch_size=50, sample_every=0, validation_images=None, progress_images=0)
    losses = {}
    for precision in ("fp32", "bf16"):
        trainer = Trainer(create_model("aae", config, seed=0), small_splits, replace(run, precision=precision))
        losses[precision] = trainer.validate(images=None)["val_recon"]
        assert trainer.precision == precision
    assert losses["bf16"] == pytest.approx(losses["fp32"], rel=2e-2)
    assert losses["bf16"] != losses["fp32"]  # bf16 products round differently: the pass did run in bf16


@pytest.mark.parametrize("n, dim, folds, k", [(2000, 8, 2, 5), (301, 2, 3, 5), (777, 4, 5, 7)])
def test_progress_knn_accuracy_is_scikit_learns(n, dim, folds, k):
    """The trainer's kNN accuracy (torch, on the device) is scikit-learn's KFold + KNeighborsClassifier figure."""
    import numpy as np
    from sklearn.model_selection import KFold, cross_val_score
    from sklearn.neighbors import KNeighborsClassifier

    from aae.core.metrics import knn_accuracy

    gen = torch.Generator().manual_seed(n)
    labels = torch.randint(0, 10, (n,), generator=gen)
    codes = torch.randn(n, dim, generator=gen, dtype=torch.float64) + 0.4 * labels[:, None]
    expected = float(np.mean(cross_val_score(KNeighborsClassifier(n_neighbors=k), codes.numpy(), labels.numpy(),
                                             cv=KFold(n_splits=folds, shuffle=True, random_state=0))))
    assert 0.2 < expected < 0.95  # neither chance nor trivial: a wrong vote or fold would show
    assert knn_accuracy(codes, labels, n_folds=folds, k=k) == expected
    assert knn_accuracy(codes.float(), labels, n_folds=folds, k=k, device="cpu") == pytest.approx(expected, abs=2e-3)


def test_the_bf16_measurement_is_kept_per_machine_and_isa(monkeypatch, tmp_path):
    """Measured once and read back from $XDG_CACHE_HOME (a fresh process skips the 1–15 s timing); an AVX2-capped
    oneDNN (ONEDNN_MAX_CPU_ISA=AVX2, emulating an older CPU) is another machine: measured apart, and never native."""
    from aae.core import device as devices
    from aae.core import training  # noqa: F401

    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    monkeypatch.delenv("ONEDNN_MAX_CPU_ISA", raising=False)
    timings = []
    monkeypatch.setattr(devices, "_time_bf16_speedup", lambda device: timings.append(device) or 1.7)
    cpu = torch.device("cpu")
    assert devices._bf16_speedup(cpu) == 1.7 and devices._bf16_speedup(cpu) == 1.7
    assert len(timings) == 1 and (tmp_path / "latent-lab" / "bf16_speedup.json").exists()
    monkeypatch.setenv("ONEDNN_MAX_CPU_ISA", "AVX2")
    assert devices._bf16_speedup(cpu) == 1.7 and len(timings) == 2  # another key
    assert devices.cpu_has_native_bf16() is False
