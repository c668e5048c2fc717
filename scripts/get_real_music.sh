#!/usr/bin/env bash
# Real recorded music for development (never for CI, never committed): the Ogg soundtracks of Debian's
# hedgewars-data (26 tracks) and extremetuxracer-data (10 tracks), about 1 h 43 min, decoded once to float
# WAV in data/real_music_wav/ (fast seeks for training), with a manifest whose 4th column is each track's
# true sampling rate (the codec's band edge x 2), so apply_sr_loss_mask works on this lossy material.
set -euo pipefail
cd "$(dirname "$0")/.."
OUT=data/real_music_wav
if ! dpkg -s hedgewars-data extremetuxracer-data > /dev/null 2>&1; then
    apt-get update -qq
    apt-get install -y -qq hedgewars-data extremetuxracer-data > /dev/null
fi
python3 scripts/decode_music.py "$OUT" hedgewars=/usr/share/games/hedgewars/Data/Music etr=/usr/share/games/etr/music
# Held-out tracks: whole files (the tracks are independent pieces, so --group-by file); the seed fixes
# which four tracks are the test split of the Quality table (README.md, docs/quality.md).
if [ ! -f "$OUT/real_music_manifest.csv" ]; then
    python3 datasets/prepare_manifest.py "$OUT" -o "$OUT/real_music_manifest.csv" --group-by file \
        --test 0.13 --valid 0.08 --seed 9945
fi
echo "manifest: $OUT/real_music_manifest.csv"
