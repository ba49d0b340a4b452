#!/usr/bin/env bash
# Regenerate the README's picture: record the demo for 20 s and draw it with `show --plot`.
# Usage: bash scripts/make-show-plot.sh  (after npm run build). Writes docs/img/demo-settings.png.
set -euo pipefail
cd "$(dirname "$0")/.."
tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT
node bin/nwb-settings.js demo --seconds 20 --out "$tmp/demo.nwb" >/dev/null
node bin/nwb-settings.js show "$tmp/demo.nwb" --plot docs/img/demo-settings.png
