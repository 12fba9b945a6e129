"""`charrnn backtest`: rolling-origin evaluation, the model trained again at several origins.

The folds share out the forecast origins of the last --test-frac of the file: fold k's origins
run from o_k to the next fold's first origin (the last fold: to the last row that still has H
rows after it). Fold k trains on the rows before o_k alone, as `train-series` would on a file
that ended there (season, window, scaler, transform and baseline included; the last tenth of
its windows validates and picks `best`), then forecasts H steps from every origin of the fold
with those weights, reading the rows observed up to each origin as time passes. `--refit once`
trains at the first origin only and forecasts every fold with that model.

The training code (commands.fit_series) needs a test part; a fold's series is the rows before
its origin followed by H copies of the last of them, so its one test window is the forecast
from the origin and no row at or after the origin reaches the training: the scaler is fitted on
exactly the `origin` rows before it.
"""
from __future__ import annotations

import json
import sys
import tempfile
import time
from dataclasses import replace
from pathlib import Path

import numpy as np

from charrnn.errors import CharrnnError

METRICS = ("rmse", "mae", "mape", "mase", "smape")


def origins(rows: int, horizon: int, test_frac: float, folds: int) -> list[int]:
    """The first origin of each fold, then the end (one past the last origin): folds + 1 rows.
    An origin is the first forecast row (the model reads the rows before it)."""
    first = int(rows * (1 - test_frac))
    count = rows - horizon + 1 - first  # origins with H rows after them
    if count < 1:  # not one origin, whatever the folds: the horizon is too long
        raise CharrnnError(f"--horizon {horizon}: the last {test_frac:g} of the {rows} rows "
                           f"holds no forecast origin with {horizon} row(s) after it; give a "
                           f"shorter --horizon or a larger --test-frac")
    if count < folds:
        raise CharrnnError(f"--folds {folds}: the last {test_frac:g} of the {rows} rows holds "
                           f"{max(count, 0)} forecast origins with {horizon} row(s) after them; "
                           f"give fewer folds or a larger --test-frac")
    return [first + k * count // folds for k in range(folds)] + [first + count]


def before(series, origin: int, horizon: int):
    """The rows before `origin`, then `horizon` copies of the last of them (the test window's
    labels, never trained on)."""
    def pad(values):
        return np.concatenate([values[:origin], np.repeat(values[origin - 1:origin], horizon,
                                                          axis=0)])

    return replace(series, values=pad(series.values), target_values=pad(series.target_values),
                   dates=None if series.dates is None else series.dates[:origin] + [
                       series.dates[origin - 1]] * horizon,
                   lines=None if series.lines is None else series.lines[:origin] + [
                       series.lines[origin - 1]] * horizon, notes=[])


def train_fold(series, origin: int, options: dict, model, train_cfg, cfg, device, out: Path):
    """Trains on the rows before `origin`; returns the checkpoint folder's best."""
    from charrnn.series import commands
    from charrnn.series.windows import count_windows

    seen = replace(series, values=series.values[:origin],
                   target_values=series.target_values[:origin],
                   dates=series.dates[:origin] if series.dates else series.dates)
    cfg = commands.resolve_season_and_window(replace(cfg, test_frac=0.0), seen, options,
                                             train_cfg.val_frac)
    fold = before(series, origin, cfg.horizon)
    windows = count_windows(len(fold), cfg.window, cfg.horizon)
    if windows < 3:
        raise CharrnnError(f"fold at row {origin}: {origin} rows are too few for --window "
                           f"{cfg.window} and --horizon {cfg.horizon}; give a smaller --test-frac "
                           f"or fewer --folds")
    cfg = replace(cfg, test_frac=1 / windows)  # one test window: the forecast from the origin
    commands.fit_series(fold, model, train_cfg, cfg, *commands.asked_choices(options), device,
                        out, lambda make: make(()).run())
    return out


def score_fold(series, ckpt_dir: Path, start: int, stop: int, device_name: str) -> dict:
    """Forecasts from origins start..stop-1 with the checkpoint in ckpt_dir; its scores."""
    from charrnn import checkpoint
    from charrnn.series.forecasting import load_forecaster
    from charrnn.series.metrics import series_metrics
    from charrnn.series.prepare import rebuild, take
    from charrnn.series.task import predict

    ckpt = checkpoint.load(ckpt_dir, kind="series")
    model, cfg, scaler, coder = load_forecaster(ckpt, device_name)
    rows = int(ckpt.meta["scaler"]["rows"])
    assert rows <= start, (rows, start)  # never a row at or after the origin
    data = rebuild(series, cfg.window, cfg.horizon, 0.5, scaler, coder)
    part = take(data.windows, start - cfg.window, stop - cfg.window)  # window i: origin i + W
    pred = predict(model, part, coder)
    notes: list[str] = []
    result = series_metrics(series, part, pred, coder, cfg.season, notes, train_rows=rows)
    return {"train_rows": rows, "season": cfg.season, "window": cfg.window,
            "baseline": cfg.baseline if cfg.target_mode == "delta" else "level",
            "windows": int(len(part.y)), "model": {k: result.get(k) for k in METRICS},
            "baselines": {k: result["baselines"].get(k) for k in ("persistence",
                                                                  "seasonal_naive")},
            "skill": result["skill"]}


def mean_of(folds: list, pick) -> dict:
    out = {}
    for k in METRICS:
        values = [pick(f).get(k) if pick(f) else None for f in folds]
        out[k] = None if any(v is None for v in values) else float(np.mean(values))
    return out


def backtest(csv: str, options: dict, folds: int, refit: str, device_name: str,
             json_out: bool, quiet: bool) -> None:
    from charrnn.runtime import resolve_device
    from charrnn.series import commands
    from charrnn.series.table import load_series
    from charrnn.series.task import row_label

    model, train_cfg, cfg = commands.series_configs(options, None)
    device = resolve_device(device_name)
    series = load_series(csv, cfg.target or None, cfg.features or None, cfg.newest_first,
                         cfg.fill)
    for line in series.notes:
        commands.note(line, quiet)
    cfg = replace(cfg, target=series.target, features=series.features)
    starts = origins(len(series), cfg.horizon, cfg.test_frac, folds)
    results = []
    with tempfile.TemporaryDirectory(prefix="charrnn-backtest-") as tmp:
        ckpt = None
        for k in range(folds):
            start, stop = starts[k], starts[k + 1]
            t0 = time.monotonic()
            if ckpt is None or refit == "every":
                commands.note(f"fold {k + 1}/{folds}: training on the {start} rows before "
                              f"{row_label(series, start)}", quiet)
                ckpt = train_fold(series, start, options, model, train_cfg, cfg, device,
                                  Path(tmp) / f"fold{k + 1}")
            r = score_fold(series, ckpt, start, stop, device.type)
            r = {"fold": k + 1, "origin": row_label(series, start), "origin_row": start, **r}
            results.append(r)
            p = r["baselines"]["persistence"]["rmse"]
            commands.note(f"fold {k + 1}/{folds}: {r['windows']} forecasts from "
                          f"{row_label(series, start)}: rmse {r['model']['rmse']:.6g} "
                          f"(persistence {p:.6g}) in {time.monotonic() - t0:.1f} s", quiet)
    mean = {"model": mean_of(results, lambda f: f["model"]),
            "persistence": mean_of(results, lambda f: f["baselines"]["persistence"]),
            "seasonal_naive": mean_of(results, lambda f: f["baselines"]["seasonal_naive"])}
    skills = [f["skill"] for f in results]
    mean["skill"] = None if None in skills else float(np.mean(skills))
    report = {"data": series.name, "target": series.target, "folds": results, "mean": mean,
              "horizon": cfg.horizon, "refit": refit, "test_frac": cfg.test_frac}
    if json_out:
        print(json.dumps(report))
    else:
        print(table(report))
    sys.stdout.flush()


def table(report: dict) -> str:
    def num(value) -> str:
        return "-" if value is None else f"{value:.6g}"

    head = ["fold", "origin", "train rows", "forecasts", "rmse", "persistence", "seasonal",
            "mase", "skill"]
    rows = []
    for f in report["folds"]:
        naive = f["baselines"]["seasonal_naive"]
        rows.append([str(f["fold"]), f["origin"], str(f["train_rows"]), str(f["windows"]),
                     num(f["model"]["rmse"]), num(f["baselines"]["persistence"]["rmse"]),
                     num(naive and naive["rmse"]), num(f["model"]["mase"]),
                     "-" if f["skill"] is None else f"{f['skill']:+.4f}"])
    m = report["mean"]
    rows.append(["mean", "", "", str(sum(f["windows"] for f in report["folds"])),
                 num(m["model"]["rmse"]), num(m["persistence"]["rmse"]),
                 num(m["seasonal_naive"]["rmse"]), num(m["model"]["mase"]),
                 "-" if m["skill"] is None else f"{m['skill']:+.4f}"])
    widths = [max(len(x) for x in col) for col in zip(head, *rows)]
    lines = [f"{report['target']}: {len(report['folds'])} folds, horizon {report['horizon']}, "
             f"refit {report['refit']}; rmse in real units over steps 1..{report['horizon']}"]
    lines += ["  ".join(x.ljust(w) if i < 2 else x.rjust(w) for i, (x, w) in
                        enumerate(zip(line, widths))) for line in [head] + rows]
    return "\n".join(lines)
