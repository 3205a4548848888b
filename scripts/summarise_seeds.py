"""Mean ± standard deviation over seeds of what `aae eval --json` measured for each run of scripts/variant_seeds.sh.

Usage: python scripts/summarise_seeds.py [RUNS_DIR]
Reads RUNS_DIR/NAME-sSEED.json (default runs/variants) and prints one line per variant and metric.
"""

from __future__ import annotations

import json
import re
import statistics
import sys
from collections import defaultdict
from pathlib import Path

METRICS = ["test_error", "cluster_error", "cluster_error_majority", "denoise_mse", "noisy_mse", "frechet",
           "modes_covered", "knn_accuracy", "mmd", "recon_bce"]


def summarise(folder: Path) -> dict[str, dict[str, list[float]]]:
    """{variant: {metric: [value per seed]}} from the JSON files in `folder`."""
    table: dict[str, dict[str, list[float]]] = defaultdict(lambda: defaultdict(list))
    for path in sorted(folder.glob("*-s*.json")):
        match = re.fullmatch(r"(.+)-s(\d+)\.json", path.name)
        if not match or path.stat().st_size == 0:
            continue
        row = next(iter(json.loads(path.read_text()).values()))
        for metric in METRICS:
            if isinstance(row.get(metric), (int, float)):
                table[match.group(1)][metric].append(float(row[metric]))
    return table


def main(argv: list[str]) -> int:
    args = argv
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
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
