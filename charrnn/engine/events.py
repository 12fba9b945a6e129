"""Typed training events, one vocabulary for every kind of data: the trainer emits them, the
views (or a test, with a list's `append`) listen.

A task fills the preview fields of its own kind and leaves the others empty.
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field


@dataclass
class TrainStart:
    kind: str  # "text" | "series": which renderer shows the run
    name: str  # the corpus or CSV
    facts: list[str]  # the task's header, e.g. "1,115,394 chars", "vocab 65"
    parameters: int
    device: str
    precision: str
    epochs: int
    windows_per_epoch: int
    batch_size: int
    unit: str = "chars"  # what `speed` counts: chars (text) or windows (series)
    start_epoch: int = 0
    start_step: int = 0
    max_steps: int | None = None
    time_budget: float | None = None


@dataclass
class Progress:
    epoch: int
    step: int
    window: int
    windows_per_epoch: int
    train_loss: float  # mean over the steps since the last Progress
    speed: float  # units (chars or windows) per second of this run's training so far
    elapsed: float  # seconds of training in this run
    fraction_done: float  # of the whole run (epochs, max steps or time budget)


@dataclass
class EpochEnd:
    epoch: int
    step: int
    train_loss: float
    val_loss: float | None
    best_loss: float
    is_best: bool
    speed: float  # units per second of this run's training so far
    complete: bool = True  # False when a budget or step limit ended the epoch early
    epochs_done: float = 0.0  # epochs as a fraction, for an epoch cut short
    best_epoch: int = 0
    elapsed: float = 0.0
    # text preview: (input window, argmax prediction) pairs and a free-running sample
    predictions: list[tuple[str, str]] = field(default_factory=list)
    sample: str = ""
    # series preview, in real units: (label, actual, predicted) test points, the test curve
    points: list[tuple[str, float, float]] = field(default_factory=list)
    curve: tuple[list[float], list[float]] = ((), ())
    val_rmse: float | None = None
    val_rmse_persistence: float | None = None

    @property
    def bpc(self) -> float:
        loss = self.val_loss if self.val_loss is not None else self.train_loss
        return loss / math.log(2)


@dataclass
class CheckpointSaved:
    path: str
    reason: str  # "last", "best", "interrupt"


@dataclass
class TrainEnd:
    best_path: str
    last_path: str
    best_loss: float
    stop_reason: str  # "epochs", "max_steps", "time_budget", "patience"
    best_epoch: int = 0
