#!/usr/bin/env bash
# Retrain every model shipped in checkpoints/ with the project's own CLI, reproducibly (fixed seeds).
# Usage: bash scripts/train_shipped.sh [DATA_DIR] [DEVICE]     (defaults: ../shared/data, auto)
# Shipped weights are float16 and inference-only (--half) to keep checkpoints/ under 30 MB.
# On the shared data the MNIST training split has 10,000 images (9,000 after the validation hold-out).
set -euo pipefail
cd "$(dirname "$0")/.."
DATA="${1:-${AAE_DATA_DIR:-../shared/data}}"
DEVICE="${2:-auto}"
AAE="${AAE_BIN:-.venv/bin/aae}"
ONLY="${ONLY:-}"   # e.g. ONLY="aae-2d-mog10 gan" retrains just those (two ONLY lists can run side by side)
common=(--data-dir "$DATA" --device "$DEVICE" --seed 0 --half --quiet)

run() {  # name, then `aae train` arguments
  local name="$1"; shift
  if [ -n "$ONLY" ] && [[ " $ONLY " != *" $name "* ]]; then return; fi
  echo "=== $name: aae train $*"
  start=$(date +%s)
  "$AAE" train "$@" "${common[@]}" --out "checkpoints/$name"
  echo "=== $name took $(( $(date +%s) - start )) s"
}

run aae-2d-gaussian  --model aae --latent-dim 2 --hidden 400 --prior gaussian --prior-std 1 --epochs 60
run aae-2d-mog10     --model aae --latent-dim 2 --hidden 400 --prior mog10 --label-regularized --epochs 40
run aae-2d-swissroll --model aae --latent-dim 2 --hidden 400 --prior swissroll --label-regularized --epochs 40
run vae-2d           --model vae --latent-dim 2 --hidden 400 --epochs 40
run aae-8d           --model aae --latent-dim 8 --hidden 1000 --prior gaussian --prior-std 5 --epochs 40
run vae-8d           --model vae --latent-dim 8 --hidden 1000 --prior-std 5 --epochs 40
run gan              --model gan --epochs 100 --batch-size 64
run dcgan            --model gan --generator conv --epochs 40 --batch-size 64
run classifier       --model classifier --epochs 8 --lr 1e-3
