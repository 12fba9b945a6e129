#!/usr/bin/env bash
# The speed issue's CUDA figures in one short run (about 3-5 minutes on an H200):
# training and batch-1 sampling of charrnn against the bare anchor, bf16 autocast, same process.
#   bash benchmarks/gpu_check.sh [DATA] > gpu.jsonl     (DATA: a text file or @stdlib, the default)
set -euo pipefail
case "${1:-}" in
  -h|--help) sed -n '2,4p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
esac
DATA=${1:-@stdlib}
if [[ $DATA != @* ]]; then
  [[ -f $DATA ]] || { echo "gpu_check.sh: $DATA: no such file" >&2; exit 2; }
  DATA="$(cd "$(dirname "$DATA")" && pwd)/$(basename "$DATA")"   # before the cd below
fi
cd "$(dirname "$0")/.."
python -c "import torch; assert torch.cuda.is_available(), 'no CUDA device'; print(torch.cuda.get_device_name(0))" >&2
for cfg in "512 2 64" "512 3 256" "1024 3 256"; do
  set -- $cfg
  python benchmarks/bench_speed.py "$DATA" --device cuda --precision bf16 --hidden "$1" --layers "$2" \
      --batch "$3" --steps 30 --rounds 3 --sample-chars 3000
done
