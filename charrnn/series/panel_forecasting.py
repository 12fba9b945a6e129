"""`eval` and `forecast` of a global model trained on a long-format file (train-series --id):
each series scored or forecast with its own scaler, coder and intervals; per-series metrics and
their means over the series.

Data goes to stdout; notes go to stderr.
"""
from __future__ import annotations

import json
import sys
from csv import writer as csv_writer

import numpy as np

from charrnn.errors import CharrnnError
from charrnn.series.forecasting import forecast_values, network, note


def load_many(ckpt, data: str, device_name: str, notes: list):
    """(model, SeriesConfig, the file's members the model knows)."""
    from charrnn.config import ModelConfig, SeriesConfig, from_dict
    from charrnn.series.panel import load_panel, members

    try:
        cfg = from_dict(SeriesConfig, ckpt.meta["task"])
        model_cfg = from_dict(ModelConfig, ckpt.meta["model"])
        if not ckpt.meta["panel"]["series"]:
            raise ValueError("no series")
    except (KeyError, TypeError, ValueError) as e:
        raise CharrnnError(f"checkpoint {ckpt.path}: invalid series metadata ({e})") from None
    panel = load_panel(data, cfg.id_column, cfg.target, cfg.features, cfg.fill, trained=True,
                       future=cfg.future)
    notes += panel.notes
    found = members(ckpt.meta, panel, notes)
    wide = {len(cfg.features) + m.coder.extra_inputs for m in found}
    if wide != {model_cfg.input_size} or model_cfg.output_size != cfg.horizon:
        raise CharrnnError(f"checkpoint {ckpt.path}: invalid series metadata (columns, coders "
                           f"and model disagree)")
    return network(ckpt, model_cfg, device_name), cfg, found


def _mean(values) -> float | None:
    values = [v for v in values if v is not None and np.isfinite(v)]
    return float(np.mean(values)) if values else None


def evaluate_many(ckpt, data: str, json_out: bool, device_name: str, all_rows: bool,
                  season: int | None, plot, levels=None) -> None:
    from charrnn.series import intervals
    from charrnn.series.metrics import mase_scale, series_metrics
    from charrnn.series.panel import rebuild_member
    from charrnn.series.task import predict

    if plot is not None:
        raise CharrnnError("--plot: draws one series; this model forecasts many (score it "
                           "without --plot, or train on one series)")
    notes: list[str] = []
    levels = intervals.levels_to_score(ckpt.meta["panel"].get("conformal_units"), levels, notes)
    model, cfg, found = load_many(ckpt, data, device_name, notes)
    results = []
    for m in found:
        try:
            part = rebuild_member(m, cfg).part("all" if all_rows else "test")
        except CharrnnError:
            notes.append(f"note: series {m.key}: {len(m.series)} rows hold no window; skipped")
            continue
        pred = predict(model, part, m.coder)
        r = series_metrics(m.series, part, pred, m.coder,
                           season if season is not None else cfg.season, notes,
                           train_rows=m.train_rows or None)
        if levels:  # one pooled calibration, in this series' units
            scale = mase_scale(m.series.target_values[:m.train_rows],
                               season if season is not None else cfg.season)
            r["intervals"] = [intervals.interval_scores(
                *intervals.bounds(pred, m.calibration, level), part.y, level, scale)
                for level in levels]
        results.append({"id": m.key, **r})
    if not results:
        raise CharrnnError(f"data {data}: no series holds a window to score")
    for line in dict.fromkeys(notes):
        note(line)
    overall = overall_scores(results)
    if json_out:
        print(json.dumps({"id_column": cfg.id_column, "overall": overall, "series": results}))
    else:
        print(many_text(results, overall, cfg, "all windows" if all_rows else "test part"))


def overall_scores(results: list[dict]) -> dict:
    """Means over the series (each series counts once, whatever its length or scale)."""
    ratio = [r["rmse"] / r["baselines"]["persistence"]["rmse"]
             if r["rmse"] is not None and r["baselines"]["persistence"]["rmse"] else None
             for r in results]
    out = {"series": len(results), "n": sum(r["n"] for r in results),
           "rmse_ratio_to_persistence": _mean(ratio),
           "mase": _mean(r.get("mase") for r in results),
           "smape": _mean(r.get("smape") for r in results),
           "baselines": {}}
    for name in results[0]["baselines"]:
        rows = [r["baselines"][name] for r in results if name in r["baselines"]]
        out["baselines"][name] = {"mase": _mean(b.get("mase") for b in rows),
                                  "smape": _mean(b.get("smape") for b in rows)}
    if all(r.get("intervals") for r in results):
        out["intervals"] = [{"level": e["level"],
                             "coverage": _mean(r["intervals"][i]["coverage"] for r in results),
                             "msis": _mean(r["intervals"][i]["msis"] for r in results)}
                            for i, e in enumerate(results[0]["intervals"])]
    return out


def many_text(results: list[dict], overall: dict, cfg, what: str) -> str:
    def num(value, fmt=".4g") -> str:
        return "-" if value is None else f"{value:{fmt}}"

    head = ["series", "windows", "rmse", "persistence", "ratio", "mase", "smape%"]
    rows = []
    for r in results:
        p = r["baselines"]["persistence"]["rmse"]
        rows.append([r["id"], str(r["n"]), num(r["rmse"], ".6g"), num(p, ".6g"),
                     num(r["rmse"] / p if p and r["rmse"] is not None else None, ".3f"),
                     num(r.get("mase")), num(r.get("smape"), ".3f")])
    widths = [max(len(x) for x in col) for col in zip(head, *rows)]
    lines = [f"{cfg.target} by {cfg.id_column}, {what}: {overall['series']} series, "
             f"{overall['n']} windows"]
    lines += ["  ".join(x.rjust(w) if i else x.ljust(w) for i, (x, w) in
                        enumerate(zip(line, widths))) for line in [head] + rows]
    lines.append(f"mean over series: rmse x{num(overall['rmse_ratio_to_persistence'], '.3f')} "
                 f"persistence's, mase {num(overall['mase'])}, smape "
                 f"{num(overall['smape'], '.3f')}%")
    for name, b in overall["baselines"].items():
        lines.append(f"  {name}: mase {num(b['mase'])}, smape {num(b['smape'], '.3f')}%")
    for e in overall.get("intervals", []):
        lines.append(f"interval {e['level']:g}%: mean coverage {num(e['coverage'], '.1%')}, "
                     f"msis {num(e['msis'])}")
    return "\n".join(lines)


def forecast_many(ckpt, csv: str, steps: int, device_name: str, levels=None) -> None:
    """`id[,date],step,prediction[,loL,hiL...]` for every series the model knows."""
    from charrnn.series import intervals
    from charrnn.series.table import next_dates

    levels = intervals.forecast_levels(ckpt.meta["panel"].get("conformal_units"), levels, steps)
    notes: list[str] = []
    model, cfg, found = load_many(ckpt, csv, device_name, notes)
    rows = []
    for m in found:
        if len(m.series) < cfg.window:
            notes.append(f"note: series {m.key}: {len(m.series)} rows, under the {cfg.window} "
                         f"the model reads; skipped")
            continue
        values = np.asarray(forecast_values(model, cfg, m.scaler, m.coder, m.series, steps))
        dates = next_dates(m.series.dates, steps) if m.series.dates else None
        bounds = [b for level in levels for b in intervals.bounds(values, m.calibration, level)]
        rows.append((m.key, dates, values, bounds))
    for line in dict.fromkeys(notes):
        note(line)
    dated = any(d is not None for _, d, _, _ in rows)
    names = [f"{side}{intervals.level_label(level)}" for level in levels for side in ("lo", "hi")]
    out = csv_writer(sys.stdout, lineterminator="\n")  # an id may hold a comma or a quote
    out.writerow([cfg.id_column] + (["date"] if dated else []) + ["step", "prediction"] + names)
    for key, dates, values, bounds in rows:
        for k, value in enumerate(values):
            cells = [key] + ([dates[k] if dates else ""] if dated else []) + [str(k + 1),
                                                                              f"{value:.10g}"]
            out.writerow(cells + [f"{b[k]:.10g}" for b in bounds])
    sys.stdout.flush()
