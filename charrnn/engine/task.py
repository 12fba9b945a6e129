"""What a kind of data must give the trainer: its windows (`Batches`) and a `Task`.

Text (text/task.py) and series (series/task.py) implement these; the trainer (trainer.py)
calls nothing else of theirs.
"""
from __future__ import annotations

from typing import Protocol

import torch

from charrnn.config import TrainConfig
from charrnn.distributed import World
from charrnn.model import RecurrentNet


class Batches(Protocol):
    carries_state: bool  # True: the recurrent state flows from one window into the next
    batch_size: int

    def __len__(self) -> int: ...
    def window(self, index: int, epoch: int = 0) -> tuple[torch.Tensor, ...]: ...
    def fresh_rows(self, index: int, epoch: int = 0) -> torch.Tensor | None:
        """The rows (bool, batch_size) whose carried state restarts from zero before window
        `index`, or None; the trainer asks only while it carries a state (`carries_state`)."""


class Task(Protocol):
    kind: str  # "text" | "series": stored in checkpoints, picks the views' renderer
    unit: str  # what a window's items are: "chars" | "windows"
    score_initial_model: bool  # validate before the first step (series: the baseline itself)
    final_is_best: bool  # no validation to choose an epoch: the last is the model (best too)

    def batches(self, cfg: TrainConfig, world: World) -> Batches: ...
    def init_model(self, model: RecurrentNet) -> None: ...
    def loss(self, net, batch: tuple, carry) -> tuple[torch.Tensor, torch.Tensor, object]:
        """(objective to minimise, loss to report, new carry) for one window."""
    def items(self, batch: tuple) -> int: ...
    def validate(self, model: RecurrentNet, autocast) -> float | None: ...
    def beats_initial(self, score: float, initial: float) -> bool:
        """Whether a trained epoch's validation `score` beats the untrained model's `initial`
        (both from validate) by enough to replace it."""
    def epoch_fields(self, model: RecurrentNet, val_loss: float | None, preview: bool) -> dict: ...
    def start_facts(self) -> list[str]: ...
    def name(self) -> str: ...
    def meta(self, model: RecurrentNet) -> dict:
        """The kind's checkpoint metadata for the weights `model` holds now."""
