#!/usr/bin/env python3
"""Does a text model recover from a zero state wherever it starts?

`sample` and `eval` (and validation's streams) start from a zero state; training meets one only
where its streams start. This scores DATA once as one stream (the "warm" loss of every
character) and again from a zero state at `--starts` evenly spread places, `--length` characters
each, and compares the two on the same characters once `--settle` characters have passed: a
model that recovers shows no gap there; one that falls into a state it keeps shows a gap for
thousands of characters (BENCHMARKS.md, "Zero starts").

    python benchmarks/bench_zero_starts.py tail.txt run1/best.safetensors run2 --threads 2
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from charrnn import checkpoint  # noqa: E402
from charrnn.text.commands import load_model  # noqa: E402
from charrnn.text.data import read_text  # noqa: E402

CHUNK = 4096


@torch.inference_mode()
def per_char_loss(model, x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    """Cross-entropy of every target, rows (B, T) each one stream from a zero state."""
    state, out = None, []
    for start in range(0, x.shape[1], CHUNK):
        logits, state = model(x[:, start:start + CHUNK], state)
        out.append(F.cross_entropy(logits.float().transpose(1, 2), y[:, start:start + CHUNK],
                                   reduction="none"))
    return torch.cat(out, 1)


def zero_start_gaps(model, ids: np.ndarray, starts: int, length: int, settle: int
                    ) -> tuple[float, np.ndarray]:
    """The one-stream loss, and per start the mean loss from a zero state minus the one-stream
    loss on the same characters, after `settle` characters."""
    x = torch.as_tensor(ids[None, :-1].astype(np.int64))
    y = torch.as_tensor(ids[None, 1:].astype(np.int64))
    warm = per_char_loss(model, x, y)[0]
    places = np.linspace(0, len(ids) - length - 2, starts).astype(int)
    cold = per_char_loss(model, torch.stack([x[0, p:p + length] for p in places]),
                         torch.stack([y[0, p:p + length] for p in places]))
    same = torch.stack([warm[p:p + length] for p in places])
    return warm.mean().item(), (cold[:, settle:] - same[:, settle:]).mean(1).numpy()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("data", help="text to score (e.g. the corpus's held-out tail)")
    parser.add_argument("ckpts", nargs="+", help="checkpoints or run folders (best)")
    parser.add_argument("--starts", type=int, default=100)
    parser.add_argument("--length", type=int, default=3000)
    parser.add_argument("--settle", type=int, default=500)
    parser.add_argument("--gap", type=float, default=0.1, help="nats/char that count as not recovered")
    parser.add_argument("--threads", type=int, default=None)
    args = parser.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)
    text = read_text(args.data)
    print(f"| checkpoint | one stream (nats/char) | zero starts not recovered after {args.settle} "
          f"chars (gap > {args.gap}) | mean gap | largest gap |")
    print("| --- | --- | --- | --- | --- |")
    for path in args.ckpts:
        model, vocab = load_model(checkpoint.load(path), "cpu")
        model.eval()
        ids, _ = vocab.encode_known(text)
        ids = np.asarray(ids)
        if len(ids) < args.length + 2:
            sys.exit(f"error: {args.data} is shorter than --length {args.length}")
        one, gaps = zero_start_gaps(model, ids, args.starts, args.length, args.settle)
        print(f"| {path} | {one:.4f} | {int((gaps > args.gap).sum())}/{args.starts} | "
              f"{gaps.mean():.4f} | {gaps.max():.2f} |", flush=True)


if __name__ == "__main__":
    main()
