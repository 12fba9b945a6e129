"""An exponential moving average of the weights (`--ema`), which validation, the previews and
the checkpoints' `model` tensors use, while training goes on from the trained weights (kept
beside them as `trained`, for `--resume`).

Late in a run the trained weights wander around a minimum with the noise of each batch; their
average sits nearer it. On tinyshakespeare's tail (2 x 512, sequence 50, cosine schedule, six
runs, BENCHMARKS.md "Averaged weights") the average over the last five hundred to a thousand
steps scored 0.002-0.008 nats/char below the trained weights of the same run, for one lerp a
step; the default ten-minute run 1.4319 against 1.4406.
"""
from __future__ import annotations

from contextlib import contextmanager

import torch

TRAINED = "trained"  # the checkpoint group that holds the weights training goes on from


class WeightAverage:
    def __init__(self, model: torch.nn.Module, decay: float):
        self.decay = decay
        self.names = [name for name, _ in model.named_parameters()]
        self.params = [p for _, p in model.named_parameters()]
        self.average = [p.detach().clone() for p in self.params]

    def update(self, step: int) -> None:
        """Moves the average towards the weights after optimizer step `step` (1 the first);
        early on the average forgets faster, so a short run is not held near its start."""
        decay = min(self.decay, (1 + step) / (10 + step))
        torch._foreach_lerp_(self.average, [p.detach() for p in self.params], 1 - decay)

    @contextmanager
    def applied(self):
        """The averaged weights in the model for the block; the trained ones again after."""
        trained = [p.detach().clone() for p in self.params]
        with torch.no_grad():
            torch._foreach_copy_(self.params, self.average)
        try:
            yield
        finally:
            with torch.no_grad():
                torch._foreach_copy_(self.params, trained)

    def into_payload(self, tensors: dict) -> dict:
        """A checkpoint's tensors with the average as `model.*` and the trained weights moved
        to `trained.*`."""
        for name, average in zip(self.names, self.average):
            tensors[f"{TRAINED}.{name}"] = tensors[f"model.{name}"]
            tensors[f"model.{name}"] = average
        return tensors

    def restore(self, averaged: dict) -> None:
        """Takes the average from a checkpoint's `model` group (a run resumed with --ema)."""
        with torch.no_grad():
            for name, average in zip(self.names, self.average):
                if name in averaged:
                    average.copy_(averaged[name])
