"""Scoring text the way the model was trained: carried state over a stream, or sliding windows."""
from __future__ import annotations

import contextlib
import math
from dataclasses import dataclass

import numpy as np
import torch
import torch.nn.functional as F

from charrnn.text.data import as_long


@dataclass
class TextScores:
    loss_sum: float  # nats
    correct: int
    chars: int
    unknown_chars: int = 0

    @property
    def loss(self) -> float:
        return self.loss_sum / self.chars if self.chars else float("nan")

    @property
    def bpc(self) -> float:
        return self.loss / math.log(2)

    @property
    def perplexity(self) -> float:
        return math.exp(self.loss) if self.loss < 700 else float("inf")

    @property
    def accuracy(self) -> float:
        return self.correct / self.chars if self.chars else float("nan")

    def as_dict(self) -> dict:
        return {"loss": self.loss, "bpc": self.bpc, "perplexity": self.perplexity,
                "accuracy": self.accuracy, "chars": self.chars, "unknown_chars": self.unknown_chars}


def _device(model) -> torch.device:
    return next(model.parameters()).device


@torch.inference_mode()
def score_stream(model, ids: np.ndarray, streams: int = 1, chunk: int = 512,
                 autocast=contextlib.nullcontext) -> TextScores:
    """Every character after the first scored with state carried from the start of its stream.

    `streams` > 1 cuts the text into that many contiguous rows scored side by side (faster;
    each row restarts from a zero state).
    """
    was_training = model.training
    model.eval()
    device = _device(model)
    streams = max(1, min(streams, (len(ids) - 1)))
    cols = (len(ids) - 1) // streams
    inputs = ids[: streams * cols].reshape(streams, cols)  # views: a memmap stays on disk
    targets = ids[1: streams * cols + 1].reshape(streams, cols)
    loss_sum = torch.zeros((), dtype=torch.float64, device=device)
    correct = torch.zeros((), dtype=torch.long, device=device)
    state = None
    for start in range(0, cols, chunk):
        x = as_long(inputs[:, start:start + chunk]).to(device)
        y = as_long(targets[:, start:start + chunk]).to(device)
        with autocast():
            logits, state = model(x, state)
        logits = logits.float()
        loss_sum += F.cross_entropy(logits.reshape(-1, logits.shape[-1]), y.reshape(-1),
                                    reduction="sum").double()
        correct += (logits.argmax(-1) == y).sum()
    model.train(was_training)
    return TextScores(loss_sum.item(), int(correct.item()), streams * cols)


BURN_IN = 256  # characters a stream reads, uncounted, before its first counted one
MAX_STREAMS = 16


def stream_count(n_chars: int, burn_in: int = BURN_IN, max_streams: int = MAX_STREAMS) -> int:
    """Streams for a text: at most one per 4 burn-ins of text (the burn-in adds <= 25%)."""
    return max(1, min(max_streams, (n_chars - 1) // (4 * max(burn_in, 1))))


@torch.inference_mode()
def score_streams(model, ids: np.ndarray, streams: int | None = None, burn_in: int = BURN_IN,
                  chunk: int = 512, autocast=contextlib.nullcontext) -> TextScores:
    """The one-stream score (every character after the first, state carried from the start)
    computed as `streams` contiguous parts side by side: a part's stream first reads the
    `burn_in` characters before it, uncounted, so it starts with a state close to the one a
    single stream would carry there; the first part starts from a zero state at the text's
    start, as one stream does. Each character is counted exactly once."""
    n_targets = len(ids) - 1
    streams = stream_count(len(ids), burn_in) if streams is None else streams
    streams = max(1, min(streams, n_targets // max(burn_in, 1) if burn_in else n_targets))
    if streams == 1:
        return score_stream(model, ids, chunk=chunk, autocast=autocast)
    was_training = model.training
    model.eval()
    device = _device(model)
    cols = -(-n_targets // streams)  # counted columns per stream; the last may run short
    first = np.arange(streams, dtype=np.int64)[:, None] * cols - burn_in  # (S, 1) positions
    loss_sum = torch.zeros((), dtype=torch.float64, device=device)
    correct = torch.zeros((), dtype=torch.long, device=device)
    chars, state, start = 0, None, 0
    while start < burn_in + cols:
        # the burn-in alone first: then the first stream is set to a zero state
        stop = burn_in if start < burn_in else min(start + chunk, burn_in + cols)
        pos = first + np.arange(start, stop)[None, :]  # input positions; targets pos + 1
        valid = (pos >= 0) & (pos < n_targets)
        safe = np.where(valid, pos, 0)
        x = as_long(ids[safe]).to(device)
        with autocast():
            logits, state = model(x, state)
        if start < burn_in:
            for part in state if isinstance(state, tuple) else (state,):
                part[:, 0].zero_()
            start = stop
            continue
        y = torch.from_numpy(np.where(valid, ids[safe + 1].astype(np.int64), -100)).to(device)
        logits = logits.float().reshape(-1, logits.shape[-1])
        y = y.reshape(-1)
        loss_sum += F.cross_entropy(logits, y, reduction="sum", ignore_index=-100).double()
        correct += (logits.argmax(-1) == y).sum()
        chars += int(valid.sum())
        start = stop
    model.train(was_training)
    return TextScores(loss_sum.item(), int(correct.item()), chars)


@torch.inference_mode()
def score_sliding(model, ids: np.ndarray, seq_len: int, batch: int = 1024) -> TextScores:
    """The lecture's reconstruction: the first window scores all its positions from a zero
    state, every later window (stride 1, zero state) only its last position."""
    was_training = model.training
    model.eval()
    device = _device(model)
    loss_sum, correct, chars = 0.0, 0, 0
    count = len(ids) - seq_len
    for start in range(0, count, batch):
        starts = np.arange(start, min(start + batch, count))
        idx = starts[:, None] + np.arange(seq_len + 1)[None, :]
        chunk = torch.from_numpy(ids[idx].astype(np.int64)).to(device)
        logits, _ = model(chunk[:, :-1])
        logits, targets = logits.float(), chunk[:, 1:]
        nll = F.cross_entropy(logits.transpose(1, 2), targets, reduction="none")  # (B, T)
        hit = logits.argmax(-1) == targets
        keep = torch.zeros_like(hit)
        keep[:, -1] = True
        if start == 0:
            keep[0, :] = True
        loss_sum += nll[keep].double().sum().item()
        correct += int(hit[keep].sum().item())
        chars += int(keep.sum().item())
    model.train(was_training)
    return TextScores(loss_sum, correct, chars)


@torch.inference_mode()
def predicted_strings(model, vocab, ids: np.ndarray, starts: list[int],
                      seq_len: int) -> list[tuple[str, str]]:
    """Teacher-forced argmax from a zero state: the lecture's `if you wan -> f you want`."""
    was_training = model.training
    model.eval()
    device = _device(model)
    windows = np.stack([ids[s:s + seq_len] for s in starts])
    logits, _ = model(torch.from_numpy(windows.astype(np.int64)).to(device))
    guesses = logits.argmax(-1).cpu().numpy()
    model.train(was_training)
    return [(vocab.decode(w), vocab.decode(g)) for w, g in zip(windows, guesses)]
