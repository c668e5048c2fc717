#!/usr/bin/env bash
# The main job on built-in demo material: installs, writes music-like demo audio with a manifest, trains the
# tiny configuration on CPU (a few minutes) and saves checkpoints and validation spectrograms.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install.sh
python3 scripts/make_demo_data.py --out demo_run/data
python3 main.py fit --config configs/tiny_cpu.yaml
echo "checkpoints:          demo_run/tiny/checkpoints/"
echo "validation pictures:  demo_run/tiny/validation_pictures/"
echo "TensorBoard:          tensorboard --logdir demo_run/tiny"
