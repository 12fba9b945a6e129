"""The series commands: `train-series`, `forecast`, and `eval` of a series checkpoint.

`register(app)` adds the typer commands (thin: parse, then call the functions below). Those
functions read the CSV, build configs, call the engine and print data to stdout; notes,
warnings and progress go to stderr. Heavy imports (numpy, torch) happen inside them.
"""

import json  # annotations stay live (no __future__): typer reads the local Cell and Device
import sys
from enum import Enum
from pathlib import Path
from typing import Optional

import typer

from charrnn.errors import CharrnnError


class ScaleFit(str, Enum):
    train = "train"
    all = "all"


class TargetMode(str, Enum):
    delta = "delta"
    level = "level"


class Loss(str, Enum):
    mse = "mse"
    sse = "sse"


def register(app) -> None:
    # cli.py calls register() after defining these, while it is itself being imported
    from charrnn.cli import FRACTION, POSITIVE, SEED_MAX, Cell, Device, interval

    @app.command("train-series")
    def train_series(
        csv: str = typer.Argument(..., help="CSV file, or '-' for stdin."),
        target: Optional[str] = typer.Option(None, "--target", help="Column to forecast [default: the last numeric column]."),
        features: Optional[str] = typer.Option(None, "--features", help="Comma-separated input columns [default: every numeric column]."),
        window: int = typer.Option(7, "--window", min=1, help="Rows the model reads per forecast."),
        horizon: int = typer.Option(1, "--horizon", min=1, help="Steps predicted at once; H > 1 predicts 1..H ahead directly."),
        test_frac: float = typer.Option(0.3, "--test-frac", **interval(0.0, 1.0, low_open=True, high_open=True), help="Last part of the windows held out for testing."),
        val_frac: float = typer.Option(0.1, "--val-frac", **FRACTION, help="Last part of the training windows, used to pick `best`."),
        scale_fit: ScaleFit = typer.Option(ScaleFit.train, "--scale-fit", help="Fit min-max scaling on the training rows, or on all rows (the lecture's leaky protocol)."),
        target_mode: TargetMode = typer.Option(TargetMode.delta, "--target-mode", help="delta: predict the change from the last observed target; level: the target itself (the lecture)."),
        loss: Loss = typer.Option(Loss.mse, "--loss", help="Mean (mse) or sum (sse, the lecture) of squared errors."),
        newest_first: bool = typer.Option(False, "--newest-first", help="Rows run newest to oldest (files without a date column)."),
        fill: bool = typer.Option(False, "--fill", help="Fill gaps in used columns by linear interpolation instead of failing."),
        cell: Cell = typer.Option(Cell.lstm, "--cell", help="Recurrent cell."),
        hidden: int = typer.Option(10, "--hidden", min=1, help="Hidden units per layer."),
        layers: int = typer.Option(1, "--layers", min=1, help="Stacked layers."),
        lr: float = typer.Option(0.01, "--lr", **POSITIVE, help="Adam learning rate."),
        epochs: int = typer.Option(500, "--epochs", min=1, help="Full-batch steps (one per epoch)."),
        save_every: float = typer.Option(60.0, "--save-every", **POSITIVE, help="Seconds between checkpoints during a long run."),
        seed: int = typer.Option(1234, "--seed", min=0, max=SEED_MAX, help="Random seed; a CPU run repeats bit for bit."),
        device: Device = typer.Option(Device.auto, "--device", help="Where to train."),
        out: Optional[Path] = typer.Option(None, "--out", "-o", help="Checkpoint folder [default: checkpoints/<csv name>]."),
        json_out: bool = typer.Option(False, "--json", help="One JSON object per epoch on stdout."),
        quiet: bool = typer.Option(False, "--quiet", "-q", help="No progress on stderr."),
    ):
        """Train a forecaster on a CSV time series.

        Prints the best checkpoint's path (or JSON lines with --json) on stdout.
        """
        from charrnn.series.task import SeriesConfig

        cfg = SeriesConfig(window=window, horizon=horizon, test_frac=test_frac, val_frac=val_frac,
                           scale_fit=scale_fit.value, target_mode=target_mode.value,
                           loss=loss.value, lr=lr, epochs=epochs, seed=seed, save_every=save_every, target=target or "",
                           features=split_names(features), newest_first=newest_first, fill=fill)
        train(csv, cfg, cell.value, hidden, layers, device.value, out, json_out, quiet)

    @app.command("forecast")
    def forecast_command(
        csv: str = typer.Argument(..., help="CSV laid out like the training file, or '-'."),
        ckpt: Path = typer.Option(..., "--ckpt", help="Series checkpoint file, or a folder (its best.safetensors)."),
        steps: int = typer.Option(1, "--steps", "-k", min=1, help="Steps to forecast past the end of the data."),
        device: Device = typer.Option(Device.cpu, "--device", help="Where to run the model."),
    ):
        """Forecast past the end of a series, as CSV.

        Prints `step,prediction` (or `step,date,prediction` when the data has dates).
        """
        forecast(ckpt, csv, steps, device.value)


def split_names(value: str | None) -> list[str]:
    return [name.strip() for name in value.split(",") if name.strip()] if value else []


def note(message: str) -> None:
    print(message, file=sys.stderr)


# ---------------------------------------------------------------------- train-series
def train(csv: str, cfg, cell: str, hidden: int, layers: int, device_name: str,
          out: Path | None, json_out: bool, quiet: bool) -> None:
    from dataclasses import replace

    from charrnn.runtime import resolve_device, setup_device
    from charrnn.series.table import load_series
    from charrnn.series.prepare import prepare
    from charrnn.series.task import SeriesTrainer, cpu_threads, model_config
    from charrnn.engine.views import close_views
    from charrnn.series.render import series_views
    from charrnn.text.data import corpus_name
    from charrnn.text.commands import check_writable

    series = load_series(csv, cfg.target or None, cfg.features or None, cfg.newest_first, cfg.fill)
    for line in series.notes:
        note(line)
    cfg = replace(cfg, target=series.target, features=series.features)
    data = prepare(series, cfg.window, cfg.horizon, cfg.test_frac, cfg.val_frac, cfg.scale_fit,
                   cfg.target_mode)
    if cfg.scale_fit == "all":
        note("warning: --scale-fit all fits the scaling on every row, test rows included: the test "
             "part leaks into training (the lecture's protocol, for comparison only)")
    model_cfg = model_config(cell, hidden, layers, len(series.features), cfg.horizon)
    device = resolve_device(device_name)
    setup_device(device)
    out = out if out is not None else Path("checkpoints") / (
        "stdin-series" if csv == "-" else corpus_name(csv))
    check_writable(out)
    views = series_views(json_out, quiet)
    try:
        trainer = SeriesTrainer(data, model_cfg, cfg, out, device, views)
        with cpu_threads(device, model_cfg, data.split.train):
            end = trainer.run()
    finally:
        close_views(views)
    if not quiet:
        note(f"score it on the test part with: charrnn eval --ckpt {end.best_path} {csv}")
    if not json_out:
        print(end.best_path)


# ---------------------------------------------------------------------- loading a forecaster
def load_forecaster(ckpt, device_name: str):
    """The trained network and everything to feed it: (model, SeriesConfig, Scaler, Coder)."""
    from charrnn.config import ModelConfig, from_dict
    from charrnn.model import RecurrentNet
    from charrnn.runtime import resolve_device, setup_device
    from charrnn.series.prepare import Coder, Scaler
    from charrnn.series.task import SeriesConfig

    meta = ckpt.meta
    try:
        cfg = from_dict(SeriesConfig, meta["train"])
        scaler, coder = Scaler.from_dict(meta["scaler"]), Coder.from_dict(meta["coder"])
        model_cfg = from_dict(ModelConfig, meta["model"])
        if (model_cfg.input_size != len(cfg.features) or model_cfg.output_size != cfg.horizon
                or not set(cfg.features + [cfg.target]) <= set(scaler.columns)):
            raise ValueError("columns, scaler and model disagree")
    except (KeyError, TypeError, ValueError) as e:
        raise CharrnnError(f"checkpoint {ckpt.path}: invalid series metadata ({e})") from None
    device = resolve_device(device_name)
    setup_device(device)
    model = RecurrentNet(model_cfg)
    model.load_state_dict(ckpt.group("model"))
    return model.to(device).eval(), cfg, scaler, coder


def read_like_training(source: str, cfg):
    from charrnn.series.table import load_series

    series = load_series(source, cfg.target, cfg.features, cfg.newest_first, cfg.fill, trained=True)
    for line in series.notes:
        note(line)
    return series


# ---------------------------------------------------------------------- eval
def evaluate(ckpt, data: str, json_out: bool, device_name: str, all_rows: bool,
             season: int | None, plot: Path | None) -> None:
    from charrnn.series.metrics import metrics_text, series_metrics
    from charrnn.series.prepare import rebuild
    from charrnn.series.task import predict

    if plot is not None:
        require_matplotlib()
        if plot.suffix.lower() != ".png":
            raise CharrnnError(f"--plot {plot}: give a .png file name")
        if not plot.parent.resolve().is_dir():
            raise CharrnnError(f"--plot {plot}: the folder {plot.parent} does not exist")
    model, cfg, scaler, coder = load_forecaster(ckpt, device_name)
    series = read_like_training(data, cfg)
    part = rebuild(series, cfg.window, cfg.horizon, cfg.test_frac, scaler, coder).part(
        "all" if all_rows else "test")
    pred = predict(model, part, coder)  # (N, H) real units
    notes: list[str] = []
    result = series_metrics(series, part, pred, coder, season, notes)
    for line in notes:
        note(line)
    if plot is not None:  # before any output, so a failure leaves stdout empty
        write_plot(plot, series, part, pred, result)
        note(f"wrote {plot}")
    if json_out:
        print(json.dumps(result))
    else:
        print(metrics_text(result, series.target, "all windows" if all_rows else "test part",
                           season))
        if sys.stdout.isatty():
            from charrnn.series.render import text_plot

            print(text_plot(part.y[:, 0].tolist(), pred[:, 0].tolist()))


def require_matplotlib() -> None:
    try:
        import matplotlib  # noqa: F401
    except ImportError:
        raise CharrnnError("--plot needs matplotlib, an optional extra: pip install "
                           "charrnn[plot]") from None


def write_plot(path: Path, series, part, pred, result: dict) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    x = part.end + 1  # the row each step-1 forecast is for
    fig, ax = plt.subplots(figsize=(10, 4.5))
    ax.plot(x, part.y[:, 0], color="black", lw=1.4, label="actual")
    ax.plot(x, pred[:, 0], color="tab:blue", lw=1.2, label=f"model (rmse {result['rmse']:.4g})")
    ax.plot(x, part.last, color="tab:gray", lw=0.9, ls="--",
            label=f"persistence (rmse {result['baselines']['persistence']['rmse']:.4g})")
    if series.dates:
        ticks = x[:: max(1, len(x) // 6)]
        ax.set_xticks(ticks, [series.dates[i] for i in ticks], rotation=20)
    else:
        ax.set_xlabel("row, oldest first")
    ax.set_ylabel(series.target)
    ax.set_title(f"{Path(series.name).name}: {series.target}, {result['n']} windows")
    ax.legend()
    fig.tight_layout()
    try:
        fig.savefig(path, format="png")
    except OSError as e:
        raise CharrnnError(f"--plot {path}: cannot write ({e.strerror})") from None
    finally:
        plt.close(fig)


# ---------------------------------------------------------------------- forecast
def forecast(ckpt_path: Path, csv: str, steps: int, device_name: str) -> None:
    import numpy as np

    from charrnn import checkpoint
    from charrnn.series.prepare import Windows
    from charrnn.series.table import next_dates
    from charrnn.series.task import predict

    model, cfg, scaler, coder = load_forecaster(checkpoint.load(ckpt_path, kind="series"),
                                                device_name)
    series = read_like_training(csv, cfg)
    if len(series) < cfg.window:
        raise CharrnnError(f"data {series.name}: {len(series)} rows; the model reads the last "
                           f"{cfg.window}")
    if steps > cfg.horizon and series.features != [series.target]:
        raise CharrnnError(f"--steps {steps}: the model predicts {cfg.horizon} step(s) of "
                           f"{series.target} but reads {', '.join(series.features)}; going further "
                           f"needs those too. Use --steps {cfg.horizon}, or train with --features "
                           f"{series.target} (or a larger --horizon)")
    values, target = series.values, series.target_values
    features = scaler.select(series.features)
    predictions: list[float] = []
    while len(predictions) < steps:  # iterate: each forecast becomes the last observed row
        x = features.transform(values[-cfg.window:])[None].astype(np.float32)  # (1, W, F)
        w = Windows(x, np.zeros((1, cfg.horizon)), target[-1:], np.array([len(target) - 1]))
        new = predict(model, w, coder)[0, : steps - len(predictions)]  # (<= H,)
        predictions += new.tolist()
        if len(predictions) < steps:  # only for a model that reads its own target alone
            values = np.concatenate([values, new[:, None]])
            target = np.concatenate([target, new])
    dates = next_dates(series.dates, steps) if series.dates else None
    out = sys.stdout
    out.write("step,date,prediction\n" if dates else "step,prediction\n")
    for k, value in enumerate(predictions):
        out.write(f"{k + 1},{dates[k]},{value:.10g}\n" if dates else f"{k + 1},{value:.10g}\n")
    out.flush()
