"""Mean ± standard deviation over seeds of what `aae eval --json` measured for each run of scripts/variant_seeds.sh.

Usage: python scripts/summarise_seeds.py [RUNS_DIR] [--write]
Reads RUNS_DIR/NAME-sSEED.json (default runs/variants) and prints one line per variant and metric.
--write also stores them, per seed, in aae/seed_figures.json: the Home page's and README's "over seeds"
column (aae.paper.over_seeds); recipes with no runs in RUNS_DIR keep their stored figures. NAME is the recipe
the runs follow.
"""

from __future__ import annotations

import datetime
import json
import re
import statistics
import sys
from collections import defaultdict
from pathlib import Path

METRICS = ["test_error", "cluster_error", "cluster_error_majority", "denoise_mse", "noisy_mse", "parzen_ll",
           "frechet", "modes_covered", "knn_accuracy", "mmd", "recon_bce", "style_grid_accuracy"]
ROOT = Path(__file__).resolve().parents[1]


def by_seed(folder: Path) -> dict[str, dict[str, dict[int, float]]]:
    """{variant: {metric: {seed: value}}} from the JSON files in `folder`."""
    table: dict[str, dict[str, dict[int, float]]] = defaultdict(lambda: defaultdict(dict))
    for path in sorted(folder.glob("*-s*.json")):
        match = re.fullmatch(r"(.+)-s(\d+)\.json", path.name)
        if not match or path.stat().st_size == 0:
            continue
        row = next(iter(json.loads(path.read_text()).values()))
        for metric in METRICS:
            if isinstance(row.get(metric), (int, float)):
                table[match.group(1)][metric][int(match.group(2))] = float(row[metric])
    return table


def summarise(folder: Path) -> dict[str, dict[str, list[float]]]:
    """{variant: {metric: [value per seed]}} from the JSON files in `folder`."""
    return {variant: {metric: list(values.values()) for metric, values in metrics.items()}
            for variant, metrics in by_seed(folder).items()}


def write(folder: Path, out: Path = ROOT / "aae" / "seed_figures.json") -> None:
    """Store the folder's figures in `out`. A recipe measured in the folder replaces its entry; the others stay
    (runs/ is not committed, so a fresh checkout holds only the newest runs)."""
    kept = json.loads(out.read_text()).get("recipes", {}) if out.exists() else {}
    measured = {variant: {metric: {str(seed): value for seed, value in sorted(values.items())}
                          for metric, values in metrics.items()}
                for variant, metrics in by_seed(folder).items()}
    figures = {"measured": datetime.date.today().isoformat(),
               "how": "aae eval on the official 10,000 MNIST test images, one run per seed",
               "dataset": {"name": "mnist", "train_images": 50_000, "test_images": 10_000},
               "recipes": dict(sorted({**kept, **measured}.items()))}
    out.write_text(json.dumps(figures, indent=1) + "\n")
    print(f"wrote {out}")


def main(argv: list[str]) -> int:
    args = [a for a in argv if a != "--write"]
    folder = Path(args[0] if args else "runs/variants")
    table = summarise(folder)
    if not table:
        print(f"no NAME-sSEED.json files in {folder}", file=sys.stderr)
        return 1
    for variant, metrics in table.items():
        for metric, values in metrics.items():
            mean = statistics.fmean(values)
            std = statistics.stdev(values) if len(values) > 1 else float("nan")
            percent = "error" in metric
            shown = (f"{100 * mean:.2f} % ± {100 * std:.2f}" if percent else f"{mean:.4g} ± {std:.2g}")
            each = ", ".join(f"{100 * v:.2f}" if percent else f"{v:.4g}" for v in values)
            print(f"{variant:14s} {metric:24s} {shown:22s} over {len(values)} seeds ({each})")
    if "--write" in argv:
        write(folder)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
