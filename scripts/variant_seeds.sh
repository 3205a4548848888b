#!/usr/bin/env bash
# Train the paper's AAE variants over several seeds and measure each run with `aae eval`.
# Usage: bash scripts/variant_seeds.sh [DATA_DIR] [DEVICE]   (defaults: ../shared/data, auto)
# Runs go to runs/variants/NAME-sSEED (full precision, resumable); metrics to runs/variants/NAME-sSEED.json.
# `python scripts/summarise_seeds.py runs/variants` prints mean ± std per variant.
# SEEDS="0 1 2" and ONLY="semi-100 cluster-16" pick what runs; a finished run is only re-measured.
set -euo pipefail
cd "$(dirname "$0")/.."
DATA="${1:-${AAE_DATA_DIR:-../shared/data}}"
DEVICE="${2:-auto}"
AAE="${AAE_BIN:-.venv/bin/aae}"
SEEDS="${SEEDS:-0 1 2}"
ONLY="${ONLY:-}"
OUT="${OUT:-runs/variants}"
mkdir -p "$OUT"

run() {  # name, epochs, then `aae train` arguments
  local name="$1" epochs="$2"; shift 2
  if [ -n "$ONLY" ] && [[ " $ONLY " != *" $name "* ]]; then return; fi
  for seed in $SEEDS; do
    local dir="$OUT/$name-s$seed"
    if [ ! -f "$dir/card.json" ]; then
      echo "=== $name seed $seed: aae train $* --epochs $epochs"
      start=$(date +%s)
      "$AAE" train "$@" --epochs "$epochs" --seed "$seed" --data-dir "$DATA" --device "$DEVICE" --quiet --out "$dir"
      echo "=== $name seed $seed took $(( $(date +%s) - start )) s"
    fi
    "$AAE" eval "$dir" --data-dir "$DATA" --no-parzen --samples 2000 --json > "$dir.json"
  done
}

run supervised   30 --model supervised --hidden 500 --latent-dim 2
run denoise      30 --model aae --latent-dim 8 --hidden 500 --prior-std 1 --corruption gaussian --corruption-level 0.5
run semi-100     50 --model semi --labels-per-class 10 --latent-dim 4 --precision bf16
run cluster-16   50 --model cluster --clusters 16 --latent-dim 2 --balance 5 --precision bf16
run cluster-30 50 --model cluster --clusters 30 --latent-dim 2 --balance 5 --precision bf16
SEEDS=0 run cluster-16-paper 50 --model cluster --clusters 16 --latent-dim 2 --balance 0 --precision bf16
SEEDS=0 run semi-1000 50 --model semi --labels-per-class 100 --latent-dim 4 --precision bf16
SEEDS=0 run semi-all  50 --model semi --labels-per-class all --latent-dim 4 --precision bf16
run dimred-1000  30 --model dimred --labels-per-class 100 --hidden 500 --precision bf16
