#!/usr/bin/env python3
"""Validation loss against wall-clock: charrnn's defaults beside a bare PyTorch LSTM, one run.

Reproduces BENCHMARKS.md's quality table (on tinyshakespeare). charrnn trains exactly as
`charrnn train-text DATA --time-budget MINUTES` would (same option resolution, same engine, the
same per-epoch validation, predicted strings and samples as the live view asks for); then the
bare loop of `benchmarks/anchor_lstm.py` (fused nn.LSTM, embedding = hidden, seq 100, batch 64,
Adam 2e-3 constant, clipping 5, no dropout) trains for the same wall-clock time at each
`--anchors` width. At every mark the weights are copied (the clock keeps running); afterwards each
copy is scored on the corpus's last 10% as one stream with carried state, in fp32, as
`charrnn eval` scores it. charrnn's last mark is the `best` checkpoint, which `charrnn eval
--ckpt DIR` picks.

    python benchmarks/bench_quality.py tinyshakespeare.txt --threads 2   # 10 min each, 30 in all
    python benchmarks/bench_quality.py @stdlib --minutes 2 --marks 1,2 --anchors 256
"""
from __future__ import annotations

import argparse
import contextlib
import copy
import json
import math
import sys
import tempfile
import time
from pathlib import Path

import torch
import torch.nn as nn
import torch.nn.functional as F

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from anchor import ANCHOR, load_anchor  # noqa: E402
from charrnn import checkpoint  # noqa: E402
from charrnn.text.evaluate import score_stream  # noqa: E402
from charrnn.engine.events import Progress  # noqa: E402
from charrnn.model import count_parameters  # noqa: E402
from charrnn.text.commands import load_model  # noqa: E402
from charrnn.text.training import prepare_training  # noqa: E402


class Snapshots:
    """A training listener that copies the weights (as a checkpoint would hold them then) when
    the run's clock passes each mark."""

    wants_preview = True  # do the per-epoch work the live view asks for, as a user's run does

    def __init__(self, marks: list[float]):
        self.marks, self.copies, self.weights = sorted(marks), {}, None

    def __call__(self, event) -> None:
        if isinstance(event, Progress):
            for mark in self.marks:
                if mark not in self.copies and event.elapsed >= mark:
                    self.copies[mark] = (event.elapsed, copy.deepcopy(self.weights()))


def score(model, state_dict, val_ids) -> float:
    """As `charrnn eval` scores on CPU: one stream, fp32."""
    model = model.cpu().float()
    model.load_state_dict(state_dict)
    return score_stream(model, val_ids).loss


def run_charrnn(data: str, minutes: float, marks: list[float]):
    """`train-text DATA --time-budget` in-process; returns its row, the data and the device."""
    out = Path(tempfile.mkdtemp(prefix="bench-quality-"))
    setup = prepare_training(data, out, {"time_budget": f"{minutes * 60:g}"}, "auto", None,
                             quiet=True)
    listener = Snapshots(marks[:-1])
    trainer = setup.trainer([listener])
    listener.weights = trainer.weights
    t0 = time.monotonic()
    end = trainer.run()
    wall = time.monotonic() - t0
    model = copy.deepcopy(trainer.model)
    losses = {f"{mark / 60:g}": round(score(model, sd, setup.data.val_ids), 4)
              for mark, (_, sd) in sorted(listener.copies.items())}
    best, _ = load_model(checkpoint.load(out, kind="text"), "cpu")
    losses[f"{marks[-1] / 60:g}"] = round(score_stream(best, setup.data.val_ids).loss, 4)
    m, t = setup.model_cfg, setup.train_cfg
    return {"run": "charrnn defaults", "losses": losses, "wall_s": round(wall, 1),
            "config": f"{m.num_layers} x {m.hidden_size} {m.cell}, embed {m.embed}, dropout "
                      f"{m.dropout}, batch {t.batch_size}, seq {setup.text_cfg.seq_len}, lr {t.lr:g} "
                      f"{t.lr_schedule} (warm-up {t.warmup_steps}), {setup.precision}",
            "params": count_parameters(trainer.model), "steps": trainer.state.step,
            "chars_seen": trainer.state.step * t.batch_size * setup.text_cfg.seq_len,
            "checkpoints": str(out),
            "stop": end.stop_reason}, setup.data, setup.device


def run_anchor(anchor, data, hidden: int, seconds: float, marks: list[float], seed: int,
               device: torch.device) -> dict:
    """anchor_lstm.py's training loop, run against the clock instead of for a step count
    (fp32 on CPU; bf16 autocast on CUDA, as its --amp)."""
    torch.manual_seed(seed)
    vocab = len(data.vocab)
    model = anchor.CharLSTM(vocab, hidden, hidden, 2).to(device)
    xb, yb = anchor.stream_chunks(data.train_ids, 64, 100, device)
    opt = torch.optim.Adam(model.parameters(), lr=2e-3)
    amp = (lambda: torch.autocast("cuda", dtype=torch.bfloat16)) if device.type == "cuda" \
        else contextlib.nullcontext
    model.train()
    copies, state, step = {}, None, 0
    t0 = time.monotonic()
    while True:
        elapsed = time.monotonic() - t0
        for mark in marks:
            if mark not in copies and elapsed >= mark:
                copies[mark] = (elapsed, copy.deepcopy(model.state_dict()))
        if elapsed >= seconds:
            break
        i = step % xb.shape[0]
        if i == 0:
            state = None
        with amp():
            logits, state = model(xb[i], state)
            loss = F.cross_entropy(logits.reshape(-1, vocab).float(), yb[i].reshape(-1))
        state = tuple(s.detach().float() for s in state)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        nn.utils.clip_grad_norm_(model.parameters(), 5.0)
        opt.step()
        step += 1
    losses = {f"{mark / 60:g}": round(score(model, sd, data.val_ids), 4)
              for mark, (_, sd) in sorted(copies.items())}
    return {"run": f"anchor 2 x {hidden}", "losses": losses, "wall_s": round(seconds, 1),
            "config": f"2 x {hidden} lstm, embed {hidden}, batch 64, seq 100, Adam 2e-3 "
                      f"constant, clip 5, {'bf16' if device.type == 'cuda' else 'fp32'}",
            "params": count_parameters(model), "steps": step, "chars_seen": step * 6400}


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("data", help="text file (tinyshakespeare for BENCHMARKS.md's table) or @stdlib")
    p.add_argument("--anchor", default=str(ANCHOR))
    p.add_argument("--minutes", type=float, default=10.0)
    p.add_argument("--marks", default="3,6,10", help="minutes at which to score (the last = --minutes)")
    p.add_argument("--anchors", default="256,512", help="widths of the bare 2-layer LSTM ('' for none)")
    p.add_argument("--threads", type=int, default=0)
    p.add_argument("--seed", type=int, default=1234)
    args = p.parse_args(argv)

    if args.threads:
        torch.set_num_threads(args.threads)
    marks = sorted({float(m) * 60 for m in args.marks.split(",")} | {args.minutes * 60})
    marks = [m for m in marks if m <= args.minutes * 60]
    rows = []
    row, data, device = run_charrnn(args.data, args.minutes, marks)
    rows.append(row)
    print(json.dumps(row), flush=True)
    anchor = load_anchor(Path(args.anchor))
    for width in [int(w) for w in args.anchors.split(",") if w.strip()]:
        row = run_anchor(anchor, data, width, args.minutes * 60, marks, args.seed, device)
        rows.append(row)
        print(json.dumps(row), flush=True)
    heads = [f"{m / 60:g} min" for m in marks]
    print(f"\n{torch.get_num_threads()} threads, torch {torch.__version__}, {args.data}: "
          f"validation loss (nats/char) on the last 10%, one stream", file=sys.stderr)
    print("| run | " + " | ".join(heads) + " | chars seen | params |", file=sys.stderr)
    print("| --- |" + " --- |" * (len(heads) + 2), file=sys.stderr)
    for row in rows:
        cells = [f"{row['losses'].get(f'{m / 60:g}', math.nan):.4f}" for m in marks]
        print(f"| {row['run']}: {row['config']} | " + " | ".join(cells)
              + f" | {row['chars_seen'] / 1e6:.1f}M | {row['params'] / 1e6:.2f}M |", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
