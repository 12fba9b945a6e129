"""The learning rate of every step, from the config and the run's position alone, so a resumed
run follows the same curve: per-epoch decay, linear warm-up, and a cosine to 10% of --lr at
the end of the run (the end being whichever limit comes first: epochs, steps or the budget)."""
from __future__ import annotations

import math

from charrnn.config import TrainConfig

MIN_LR_FRACTION = 0.1  # where the cosine schedule ends, as a fraction of --lr


def learning_rate(cfg: TrainConfig, epoch: int, step: int, fraction_done: float) -> float:
    lr = cfg.lr * cfg.lr_decay ** epoch
    if cfg.warmup_steps:
        lr *= min(1.0, (step + 1) / cfg.warmup_steps)
    if cfg.lr_schedule == "cosine":
        cosine = 0.5 * (1 + math.cos(math.pi * fraction_done))
        lr *= MIN_LR_FRACTION + (1 - MIN_LR_FRACTION) * cosine
    return lr
