#!/usr/bin/env bash
# Creates .venv beside this repository and installs the product with its ML and test extras.
# sam2 goes in with --no-deps so that it cannot replace the pinned torch (README: SAM2).
set -euo pipefail
cd "$(dirname "$0")/.."
PY="${PYTHON:-python3}"
if [ ! -x .venv/bin/python ]; then
  "$PY" -m venv .venv
fi
.venv/bin/python -m pip install -q --upgrade "pip>=24" "setuptools>=68" wheel
.venv/bin/python -m pip install -q -e ".[ml,test]"
SAM2_BUILD_CUDA=0 .venv/bin/python -m pip install -q --no-build-isolation --no-deps "sam2==1.1.0"
echo "set-up done: $(pwd)/.venv"
