#!/usr/bin/env bash
# Full-page screenshots of every page of the built book (after `make html`), 1280 pixels wide,
# an audit of what a reader meets (a page above 12,000 px, code or tables cut off, "NaN", a
# machine path) and manifest.json, what was photographed: see take.py and README.md. Needs
# Debian's `chromium` (apt-get install -y chromium fonts-dejavu-core).
# Usage: bash docs/screenshots/take.sh [--width N] [--html DIR] [--out DIR] [page ...]
set -euo pipefail
cd "$(dirname "$0")/../.."
exec "${PYTHON:-.venv/bin/python}" docs/screenshots/take.py "$@"
