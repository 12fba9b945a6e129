#!/usr/bin/env bash
# The speed issue's CUDA figures in one short run (about 3-5 minutes on an H200):
# training and batch-1 sampling of charrnn against the bare anchor, bf16 autocast, same process.
#   bash benchmarks/gpu_check.sh > gpu.jsonl
set -euo pipefail
cd "$(dirname "$0")/.."
python -c "import torch; assert torch.cuda.is_available(), 'no CUDA device'; print(torch.cuda.get_device_name(0))" >&2
for cfg in "512 2 64" "512 3 256" "1024 3 256"; do
  set -- $cfg
  python benchmarks/bench_speed.py --device cuda --precision bf16 --hidden "$1" --layers "$2" \
      --batch "$3" --steps 30 --rounds 3 --sample-chars 3000
done
