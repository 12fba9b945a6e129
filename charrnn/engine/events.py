"""Typed training events: the engine emits them, the live view (or a test) listens."""
from __future__ import annotations

from dataclasses import dataclass, field


@dataclass
class TrainStart:
    corpus: str
    chars: int
    vocab_size: int
    parameters: int
    device: str
    precision: str
    epochs: int
    windows_per_epoch: int
    batch_size: int
    seq_len: int
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
    chars_per_sec: float
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
    chars_per_sec: float
    predictions: list[tuple[str, str]] = field(default_factory=list)  # (input, argmax prediction)
    sample: str = ""
    complete: bool = True  # False when a budget or step limit ended the epoch early
    epochs_done: float = 0.0  # epochs as a fraction, for an epoch cut short

    @property
    def bpc(self) -> float:
        import math

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
    stop_reason: str  # "epochs", "max_steps", "time_budget"
