"""Training the many-to-one forecaster: full-batch steps, `best` by validation loss, events out.

Knows nothing of typer or rich. One epoch is one optimizer step over every training window
(the lecture's protocol), so an epoch takes milliseconds: checkpoints are kept in memory and
written at the end, on interrupt, and every `--save-every` seconds of a long run.
"""
from __future__ import annotations

import contextlib
import math
import signal
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

import numpy as np
import torch

from charrnn import __version__, checkpoint
from charrnn.config import ModelConfig, to_dict
from charrnn.errors import CharrnnError, Interrupted, TrainingFailed
from charrnn.engine.events import CheckpointSaved
from charrnn.model import RecurrentNet, count_parameters
from charrnn.runtime import StopSignals
from charrnn.series.prepare import Prepared, Windows

Listener = Callable[[object], None]
CURVE_POINTS = 60  # test windows previewed each epoch (sparkline)
SHOWN_POINTS = 4  # of which shown as numbers


@dataclass(frozen=True)
class SeriesConfig:
    """How a forecaster is trained and what it reads; stored in every series checkpoint."""

    window: int = 7
    horizon: int = 1
    test_frac: float = 0.3
    val_frac: float = 0.1
    scale_fit: str = "train"  # train | all (the lecture's protocol: test rows leak into scaling)
    target_mode: str = "delta"  # delta: change from the last observed target | level
    loss: str = "mse"  # mse | sse (the lecture's sum of squares)
    lr: float = 0.01
    epochs: int = 500
    seed: int = 1234
    save_every: float = 60.0
    target: str = ""
    features: list = field(default_factory=list)
    newest_first: bool = False
    fill: bool = False


@dataclass
class SeriesStart:
    name: str
    rows: int
    features: list[str]
    target: str
    train: int
    val: int
    test: int
    parameters: int
    device: str
    epochs: int


@dataclass
class SeriesEpoch:
    epoch: int
    epochs: int
    train_loss: float  # MSE on the scaled target axis, whatever the mode and loss
    val_loss: float | None
    best_loss: float
    best_epoch: int
    is_best: bool
    val_rmse: float | None  # real units
    val_rmse_persistence: float | None
    points: list[tuple[str, float, float]] = field(default_factory=list)  # label, actual, predicted
    curve: tuple[list[float], list[float]] = ((), ())  # test actual, predicted (step 1)
    loss_history: list[float] = field(default_factory=list)
    elapsed: float = 0.0


@dataclass
class SeriesEnd:
    best_path: str
    last_path: str
    best_epoch: int
    best_loss: float
    stop_reason: str  # "epochs"


@contextlib.contextmanager
def cpu_threads(device: torch.device, model_cfg: ModelConfig, windows: int):
    """One CPU thread for small models: a full-batch step of the lecture's LSTM took 2 ms on
    one thread and 29 ms on two busy cores (thread hand-offs cost more than the work)."""
    before = torch.get_num_threads()
    small = windows * model_cfg.hidden_size * model_cfg.hidden_size * model_cfg.num_layers < 2e7
    if device.type == "cpu" and small:
        torch.set_num_threads(1)
    try:
        yield
    finally:
        torch.set_num_threads(before)


def lecture_init(model: RecurrentNet) -> None:
    """The lecture's TensorFlow 1 initialization: Glorot-uniform over each layer's concatenated
    [input; hidden] kernel, zero biases (forget gate +1, as BasicLSTMCell adds), Glorot head.

    The lecture's model on its file (500 epochs, no validation part, seeds 1-10) then scores
    scaled RMSE 0.0269 +- 0.0021 (the lecture: 0.0259); PyTorch's default init, with uniform
    biases, gave 0.0301 +- 0.0043 and up to 0.037.
    """
    rnn, hidden = model.rnn, model.cfg.hidden_size
    with torch.no_grad():
        for layer in range(rnn.num_layers):
            w_ih, w_hh = getattr(rnn, f"weight_ih_l{layer}"), getattr(rnn, f"weight_hh_l{layer}")
            limit = math.sqrt(6 / (w_ih.shape[1] + hidden + w_ih.shape[0]))
            w_ih.uniform_(-limit, limit)
            w_hh.uniform_(-limit, limit)
            getattr(rnn, f"bias_ih_l{layer}").zero_()
            getattr(rnn, f"bias_hh_l{layer}").zero_()
            if model.cfg.cell == "lstm":  # gates i, f, g, o
                getattr(rnn, f"bias_ih_l{layer}")[hidden:2 * hidden] = 1.0
        limit = math.sqrt(6 / (hidden + model.cfg.output_size))
        model.head.weight.uniform_(-limit, limit)
        model.head.bias.zero_()


def row_label(series, row: int) -> str:
    """A row by its date, else by its line in the file (rows may have been reversed)."""
    if series.dates:
        return series.dates[row]
    return f"line {series.lines[row]}" if series.lines else f"row {row + 1}"


def model_config(cell: str, hidden_size: int, num_layers: int, n_features: int,
                 horizon: int) -> ModelConfig:
    return ModelConfig(cell=cell, input_size=n_features, output_size=horizon, embed=0,
                       hidden_size=hidden_size, num_layers=num_layers, tokens=False)


def predict(model: RecurrentNet, w: Windows, coder, batch: int = 4096) -> np.ndarray:
    """Predictions in real units, (N, H)."""
    device = next(model.parameters()).device
    model.eval()
    outs = []
    with torch.no_grad():
        for i in range(0, len(w.x), batch):
            x = torch.from_numpy(coder.inputs(w.x[i:i + batch])).to(device)
            outs.append(model.forward_last(x).double().cpu().numpy())  # (B, H)
    out = np.concatenate(outs) if outs else np.zeros((0, w.y.shape[1]))
    return coder.decode(out, w.last)


class SeriesTrainer:
    def __init__(self, data: Prepared, model_cfg: ModelConfig, cfg: SeriesConfig, out_dir: Path,
                 device: torch.device, listeners: list[Listener] = ()):
        self.data, self.model_cfg, self.cfg = data, model_cfg, cfg
        self.out_dir, self.device = Path(out_dir), device
        self.listeners = list(listeners)
        self.wants_preview = any(getattr(v, "wants_preview", False) for v in self.listeners)
        torch.manual_seed(cfg.seed)
        self.model = RecurrentNet(model_cfg)
        lecture_init(self.model)
        self.model.to(device)
        if cfg.target_mode == "delta":  # a zero output is persistence: start there
            torch.nn.init.zeros_(self.model.head.weight)
            torch.nn.init.zeros_(self.model.head.bias)
        self.optimizer = torch.optim.Adam(self.model.parameters(), lr=cfg.lr)
        coder = data.coder
        self.train, self.val = data.part("train"), data.part("val")
        self.x, self.t = self._tensors(self.train)
        self.val_x, self.val_t = self._tensors(self.val) if len(self.val.x) else (None, None)
        self.to_scaled = coder.delta_scale ** 2  # objective units -> squared scaled target units
        self.val_persistence = (float(np.sqrt(np.mean((self.val.y - self.val.last[:, None]) ** 2)))
                                if len(self.val.x) else None)
        test = data.part("test")
        pick = np.unique(np.linspace(0, len(test.x) - 1, CURVE_POINTS).astype(int))
        self.preview = Windows(test.x[pick], test.y[pick], test.last[pick], test.end[pick])
        shown = pick[np.unique(np.linspace(0, len(pick) - 1, SHOWN_POINTS).astype(int))]
        self.labels = [row_label(data.series, test.end[i] + 1) for i in shown]
        self.shown = np.searchsorted(pick, shown)
        self.history: list[dict] = []
        self.best_loss, self.best_epoch, self.best_state = math.inf, 0, None

    def _tensors(self, w: Windows):
        x = torch.from_numpy(self.data.coder.inputs(w.x)).to(self.device)  # (N, W, F)
        t = torch.from_numpy(self.data.coder.encode(w.y, w.last)).float().to(self.device)  # (N, H)
        return x, t

    def emit(self, event) -> None:
        for listener in self.listeners:
            listener(event)

    # ------------------------------------------------------------------ the run
    def run(self) -> SeriesEnd:
        cfg, d = self.cfg, self.data
        self.emit(SeriesStart(d.series.name, len(d.series), d.series.features, d.series.target,
                              d.split.train, d.split.val, d.split.test,
                              count_parameters(self.model), str(self.device), cfg.epochs))
        self.t_start = t_save = time.monotonic()
        self.epoch = 0
        self._keep_if_best(self._val_loss(), initial=True)  # epoch 0: the untrained model
        with StopSignals() as signals:
            while self.epoch < cfg.epochs:
                self._epoch()
                if signals.received is not None:
                    self._interrupt(signals.received)
                if time.monotonic() - t_save >= cfg.save_every and self.epoch < cfg.epochs:
                    self._save()
                    t_save = time.monotonic()
        best, last = self._save()
        end = SeriesEnd(str(best), str(last), self.best_epoch, self.best_loss, "epochs")
        self.emit(end)
        return end

    def _epoch(self) -> None:
        model = self.model
        model.train()
        out = model.forward_last(self.x)  # (N, H)
        sq = (out - self.t) ** 2
        loss = sq.sum() if self.cfg.loss == "sse" else sq.mean()
        self.optimizer.zero_grad(set_to_none=True)
        loss.backward()
        self.optimizer.step()
        self.epoch += 1
        train_loss = sq.detach().mean().item() * self.to_scaled
        if not math.isfinite(train_loss):
            raise TrainingFailed(f"the training loss became {train_loss} at epoch {self.epoch}; "
                                 f"stopped without saving; try a lower --lr")
        val_loss = self._val_loss()
        is_best = self._keep_if_best(val_loss if val_loss is not None else train_loss)
        self.history.append({"epoch": self.epoch, "train_loss": train_loss, "val_loss": val_loss})
        self.emit(self._epoch_event(train_loss, val_loss, is_best))

    def _val_loss(self) -> float | None:
        if self.val_x is None:
            return None
        self.model.eval()
        with torch.no_grad():
            out = self.model.forward_last(self.val_x)  # (N, H)
            return ((out - self.val_t) ** 2).mean().item() * self.to_scaled

    def _keep_if_best(self, loss: float | None, initial: bool = False) -> bool:
        if loss is None or not loss < self.best_loss:
            return False
        self.best_loss, self.best_epoch = loss, self.epoch
        self.best_state = {k: v.detach().clone() for k, v in self.model.state_dict().items()}
        return not initial

    def _epoch_event(self, train_loss: float, val_loss: float | None, is_best: bool) -> SeriesEpoch:
        span = self.data.coder.span
        event = SeriesEpoch(self.epoch, self.cfg.epochs, train_loss, val_loss, self.best_loss,
                            self.best_epoch, is_best,
                            None if val_loss is None else math.sqrt(val_loss) * span,
                            self.val_persistence, elapsed=time.monotonic() - self.t_start)
        if self.wants_preview:
            pred = predict(self.model, self.preview, self.data.coder)[:, 0]
            actual = self.preview.y[:, 0]
            event.points = [(label, float(actual[i]), float(pred[i]))
                            for label, i in zip(self.labels, self.shown)]
            event.curve = (actual.tolist(), pred.tolist())
            event.loss_history = [h["val_loss"] if h["val_loss"] is not None else h["train_loss"]
                                  for h in self.history[-CURVE_POINTS:]]
        return event

    # ------------------------------------------------------------------ saving
    def meta(self, epoch: int) -> dict:
        d, cfg = self.data, self.cfg
        s = d.series
        return {"kind": "series", "charrnn_version": __version__,
                "model": to_dict(self.model_cfg), "train": to_dict(cfg), "data": s.name,
                "columns": {"features": s.features, "target": s.target, "date": s.date_column},
                "scaler": {**d.scaler.to_dict(), "fit": cfg.scale_fit, "rows": d.fit_rows},
                "window": cfg.window, "horizon": cfg.horizon,
                "order": {"date_column": s.date_column, "newest_first": cfg.newest_first},
                "target_mode": cfg.target_mode, "coder": d.coder.to_dict(),
                "split": {"train": d.split.train, "val": d.split.val, "test": d.split.test},
                "epoch": epoch, "best_epoch": self.best_epoch,
                "best_loss": None if math.isinf(self.best_loss) else self.best_loss,
                "history": self.history}

    def _save(self) -> tuple[Path, Path]:
        last = self._write("last", self.model.state_dict(), self.epoch)
        best = self._write("best", self.best_state or self.model.state_dict(), self.best_epoch)
        return best, last

    def _write(self, name: str, state: dict, epoch: int) -> Path:
        tensors = {f"model.{k}": v for k, v in state.items()}
        try:
            path = checkpoint.save(self.out_dir / f"{name}.safetensors", tensors, self.meta(epoch))
        except OSError as e:
            raise CharrnnError(f"cannot write checkpoint in {self.out_dir} ({e.strerror}); "
                               f"choose another --out") from None
        self.emit(CheckpointSaved(str(path), name))
        return path

    def _interrupt(self, signum: int) -> None:
        best, _ = self._save()
        name = "SIGTERM" if signum == signal.SIGTERM else "Ctrl-C"
        raise Interrupted(f"{name}: saved {best} (best of {self.epoch} epochs)",
                          143 if signum == signal.SIGTERM else 130)
