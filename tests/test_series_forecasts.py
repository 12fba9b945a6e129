"""Forecasts people can act on (issue 13): several steps ahead with per-step scores, conformal
prediction intervals, rolling-origin backtests. Through CliRunner; stdout and stderr apart."""
import json

import numpy as np
import pytest

from conftest import CORPORA, run_cli

STOCK = CORPORA / "data-02-stock_daily.csv"
SMALL = ["--hidden", "5", "--epochs", "50", "--device", "cpu", "--quiet"]


def ok(result):
    assert result.exit_code == 0, result.stderr
    return result


def clean_error(result, *needles):
    assert result.exit_code == 2, (result.stdout, result.stderr)
    assert result.stdout == "" and "Traceback" not in result.stderr
    lines = [line for line in result.stderr.strip().splitlines() if line.startswith("error:")]
    assert len(lines) == 1, result.stderr
    for needle in needles:
        assert needle in lines[0], lines[0]


@pytest.fixture(scope="module")
def stock_h5(tmp_path_factory):
    out = tmp_path_factory.mktemp("h5")
    ok(run_cli(["train-series", STOCK, "--newest-first", "--horizon", "5", "--out", out, *SMALL]))
    return out


# ---------------------------------------------------------------------- multi-step, intervals
def test_must_show_1_five_rows_with_bounds_and_steps_1_to_5(stock_h5):
    result = ok(run_cli(["forecast", "--ckpt", stock_h5, STOCK, "--steps", "5", "--level", "80"]))
    lines = result.stdout.strip().splitlines()
    assert lines[0] == "step,prediction,lo80,hi80" and len(lines) == 6
    for k, line in enumerate(lines[1:], 1):
        step, pred, lo, hi = line.split(",")
        assert int(step) == k and float(lo) < float(pred) < float(hi)
    widths = [float(line.split(",")[3]) - float(line.split(",")[2]) for line in lines[1:]]
    assert widths[-1] > widths[0]  # five days ahead is less certain than one
    two = ok(run_cli(["forecast", "--ckpt", stock_h5, STOCK, "-k", "3", "--level", "95",
                      "--level", "80"])).stdout.splitlines()
    assert two[0] == "step,prediction,lo80,hi80,lo95,hi95" and len(two) == 4
    lo80, hi80, lo95, hi95 = map(float, two[1].split(",")[2:])
    assert lo95 <= lo80 and hi80 <= hi95

    report = json.loads(ok(run_cli(["eval", "--ckpt", stock_h5, STOCK, "--json"])).stdout)
    assert [s["step"] for s in report["per_step"]] == [1, 2, 3, 4, 5]
    assert all({"rmse", "mae", "mase", "skill", "baselines"} <= set(s) for s in report["per_step"])
    assert report["per_step"][0]["rmse"] < report["per_step"][4]["rmse"]
    assert [i["level"] for i in report["intervals"]] == [80.0, 95.0]
    for entry in report["intervals"]:
        assert 0 <= entry["coverage"] <= 1 and entry["mean_width"] > 0 and entry["msis"] > 0
        assert len(entry["coverage_per_step"]) == 5
    text = ok(run_cli(["eval", "--ckpt", stock_h5, STOCK, "--level", "90"])).stdout
    assert "step" in text and "interval 90%" in text and "interval 80%" not in text
    assert len([line for line in text.splitlines() if line.strip()[:1] in "12345"]) >= 5


@pytest.mark.parametrize("args, needles", [
    (["--level", "100"], ["--level", "(0, 100)"]),
    (["--level", "0"], ["--level"]),
    (["--level", "-5"], ["--level"]),
    (["--level", "0.9"], ["0.9%", "percent", "--level 90"]),  # a fraction, not 0.9%
    (["--level", "99.99999"], ["--level 99.99999:", "needs 9,999,999"]),  # not rounded to 100
    (["--level", "80", "--steps", "7"], ["--steps 7", "calibrated", "--horizon"]),
    (["--steps", "7"], ["--steps 7", "Close"]),  # beyond H with inputs other than the target
])
def test_bad_forecast_levels_and_steps_are_one_line(stock_h5, args, needles):
    clean_error(run_cli(["forecast", "--ckpt", stock_h5, STOCK, *args]), *needles)


def test_eval_level_out_of_range_and_on_a_text_model(stock_h5, hihello_ckpt):
    clean_error(run_cli(["eval", "--ckpt", stock_h5, STOCK, "--level", "100"]), "--level")
    clean_error(run_cli(["eval", "--ckpt", hihello_ckpt, CORPORA / "hihello.txt", "--level",
                         "80"]), "--level", "series")


def test_no_validation_windows_no_intervals(tmp_path):
    ok(run_cli(["train-series", STOCK, "--newest-first", "--val-frac", "0", "--out", tmp_path,
                "--hidden", "5", "--epochs", "5", "--device", "cpu", "--quiet"]))
    clean_error(run_cli(["forecast", "--ckpt", tmp_path, STOCK, "--level", "80"]),
                "--level", "--val-frac")
    report = json.loads(ok(run_cli(["eval", "--ckpt", tmp_path, STOCK, "--json"])).stdout)
    assert "intervals" not in report and len(report["per_step"]) == 1


def test_conformal_quantile_has_the_finite_sample_correction():
    from charrnn.errors import CharrnnError
    from charrnn.series import intervals

    cal = intervals.calibration(np.zeros((10, 1)), np.arange(1, 11)[:, None], "none")
    assert cal["residuals_per_step"] == [[float(v) for v in range(1, 11)]]
    assert intervals.quantiles(cal, 80, 1)[0] == 9  # ceil(11 * 0.8) = 9th smallest
    assert intervals.quantiles(cal, 50, 1)[0] == 6
    with pytest.raises(CharrnnError, match="validation windows"):
        intervals.quantiles(cal, 95, 1)  # ceil(11 * 0.95) = 11 > 10
    log = intervals.calibration(np.full((3, 1), 100.0), np.array([[110.0], [90.0], [200.0]]),
                                "log")
    lo, hi = intervals.bounds(np.array([50.0]), log, 50)
    assert lo[0] * hi[0] == pytest.approx(2500)  # symmetric in log space: x/÷ a factor


def seasonal_noise_csv(path, seed, n=600, sigma=1.0):
    rng = np.random.default_rng(seed)
    t = np.arange(n)
    y = (50 + 10 * np.sin(2 * np.pi * t / 12) + 4 * np.cos(4 * np.pi * t / 12)
         + rng.normal(0, sigma, n))
    path.write_text("t,y\n" + "".join(f"{i},{v:.5f}\n" for i, v in enumerate(y)))
    return path


def test_must_show_2_intervals_cover_what_they_say_on_known_noise(tmp_path):
    """A 12-row season plus Gaussian noise (sigma 1): coverage on the test part, mean of 3
    seeds. Measured: 80% -> 78.4% (width 3.04), 95% -> 95.0% (width 4.85); the noise alone
    would need widths 2.56 and 3.92."""
    cover = {80.0: [], 95.0: []}
    for seed in (1, 2, 3):
        csv = seasonal_noise_csv(tmp_path / f"s{seed}.csv", seed)
        out = tmp_path / f"m{seed}"
        ok(run_cli(["train-series", csv, "--hidden", "8", "--epochs", "150", "--val-frac", "0.25",
                    "--seed", seed, "--out", out, "--device", "cpu", "--quiet"]))
        report = json.loads(ok(run_cli(["eval", "--ckpt", out, csv, "--json"])).stdout)
        for entry in report["intervals"]:
            cover[entry["level"]].append(entry["coverage"])
    assert 0.75 <= np.mean(cover[80.0]) <= 0.85, cover
    assert 0.91 <= np.mean(cover[95.0]) <= 0.98, cover


# ---------------------------------------------------------------------- backtests
def test_backtest_no_fold_sees_a_row_at_or_after_its_origin(monkeypatch):
    from charrnn.series import commands

    seen = []
    original = commands.fit_series

    def spy(series, *args, **kw):
        end, task = original(series, *args, **kw)
        seen.append((series, task.data))
        return end, task

    monkeypatch.setattr(commands, "fit_series", spy)
    result = ok(run_cli(["backtest", STOCK, "--newest-first", "--folds", "3", "--horizon", "2",
                         "--hidden", "5", "--epochs", "20", "--device", "cpu", "--json"]))
    report = json.loads(result.stdout)  # stdout: one JSON object
    assert len(report["folds"]) == 3 and len(seen) == 3
    full = np.loadtxt(STOCK, delimiter=",", comments="#")[::-1, 4]  # Close, oldest first
    origins = [f["origin_row"] for f in report["folds"]]
    assert origins == sorted(origins) and origins[0] == int(len(full) * 0.7)
    for fold, (series, data) in zip(report["folds"], seen):
        origin = fold["origin_row"]
        assert data.fit_rows == origin == fold["train_rows"]  # the scaler's rows
        assert np.allclose(series.target_values[:origin], full[:origin])
        assert np.all(series.target_values[origin:] == full[origin - 1])  # padding, not data
        assert data.scaler.column("Close")[0] == full[:origin].min()
        assert data.scaler.column("Close")[0] + data.scaler.column("Close")[1] == \
            pytest.approx(full[:origin].max())
        for part in ("train", "val"):  # the last label row each part trains or selects on
            assert data.part(part).end.max() + 2 < origin
    assert sum(f["windows"] for f in report["folds"]) == len(full) - 2 + 1 - origins[0]
    assert set(report["mean"]) >= {"model", "persistence", "seasonal_naive", "skill"}
    assert "fold 1/3" in result.stderr


def test_backtest_refit_once_text_table_and_bad_folds(monkeypatch):
    from charrnn.series import commands

    calls = []
    original = commands.fit_series
    monkeypatch.setattr(commands, "fit_series",
                        lambda *a, **kw: calls.append(1) or original(*a, **kw))
    result = ok(run_cli(["backtest", STOCK, "--newest-first", "--folds", "3", "--refit", "once",
                         "--season", "5", "--hidden", "5", "--epochs", "10", "--device", "cpu",
                         "--quiet"]))
    assert len(calls) == 1 and result.stderr == ""
    lines = result.stdout.strip().splitlines()
    assert lines[1].split()[:2] == ["fold", "origin"] and lines[-1].startswith("mean")
    assert len(lines) == 2 + 3 + 1
    assert all(line.split()[3] == lines[2].split()[3] for line in lines[2:5])  # trained once
    assert "-" not in lines[-1].split()[2:5]  # seasonal naive with --season 5
    clean_error(run_cli(["backtest", STOCK, "--newest-first", "--folds", "500", "--epochs", "1"]),
                "--folds 500")
    clean_error(run_cli(["backtest", STOCK, "--newest-first", "--horizon", "300", "--epochs",
                         "1"]), "--horizon 300")  # no origin at all: not the default folds' fault


def test_mase_uses_the_detected_season_whatever_baseline_the_model_corrects(tmp_path):
    """A model that corrects persistence on a seasonal series is still scored against the
    seasonal naive: MASE's scale is its in-sample MAE at lag m (M4), not lag 1."""
    from charrnn import checkpoint

    rng = np.random.default_rng(4)
    t = np.arange(144)
    y = np.round(100 + 20 * np.sin(2 * np.pi * t / 12) + rng.normal(0, 2, len(t)), 3)
    lines = ["month,v"] + [f"{1990 + i // 12}-{i % 12 + 1:02d},{v:.3f}" for i, v in enumerate(y)]
    (tmp_path / "m.csv").write_text("\n".join(lines) + "\n")
    ok(run_cli(["train-series", tmp_path / "m.csv", "--baseline", "persistence", "--epochs", "5",
                "--out", tmp_path / "ck", "--device", "cpu", "--quiet"]))
    meta = checkpoint.load(tmp_path / "ck", kind="series").meta
    assert meta["task"]["season"] == 12 and meta["coder"]["baseline"] == "persistence"
    r = json.loads(ok(run_cli(["eval", "--ckpt", tmp_path / "ck", tmp_path / "m.csv",
                               "--json"])).stdout)
    rows = meta["scaler"]["rows"]
    scale = np.mean(np.abs(y[12:rows] - y[:rows - 12]))
    assert r["mase"] == pytest.approx(r["mae"] / scale, rel=1e-9)
    assert "seasonal_naive" in r["baselines"]


def test_an_iterated_forecast_far_outside_the_training_values_is_noted(tmp_path):
    """A trend carried on: 50 steps stay near the trained values, 2,000 leave them by more
    than ten times their range, which the forecast says (it printed 3.7e23 without a word)."""
    rng = np.random.default_rng(0)
    values = np.arange(100) + rng.normal(0, 0.5, 100)
    data = tmp_path / "trend.csv"
    data.write_text("v\n" + "\n".join(f"{v:.3f}" for v in values) + "\n")
    ok(run_cli(["train-series", data, "--out", tmp_path / "m", *SMALL]))
    near = ok(run_cli(["forecast", "--ckpt", tmp_path / "m", data, "--steps", "50"]))
    assert "times the training values' range" not in near.stderr
    far = ok(run_cli(["forecast", "--ckpt", tmp_path / "m", data, "--steps", "2000"]))
    assert "lies more than 10 times the training values' range" in far.stderr
    assert float(far.stdout.splitlines()[-1].split(",")[-1]) > 1000
