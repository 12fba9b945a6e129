"""A run's data, end to end: the split by windows, the scaler fitted on training rows, the
windows, the baseline and the coder, made once for training (prepare) or again for new data
without refitting (rebuild).

The scaler and coder are fitted on the rows the training and validation windows read, never on
test labels (unless the lecture's `--scale-fit all` asks for it). The parts live in scaler,
baselines, windows and coder; this module decides how they are put together. Pure numpy.
"""
from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np

from charrnn.errors import CharrnnError
from charrnn.series.baselines import (AIRLINE, BASELINES, COMBINED, LONGEST_SMOOTHED, SMOOTHED,
                                      TRANSFORMS, airline_weights, baseline_forecast,
                                      choose_baseline, combined, combined_parts, fit_airline,
                                      fit_smoothing, forward, mean_parts, residual_errors,
                                      single, smoothing)
from charrnn.series.coder import Coder, fit_coder
from charrnn.series.trend_season import TREND_SEASON
from charrnn.series.moments import spread
from charrnn.series.scaler import Scaler
from charrnn.series.season import check_season, clear_drift
from charrnn.series.table import Series
# commands.py, task.py and selection.py take Coder, Scaler, Windows, BASELINES, take and pick
# from here; pick is not used here
from charrnn.series.windows import (Windows, count_windows, make_windows, pick,  # noqa: F401
                                    take, with_baseline)


# ---------------------------------------------------------------------- splits, counted in windows
# Window i reads rows i .. i+W-1 (all features) and predicts the target H rows after its last
# observed row t = i+W-1; the split counts windows, chronologically, as the lecture does:
#
#   rows      0 1 2 3 4 5 6 7 8 9 ...                                   (W = 3, H = 1)
#   window 0  [0 1 2] -> 3
#   window 1    [1 2 3] -> 4
#   windows   [ train ............ | val .. ][ test ......... ]
#             |<----- int(n * (1 - test_frac)) ---->|
#   the scaler is fitted on the rows the train and val windows read, labels included
@dataclass
class Split:
    """Window counts; with a horizon H > 1, H - 1 windows are dropped before the validation and
    test parts, so no label of theirs is also a label of an earlier part."""

    train: int
    val: int
    test: int
    gap: int = 0

    @property
    def val_start(self) -> int:
        return self.train + (self.gap if self.val else 0)

    @property
    def fit(self) -> int:
        """End of the windows the model learns from or is selected on."""
        return self.val_start + self.val

    @property
    def test_start(self) -> int:
        return self.fit + self.gap


def split_windows(n: int, test_frac: float, val_frac: float, horizon: int = 1) -> Split:
    fit = int(round(n * (1 - test_frac), 9))  # 725 windows, 0.3 -> 507 train, 218 test
    gap = horizon - 1
    usable = fit - gap
    val = max(1, int(round(usable * val_frac))) if val_frac > 0 else 0
    return Split(usable - val - (gap if val else 0), val, n - fit, gap)


def _enough(split: Split) -> bool:
    return split.train >= 1 and split.val >= 0 and split.test >= 1


def check_split(name: str, rows: int, window: int, horizon: int, test_frac: float,
                val_frac: float) -> Split:
    """The split, or an error saying how many rows these options need."""
    split = split_windows(count_windows(rows, window, horizon), test_frac, val_frac, horizon)
    if _enough(split):
        return split
    need = next((r for r in range(rows + 1, rows + 100_000) if _enough(
        split_windows(count_windows(r, window, horizon), test_frac, val_frac, horizon))), None)
    needed = f"at least {need} rows" if need else "far more rows"
    raise CharrnnError(f"data {name}: {rows} rows are too few for --window {window}, --horizon "
                       f"{horizon}, --test-frac {test_frac:g} and --val-frac {val_frac:g}: they "
                       f"need {needed} (a training, a validation and a test window)")


def trend_season_reaches(split: Split, window: int, season: int | None) -> bool:
    """Whether the windows that are scored (validation, else test) all end two seasons or more
    into the rows, where the trend_season baseline has a line and a season to fit: before,
    it is persistence, and a model validated on persistence would forecast with a fit it was
    never scored on."""
    first = split.val_start if split.val else split.test_start
    return bool(season) and first + window - 1 >= 2 * season - 1


def check_trend_season(split: Split, window: int, season: int | None, baseline: str) -> None:
    """A baseline that is or holds trend_season, where trend_season_reaches does not hold:
    error."""
    parts = combined_parts(baseline, season) or (baseline,)
    if season and TREND_SEASON in parts and not trend_season_reaches(split, window, season):
        first = split.val_start if split.val else split.test_start
        part = "validation" if split.val else "test"
        raise CharrnnError(f"--baseline {TREND_SEASON}: fitting a line and a season of "
                           f"{season} rows takes {2 * season} rows, and the first {part} "
                           f"window sees only {first + window}; give a shorter --season, or "
                           f"another --baseline")


def fit_rows(split: Split, window: int, horizon: int) -> int:
    """Rows read by the train and val windows, labels included: the scaler sees no test label."""
    return split.fit + window + horizon - 1  # the last of them is window fit - 1


# ---------------------------------------------------------------------- forecasting past the end
def last_window(series: Series, scaler: Scaler, coder: "Coder", window: int,
                horizon: int) -> Windows:
    """The window over the series' last `window` rows, for forecasting past its end (y is zeros).
    `scaler` scales the features (Scaler.select(series.features))."""
    from charrnn.series.covariates import known_matrix

    end = np.array([len(series) - 1])
    x = scaler.transform(series.values[-window:])[None].astype(np.float32)  # (1, W, F)
    known = known_matrix(series, coder.calendar, coder.future, horizon)
    if known is not None:
        known = known[None, len(series) - window + horizon: len(series) + horizon]
    base = resid = None
    if coder.mode != "level" and (coder.baseline != "persistence" or coder.transform != "none"):
        base, _ = baseline_forecast(series.target_values, end, horizon, coder.baseline,
                                    coder.season, coder.transform)
    if coder.residuals:
        err = residual_errors(series.target_values, coder.baseline, coder.season,
                              coder.transform)
        resid = err[None, -window:]
    return Windows(x, np.zeros((1, horizon)), series.target_values[end], end, base, resid, known)


# ---------------------------------------------------------------------- a run's data, end to end
@dataclass
class Prepared:
    series: Series
    windows: Windows
    split: Split
    scaler: Scaler  # over the features, then the target if it is not one of them
    coder: Coder
    fit_rows: int  # rows the scaler was fitted on
    walk: bool = False  # its changes look like white noise (walks): a drift at most is learned

    def part(self, name: str) -> Windows:
        s = self.split
        bounds = {"train": (0, s.train), "val": (s.val_start, s.fit), "fit": (0, s.fit),
                  "test": (s.test_start, s.test_start + s.test),
                  "all": (0, s.test_start + s.test)}[name]
        return take(self.windows, *bounds)


def used_columns(series: Series) -> list[str]:
    return list(dict.fromkeys(series.features + [series.target]))


def _used_values(series: Series) -> np.ndarray:
    columns = used_columns(series)
    extra = [] if series.target in series.features else [series.target_values[:, None]]
    values = np.concatenate([series.values] + extra, axis=1)  # (rows, len(columns))
    assert values.shape[1] == len(columns)
    return values


def model_rows(rows: int, test_frac: float) -> int:
    """Rows that hold no test label whatever the window: what a season, a transform or a
    default window may be read from before the window (and so the split) is known."""
    return max(2, int(rows * (1 - test_frac)))


def resolve_transform(transform: str, values: np.ndarray, season: int | None,
                      later: np.ndarray | None = None) -> str:
    """auto -> choose_transform over these (training) rows, "none" where a `later` row (the
    validation and test part) is not positive: the log could not score or forecast it; log on
    non-positive rows: error."""
    from charrnn.series.season import choose_transform

    if transform == "auto":
        if later is not None and np.any(np.asarray(later, float) <= 0):
            return "none"
        return choose_transform(values, season)
    if transform not in TRANSFORMS:
        raise CharrnnError(f"--transform {transform}: one of auto, {', '.join(TRANSFORMS)}")
    forward(values, transform)  # the error for log on non-positive values
    return transform


def prepare(series: Series, window: int, horizon: int, test_frac: float, val_frac: float,
            scale_fit: str, target_mode: str, *, season: int | None = None,
            transform: str = "none", baseline: str = "auto",
            residuals: bool | None = None, calendar: bool = False,
            level_input: bool | None = None, linear: str = "none",
            linear_on: str = "train") -> Prepared:
    """Split by windows, fit the scaler (training rows, or all for the lecture), make windows.

    delta mode: the target is `transform`ed (auto: choose_transform on the training rows), and
    the baseline (auto: the lowest RMSE on the training and validation windows among persistence
    and, with a season, seasonal naive and seasonal drift) is what the network corrects. The defaults (no
    season, no transform) are today's persistence coder. level mode ignores all three.
    `calendar` and the series' future columns (series.known) add inputs known in advance;
    `level_input` (None: auto, for a mean-reverting series) where the window stands against the
    training level. `linear` (auto, none or a ridge penalty): the linear model blended with the
    network (linear.py), fitted on the `linear_on` windows ("train", or "fit": train and val).
    """
    split = check_split(series.name, len(series), window, horizon, test_frac, val_frac)
    train_rows = fit_rows(split, window, horizon)
    rows = len(series) if scale_fit == "all" else train_rows
    scaler = Scaler.fit(used_columns(series), _used_values(series)[:rows])
    features = scaler.select(series.features)
    known, covariates = _covariates(series, calendar, rows)
    if target_mode == "level":
        windows = make_windows(series, features, window, horizon, known=known)
        coder = replace(fit_coder("level", scaler, series, rows), **covariates)
        return Prepared(series, windows, split, scaler, coder, rows)
    if season is not None:
        check_season(season, len(series))
    transform = resolve_transform(transform, series.target_values[:train_rows], season,
                                  series.target_values[train_rows:])
    if baseline == "auto":
        # the training and validation windows: nothing is fitted to them, and a few dozen
        # validation windows alone picked a seasonal baseline by chance on a noisy cycle
        chooser = take(make_windows(series, features, window, horizon, known=known), 0,
                       split.fit)
        baseline = choose_baseline(series.target_values, chooser.end, chooser.y, season,
                                   transform)
    elif (baseline not in (SMOOTHED, AIRLINE, COMBINED) and not single(baseline)
          and combined_parts(baseline) is None):
        raise CharrnnError(f"baseline {baseline!r}: one of auto, {', '.join(BASELINES)}, "
                           f"{SMOOTHED}, {AIRLINE}, {TREND_SEASON}, {COMBINED}")
    elif not season and (baseline in BASELINES[1:] + (AIRLINE, TREND_SEASON)
                         or airline_weights(baseline)):
        raise CharrnnError(f"baseline {baseline}: needs a season")
    elif baseline == AIRLINE:  # its weights, from the rows the scaler sees
        baseline = fit_airline(series.target_values[:train_rows], season, transform)
    elif baseline == SMOOTHED:  # its weights, from the rows the scaler sees
        baseline = fit_smoothing(series.target_values[:train_rows], season, transform)
    elif baseline == COMBINED:  # with the smoothed baseline where seasons are short enough
        smoothed = (fit_smoothing(series.target_values[:train_rows], season, transform)
                    if (season or 1) <= LONGEST_SMOOTHED else None)
        smoothed = smoothed if smoothing(smoothed) else None
        baseline = combined(smoothed) if season or smoothed else "persistence"
    check_trend_season(split, window, season, baseline)
    if residuals is None:
        residuals = baseline != "persistence"
    windows = make_windows(series, features, window, horizon, baseline=baseline, season=season,
                           transform=transform, known=known)
    coder = fit_coder(target_mode, scaler, series, rows, transform=transform, baseline=baseline,
                      season=season, fit_windows=take(windows, 0, split.fit), residuals=residuals)
    level = _level_input(series, transform, train_rows, level_input, coder.target_index)
    coder = replace(coder, level=level, **covariates)
    walk = walks(series, train_rows, transform, season, known)
    drift_only = walk and linear == "auto"
    if drift_only:
        # the drift must show over the rows the training windows read; the validation windows
        # then confirm it or not (linear.choose_penalty)
        learned = series.target_values[:split.train + window + horizon - 1]
        if not clear_drift(forward(learned, transform)):
            linear = "none"
    parts = mean_parts(baseline)
    if parts is None:
        coder = replace(coder, linear=_linear_part(coder, windows, split, linear, linear_on,
                                                   drift_only))
    else:  # each part's own linear model, then their mean (linear.combine)
        from charrnn.series.linear import combine

        asked = linear.split("+") if "+" in linear else [linear] * len(parts)
        if len(asked) != len(parts):
            raise CharrnnError(f"--linear {linear}: one penalty, or one per part of {baseline}")
        fitted = []
        for part, ask in zip(parts, asked):
            own = with_baseline(windows, series, part, season, transform)
            part_coder = fit_coder(target_mode, scaler, series, rows, transform=transform,
                                   baseline=part, season=season,
                                   fit_windows=take(own, 0, split.fit),
                                   residuals=part != "persistence")
            part_coder = replace(part_coder, level=level, **covariates)
            fitted.append((part_coder, _linear_part(part_coder, own, split, ask, linear_on)))
        coder = replace(coder, linear=combine(coder, fitted, window))
    return Prepared(series, windows, split, scaler, coder, rows, walk)


def walks(series: Series, rows: int, transform: str, season: int | None,
          known: np.ndarray | None) -> bool:
    """Whether the series reads as a random walk: no season, no input but its own past, and
    changes over its first `rows` (those the training and validation windows read) that look
    like white noise (season.changes_look_random), with no level they return to by the
    Dickey-Fuller test at 1% (season.mean_reverting; at 5%, two generated walks of 160 read a
    reversion their test part did not make, 1.259 and 1.121 of persistence's RMSE). Then a
    drift, where clear over the training windows' rows (season.clear_drift), is all the linear
    model may add, the network keeps no epoch (SeriesTask.beats_initial), and Holt's smoothing
    must beat persistence by selection.WALK_MARGIN.

    Chosen on the validation windows alone, both fitted chance there: on 80 generated random
    walks (benchmarks/random_walk_csvs.py, set 0) 5 scored above 1.01 of persistence's test
    RMSE (1.016-1.041), four with Holt's smoothing (alpha 0.9, 1-2.7% better on the validation
    windows), one with a ridge on the last 7 changes; 1 with these rules, and on 80 more 7 -> 0
    (BENCHMARKS.md, "Random walks"). Lake Huron's 47 changes look random and its level clears
    only the 5% bar: 0.940 -> 1.000."""
    from charrnn.series.season import changes_look_random, mean_reverting

    if season or known is not None or series.features != [series.target]:
        return False
    z = forward(series.target_values[:rows], transform)
    return changes_look_random(z) and not mean_reverting(z, level=0.01)


def _linear_part(coder: Coder, windows: Windows, split: Split, asked: str,
                 on: str, drift_only: bool = False) -> dict | None:
    from charrnn.series import linear

    if asked == "none":
        return None
    train, val = take(windows, 0, split.train), take(windows, split.val_start, split.fit)
    penalty = (linear.choose_penalty(coder, train, val, drift_only) if asked == "auto"
               else float(asked))
    if penalty is None:
        return None
    fitted_on = take(windows, 0, split.fit) if on == "fit" else train
    return {"penalty": penalty, "weights": linear.fit(coder, fitted_on, penalty),
            "share": linear.SHARE}


def _level_input(series: Series, transform: str, rows: int, asked: bool | None,
                 target_index: int | None) -> list[float] | None:
    """(center, spread) of the transformed target over the training rows when the network
    should read the window's level (auto: a mean-reverting series), else None."""
    from charrnn.series.season import mean_reverting

    z = forward(series.target_values[:rows], transform)
    if target_index is None or not (mean_reverting(z) if asked is None else asked):
        return None
    size = spread(z)
    return [float(np.mean(z)), size if size > 0 else 1.0]


def _covariates(series: Series, calendar: bool, rows: int):
    """(the known matrix over the series' rows, the coder's covariate fields)."""
    from charrnn.series.covariates import calendar_cycles, known_matrix, scale_future

    dates = series.dates[:rows] if series.dates else None
    cycles = calendar_cycles(dates, series.date_column) if calendar else []
    future = list(series.future) if series.known is not None else []
    known = known_matrix(series, cycles, future, 0)
    if known is None:
        return None, {}
    return known, {"calendar": cycles, "future": future,
                   "future_scale": scale_future(future, known, cycles, rows)}


def rebuild(series: Series, window: int, horizon: int, test_frac: float, scaler: Scaler,
            coder: Coder) -> Prepared:
    """Windows and test part of new data, scaled as the model was trained (nothing refitted):
    the coder brings its season, transform and baseline."""
    n = count_windows(len(series), window, horizon)
    if n < 1:
        raise CharrnnError(f"data {series.name}: {len(series)} rows hold no window of --window "
                           f"{window} + --horizon {horizon}; give at least {window + horizon} rows")
    test = max(1, split_windows(n, test_frac, 0.0).test)
    from charrnn.series.covariates import known_matrix

    split = Split(n - test, 0, test)  # only where the test part starts matters here
    known = known_matrix(series, coder.calendar, coder.future, 0)
    if coder.mode == "level":
        windows = make_windows(series, scaler.select(series.features), window, horizon,
                               known=known)
    else:
        windows = make_windows(series, scaler.select(series.features), window, horizon,
                               baseline=coder.baseline, season=coder.season,
                               transform=coder.transform, known=known)
    return Prepared(series, windows, split, scaler, coder, 0)
