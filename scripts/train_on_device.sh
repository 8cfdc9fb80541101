#!/usr/bin/env bash
# One prepared training run for a lent GPU machine (the same recipe runs on the CPU here): resume the
# best generator branch (emphasised + path-length regulariser, settled: docs/training.md) from its
# committed checkpoint, train for at most $MINUTES minutes (a checkpoint every 2), and leave the
# checkpoint in $OUT in parts of 15 MiB
# (the device tool brings back files of at most 16 MiB).
#
#   device tool:  run(command="bash scripts/train_on_device.sh", timeout_s=600)   # its python3 holds torch
#   here (CPU):   DEVICE=cpu MINUTES=1 OUT=runs/device-test bash scripts/train_on_device.sh
#   afterwards:   cat <files_at>/ckpt.part.* > runs/emphpl/checkpoint.pt   (then train-generator --out runs/emphpl resumes)
#
# Untested on a GPU so far (no task had one lent): the renderer draws the training faces on one CPU
# core (about 900 images/s), which bounds a GPU run at roughly that speed.
set -euo pipefail
cd "$(dirname "$0")/.."
MINUTES=${MINUTES:-8}
DEVICE=${DEVICE:-cuda}
OUT=${OUT:-runs/device}
CKPT=${CKPT:-checkpoints/emphpl/checkpoint.pt}  # or checkpoints/map8/ (8 mapping layers), checkpoints/pl/
PY=${PY:-python3}
if [ "$DEVICE" = cpu ] && [ -x .venv/bin/python ]; then PY=.venv/bin/python; fi

mkdir -p "$OUT/run"
PYTHONPATH=. PYTHONUNBUFFERED=1 "$PY" -m latentlab.cli train-generator --out "$OUT/run" --kimg 100000 \
    --device "$DEVICE" --bf16 --max-minutes "$MINUTES" --ckpt-minutes 2 --grid-minutes 4 --resume-from "$CKPT"
split -b 15m "$OUT/run/checkpoint.pt" "$OUT/ckpt.part."
cp "$OUT/run/log.txt" "$OUT/log.txt"
ls -t "$OUT"/run/grids/*.png | head -n 1 | xargs -I{} cp {} "$OUT/latest_grid.png"
echo "train_on_device: checkpoint in $(ls "$OUT"/ckpt.part.* | wc -l) parts under $OUT"
