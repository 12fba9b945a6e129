"""The one training loop: text and series runs differ only in the task they plug in.

The trainer owns what every run does: seeding, model and optimizer, the loop over windows
(resumable mid-epoch), the learning-rate schedule, limits and the stop reason, signals, the
NaN guard, best and history, the save policy, exact resume, agreement across torchrun ranks,
and events; the save policy is in saving.py, the schedule in schedule.py. A task owns what
differs (task.py says what it must give). Knows nothing of typer or rich.
"""
from __future__ import annotations

import contextlib
import math
import signal
import time
from pathlib import Path
from typing import Callable

import torch
import torch.nn as nn

from charrnn import __version__, checkpoint
from charrnn.config import ModelConfig, TrainConfig, to_dict
from charrnn.distributed import World, agree
from charrnn.engine.adam import make_adam
from charrnn.engine.averaging import TRAINED, WeightAverage
from charrnn.engine.events import EpochEnd, Progress, TrainEnd, TrainStart
from charrnn.engine.saving import Saver
from charrnn.engine.schedule import fraction_done, learning_rate, out_of_patience
from charrnn.engine.state import (RunState, check_optimizer_state, optimizer_from_tensors, payload,
                                  restored_carry)
from charrnn.engine.task import Task
from charrnn.errors import (EXIT_INTERRUPTED, EXIT_TERMINATED, CharrnnError, Interrupted,
                            TrainingFailed)
from charrnn.model import build_model, count_parameters, detach_state, float_state, zero_rows
from charrnn.runtime import StopSignals, autocast_factory, check_fits_in_memory

Listener = Callable[[object], None]
PROGRESS_SECONDS = 0.5
PREVIEW_SECONDS = 2.0  # predicted strings, samples and test points at most this often


class Trainer:
    def __init__(self, task: Task, model_cfg: ModelConfig, cfg: TrainConfig, out_dir: Path,
                 device: torch.device, precision: str, listeners: list[Listener] = (),
                 resume: checkpoint.Checkpoint | None = None, world: World = World()):
        self.task, self.model_cfg, self.cfg, self.world = task, model_cfg, cfg, world
        self.out_dir, self.device, self.precision = Path(out_dir), device, precision
        self.listeners = list(listeners)
        # previews cost forward passes: only for listeners that show them, at most every
        # PREVIEW_SECONDS unless a listener asks for more (`preview_seconds`, 0: every epoch)
        wanting = [listener for listener in listeners if getattr(listener, "wants_preview", False)]
        self.wants_preview = bool(wanting)
        self.preview_seconds = min([getattr(listener, "preview_seconds", PREVIEW_SECONDS)
                                    for listener in wanting], default=PREVIEW_SECONDS)
        self.autocast = autocast_factory(precision, device)
        check_fits_in_memory(model_cfg, device)
        torch.manual_seed(cfg.seed)
        self.model = build_model(model_cfg)
        task.init_model(self.model)
        self.model.to(device)
        self.net = self.model  # what the training step calls: DDP-wrapped across processes
        if world.distributed:
            from torch.nn.parallel import DistributedDataParallel

            self.net = DistributedDataParallel(
                self.model, device_ids=[device.index] if device.type == "cuda" else None)
            torch.manual_seed(cfg.seed + world.rank)  # each rank its own dropout masks
        self.optimizer = make_adam(self.model.parameters(), cfg.lr, cfg.weight_decay, device)
        self.average = WeightAverage(self.model, cfg.ema) if cfg.ema else None
        self.windows = task.batches(cfg, world)
        self.params = list(self.model.parameters())
        self.state = RunState()
        self.carry = None
        self.saver = Saver(self.out_dir, world.is_main, self.emit)
        self.time_up = self.interrupted = False  # agreed by all ranks each step when distributed
        self.t_preview = -math.inf
        self.t_start, self.elapsed_before = time.monotonic(), 0.0
        if resume is not None:
            self._restore(resume)
            self.elapsed_before = self.state.elapsed
            if self.state.epoch >= cfg.epochs and cfg.max_steps is None:
                raise CharrnnError(f"--resume {resume.path}: that run has already trained "
                                   f"{self.state.epoch} of its {cfg.epochs} epochs; give a larger "
                                   f"--epochs to go on")

    # read-only views of the run state, for callers and tests
    @property
    def epoch(self) -> int:
        return self.state.epoch

    @property
    def history(self) -> list:
        return self.state.history

    def weights(self) -> dict:
        """The weights a checkpoint written now would hold as its model: the average, if kept."""
        weights = self.model.state_dict()
        if self.average is not None:
            weights.update(zip(self.average.names, self.average.average))
        return weights

    @property
    def best_state(self) -> dict | None:
        """The best epoch's weights (a model state dict)."""
        return self.saver.best_weights()

    def emit(self, event) -> None:
        for listener in self.listeners:
            try:
                listener(event)
            except OSError as e:  # the reader of stdout or stderr went away, or a full disk
                self.listeners = []
                path = self._save("output lost")
                raise TrainingFailed(f"cannot write the progress ({e.strerror or e}); stopped "
                                     f"at step {self.state.step} and saved {path}") from None

    # ------------------------------------------------------------------ resume and saving
    def _restore(self, ckpt: checkpoint.Checkpoint) -> None:
        try:
            self._restore_run(ckpt)
        except torch.OutOfMemoryError:
            raise
        except (ValueError, TypeError, KeyError, IndexError, OverflowError, RuntimeError) as e:
            if "out of memory" in str(e) or "can't allocate memory" in str(e):
                raise  # a valid run on a full device, reported as such (cli)
            raise CharrnnError(f"--resume {ckpt.path}: its run state (optimizer, position, "
                               f"history or random state) is damaged or edited: "
                               f"{str(e).splitlines()[0][:200] if str(e) else type(e).__name__}"
                               ) from None

    def _restore_run(self, ckpt: checkpoint.Checkpoint) -> None:
        weights = ckpt.group("model")  # averaged, where the run kept an average
        self.model.load_state_dict(ckpt.group(TRAINED) or weights)
        if self.average is not None:
            self.average.restore(weights)
        optim = ckpt.meta.get("optimizer")
        if optim:
            sd = optimizer_from_tensors(ckpt.group("optim"), optim)
            params = [p for group in self.optimizer.param_groups for p in group["params"]]
            if len(sd["param_groups"]) != len(self.optimizer.param_groups):  # decay: 2, else 1
                raise CharrnnError(f"--resume {ckpt.path}: that run trained with --weight-decay "
                                   f"{ckpt.meta['train'].get('weight_decay', 0):g}; weight decay "
                                   f"cannot be turned on or off in a resumed run")
            check_optimizer_state(sd, params)  # the fused kernels trust every shape
            self.optimizer.load_state_dict(sd)
        self.state = RunState.from_meta(ckpt.meta)
        self.carry = restored_carry(ckpt, self.state, self.windows, self.cfg.batch_size,
                                    self.model_cfg.cell, self.device, self.world)
        rng = ckpt.tensors.get("rng.torch")
        if rng is not None:
            torch.set_rng_state(rng)

    def _payload(self) -> tuple[dict, dict]:
        """Everything a resume needs: weights, optimizer, RNG, carried state; and the metadata."""
        self.state.elapsed = self.elapsed_before + self._elapsed()
        with self._averaged():  # what the task derives from the weights, from those saved
            task_meta = self.task.meta(self.model)
        meta = {"kind": self.task.kind, "charrnn_version": __version__,
                "model": to_dict(self.model_cfg), "train": to_dict(self.cfg),
                **task_meta, "precision": self.precision,
                "device": str(self.device), "world_size": self.world.size,
                "windows_per_epoch": len(self.windows), **self.state.to_meta()}
        carry = None if self.world.distributed else self.carry  # other ranks' stay with them
        tensors, meta = payload(self.model, self.optimizer, carry, meta)
        if self.average is not None:
            tensors = self.average.into_payload(tensors)
        return tensors, meta

    def _save(self, reason: str = "last") -> Path:
        return self.saver.save(self._payload() if self.world.is_main else None, reason)

    def _keep_best(self, score: float | None) -> bool:
        """Remember the weights if `score` beats the best so far; written at the next save."""
        s = self.state
        if score is None:
            return False
        if s.best_epoch == 0 and math.isfinite(s.best_loss):  # the untrained model is the bar
            if not self.task.beats_initial(score, s.best_loss):
                return False
        elif not score < s.best_loss:
            return False
        s.best_loss, s.best_epoch = score, s.epoch
        self.saver.keep_best(self._payload())
        return True

    # ------------------------------------------------------------------ the run
    def run(self) -> TrainEnd:
        cfg, s = self.cfg, self.state
        self.emit(TrainStart(kind=self.task.kind, name=self.task.name(),
                             facts=self.task.start_facts(),
                             parameters=count_parameters(self.model), device=str(self.device),
                             precision=self.precision, epochs=cfg.epochs,
                             windows_per_epoch=len(self.windows),
                             batch_size=self.windows.batch_size, unit=self.task.unit,
                             start_epoch=s.epoch, start_step=s.step, max_steps=cfg.max_steps,
                             time_budget=cfg.time_budget))
        if self.world.is_main:
            checkpoint.remove_stale_temps(self.out_dir)
        self.t_start = time.monotonic()  # elapsed_before: training seconds of earlier runs
        self.saver.t_saved = self.t_start
        self.items_trained = 0
        if self.task.score_initial_model and s.step == 0:  # epoch 0: the untrained model
            self._keep_best(self._validate())
        stop_reason = "epochs"
        with StopSignals() as signals:
            self.signals = signals
            try:
                while s.epoch < cfg.epochs:
                    stop_reason = self._epoch()
                    if stop_reason:
                        break
                else:
                    stop_reason = "epochs"
            except TrainingFailed:
                self.saver.save_best()  # validated weights from before the failure
                raise
            if self.task.final_is_best:  # no epoch trained (a retraining for 0 epochs): no loss
                s.best_loss = s.history[-1]["train_loss"] if s.history else math.inf
                s.best_epoch = s.epoch
                self.saver.keep_best(self._payload())
            self._save()
        best = self.out_dir / "best.safetensors"
        last = self.out_dir / "last.safetensors"
        end = TrainEnd(str(best if best.exists() else last), str(last), s.best_loss, stop_reason,
                       s.best_epoch)
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

    def _speed(self) -> float:
        return self.items_trained / max(self._elapsed(), 1e-9)

    def _epoch(self) -> str | None:
        """Trains from the current window to the end of the epoch (or a limit)."""
        cfg, s, windows = self.cfg, self.state, self.windows
        if s.window == 0:
            self.carry, s.epoch_loss_sum, s.epoch_steps = None, 0.0, 0
        self.model.train()
        loss_sum = torch.zeros((), dtype=torch.float64, device=self.device)  # since last report
        since, t_report = 0, time.monotonic()
        limit = self._limit_reached()
        step_at_start = s.step
        while s.window < len(windows) and limit is None:
            batch = windows.window(s.window, s.epoch)
            if self.carry is not None:
                fresh = windows.fresh_rows(s.window, s.epoch)
                if fresh is not None:
                    self.carry = zero_rows(self.carry, fresh)
            self._set_lr()
            loss = self.train_step(*batch)
            if self.world.distributed:
                loss = self._agree(loss)
            loss_sum += loss
            since += 1
            self.items_trained += self.task.items(batch)
            s.step += 1
            s.window += 1
            limit = self._limit_reached()
            now = time.monotonic()
            # one-window epochs report through EpochEnd alone
            if now - t_report >= PROGRESS_SECONDS or (len(windows) > 1 and (
                    s.window == len(windows) or limit)):
                mean = self._fold(loss_sum, since)
                self.emit(Progress(s.epoch, s.step, s.window, len(windows), mean, self._speed(),
                                   self._elapsed(), self._fraction_done()))
                since, t_report = 0, now
            if self._stop_signalled():
                self._fold(loss_sum, since)
                self._interrupt()
            if self.saver.due(cfg.save_every) and s.window < len(windows) and not limit:
                self._fold(loss_sum, since)  # so the saved epoch sums are whole
                since = 0
                self._save()
        self._fold(loss_sum, since)
        complete = s.window >= len(windows)
        if complete:
            s.epoch += 1
            s.window = 0
        if s.step == step_at_start:
            return limit  # a limit reached before any step: nothing new to score or save
        self._end_of_epoch(complete)
        if self._stop_signalled():
            self._interrupt()
        if limit is None and out_of_patience(self.cfg, self.state):
            limit = "patience"
        if self.saver.due(cfg.save_every) and not limit:
            self._save()
        return limit

    def _stop_signalled(self) -> bool:
        return self.interrupted if self.world.distributed else self.signals.received is not None

    def _fraction_done(self) -> float:
        return fraction_done(self.cfg, self.state, len(self.windows), self._elapsed())

    def _set_lr(self) -> None:
        lr = learning_rate(self.cfg, self.state.epoch, self.state.step, self._fraction_done())
        for group in self.optimizer.param_groups:
            group["lr"] = lr

    def train_step(self, *batch: torch.Tensor) -> torch.Tensor:
        """One optimizer step on a window; returns the detached loss, no host sync."""
        batch = tuple(t.to(self.device, non_blocking=True) for t in batch)
        carries = self.windows.carries_state
        with self.autocast():
            objective, shown, carry = self.task.loss(self.net, batch,
                                                     self.carry if carries else None)
        if carries:
            self.carry = float_state(detach_state(carry))
        self.optimizer.zero_grad(set_to_none=True)
        objective.backward()
        if self.cfg.grad_clip > 0:
            nn.utils.clip_grad_norm_(self.params, self.cfg.grad_clip)
        self.optimizer.step()
        if self.average is not None:
            self.average.update(self.state.step + 1)
        return shown

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
            self._fail(f"the training loss became {mean} at step {self.state.step}")
        return mean

    def _fail(self, what: str) -> None:
        kept = (self.saver.best is not None
                or any((self.out_dir / f"{n}.safetensors").exists() for n in ("best", "last")))
        where = (f"the last good checkpoint in {self.out_dir} is kept" if kept else
                 f"{self.out_dir} holds no checkpoint yet")
        raise TrainingFailed(f"{what}; stopped without saving these weights ({where}); try a "
                             f"lower --lr" + (" or --grad-clip" if not self.cfg.grad_clip else ""))

    def _validate(self) -> float | None:
        loss = self.task.validate(self.model, self.autocast)
        if loss is not None and not math.isfinite(loss):
            self._fail(f"the validation loss became {loss} at step {self.state.step}")
        return loss

    def _averaged(self):
        return self.average.applied() if self.average is not None else contextlib.nullcontext()

    def _end_of_epoch(self, complete: bool) -> None:
        s = self.state
        huge = checkpoint.HUGE_WEIGHT
        largest = torch.stack([p.detach().abs().max() for p in self.params]).max()
        if not bool(largest <= huge):  # one sync per epoch (NaN compares False)
            self._fail(f"a weight became infinite, NaN or larger than {huge:.0e} at step {s.step}")
        train_loss = s.epoch_loss_sum / max(s.epoch_steps, 1)
        final = not complete or s.epoch >= self.cfg.epochs
        now = time.monotonic()
        preview = self.wants_preview and (final or now - self.t_preview >= self.preview_seconds)
        if preview:
            self.t_preview = now
        with self._averaged():  # scored and shown as saved
            val_loss = self._validate()
            fields = self.task.epoch_fields(self.model, val_loss, preview)
        s.history.append({"epoch": s.epoch, "step": s.step, "train_loss": train_loss,
                          "val_loss": val_loss, "complete": complete})
        is_best = self._keep_best(val_loss if val_loss is not None else train_loss)
        self.emit(EpochEnd(epoch=s.epoch, step=s.step, train_loss=train_loss, val_loss=val_loss,
                           best_loss=s.best_loss, is_best=is_best, speed=self._speed(),
                           complete=complete,
                           epochs_done=s.epoch + s.window / max(len(self.windows), 1),
                           best_epoch=s.best_epoch, elapsed=self._elapsed(), **fields))

    def _interrupt(self) -> None:
        signum = self.signals.received or signal.SIGTERM
        path = self._save("interrupt")
        name = "SIGTERM" if signum == signal.SIGTERM else "Ctrl-C"
        raise Interrupted(f"{name}: saved {path} at step {self.state.step}; continue with "
                          f"--resume {path}", EXIT_TERMINATED if signum == signal.SIGTERM else EXIT_INTERRUPTED)

