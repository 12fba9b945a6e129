"""The linear model blended with the network (series/linear.py), the baseline chosen by it
(series/selection.py) and retraining on the validation windows (--retrain)."""
from __future__ import annotations

import json
from dataclasses import replace

import numpy as np
import pytest

from charrnn import checkpoint
from charrnn.config import SeriesConfig
from charrnn.errors import CharrnnError
from charrnn.series import linear, season
from charrnn.series.baselines import forward, mean_of, mean_parts
from charrnn.series.coder import Coder
from charrnn.series.prepare import prepare
from charrnn.series.selection import choose_baseline
from charrnn.series.table import Series
from test_series import _Fixed
from test_series_cli import (FAST, clean_error, evaluate, retrained_epochs, run, seasonal_csv,
                             train)


def series(y, name="gen") -> Series:
    return Series(name, ["v"], "v", y[:, None], y)


def ar2(n=500, seed=0, phi=(0.5, -0.3)) -> np.ndarray:
    """A stationary AR(2) around 50 with unit innovations: persistence is far from the best."""
    rng = np.random.default_rng(seed)
    e, z = rng.normal(0, 1, n + 100), np.zeros(n + 100)
    for t in range(2, n + 100):
        z[t] = phi[0] * z[t - 1] + phi[1] * z[t - 2] + e[t]
    return z[100:] + 50


def rmse(pred, w) -> float:
    return float(np.sqrt(np.mean((pred - w.y) ** 2)))


def linear_forecast(data, part="test"):
    w = data.part(part)
    return data.coder.decode(data.coder.linear_output(w), w), w


def test_the_linear_model_learns_an_autoregression():
    """On AR(2) data it is chosen, and its test RMSE nears the innovations' (1.0), below
    persistence's (in theory 1.21 here, so the best ratio is 0.83)."""
    data = prepare(series(ar2()), 7, 1, 0.3, 0.3, "train", "delta", linear="auto")
    assert data.coder.linear is not None and data.coder.linear["penalty"] in linear.PENALTIES
    pred, test = linear_forecast(data)
    persistence = rmse(test.last[:, None], test)
    assert rmse(pred, test) < 1.05 and rmse(pred, test) < 0.85 * persistence


def test_on_a_random_walk_the_bare_baseline_stays():
    rng = np.random.default_rng(0)
    data = prepare(series(np.cumsum(rng.normal(0, 1, 400)) + 100), 7, 1, 0.3, 0.3, "train",
                   "delta", linear="auto")
    assert data.coder.linear is None


def walk(seed, n=300, drift=0.0) -> np.ndarray:
    return 100 + np.cumsum(np.random.default_rng(seed).normal(drift, 1, n))


@pytest.mark.parametrize("seed, chance", [(18, "linear"), (36, "smoothed")])
def test_a_walk_whose_changes_look_random_keeps_persistence(seed, chance, monkeypatch):
    """Gaussian random walks on which the validation windows chose a ridge on the last changes
    (seed 18) or Holt's smoothing (seed 36) by chance, until the changes were tested first."""
    cfg = SeriesConfig(target="v", features=["v"], window=7, linear="auto")
    data = prepare(series(walk(seed)), 7, 1, 0.3, 0.3, "train", "delta", linear="auto")
    assert data.walk and data.coder.linear is None
    assert choose_baseline(series(walk(seed)), cfg, 0.3, "none")[0] == "persistence"
    monkeypatch.setattr(season, "changes_look_random", lambda values: False)
    data = prepare(series(walk(seed)), 7, 1, 0.3, 0.3, "train", "delta", linear="auto")
    chosen = choose_baseline(series(walk(seed)), cfg, 0.3, "none")[0]
    assert not data.walk
    assert (data.coder.linear is not None) == (chance == "linear")
    assert chosen.startswith("smoothed") == (chance == "smoothed")


def test_a_walk_with_a_clear_drift_learns_the_drift_alone():
    y = walk(0, 400, drift=0.3)
    data = prepare(series(y), 7, 1, 0.3, 0.3, "train", "delta", linear="auto")
    assert data.walk and data.coder.linear["penalty"] == linear.DRIFT_ONLY
    weights = np.asarray(data.coder.linear["weights"])
    assert np.abs(weights[:-1]).max() < 1e-6  # nothing read from the window's changes
    pred, test = linear_forecast(data)
    train = data.part("train")
    drift = (train.y[:, 0] - train.last).mean()  # the training windows' mean change
    np.testing.assert_allclose(pred[:, 0] - test.last, drift, rtol=1e-4)
    # other columns, or a season, may explain the changes: no test, the usual choice
    two = Series("gen", ["v", "w"], "v", np.column_stack([y, y[::-1]]), y)
    assert not prepare(two, 7, 1, 0.3, 0.3, "train", "delta", linear="auto").walk
    assert not prepare(series(y), 7, 1, 0.3, 0.3, "train", "delta", season=12).walk
    given = prepare(series(y), 7, 1, 0.3, 0.3, "train", "delta", linear="1.0")
    assert given.walk and given.coder.linear["penalty"] == 1.0  # a given penalty is kept


def test_a_walk_needs_the_1_percent_bar_to_revert_and_keeps_no_epoch():
    """Walk 2's Dickey-Fuller statistic over its training and validation rows clears the 5%
    critical value (its level input stays) but not the 1% one: it is still read as a walk,
    whose network keeps no epoch."""
    import torch

    from charrnn.series.season import mean_reverting
    from charrnn.series.task import SeriesTask

    y = walk(2)
    data = prepare(series(y), 7, 1, 0.3, 0.3, "train", "delta", linear="auto")
    seen = y[:data.fit_rows]
    assert mean_reverting(seen) and not mean_reverting(seen, level=0.01)
    assert mean_reverting(ar2(300), level=0.01)  # a level it clearly returns to
    assert data.walk and data.coder.level is not None
    cfg = SeriesConfig(target="v", features=["v"])
    assert not SeriesTask(data, cfg, torch.device("cpu")).beats_initial(0.5, 1.0)
    other = prepare(series(ar2()), 7, 1, 0.3, 0.3, "train", "delta", linear="auto")
    assert not other.walk
    assert SeriesTask(other, cfg, torch.device("cpu")).beats_initial(0.5, 1.0)


def test_a_run_says_when_the_changes_look_random(tmp_path):
    csv = tmp_path / "walk.csv"
    csv.write_text("v\n" + "".join(f"{v:.4f}\n" for v in walk(18)))
    result = train(csv, tmp_path / "run", *FAST, "--quiet")
    assert result.stderr == ""
    result = train(csv, tmp_path / "run2", *FAST)
    assert "changes look like white noise" in result.stderr
    assert "Holt's smoothing must beat persistence by 5%" in result.stderr
    meta = checkpoint.load(tmp_path / "run2", kind="series").meta
    assert meta["task"]["baseline"] == "persistence" and meta["task"]["linear"] == "none"
    result = train(seasonal_csv(tmp_path / "season.csv"), tmp_path / "run3", *FAST)
    assert "white noise" not in result.stderr


def line_season(n=180, seed=0, m=12) -> np.ndarray:
    """A line, a fixed season of any shape and AR(1) noise: every season seen is evidence of
    the shape (a sine, a two-term recurrence, the window's lags would find as well)."""
    rng = np.random.default_rng(seed)
    shape = rng.normal(0, 4, m)
    noise = np.zeros(n)
    for t in range(1, n):
        noise[t] = 0.5 * noise[t - 1] + rng.normal(0, 1.5)
    return 50 + 0.3 * np.arange(n) + shape[np.arange(n) % m] + noise


def test_the_trend_season_ridge_reads_its_own_errors_alone():
    y = series(line_season())
    data = prepare(y, 24, 1, 0.3, 0.3, "train", "delta", season=12, baseline="trend_season",
                   linear="1.0")
    coder = data.coder
    weights = np.asarray(coder.linear["weights"])[:-1, 0].reshape(24, -1)
    errors = len(coder.input_scale)  # the residual column
    read = {(r, c) for r, c in zip(*np.nonzero(weights))}
    assert read == {(23, errors), (22, errors), (12, errors)}  # last two rows, a season back
    assert linear.kept_inputs(replace(coder, baseline="seasonal"), 24) is None
    # the same weights as least squares on those three columns and a constant
    train = data.part("train")
    x = coder.inputs(train)[:, [23, 22, 12], errors].astype(float)
    x = np.column_stack([x, np.ones(len(x))])
    t = coder.encode(train.y, train)
    want = np.linalg.solve(x.T @ x + np.diag([1.0, 1.0, 1.0, 0.0]), x.T @ t)[:, 0]
    got = np.asarray(coder.linear["weights"])[:, 0]
    np.testing.assert_allclose(got[np.r_[23, 22, 12] * weights.shape[1] + errors], want[:3],
                               rtol=1e-6)
    assert got[-1] == pytest.approx(want[3], rel=1e-6, abs=1e-9)


def test_trend_season_is_a_candidate_and_wins_on_a_fixed_season():
    """With the trend_season candidate the chosen pair and its linear models score below what
    persistence and its ridge score on the test part, and below seasonal drift's (seeds 0-5:
    trend_season in the pair on 5, the pair 6-17% below persistence's RMSE on all 6)."""
    y = line_season(seed=3)
    cfg = SeriesConfig(target="v", features=["v"], season=12, window=24, linear="auto")
    best, scores = choose_baseline(series(y), cfg, 0.3, "none")
    assert "trend_season" in scores and "trend_season" in mean_parts(best)
    test_rmse = {}
    for kind in (best, "persistence", "seasonal_drift"):
        data = prepare(series(y), 24, 1, 0.3, 0.3, "train", "delta", season=12,
                       baseline=kind, linear="auto")
        test_rmse[kind] = rmse(*linear_forecast(data))
    assert test_rmse[best] < 0.9 * min(test_rmse["persistence"], test_rmse["seasonal_drift"])


def test_trend_season_is_offered_only_where_it_reaches_the_validation_windows():
    """Before two seasons of rows it is persistence: a model validated there would forecast
    with a fit it was never scored on."""
    y = line_season(n=110, seed=0, m=30)
    reaches = SeriesConfig(target="v", features=["v"], season=30, window=24, linear="auto")
    short = replace(reaches, window=4)  # the first validation window sees 56 rows, not 60
    assert "trend_season" in choose_baseline(series(y), reaches, 0.3, "none")[1]
    assert "trend_season" not in choose_baseline(series(y), short, 0.3, "none")[1]
    with pytest.raises(CharrnnError, match="takes 60 rows, and the first validation window"):
        prepare(series(y), 4, 1, 0.3, 0.3, "train", "delta", season=30,
                baseline="trend_season")
    with pytest.raises(CharrnnError, match="fitting a line and a season"):
        prepare(series(y), 4, 1, 0.3, 0.3, "train", "delta", season=30,
                baseline="mean:seasonal+trend_season")


def test_the_trend_season_ridge_reads_other_columns_whole():
    """A leading indicator's changes stay inputs; the target's own changes do not."""
    y = line_season(seed=2)
    lead = np.random.default_rng(5).normal(0, 1, len(y))
    y[1:] += 3 * lead[:-1]
    two = Series("gen", ["v", "x"], "v", np.column_stack([y, lead]), y)
    data = prepare(two, 24, 1, 0.3, 0.3, "train", "delta", season=12, baseline="trend_season",
                   linear="1.0")
    weights = np.asarray(data.coder.linear["weights"])[:-1, 0].reshape(24, -1)
    assert data.coder.target_index == 0 and weights.shape[1] == 3  # v, x, the errors
    # the window's changes against its last row: that row's own is always 0
    assert not weights[:, 0].any() and weights[:23, 1].all()
    assert set(np.nonzero(weights[:, 2])[0]) == {23, 22, 12}


def test_a_trend_season_run_is_scored_beside_its_baseline(tmp_path):
    csv = seasonal_csv(tmp_path / "m.csv")
    train(csv, tmp_path / "run", *FAST, "--baseline", "trend_season", "--quiet")
    meta = checkpoint.load(tmp_path / "run", kind="series").meta
    assert meta["task"]["baseline"] == "trend_season" and meta["task"]["season"] == 12
    r = evaluate(tmp_path / "run", csv)
    assert {"persistence", "seasonal_naive", "trend_season"} <= set(r["baselines"])
    text = run("eval", "--ckpt", tmp_path / "run", csv).stdout
    assert "trend_season(12)" in text
    # a short window on a shorter file: its first test windows see under two seasons, so the
    # model corrects persistence there and the baseline's row is scored on the others
    train(csv, tmp_path / "short", *FAST, "--baseline", "trend_season", "--window", "4",
          "--quiet")
    head = tmp_path / "head.csv"
    head.write_text("".join(csv.read_text().splitlines(keepends=True)[:31]))
    result = run("eval", "--ckpt", tmp_path / "short", head)
    assert result.exit_code == 0, result.stderr
    assert "note: trend_season scored on the last" in result.stderr


def test_a_given_penalty_and_none():
    y = series(ar2())
    assert prepare(y, 7, 1, 0.3, 0.3, "train", "delta", linear="none").coder.linear is None
    data = prepare(y, 7, 1, 0.3, 0.3, "train", "delta", linear="1e9")
    weights = np.asarray(data.coder.linear["weights"])
    assert data.coder.linear["penalty"] == 1e9 and np.abs(weights[:-1]).max() < 1e-3


def test_the_forecast_blends_the_linear_model_and_the_network():
    """decode(out) = baseline + scale * ((1 - share) * out + share * linear); a network output
    equal to the linear model's gives the linear model's forecast; the coder's JSON keeps it."""
    data = prepare(series(ar2()), 7, 1, 0.3, 0.3, "train", "delta", linear="auto")
    coder, test = data.coder, data.part("test")
    bare = replace(coder, linear=None)
    lin = coder.linear_output(test)
    out = np.random.default_rng(1).normal(0, 1, lin.shape)
    share = linear.SHARE
    np.testing.assert_allclose(coder.decode(out, test),
                               bare.decode((1 - share) * out + share * lin, test))
    np.testing.assert_allclose(coder.decode(lin, test), bare.decode(lin, test))
    again = Coder.from_dict(json.loads(json.dumps(coder.to_dict())))
    np.testing.assert_allclose(again.decode(out, test), coder.decode(out, test))
    # the network's targets do not depend on the linear model
    np.testing.assert_allclose(coder.encode(test.y, test), bare.encode(test.y, test))


def test_validation_scores_the_blend_that_is_forecast():
    """Epochs are chosen, and kept over the untrained model, by the error of what is forecast
    (the blend), not of the network's output alone: its validation loss is proportional to the
    blend's squared error in real units, whatever the network outputs."""
    import torch

    from charrnn.series.task import SeriesTask

    data = prepare(series(ar2()), 7, 1, 0.3, 0.3, "train", "delta", linear="auto")
    task = SeriesTask(data, SeriesConfig(target="v", features=["v"]), torch.device("cpu"))
    val = data.part("val")
    rng = np.random.default_rng(2)
    outs = [np.zeros(val.y.shape), data.coder.linear_output(val),
            rng.normal(0, 1, val.y.shape)]
    losses = [task.validate(_Fixed(out), None) for out in outs]
    real = [rmse(data.coder.decode(out, val), val) ** 2 for out in outs]
    np.testing.assert_allclose(np.array(losses) / np.array(real), losses[0] / real[0], rtol=1e-4)
    # the network alone would have scored its own error against the targets: a zero output
    # (the bare baseline) would then look worse than it is
    alone = float(np.mean((data.coder.encode(val.y, val) - outs[0]) ** 2)) * task.to_scaled
    assert losses[0] < alone


def test_long_series_are_fitted_in_chunks(monkeypatch):
    data = prepare(series(ar2()), 7, 1, 0.3, 0.3, "train", "delta", linear="none")
    train = data.part("train")
    whole = linear.fit(data.coder, train, 10.0)
    monkeypatch.setattr(linear, "CHUNK", 7)
    np.testing.assert_allclose(linear.fit(data.coder, train, 10.0), whole, rtol=1e-9, atol=1e-12)
    coder = replace(data.coder, linear={"penalty": 10.0, "weights": whole, "share": 0.5})
    test = data.part("test")
    np.testing.assert_allclose(coder.linear_output(test),
                               linear.design(data.coder, test) @ np.asarray(whole))


@pytest.mark.parametrize("penalty", linear.PENALTIES)
def test_fewer_windows_than_inputs_are_solved_in_the_dual_with_the_same_weights(penalty):
    rng = np.random.default_rng(0)
    values = np.cumsum(rng.normal(0, 1, (60, 30)), axis=0) + 50  # 30 columns x 7 rows: 210 inputs
    wide = Series("wide", [f"c{i}" for i in range(30)], "c0", values, values[:, 0])
    data = prepare(wide, 7, 1, 0.3, 0.3, "train", "delta", linear="none")
    train = data.part("train")
    assert len(train.y) < linear.design(data.coder, train).shape[1] - 1  # fewer than the inputs
    primal = linear.solve(*linear.normal_equations(data.coder, train), penalty)
    np.testing.assert_allclose(linear.fit(data.coder, train, penalty), primal, rtol=1e-6,
                               atol=1e-9 * np.abs(primal).max())


@pytest.mark.parametrize("season", [12, None])
def test_under_few_validation_windows_the_seasonal_candidates_are_averaged(season):
    """Where the validation part is too short to choose among a season's candidates, the
    baseline is their mean (no scores); from FEW_WINDOWS on, the choice as before. Without a
    season the choice stays (averaging lost there in full runs); asked for, the mean is of
    persistence and Holt's level and trend."""
    from charrnn.series import selection

    cfg = SeriesConfig(target="v", features=["v"], season=season, window=24, linear="auto")

    def rows_for(windows):
        return next(n for n in range(40, 400) if selection.validation_windows(
            series(np.zeros(n)), cfg, 0.3) == windows)

    rng = np.random.default_rng(0)
    for windows in (selection.FEW_WINDOWS - 1, selection.FEW_WINDOWS):
        n = rows_for(windows)
        t = np.arange(n)
        y = (10 + 3 * np.sin(2 * np.pi * t / 12) if season else 0.8 * t) + rng.normal(0, 0.3, n)
        best, scores = choose_baseline(series(y), cfg, 0.3, "none")
        few = windows < selection.FEW_WINDOWS and season is not None
        assert (best == "combined") == few and (scores == {}) == few
        if windows < selection.FEW_WINDOWS:
            data = prepare(series(y), 24, 1, 0.3, 0.3, "train", "delta", season=season,
                           baseline="combined")
            assert data.coder.baseline.startswith("combined:")  # the smoothed part's weights
            assert len(data.part("val").y) == windows
    if season is None:  # where Holt's fit is the last value, the mean of one part is persistence
        walk = 10 + np.cumsum(rng.normal(0, 1, rows_for(selection.FEW_WINDOWS - 1)))
        assert prepare(series(walk), 24, 1, 0.3, 0.3, "train", "delta",
                       baseline="combined").coder.baseline == "persistence"


def test_the_baseline_is_chosen_by_its_linear_model():
    """A seasonal random walk read through 3-row windows: on top of persistence the linear
    model cannot see the season, on top of a seasonal baseline it need not. Two seasons of
    rows read through the window, persistence's linear model sees it too and stays (a fixed
    season with white noise). The same on every call."""
    rng = np.random.default_rng(0)
    y = np.tile(10 + 3 * np.sin(2 * np.pi * np.arange(12) / 12), 20)
    for t in range(12, len(y)):
        y[t] = y[t - 12] + rng.normal(0, 0.1)
    cfg = SeriesConfig(target="v", features=["v"], season=12, window=3, linear="auto")
    best, scores = choose_baseline(series(y), cfg, 0.3, "none")
    first, second = sorted(scores, key=scores.__getitem__)[:2]
    assert first in ("seasonal", "seasonal_drift") and scores[first] < 0.5 * scores["persistence"]
    assert best == mean_of((first, second))  # the two best, each with its linear model
    assert choose_baseline(series(y), cfg, 0.3, "none") == (best, scores)
    t = np.arange(240)
    fixed = 10 + 3 * np.sin(2 * np.pi * t / 12) + rng.normal(0, 0.3, len(t))
    wide = replace(cfg, window=24)
    assert choose_baseline(series(fixed), wide, 0.3, "none")[0] == "persistence"


def growing_season(n=180, seed=0) -> np.ndarray:
    """Monthly, growing, multiplicative season with AR(1) noise: the log transform applies and
    the parts' scales differ."""
    rng = np.random.default_rng(seed)
    t = np.arange(n)
    noise = np.zeros(n)
    for i in range(1, n):
        noise[i] = 0.6 * noise[i - 1] + rng.normal(0, 0.03)
    return np.exp(np.log(100) + 0.01 * t + 0.2 * np.sin(2 * np.pi * t / 12) + noise)


@pytest.mark.parametrize("parts, penalty", [
    (("seasonal", "smoothed:0.3,0.1,0.05"), "1.0"), (("seasonal_drift", "persistence"), "10.0"),
    (("smoothed:0.2,0.2,0", "seasonal"), "1.0+none")])
def test_a_mean_baseline_forecasts_the_mean_of_its_parts_each_with_its_own_linear_model(
        parts, penalty):
    """In the transformed space the mean coder's linear forecast is the mean of each part's
    baseline corrected by that part's own linear model, fitted alone; one residual input
    column per part, the level input after them."""
    s = series(growing_season())
    kw = dict(season=12, transform="log", linear=penalty, level_input=True)
    mean = prepare(s, 24, 2, 0.3, 0.3, "train", "delta", baseline=mean_of(parts), **kw)
    assert mean.coder.baseline == mean_of(parts) and mean_parts(mean.coder.baseline) == parts
    assert mean.coder.extra_inputs == len(parts) + 1  # and the level input
    test = mean.part("test")
    assert mean.coder.inputs(test).shape == (len(test.y), 24, 2 + len(parts))
    whole = replace(mean.coder, linear={**mean.coder.linear, "share": 1.0})
    got = forward(whole.decode(np.zeros_like(test.y), test), "log")
    want = []
    asked_each = penalty.split("+") * (2 // len(penalty.split("+")))
    for part, asked in zip(parts, asked_each):
        own = prepare(s, 24, 2, 0.3, 0.3, "train", "delta", baseline=part,
                      **{**kw, "linear": asked})
        c = own.coder if own.coder.linear is None else replace(
            own.coder, linear={**own.coder.linear, "share": 1.0})
        want.append(forward(c.decode(np.zeros_like(test.y), own.part("test")), "log"))
    np.testing.assert_allclose(got, np.mean(want, axis=0), rtol=0, atol=1e-7)  # float32 inputs
    assert mean.coder.linear["parts"] == [None if p == "none" else float(p) for p in asked_each]
    again = Coder.from_dict(json.loads(json.dumps(mean.coder.to_dict())))
    assert again == mean.coder


# ---------------------------------------------------------------------- through the CLI
def test_default_run_retrains_on_the_validation_windows(tmp_path):
    """The run shown chooses the epochs on the validation windows; then a model learns from the
    training and validation windows together for as many, keeping the validated run's interval
    calibration, and replaces its checkpoints."""
    data = seasonal_csv(tmp_path / "s.csv", n=160)
    result = train(data, tmp_path / "r", "--epochs", "40", "--hidden", "5", "--window", "12")
    assert "windows 72 train / 31 val / 45 test" in result.stderr
    chosen = retrained_epochs(result.stderr)
    assert f"best epoch {chosen} " in result.stderr
    meta = checkpoint.load(tmp_path / "r", kind="series").meta
    assert meta["task"]["retrain"] is True and meta["epoch"] == chosen
    assert meta["conformal"] is not None and meta["coder"]["linear"]["share"] == linear.SHARE
    assert sorted(p.name for p in (tmp_path / "r").iterdir()) == [
        ".lock", "best.safetensors", "last.safetensors"]
    ours = evaluate(tmp_path / "r", data)
    assert ours["rmse"] < ours["baselines"]["persistence"]["rmse"]


def test_a_retrained_network_resumes_on_both_parts(tmp_path):
    data = seasonal_csv(tmp_path / "s.csv", n=160)
    result = train(data, tmp_path / "r", "--epochs", "40", "--hidden", "5", "--window", "12",
                   "--linear", "none", "--baseline", "persistence")
    chosen = retrained_epochs(result.stderr)
    assert chosen > 0  # the network must learn the season: an epoch is kept
    result = run("train-series", data, "--resume", tmp_path / "r", "--epochs", str(chosen + 3))
    assert result.exit_code == 0, result.stderr
    assert "windows 72 train + 31 val / 45 test" in result.stderr  # both parts train it
    meta = checkpoint.load(tmp_path / "r" / "last.safetensors", kind="series").meta
    assert meta["epoch"] == chosen + 3 and meta["task"]["retrain"] is True


def test_no_retrain_and_no_linear_model(tmp_path):
    data = seasonal_csv(tmp_path / "s.csv", n=120)
    train(data, tmp_path / "n", *FAST, "--quiet", "--no-retrain", "--linear", "none")
    meta = checkpoint.load(tmp_path / "n" / "last.safetensors", kind="series").meta
    assert meta["task"]["retrain"] is False and meta["task"]["linear"] == "none"
    assert meta["coder"]["linear"] is None and meta["epoch"] == 5  # not trained again


def test_the_lecture_protocol_neither_retrains_nor_blends(tmp_path):
    data = seasonal_csv(tmp_path / "s.csv", n=120)
    train(data, tmp_path / "l", *FAST, "--quiet", "--target-mode", "level")
    meta = checkpoint.load(tmp_path / "l", kind="series").meta
    assert meta["task"]["retrain"] is False and meta["coder"].get("linear") is None


@pytest.mark.parametrize("value", ["abc", "-1", "inf", "nan"])
def test_bad_linear_penalty(tmp_path, value):
    data = seasonal_csv(tmp_path / "s.csv", n=120)
    clean_error(run("train-series", data, "--out", tmp_path / "o", *FAST, "--linear", value),
                f"--linear {value}")
    assert not (tmp_path / "o").exists()


def test_a_time_budget_covers_both_runs(tmp_path):
    """The validated run has half the budget, the retraining the rest (at most as many epochs)."""
    data = seasonal_csv(tmp_path / "s.csv", n=160)
    result = train(data, tmp_path / "t", "--epochs", "100000", "--hidden", "5", "--time-budget",
                   "2", "--json")
    end = json.loads(result.stdout.splitlines()[-1])
    assert end["stop_reason"] == "time_budget"
    meta = checkpoint.load(tmp_path / "t", kind="series").meta
    assert meta["task"]["retrain"] is True and meta["epoch"] <= end["best_epoch"]
    assert meta["train"]["time_budget"] == 1.0


def test_an_interrupted_retraining_keeps_the_validated_model(tmp_path, monkeypatch):
    from charrnn.engine.trainer import Trainer
    from charrnn.errors import Interrupted

    validated_run = Trainer.run

    def run_or_interrupt(self):
        if getattr(self.task.cfg, "retrain", False):
            raise Interrupted("Ctrl-C: saved somewhere at step 3; continue with --resume it")
        return validated_run(self)

    monkeypatch.setattr(Trainer, "run", run_or_interrupt)
    data = seasonal_csv(tmp_path / "s.csv", n=120)
    result = run("train-series", data, "--out", tmp_path / "i", *FAST)
    assert result.exit_code == 130
    assert "stopped retraining" in result.stderr and "holds the validated model" in result.stderr
    meta = checkpoint.load(tmp_path / "i" / "last.safetensors", kind="series").meta
    assert meta["task"]["retrain"] is False and meta["epoch"] == 5  # the validated run's
    assert sorted(p.name for p in (tmp_path / "i").iterdir()) == [
        ".lock", "best.safetensors", "last.safetensors"]


def test_when_no_epoch_beats_the_baseline_the_retraining_claims_no_loss(tmp_path, monkeypatch):
    """The validated run keeps epoch 0 (the untrained model, its baseline and linear model), so
    the retraining trains 0 epochs: it has no loss to report (it used to record 0)."""
    from charrnn.series.task import SeriesTask

    monkeypatch.setattr(SeriesTask, "initial_margin", 1.0)  # no trained epoch can beat it
    data = seasonal_csv(tmp_path / "s.csv", n=120)
    result = train(data, tmp_path / "z", *FAST, "--json")
    end = json.loads(result.stdout.splitlines()[-1])
    assert end["best_epoch"] == 0 and "no epoch was kept, so none is trained" in result.stderr
    meta = checkpoint.load(tmp_path / "z", kind="series").meta
    assert meta["task"]["retrain"] is True and meta["epoch"] == 0
    assert meta["best_loss"] is None


def test_a_checkpoint_whose_linear_model_does_not_fit_is_refused(tmp_path):
    from safetensors import safe_open
    from safetensors.numpy import save_file

    data = seasonal_csv(tmp_path / "s.csv", n=120)
    train(data, tmp_path / "m", *FAST, "--quiet", "--no-retrain")
    path = checkpoint.resolve(tmp_path / "m")
    with safe_open(str(path), "np") as f:
        meta, tensors = f.metadata(), {k: f.get_tensor(k) for k in f.keys()}
    (key,) = meta
    inner = json.loads(meta[key])
    assert inner["coder"]["linear"] is not None
    inner["coder"]["linear"]["weights"] = inner["coder"]["linear"]["weights"][:-2]
    save_file(tensors, str(tmp_path / "bad.safetensors"), metadata={key: json.dumps(inner)})
    clean_error(run("eval", "--ckpt", tmp_path / "bad.safetensors", data),
                "linear model's weights do not fit")


@pytest.mark.parametrize("phi, seed, alone", [((-0.5, 0), 0, True), ((-0.3, 0), 1, True),
                                              ((-0.3, 0), 2, False), ((0.5, -0.3), 0, False)])
def test_all_of_the_linear_correction_where_it_beats_its_share_by_the_margin(phi, seed, alone):
    """The whole correction, fitted on the training windows, against SHARE of it on the
    validation windows: 1 where all of it wins by ALONE_MARGIN (an oscillating AR(1): the
    correction is 1.5 times the last value, SHARE of it leaves a third), else SHARE."""
    data = prepare(series(ar2(seed=seed, phi=phi)), 7, 1, 0.3, 0.3, "train", "delta",
                   linear="auto")
    bare = replace(data.coder, linear=None)
    train, val, penalty = data.part("train"), data.part("val"), data.coder.linear["penalty"]
    out = linear.apply(bare, val, linear.fit(bare, train, penalty))
    whole = rmse(bare.decode(out, val), val)
    shared = rmse(bare.decode(linear.SHARE * out, val), val)
    assert (whole < (1 - linear.ALONE_MARGIN) * shared) is alone
    assert linear.choose_share(bare, val, data.coder.linear["weights"]) == (
        1.0 if alone else linear.SHARE)


@pytest.mark.parametrize("retrain", [True, False])
def test_where_the_network_stays_out_the_linear_model_may_forecast_alone(tmp_path, retrain):
    """One epoch cannot beat the untrained blend: the network stays out, and on an oscillating
    AR(1) all of the linear correction wins; the checkpoint (retrained or not) says so, and
    beats persistence by far (the correction is 1.5 times the last value)."""
    y = ar2(n=300, phi=(-0.5, 0))
    data = tmp_path / "osc.csv"
    data.write_text("v\n" + "\n".join(f"{v:.5f}" for v in y) + "\n")
    flags = ("--season", "none", "--epochs", "1", "--hidden", "4") + (
        () if retrain else ("--no-retrain",))
    result = train(data, tmp_path / "a", *flags)
    assert "the linear model forecasts alone" in result.stderr
    meta = checkpoint.load(tmp_path / "a", kind="series").meta
    assert meta["coder"]["linear"]["share"] == 1.0 and meta["task"]["retrain"] is retrain
    scores = evaluate(tmp_path / "a", data)
    assert scores["rmse"] < 0.75 * scores["baselines"]["persistence"]["rmse"]
    # the intervals are calibrated on the validation windows with all of the linear model, as
    # the validated model (no retraining) is
    validated = tmp_path / "a" if not retrain else tmp_path / "v"
    if retrain:
        train(data, validated, *flags, "--no-retrain")
    kept = checkpoint.load(validated, kind="series").meta["conformal"]
    assert meta["conformal"] == kept


def test_the_linear_models_own_loss_is_the_blends_with_a_network_output_equal_to_it():
    """alone_loss scores all of the linear correction on the validation windows, in the units
    of validate: a network whose output is the linear model's makes the blend the linear
    model, and validates to the same loss."""
    import torch

    from charrnn.series.task import SeriesTask

    data = prepare(series(ar2()), 7, 1, 0.3, 0.3, "train", "delta", linear="auto")
    task = SeriesTask(data, SeriesConfig(target="v", features=["v"]), torch.device("cpu"))
    same = task.validate(_Fixed(data.coder.linear_output(data.part("val"))), None)
    assert task.alone_loss() == pytest.approx(same, rel=1e-5)
    assert task.alone_loss() < task.validate(_Fixed(np.zeros(data.part("val").y.shape)), None)


@pytest.mark.parametrize("better", [True, False])
def test_a_kept_network_gives_way_to_the_linear_model_that_beats_it(better):
    """A trained epoch kept over the untrained blend is not yet kept over the linear model
    alone: where all of the linear correction scores lower on the validation windows than
    the best epoch, the linear model forecasts alone."""
    import torch

    from charrnn.engine.events import TrainEnd
    from charrnn.series.commands import linear_alone
    from charrnn.series.task import SeriesTask

    data = prepare(series(ar2(phi=(-0.5, 0))), 7, 1, 0.3, 0.3, "train", "delta", linear="auto")
    task = SeriesTask(data, SeriesConfig(target="v", features=["v"]), torch.device("cpu"))
    best = task.alone_loss() * (1.01 if better else 0.99)
    end = TrainEnd("b", "l", best, "epochs", best_epoch=7)
    assert linear_alone(task, end) == (1.0 if better else None)


def test_a_run_whose_linear_model_beats_its_best_epoch_forecasts_with_the_linear_model(
        tmp_path, monkeypatch):
    """Any epoch counts as beating the untrained blend (margin and t test off), and two
    epochs of a 4-unit network barely move it: on an oscillating AR(1) the linear model
    alone wins, the note says so, and the checkpoint holds it (share 1, no epoch)."""
    from charrnn.series.task import SeriesTask

    monkeypatch.setattr(SeriesTask, "initial_margin", -1.0)
    monkeypatch.setattr(SeriesTask, "initial_run", 0)
    y = ar2(n=300, phi=(-0.5, 0))
    data = tmp_path / "osc.csv"
    data.write_text("v\n" + "\n".join(f"{v:.5f}" for v in y) + "\n")
    result = train(data, tmp_path / "a", "--season", "none", "--epochs", "2", "--hidden", "4",
                   "--lr", "1e-4")
    assert "alone beat the network's best epoch" in result.stderr
    meta = checkpoint.load(tmp_path / "a", kind="series").meta
    assert meta["coder"]["linear"]["share"] == 1.0 and meta["epoch"] == 0
    scores = evaluate(tmp_path / "a", data)
    assert scores["rmse"] < 0.75 * scores["baselines"]["persistence"]["rmse"]
