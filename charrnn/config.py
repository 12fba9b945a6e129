"""Frozen configs that flow from the CLI into the engine and into every checkpoint.

`ModelConfig` is the network's shape and `TrainConfig` the trainer's settings, for every kind
of data; `TextConfig` and `SeriesConfig` say what each kind reads. `sample`, `eval`, `forecast`
and `--resume` rebuild exactly what was trained from these dicts.
"""
from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass, field, fields

CELLS = ("rnn", "lstm", "gru")
UNLIMITED_EPOCHS = 1_000_000  # with --time-budget and no --epochs: train until the budget ends


@dataclass(frozen=True)
class ModelConfig:
    """Shape of the recurrent network: input -> stacked fused RNN -> linear head."""

    cell: str = "lstm"
    input_size: int = 0  # vocabulary size (tokens) or number of features (values)
    output_size: int = 0  # vocabulary size (tokens) or forecast horizon (values)
    embed: int = 64  # tokens only: embedding width; 0 feeds one-hot vectors, as the lecture
    hidden_size: int = 256
    num_layers: int = 2
    dropout: float = 0.0
    tokens: bool = True  # integer ids in (text) or real-valued features in (series)
    ensemble: int = 1  # networks of this shape trained side by side, their outputs averaged

    def __post_init__(self):
        if self.cell not in CELLS:
            raise ValueError(f"cell must be one of {CELLS}, not {self.cell!r}")
        if self.ensemble < 1:
            raise ValueError(f"ensemble must be 1 or more, not {self.ensemble}")


@dataclass(frozen=True)
class TrainConfig:
    """How the trainer runs, whatever the data; stored so `--resume` carries on the same run.

    Each task adds its own config (`TextConfig`, `SeriesConfig`) for what it reads.
    """

    lr: float = 3e-3
    lr_decay: float = 1.0  # multiplied into the learning rate after every epoch
    lr_schedule: str = "constant"  # constant | cosine (to 10% at the end of the run)
    warmup_steps: int = 0  # linear warm-up of the learning rate over the first steps
    grad_clip: float = 5.0  # 0: no clipping
    weight_decay: float = 0.0
    ema: float = 0.0  # decay of the weights' moving average (engine/averaging.py); 0: none
    batch_size: int | None = 32  # None: every window in one batch (full batch)
    val_frac: float = 0.1
    epochs: int = 20
    max_steps: int | None = None
    time_budget: float | None = None  # seconds of training, then validate, save, stop
    patience: int | None = None  # stop when validation has not improved for this many epochs
    seed: int = 1234
    save_every: float = 180.0  # checkpoints are never more than this many seconds old
    precision: str = "auto"  # auto | fp32 | bf16


@dataclass(frozen=True)
class TextConfig:
    """How a corpus becomes windows; stored beside the TrainConfig in text checkpoints."""

    seq_len: int = 100
    sliding: bool = False  # every offset a window from a zero state (the lecture's dataset)
    # a carried state restarts from zero on average every this many characters of its stream
    # (besides each epoch's start), so the model learns the zero start sampling and eval make
    reset_every: int = 0


@dataclass(frozen=True)
class SeriesConfig:
    """What a forecaster reads and predicts; stored beside the TrainConfig in its checkpoints."""

    window: int = 7  # rows read per forecast (default: sized to the season, see season.py)
    horizon: int = 1
    test_frac: float = 0.3
    scale_fit: str = "train"  # train | all (the lecture's protocol: test rows leak into scaling)
    target_mode: str = "delta"  # delta: change from the last observed target | level
    loss: str = "mse"  # mse | sse (the lecture's sum of squares)
    target: str = ""
    features: list = field(default_factory=list)
    newest_first: bool = False
    fill: bool = False
    season: int | None = None  # rows per cycle, detected from the training rows or given
    transform: str = "none"  # none | log: the target as the network sees it (delta mode)
    baseline: str = "persistence"  # persistence | seasonal | seasonal_drift: what it corrects
    id_column: str = ""  # long format: the column naming each series (one global model)
    calendar: bool = False  # calendar cycles of the dates as inputs known in advance
    future: list = field(default_factory=list)  # columns whose future values the user supplies
    linear: str = "none"  # auto | none | the ridge penalty of the linear model (series/linear.py)
    retrain: bool = False  # the final model learned from the training and validation windows


def to_dict(cfg) -> dict:
    return dataclasses.asdict(cfg)


def from_dict(cls, data: dict):
    """Build `cls` from a stored dict, ignoring keys a newer writer added."""
    names = {f.name for f in fields(cls)}
    return cls(**{k: v for k, v in data.items() if k in names})


_TYPES = {"int": (int,), "float": (int, float), "bool": (bool,), "str": (str,), "list": (list,)}


def check_types(cls, data: dict) -> None:
    """ValueError unless every stored field has its declared type (a checkpoint is untrusted)."""
    if not isinstance(data, dict):
        raise ValueError(f"{cls.__name__} is not a mapping")
    for f in fields(cls):
        if f.name not in data:
            continue
        value, allowed = data[f.name], str(f.type).replace(" ", "").split("|")
        if value is None and "None" in allowed:
            continue
        ok = any(isinstance(value, _TYPES[t]) and (t == "bool" or not isinstance(value, bool))
                 for t in allowed if t in _TYPES)
        if not ok or (isinstance(value, float) and value != value):
            raise ValueError(f"{cls.__name__}.{f.name} = {value!r} is not {f.type}")
        within = RANGES.get(f"{cls.__name__}.{f.name}")
        if within is not None and value is not None and not within[0](value):
            raise ValueError(f"{cls.__name__}.{f.name} = {value!r} is not {within[1]}")


def _in_range(low: float, high: float = math.inf, low_open: bool = False):
    """A finite number from low (or above it) up to, not including, high."""
    def within(v) -> bool:
        try:
            return (low < v if low_open else low <= v) and v < high and math.isfinite(v)
        except OverflowError:  # an integer beyond any float, 10**400
            return False
    return within


# the values a run writes (and the command line allows), checked where a checkpoint is read:
# a hand-edited one crashed on resume (seq_len 0, seed 2**80) or trained on quietly (lr -1)
RANGES = {
    "TrainConfig.lr": (_in_range(0, low_open=True), "a positive number"),
    "TrainConfig.lr_decay": (_in_range(0, low_open=True), "a positive number"),
    "TrainConfig.lr_schedule": (lambda v: v in ("constant", "cosine"), "constant or cosine"),
    "TrainConfig.warmup_steps": (_in_range(0), "a count"),
    "TrainConfig.grad_clip": (_in_range(0), "0 or more"),
    "TrainConfig.weight_decay": (_in_range(0), "0 or more"),
    "TrainConfig.ema": (_in_range(0, 1), "in [0, 1)"),
    "TrainConfig.batch_size": (_in_range(1), "a positive count"),
    "TrainConfig.val_frac": (_in_range(0, 1), "in [0, 1)"),
    "TrainConfig.epochs": (_in_range(0), "a count"),
    "TrainConfig.max_steps": (_in_range(0), "a count"),
    "TrainConfig.time_budget": (_in_range(0, low_open=True), "a positive number of seconds"),
    "TrainConfig.patience": (_in_range(1), "a positive count"),
    "TrainConfig.seed": (_in_range(0, 2 ** 63), "a seed in [0, 2**63)"),
    "TrainConfig.save_every": (_in_range(0), "0 or more seconds"),
    "TrainConfig.precision": (lambda v: v in ("auto", "fp32", "bf16"), "auto, fp32 or bf16"),
    "TextConfig.seq_len": (_in_range(1), "a positive count"),
    "TextConfig.reset_every": (_in_range(0), "a count"),
    "SeriesConfig.window": (_in_range(1), "a positive count"),
    "SeriesConfig.horizon": (_in_range(1), "a positive count"),
    "SeriesConfig.test_frac": (_in_range(0, 1, low_open=True), "in (0, 1)"),
    "SeriesConfig.scale_fit": (lambda v: v in ("train", "all"), "train or all"),
    "SeriesConfig.target_mode": (lambda v: v in ("delta", "level"), "delta or level"),
    "SeriesConfig.loss": (lambda v: v in ("mse", "sse"), "mse or sse"),
    "SeriesConfig.season": (_in_range(2), "2 or more rows"),
    "SeriesConfig.transform": (lambda v: v in ("none", "log", "auto"), "none, log or auto"),
}
