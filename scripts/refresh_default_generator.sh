#!/usr/bin/env bash
# Ship a new default generator and regenerate everything measured on it.
#
#   bash scripts/refresh_default_generator.sh [runs/default/checkpoint.pt]
#
# Exports the checkpoint's EMA generator to data/, retrains the generator-specific metric net and
# encoder (they refuse other generator ids), rewrites docs/generator-report.md and the README grid,
# and runs the directions and inversion benchmarks into runs/refresh/*.md for pasting into
# docs/directions.md and docs/inversion.md. About 17 minutes on 2 CPU cores; pause training first.
set -euo pipefail
cd "$(dirname "$0")/.."
CKPT=${1:-runs/default/checkpoint.pt}
LL=.venv/bin/latentlab
PY=.venv/bin/python
OUT=runs/refresh
mkdir -p "$OUT"

$LL export-generator --checkpoint "$CKPT" --out data/default_generator.safetensors
$LL train-metric --threads 2 --out data/metric_default.safetensors
$LL train-encoder --threads 2 --out data/encoder_default.safetensors
$LL generator-report --n 2000 --out docs/generator-report.md | tee "$OUT/report.txt"
$LL sample --n 64 --seed 0 --truncation 0.7 --cols 16 --out docs/generator-samples.png
rm -f docs/generator-samples.npz
$PY bench/bench_directions.py | tee "$OUT/directions.md"
$PY bench/bench_inversion.py | tee "$OUT/inversion.md"
echo "now paste $OUT/directions.md and $OUT/inversion.md into docs/ and update the status in README.md"
