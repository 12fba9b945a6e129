"""The commands that use a trained forecaster: `eval` of a series checkpoint and `forecast`,
with prediction intervals (intervals.py) and per-step scores (metrics.py).

Data goes to stdout; notes go to stderr. Heavy imports (numpy, torch) happen inside.
"""
from __future__ import annotations

import json
import sys
from dataclasses import replace
from pathlib import Path

from charrnn.errors import CharrnnError
from charrnn.plotting import check_plot_path, pyplot, save_png


def note(message: str) -> None:
    print(message, file=sys.stderr)


# ---------------------------------------------------------------------- loading a forecaster
def load_forecaster(ckpt, device_name: str):
    """The trained network and everything to feed it: (model, SeriesConfig, Scaler, Coder)."""
    import numpy as np

    from charrnn.config import ModelConfig, from_dict
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
        shape = (cfg.window * model_cfg.input_size + 1, cfg.horizon)
        if coder.linear is not None and np.shape(coder.linear["weights"]) != shape:
            raise ValueError("the linear model's weights do not fit the window")
    except (KeyError, TypeError, ValueError) as e:
        raise CharrnnError(f"checkpoint {ckpt.path}: invalid series metadata ({e})") from None
    return network(ckpt, model_cfg, device_name), cfg, scaler, coder


def network(ckpt, model_cfg, device_name: str):
    """The checkpoint's weights in a model on the device, in eval mode."""
    from charrnn.model import build_model
    from charrnn.runtime import resolve_device, setup_device

    device = resolve_device(device_name)
    setup_device(device)
    model = build_model(model_cfg)
    model.load_state_dict(ckpt.group("model"))
    return model.to(device).eval()


def read_like_training(source: str, cfg):
    from charrnn.series.table import load_series

    series = load_series(source, cfg.target, cfg.features, cfg.newest_first, cfg.fill, trained=True,
                         future=cfg.future)
    for line in series.notes:
        note(line)
    return series


def finite(pred, series):
    """The model's forecasts, or one line where they are not finite numbers: data far outside
    what it was trained on (1e300 against tens) printed nan with exit 0."""
    import numpy as np

    if not np.all(np.isfinite(pred)):
        raise CharrnnError(f"data {series.name}: the model's forecasts are not finite numbers; "
                           f"its values lie too far outside those the model was trained on")
    return pred


RUNAWAY = 10  # training ranges beyond the trained values: where an iterated forecast is noted


def note_runaway(predictions: list[float], scaler, target: str) -> None:
    """Iterated forecasts compound their errors: say where they leave the values the model
    was trained on by RUNAWAY times those values' range (20,000 steps of a 60-row series
    reached 3.7e23 without a word; a growing series' forecast a year ahead leaves the range
    once, and is not meant)."""
    low, span = scaler.column(target)
    far = next((k for k, v in enumerate(predictions)
                if not low - RUNAWAY * span <= v <= low + (1 + RUNAWAY) * span), None)
    if far is not None:
        note(f"note: from step {far + 1} the forecast, fed its own outputs, lies more than "
             f"{RUNAWAY} times the training values' range ({low:.6g} to {low + span:.6g}) "
             f"outside it; trust the first steps")


# ---------------------------------------------------------------------- eval
def evaluate(ckpt, data: str, json_out: bool, device_name: str, all_rows: bool,
             season: int | None, plot: Path | None, levels=None) -> None:
    """levels: interval levels in percent to score (coverage, width, MSIS); None: 80 and 95
    when the checkpoint holds a calibration."""
    import numpy as np

    from charrnn.series import intervals
    from charrnn.series.metrics import (intervals_text, mase_scale, metrics_text, per_step_text,
                                        series_metrics)
    from charrnn.series.prepare import rebuild
    from charrnn.series.task import predict

    if ckpt.meta["task"].get("id_column"):
        from charrnn.series.panel_forecasting import evaluate_many

        return evaluate_many(ckpt, data, json_out, device_name, all_rows, season, plot, levels)
    if plot is not None:
        check_plot_path(plot)
    cal = ckpt.meta.get("conformal")
    notes: list[str] = []  # printed once the data has been read and scored
    levels = intervals.levels_to_score(cal, levels, notes)
    model, cfg, scaler, coder = load_forecaster(ckpt, device_name)
    series = read_like_training(data, cfg)
    with np.errstate(all="ignore"):  # values far from the training ones: said below, once
        part = rebuild(series, cfg.window, cfg.horizon, cfg.test_frac, scaler, coder).part(
            "all" if all_rows else "test")
        pred = finite(predict(model, part, coder), series)  # (N, H) real units
    train_rows = int(ckpt.meta["scaler"].get("rows") or 0) or None
    # the season the run detected or was given, even where the model corrects persistence: MASE
    # is scaled by the seasonal naive's in-sample error, and the seasonal baselines are scored
    season = season if season is not None else cfg.season
    result = series_metrics(series, part, pred, coder, season, notes, train_rows=train_rows)
    if levels:
        scale = (mase_scale(series.target_values[:train_rows], season)
                 if train_rows else None)
        result["intervals"] = [intervals.interval_scores(
            *intervals.bounds(pred, cal, level), part.y, level, scale) for level in levels]
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
        if len(result["per_step"]) > 1:
            print(per_step_text(result))
        if result.get("intervals"):
            print(intervals_text(result["intervals"]))
        if sys.stdout.isatty():
            from charrnn.series.render import text_plot

            print(text_plot(part.y[:, 0].tolist(), pred[:, 0].tolist()))


def write_plot(path: Path, series, part, pred, result: dict) -> None:
    plt = pyplot()
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
    save_png(fig, path)


# ---------------------------------------------------------------------- forecast
def forecast_values(model, cfg, scaler, coder, series, steps: int) -> list[float]:
    """`steps` forecasts past the end of `series`: at once up to the horizon, iterated beyond
    it only for a model that reads its own target alone."""
    import numpy as np

    from charrnn.series.prepare import last_window
    from charrnn.series.task import predict

    if len(series) < cfg.window:
        raise CharrnnError(f"data {series.name}: {len(series)} rows; the model reads the last "
                           f"{cfg.window}")
    if steps > cfg.horizon and series.features != [series.target]:
        raise CharrnnError(f"--steps {steps}: the model predicts {cfg.horizon} step(s) of "
                           f"{series.target} but reads {', '.join(series.features)}; going further "
                           f"needs those too. Use --steps {cfg.horizon}, or train with --features "
                           f"{series.target} (or a larger --horizon)")
    if steps > cfg.horizon and cfg.future:  # iterated past the horizon: each step reads them
        have = 0 if series.known is None else len(series.known) - len(series)
        if have < steps:
            raise CharrnnError(f"--steps {steps}: the forecast needs the next {steps} row(s) of "
                               f"--future {','.join(cfg.future)} after the last "
                               f"{series.target}; {series.name} gives {have} (add rows with "
                               f"{series.target} left empty, or ask for fewer steps)")
    features = scaler.select(series.features)
    predictions: list[float] = []
    known = series
    while len(predictions) < steps:  # iterate: each forecast becomes the last observed row
        with np.errstate(all="ignore"):  # values far from the training ones: said by finite
            w = last_window(known, features, coder, cfg.window, cfg.horizon)
            out = predict(model, w, coder)
        if predictions and not np.all(np.isfinite(out)):
            raise CharrnnError(f"--steps {steps}: the forecast, fed its own outputs, is no "
                               f"longer a finite number after step {len(predictions)}; ask for "
                               f"fewer steps")
        new = finite(out, series)[0, : steps - len(predictions)]
        predictions += new.tolist()
        if len(predictions) < steps:
            known = replace(known, values=np.concatenate([known.values, new[:, None]]),
                            target_values=np.concatenate([known.target_values, new]))
    return predictions


def forecast(ckpt_path: Path, csv: str, steps: int, device_name: str, levels=None) -> None:
    import numpy as np

    from charrnn.series import intervals

    from charrnn import checkpoint
    from charrnn.series.table import next_dates

    ckpt = checkpoint.load(ckpt_path, kind="series")
    if ckpt.meta["task"].get("id_column"):
        from charrnn.series.panel_forecasting import forecast_many

        return forecast_many(ckpt, csv, steps, device_name, levels)
    cal = ckpt.meta.get("conformal")
    levels = intervals.forecast_levels(cal, levels, steps)
    model, cfg, scaler, coder = load_forecaster(ckpt, device_name)
    series = read_like_training(csv, cfg)
    predictions = forecast_values(model, cfg, scaler, coder, series, steps)
    if steps > cfg.horizon:
        note_runaway(predictions, scaler, series.target)
    dates = next_dates(series.dates, steps) if series.dates else None
    columns = [bounds for level in levels
               for bounds in intervals.bounds(np.asarray(predictions), cal, level)]
    names = [f"{side}{intervals.level_label(level)}" for level in levels for side in ("lo", "hi")]
    out = sys.stdout
    out.write(",".join(["step"] + (["date"] if dates else []) + ["prediction"] + names) + "\n")
    for k, value in enumerate(predictions):
        cells = [str(k + 1)] + ([dates[k]] if dates else []) + [f"{value:.10g}"]
        out.write(",".join(cells + [f"{c[k]:.10g}" for c in columns]) + "\n")
    out.flush()
