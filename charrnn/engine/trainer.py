"""Training a character model: truncated BPTT or sliding windows, events out, checkpoints.

Knows nothing of typer or rich: listeners receive the events in `charrnn.engine.events`.
"""
from __future__ import annotations

import math
import signal
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

import numpy as np
import torch
import torch.nn as nn

from charrnn import checkpoint, __version__
from charrnn.config import ModelConfig, TrainConfig, to_dict
from charrnn.distributed import World, agree, shard
from charrnn.errors import CharrnnError, Interrupted, TrainingFailed
from charrnn.text.evaluate import predicted_strings, score_sliding, score_stream
from charrnn.engine.events import CheckpointSaved, EpochEnd, Progress, TrainEnd, TrainStart
from charrnn.text.losses import sequence_loss
from charrnn.model import RecurrentNet, count_parameters, detach_state, state_from_tensors, state_tensors
from charrnn.runtime import StopSignals, autocast_factory
from charrnn.text.sampling import SamplingSettings, sample_text
from charrnn.text.data import SlidingWindows, StreamWindows, Vocab

Listener = Callable[[object], None]
VAL_CHARS_PER_STREAM = 20_000  # streams scored side by side; each starts from a zero state
VAL_MAX_CHARS = 250_000  # per-epoch validation scores at most this much of the tail
PROGRESS_SECONDS = 0.5
SHOWN_WINDOWS = 3
SHOWN_WINDOW_MAX = 60
SAMPLE_CHARS = 160
MIN_LR_FRACTION = 0.1  # where the cosine schedule ends, as a fraction of --lr
SAMPLE_SECONDS = 2.0  # a fresh free-running sample at most this often (tiny epochs are ms long)


@dataclass
class TextData:
    vocab: Vocab
    train_ids: np.ndarray
    val_ids: np.ndarray | None
    name: str

    @property
    def chars(self) -> int:
        return len(self.train_ids) + (0 if self.val_ids is None else len(self.val_ids))


def split_text(ids: np.ndarray, vocab: Vocab, name: str, cfg: TrainConfig) -> TextData:
    """Contiguous validation tail; checks that both parts hold at least one window."""
    need = cfg.seq_len + 1
    n_val = int(round(len(ids) * cfg.val_frac)) if cfg.val_frac > 0 else 0
    if len(ids) - n_val < need or (n_val and n_val < (need if cfg.sliding else 2)):
        if len(ids) < need:
            raise CharrnnError(f"corpus {name}: {len(ids)} characters is shorter than one window "
                               f"(--seq-len {cfg.seq_len} needs {need}); use a smaller --seq-len")
        raise CharrnnError(f"corpus {name}: {len(ids)} characters is too short to hold out "
                           f"--val-frac {cfg.val_frac} and still train on a window of "
                           f"{cfg.seq_len}; use --val-frac 0 or a smaller --seq-len")
    val = ids[len(ids) - n_val:] if n_val else None
    return TextData(vocab, ids[:len(ids) - n_val], val, name)


@dataclass
class RunState:
    """Where a run stands; everything `--resume` needs besides weights and optimizer."""

    epoch: int = 0  # completed epochs
    step: int = 0
    window: int = 0  # next window of the current epoch
    epoch_loss_sum: float = 0.0
    epoch_steps: int = 0
    best_loss: float = math.inf
    history: list = field(default_factory=list)

    @classmethod
    def from_meta(cls, meta: dict) -> "RunState":
        best = meta.get("best_loss")
        return cls(epoch=int(meta.get("epoch", 0)), step=int(meta.get("step", 0)),
                   window=int(meta.get("window", 0)),
                   epoch_loss_sum=float(meta.get("epoch_loss_sum", 0.0)),
                   epoch_steps=int(meta.get("epoch_steps", 0)),
                   best_loss=math.inf if best is None else float(best),
                   history=list(meta.get("history", [])))


class TextTrainer:
    def __init__(self, data: TextData, model_cfg: ModelConfig, train_cfg: TrainConfig,
                 out_dir: Path, device: torch.device, precision: str,
                 listeners: list[Listener] = (), resume: checkpoint.Checkpoint | None = None,
                 world: World = World()):
        self.data, self.model_cfg, self.cfg, self.world = data, model_cfg, train_cfg, world
        self.out_dir, self.device, self.precision = Path(out_dir), device, precision
        self.listeners = list(listeners)
        # predicted strings and samples cost forward passes: only for listeners that show them
        self.wants_text = any(getattr(listener, "wants_text", False) for listener in listeners)
        self.last_sample, self.t_sample = "", -math.inf
        self.autocast = autocast_factory(precision, device)
        torch.manual_seed(train_cfg.seed)
        self.model = RecurrentNet(model_cfg).to(device)
        self.net = self.model  # what the training step calls: DDP-wrapped across processes
        if world.distributed:
            from torch.nn.parallel import DistributedDataParallel

            self.net = DistributedDataParallel(
                self.model, device_ids=[device.index] if device.type == "cuda" else None)
            torch.manual_seed(train_cfg.seed + world.rank)  # each rank its own dropout masks
        self.optimizer = torch.optim.Adam(self.model.parameters(), lr=train_cfg.lr,
                                          weight_decay=train_cfg.weight_decay,
                                          fused=device.type == "cuda")
        if train_cfg.sliding:
            self.windows = SlidingWindows(data.train_ids, train_cfg.seq_len,
                                          train_cfg.batch_size, train_cfg.seed)
        else:
            self.windows = StreamWindows(shard(data.train_ids, world), train_cfg.batch_size,
                                         train_cfg.seq_len)
        self.params = list(self.model.parameters())
        self.state = RunState()
        self.carry = None
        self.time_up = self.interrupted = False  # agreed by all ranks each step when distributed
        if resume is not None:
            self._restore(resume)

    # ------------------------------------------------------------------ events and saving
    def emit(self, event) -> None:
        for listener in self.listeners:
            listener(event)

    def _restore(self, ckpt: checkpoint.Checkpoint) -> None:
        self.model.load_state_dict(ckpt.group("model"))
        optim = ckpt.meta.get("optimizer")
        if optim:
            self.optimizer.load_state_dict(_optimizer_from_tensors(ckpt.group("optim"), optim))
        self.state = RunState.from_meta(ckpt.meta)
        same_windows = all(ckpt.meta["train"].get(k) == getattr(self.cfg, k)
                           for k in ("seq_len", "batch_size", "sliding"))
        if not same_windows or self.state.window >= len(self.windows):
            self.state.window, self.state.epoch_loss_sum, self.state.epoch_steps = 0, 0.0, 0
        elif (self.state.window and self.windows.carries_state and not self.world.distributed
              and ckpt.meta.get("world_size", 1) == 1):
            carry = [t.to(self.device) for _, t in sorted(ckpt.group("carry").items())]
            if all(t.shape[1] == self.windows.batch_size for t in carry):
                self.carry = state_from_tensors(self.model_cfg.cell, carry)
        rng = ckpt.tensors.get("rng.torch")
        if rng is not None:
            torch.set_rng_state(rng)

    def _save(self, names: tuple[str, ...], reason: str) -> Path:
        if not self.world.is_main:
            return self.out_dir / "last.safetensors"
        tensors = {f"model.{k}": v for k, v in self.model.state_dict().items()}
        opt_tensors, opt_meta = _optimizer_to_tensors(self.optimizer)
        tensors.update(opt_tensors)
        tensors["rng.torch"] = torch.get_rng_state()
        if not self.world.distributed:  # other ranks' carried states stay with them
            for i, t in enumerate(state_tensors(self.carry)):
                tensors[f"carry.{i}"] = t
        s = self.state
        meta = {"kind": "text", "charrnn_version": __version__,
                "model": to_dict(self.model_cfg), "train": to_dict(self.cfg),
                "vocab": self.data.vocab.chars, "corpus": self.data.name,
                "start_char": self.data.vocab.decode(self.data.train_ids[:1]),
                "precision": self.precision, "world_size": self.world.size,
                "epoch": s.epoch, "step": s.step, "window": s.window,
                "epoch_loss_sum": s.epoch_loss_sum, "epoch_steps": s.epoch_steps,
                "best_loss": None if math.isinf(s.best_loss) else s.best_loss,
                "history": s.history, "optimizer": opt_meta}
        try:
            for name in names:
                path = checkpoint.save(self.out_dir / f"{name}.safetensors", tensors, meta)
                self.emit(CheckpointSaved(str(path), reason if name == "last" else name))
        except OSError as e:
            raise CharrnnError(f"cannot write checkpoint in {self.out_dir} ({e.strerror}); "
                               f"choose another --out") from None
        return path

    # ------------------------------------------------------------------ the run
    def run(self) -> TrainEnd:
        cfg, s = self.cfg, self.state
        self.emit(TrainStart(corpus=self.data.name, chars=self.data.chars,
                             vocab_size=len(self.data.vocab),
                             parameters=count_parameters(self.model), device=str(self.device),
                             precision=self.precision, epochs=cfg.epochs,
                             windows_per_epoch=len(self.windows),
                             batch_size=self.windows.batch_size, seq_len=cfg.seq_len,
                             start_epoch=s.epoch, start_step=s.step, max_steps=cfg.max_steps,
                             time_budget=cfg.time_budget))
        checkpoint.remove_stale_temps(self.out_dir)
        self.t_start = time.monotonic()
        self.chars_trained = 0
        stop_reason = "epochs"
        with StopSignals() as signals:
            self.signals = signals
            while s.epoch < cfg.epochs:
                stop_reason = self._epoch()
                if stop_reason:
                    break
            else:
                stop_reason = "epochs"
        best = self.out_dir / "best.safetensors"
        last = self.out_dir / "last.safetensors"
        end = TrainEnd(str(best if best.exists() else last), str(last), s.best_loss, stop_reason)
        self.emit(end)
        return end

    def _limit_reached(self) -> str | None:
        if self.cfg.max_steps is not None and self.state.step >= self.cfg.max_steps:
            return "max_steps"
        if self.world.distributed:
            return "time_budget" if self.time_up else None
        if self.cfg.time_budget is not None and self._elapsed() >= self.cfg.time_budget:
            return "time_budget"
        return None

    def _agree(self, loss: torch.Tensor) -> torch.Tensor:
        """Distributed: every rank learns the mean loss and whether any rank must stop."""
        budget = self.cfg.time_budget
        loss, (self.time_up, self.interrupted) = agree(
            loss, budget is not None and self._elapsed() >= budget,
            self.signals.received is not None)
        if not math.isfinite(loss.item()):  # checked by every rank at the same step
            self._checked_mean(loss, 1)
        return loss

    def _elapsed(self) -> float:
        return time.monotonic() - self.t_start

    def _epoch(self) -> str | None:
        """Trains from the current window to the end of the epoch (or a limit)."""
        cfg, s, model = self.cfg, self.state, self.model
        if s.window == 0:
            self.carry, s.epoch_loss_sum, s.epoch_steps = None, 0.0, 0
        model.train()
        loss_sum = torch.zeros((), dtype=torch.float64, device=self.device)  # since last report
        since, t_report, t_save, chars = 0, time.monotonic(), time.monotonic(), 0
        limit = self._limit_reached()
        step_at_start = s.step
        while s.window < len(self.windows) and limit is None:
            x, y = self.windows.window(s.window, s.epoch)
            self._set_lr()
            loss = self.train_step(x, y)
            if self.world.distributed:
                loss = self._agree(loss)
            loss_sum += loss
            since += 1
            chars += y.numel()
            self.chars_trained += y.numel()
            s.step += 1
            s.window += 1
            limit = self._limit_reached()
            now = time.monotonic()
            if now - t_report >= PROGRESS_SECONDS or s.window == len(self.windows) or limit:
                mean = self._fold(loss_sum, since)
                self.emit(Progress(s.epoch, s.step, s.window, len(self.windows), mean,
                                   chars / max(now - t_report, 1e-9), self._elapsed(),
                                   self._fraction_done()))
                since, chars, t_report = 0, 0, now
            if self._stop_signalled():
                self._fold(loss_sum, since)
                self._interrupt()
            if now - t_save >= cfg.save_every and s.window < len(self.windows) and not limit:
                self._fold(loss_sum, since)  # so the saved epoch sums are whole
                since = 0
                self._save(("last",), "last")
                t_save = time.monotonic()
        complete = s.window >= len(self.windows)
        if complete:
            s.epoch += 1
            s.window = 0
        if s.step == step_at_start:
            return limit  # a limit reached before any step: nothing new to score or save
        self._end_of_epoch(complete)
        if self._stop_signalled():
            self._interrupt()
        return limit

    def _stop_signalled(self) -> bool:
        return self.interrupted if self.world.distributed else self.signals.received is not None

    def _set_lr(self) -> None:
        """The learning rate for the next step, from the config alone (so a resume agrees):
        per-epoch decay, linear warm-up, and a cosine to 10% at the end of the run."""
        cfg, s = self.cfg, self.state
        lr = cfg.lr * cfg.lr_decay ** s.epoch
        if cfg.warmup_steps:
            lr *= min(1.0, (s.step + 1) / cfg.warmup_steps)
        if cfg.lr_schedule == "cosine":
            cosine = 0.5 * (1 + math.cos(math.pi * self._fraction_done()))
            lr *= MIN_LR_FRACTION + (1 - MIN_LR_FRACTION) * cosine
        for group in self.optimizer.param_groups:
            group["lr"] = lr

    def train_step(self, x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        """One optimizer step on a window (B, T); returns the detached loss, no host sync."""
        x = x.to(self.device, non_blocking=True)
        y = y.to(self.device, non_blocking=True)
        with self.autocast():
            logits, carry = self.net(x, self.carry if self.windows.carries_state else None)
            loss = sequence_loss(logits, y)
        if self.windows.carries_state:
            self.carry = _float_state(detach_state(carry))
        self.optimizer.zero_grad(set_to_none=True)
        loss.backward()
        if self.cfg.grad_clip > 0:
            nn.utils.clip_grad_norm_(self.params, self.cfg.grad_clip)
        self.optimizer.step()
        return loss.detach()

    def _fold(self, loss_sum: torch.Tensor, count: int) -> float:
        """Moves the losses summed on the device into the epoch's totals; their mean."""
        if count == 0:
            return math.nan
        mean = self._checked_mean(loss_sum, count)
        self.state.epoch_loss_sum += mean * count
        self.state.epoch_steps += count
        loss_sum.zero_()
        return mean

    def _checked_mean(self, loss_sum: torch.Tensor, count: int) -> float:
        mean = loss_sum.item() / max(count, 1)  # the one host sync per report
        if not math.isfinite(mean):
            raise TrainingFailed(
                f"the training loss became {mean} at step {self.state.step}; stopped without "
                f"saving (the last good checkpoint in {self.out_dir} is kept); try a lower --lr "
                f"or --grad-clip")
        return mean

    def _fraction_done(self) -> float:
        s, cfg = self.state, self.cfg
        parts = [(s.epoch + s.window / max(len(self.windows), 1)) / max(cfg.epochs, 1)]
        if cfg.max_steps:
            parts.append(s.step / cfg.max_steps)
        if cfg.time_budget:
            parts.append(self._elapsed() / cfg.time_budget)
        return min(1.0, max(parts))

    def _end_of_epoch(self, complete: bool) -> None:
        s = self.state
        train_loss = s.epoch_loss_sum / max(s.epoch_steps, 1)
        val_loss = self._validate()
        score = val_loss if val_loss is not None else train_loss
        is_best = score < s.best_loss
        if is_best:
            s.best_loss = score
        s.history.append({"epoch": s.epoch, "step": s.step, "train_loss": train_loss,
                          "val_loss": val_loss, "complete": complete})
        self._save(("last", "best") if is_best else ("last",), "last")
        elapsed = max(self._elapsed(), 1e-9)
        self.emit(EpochEnd(epoch=s.epoch, step=s.step, train_loss=train_loss, val_loss=val_loss,
                           best_loss=s.best_loss, is_best=is_best,
                           chars_per_sec=self.chars_trained / elapsed,
                           predictions=self._predictions() if self.wants_text else [],
                           sample=self._sample(final=not complete or s.epoch >= self.cfg.epochs)
                           if self.wants_text else "", complete=complete,
                           epochs_done=s.epoch + s.window / max(len(self.windows), 1)))

    def _validate(self) -> float | None:
        ids = self.data.val_ids
        if ids is None:
            return None
        ids = ids[:VAL_MAX_CHARS]  # a 1 GB corpus must not spend an hour validating each epoch
        if self.cfg.sliding:
            return score_sliding(self.model, ids, self.cfg.seq_len).loss
        streams = -(-len(ids) // VAL_CHARS_PER_STREAM)
        # in the training precision: on 2 x 512 bf16 scores the tinyshakespeare tail 2.7x faster
        # than fp32 and within 0.0003 nats of it (`charrnn eval` stays fp32)
        return score_stream(self.model, ids, streams=streams, autocast=self.autocast).loss

    def _predictions(self) -> list[tuple[str, str]]:
        ids = self.data.train_ids
        length = min(self.cfg.seq_len, SHOWN_WINDOW_MAX, len(ids))
        last = len(ids) - length
        starts = sorted({0, *(last * k // SHOWN_WINDOWS for k in range(1, SHOWN_WINDOWS))})
        return predicted_strings(self.model, self.data.vocab, ids, starts, length)

    def _sample(self, final: bool) -> str:
        if not final and time.monotonic() - self.t_sample < SAMPLE_SECONDS:
            return self.last_sample
        vocab = self.data.vocab
        prime = "\n" if "\n" in vocab.chars else vocab.decode(self.data.train_ids[:1])
        self.last_sample = sample_text(self.model, vocab, prime, SAMPLE_CHARS,
                                       SamplingSettings(temperature=0.8), seed=self.cfg.seed)
        self.t_sample = time.monotonic()
        return self.last_sample

    def _interrupt(self) -> None:
        signum = self.signals.received or signal.SIGTERM
        path = self._save(("last",), "interrupt")
        name = "SIGTERM" if signum == signal.SIGTERM else "Ctrl-C"
        raise Interrupted(f"{name}: saved {path} at step {self.state.step}; continue with "
                          f"--resume {path}", 143 if signum == signal.SIGTERM else 130)


def _float_state(state):
    """Autocast may hand back bf16 state; carry it in fp32 like the weights."""
    if isinstance(state, tuple):
        return tuple(t.float() for t in state)
    return state.float()


def _optimizer_to_tensors(optimizer) -> tuple[dict, dict]:
    sd = optimizer.state_dict()
    tensors, scalars = {}, {}
    for idx, entry in sd["state"].items():
        for key, value in entry.items():
            if torch.is_tensor(value):
                tensors[f"optim.{idx}.{key}"] = value
            else:
                scalars[f"{idx}.{key}"] = value
    return tensors, {"param_groups": sd["param_groups"], "scalars": scalars}


def _optimizer_from_tensors(tensors: dict, meta: dict) -> dict:
    state: dict = {}
    for name, value in tensors.items():
        idx, key = name.split(".", 1)
        state.setdefault(int(idx), {})[key] = value
    for name, value in meta.get("scalars", {}).items():
        idx, key = name.split(".", 1)
        state.setdefault(int(idx), {})[key] = value
    groups = []
    for group in meta["param_groups"]:
        group = dict(group)
        if isinstance(group.get("betas"), list):
            group["betas"] = tuple(group["betas"])
        groups.append(group)
    return {"state": state, "param_groups": groups}
