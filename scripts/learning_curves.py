"""Learning curves of trained models as PNGs: each epoch's validation figures from the checkpoint cards.

Usage: python scripts/learning_curves.py CHECKPOINT [CHECKPOINT ...] --out docs/curves/NAME.png
Plots, against epoch, what each card's history holds: validation kNN accuracy of the codes and their MMD²
to the prior (every model with an encoder), the semi-supervised validation error, and the reconstruction
loss. Needs matplotlib (`pip install matplotlib`; not a runtime dependency of the app).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

PANELS = [("val_knn", "kNN accuracy of validation codes ↑"), ("val_mmd", "MMD² of codes to the prior ↓"),
          ("val_class_err", "validation error of y ↓"),
          ("val_cluster_err", "validation cluster error (majority naming) ↓"),
          ("val_recon", "validation reconstruction (nats) ↓")]


def main(argv: list[str] | None = None) -> int:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from aae.core.checkpoints import read_card

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("checkpoints", nargs="+")
    parser.add_argument("--out", required=True)
    parser.add_argument("--title", default=None)
    args = parser.parse_args(argv)
    cards = {Path(p).name: read_card(p) for p in args.checkpoints}
    panels = [(key, label) for key, label in PANELS
              if any(key in row for card in cards.values() for row in card.get("training", {}).get("history", []))]
    fig, axes = plt.subplots(1, len(panels), figsize=(4.2 * len(panels), 3.4), squeeze=False)
    for ax, (key, label) in zip(axes[0], panels):
        for name, card in cards.items():
            rows = [r for r in card.get("training", {}).get("history", []) if key in r]
            if rows:
                ax.plot([r["epoch"] for r in rows], [r[key] for r in rows], label=name, linewidth=1.6)
        ax.set_title(label, fontsize=10)
        ax.set_xlabel("epoch")
        ax.grid(alpha=0.3)
    axes[0][0].legend(fontsize=8)
    first = next(iter(cards.values()))
    images = first.get("dataset", {}).get("train_images")
    fig.suptitle(args.title or f"MNIST, {images:,} training images, validation on 2,000 of the 10,000 held out, "
                                "1 seed", fontsize=10)
    fig.tight_layout()
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(args.out, dpi=110)
    print(f"wrote {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
