"""Time until the GAN-vs-AAE duel's samples are recognisable digits, with the page's CPU defaults, on this device.

Runs the very `aae.app.jobs.DuelJob` the *GAN vs AAE* page starts, with that page's defaults on a CPU (the small
GAN with feature matching against an 8-D AAE of 2 × 256 units, 10,000 MNIST images, batch 100, seed 0) and a
frame every `--frame-every` steps. Each frame's samples are read by the shipped MNIST classifier; a grid counts
as *recognisable* once the page would show its class coverage (`aae.core.metrics.coverage_trust`: the Fréchet
distance of the classifier's features of the samples to real test digits' is low enough, and the classifier
is confident). Prints, for each model, the training time and step of its first
recognisable grid and the classes its samples covered then, and the same at the end of the run.

    python bench/duel_digits.py [--epochs 10] [--gan-recipe gan-small] [--frame-every 25] [--seeds 0] [--out DIR]
                                [--data-dir DIR]
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

from aae.app.jobs import DuelJob
from aae.core import catalog
from aae.core.checkpoints import classifier_path
from aae.core.device import describe_device, pick_device
from aae.core.metrics import DIGIT_FRECHET, TRUSTED_CONFIDENCE, coverage_trust
from aae.core.spec import resolve
from aae.core.training import TrainConfig
from aae.lab.recipes import get_recipe


def run(seed: int, args: argparse.Namespace) -> dict:
    recipe = {} if args.gan_recipe == "default" else get_recipe(args.gan_recipe).run
    gan_config = resolve({**recipe, "model": "gan", "latent_dim": 100}).model
    aae_config = catalog.build_config("aae", {"latent_dim": 8, "hidden": 256})
    train_config = TrainConfig(epochs=args.epochs, batch_size=100, seed=seed, device="auto",
                               log_every=max(1, args.frame_every // 10))
    job = DuelJob(gan_config=gan_config, aae_config=aae_config, train_config=train_config,
                  frame_every=args.frame_every, data_dir=args.data_dir, train_limit=args.train_limit,
                  classifier=classifier_path("mnist"))
    seen: dict[int, float] = {}  # step → training seconds when the frame was first seen
    started = time.perf_counter()
    job.start()
    while True:
        snap = job.snapshot()
        for frame in snap.frames:
            seen.setdefault(frame.step, snap.elapsed)
        if snap.finished:
            break
        time.sleep(0.05)
    wall = time.perf_counter() - started
    if snap.status != "done":
        raise SystemExit(f"the duel ended {snap.status}: {snap.error}")
    first: dict[str, tuple] = {}
    for frame in snap.frames:
        for model, coverage in (("GAN", frame.gan_coverage), ("AAE", frame.aae_coverage)):
            if model not in first and coverage and coverage_trust(coverage)[0]:
                first[model] = (seen[frame.step], frame.step, coverage["modes_covered"], coverage["frechet"])
    return {"first": first, "wall": wall, "elapsed": snap.elapsed, "steps": snap.step,
            "rate": snap.images_per_second, "frames": snap.frames, "seen": seen}


def save_grids(result: dict, prefix: Path) -> None:
    """Both models' grids at each one's first recognisable frame and at the end, as PNGs to look at."""
    from PIL import Image

    from aae.app.explore import image_grid

    prefix.parent.mkdir(parents=True, exist_ok=True)
    by_step = {f.step: f for f in result["frames"]}
    for model, attr in (("GAN", "gan_samples"), ("AAE", "aae_samples")):
        steps = [result["first"][model][1]] if model in result["first"] else []
        for step in [*steps, result["frames"][-1].step]:
            grid = image_grid(getattr(by_step[step], attr)[:100], nrow=10)
            Image.fromarray((grid * 255).round().astype("uint8")).resize((grid.shape[1] * 2, grid.shape[0] * 2),
                                                                         Image.NEAREST).save(f"{prefix}-{model}-{step}.png")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--epochs", type=int, default=10)
    parser.add_argument("--gan-recipe", default="gan-small", help="the recipe of the GAN's networks (default: "
                                                                 "gan-small; 'default' for the seeds' full-size GAN)")
    parser.add_argument("--train-limit", type=int, default=10_000)
    parser.add_argument("--frame-every", type=int, default=25)
    parser.add_argument("--seeds", type=int, nargs="+", default=[0])
    parser.add_argument("--print-every", type=int, default=100, help="a line of the trajectory every N steps")
    parser.add_argument("--out", default=None, help="a folder for PNG grids of the first recognisable frames")
    parser.add_argument("--data-dir", default=None)
    args = parser.parse_args()

    print(f"device: {describe_device(pick_device('auto'))}; the page's CPU defaults: small GAN (feature matching) vs "
          f"8-D AAE 2 × 256, {args.train_limit:,} images, {args.epochs} epochs, batch 100; a frame every "
          f"{args.frame_every} steps; recognisable = the page's rule for showing coverage "
          f"(aae.core.metrics.coverage_trust: classifier features within Fréchet {DIGIT_FRECHET:,.0f} of real "
          f"test digits', mean confidence ≥ {TRUSTED_CONFIDENCE})")
    for seed in args.seeds:
        result = run(seed, args)
        print(f"seed {seed}: {result['steps']} steps in {result['elapsed']:.1f} s of training "
              f"({result['wall']:.1f} s wall, {result['rate']:,.0f} images/s for the pair)")
        for model in ("GAN", "AAE"):
            if model in result["first"]:
                seconds, step, covered, frechet = result["first"][model]
                print(f"  {model}: first recognisable grid after {seconds:.1f} s (step {step}): Fréchet "
                      f"{frechet:,.0f}, {covered} of 10 classes")
            else:
                print(f"  {model}: never recognisable in this run")
        print("   step  seconds   GAN Fréchet / confidence / classes   AAE Fréchet / confidence / classes")
        for frame in result["frames"]:
            if frame.step % args.print_every == 0 or frame is result["frames"][-1]:
                row = [f"{c['frechet']:11,.0f} / {c['confidence']:10.2f} / {c['modes_covered']:7d}"
                       for c in (frame.gan_coverage, frame.aae_coverage)]
                print(f"  {frame.step:5d} {result['seen'][frame.step]:8.1f}   {row[0]}   {row[1]}")
        if args.out:
            save_grids(result, Path(args.out) / f"duel-seed{seed}")
        last = result["frames"][-1]
        print(f"  at the end (step {last.step}): GAN {last.gan_coverage['modes_covered']} classes at confidence "
              f"{last.gan_coverage['confidence']:.2f}; AAE {last.aae_coverage['modes_covered']} at "
              f"{last.aae_coverage['confidence']:.2f}")


if __name__ == "__main__":
    main()
