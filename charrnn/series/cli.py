"""The series commands as typer declares them: `train-series`, `forecast` and `backtest`. Each
maps its options onto config fields and makes one call into series/commands.py (backtest.py)."""
from enum import Enum  # annotations stay live (no __future__): typer reads them
from typing import Annotated, Optional

import typer

from charrnn import options as o


class ScaleFit(str, Enum):
    train = "train"
    all = "all"


class TargetMode(str, Enum):
    delta = "delta"
    level = "level"


class Transform(str, Enum):
    auto = "auto"
    none = "none"
    log = "log"


class Baseline(str, Enum):
    auto = "auto"
    persistence = "persistence"
    seasonal = "seasonal"
    seasonal_drift = "seasonal_drift"
    smoothed = "smoothed"
    airline = "airline"
    trend_season = "trend_season"
    combined = "combined"


class Loss(str, Enum):
    mse = "mse"
    sse = "sse"


# every option of a series run, declared once for train-series and backtest
Csv = Annotated[str, typer.Argument(help="CSV file, or '-' for stdin.")]
def _named(value: str | None) -> str | None:
    """An empty name (`--target ""`, `--features ,`) names no column: refused, not the default."""
    if value is not None and not any(part.strip() for part in value.split(",")):
        raise typer.BadParameter(f"{value!r} names no column")
    return value


TargetOpt = Annotated[Optional[str], typer.Option("--target", callback=_named, help="Column to forecast [default: the last numeric column].")]
IdOpt = Annotated[Optional[str], typer.Option("--id", callback=_named, help="Long format: the column naming each series (one global model over all of them; each scaled on its own).")]
CalendarOpt = Annotated[Optional[bool], typer.Option("--calendar/--no-calendar", help="Read the dates' calendar cycles (hour, weekday, day of year, month) as inputs known in advance [default: where the season is longer than the window].")]
FutureOpt = Annotated[Optional[str], typer.Option("--future", callback=_named, help="Comma-separated columns whose future values are known; forecast reads them from the rows after the last target value (target left empty).")]
FeaturesOpt = Annotated[Optional[str], typer.Option("--features", callback=_named, help="Comma-separated input columns [default: every numeric column].")]
WindowOpt = Annotated[Optional[int], typer.Option("--window", min=1, help="Rows the model reads per forecast [default: two seasons where the data allow, else 7].")]
SeasonOpt = Annotated[Optional[str], typer.Option("--season", help="Rows per cycle: auto (detected from the training rows and the dates), none, or a number M [default: auto].")]
TransformOpt = Annotated[Optional[Transform], typer.Option("--transform", help="The target as the network sees it: log for positive series whose swings grow with the level [default: auto].")]
BaselineOpt = Annotated[Optional[Baseline], typer.Option("--baseline", help="What the forecast corrects: the one of persistence, seasonal naive, seasonal naive with drift, smoothed (Holt-Winters, its weights fitted on the training rows; seasons up to 52; without a season, Holt's level and trend) airline (ARIMA(0,1,1)(0,1,1) on the season, fitted likewise; seasons up to 52) and trend_season (a line and a mean per phase, least squares over the rows so far; seasons up to 52) whose linear model scores best on the validation windows (with a season, the mean of the two best, each with its own linear model); combined, their mean (auto's choice under 16 validation windows) [default: auto].")]
LinearOpt = Annotated[Optional[str], typer.Option("--linear", help="A linear autoregression on the window, fitted by ridge least squares and blended with the network (2/3 of the correction to the baseline): auto (used where it beats the baseline on the validation windows, its penalty chosen there), none, or a penalty [default: auto].")]
RetrainOpt = Annotated[Optional[bool], typer.Option("--retrain/--no-retrain", help="After choosing the epochs on the validation windows, train the final model again on the training and validation windows together [default: retrain; not with --target-mode level].")]
HorizonOpt = Annotated[Optional[int], typer.Option("--horizon", min=1, help="Steps predicted at once; H > 1 predicts 1..H ahead directly [default: 1].")]
TestFracOpt = Annotated[Optional[float], typer.Option("--test-frac", **o.interval(0.0, 1.0, low_open=True, high_open=True), help="Last part of the windows held out for testing [default: 0.3].")]
ScaleFitOpt = Annotated[Optional[ScaleFit], typer.Option("--scale-fit", help="Fit min-max scaling on the training rows, or on all rows (the lecture's leaky protocol) [default: train].")]
TargetModeOpt = Annotated[Optional[TargetMode], typer.Option("--target-mode", help="delta: predict a correction to the baseline; level: the target itself (the lecture) [default: delta].")]
LossOpt = Annotated[Optional[Loss], typer.Option("--loss", help="Mean (mse) or sum (sse, the lecture) of squared errors [default: mse].")]
NewestFirst = Annotated[bool, typer.Option("--newest-first", help="Rows run newest to oldest (files without a date column).")]
Fill = Annotated[bool, typer.Option("--fill", help="Fill gaps between values in used columns by linear interpolation instead of failing.")]
ValFracOpt = o.val_frac("0.3 of the fitting windows; 0.2 with --target-mode level")
HiddenOpt = o.hidden("20; 10 with --target-mode level, the lecture's")
LayersOpt = o.layers("1")
EnsembleOpt = Annotated[Optional[int], typer.Option("--ensemble", min=1, max=64, help="Networks trained side by side from different initial weights, their forecasts averaged (5 took 3.7x the time of 1) [default: 1].")]
LrOpt = o.lr("0.01")
GradClipOpt = o.grad_clip("0")
BatchSizeOpt = o.batch_size("all training windows in one batch")
EpochsOpt = o.epochs("500, one full-batch step each")


def run_options(features, cell, transform, baseline, scale_fit, target_mode, loss, **rest):
    """The options of a series run as config fields (enums as their values, names as a list)."""
    from charrnn.series.commands import split_names

    value = lambda choice: choice and choice.value  # noqa: E731
    return dict(features=split_names(features), cell=value(cell), transform=value(transform),
                baseline=value(baseline), scale_fit=value(scale_fit),
                target_mode=value(target_mode), loss=value(loss), **rest)


def train_series(
    csv: Csv, target: TargetOpt = None, features: FeaturesOpt = None, id_column: IdOpt = None,
    calendar: CalendarOpt = None, future: FutureOpt = None, window: WindowOpt = None,
    season: SeasonOpt = None, transform: TransformOpt = None, baseline: BaselineOpt = None,
    linear: LinearOpt = None, retrain: RetrainOpt = None,
    horizon: HorizonOpt = None, test_frac: TestFracOpt = None, val_frac: ValFracOpt = None,
    scale_fit: ScaleFitOpt = None, target_mode: TargetModeOpt = None, loss: LossOpt = None,
    newest_first: NewestFirst = False, fill: Fill = False, cell: o.CellOpt = None,
    hidden: HiddenOpt = None, layers: LayersOpt = None, ensemble: EnsembleOpt = None,
    lr: LrOpt = None,
    grad_clip: GradClipOpt = None, batch_size: BatchSizeOpt = None, epochs: EpochsOpt = None,
    max_steps: o.MaxSteps = None, time_budget: o.TimeBudget = None, patience: o.Patience = None,
    save_every: o.SaveEvery = None, seed: o.Seed = None, device: o.DeviceOpt = o.Device.auto,
    out: o.Out = None, resume: o.Resume = None, json_out: o.JsonOut = False,
    quiet: o.Quiet = False,
):
    """Train a forecaster on a CSV time series.

    Prints the best checkpoint's path (or JSON lines with --json) on stdout.
    """
    from charrnn.series import commands

    options = run_options(
        target=target, features=features, id_column=id_column, calendar=calendar,
        future=commands.split_names(future), window=window, season=season,
        transform=transform, baseline=baseline, linear=linear, retrain=retrain, horizon=horizon,
        test_frac=test_frac,
        val_frac=val_frac, scale_fit=scale_fit, target_mode=target_mode, loss=loss,
        newest_first=newest_first, fill=fill, cell=cell, hidden=hidden, layers=layers,
        ensemble=ensemble, lr=lr,
        grad_clip=grad_clip, batch_size=batch_size, epochs=epochs, max_steps=max_steps,
        time_budget=time_budget, patience=patience, save_every=save_every, seed=seed)
    commands.train(csv, options, device.value, out, resume, json_out, quiet)


def forecast(
    csv: Annotated[str, typer.Argument(help="CSV laid out like the training file, or '-'.")],
    ckpt: o.Ckpt,
    steps: Annotated[int, typer.Option("--steps", "-k", min=1, help="Steps to forecast past the end of the data.")] = 1,
    level: o.Level = None,
    device: Annotated[o.Device, typer.Option("--device", help="Where to run the model.")] = o.Device.cpu,
):
    """Forecast past the end of a series, as CSV.

    Prints `step,prediction` (or `step,date,prediction` when the data has dates), then
    `lo80,hi80` for each --level 80.
    """
    from charrnn.series import commands

    commands.forecast(ckpt, csv, steps, device.value, level)


class Refit(str, Enum):
    every = "every"
    once = "once"


def backtest(
    csv: Csv,
    folds: Annotated[int, typer.Option("--folds", min=1, help="Origins trained at, moving forward through the last --test-frac of the rows.")] = 5,
    refit: Annotated[Refit, typer.Option("--refit", help="every: train again at each fold's origin; once: at the first only, then only forecast.")] = Refit.every,
    target: TargetOpt = None, features: FeaturesOpt = None, window: WindowOpt = None,
    season: SeasonOpt = None, transform: TransformOpt = None, baseline: BaselineOpt = None,
    linear: LinearOpt = None, retrain: RetrainOpt = None,
    horizon: HorizonOpt = None, test_frac: TestFracOpt = None, val_frac: ValFracOpt = None,
    scale_fit: ScaleFitOpt = None, target_mode: TargetModeOpt = None, loss: LossOpt = None,
    newest_first: NewestFirst = False, fill: Fill = False, cell: o.CellOpt = None,
    hidden: HiddenOpt = None, layers: LayersOpt = None, ensemble: EnsembleOpt = None,
    lr: LrOpt = None,
    grad_clip: GradClipOpt = None, batch_size: BatchSizeOpt = None, epochs: EpochsOpt = None,
    max_steps: o.MaxSteps = None, time_budget: o.TimeBudget = None, patience: o.Patience = None,
    seed: o.Seed = None, device: o.DeviceOpt = o.Device.auto, json_out: o.JsonOut = False,
    quiet: o.Quiet = False,
):
    """Rolling-origin backtest: train at several origins, forecast from each, score.

    Each fold decides its season, window, transform, baseline and scaling from the rows before
    its origin. Prints per-fold and mean metrics for the model, persistence and seasonal naive
    (one JSON object with --json); the folds' progress goes to stderr.
    """
    from charrnn.series import backtest as bt

    options = run_options(
        target=target, features=features, window=window, season=season, transform=transform,
        baseline=baseline, linear=linear, retrain=retrain, horizon=horizon,
        test_frac=test_frac, val_frac=val_frac,
        scale_fit=scale_fit, target_mode=target_mode, loss=loss, newest_first=newest_first,
        fill=fill, cell=cell, hidden=hidden, layers=layers,
        ensemble=ensemble, lr=lr, grad_clip=grad_clip,
        batch_size=batch_size, epochs=epochs, max_steps=max_steps, time_budget=time_budget,
        patience=patience, seed=seed)
    bt.backtest(csv, options, folds, refit.value, device.value, json_out, quiet)
