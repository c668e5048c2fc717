#!/usr/bin/env bash
# Trains configs/small.yaml (the recipe of the shipped small model) on the real-music manifest
# (scripts/get_real_music.sh) on the CPU, then measures it with benchmarks/quality.py against the degraded input
# and the classical baselines on the held-out test tracks. Rerunning resumes the training from runs/small's
# last.ckpt (the config's max_time is counted across runs) and the benchmark from what its folder holds.
# Extra arguments go to `main.py fit` (e.g. --trainer.max_time 00:00:10:00 for a short trial).
set -euo pipefail
cd "$(dirname "$0")/.."
MANIFEST=data/real_music_wav/real_music_manifest.csv
[ -f "$MANIFEST" ] || bash scripts/get_real_music.sh
RESUME=()
[ -f runs/small/checkpoints/last.ckpt ] && RESUME=(--ckpt_path runs/small/checkpoints/last.ckpt)
python3 main.py fit --config configs/small.yaml "${RESUME[@]}" "$@"
python3 benchmarks/quality.py --manifest "$MANIFEST" --out quality_run/small \
    --model mine=configs/small_sampling.yaml:runs/small/checkpoints/last.ckpt \
    --tasks inpaint,bwe4000,bwe8000 --steps 5 --gains 1 --excerpts-per-file 2 --excerpt-seconds 10
