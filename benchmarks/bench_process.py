"""Whole processes: `charrnn train-text` against the bare PyTorch loop, start to exit.

    python benchmarks/bench_process.py [DATA] [--steps 150] [--pairs 5] [--threads 2]
                                        [--bare-kept-memory]

Each pair runs, as separate processes and in turn, the bare loop (benchmarks/anchor_lstm.py
--steps N --warmup 0 --sample-chars 0: start-up, data, N steps on the first 90% of the text
and one pass over the last 10%, 64 streams wide) and `charrnn train-text DATA --max-steps N`
of the same network (embedding 64, LSTM --layers x --hidden with charrnn's default dropout 0.1
between layers, batch 64, seq 100, fp32), which scores the same tail (in 20,000-character
streams), writes its checkpoints and exits. The ratio is the bare loop's seconds over charrnn's (1.00: as
fast); the table gives each pair and the median (the first charrnn run also encodes the corpus
into a fresh cache). Then a 1-step run of each measures the fixed costs (start-up, data, the
validation, the writes), and `import torch` and `charrnn --help` the start-up.

DATA: a text file [default: 2 MiB of the anchor's generated pseudo-text, written to a
temporary file: 150 steps stay inside charrnn's first epoch, which would end with one more
validation and checkpoint]. Run it on a quiet machine: both sides share the cores.
"""
from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent


def timed(cmd: list[str], env: dict) -> float:
    t0 = time.perf_counter()
    done = subprocess.run(cmd, capture_output=True, text=True, env=env)
    seconds = time.perf_counter() - t0
    if done.returncode != 0:
        sys.exit(f"failed: {' '.join(cmd)}\n{done.stderr.strip()[-2000:]}")
    return seconds


def commands(data: Path, steps: int, args, out: Path) -> tuple[list[str], list[str]]:
    bare = [sys.executable, str(HERE / "anchor_lstm.py"), "--data", str(data), "--device", "cpu",
            "--hidden", str(args.hidden), "--layers", str(args.layers), "--emb", "64",
            "--batch", "64", "--seq", "100", "--steps", str(steps), "--warmup", "0",
            "--dropout", "0.1", "--sample-chars", "0", "--threads", str(args.threads)]
    exe = shutil.which("charrnn") or str(Path(sys.executable).with_name("charrnn"))
    ours = [exe, "train-text", str(data), "--max-steps", str(steps), "--hidden",
            str(args.hidden), "--layers", str(args.layers), "--batch-size", "64", "--seq-len",
            "100", "--dropout", "0.1", "--precision", "fp32", "--device", "cpu", "--out", str(out),
            "--quiet"]
    return bare, ours


def start_up(env: dict) -> tuple[float, float]:
    """Seconds of `python -c "import torch"` and of `charrnn --help` (the CLI's own start)."""
    exe = shutil.which("charrnn") or str(Path(sys.executable).with_name("charrnn"))
    return (timed([sys.executable, "-c", "import torch"], env), timed([exe, "--help"], env))


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("data", nargs="?", type=Path, default=None)
    p.add_argument("--steps", type=int, default=150)
    p.add_argument("--pairs", type=int, default=5)
    p.add_argument("--hidden", type=int, default=256)
    p.add_argument("--layers", type=int, default=2)
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--bare-kept-memory", action="store_true",
                   help="give the bare loop glibc's settings that charrnn makes for itself "
                        "(runtime.keep_freed_memory), through the environment")
    args = p.parse_args()
    with tempfile.TemporaryDirectory(prefix="bench-process-") as tmp:
        # a cache of its own: the first charrnn run encodes the corpus, the others read it
        env = {**os.environ, "OMP_NUM_THREADS": str(args.threads),
               "CHARRNN_CACHE": str(Path(tmp) / "cache")}
        data = args.data
        if data is None:
            sys.path.insert(0, str(HERE))
            from anchor_lstm import pseudo_text

            data = Path(tmp) / "pseudo.txt"
            data.write_text(pseudo_text(2 << 20), encoding="utf-8")
        bare_env = dict(env)
        if args.bare_kept_memory:
            from charrnn.runtime import KEPT_FREE_BYTES

            bare_env.update(MALLOC_MMAP_MAX_="0", MALLOC_TRIM_THRESHOLD_=str(KEPT_FREE_BYTES))
        rows = []
        for i in range(args.pairs):
            bare, ours = commands(data, args.steps, args, Path(tmp) / f"run-{i}")
            b = timed(bare, bare_env)
            c = timed(ours, env)
            rows.append((b, c))
            print(f"pair {i + 1}: bare {b:.2f} s, charrnn {c:.2f} s, ratio {b / c:.3f}",
                  file=sys.stderr, flush=True)
        bare1, ours1 = commands(data, 1, args, Path(tmp) / "one-step")
        fixed_bare, fixed_ours = timed(bare1, bare_env), timed(ours1, env)
        torch_s, help_s = start_up(env)
    print(f"| pair | bare loop s | charrnn s | bare / charrnn |")
    print("| --- | --- | --- | --- |")
    for i, (b, c) in enumerate(rows):
        print(f"| {i + 1} | {b:.2f} | {c:.2f} | {b / c:.3f} |")
    median = statistics.median(b / c for b, c in rows)
    print(f"| median | | | **{median:.3f}** |")
    print(f"\n{args.steps} steps of {args.layers} x {args.hidden} (batch 64, seq 100, fp32, "
          f"{args.threads} threads) on {data.name}; whole processes, interleaved"
          + ("; the bare loop with charrnn's malloc settings." if args.bare_kept_memory else "."))
    print(f"one-step runs (the fixed costs): bare loop {fixed_bare:.2f} s, charrnn "
          f"{fixed_ours:.2f} s")
    print(f"start-up: `import torch` {torch_s:.2f} s, `charrnn --help` {help_s:.2f} s")


if __name__ == "__main__":
    main()
