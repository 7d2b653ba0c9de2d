#!/usr/bin/env bash
# Full-page screenshots of every page of the built book (after `make html`), 1280 pixels wide,
# and an audit of what is cut off or shows "NaN": see take.py. Needs Debian's `chromium`
# (apt-get install -y chromium fonts-dejavu-core). Usage: bash docs/screenshots/take.sh [--width N]
set -euo pipefail
cd "$(dirname "$0")/../.."
exec "${PYTHON:-.venv/bin/python}" docs/screenshots/take.py "$@"
