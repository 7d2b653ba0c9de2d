#!/usr/bin/env bash
# Screenshots of the built book (run after `make book`): headless Chromium on pages served
# from 127.0.0.1. Usage: bash docs/screenshots/take.sh
set -euo pipefail
cd "$(dirname "$0")/../.."
port=8765
python3 -m http.server "$port" --bind 127.0.0.1 --directory _build/html > /dev/null 2>&1 &
server=$!
trap 'kill $server' EXIT
sleep 1
profile=$(mktemp -d)
for page in book/intro book/04_embeddings book/05_models_abc book/06_m_sweep book/09_better_training; do
  name=$(basename "$page")
  chromium --headless --no-sandbox --disable-gpu --disable-background-networking \
    --disable-quic --no-first-run --disable-component-update --disable-sync \
    --user-data-dir="$profile" --hide-scrollbars --window-size=1280,2400 \
    --screenshot="docs/screenshots/$name.png" "http://127.0.0.1:$port/$page.html" 2>/dev/null
done
rm -rf "$profile"
ls -la docs/screenshots/*.png
