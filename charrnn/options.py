"""Every command-line option declared once, as a typer `Annotated` alias, and reused by every
command that takes it, so names, ranges and help texts cannot drift apart.

Options whose default differs between text and series are made by a function that takes the
default to show in --help (`epochs("20")`); the options themselves default to None and the
configs fill the default in.
"""
import math
from enum import Enum
from pathlib import Path
from typing import Annotated, Optional

import typer

SEED_MAX = 2**63 - 1


class Cell(str, Enum):
    rnn = "rnn"
    lstm = "lstm"
    gru = "gru"


class Device(str, Enum):
    auto = "auto"
    cpu = "cpu"
    cuda = "cuda"
    mps = "mps"


class Schedule(str, Enum):
    constant = "constant"
    cosine = "cosine"


class Precision(str, Enum):
    auto = "auto"
    fp32 = "fp32"
    bf16 = "bf16"


def interval(low: float, high: float = float("inf"), low_open: bool = False,
             high_open: bool = False) -> dict:
    """Option keywords that check a number lies in an interval (typer has no open bounds);
    the interval is shown in --help."""
    closed = not high_open and math.isfinite(high)  # inf itself is never taken
    shown = f"{'(' if low_open else '['}{low:g}, {high:g}{']' if closed else ')'}"

    def check(value):
        if value is None:
            return value
        if not math.isfinite(value):
            raise typer.BadParameter(f"{value} is not a finite number; give one in {shown}")
        below = value <= low if low_open else value < low
        above = value >= high if high_open else value > high
        if below or above:
            raise typer.BadParameter(f"{value:g} is not in {shown}")
        return value

    return {"callback": check, "metavar": f"FLOAT {shown}"}


FRACTION = interval(0.0, 1.0, high_open=True)
POSITIVE = interval(0.0, low_open=True)


def _option(*names, help: str, **kw):
    return typer.Option(*names, help=help, **kw)


def _path(value) -> Path:
    """A path option as given: an empty one reads as the current folder (Path(""))."""
    if isinstance(value, Path):
        return value
    if not str(value).strip():
        raise typer.BadParameter("an empty name; give a file or folder (. for this one)")
    return Path(value)


PATH = {"parser": _path, "metavar": "PATH"}


# ---------------------------------------------------------------------- shared by every command
DeviceOpt = Annotated[Device, _option("--device", help="Where to run.")]
JsonOut = Annotated[bool, _option("--json", help="JSON on stdout instead of text.")]
Quiet = Annotated[bool, _option("--quiet", "-q", help="No progress or notes on stderr.")]
Ckpt = Annotated[Path, _option("--ckpt", **PATH, help="Checkpoint file, or a folder (its best.safetensors, else last).")]
Out = Annotated[Optional[Path], _option("--out", "-o", **PATH, help="Checkpoint folder [default: checkpoints/<data name>].")]
Resume = Annotated[Optional[Path], _option("--resume", **PATH, help="Continue from this checkpoint (file, or a folder: its last).")]
InitFrom = Annotated[Optional[Path], _option("--init-from", **PATH, help="Fine-tune: start a new run from this text checkpoint's weights (file, or a folder: its best); characters are matched by identity.")]
Seed = Annotated[Optional[int], _option("--seed", min=0, max=SEED_MAX, help="Random seed; a CPU run repeats bit for bit [default: 1234].")]
SampleSeed = Annotated[Optional[int], _option("--seed", min=0, max=SEED_MAX, help="Same seed, same text.")]

# ---------------------------------------------------------------------- training (text and series)
CellOpt = Annotated[Optional[Cell], _option("--cell", help="Recurrent cell [default: lstm].")]
Dropout = Annotated[Optional[float], _option("--dropout", **FRACTION, help="Dropout between layers [default: 0.1, 0.2 for text runs long enough to learn it by heart; 0 on corpora under 1,000 characters; series 0].")]
LrDecay = Annotated[Optional[float], _option("--lr-decay", **interval(0.0, 1.0, low_open=True), help="Learning-rate factor after each epoch [default: 1].")]
LrSchedule = Annotated[Optional[Schedule], _option("--lr-schedule", help="constant, or cosine to 10% of --lr at the end of the run [default: cosine with text --time-budget, else constant].")]
Warmup = Annotated[Optional[int], _option("--warmup", min=0, help="Steps of linear learning-rate warm-up [default: 100 with text --time-budget, else 0].")]
Ema = Annotated[Optional[float], _option("--ema", **FRACTION, help="Average the weights as they train (exponential moving average, this decay a step); validation, sample and eval use the average [default: 0.999 with --time-budget, else 0: none].")]
WeightDecay = Annotated[Optional[float], _option("--weight-decay", **interval(0.0), help="Decoupled weight decay (AdamW's) on the weight matrices [default: 0.1 for text runs long enough to learn it by heart, else 0].")]
MaxSteps = Annotated[Optional[int], _option("--max-steps", min=1, help="Stop after this many optimizer steps in all.")]
Patience = Annotated[Optional[int], _option("--patience", min=1, help="Stop when the validation loss has not improved for this many epochs (`best` is kept).")]
TimeBudget = Annotated[Optional[str], _option("--time-budget", help="Stop after this much training time: seconds, or 90s, 10m, 1h.")]
SaveEvery = Annotated[Optional[float], _option("--save-every", **POSITIVE, help="Checkpoints are never more than this many seconds old; also written at the end, on Ctrl-C and on failure [default: 180].")]
PrecisionOpt = Annotated[Optional[Precision], _option("--precision", help="bf16 autocast or fp32 [default: auto = bf16 on CUDA; on CPU, bf16 where a short timed training step of the model (hidden >= 128) runs >= 1.15x faster in it, else fp32; the choice and both speeds are noted].")]


def hidden(default: str):
    return Annotated[Optional[int], _option("--hidden", min=1, help=f"Hidden units per layer [default: {default}].")]


def layers(default: str):
    return Annotated[Optional[int], _option("--layers", min=1, help=f"Stacked layers [default: {default}].")]


def lr(default: str):
    return Annotated[Optional[float], _option("--lr", **POSITIVE, help=f"Adam learning rate [default: {default}].")]


def grad_clip(default: str):
    return Annotated[Optional[float], _option("--grad-clip", **interval(0.0), help=f"Gradient-norm clip, 0 for none [default: {default}].")]


def epochs(default: str):
    return Annotated[Optional[int], _option("--epochs", min=1, help=f"Total epochs (a resumed run trains up to it) [default: {default}].")]


def batch_size(default: str):
    return Annotated[Optional[int], _option("--batch-size", min=1, help=f"Windows per batch [default: {default}].")]


def val_frac(default: str):
    return Annotated[Optional[float], _option("--val-frac", **FRACTION, help=f"Held-out part used to pick `best` [default: {default}].")]


# ---------------------------------------------------------------------- series forecasts
def _levels(values):
    bad = [v for v in values or [] if not (math.isfinite(v) and 0 < v < 100)]
    if bad:
        raise typer.BadParameter(f"{bad[0]:g} is not a coverage in percent in (0, 100)")
    fractions = [v for v in values or [] if v < 1]  # 0.9 meant as 90%: an interval of no width
    if fractions:
        raise typer.BadParameter(f"{fractions[0]:g} reads as {fractions[0]:g}%; the coverage is "
                                 f"in percent: --level {100 * fractions[0]:g} for "
                                 f"{100 * fractions[0]:g}%")
    return values


Level = Annotated[Optional[list[float]], _option("--level", callback=_levels, metavar="PERCENT", help="Prediction interval of this coverage in percent, from 1 to under 100; repeatable (--level 80 --level 95). Conformal, calibrated on the validation windows.")]
