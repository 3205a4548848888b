"""Record one GAN-vs-AAE duel with the page's CPU defaults, so the page can replay it without training.

Runs aae.app.jobs.DuelJob to the end (the seeds' GAN with feature matching against an 8-D AAE of 2 × 256 units,
10,000 MNIST images, 10 epochs, batch 100: 1,000 steps), and writes its frames — both models' sample grids
from fixed noise, losses and class coverage — to docs/recorded/duel.npz with the settings and the measured
wall time in docs/recorded/duel.json. Frames, not models: about 1 MB.

    python scripts/record_duel.py [--data-dir ../shared/data] [--frame-every 50] [--out docs/recorded]
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import numpy as np

from aae.app.jobs import DuelJob
from aae.core import catalog
from aae.core.checkpoints import classifier_path
from aae.core.device import describe_device, pick_device
from aae.core.training import TrainConfig

ROOT = Path(__file__).resolve().parents[1]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data-dir", default=None)
    parser.add_argument("--frame-every", type=int, default=50)
    parser.add_argument("--epochs", type=int, default=10)
    parser.add_argument("--train-limit", type=int, default=10_000)
    parser.add_argument("--out", default=str(ROOT / "docs" / "recorded"))
    args = parser.parse_args()

    gan_config = catalog.build_config("gan", {"latent_dim": 100})  # the seeds' GAN: the small one never drew digits
    aae_config = catalog.build_config("aae", {"latent_dim": 8, "hidden": 256})
    train_config = TrainConfig(epochs=args.epochs, batch_size=100, seed=0, device="auto", log_every=10)
    job = DuelJob(gan_config=gan_config, aae_config=aae_config, train_config=train_config,
                  frame_every=args.frame_every, data_dir=args.data_dir, train_limit=args.train_limit,
                  classifier=classifier_path("mnist"))
    started = time.time()
    job.start()
    job.join()
    seconds = time.time() - started
    snap = job.snapshot()
    if snap.status != "done":
        raise SystemExit(f"the duel ended {snap.status}: {snap.error}")
    frames = snap.frames
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    to_uint8 = lambda images: (images.squeeze(1).clamp(0, 1) * 255).round().byte().numpy()  # noqa: E731
    np.savez_compressed(out / "duel.npz", step=np.array([f.step for f in frames]),
                        epoch=np.array([f.epoch for f in frames]),
                        gan=np.stack([to_uint8(f.gan_samples) for f in frames]),
                        aae=np.stack([to_uint8(f.aae_samples) for f in frames]))
    gan_text = (f"gan, the default (dense 256-512-1024, feature matching {gan_config.feature_matching:g}, "
                f"D {gan_config.disc_channels} channels, rate {catalog.training_defaults('gan')['lr']:g})")
    meta = {
        "settings": {"gan": gan_text, "aae": "8-D, 2 × 256",
                     "train_images": args.train_limit, "epochs": args.epochs, "batch_size": 100, "seed": 0,
                     "frame_every": args.frame_every},
        "device": describe_device(pick_device("auto")), "seconds": round(seconds, 1),
        "images_per_second": round(snap.images_per_second, 1),
        "losses": snap.losses,
        "coverage": [{"step": f.step, "gan": f.gan_coverage, "aae": f.aae_coverage} for f in frames],
    }
    (out / "duel.json").write_text(json.dumps(meta, indent=1))
    last = frames[-1]
    print(f"recorded {len(frames)} frames in {seconds:.0f} s ({snap.images_per_second:.0f} images/s); last frame: "
          f"GAN {last.gan_coverage['modes_covered']} classes at confidence {last.gan_coverage['confidence']:.2f}, "
          f"AAE {last.aae_coverage['modes_covered']} at {last.aae_coverage['confidence']:.2f}")


if __name__ == "__main__":
    main()
