"""The series training command's work: `train-series` (and `fit_series`, the preparing and
training that `backtest` reuses per fold); eval and forecast are in forecasting.py.

series/cli.py parses; these functions read the CSV, build configs, call the trainer and print
data to stdout; notes, warnings and progress go to stderr. Heavy imports (numpy, torch)
happen inside them.
"""
from __future__ import annotations

import sys
from dataclasses import replace
from pathlib import Path

from charrnn.errors import CharrnnError

# The default network. 20 wide, the lecture's 10 kept for its protocol (--target-mode level):
# 3 seeds each, a noisy cycle 0.810 -> 0.759 of persistence's RMSE, a trend x season
# 0.348 -> 0.343, a random walk 1.001 -> 0.994, the lecture's file 1.000 either way. One
# network, not an ensemble: blended with the linear model, --ensemble 5 moved 13 series from
# 0.523 to 0.509 of persistence's RMSE on average but no comparison with AutoARIMA, in 3.7x the
# network's time (BENCHMARKS.md, Time series)
SERIES_MODEL = {"cell": "lstm", "hidden": 20, "layers": 1, "ensemble": 1}
# ...and the lecture's protocol keeps the first round's validation share: a level model cannot
# extrapolate, and with 30% held out its training rows missed the price range of the test part
# (scaled RMSE 0.078 against 0.026 with 0.2)
LECTURE_HIDDEN, LECTURE_VAL_FRAC = 10, 0.2
SERIES_TASK_OPTIONS = ("window", "horizon", "test_frac", "scale_fit", "target_mode", "loss",
                       "newest_first", "fill", "id_column", "calendar", "future", "linear")
FLAGS = {"id_column": "--id"}  # options whose flag is not the field's name


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
    from charrnn.configure import given_options, parse_duration, refuse_new_shape, refuse_new_split

    given = given_options(options)
    if "linear" in given:
        given["linear"] = check_linear(given["linear"])
    if "time_budget" in given:
        given["time_budget"] = parse_duration(given["time_budget"])
    train_fields = {k: v for k, v in given.items() if k in TrainConfig.__dataclass_fields__}
    if resumed is not None:
        model_cfg = from_dict(ModelConfig, resumed["model"])
        refuse_new_shape(given, model_cfg)
        refuse_new_split(given, resumed["train"])
        task = from_dict(SeriesConfig, resumed["task"])
        for key in SERIES_TASK_OPTIONS + ("target", "features"):
            trained = getattr(task, key)
            if key == "linear" and set(str(trained).split("+")) == {given.get(key)}:
                continue  # a mean baseline's parts, each with the penalty given: "0.0+0.0"
            if key in given and given[key] != trained:
                flag = FLAGS.get(key, f"--{key.replace('_', '-')}")
                raise CharrnnError(f"{flag}: the resumed model was trained "
                                   f"with {trained!r}; what it reads comes from the "
                                   f"checkpoint (drop the option, or train a new model)")
        for key in ("season", "transform", "baseline"):  # auto resolved to what it chose
            trained = ("none" if key == "season" and not task.season
                       else str(getattr(task, key)))
            if given.get(key, "auto") not in ("auto", trained, trained.split(":")[0]):
                raise CharrnnError(f"--{key} {given[key]}: the resumed model was trained with "
                                   f"{trained}; it comes from the checkpoint (drop the option, "
                                   f"or train a new model)")
        if task.retrain and not resumed.get("epoch") and not resumed.get("step"):
            raise CharrnnError("--resume: validation kept no epoch of this run's network (it "
                               "forecasts with its baseline" + (" and linear model" if task.linear
                               not in ("none", "") else "") + "), so nothing was trained to go "
                               "on from; train a new model (more --epochs, or --no-retrain to "
                               "keep a validated run that can be resumed)")
        train = replace(from_dict(TrainConfig, resumed["train"]), max_steps=None, time_budget=None)
        return model_cfg, replace(train, **train_fields), task
    model = {k: given.get(k, v) for k, v in SERIES_MODEL.items()}
    if given.get("target_mode") == "level":
        model["hidden"] = given.get("hidden", LECTURE_HIDDEN)
        train_fields.setdefault("val_frac", LECTURE_VAL_FRAC)
    retrain = options.get("retrain")  # --no-retrain is False, which given_options drops
    if retrain and given.get("target_mode") == "level":
        raise CharrnnError("--retrain: a --target-mode level model (the lecture's) is not "
                           "trained again on the validation windows; drop --retrain")
    new_run = {"linear": "auto",
               "retrain": given.get("target_mode") != "level" if retrain is None else retrain}
    task = SeriesConfig(**{**new_run, **{k: given[k] for k in SERIES_TASK_OPTIONS if k in given}},
                        target=given.get("target", ""), features=given.get("features", []))
    return model, replace(SERIES_TRAINING, **train_fields), task


def train(csv: str, options: dict, device_name: str, out: Path | None, resume: Path | None,
          json_out: bool, quiet: bool) -> None:
    from charrnn import checkpoint
    from charrnn.engine.session import train_with_views
    from charrnn.runtime import resolve_device
    from charrnn.series.table import load_series

    resumed = checkpoint.load(resume, kind="series", prefer="last") if resume is not None else None
    model, train_cfg, cfg = series_configs(options, resumed.meta if resumed else None)
    device = resolve_device(device_name)
    if cfg.id_column:
        return train_many(csv, options, model, train_cfg, cfg, device, out, resumed, json_out,
                          quiet)
    series = load_series(csv, cfg.target or None, cfg.features or None, cfg.newest_first, cfg.fill,
                         trained=resumed is not None, future=cfg.future)
    for line in series.notes:
        note(line, quiet)
    cfg = replace(cfg, target=series.target, features=series.features)
    transform, baseline = cfg.transform, cfg.baseline
    if resumed is None:
        cfg = resolve_season_and_window(cfg, series, options, train_cfg.val_frac)
        transform, baseline = asked_choices(options)
    if cfg.scale_fit == "all":
        note("warning: --scale-fit all fits the scaling on every row, test rows included: the test "
             "part leaks into training (the lecture's protocol, for comparison only)", quiet)
    out = run_folder(out, csv, resumed)
    end, _ = fit_series(series, model, train_cfg, cfg, transform, baseline, device, out,
                        lambda make: train_with_views(make, out, json_out, quiet, lock=False),
                        resumed, quiet)
    note(f"score it on the test part with: charrnn eval --ckpt {end.best_path} {csv}", quiet)
    if not json_out:
        print(end.best_path)


def check_linear(asked: str) -> str:
    """--linear: auto, none or a penalty >= 0 (as the checkpoint stores it)."""
    asked = asked.strip().lower()
    if asked in ("auto", "none"):
        return asked
    try:
        penalty = float(asked)
    except ValueError:
        penalty = -1.0
    if not 0 <= penalty < float("inf"):
        raise CharrnnError(f"--linear {asked}: give auto, none or a ridge penalty (a number >= 0, "
                           f"such as 10)")
    return repr(penalty)


def asked_choices(options: dict) -> tuple[str, str]:
    """(--transform, --baseline) of a new run, auto where not given."""
    return options.get("transform") or "auto", options.get("baseline") or "auto"


def run_folder(out: Path | None, csv: str, resumed) -> Path:
    """--out, else the resumed run's folder, else checkpoints/<data name>; checked writable."""
    from charrnn.configure import check_writable
    from charrnn.text.data import corpus_name

    if out is None:
        out = resumed.path.parent if resumed is not None else Path("checkpoints") / (
            "stdin-series" if csv == "-" else corpus_name(csv))
    check_writable(out, kind="series")
    return out


def train_many(csv: str, options: dict, model, train_cfg, cfg, device, out: Path | None,
               resumed, json_out: bool, quiet: bool) -> None:
    """train-series --id: one global model over every series of a long-format file."""
    from charrnn.engine.session import train_with_views
    from charrnn.series.panel import fit_panel, load_panel, resolve_panel_config

    panel = load_panel(csv, cfg.id_column, cfg.target or None, cfg.features or None, cfg.fill,
                       trained=resumed is not None, future=cfg.future)
    lead = panel.series[0]
    cfg = replace(cfg, target=lead.target, features=lead.features)
    transform, baseline = cfg.transform, cfg.baseline
    if resumed is None:
        cfg = resolve_panel_config(cfg, panel, options, train_cfg.val_frac)
        transform, baseline = asked_choices(options)
        cfg = replace(cfg, transform=transform, baseline=baseline)  # chosen per series
    out = run_folder(out, csv, resumed)
    for line in panel.notes:
        note(line, quiet)
    end, _ = fit_panel(panel, model, train_cfg, cfg, transform, baseline, device, out,
                       lambda make: train_with_views(make, out, json_out, quiet, lock=False),
                       lambda line: note(line, quiet), resumed)
    note(f"score it on each series' test part with: charrnn eval --ckpt {end.best_path} {csv}",
         quiet)
    if not json_out:
        print(end.best_path)


def fit_series(series, model, train_cfg, cfg, transform: str, baseline: str, device, out: Path,
               run, resumed=None, quiet: bool = True):
    """Prepare `series` (split, scaler, transform, baseline: auto is chosen by each one's linear
    model, selection.py), then train under the lock of `out` (with cfg.retrain, then again:
    retrain.py): `run(make_trainer)` runs `make_trainer(listeners)` (a command's
    views, or none for a quiet run). Returns (TrainEnd, the SeriesTask trained last).
    model: a ModelConfig (resumed) or {"cell", "hidden", "layers", "ensemble"}."""
    from charrnn.engine.lock import run_lock
    from charrnn.engine.trainer import Trainer
    from charrnn.runtime import setup_device
    from charrnn.series.prepare import prepare
    from charrnn.series.retrain import (retrain_on_validation, train_beside, validated_config,
                                        with_share)
    from charrnn.series.baselines import COMBINED, combined_parts, mean_parts
    from charrnn.series.selection import FEW_WINDOWS, WALK_MARGIN, choose_baseline
    from charrnn.series.task import SeriesTask, cpu_threads, model_config, model_work

    setup_device(device)
    precision = "fp32" if train_cfg.precision == "auto" else train_cfg.precision

    def trainer_for(task, train_cfg, out, views):
        inputs = len(series.features) + task.data.coder.extra_inputs
        return Trainer(task, model_config(model, inputs, cfg.horizon), train_cfg, out, device,
                       precision, views, resumed)

    # every check on the data before the folder is touched: the split, the transform
    data = prepare(series, cfg.window, cfg.horizon, cfg.test_frac, train_cfg.val_frac,
                   cfg.scale_fit, cfg.target_mode, season=cfg.season, transform=transform,
                   baseline="persistence" if baseline == "auto" else baseline,
                   calendar=cfg.calendar, linear=cfg.linear)
    transform = data.coder.transform
    if data.split.val > data.split.train:
        note(f"warning: {data.split.train} training window{'s' * (data.split.train != 1)} "
             f"against {data.split.val} validation windows: --val-frac {train_cfg.val_frac:g} "
             f"leaves the model little to learn from", quiet)
    with run_lock(out), cpu_threads(device, model_work(model_config(model, 1, 1), len(series))):
        averaged, scores = False, None  # auto chose the mean of the candidates; its scores
        if baseline == "auto" and cfg.target_mode == "delta":
            baseline, scores = choose_baseline(series, cfg, train_cfg.val_frac, transform)
            averaged = baseline == COMBINED
            if scores:
                shown = ", ".join(f"{k} {v:.4g}" for k, v in scores.items())
                how = ("the mean of the two whose linear models score best" if mean_parts(baseline)
                       else "chosen by its linear model's RMSE")
                note(f"note: --baseline {baseline}: {how} on the validation windows ({shown})",
                     quiet)
        data = prepare(series, cfg.window, cfg.horizon, cfg.test_frac, train_cfg.val_frac,
                       cfg.scale_fit, cfg.target_mode, season=cfg.season, transform=transform,
                       baseline=baseline, calendar=cfg.calendar, linear=cfg.linear,
                       linear_on="fit" if cfg.retrain and resumed is not None else "train")
        if averaged:
            parts = combined_parts(data.coder.baseline, cfg.season)
            what = (f"the mean of {', '.join(parts)}" if parts else
                    "Holt's smoothing fitted as the last value")
            note(f"note: --baseline {data.coder.baseline}: {what}, since "
                 f"{len(data.part('val').y)} validation windows (under {FEW_WINDOWS}) cannot "
                 f"choose among them", quiet)
        if data.walk:  # prepare.walks; SeriesTask.beats_initial; selection.WALK_MARGIN
            rules = ["the network keeps no epoch"]
            if cfg.linear == "auto":
                rules.append("the linear model may add a clear drift and nothing else")
            if scores is not None:
                rules.append(f"Holt's smoothing must beat persistence by {WALK_MARGIN:.0%}")
            note("note: the training rows' changes look like white noise (Ljung-Box): to its own "
                 "past the series is a random walk, so " + ", ".join(rules[:-1])
                 + (" and " if len(rules) > 1 else "") + rules[-1], quiet)
        linear = data.coder.linear
        cfg = replace(cfg, transform=data.coder.transform, baseline=data.coder.baseline,
                      linear=asked_linear(linear))
        retrain = cfg.retrain and cfg.target_mode == "delta" and len(data.part("val").y) > 0
        cfg = replace(cfg, retrain=retrain)
        if resumed is not None:  # a retrained model goes on with what it learned from
            task = SeriesTask(data, cfg, device, resumed.meta.get("conformal"))
            return run(lambda views: trainer_for(task, train_cfg, out, views)), task
        task = SeriesTask(data, replace(cfg, retrain=False), device)
        shown = validated_config(train_cfg, retrain)
        end = run(lambda views: trainer_for(task, shown, out, views))
        share = linear_alone(task, end)
        if share is not None and end.best_epoch:
            note(f"note: the linear model alone beat the network's best epoch ({end.best_epoch}) "
                 f"on the validation windows: the linear model forecasts alone", quiet)
            end = replace(end, best_epoch=0)
        elif share is not None:
            note("note: no epoch was kept, and all of the linear model's correction beat 2/3 of "
                 "it on the validation windows: the linear model forecasts alone", quiet)
        if retrain:
            return retrain_on_validation(task, train_cfg, end, out, trainer_for,
                                         lambda line: note(line, quiet), share)
        if share is not None:  # the validated checkpoints again, with the linear model's share
            task = SeriesTask(with_share(data, share), replace(cfg, retrain=False), device)
            end = train_beside(out, end, train_cfg,
                               lambda shorter, folder: trainer_for(task, shorter, folder, ()))
    return end, task


def asked_linear(linear: dict | None) -> str:
    """The --linear that fits this linear model again (on more windows, when retraining):
    its penalty, one per part ("1.0+none") for a mean baseline's."""
    if linear is None:
        return "none"
    if "parts" in linear:
        return "+".join("none" if p is None else repr(p) for p in linear["parts"])
    return repr(linear["penalty"])


def linear_alone(task, end) -> float | None:
    """1 where the linear model should forecast alone (all of its correction, the network's
    output counting for nothing), else None: the share stays.

    Where the network stayed out (no epoch beat the untrained blend), that is where all of the
    correction beats its share on the validation windows (linear.choose_share). Where an epoch
    was kept, it is where all of the correction scores lower there than the kept epoch's blend:
    the epoch was measured against the linear model's two thirds, and may lose to all of it.
    On a generated additive season on a trend (seed 1) the kept epoch's validation loss was
    1/0.9909 of the linear model's alone; on the test part it scored an RMSE of 1.400, the
    linear model alone 1.316. Full runs on seed 1 of 131 series, and seeds 2 and 3 of 30
    (where seed 1 kept an epoch, and fpp2's): it applied to 13 runs of 5 series and won 11;
    over the three seeds, test RMSE over persistence's, WWWusage 0.520 -> 0.462 (AutoARIMA
    0.459), a heart rate 0.871 -> 0.838, the additive season 0.555 -> 0.543, San Diego's daily
    temperature 0.9445 -> 0.9417, US money stock (M1) 0.791 -> 0.796 (BENCHMARKS.md)."""
    from charrnn.series import linear

    d = task.data
    if d.coder.linear is None:
        return None
    if end.best_epoch != 0:
        alone = task.alone_loss()
        return 1.0 if alone is not None and alone < end.best_loss else None
    bare = replace(d.coder, linear=None)
    share = linear.choose_share(bare, d.part("val"), d.coder.linear["weights"])
    return share if share != d.coder.linear["share"] else None


def resolve_season_and_window(cfg, series, options: dict, val_frac: float):
    """--season auto|none|M and --window (default: sized to the season), from the rows that
    hold no test label."""
    from charrnn.series.prepare import model_rows
    from charrnn.series.season import check_season, default_window, detect_season, is_cycle

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
        check_season(season, len(series))
        rows = model_rows(len(series), cfg.test_frac)
        if season >= rows:  # no window before the test part could look a season back
            raise CharrnnError(f"--season {season}: the test part starts {rows} rows in, so no "
                               f"row before it has one a season back to learn from; give a "
                               f"shorter --season, or none")
    window = options.get("window") or default_window(season, len(series), cfg.horizon,
                                                     cfg.test_frac, val_frac,
                                                     cycle=is_cycle(series.dates))
    calendar = options.get("calendar")
    if calendar is None:
        calendar = auto_calendar(series, season, window, cfg.test_frac)
    return replace(cfg, season=season, window=window, calendar=calendar)


def auto_calendar(series, season: int | None, window: int, test_frac: float) -> bool:
    """Where the window cannot see the season (a daily series' year), the calendar tells the
    network where in it each row is: on daily AR(1) weather with a yearly season, 3 seeds,
    0.968 -> 0.939 of persistence's RMSE (AutoARIMA 0.961). Needs dates with a cycle that the
    rows before the test part hold twice."""
    from charrnn.series.covariates import calendar_cycles
    from charrnn.series.prepare import model_rows

    if not season or season <= window or not series.dates:
        return False
    try:
        calendar_cycles(series.dates[:model_rows(len(series), test_frac)], series.date_column)
    except CharrnnError:
        return False
    return True


# eval and forecast live in forecasting.py; charrnn/cli.py and series/cli.py call them here
from charrnn.series.forecasting import (evaluate, forecast, load_forecaster,  # noqa: E402,F401
                                        read_like_training)
