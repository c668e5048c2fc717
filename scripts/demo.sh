#!/usr/bin/env bash
# The main job on built-in demo material: installs, writes music-like demo audio with a manifest, trains the
# tiny configuration on CPU (a few minutes), saves checkpoints and validation spectrograms, then restores the
# demo test files (bandwidth extension from 4 kHz) with the trained checkpoint and scores them.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install.sh
if [ -d demo_run/tiny ] || [ -d demo_run/exp ]; then
    echo "starting the demo afresh: removing the previous demo run's demo_run/tiny and demo_run/exp"
    rm -rf demo_run/tiny demo_run/exp
fi
python3 scripts/make_demo_data.py --out demo_run/data
python3 main.py fit --config configs/tiny_cpu.yaml
python3 inference/A2SB_upsample_dataset.py -dn demo -exp tiny -cf 4000 --manifest-dir demo_run/data \
    --out-root demo_run/exp --config configs/tiny_cpu.yaml --ckpt demo_run/tiny/checkpoints/last.ckpt -n 5
python3 inference/evaluate.py demo_run/exp/tiny
echo "checkpoints:          demo_run/tiny/checkpoints/"
echo "restorations, scores: demo_run/exp/tiny/"
echo "validation pictures:  demo_run/tiny/validation_pictures/"
echo "TensorBoard:          tensorboard --logdir demo_run/tiny"
