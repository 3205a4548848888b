"""Our AAE against pythae's `Adversarial_AE`: wall time per epoch, same networks, data and batch, in one run.

Ours: `aae.core.training.Trainer` with `aae train`'s defaults for the AAE (2 × 1000 ReLU, 8-D codes, N(0, 5²I), the
encoder's adversarial loss joined to its reconstruction step, Adam, batch 100; the per-epoch validation pass
switched off on both sides). pythae (https://github.com/clementchadebec/benchmark_VAE, installed with
`pip install -e ".[bench]"`; never a runtime dependency): `Adversarial_AE` with the same encoder, decoder and
discriminator (784-1000-1000-8, 8-1000-1000-784, 8-1000-1000-1; its encoder also outputs a log-variance, which it
ignores with a deterministic posterior), its `AdversarialTrainer`, Adam, batch 100, BCE. Both on the same MNIST
images from ../shared/data, on the CPU, one after the other in this process.

    python bench/peers.py [--train-limit 20000] [--epochs 3] [--threads N] [--data-dir DIR]

Prints each one's seconds per epoch (training only: what each reports between its first and last step) and the
ratio pythae / ours. Target: ≥ 1.5, aiming at 2.5. Then the floor: the time this machine's torch.mm
needs for the matrix products of our step alone (`step_products`), so the ratio any fp32 implementation of these
networks could reach here is pythae's time over that floor.

    python bench/peers.py --whole [--repeats 3] [--avx2] [--train-limit 20000] [--epochs 3]

Whole commands instead, each a process of its own, timed from launch to exit, interleaved (ours, pythae, ours, …):
ours is `python -m aae train --model aae --latent-dim 8 --hidden 1000 --prior-std 5` as a user runs it (start-up,
data, its per-epoch validation on 2,000 images with kNN and MMD², the full validation after the last epoch, the
checkpoint written); pythae's is its README's route (MNIST through torchvision, /255, Adversarial_AE with the same
networks, AdversarialTrainer, no eval set, its final model written). Prints min / median / max of each and the
ratio of the medians (goal ≥ 2.5). --avx2 runs both under AVX2 emulation (ATEN_CPU_CAPABILITY=avx2
ONEDNN_MAX_CPU_ISA=AVX2 MKL_ENABLE_INSTRUCTIONS=AVX2).
"""

from __future__ import annotations

import argparse
import logging
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import torch
from torch import nn

from aae.core import catalog
from aae.core.data import load_dataset, resolve_data_dir
from aae.core.device import cpu_has_native_bf16, describe_device, pick_device
from aae.core.training import Trainer, create_model


def ours(splits, epochs: int, batch_size: int, regularization: str | None = None) -> tuple[float, str, str]:
    """(seconds per epoch, precision, regularisation) of `aae train --model aae`'s defaults."""
    config = catalog.build_config("aae", {})
    train_config = catalog.train_config("aae", config, epochs=epochs, batch_size=batch_size, device="cpu",
                                        validation_images=0, progress_images=0, sample_every=0,
                                        regularization=regularization)
    trainer = Trainer(create_model("aae", config, seed=0), splits, train_config)
    started = time.perf_counter()
    result = trainer.fit()
    return (time.perf_counter() - started) / result.epochs_done, result.precision, train_config.regularization


def pythae_epoch(splits, epochs: int, batch_size: int, hidden: int = 1000, latent: int = 8,
                 output_dir: str | None = None) -> float:
    from pythae.data.datasets import BaseDataset
    from pythae.models import Adversarial_AE, Adversarial_AE_Config
    from pythae.models.base.base_utils import ModelOutput
    from pythae.models.nn import BaseDecoder, BaseDiscriminator, BaseEncoder
    from pythae.trainers import AdversarialTrainer, AdversarialTrainerConfig
    from pythae.trainers.training_callbacks import TrainingCallback

    def mlp(sizes: list[int]) -> nn.Sequential:
        layers: list[nn.Module] = []
        for i, (a, b) in enumerate(zip(sizes, sizes[1:])):
            layers.append(nn.Linear(a, b))
            if i < len(sizes) - 2:
                layers.append(nn.ReLU())
        return nn.Sequential(*layers)

    class Encoder(BaseEncoder):
        def __init__(self) -> None:
            super().__init__()
            self.net = mlp([784, hidden, hidden, 2 * latent])

        def forward(self, x):
            mu, log_var = self.net(x.reshape(len(x), -1)).chunk(2, dim=1)
            return ModelOutput(embedding=mu, log_covariance=log_var)

    class Decoder(BaseDecoder):
        def __init__(self) -> None:
            super().__init__()
            self.net = mlp([latent, hidden, hidden, 784])

        def forward(self, z):
            return ModelOutput(reconstruction=torch.sigmoid(self.net(z)).reshape(len(z), 1, 28, 28))

    class Discriminator(BaseDiscriminator):
        def __init__(self) -> None:
            super().__init__()
            self.net = mlp([latent, hidden, hidden, 1])

        def forward(self, z):
            return ModelOutput(embedding=torch.sigmoid(self.net(z)))

    class EpochClock(TrainingCallback):
        """Wall time of training epochs only: from the start of the first to the end of the last."""

        def __init__(self) -> None:
            self.started, self.ended, self.epochs = None, None, 0

        def on_epoch_begin(self, training_config, **kwargs):
            if self.started is None:
                self.started = time.perf_counter()

        def on_epoch_end(self, training_config, **kwargs):
            self.ended, self.epochs = time.perf_counter(), self.epochs + 1

    logging.getLogger("pythae").setLevel(logging.WARNING)
    model = Adversarial_AE(Adversarial_AE_Config(input_dim=(1, 28, 28), latent_dim=latent, reconstruction_loss="bce",
                                                 deterministic_posterior=True),
                           encoder=Encoder(), decoder=Decoder(), discriminator=Discriminator())
    clock = EpochClock()
    with tempfile.TemporaryDirectory() as scratch:
        out = output_dir or scratch
        config = AdversarialTrainerConfig(output_dir=out, num_epochs=epochs, per_device_train_batch_size=batch_size,
                                          per_device_eval_batch_size=batch_size, learning_rate=1e-3, no_cuda=True,
                                          steps_saving=None)
        trainer = AdversarialTrainer(model=model, train_dataset=BaseDataset(splits.train_x, splits.train_y),
                                     eval_dataset=None,
                                     training_config=config, callbacks=[clock])
        trainer.train()
    return (clock.ended - clock.started) / clock.epochs


def step_products(batch: int, hidden: int = 1000, latent: int = 8,
                  regularization: str = "shared") -> list[tuple[int, int, int]]:
    """The matrix products (m, k, n) of one training step of our AAE, as the engine runs it. Shared (`aae
    train`'s default): the encoder and decoder forward and backward; D once forward over both halves (prior
    samples and codes) and once back to its weights, the same descent carrying the generator loss's gradient
    (aae.core.models.adversary), which then needs only D's first layer to reach the codes. Joint: the joint step
    (D forward and backward to its input with its weights frozen), then D's step (the encoder forward again
    without gradients, D over both halves at once, forward and backward). A Linear (a → b) over r rows is
    r·a·b forward, r·b·a for its input's gradient (not on the first layer of a network whose input needs none)
    and a·r·b for its weights' gradient."""
    encoder, decoder, disc = [784, hidden, hidden, latent], [latent, hidden, hidden, 784], [latent, hidden, hidden, 1]

    def layers(sizes, rows, *, weights: bool, inputs: bool, backward: bool = True):
        out = []
        for i, (a, b) in enumerate(zip(sizes, sizes[1:])):
            out.append((rows, a, b))
            if backward and weights:
                out.append((a, rows, b))
            if backward and (inputs or i > 0):
                out.append((rows, b, a))
        return out

    autoencoder = [*layers(encoder, batch, weights=True, inputs=False),
                   *layers(decoder, batch, weights=True, inputs=True)]
    if regularization == "shared":
        to_codes = (batch, disc[1], disc[0])  # the generator loss's last step, through D's first layer
        return [*autoencoder, *layers(disc, 2 * batch, weights=True, inputs=False), to_codes]
    return [*autoencoder, *layers(disc, batch, weights=False, inputs=True),
            *layers(encoder, batch, weights=False, inputs=False, backward=False),
            *layers(disc, 2 * batch, weights=True, inputs=False)]


def matmul_floor(batch: int, steps: int, regularization: str, repeats: int = 30) -> tuple[float, float]:
    """(seconds, multiply-adds per image) of the step's matrix products alone, `steps` times: the fastest this
    machine's torch.mm does them (best of `repeats`), nothing else — no activations, no Adam, no Python. No
    implementation of this step with these networks in fp32 can take less."""
    products = step_products(batch, regularization=regularization)
    pairs = [(torch.randn(m, k), torch.randn(k, n)) for m, k, n in products]
    for a, b in pairs:  # warm up
        a @ b
    best = float("inf")
    for _ in range(repeats):
        started = time.perf_counter()
        for a, b in pairs:
            torch.mm(a, b)
        best = min(best, time.perf_counter() - started)
    return best * steps, sum(m * k * n for m, k, n in products) / batch


AVX2 = {"ATEN_CPU_CAPABILITY": "avx2", "ONEDNN_MAX_CPU_ISA": "AVX2", "MKL_ENABLE_INSTRUCTIONS": "AVX2"}


def pythae_process(args: argparse.Namespace) -> None:
    """pythae's whole command, as its README trains on MNIST: torchvision's dataset, /255, then the trainer."""
    from torchvision import datasets

    from aae.core.data import Splits

    mnist = datasets.MNIST(root=str(resolve_data_dir(args.data_dir)), train=True, download=False, transform=None)
    train_x = mnist.data[:args.train_limit].reshape(-1, 1, 28, 28) / 255.0
    train_y = mnist.targets[:args.train_limit]
    splits = Splits("mnist", train_x, train_y, train_x[:0], train_y[:0])
    pythae_epoch(splits, args.epochs, args.batch_size, output_dir=args.out)


def machine() -> str:
    """CPU model, cores, native bf16 or not, and the load average now."""
    model = next((line.partition(":")[2].strip() for line in open("/proc/cpuinfo") if line.startswith("model name")),
                 "unknown CPU")
    native = "native bf16 (AVX-512 BF16 / AMX)" if cpu_has_native_bf16() else "no native bf16"
    load = " / ".join(f"{x:.2f}" for x in os.getloadavg())
    return f"{model}, {os.cpu_count()} logical cores, {native}; load average {load} (1 / 5 / 15 min)"


def whole(args: argparse.Namespace) -> None:
    """Both whole commands as processes, interleaved, `repeats` times each: min / median / max and the ratio."""
    env = {**os.environ, **(AVX2 if args.avx2 else {})}
    if args.data_dir:
        env["AAE_DATA_DIR"] = str(resolve_data_dir(args.data_dir))
    settings = ["--epochs", str(args.epochs), "--train-limit", str(args.train_limit), "--batch-size",
                str(args.batch_size)]
    with tempfile.TemporaryDirectory() as scratch:
        commands = {
            "ours": [sys.executable, "-m", "aae", "train", "--model", "aae", "--latent-dim", "8", "--hidden", "1000",
                     "--prior-std", "5", "--device", "cpu", "--quiet", *settings, "--out", f"{scratch}/ours"],
            "pythae": [sys.executable, str(Path(__file__).resolve()), "--pythae-process", *settings,
                       "--out", f"{scratch}/pythae"],
        }
        print(f"machine: {machine()}" + ("; the commands run with oneDNN capped at AVX2: no native bf16 for them"
                                         if args.avx2 else ""))
        emulation = " under AVX2 emulation (" + " ".join(f"{k}={v}" for k, v in AVX2.items()) + ")" if args.avx2 else ""
        print(f"whole commands{emulation}, {args.train_limit:,} MNIST images, {args.epochs} epochs, batch "
              f"{args.batch_size}, {args.repeats} runs each, interleaved:")
        for name, command in commands.items():
            print(f"  {name}: {' '.join(command[1:])}")
        times: dict[str, list[float]] = {name: [] for name in commands}
        for repeat in range(args.repeats):
            for name, command in commands.items():
                started = time.perf_counter()
                done = subprocess.run(command, env=env, capture_output=True, text=True)
                seconds = time.perf_counter() - started
                if done.returncode:
                    raise SystemExit(f"{name} failed ({done.returncode}):\n{done.stderr[-3000:]}")
                times[name].append(seconds)
                print(f"  run {repeat + 1} {name}: {seconds:.1f} s (load {os.getloadavg()[0]:.2f})", flush=True)
    for name, values in times.items():
        print(f"{name:>7}: min {min(values):.1f} s, median {statistics.median(values):.1f} s, max {max(values):.1f} s")
    ratio = statistics.median(times["pythae"]) / statistics.median(times["ours"])
    print(f"ratio of medians pythae / ours: {ratio:.2f}× (goal ≥ 2.5, at least 2.0)")
    print(f"machine after: {machine()}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--train-limit", type=int, default=20_000)
    parser.add_argument("--epochs", type=int, default=3)
    parser.add_argument("--batch-size", type=int, default=100)
    parser.add_argument("--threads", type=int, default=None, help="torch threads (default: torch's own choice)")
    parser.add_argument("--data-dir", default=None)
    parser.add_argument("--regularization", choices=["shared", "joint"], default=None,
                        help="ours with this regularisation (default: aae train's, shared)")
    parser.add_argument("--whole", action="store_true", help="time both whole commands as processes")
    parser.add_argument("--repeats", type=int, default=3, help="--whole: runs of each command")
    parser.add_argument("--avx2", action="store_true", help="--whole: both under AVX2 emulation")
    parser.add_argument("--pythae-process", action="store_true", help=argparse.SUPPRESS)  # --whole's pythae side
    parser.add_argument("--out", default=None, help=argparse.SUPPRESS)
    args = parser.parse_args()
    try:
        import pythae  # noqa: F401
    except ImportError:
        raise SystemExit('pythae is not installed: pip install -e ".[bench]"') from None
    if args.pythae_process:
        return pythae_process(args)
    if args.whole:
        return whole(args)
    if args.threads:
        torch.set_num_threads(args.threads)
    splits = load_dataset("mnist", data_dir=str(resolve_data_dir(args.data_dir)), train_limit=args.train_limit)
    print(f"{describe_device(pick_device('cpu'))}, torch {torch.__version__}: the AAE 2 × 1000, 8-D, batch "
          f"{args.batch_size}, {len(splits.train_y):,} MNIST images, {args.epochs} epochs each")
    theirs = pythae_epoch(splits, args.epochs, args.batch_size)
    mine, precision, regularization = ours(splits, args.epochs, args.batch_size, args.regularization)
    print(f"pythae Adversarial_AE: {theirs:.2f} s per epoch")
    native = "has native bf16" if cpu_has_native_bf16() else "no native bf16"
    said = "aae train's defaults" if args.regularization is None else f"--regularization {regularization}"
    print(f"ours ({said}): {mine:.2f} s per epoch, in {precision} (--precision auto; this CPU {native}), "
          f"{regularization} regularisation")
    print(f"ratio pythae / ours: {theirs / mine:.2f}× (target ≥ 1.5, aim 2.5)")
    steps = -(-len(splits.train_y) // args.batch_size)
    floor, macs = matmul_floor(args.batch_size, steps, regularization)
    print(f"the step's matrix products alone ({macs / 1e6:.1f} M multiply-adds per image, torch.mm at its best on "
          f"this machine): {floor:.2f} s per epoch — ours at {floor / mine:.0%} of that floor, pythae at "
          f"{floor / theirs:.0%}; with these products the ratio cannot pass {theirs / floor:.2f}×")


if __name__ == "__main__":
    main()
