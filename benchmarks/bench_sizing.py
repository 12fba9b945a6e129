#!/usr/bin/env python3
"""What `train-text --time-budget` chooses on a corpus as the measured speed grows.

Times each candidate width's training step on this machine in fp32 and under bf16 autocast (as
`train-text` does before a budgeted run), then asks the same defaults (`resolve_configs`) what
they choose for each budget at those speeds and at multiples of them (a faster machine). Prints
one JSON object: the measured chars/s by width and precision, and a row per (precision, speed
factor, budget) with the chosen width, batch, learning rate, dropout, and the steps, passes
over the training text and characters per parameter that the budget then allows. The steps
are timed at the default batch and window, so the figures suit corpora of 100k characters or more.

    python benchmarks/bench_sizing.py tinyshakespeare.txt --threads 2
"""
from __future__ import annotations

import argparse
import json
import sys
from dataclasses import replace
from pathlib import Path

import torch

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from cpu_text import add_corpus_and_threads, cpu_corpus  # noqa: E402

from charrnn.config import ModelConfig  # noqa: E402
from charrnn.runtime import autocast_factory  # noqa: E402
from charrnn.text.data import Vocab  # noqa: E402
from charrnn.text.sizing import (BUDGET_OVERHEAD, WIDTHS, measure_chars_per_sec,  # noqa: E402
                                 parameters)
from charrnn.text.training import (DEFAULT_BATCH, DEFAULT_SEQ, resolve_configs,  # noqa: E402
                                   text_config)


def measure(vocab_size: int, precision: str, steps: int) -> dict[int, float]:
    device = torch.device("cpu")
    base = ModelConfig(input_size=vocab_size, output_size=vocab_size, embed=64, num_layers=2)
    return {w: measure_chars_per_sec(replace(base, hidden_size=w), DEFAULT_BATCH, DEFAULT_SEQ,
                                     device, autocast_factory(precision, device), steps)
            for w in WIDTHS}


def choose(n_chars: int, vocab_size: int, budget: float, speeds: dict[int, float]) -> dict:
    model, train = resolve_configs({"time_budget": f"{budget:g}"}, n_chars, vocab_size, None,
                                   lambda cfg, batch, seq: speeds[cfg.hidden_size])
    chars = speeds[model.hidden_size] * budget * BUDGET_OVERHEAD
    n_train = n_chars * (1 - train.val_frac)
    seq_len = text_config({}, n_chars, None).seq_len
    return {"hidden": model.hidden_size, "batch": train.batch_size, "lr": train.lr,
            "dropout": model.dropout, "ema": train.ema, "steps": round(chars / (train.batch_size * seq_len)),
            "passes": round(chars / n_train, 1),
            "chars_per_param": round(chars / parameters(model), 2)}


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    add_corpus_and_threads(p)
    p.add_argument("--budgets", default="120,180,600,1800,3600", help="seconds, comma-separated")
    p.add_argument("--factors", default="1,2,4", help="multiples of the measured speeds")
    p.add_argument("--steps", type=int, default=3, help="timed steps per width and precision")
    args = p.parse_args()
    text = cpu_corpus(args)
    vocab = len(Vocab.from_text(text))
    measured = {prec: measure(vocab, prec, args.steps) for prec in ("fp32", "bf16")}
    rows = []
    for prec, speeds in measured.items():
        for factor in (float(f) for f in args.factors.split(",")):
            scaled = {w: v * factor for w, v in speeds.items()}
            for budget in (float(b) for b in args.budgets.split(",")):
                rows.append({"precision": prec, "speed_factor": factor, "budget_s": budget,
                             **choose(len(text), vocab, budget, scaled)})
    print(json.dumps({"chars": len(text), "vocab": vocab, "threads": torch.get_num_threads(),
                      "chars_per_s": {p: {w: round(v) for w, v in s.items()}
                                      for p, s in measured.items()},
                      "rows": rows}, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
