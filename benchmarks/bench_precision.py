#!/usr/bin/env python3
"""bf16 autocast on CPU against fp32: the same run (seed, data, steps) in both precisions.

Prints one JSON object: training chars/s of each, the speed-up, and the training-loss curves
(mean over each block of steps) with their largest gap, plus the validation loss (scored in
fp32) at the end of each run. DATA is a UTF-8 text file or @stdlib (the default); BENCHMARKS.md's
figures are on tinyshakespeare.

    python benchmarks/bench_precision.py tinyshakespeare.txt --hidden 512 --steps 150 --threads 2
"""
from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path

import torch

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from cpu_text import add_corpus_and_threads, cpu_corpus  # noqa: E402

from charrnn.config import ModelConfig, TrainConfig  # noqa: E402
from charrnn.text.task import TextConfig, split_text, text_trainer  # noqa: E402
from charrnn.text.evaluate import score_stream  # noqa: E402
from charrnn.text.data import Vocab  # noqa: E402


def run(precision: str, args, data, vocab) -> dict:
    cfg = TrainConfig(batch_size=args.batch, seed=args.seed, precision=precision)
    model_cfg = ModelConfig(input_size=len(vocab), output_size=len(vocab), embed=64,
                            hidden_size=args.hidden, num_layers=args.layers)
    with tempfile.TemporaryDirectory() as out:
        trainer = text_trainer(data, model_cfg, cfg, TextConfig(seq_len=100), Path(out),
                               torch.device("cpu"), precision)
        losses, t0 = [], time.perf_counter()
        for step in range(args.steps):
            losses.append(trainer.train_step(*trainer.windows.window(step % len(trainer.windows))))
        seconds = time.perf_counter() - t0
    curve = torch.stack(losses).float().view(-1, args.block).mean(1).tolist()
    val = score_stream(trainer.model, data.val_ids[:100_000], streams=1).loss
    return {"chars_per_s": round(args.steps * args.batch * 100 / seconds, 1),
            "curve": [round(v, 4) for v in curve], "val_loss": round(val, 4)}


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    add_corpus_and_threads(p)
    p.add_argument("--hidden", type=int, default=512)
    p.add_argument("--layers", type=int, default=2)
    p.add_argument("--batch", type=int, default=64)
    p.add_argument("--steps", type=int, default=150)
    p.add_argument("--block", type=int, default=25, help="steps per point of the loss curve")
    p.add_argument("--seed", type=int, default=1234)
    args = p.parse_args()
    text = cpu_corpus(args)
    vocab = Vocab.from_text(text)
    data = split_text(vocab.encode(text), vocab, "bench", 100, 0.1)
    fp32, bf16 = run("fp32", args, data, vocab), run("bf16", args, data, vocab)
    gap = max(abs(a - b) for a, b in zip(fp32["curve"], bf16["curve"]))
    print(json.dumps({"hidden": args.hidden, "layers": args.layers, "batch": args.batch,
                      "steps": args.steps, "threads": torch.get_num_threads(),
                      "fp32": fp32, "bf16": bf16,
                      "speedup": round(bf16["chars_per_s"] / fp32["chars_per_s"], 3),
                      "largest_curve_gap": round(gap, 4)}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
