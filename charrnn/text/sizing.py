"""The default model width, sized to the corpus, the time budget and this machine.

Two limits decide it; the widest candidate within both wins (README, "How the defaults were
chosen", has the measurements behind the numbers):

- data: at most PARAMS_PER_CHAR parameters per training character, so a small corpus gets a
  small model (char-rnn's rule of thumb: parameters and data of the same order);
- time: with a time budget, the run must get through at least CHARS_PER_PARAM characters per
  parameter, at the speed this machine really trains each candidate (a few timed steps).
  A wide model that only sees its data once loses to a narrower one that sees it more.
"""
from __future__ import annotations

import time
from dataclasses import replace
from typing import Callable

import torch

from charrnn.config import ModelConfig

WIDTHS = (1024, 512, 256, 128)  # tried widest first; the last is the floor
PARAMS_PER_CHAR = 4.0
CHARS_PER_PARAM = 2.0
BUDGET_OVERHEAD = 0.9  # share of a budget spent in training steps (validation, saves: the rest)


def parameters(cfg: ModelConfig) -> int:
    """Parameter count without allocating the weights."""
    from charrnn.model import RecurrentNet, count_parameters

    with torch.device("meta"):
        return count_parameters(RecurrentNet(cfg))


def choose_hidden(base: ModelConfig, n_train: int, budget_s: float | None,
                  chars_per_sec: Callable[[int], float]) -> int:
    """The widest of WIDTHS inside the data limit and, with a budget, the time limit."""
    for width in WIDTHS[:-1]:
        params = parameters(replace(base, hidden_size=width))
        if params > PARAMS_PER_CHAR * n_train:
            continue
        if budget_s is None or chars_per_sec(width) * budget_s * BUDGET_OVERHEAD >= CHARS_PER_PARAM * params:
            return width
    return WIDTHS[-1]


def measure_chars_per_sec(cfg: ModelConfig, batch: int, seq_len: int, device: torch.device,
                          autocast, steps: int = 2) -> float:
    """Training characters per second of a model shaped `cfg`: one untimed step, then `steps`."""
    from charrnn.text.losses import sequence_loss
    from charrnn.model import RecurrentNet

    gen = torch.Generator().manual_seed(0)
    model = RecurrentNet(cfg).to(device)
    optimizer = torch.optim.Adam(model.parameters(), lr=1e-3)
    x = torch.randint(0, cfg.input_size, (batch, seq_len), generator=gen).to(device)
    y = torch.randint(0, cfg.output_size, (batch, seq_len), generator=gen).to(device)
    start = 0.0
    for step in range(steps + 1):
        if step == 1:
            _sync(device)
            start = time.perf_counter()
        with autocast():
            logits, _ = model(x)
            loss = sequence_loss(logits, y)
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()
    _sync(device)
    return steps * batch * seq_len / max(time.perf_counter() - start, 1e-9)


def _sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)
