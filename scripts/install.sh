#!/usr/bin/env bash
# Set up .venv with the exact versions in constraints.txt (offline-capable: PyPI/local wheels only).
# llama-cpp-python compiles from source the first time (~11 min on 2 cores); pip caches the wheel after that.
set -euo pipefail
cd "$(dirname "$0")/.."
PYTHON=${PYTHON:-python3}
if [ ! -x .venv/bin/python ]; then
  "$PYTHON" -m venv .venv
fi
.venv/bin/python -m pip install --quiet --upgrade pip
# torch is pinned to the CPU build 2.13.0 in the same resolve; otherwise pip pulls several GB of CUDA wheels.
.venv/bin/python -m pip install --quiet -c constraints.txt -e ".[dev]"
echo "salesbot installed in .venv ($(.venv/bin/python -c 'import importlib.metadata as m; print(m.version("salesbot"))'))"
