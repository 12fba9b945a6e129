"""Issue 12's forecasting core, pure numpy: seasons, transforms that extrapolate, baselines, MASE
and sMAPE. Deterministic (seeded generators) and fast."""
from datetime import date, timedelta

import numpy as np
import pytest

from charrnn.errors import CharrnnError
from charrnn.series.metrics import mase, mase_scale, series_metrics, smape
from charrnn.series.baselines import (baseline_forecast, choose_baseline, fit_smoothing,
                                      one_step_errors, smoothing)
from charrnn.series.coder import Coder
from charrnn.series.prepare import prepare, rebuild
from charrnn.series.windows import Windows
from charrnn.series.season import (_chi2_above, changes_look_random, choose_transform,
                                   clear_drift, default_window, detect_season, mean_reverting)
from charrnn.series.table import Series


def monthly(n):
    return [f"{1950 + i // 12}-{i % 12 + 1:02d}" for i in range(n)]


def daily(n):
    return [(date(2015, 1, 1) + timedelta(days=i)).isoformat() for i in range(n)]


def hourly(n):
    return [f"2020-01-{1 + i // 24:02d}T{i % 24:02d}:00" for i in range(n)]


def quarterly(n):
    return [f"{1950 + i // 4}-{3 * (i % 4) + 1:02d}" for i in range(n)]


def seasonal(m, n, seed, noise=0.5, trend=0.02):
    rng = np.random.default_rng(seed)
    t = np.arange(n)
    return 10 + trend * t + 2 * np.sin(2 * np.pi * t / m) + rng.normal(0, noise, n)


def trend_season(n=216, seed=0, growth=0.012, swing=0.2):
    """Airline-like: exponential growth, a season whose swing grows with the level."""
    rng = np.random.default_rng(seed)
    t = np.arange(n)
    return 100 * np.exp(growth * t + swing * np.sin(2 * np.pi * t / 12) + rng.normal(0, 0.02, n))


def series(y, dates=None):
    return Series("s", ["v"], "v", y[:, None], y, dates, "date" if dates else None)


# ---------------------------------------------------------------------- seasons
@pytest.mark.parametrize("m, dates", [(12, monthly), (7, daily), (24, hourly), (4, quarterly)])
@pytest.mark.parametrize("seed", [0, 1])
def test_detect_season_finds_known_periods(m, dates, seed):
    y = seasonal(m, 30 * m if m < 12 else 12 * m, seed)
    assert detect_season(y, dates(len(y))) == m
    assert detect_season(y) == m  # the ACF alone finds it too


@pytest.mark.parametrize("scale", [1e-200, 1e200, 1e300])
def test_detect_season_does_not_see_the_scale(scale):
    y = 100.0 + np.arange(60) % 5
    assert detect_season(y * scale) == detect_season(y) == 5  # squares of 1e200 overflowed
    assert detect_season(y * scale, daily(60)) == detect_season(y, daily(60))


@pytest.mark.parametrize("seed", range(5))
def test_detect_season_says_none_for_noise_and_random_walks(seed):
    rng = np.random.default_rng(seed)
    noise = rng.normal(size=300)
    walk = 50 + np.cumsum(rng.normal(size=300))
    trend = 0.5 * np.arange(300.0) + rng.normal(size=300)
    for y in (noise, walk, trend):
        assert detect_season(y) is None
        assert detect_season(y, daily(300)) is None
        assert detect_season(y, monthly(300)) is None
        assert detect_season(y, quarterly(300)) is None


@pytest.mark.parametrize("seed", range(3))
def test_a_calendar_season_on_a_wandering_level_is_found(seed):
    """A level that rises and falls over the rows keeps every ACF lag positive around the
    season's peaks (as Australian beer's does); removing the level shows the season."""
    rng = np.random.default_rng(seed)
    t = np.arange(140)
    y = 300 + 150 * np.sin(np.pi * t / 140) + 40 * (t % 4 == 3) - 20 * (t % 4 == 1)
    y = y + rng.normal(0, 8, 140)
    assert detect_season(y, quarterly(140)) == 4
    assert detect_season(y) is None  # without a calendar, no period is proposed: the strict test


def test_a_yearly_season_is_found_where_the_sample_acf_peaks_off_the_year():
    """Three and a half years of daily weather (a yearly sine, AR(1) noise): the sample ACF's
    yearly peak wanders some days either side of 365; within 5% of it counts (it was 3%, and
    a quarter of these went unseen)."""
    n = 1278
    t = np.arange(n)
    found = 0
    for seed in range(20):
        rng = np.random.default_rng(seed)
        z, e = np.zeros(n), rng.normal(0, 3, n)
        for i in range(1, n):
            z[i] = 0.8 * z[i - 1] + e[i]
        found += detect_season(15 + 8 * np.sin(2 * np.pi * (t - 100) / 365.25) + z,
                               daily(n)) == 365
    assert found == 20


def test_timestamps_with_different_utc_offsets_read_as_instants():
    """"Z" and "+05:00" rows side by side: each is its instant in UTC (mixing them raised a
    TypeError comparing naive and aware datetimes)."""
    from charrnn.series.season import date_frequency

    stamps = [f"2020-01-{1 + i:02d}T05:00:00+05:00" if i % 2 else f"2020-01-{1 + i:02d}T00:00Z"
              for i in range(20)]
    assert date_frequency(stamps) == "daily"
    y = seasonal(7, 140, 0)
    days = [f"{d}T00:00:00{'+05:00' if i % 2 else 'Z'}" for i, d in enumerate(daily(140))]
    assert detect_season(y, days) == 7


def test_a_season_needs_enough_cycles_and_the_log_needs_growing_swings():
    assert detect_season(seasonal(12, 24, 0), monthly(24)) is None  # two cycles only
    assert choose_transform(trend_season()) == "log"
    assert choose_transform(seasonal(12, 240, 0)) == "none"  # constant swings
    assert choose_transform(trend_season() - 500) == "none"  # not positive
    assert default_window(None, 500) == 7
    assert default_window(12, 216) == 24 and default_window(7, 60) == 14
    assert default_window(12, 40) == 13  # what fits: half the fitting rows
    assert default_window(11, 300, cycle=True) == 13  # a cycle: one period and two rows
    assert default_window(365, 1461) == 28  # the baseline carries a long season


# ---------------------------------------------------------------------- baselines and coding
def test_baselines_by_hand():
    y = np.array([1.0, 2, 4, 8, 16, 32, 64])
    end = np.array([3, 4, 5])  # forecasts of rows 4, 5, 6 (and on, for h = 2)
    p, _ = baseline_forecast(y, end, 1, "persistence")
    assert p[:, 0].tolist() == [8, 16, 32]
    s, ok = baseline_forecast(y, end, 2, "seasonal", season=2)
    assert ok.all() and s.tolist() == [[4, 8], [8, 16], [16, 32]]  # y[t+h-2]
    d, ok = baseline_forecast(y, end, 2, "seasonal_drift", season=2)
    # y[t+1-2] + y[t] - y[t-2]; for h = 2: y[t] + (y[t] - y[t-2])
    assert d.tolist() == [[4 + 8 - 2, 8 + 8 - 2], [8 + 16 - 4, 16 + 16 - 4],
                          [16 + 32 - 8, 32 + 32 - 8]]
    g, _ = baseline_forecast(y, end, 1, "seasonal_drift", season=2, transform="log")
    assert np.allclose(g[:, 0], [16, 32, 64])  # in the log: exact on exponential growth
    _, ok = baseline_forecast(y, np.array([0, 1, 2]), 1, "seasonal_drift", season=2)
    assert ok.tolist() == [False, False, True]


def test_trend_season_is_least_squares_on_the_rows_so_far():
    """A line and a mean per phase, fitted on rows 0..t for the window ending at t, whatever
    the horizon; a window without two seasons of rows falls back to persistence."""
    rng = np.random.default_rng(4)
    m, n = 5, 40
    t = np.arange(n)
    y = 3 + 0.4 * t + np.tile(rng.normal(0, 2, m), n // m) + rng.normal(0, 0.5, n)
    end = np.arange(n - 3)
    got, ok = baseline_forecast(y, end, 3, "trend_season", season=m)
    assert ok.tolist() == (end >= 2 * m - 1).tolist()
    assert np.all(got[~ok] == y[end[~ok]][:, None])
    for e in end[ok]:
        rows = np.arange(e + 1)
        x = np.column_stack([rows] + [rows % m == p for p in range(m)]).astype(float)
        coef = np.linalg.lstsq(x, y[:e + 1], rcond=None)[0]
        want = [coef[0] * (e + h) + coef[1 + (e + h) % m] for h in (1, 2, 3)]
        np.testing.assert_allclose(got[e], want, rtol=1e-10, atol=1e-10)


def test_trend_season_is_exact_on_a_line_and_a_season_and_needs_one():
    t = np.arange(60)
    shape = np.array([0.0, 3, -1, 2])
    line = 10 + 0.5 * t + shape[t % 4]
    got, ok = baseline_forecast(line, np.array([20, 50]), 2, "trend_season", season=4)
    np.testing.assert_allclose(got, [line[21:23], line[51:53]], atol=1e-9)
    grown = np.exp(0.02 * t + 0.1 * shape[t % 4])  # multiplicative: exact in the log
    got, _ = baseline_forecast(grown, np.array([30]), 1, "trend_season", season=4,
                               transform="log")
    np.testing.assert_allclose(got[0, 0], grown[31], rtol=1e-9)
    with pytest.raises(CharrnnError, match="needs a season"):
        baseline_forecast(line, np.array([20]), 1, "trend_season")
    with pytest.raises(CharrnnError, match="needs a season"):
        prepare(series(line), 8, 1, 0.3, 0.3, "train", "delta", baseline="trend_season")


def test_smoothed_by_hand():
    """Holt-Winters with season 2, written out: the first season starts the level (its mean),
    the season (its deviations) and the trend (the change of mean to the second season)."""
    y = np.array([10.0, 14, 13, 17, 11, 19, 16])
    a, g, b = 0.5, 0.4, 0.2
    level, trend = 12.0, (15 - 12) / 2
    season = [-2.0, 2.0]
    expected = {1: level + trend + season[0]}  # the forecast of row t + 1 made at row t
    for t in range(2, 7):
        e = y[t] - (level + trend + season[t % 2])
        season[t % 2] += g * (1 - a) * e
        level, trend = level + trend + a * e, trend + a * b * e
        expected[t] = (level + trend + season[(t + 1) % 2], level + 2 * trend + season[t % 2])
    f, ok = baseline_forecast(y, np.arange(1, 7), 2, f"smoothed:{a},{g},{b}", season=2)
    assert ok.all()
    assert f[0, 0] == pytest.approx(expected[1])
    assert np.allclose(f[1:], [expected[t] for t in range(2, 7)])
    _, ok = baseline_forecast(y, np.array([0, 1]), 1, "smoothed:0.5,0.4,0", season=2)
    assert ok.tolist() == [False, True]  # no level before a whole season
    err = one_step_errors(y, f"smoothed:{a},{g},{b}", 2)
    assert err[2] == pytest.approx(y[2] - expected[1]) and err[:2].tolist() == [0, 0]
    assert smoothing("smoothed:0.5,0.4,0") == (0.5, 0.4, 0.0) and smoothing("seasonal") is None
    with pytest.raises(CharrnnError, match="smoothed:ALPHA,GAMMA,BETA"):
        smoothing("smoothed:fast")


@pytest.mark.parametrize("seed", range(3))
def test_smoothing_averages_the_noise_that_seasonal_naive_repeats(seed):
    """A fixed season plus noise: seasonal naive's error is the difference of two noises
    (RMSE sqrt(2) sigma); smoothing, fitted on the first rows, comes near sigma later on; with
    a trend it follows the trend beyond the training range."""
    rng = np.random.default_rng(seed)
    t = np.arange(240)
    shape = np.tile(rng.normal(0, 3, 12), 20)
    y = 50 + shape + rng.normal(0, 1, 240)
    kind = fit_smoothing(y[:160], 12)
    end = np.arange(160, 239)
    smooth, _ = baseline_forecast(y, end, 1, kind, 12)
    naive, _ = baseline_forecast(y, end, 1, "seasonal", 12)
    rmse = lambda f: float(np.sqrt(np.mean((f[:, 0] - y[end + 1]) ** 2)))
    assert rmse(smooth) < 0.8 * rmse(naive) and rmse(smooth) < 1.3
    rising = y + 0.5 * t
    kind = fit_smoothing(rising[:160], 12)
    assert smoothing(kind)[2] > 0  # a trend
    ahead, _ = baseline_forecast(rising, np.array([159]), 24, kind, 12)
    assert np.sqrt(np.mean((ahead[0] - rising[160:184]) ** 2)) < 2.0  # 2 years past the rows


def test_smoothed_is_fitted_on_the_training_rows_and_rebuilt_from_its_name():
    y = trend_season()
    p = prepare(series(y, monthly(len(y))), 24, 1, 0.3, 0.1, "train", "delta", season=12,
                transform="log", baseline="smoothed")
    assert smoothing(p.coder.baseline) is not None
    assert p.coder.baseline == fit_smoothing(y[:p.fit_rows], 12, "log")
    changed = y.copy()
    changed[p.fit_rows:] *= 2  # the test rows do not move the weights
    q = prepare(series(changed, monthly(len(y))), 24, 1, 0.3, 0.1, "train", "delta", season=12,
                transform="log", baseline="smoothed")
    assert q.coder.baseline == p.coder.baseline
    again = rebuild(series(y, monthly(len(y))), 24, 1, 0.3, p.scaler, p.coder)
    assert np.array_equal(again.windows.base, p.windows.base)
    with pytest.raises(CharrnnError, match="needs a season"):
        prepare(series(y), 24, 1, 0.3, 0.1, "train", "delta", baseline="seasonal_drift")


def airline_series(theta, seasonal, n=360, m=12, seed=0):
    """ARIMA(0,1,1)(0,1,1)m on a positive level: the airline model's own data."""
    rng = np.random.default_rng(seed)
    a = rng.normal(0, 0.02, n)
    w = a.copy()  # the doubly differenced series: (1 - theta B)(1 - Theta B^m) a
    w[1:] -= theta * a[:-1]
    w[m:] -= seasonal * a[:-m]
    w[m + 1:] += theta * seasonal * a[:-m - 1]
    z = np.zeros(n)
    for t in range(m + 1, n):
        z[t] = z[t - 1] + z[t - m] - z[t - m - 1] + w[t]
    return np.exp(5 + z + 0.1 * np.sin(2 * np.pi * np.arange(n) / m))


def test_the_airline_baseline_by_hand():
    """y[t+1] = y[t] + y[t+1-m] - y[t-m] - theta a[t] - Theta a[t+1-m] + theta Theta a[t-m],
    a its own one-step errors; weights 0 make it seasonal drift; h steps ahead it goes on from
    its own forecasts with the unknown errors 0."""
    from charrnn.series.airline import airline_weights, errors

    y = airline_series(0.4, 0.6)
    z, m, kind = np.log(y), 12, "airline:0.4,0.6"
    a = errors(z, m, 0.4, 0.6)
    assert a[:m + 1].tolist() == [0.0] * (m + 1)
    for t in (m + 1, 40, 200):
        expected = (z[t - 1] + z[t - m] - z[t - m - 1] - 0.4 * a[t - 1] - 0.6 * a[t - m]
                    + 0.24 * a[t - m - 1])
        assert a[t] == pytest.approx(z[t] - expected)
    err = one_step_errors(y, kind, m, "log")
    assert np.allclose(err[m + 1:], a[m + 1:])
    end = np.arange(0, len(y) - 1)
    drift, ok = baseline_forecast(y, end, 3, "airline:0,0", m, "log")
    same, ok_same = baseline_forecast(y, end, 3, "seasonal_drift", m, "log")
    assert ok.tolist() == ok_same.tolist() and np.allclose(drift[ok], same[ok])
    ahead, ok = baseline_forecast(y, np.array([300, 5]), 14, kind, m, "log")
    assert ok.tolist() == [True, False] and np.allclose(ahead[1], y[5])  # too early: the last
    zz, aa = z[:301].tolist(), a[:301].tolist()
    for _ in range(14):
        t = len(zz)
        zz.append(zz[t - 1] + zz[t - m] - zz[t - m - 1] - 0.4 * aa[t - 1] - 0.6 * aa[t - m]
                  + 0.24 * aa[t - m - 1])
        aa.append(0.0)
    assert np.allclose(np.log(ahead[0]), zz[301:])
    assert airline_weights(kind) == (0.4, 0.6) and airline_weights("smoothed:1,1,1") is None
    for bad in ("airline:fast", "airline:1.2,0.5"):
        with pytest.raises(CharrnnError, match="airline"):
            airline_weights(bad)


@pytest.mark.parametrize("theta, seasonal", [(0.4, 0.6), (0.0, 0.8), (0.7, 0.3)])
def test_the_airline_weights_are_fitted_on_the_training_rows(theta, seasonal):
    """Its own data: the fitted weights lie near the true ones, the test rows do not move them,
    and its test RMSE beats seasonal drift's (the same model with both weights 0)."""
    from charrnn.series.airline import airline_weights

    y = airline_series(theta, seasonal, seed=int(10 * theta + seasonal * 100))
    p = prepare(series(y, monthly(len(y))), 24, 1, 0.3, 0.1, "train", "delta", season=12,
                transform="log", baseline="airline")
    fitted = airline_weights(p.coder.baseline)
    assert abs(fitted[0] - theta) <= 0.15 and abs(fitted[1] - seasonal) <= 0.15
    changed = y.copy()
    changed[p.fit_rows:] *= 2
    q = prepare(series(changed, monthly(len(y))), 24, 1, 0.3, 0.1, "train", "delta", season=12,
                transform="log", baseline="airline")
    assert q.coder.baseline == p.coder.baseline
    end = np.arange(p.fit_rows, len(y) - 1)
    rmse = lambda kind: float(np.sqrt(np.mean(  # noqa: E731
        (baseline_forecast(y, end, 1, kind, 12, "log")[0][:, 0] - y[end + 1]) ** 2)))
    assert rmse(p.coder.baseline) < 0.97 * rmse("seasonal_drift")
    again = rebuild(series(y, monthly(len(y))), 24, 1, 0.3, p.scaler, p.coder)
    assert np.array_equal(again.windows.base, p.windows.base)
    with pytest.raises(CharrnnError, match="needs a season"):
        prepare(series(y), 24, 1, 0.3, 0.1, "train", "delta", baseline="airline")


def test_a_remembered_airline_run_equals_a_fresh_one():
    """airline.errors goes on from its last run where the rows extend it, as holt_winters does;
    bit for bit what reading every row again gives."""
    from charrnn.series import airline

    z = np.log(airline_series(0.3, 0.5))
    changed = z.copy()
    changed[100] += 0.5
    for rows in (z[:200], z[:201], z[:250], z[:30], z[:13], z, changed, z[:5], z):
        remembered = airline.errors(rows, 12, 0.3, 0.5)
        kept = dict(airline._LAST_RUN)
        airline._LAST_RUN.clear()
        fresh = airline.errors(rows, 12, 0.3, 0.5)
        airline._LAST_RUN.clear()
        airline._LAST_RUN.update(kept)
        assert remembered.shape == (len(rows),) and np.array_equal(remembered, fresh)


@pytest.mark.parametrize("season", [None, 2, 12])
def test_a_remembered_smoothing_run_equals_a_fresh_one(season):
    """holt_winters goes on from its last run where the rows extend it (an iterated forecast);
    bit for bit what reading every row again gives, for longer, shorter and changed rows."""
    from charrnn.series import baselines

    m = season or 1
    y = 50 + np.cumsum(np.random.default_rng(3).normal(0, 1, 30 * m + 7))
    weights = (0.3, 0.5 if season else 0.0, 0.2)
    memory = baselines._LAST_RUN

    def without_memory(run, *args):
        kept = dict(memory)
        memory.clear()
        out = run(*args)
        memory.clear()
        memory.update(kept)
        return out

    changed = y.copy()
    changed[len(y) // 2] += 1.0  # the same rows but one: not a continuation
    calls = [y[:20 * m], y[:20 * m + 1], y[:20 * m + 5], y[: 2 * m], y[:m + 1], y,
             y[:25 * m], changed, y[:3 * m], y]
    for z in calls:
        remembered = baselines.holt_winters(z, m, *weights)
        for a, b in zip(remembered, without_memory(baselines.holt_winters, z, m, *weights)):
            assert a.shape == (len(z),) and np.array_equal(a, b)
    # an iterated 20-step forecast past the rows equals one computed without the memory
    end = np.array([len(y) - 1])
    kind = f"smoothed:{weights[0]},{weights[1]},{weights[2]}"
    grown, grown_fresh = y.copy(), y.copy()
    for _ in range(20):
        f, _ = baseline_forecast(grown, end, 1, kind, season)
        g, _ = without_memory(baseline_forecast, grown_fresh, end, 1, kind, season)
        assert f[0, 0] == g[0, 0]
        grown, grown_fresh = np.append(grown, f[0, 0]), np.append(grown_fresh, g[0, 0])
        end = end + 1


def test_smoothed_without_a_season_is_holts_level_and_trend():
    """No season: l[t] = l[t-1] + b[t-1] + alpha e, b[t] = b[t-1] + alpha beta e, the
    forecast h ahead l + h b; started from the first row and the first change."""
    y = np.array([10.0, 12, 13, 17, 16, 19])
    a, b = 0.5, 0.2
    level, trend = 10.0, 12.0 - 10.0  # the first row, and the change to the second
    expected = {}
    for t in range(1, 6):
        e = y[t] - (level + trend)
        level, trend = level + trend + a * e, trend + a * b * e
        expected[t] = (level + trend, level + 2 * trend)
    f, ok = baseline_forecast(y, np.arange(1, 6), 2, f"smoothed:{a},0,{b}")
    assert ok.all() and np.allclose(f, [expected[t] for t in range(1, 6)])
    # persistence is in the grid (alpha 1, no trend) and is named so where it fits best
    walk = np.cumsum(np.random.default_rng(0).normal(0, 1, 400))
    assert fit_smoothing(walk, None) == "persistence"
    assert smoothing(fit_smoothing(np.array([3.0]), None))[1] == 0  # too few rows: no season
    # a trend with noise: the smoothed trend beats the last value, and goes on past the rows
    rng = np.random.default_rng(1)
    rising = 100 + 0.8 * np.arange(300) + rng.normal(0, 1, 300)
    kind = fit_smoothing(rising[:200], None)
    alpha, gamma, beta = smoothing(kind)
    assert gamma == 0 and beta > 0
    end = np.arange(200, 299)
    holt, _ = baseline_forecast(rising, end, 1, kind)
    rmse = lambda f: float(np.sqrt(np.mean((f - rising[end + 1]) ** 2)))
    assert rmse(holt[:, 0]) < 0.8 * rmse(rising[end])
    ahead, _ = baseline_forecast(rising, np.array([199]), 50, kind)
    assert np.sqrt(np.mean((ahead[0] - rising[200:250]) ** 2)) < 5.0  # persistence: ~23


def test_combined_is_the_mean_of_its_parts_by_hand():
    """combined: persistence, seasonal naive and seasonal drift averaged; persistence where a
    part cannot reach back."""
    y = np.array([1.0, 2, 4, 8, 16, 32, 64])
    f, ok = baseline_forecast(y, np.array([3, 4, 5]), 1, "combined", season=2)
    # persistence 8, 16, 32; seasonal 4, 8, 16; drift y[t-1] + y[t] - y[t-2]: 10, 20, 40
    assert ok.all() and np.allclose(f[:, 0], [22 / 3, 44 / 3, 88 / 3])
    f, ok = baseline_forecast(y, np.array([0, 1, 2]), 1, "combined", season=2)
    assert ok.tolist() == [False, False, True] and f[:2, 0].tolist() == [1, 2]
    g, _ = baseline_forecast(y, np.array([3, 4, 5]), 1, "combined", season=2, transform="log")
    assert np.allclose(g[:, 0], np.exp((np.log([8, 16, 32]) + np.log([4, 8, 16])
                                        + np.log([16, 32, 64])) / 3))  # geometric in the log


@pytest.mark.parametrize("season", [None, 4])
def test_combined_with_smoothing_averages_every_candidate(season):
    """"combined:a,g,b" adds the smoothed baseline with those weights; without a season the
    parts are persistence and Holt's level and trend."""
    y = trend_season()[:80]
    end, kind = np.arange(20, 79), "smoothed:0.3,0.2,0.05" if season else "smoothed:0.3,0,0.05"
    parts = (["persistence", "seasonal", "seasonal_drift"] if season else ["persistence"])
    expected = np.mean([np.log(baseline_forecast(y, end, 2, k, season, "log")[0])
                        for k in parts + [kind]], axis=0)
    f, ok = baseline_forecast(y, end, 2, "combined" + kind[len("smoothed"):], season, "log")
    assert ok.all() and np.allclose(np.log(f), expected)
    with pytest.raises(CharrnnError, match="smoothed:ALPHA"):
        baseline_forecast(y, end, 1, "combined:0.3", season)


def test_combined_is_named_with_its_fitted_smoothing_and_rebuilt_from_it():
    """prepare fits the smoothed part on the training rows and names it; the rebuilt windows
    (eval, forecast) forecast the same."""
    y = trend_season()
    s = series(y, monthly(len(y)))
    p = prepare(s, 24, 1, 0.3, 0.3, "train", "delta", season=12, transform="log",
                baseline="combined")
    weights = p.coder.baseline[len("combined:"):]
    assert p.coder.baseline == "combined:" + weights
    assert fit_smoothing(y[:p.fit_rows], 12, "log") == "smoothed:" + weights
    again = rebuild(s, 24, 1, 0.3, p.scaler, p.coder)
    assert np.array_equal(again.windows.base, p.windows.base)
    long_season = prepare(s, 24, 1, 0.3, 0.3, "train", "delta", season=60, baseline="combined")
    assert long_season.coder.baseline == "combined"  # no smoothing past LONGEST_SMOOTHED


def test_the_chooser_picks_seasonal_drift_on_trend_times_season():
    y = trend_season()
    end = np.arange(30, 150)
    target = y[end + 1][:, None]
    assert choose_baseline(y, end, target, 12, "log") == "seasonal_drift"
    assert choose_baseline(y, end, target, 12, "none") == "seasonal_drift"
    assert choose_baseline(y, end, target, None) == "persistence"
    p = prepare(series(y, monthly(len(y))), 24, 1, 0.3, 0.1, "train", "delta", season=12,
                transform="auto")
    assert (p.coder.baseline, p.coder.transform, p.coder.season) == ("seasonal_drift", "log", 12)
    falls_to_zero = y.copy()
    falls_to_zero[-3] = 0.0  # a test row the log cannot take: auto keeps the values as they are
    p = prepare(series(falls_to_zero, monthly(len(y))), 24, 1, 0.3, 0.1, "train", "delta",
                season=12, transform="auto")
    assert p.coder.transform == "none"
    rng = np.random.default_rng(0)
    walk = 50 + np.cumsum(rng.normal(size=300))
    assert prepare(series(walk), 24, 1, 0.3, 0.1, "train", "delta", season=12).coder.baseline \
        == "persistence"


def test_a_trend_beyond_the_training_range_is_decoded():
    y = trend_season(growth=0.03, swing=0.05)
    s = series(y, monthly(len(y)))
    p = prepare(s, 24, 1, 0.3, 0.1, "train", "delta", season=12, transform="auto")
    test, fit = p.part("test"), p.part("train")
    assert test.y.min() > s.target_values[:p.fit_rows].max()  # all test values are new
    c = p.coder
    assert np.allclose(c.decode(c.encode(test.y, test), test), test.y)  # round trip
    assert np.allclose(c.decode(np.zeros_like(test.y), test), test.base)  # zero = the baseline
    # the baseline extrapolates: its test error is as small as on the training part
    rel = lambda w: np.sqrt(np.mean(((w.base - w.y) / w.y) ** 2))  # noqa: E731
    assert rel(test) < 1.5 * rel(fit) and rel(test) < 0.05
    # inputs read the same at any level: the coded test windows are in the training range
    x_train, x_test = c.inputs(fit), c.inputs(test)
    assert x_train.shape[2] == 1 + c.extra_inputs == 2
    assert np.abs(x_test).max() < 3 * np.abs(x_train).max()
    assert np.abs(c.encode(test.y, test)).max() < 6
    # a checkpoint's coder rebuilds the same windows on the same data
    again = Coder.from_dict(c.to_dict())
    assert again == c
    r = rebuild(s, 24, 1, 0.3, p.scaler, again).part("test")
    assert np.allclose(r.base, test.base) and np.allclose(again.inputs(r), x_test)


def ar_cycle(n, seed, rho=0.8):
    rng = np.random.default_rng(seed)
    noise = np.zeros(n)
    for i in range(1, n):
        noise[i] = rho * noise[i - 1] + rng.normal()
    return 50 + 10 * np.sin(2 * np.pi * np.arange(n) / 11) + 3 * noise


@pytest.mark.parametrize("seed", range(4))
def test_mean_reversion_is_told_apart_from_random_walks_and_trends(seed):
    rng = np.random.default_rng(seed)
    assert mean_reverting(ar_cycle(300, seed))
    assert mean_reverting(rng.normal(0, 1, 300))  # white noise
    assert not mean_reverting(np.log(trend_season(seed=seed)))
    assert not mean_reverting(np.cumsum(rng.normal(0, 1, 300)) + 0.3 * np.arange(300))
    assert not mean_reverting(np.ones(50)) and not mean_reverting(np.arange(10.0))


def local_level(n, seed, noise=2.0):
    """A wandering level seen through noise (the Nile's kind): its changes are a moving average
    with a negative lag-1 correlation, which persistence ignores."""
    rng = np.random.default_rng(seed)
    return 100 + np.cumsum(rng.normal(0, 1, n)) + rng.normal(0, noise, n)


def test_chi2_tail_matches_its_table():
    # scipy.stats.chi2.isf(p, dof), to 6 digits: the tail there is p
    for q, dof, p in [(3.841459, 1, 0.05), (5.991465, 2, 0.05), (7.814728, 3, 0.05),
                      (18.307038, 10, 0.05), (23.209251, 10, 0.01), (1.642374, 1, 0.2)]:
        assert _chi2_above(q, dof) == pytest.approx(p, abs=2e-7)
    assert _chi2_above(0.0, 4) == 1.0 and _chi2_above(1e4, 3) == pytest.approx(0.0, abs=1e-300)


def test_a_random_walks_changes_look_random_and_structured_ones_do_not():
    rng = np.random.default_rng(7)
    walks = [np.cumsum(rng.normal(0, 1, n)) for n in rng.integers(60, 600, 40)]
    fat = [np.cumsum(rng.standard_t(3, 300)) for _ in range(20)]
    # two tests at 5% each: a walk is taken for structure about 1 time in 10
    assert sum(map(changes_look_random, walks)) >= 32
    assert sum(map(changes_look_random, fat)) >= 16
    for seed in range(10):
        r = np.random.default_rng(seed)
        steps = np.zeros(300)  # changes that follow the last change (ARIMA(1,1,0), 0.5)
        for t in range(1, 300):
            steps[t] = 0.5 * steps[t - 1] + r.normal()
        assert not changes_look_random(np.cumsum(steps))
        assert not changes_look_random(r.normal(0, 1, 300))  # noise about a level
        assert not changes_look_random(ar_cycle(300, seed))
        assert not changes_look_random(local_level(200, seed))
    assert not changes_look_random(np.ones(50)) and not changes_look_random(np.arange(8.0))


def test_a_clear_drift_is_two_standard_errors_from_zero():
    rng = np.random.default_rng(3)
    steps = rng.normal(0, 1, 400)
    steps -= steps.mean()  # no drift at all, then drifts of known size
    assert not clear_drift(np.cumsum(steps))
    assert not clear_drift(np.cumsum(steps + 1.9 * steps.std(ddof=1) / np.sqrt(400)))
    assert clear_drift(np.cumsum(steps + 2.1 * steps.std(ddof=1) / np.sqrt(400)))
    assert clear_drift(np.cumsum(steps - 2.1 * steps.std(ddof=1) / np.sqrt(400)))
    assert clear_drift(np.arange(50.0) + rng.normal(0, 0.01, 50))
    assert not clear_drift(np.ones(50)) and not clear_drift([1.0, 2.0])
    drifting = np.cumsum(steps + 2.1 * steps.std(ddof=1) / np.sqrt(400))
    for scale in (1e-300, 1e-200, 1e200, 1e300):  # squares of such changes overflowed
        with np.errstate(over="raise", invalid="raise", divide="raise"):
            assert clear_drift(drifting * scale) and not clear_drift(np.cumsum(steps) * scale)


def test_a_mean_reverting_series_reads_its_level_and_a_trend_does_not():
    y = ar_cycle(300, 1)
    p = prepare(series(y), 22, 1, 0.3, 0.2, "train", "delta", season=11)
    c = p.coder
    z = y[:p.fit_rows]
    assert c.level == pytest.approx([z.mean(), z.std()])
    w = p.part("test")
    x = c.inputs(w)
    assert x.shape[2] == 1 + c.extra_inputs and c.extra_inputs == 2  # residuals and the level
    np.testing.assert_allclose(x[:, :, -1], (w.x[:, :, 0] * c.span + c.low - z.mean()) / z.std(),
                               rtol=1e-5, atol=1e-5)  # the window's values against the level
    assert Coder.from_dict(c.to_dict()) == c
    trend = prepare(series(trend_season()), 24, 1, 0.3, 0.2, "train", "delta", season=12,
                    transform="auto")
    assert trend.coder.level is None
    off = prepare(series(y), 22, 1, 0.3, 0.2, "train", "delta", season=11, level_input=False)
    assert off.coder.level is None and off.coder.extra_inputs == 1


def test_old_coders_and_the_lecture_mode_are_unchanged():
    old = {"mode": "delta", "low": -1.0, "span": 3.0, "delta_scale": 0.5, "input_scale": [0.25]}
    c = Coder.from_dict(old)
    assert (c.transform, c.baseline, c.season, c.extra_inputs) == ("none", "persistence", None, 0)
    y, last = np.array([[1.0], [2.0]]), np.array([0.5, 1.0])
    assert np.allclose(c.encode(y, last), (y - last[:, None]) / 1.5)  # delta_scale * span
    w = Windows(np.zeros((2, 3, 1), np.float32), y, last, np.array([2, 3]))
    assert np.allclose(c.decode(c.encode(y, w), w), y)
    seasonal_coder = Coder("delta", 0.0, 1.0, 1.0, [1.0], "none", "seasonal", 12, 1.0)
    with pytest.raises(CharrnnError):
        seasonal_coder.encode(y, last)  # a seasonal baseline needs the windows
    s = series(np.arange(100.0) + 5)
    level = prepare(s, 5, 1, 0.3, 0.1, "all", "level", season=4, transform="log")
    assert level.coder == Coder("level", 5.0, 99.0) and level.windows.base is None
    assert prepare(s, 5, 1, 0.3, 0.1, "train", "delta").coder.out_scale is None


# ---------------------------------------------------------------------- metrics
def test_mase_and_smape_by_hand():
    train = np.array([1.0, 3, 2, 4, 3, 5])
    assert mase_scale(train, None) == pytest.approx((2 + 1 + 2 + 1 + 2) / 5)  # lag 1: 1.6
    assert mase_scale(train, 2) == pytest.approx((1 + 1 + 1 + 1) / 4)  # lag 2: 1.0
    pred, actual = np.array([4.0, 6.0]), np.array([5.0, 4.0])
    assert mase(pred, actual, 1.6) == pytest.approx(1.5 / 1.6)
    assert smape(pred, actual) == pytest.approx((200 * 1 / 9 + 200 * 2 / 10) / 2)
    assert smape(np.zeros(2), np.zeros(2)) == 0.0
    assert mase_scale(np.ones(5), None) is None and mase(pred, actual, None) is None


def test_series_metrics_report_mase_and_smape_for_model_and_baselines():
    y = np.array([1.0, 3, 2, 4, 3, 5, 4, 6, 5, 7])
    s = series(y)
    end = np.array([6, 7, 8])
    w = Windows(np.zeros((3, 2, 1), np.float32), y[end + 1][:, None], y[end], end)
    pred = np.array([[5.0], [6.0], [6.0]])
    c = Coder("delta", 1.0, 6.0)
    r = series_metrics(s, w, pred, c, 2, [], train_rows=6)
    assert r["mase"] == pytest.approx(np.mean([1, 1, 1]) / 1.0)  # in-sample lag 2 MAE is 1
    assert r["smape"] == pytest.approx(np.mean([200 / 11, 200 / 11, 200 / 13]))
    assert set(r["baselines"]) == {"persistence", "seasonal_naive", "seasonal_drift"}
    naive = r["baselines"]["seasonal_naive"]  # y[t-1]: 5, 4, 6 against 6, 5, 7
    assert naive["mase"] == pytest.approx(1.0) and naive["smape"] == pytest.approx(
        np.mean([200 / 11, 200 / 9, 200 / 13]))
    drift = r["baselines"]["seasonal_drift"]  # y[t-1] + y[t] - y[t-2]: 5+4-3, 4+6-4, 6+5-5
    assert drift["mae"] == pytest.approx(0.0) and drift["smape"] == 0.0
    assert all("mase" in m and "smape" in m for m in r["baselines"].values())
    plain = series_metrics(s, w, pred, c, None, [])  # without train_rows: no MASE or sMAPE
    assert set(plain) == {"rmse", "mae", "mape", "rmse_scaled", "baselines", "skill", "n",
                          "per_step"}
    import json
    flat = series_metrics(series(np.ones(10)), w, pred, c, None, [], train_rows=6)
    assert flat["mase"] is None and "NaN" not in json.dumps(flat)
