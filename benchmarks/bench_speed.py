#!/usr/bin/env python3
"""charrnn's own training step and sampling loop against a bare PyTorch loop, one process.

The bare loop is `benchmarks/anchor_lstm.py` (fused nn.LSTM, Adam, clipping, truncated BPTT;
batch-1 sampling with oneDNN off). Rounds alternate between the two so that both see the same
machine state; prints one JSON object with chars/s of each and the ratio charrnn / anchor.
DATA is a UTF-8 text file or @stdlib (the default); BENCHMARKS.md's figures are on
tinyshakespeare (see the README for where to get it).

    python benchmarks/bench_speed.py --threads 2                      # CPU, hidden 256 x 2, @stdlib
    python benchmarks/bench_speed.py tinyshakespeare.txt --hidden 512 --threads 2
    python benchmarks/bench_speed.py --device cuda --precision bf16   # unchanged on CUDA
"""
from __future__ import annotations

import argparse
import contextlib
import json
import sys
import time
from pathlib import Path

import torch

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from anchor import ANCHOR, load_anchor  # noqa: E402
from charrnn.config import ModelConfig, TrainConfig  # noqa: E402
from charrnn.text.task import TextConfig, split_text, text_trainer  # noqa: E402
from charrnn.runtime import resolve_device, resolve_precision, setup_device  # noqa: E402
from charrnn.text.sampling import SamplingSettings, generate  # noqa: E402
from charrnn.text.data import Vocab, read_text  # noqa: E402


def sync(device):
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def time_charrnn_train(trainer, steps: int, device) -> float:
    windows = trainer.windows
    for i in range(2):  # warm-up
        trainer.train_step(*windows.window(i))
    sync(device)
    t0 = time.perf_counter()
    for i in range(steps):
        trainer.train_step(*windows.window((i + 2) % len(windows)))
    sync(device)
    return time.perf_counter() - t0


def time_charrnn_sample(model, chars: int, device) -> float:
    settings = SamplingSettings(temperature=1.0)
    for _ in generate(model, [0], 50, settings, seed=0):
        pass
    sync(device)
    t0 = time.perf_counter()
    for _ in generate(model, [0], chars, settings, seed=0):
        pass
    sync(device)
    return time.perf_counter() - t0


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("data", nargs="?", default="@stdlib", help="text file or @stdlib (default: @stdlib)")
    p.add_argument("--anchor", default=str(ANCHOR))
    p.add_argument("--hidden", type=int, default=256)
    p.add_argument("--layers", type=int, default=2)
    p.add_argument("--seq", type=int, default=100)
    p.add_argument("--batch", type=int, default=64)
    p.add_argument("--steps", type=int, default=20, help="timed training steps per round")
    p.add_argument("--rounds", type=int, default=3)
    p.add_argument("--sample-chars", type=int, default=1000)
    p.add_argument("--device", default="cpu")
    p.add_argument("--precision", default="auto", help="charrnn's precision; the anchor gets --amp on CUDA bf16")
    p.add_argument("--threads", type=int, default=0)
    args = p.parse_args(argv)

    if args.threads:
        torch.set_num_threads(args.threads)
    anchor = load_anchor(Path(args.anchor))
    device = resolve_device(args.device)
    setup_device(device)
    precision = resolve_precision(args.precision, device, args.hidden)
    text = read_text(args.data)
    vocab = Vocab.from_text(text)
    ids = vocab.encode(text)

    # charrnn: the engine's own trainer and train_step, embedding width = hidden as the anchor
    train_cfg = TrainConfig(batch_size=args.batch, val_frac=0.1, precision=precision)
    model_cfg = ModelConfig(input_size=len(vocab), output_size=len(vocab), embed=args.hidden,
                            hidden_size=args.hidden, num_layers=args.layers)
    data = split_text(ids, vocab, "bench", args.seq, train_cfg.val_frac)
    trainer = text_trainer(data, model_cfg, train_cfg, TextConfig(seq_len=args.seq),
                           Path("/nonexistent"), device, precision)

    # the bare loop, same configuration
    a_args = argparse.Namespace(warmup=2, steps=args.steps, lr=2e-3, clip=5.0)
    xb, yb = anchor.stream_chunks(data.train_ids, args.batch, args.seq, device)
    a_model = anchor.CharLSTM(len(vocab), args.hidden, args.hidden, args.layers).to(device)
    amp = precision == "bf16" and device.type == "cuda"
    a_ctx = (lambda: torch.autocast("cuda", dtype=torch.bfloat16)) if amp else contextlib.nullcontext

    ours, theirs = 0.0, 0.0
    for _ in range(args.rounds):
        theirs += anchor.train(a_model, xb, yb, a_args, device, a_ctx)[0]
        ours += time_charrnn_train(trainer, args.steps, device)
    chars = args.rounds * args.steps * args.batch * args.seq
    s_ours, s_theirs = 0.0, 0.0
    for _ in range(args.rounds):
        s_theirs += anchor.sample(a_model, args.sample_chars, 50, 0, 1.0, device, 0)[0]
        s_ours += time_charrnn_sample(trainer.model, args.sample_chars, device)
    s_chars = args.rounds * args.sample_chars
    result = {
        "device": str(device), "precision": precision, "threads": torch.get_num_threads(),
        "torch": torch.__version__, "hidden": args.hidden, "layers": args.layers,
        "seq": args.seq, "batch": args.batch,
        "train": {"charrnn_chars_per_s": round(chars / ours, 1),
                  "anchor_chars_per_s": round(chars / theirs, 1),
                  "ratio": round(theirs / ours, 3)},
        "sample": {"charrnn_chars_per_s": round(s_chars / s_ours, 1),
                   "anchor_chars_per_s": round(s_chars / s_theirs, 1),
                   "ratio": round(s_theirs / s_ours, 3)},
    }
    print(json.dumps(result))
    return 0


if __name__ == "__main__":
    sys.exit(main())
