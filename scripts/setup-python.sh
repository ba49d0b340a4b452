#!/usr/bin/env bash
# Creates .venv with the pinned conformance/interop tools (pynwb, nwbinspector, ezmsg 3.9, pytest),
# .venv-dandi (dandi CLI) and .venv-ezmsg310 (ezmsg 3.10.0b5 for the data-stream interop tests).
# Python is for tests only; the product is TypeScript.
set -euo pipefail
cd "$(dirname "$0")/.."
python="${PYTHON:-python3}"
if [ ! -x .venv/bin/python ]; then
  "$python" -m venv .venv
fi
.venv/bin/python -m pip install --disable-pip-version-check --quiet -r test/conformance/requirements.txt
# The dandi CLI (dandi validate) in its own venv: same pins for what both share, see the file's header.
if [ ! -x .venv-dandi/bin/python ]; then
  "$python" -m venv .venv-dandi
fi
.venv-dandi/bin/python -m pip install --disable-pip-version-check --quiet -r test/conformance/requirements-dandi.txt
# ezmsg 3.10.0b5 for the data-stream interop tests (both ezmsg versions), in its own venv.
if [ ! -x .venv-ezmsg310/bin/python ]; then
  "$python" -m venv .venv-ezmsg310
fi
.venv-ezmsg310/bin/python -m pip install --disable-pip-version-check --quiet -r test/conformance/requirements-ezmsg310.txt
