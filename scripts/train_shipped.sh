#!/usr/bin/env bash
# Retrain every model shipped in checkpoints/ from its named recipe (`aae recipes` lists them), reproducibly.
# Usage: bash scripts/train_shipped.sh [DATA_DIR] [DEVICE]     (defaults: ../shared/data, auto)
# Each recipe trains in the precision it pins into runs/shipped/NAME (resumable, optimiser state kept out of the repo),
# then is exported to checkpoints/NAME as the recipe says (float16, or int8 with per-row scales, to keep
# checkpoints/ under 40 MB), and measured with `aae eval --write` so its card holds its figures.
# ONLY="aae-2d-gaussian vae-2d" retrains just those. A finished run is only re-exported and re-measured.
set -euo pipefail
cd "$(dirname "$0")/.."
DATA="${1:-${AAE_DATA_DIR:-../shared/data}}"
DEVICE="${2:-auto}"
AAE="${AAE_BIN:-.venv/bin/aae}"
ONLY="${ONLY:-}"
RUNS="${RUNS:-runs/shipped}"
mkdir -p "$RUNS"

for name in $("$AAE" recipes --shipped --names); do
  if [ -n "$ONLY" ] && [[ " $ONLY " != *" $name "* ]]; then continue; fi
  if [ ! -f "$RUNS/$name/card.json" ]; then
    echo "=== $name: aae train --recipe $name"
    start=$(date +%s)
    "$AAE" train --recipe "$name" --data-dir "$DATA" --device "$DEVICE" --quiet --out "$RUNS/$name"
    echo "=== $name took $(( $(date +%s) - start )) s"
  fi
  ship=$("$AAE" recipes --ship "$name")
  "$AAE" export "$RUNS/$name" "--$ship" --out "checkpoints/$name"
done
# Measure after export, with the shipped classifier (itself a recipe, exported above).
for name in $("$AAE" recipes --shipped --names); do
  if [ -n "$ONLY" ] && [[ " $ONLY " != *" $name "* ]]; then continue; fi
  "$AAE" eval "checkpoints/$name" --data-dir "$DATA" --write > /dev/null
done
echo "checkpoints/: $(du -sh checkpoints | cut -f1)"
