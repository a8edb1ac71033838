#!/usr/bin/env bash
# The CUDA-path check run on a lent GPU machine (see the device tool): no weights travel, so the embedded
# model's architecture is rebuilt with random weights. Prints KV scaling with CUDA events and
# max_memory_allocated, then runs one small cell of every family on CUDA as a Ray-free grid and prints a table
# (timer, memory scope, peak, hardware key) of the records it wrote. A family whose packages the machine lacks
# is reported as not run, with the missing module, never silently left out.
# Expects: .whl/ (transformers 5.24 + pydantic wheels, and for the EEG / image families braindecode 0.8.1, mne,
# opencv-python-headless, scikit-image, imagehash if they are to run) and .gpu/ (config.json + tokenizer files).
set -uo pipefail
export PYTHONUNBUFFERED=1
python3 -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --upgrade --target /tmp/site .whl/*.whl || exit 1
export PYTHONPATH=/tmp/site:$PWD
nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv
python3 -c "import torch, transformers; print('torch', torch.__version__, 'cuda', torch.version.cuda, 'transformers', transformers.__version__)"
python3 benchmarks/random_model.py .gpu /tmp/smol-random
python3 benchmarks/kv_scaling.py --model /tmp/smol-random --device cuda --lengths 1024 2048 4096 8000 16000 32000 --budget 512
out=${OUT:-/tmp/out}/results
# one small cell per family: method, task, the module it needs, extra arguments
cells=(
  "full,lacache passkey transformers --task-arg lengths=[4096]"
  "perplexity reasoning_hallucination transformers --task-arg per_domain=4"
  "dlinear syntsbench torch"
  "shallownet eeg_transfer braindecode"
  "contrastive_cnn copy_detection skimage"
  "unet text_removal cv2"
  "unet_depth depth skimage"
)
for cell in "${cells[@]}"; do
  read -r methods task module extra <<< "$cell"
  if ! python3 -c "import $module" 2>/dev/null; then
    echo "family of $task: not run (module $module is missing on this machine)"
    continue
  fi
  start=$(date +%s)
  python3 -m harness.cli run --method "$methods" --task "$task" --model /tmp/smol-random --device cuda --limit 4 \
    ${extra:-} --out "$out" > "/tmp/gpu_check_$task.log" 2>&1
  echo "family of $task: exit $? in $(( $(date +%s) - start )) s (log /tmp/gpu_check_$task.log)"
done
python3 -m harness.cli show --results "$out"
python3 - "$out" <<'PY'
import json, sys
from pathlib import Path
print(f"{'task':24} {'method':16} {'status':9} {'timer':12} {'memory scope':28} {'peak MiB':>9}  hardware key")
for path in sorted(Path(sys.argv[1]).rglob("*.json")):
    r = json.loads(path.read_text())
    perf = r["performance"]
    timers = {v.get("timer") for v in (perf.get("latency") or {}).values() if isinstance(v, dict)}
    memory = perf.get("memory") or {}
    peak = memory.get("peak_bytes")
    print(f"{r['task']['name']:24} {r['method']['name']:16} {r['status']:9} {','.join(sorted(t for t in timers if t)) or '-':12} "
          f"{memory.get('scope') or '-':28} {peak / 2**20 if peak else 0:9.1f}  {r['environment']['hardware_key']}")
PY
