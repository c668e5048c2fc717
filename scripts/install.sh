#!/usr/bin/env bash
# Installs everything the project needs on a fresh machine (CPU torch from the pinned release).
set -euo pipefail
cd "$(dirname "$0")/.."
python3 -m pip install -q -r requirements.txt
# ssr-eval declares a dependency that does not install; its real imports are listed in requirements.txt.
python3 -m pip install -q --no-deps ssr-eval==0.0.7
# The browser test drives Debian's Chromium through its driver (no browser is downloaded).
if ! command -v chromium >/dev/null || ! command -v chromedriver >/dev/null; then
    apt-get update -qq && apt-get install -y -qq chromium chromium-driver >/dev/null
fi
