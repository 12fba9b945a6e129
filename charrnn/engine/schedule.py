"""How far along a run is and what follows from it, from the config and the run's position
alone, so a resumed run follows the same curve: the learning rate (per-epoch decay, linear
warm-up, a cosine to 10% of --lr at the end of the run, the end being whichever limit comes
first: epochs, steps or the budget) and early stopping."""
from __future__ import annotations

import math

from charrnn.config import TrainConfig
from charrnn.engine.state import RunState

MIN_LR_FRACTION = 0.1  # where the cosine schedule ends, as a fraction of --lr


def learning_rate(cfg: TrainConfig, epoch: int, step: int, fraction_done: float) -> float:
    lr = cfg.lr * cfg.lr_decay ** epoch
    if cfg.warmup_steps:
        lr *= min(1.0, (step + 1) / cfg.warmup_steps)
    if cfg.lr_schedule == "cosine":
        cosine = 0.5 * (1 + math.cos(math.pi * fraction_done))
        lr *= MIN_LR_FRACTION + (1 - MIN_LR_FRACTION) * cosine
    return lr


def fraction_done(cfg: TrainConfig, state: RunState, windows_per_epoch: int,
                  elapsed: float) -> float:
    parts = [(state.epoch + state.window / max(windows_per_epoch, 1)) / max(cfg.epochs, 1)]
    if cfg.max_steps:
        parts.append(state.step / cfg.max_steps)
    if cfg.time_budget:
        parts.append(elapsed / cfg.time_budget)
    return min(1.0, max(parts))


def out_of_patience(cfg: TrainConfig, state: RunState) -> bool:
    """Early stopping: validation (not training) has not improved for `patience` epochs."""
    scored = [h for h in state.history if h["val_loss"] is not None]
    return bool(cfg.patience and scored and state.epoch - state.best_epoch >= cfg.patience)
