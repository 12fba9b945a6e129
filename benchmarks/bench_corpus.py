#!/usr/bin/env python3
"""Corpora of any size: peak memory and end-to-end speed of `charrnn train-text` on a big file.

Generates a word-like corpus of --mb megabytes (its data: nothing is read from outside), then runs `charrnn train-text FILE --max-steps 3`
twice in a fresh process: the first run encodes (no cache yet), the second reuses the cached ids.
Prints one JSON object: seconds, MB/s end to end (process start to the end of the steps) and
peak RSS of each run.

    python benchmarks/bench_corpus.py --mb 500
"""
from __future__ import annotations

import argparse
import json
import os
import resource
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np


def generate(path: Path, megabytes: int, seed: int = 0) -> None:
    """Eight distinct 4 MB blocks of Zipf-distributed words, written in a shuffled order."""
    rng = np.random.default_rng(seed)
    letters = np.frombuffer(b"etaoinshrdlcumwfgypbvkjxqz", dtype=np.uint8)
    words = [bytes(rng.choice(letters, size=int(rng.integers(1, 9)))) for _ in range(5000)]
    zipf = 1.0 / np.arange(1, len(words) + 1)
    zipf /= zipf.sum()
    blocks = []
    for _ in range(8):
        picks = rng.choice(len(words), size=800_000, p=zipf)
        text = b" ".join(words[i] for i in picks)
        blocks.append(text.replace(b" e ", b".\n")[: 4 << 20])
    with open(path, "wb") as f:
        written = 0
        while written < megabytes << 20:
            block = blocks[int(rng.integers(len(blocks)))]
            f.write(block)
            written += len(block)


def run(corpus: Path, out: Path, cache: Path) -> dict:
    before = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    t0 = time.perf_counter()
    proc = subprocess.Popen([sys.executable, "-m", "charrnn", "train-text", str(corpus), "--out",
                             str(out), "--max-steps", "3", "--quiet"], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True,
                            env={**os.environ, "CHARRNN_CACHE": str(cache)})
    try:
        _, stderr = proc.communicate()
    finally:  # Ctrl-C, SIGTERM (see main) or any error here: the child does not outlive us
        if proc.poll() is None:
            proc.terminate()
            try:
                proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
    seconds = time.perf_counter() - t0
    if proc.returncode != 0:
        raise SystemExit(stderr)
    peak = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    size = corpus.stat().st_size / 1e6
    return {"seconds": round(seconds, 2), "mb_per_s": round(size / seconds, 1),
            "peak_rss_mb": round(max(peak, before) / 1024, 1)}


def _terminated(signum, frame):
    raise SystemExit(128 + signum)  # unwinds through run()'s finally and the temp folder's cleanup


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--mb", type=int, default=500, help="size of the generated corpus (default 500)")
    p.add_argument("--dir", default=None, help="where to write the corpus (default: a temp folder)")
    args = p.parse_args()
    signal.signal(signal.SIGTERM, _terminated)
    signal.signal(signal.SIGHUP, _terminated)
    with tempfile.TemporaryDirectory(dir=args.dir) as tmp:
        tmp = Path(tmp)
        corpus = tmp / "big.txt"
        generate(corpus, args.mb)
        first = run(corpus, tmp / "ck1", tmp / "cache")
        second = run(corpus, tmp / "ck2", tmp / "cache")
        print(json.dumps({"corpus_mb": round(corpus.stat().st_size / 1e6, 1),
                          "first_run": first, "cached_run": second}))
    return 0


if __name__ == "__main__":
    try:
        sys.exit(main())
    except KeyboardInterrupt:  # Ctrl-C: run()'s finally has stopped the child already
        sys.exit(130)
