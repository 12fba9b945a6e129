"""The series commands' work: `train-series`, `forecast`, and `eval` of a series checkpoint.

series/cli.py parses; these functions read the CSV, build configs, call the trainer and print
data to stdout; notes, warnings and progress go to stderr. Heavy imports (numpy, torch)
happen inside them.
"""
from __future__ import annotations

import json
import sys
from dataclasses import replace
from pathlib import Path

from charrnn.errors import CharrnnError

SERIES_MODEL = {"cell": "lstm", "hidden": 10, "layers": 1}  # the lecture's network
SERIES_TASK_OPTIONS = ("window", "horizon", "test_frac", "scale_fit", "target_mode", "loss",
                       "newest_first", "fill")


def split_names(value: str | None) -> list[str]:
    return [name.strip() for name in value.split(",") if name.strip()] if value else []


def note(message: str, quiet: bool = False) -> None:
    if not quiet:
        print(message, file=sys.stderr)


# ---------------------------------------------------------------------- train-series
def series_configs(options: dict, resumed: dict | None):
    """(ModelConfig parts, TrainConfig, SeriesConfig): explicit options win over the lecture's
    defaults; a resumed run keeps its shape and what it reads."""
    from charrnn.config import ModelConfig, TrainConfig, from_dict
    from charrnn.series.task import SERIES_TRAINING, SeriesConfig
    from charrnn.configure import given_options, parse_duration, refuse_new_shape

    given = given_options(options)
    if "time_budget" in given:
        given["time_budget"] = parse_duration(given["time_budget"])
    train_fields = {k: v for k, v in given.items() if k in TrainConfig.__dataclass_fields__}
    if resumed is not None:
        model_cfg = from_dict(ModelConfig, resumed["model"])
        refuse_new_shape(given, model_cfg)
        task = from_dict(SeriesConfig, resumed["task"])
        for key in SERIES_TASK_OPTIONS + ("target", "features"):
            if key in given and given[key] != getattr(task, key):
                raise CharrnnError(f"--{key.replace('_', '-')}: the resumed model was trained "
                                   f"with {getattr(task, key)!r}; what it reads comes from the "
                                   f"checkpoint (drop the option, or train a new model)")
        train = replace(from_dict(TrainConfig, resumed["train"]), max_steps=None, time_budget=None)
        return model_cfg, replace(train, **train_fields), task
    model = {k: given.get(k, v) for k, v in SERIES_MODEL.items()}
    task = SeriesConfig(**{k: given[k] for k in SERIES_TASK_OPTIONS if k in given},
                        target=given.get("target", ""), features=given.get("features", []))
    return model, replace(SERIES_TRAINING, **train_fields), task


def train(csv: str, options: dict, device_name: str, out: Path | None, resume: Path | None,
          json_out: bool, quiet: bool) -> None:
    from charrnn import checkpoint
    from charrnn.config import ModelConfig
    from charrnn.engine.lock import run_lock
    from charrnn.engine.session import train_with_views
    from charrnn.engine.trainer import Trainer
    from charrnn.runtime import resolve_device, setup_device
    from charrnn.series.prepare import prepare
    from charrnn.series.table import load_series
    from charrnn.series.selection import choose_by_training
    from charrnn.series.task import SeriesTask, cpu_threads, model_config
    from charrnn.configure import check_writable
    from charrnn.text.data import corpus_name

    resumed = checkpoint.load(resume, kind="series", prefer="last") if resume is not None else None
    model, train_cfg, cfg = series_configs(options, resumed.meta if resumed else None)
    device = resolve_device(device_name)
    series = load_series(csv, cfg.target or None, cfg.features or None, cfg.newest_first, cfg.fill,
                         trained=resumed is not None)
    for line in series.notes:
        note(line, quiet)
    cfg = replace(cfg, target=series.target, features=series.features)
    transform, baseline = cfg.transform, cfg.baseline
    if resumed is None:
        cfg = resolve_season_and_window(cfg, series, options, train_cfg.val_frac)
        transform = options.get("transform") or "auto"
        baseline = options.get("baseline") or "auto"
    if cfg.scale_fit == "all":
        note("warning: --scale-fit all fits the scaling on every row, test rows included: the test "
             "part leaks into training (the lecture's protocol, for comparison only)", quiet)
    if out is None:
        out = resumed.path.parent if resumed is not None else Path("checkpoints") / (
            "stdin-series" if csv == "-" else corpus_name(csv))
    check_writable(out)
    setup_device(device)
    precision = "fp32" if train_cfg.precision == "auto" else train_cfg.precision

    def trainer_for(task, train_cfg, out, views):
        inputs = len(series.features) + task.data.coder.extra_inputs
        model_cfg = model if isinstance(model, ModelConfig) else model_config(
            model["cell"], model["hidden"], model["layers"], inputs, cfg.horizon)
        return Trainer(task, model_cfg, train_cfg, out, device, precision, views, resumed)

    hidden, layers = ((model.hidden_size, model.num_layers) if isinstance(model, ModelConfig)
                      else (model["hidden"], model["layers"]))
    # every check on the data before the folder is touched: the split, the transform
    data = prepare(series, cfg.window, cfg.horizon, cfg.test_frac, train_cfg.val_frac,
                   cfg.scale_fit, cfg.target_mode, season=cfg.season, transform=transform,
                   baseline="persistence" if baseline == "auto" else baseline)
    transform = data.coder.transform
    with run_lock(out), cpu_threads(device, len(series) * hidden * hidden * layers):
        if baseline == "auto" and cfg.season and cfg.target_mode == "delta":
            baseline, scores = choose_by_training(series, cfg, train_cfg, transform, device,
                                                  trainer_for)
            if scores:
                shown = ", ".join(f"{k} {v:.4g}/{f:.4g}" for k, (v, f) in scores.items())
                note(f"note: --baseline {baseline}: chosen by training on each (RMSE on the "
                     f"validation / all fitted windows: {shown})", quiet)
        data = prepare(series, cfg.window, cfg.horizon, cfg.test_frac, train_cfg.val_frac,
                       cfg.scale_fit, cfg.target_mode, season=cfg.season, transform=transform,
                       baseline=baseline)
        cfg = replace(cfg, transform=data.coder.transform, baseline=data.coder.baseline)
        task = SeriesTask(data, cfg, device)
        end = train_with_views(lambda views: trainer_for(task, train_cfg, out, views), out,
                               json_out, quiet, lock=False)
    note(f"score it on the test part with: charrnn eval --ckpt {end.best_path} {csv}", quiet)
    if not json_out:
        print(end.best_path)


def resolve_season_and_window(cfg, series, options: dict, val_frac: float):
    """--season auto|none|M and --window (default: sized to the season), from the rows that
    hold no test label."""
    from charrnn.series.prepare import model_rows
    from charrnn.series.season import default_window, detect_season

    asked = options.get("season") or "auto"
    if asked == "auto":
        rows = model_rows(len(series), cfg.test_frac)
        season = detect_season(series.target_values[:rows],
                               series.dates[:rows] if series.dates else None)
    elif asked == "none":
        season = None
    else:
        try:
            season = int(asked)
        except ValueError:
            raise CharrnnError(f"--season {asked}: give auto, none or a whole number of rows "
                               f"per cycle (12 for monthly data with a yearly season)") from None
        if not 2 <= season < len(series):
            raise CharrnnError(f"--season {season}: give 2 or more, under the {len(series)} rows")
    window = options.get("window") or default_window(season, len(series), cfg.horizon,
                                                     cfg.test_frac, val_frac)
    return replace(cfg, season=season, window=window)


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
        cfg = from_dict(SeriesConfig, meta["task"])
        scaler, coder = Scaler.from_dict(meta["scaler"]), Coder.from_dict(meta["coder"])
        model_cfg = from_dict(ModelConfig, meta["model"])
        if (model_cfg.input_size != len(cfg.features) + coder.extra_inputs
                or model_cfg.output_size != cfg.horizon
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
    result = series_metrics(series, part, pred, coder, season, notes,
                            train_rows=int(ckpt.meta["scaler"].get("rows") or 0) or None)
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
    from charrnn.series.prepare import last_window
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
    features = scaler.select(series.features)
    predictions: list[float] = []
    known = series
    while len(predictions) < steps:  # iterate: each forecast becomes the last observed row
        w = last_window(known, features, coder, cfg.window, cfg.horizon)
        new = predict(model, w, coder)[0, : steps - len(predictions)]  # (<= H,)
        predictions += new.tolist()
        if len(predictions) < steps:  # only for a model that reads its own target alone
            known = replace(known, values=np.concatenate([known.values, new[:, None]]),
                            target_values=np.concatenate([known.target_values, new]))
    dates = next_dates(series.dates, steps) if series.dates else None
    out = sys.stdout
    out.write("step,date,prediction\n" if dates else "step,prediction\n")
    for k, value in enumerate(predictions):
        out.write(f"{k + 1},{dates[k]},{value:.10g}\n" if dates else f"{k + 1},{value:.10g}\n")
    out.flush()
