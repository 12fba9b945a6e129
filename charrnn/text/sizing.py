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
# 1.5, not the first round's 2.0: on a 2-core AMD EPYC (bf16) ten minutes of 2 x 512 is 2.0
# characters per parameter, so a probe a little slow flipped the default to 2 x 256, which scored
# 1.4888 nats/char on tinyshakespeare's tail against 1.4563 for 2 x 512 (the Xeon's three-minute
# run: 2 x 512 at 0.9 characters per parameter lost to 2 x 256 by 0.005)
CHARS_PER_PARAM = 1.5
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
    step = _step(cfg, batch, seq_len, device)
    step(autocast)
    _sync(device)
    start = time.perf_counter()
    for _ in range(steps):
        step(autocast)
    _sync(device)
    return steps * batch * seq_len / max(time.perf_counter() - start, 1e-9)


def _sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


PROBE_SEQ = 32  # a timed step's window: short, the speed per character hardly depends on it


def precision_speeds(cfg: ModelConfig, batch: int, seq_len: int, device: torch.device,
                     rounds: int = 3) -> tuple[float, float]:
    """Forward+backward chars/s of a model shaped `cfg` in fp32 and under bf16 autocast: one
    untimed step in each, then `rounds` timed pairs, alternating so both see the same machine;
    the fastest step of each counts (a busy machine only ever slows a step down)."""
    from charrnn.runtime import autocast_factory

    seq_len = max(1, min(seq_len, PROBE_SEQ))  # shorter windows understate bf16's gain
    step = _step(cfg, batch, seq_len, device, optimize=False)
    best = {"fp32": float("inf"), "bf16": float("inf")}
    for r in range(rounds + 1):
        for precision in best:
            autocast = autocast_factory(precision, device)
            _sync(device)
            start = time.perf_counter()
            step(autocast)
            _sync(device)
            if r:
                best[precision] = min(best[precision], time.perf_counter() - start)
    chars = batch * seq_len
    return chars / max(best["fp32"], 1e-9), chars / max(best["bf16"], 1e-9)


def default_precision_speeds(hidden_size: int) -> tuple[float, float]:
    """precision_speeds of train-text's default model of this width on the CPU."""
    cfg = ModelConfig(input_size=96, output_size=96, embed=64, hidden_size=hidden_size,
                      num_layers=2, tokens=True)
    return precision_speeds(cfg, 32, PROBE_SEQ, torch.device("cpu"))


def _step(cfg: ModelConfig, batch: int, seq_len: int, device: torch.device,
          optimize: bool = True):
    """One training step of a fresh model shaped `cfg` on random data, as a function;
    optimize=False: forward and backward only (the optimizer's fp32 update is the same work
    in either precision)."""
    from charrnn.engine.adam import make_adam
    from charrnn.text.losses import sequence_loss
    from charrnn.model import RecurrentNet

    gen = torch.Generator().manual_seed(0)
    model = RecurrentNet(cfg).to(device)
    optimizer = make_adam(model.parameters(), 1e-3, 0.0, device)  # what training will run
    x = torch.randint(0, cfg.input_size, (batch, seq_len), generator=gen).to(device)
    y = torch.randint(0, cfg.output_size, (batch, seq_len), generator=gen).to(device)

    def step(autocast):
        with autocast():
            logits, _ = model(x)
            loss = sequence_loss(logits, y)
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        if optimize:
            optimizer.step()

    return step
