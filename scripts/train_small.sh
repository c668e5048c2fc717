#!/usr/bin/env bash
# Trains configs/small_cpu.yaml on the real-music manifest (scripts/get_real_music.sh) for at most one hour of
# wall time on the CPU, then measures it with benchmarks/quality.py against the degraded input and the classical
# baselines, on the validation tracks and then on the held-out test tracks. Rerunning resumes the training from
# runs/small_cpu's last.ckpt (the hour is counted across runs) and the benchmarks from what their folders hold.
# Extra arguments go to `main.py fit` (e.g. --trainer.max_time 00:00:10:00 for a short trial).
set -euo pipefail
cd "$(dirname "$0")/.."
MANIFEST=data/real_music_wav/real_music_manifest.csv
[ -f "$MANIFEST" ] || bash scripts/get_real_music.sh
RESUME=()
[ -f runs/small_cpu/checkpoints/last.ckpt ] && RESUME=(--ckpt_path runs/small_cpu/checkpoints/last.ckpt)
python3 main.py fit --config configs/small_cpu.yaml "${RESUME[@]}" "$@"
MODEL=small_cpu=configs/small_cpu.yaml:runs/small_cpu/checkpoints/last.ckpt
# The number of time points is chosen on the validation split (3 beat 5 there); the test split shows both.
python3 benchmarks/quality.py --manifest "$MANIFEST" --out quality_run/valid_sweep --split valid --model "$MODEL" \
    --tasks inpaint,bwe4000,bwe8000 --steps 3,5 --gains 1 --excerpts-per-file 2 --excerpt-seconds 10
python3 benchmarks/quality.py --manifest "$MANIFEST" --out quality_run/small_cpu_1h_x4 --model "$MODEL" \
    --tasks inpaint,bwe4000,bwe8000 --steps 3,5 --gains 1 --excerpts-per-file 4 --excerpt-seconds 10
