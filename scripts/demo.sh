#!/usr/bin/env bash
# The main job on built-in demo material: installs, writes music-like demo audio with a manifest, trains the
# tiny configuration on CPU (a few minutes), saves checkpoints and validation spectrograms, then restores the
# demo test files (bandwidth extension from 4 kHz, inpainting) with the classical baselines and the trained
# checkpoint, and scores them side by side.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install.sh
if [ -d demo_run/tiny ] || [ -d demo_run/quality ]; then
    echo "starting the demo afresh: removing the previous demo run's demo_run/tiny and demo_run/quality"
    rm -rf demo_run/tiny demo_run/quality
fi
python3 scripts/make_demo_data.py --out demo_run/data
python3 main.py fit --config configs/tiny_cpu.yaml
# Restore the held-out demo files three ways (degraded input, classical baseline, the model just trained) and
# score them: tables, spectrogram PNGs, and original / degraded / restored WAVs side by side.
python3 benchmarks/quality.py --manifest demo_run/data/demo_manifest.csv \
    --model tiny=configs/tiny_cpu.yaml:demo_run/tiny/checkpoints/last.ckpt --tasks bwe4000,inpaint \
    --steps 5 --gains 1 --excerpt-seconds 5 --out demo_run/quality
cat demo_run/quality/results.md
echo "checkpoints:          demo_run/tiny/checkpoints/"
echo "results table:        demo_run/quality/results.md (spectrograms: demo_run/quality/*.png)"
echo "listen:               demo_run/quality/runs/<method>/gain=1/<task>/<file>/{original,degraded,recon}.wav"
echo "validation pictures:  demo_run/tiny/validation_pictures/"
echo "TensorBoard:          tensorboard --logdir demo_run/tiny"
