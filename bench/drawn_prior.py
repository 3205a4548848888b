"""How long until a 2-D AAE's codes match a drawn prior: the Draw a prior page's default run, timed.

Usage: python bench/drawn_prior.py [--shape ring] [--target 0.2] [--epochs 10] [--images 10000] [--hidden 256]
                                  [--gif PATH] [--mp4 PATH] [--every N]
Trains in a TrainingJob (the page's own path, frames about 6 an epoch) on the first IMAGES training images of
MNIST and prints each frame's MMD² of 500 test codes to the prior, then the seconds until it first fell
under TARGET. Reads the data from $AAE_DATA_DIR (default ../shared/data). --gif / --mp4 write the run as the
page exports it (the codes over the prior, the decoded manifold beside them).
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))


def main(argv: list[str] | None = None) -> int:
    from aae.app.jobs import TrainingJob
    from aae.core import catalog
    from aae.core.prior_images import EXAMPLE_SHAPES, example_drawing, image_prior_config

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--shape", choices=EXAMPLE_SHAPES, default="ring")
    parser.add_argument("--target", type=float, default=0.2, help="MMD² counted as matching (default 0.2)")
    parser.add_argument("--epochs", type=int, default=10)
    parser.add_argument("--images", type=int, default=10_000)
    parser.add_argument("--hidden", type=int, default=256)
    parser.add_argument("--gif", type=Path, help="write the run's frames here as the page's GIF export")
    parser.add_argument("--mp4", type=Path, help="… and/or as its MP4 export")
    parser.add_argument("--every", type=int, default=1, help="export every N-th frame (and the last)")
    args = parser.parse_args(argv)
    prior = image_prior_config(example_drawing(args.shape))
    config = catalog.build_config("aae", {"latent_dim": 2, "hidden": args.hidden, "prior": prior})
    train = catalog.train_config("aae", config, epochs=args.epochs, device="auto", log_every=0, sample_every=0)
    with tempfile.TemporaryDirectory() as out:
        job = TrainingJob(kind="aae", model_config=config, train_config=train, out=Path(out) / "run",
                          data_dir=os.environ.get("AAE_DATA_DIR", ROOT.parent / "shared" / "data"),
                          train_limit=args.images, latent_frames=6)
        started = time.perf_counter()
        job.start()
        seen, reached = 0, None
        while not job.snapshot().finished:
            time.sleep(0.05)
            frames = job.snapshot().frames
            for frame in frames[seen:]:
                print(f"epoch {frame.epoch:5.2f}  MMD² {frame.distance:.3f}")
                if reached is None and frame.distance < args.target:
                    reached = time.perf_counter() - started
            seen = len(frames)
        snap = job.snapshot()
    if args.gif or args.mp4:
        from aae.app.explore import frames_gif, frames_mp4
        from aae.core.priors import make_prior

        _, _, density = make_prior(prior, 2).density_grid(extent=snap.frames[0].extent, resolution=100)
        shown = snap.frames[::args.every] + ([snap.frames[-1]] if (len(snap.frames) - 1) % args.every else [])
        if args.gif:
            args.gif.write_bytes(frames_gif(shown, density, milliseconds=200 * args.every))
        if args.mp4:
            args.mp4.write_bytes(frames_mp4(shown, density, frames_per_second=5 / args.every))
    print(f"{args.shape}, {args.images:,} images, 2 × {args.hidden} units: {snap.status} after {snap.elapsed:.1f} s of "
          f"training; final MMD² {snap.frames[-1].distance:.3f}")
    print(f"time until MMD² < {args.target}: " + (f"{reached:.1f} s" if reached is not None else "not reached"))
    return 0 if snap.status == "done" else 1


if __name__ == "__main__":
    sys.exit(main())
