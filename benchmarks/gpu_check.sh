#!/usr/bin/env bash
# The CUDA-path check run on a lent GPU machine (see the device tool): no weights travel, so the embedded
# model's architecture is rebuilt with random weights. Prints KV scaling with CUDA events and
# max_memory_allocated, then runs one `harness run` cell on CUDA and shows its record.
# Expects: .whl/ (transformers 5.24 + pydantic wheels) and .gpu/ (config.json + tokenizer files).
set -uo pipefail
export PYTHONUNBUFFERED=1
python3 -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --upgrade --target /tmp/site .whl/*.whl || exit 1
export PYTHONPATH=/tmp/site:$PWD
nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv
python3 -c "import torch, transformers; print('torch', torch.__version__, 'cuda', torch.version.cuda, 'transformers', transformers.__version__)"
python3 benchmarks/random_model.py .gpu /tmp/smol-random
python3 benchmarks/kv_scaling.py --model /tmp/smol-random --device cuda --lengths 1024 2048 4096 8000 16000 32000 --budget 512
out=${OUT:-/tmp/out}
python3 -m harness.cli run --method lacache --task passkey --model /tmp/smol-random --device cuda --limit 4 \
  --task-arg 'lengths=[4096]' --out "$out/results"
python3 -m harness.cli show --results "$out/results" "$(basename "$(ls "$out"/results/passkey/lacache/*/*/*.json)" .json)"
python3 -c "
import json, glob
r = json.load(open(glob.glob('$out/results/passkey/lacache/*/*/*.json')[0]))
m = r['performance']['memory']
print('record: status', r['status'], '| timer', r['performance']['latency']['time_to_first_token']['timer'],
      '| memory scope', m['scope'], m['peak_bytes'], '| device', m['device'], '| hardware_key', r['environment']['hardware_key'])"
