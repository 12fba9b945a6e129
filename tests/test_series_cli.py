"""train-series, series eval and forecast through typer's CliRunner; stdout and stderr apart.

The must-shows of issue 4 run the real lecture protocol (500 full-batch epochs, ~1-2 s each);
everything else uses a generated series and a few epochs.
"""
import csv
import io
import json
import sys
from pathlib import Path

import numpy as np
import pytest
from typer.testing import CliRunner

from charrnn import checkpoint
from charrnn.cli import app

LECTURE = Path(__file__).resolve().parent.parent / "corpora" / "data-02-stock_daily.csv"
FAST = ["--epochs", "5", "--hidden", "5", "--device", "cpu"]


def run(*args, input=None):
    result = CliRunner().invoke(app, [str(a) for a in args], input=input)
    if result.exception is not None and not isinstance(result.exception, SystemExit):
        raise result.exception
    return result


def clean_error(result, *needles):
    assert result.exit_code == 2, (result.stdout, result.stderr)
    assert result.stdout == "" and "Traceback" not in result.stderr
    last = result.stderr.strip().splitlines()[-1]
    assert last.startswith("error: ")
    for needle in needles:
        assert needle in last, last


def seasonal_csv(path: Path, n=360, seed=0, newest_first=False, extra="") -> Path:
    """Monthly periods, a 12-month season plus AR(1) noise: structure persistence cannot see."""
    rng = np.random.default_rng(seed)
    noise = np.zeros(n)
    for i in range(1, n):
        noise[i] = 0.5 * noise[i - 1] + rng.normal(0, 0.3)
    y = 10 + 3 * np.sin(2 * np.pi * np.arange(n) / 12) + noise
    rows = [f"{1950 + i // 12}-{i % 12 + 1:02d},{v:.4f}{extra}" for i, v in enumerate(y)]
    rows = rows[::-1] if newest_first else rows
    path.write_text("month,value" + ("," + "k" if extra else "") + "\n" + "\n".join(rows) + "\n")
    return path


def train(csv_path, out, *args):
    result = run("train-series", csv_path, "--out", out, "--device", "cpu", *args)
    assert result.exit_code == 0, result.stderr
    return result


def retrained_epochs(stderr: str) -> int:
    """The epochs a retraining ran, from its note (0: no epoch was kept)."""
    if "no epoch was kept, so none is trained again" in stderr:
        return 0
    return int(stderr.split("trained again for the ")[1].split()[0])


def evaluate(ckpt, csv_path, *args):
    result = run("eval", "--ckpt", ckpt, csv_path, "--json", *args)
    assert result.exit_code == 0, result.stderr
    return json.loads(result.stdout)


# ---------------------------------------------------------------------- must-shows on the lecture
@pytest.fixture(scope="module")
def default_runs(tmp_path_factory):
    """The default model (delta, mse, train-fitted scaling), 500 epochs, seeds 1-3."""
    runs = []
    for seed in (1, 2, 3):
        out = tmp_path_factory.mktemp(f"default{seed}")
        train(LECTURE, out, "--newest-first", "--seed", seed, "--quiet")
        runs.append(evaluate(out, LECTURE))
    return runs


def test_must_show_1_persistence_in_dollars_on_218_test_windows(default_runs):
    r = default_runs[0]
    # MASE and sMAPE join the report (the forecasting issue); no season on daily prices
    assert set(r) == {"rmse", "mae", "mape", "rmse_scaled", "baselines", "skill", "n", "mase",
                      "smape", "per_step", "intervals"}  # and per step, intervals (issue 13)
    assert set(r["baselines"]) == {"persistence"}
    p = r["baselines"]["persistence"]
    assert r["n"] == 218 and set(p) == {"rmse", "mae", "mape", "mase", "smape"}
    assert (round(p["rmse"], 3), round(p["mae"], 3), round(p["mape"], 3)) == (8.002, 5.748, 0.762)
    assert r["skill"] == pytest.approx(1 - r["rmse"] / p["rmse"])


def test_must_show_3_default_model_is_no_worse_than_persistence(default_runs):
    ratios = [r["rmse"] / r["baselines"]["persistence"]["rmse"] for r in default_runs]
    print("default model RMSE / persistence, seeds 1-3:", [round(x, 4) for x in ratios])
    assert np.mean(ratios) <= 1.01


def test_must_show_2_lecture_model_in_the_lecture_range(tmp_path):
    result = train(LECTURE, tmp_path, "--newest-first", "--scale-fit", "all", "--target-mode",
                   "level", "--loss", "sse")
    assert "warning: --scale-fit all" in result.stderr and "leak" in result.stderr
    r = evaluate(tmp_path, LECTURE)
    print("lecture model rmse_scaled:", r["rmse_scaled"], "skill:", r["skill"])
    assert 0.024 <= r["rmse_scaled"] <= 0.031
    assert r["skill"] < 0  # and it is worse than persistence, as the issue measured


# ---------------------------------------------------------------------- a series with structure
@pytest.fixture(scope="module")
def seasonal_run(tmp_path_factory):
    folder = tmp_path_factory.mktemp("seasonal")
    data = seasonal_csv(folder / "monthly.csv", newest_first=True)  # the dates set the order
    out = folder / "ckpt"
    # --window 7: the counts below are for 7-row windows (the default reads two seasons)
    result = train(data, out, "--epochs", "150", "--json", "--window", "7")
    return data, out, result


def test_must_show_4_model_clearly_beats_persistence_on_structure(seasonal_run):
    data, out, _ = seasonal_run
    r = evaluate(out, data, "--season", "12")
    ratio = r["rmse"] / r["baselines"]["persistence"]["rmse"]
    print("seasonal AR series: RMSE / persistence", round(ratio, 4), "/ seasonal naive",
          round(r["rmse"] / r["baselines"]["seasonal_naive"]["rmse"], 4))
    assert ratio < 0.5 and r["skill"] > 0.5
    assert r["rmse"] < r["baselines"]["seasonal_naive"]["rmse"]
    assert r["n"] == 106  # 360 rows -> 353 windows -> int(353 * 0.7) = 247 train, 106 test


def test_train_json_lines_on_stdout_progress_nowhere_else(seasonal_run):
    _, out, result = seasonal_run
    records = [json.loads(line) for line in result.stdout.splitlines()]
    assert [r["epoch"] for r in records[:-1]] == list(range(1, 151))
    first = records[0]
    assert {"train_loss", "val_loss", "val_rmse", "val_rmse_persistence", "points"} <= set(first)
    assert len(first["points"]) == 4 and {"label", "actual", "predicted"} == set(first["points"][0])
    assert first["points"][0]["label"].count("-") == 1  # the month of the predicted row
    assert records[-1]["done"] and records[-1]["best_checkpoint"] == str(out / "best.safetensors")


def test_must_show_5_plot_is_a_png(seasonal_run, tmp_path):
    pytest.importorskip("matplotlib")
    data, out, _ = seasonal_run
    png = tmp_path / "plot.png"
    result = run("eval", "--ckpt", out, data, "--plot", png)
    assert result.exit_code == 0, result.stderr
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    from matplotlib import image

    assert image.imread(png).shape[2] in (3, 4)
    assert "persistence" in result.stdout and "skill" in result.stdout


def test_plot_without_matplotlib_is_a_clear_error(seasonal_run, tmp_path, monkeypatch):
    data, out, _ = seasonal_run
    monkeypatch.setitem(sys.modules, "matplotlib", None)  # import now fails
    clean_error(run("eval", "--ckpt", out, data, "--plot", tmp_path / "p.png"),
                "pip install charrnn[plot]")


def test_must_show_5_forecast_prints_csv_with_dates(seasonal_run):
    data, out, _ = seasonal_run
    result = run("forecast", "--ckpt", out, data, "--steps", "14")
    assert result.exit_code == 0, result.stderr
    rows = list(csv.DictReader(io.StringIO(result.stdout)))
    assert list(rows[0]) == ["step", "date", "prediction"] and len(rows) == 14
    assert [r["date"] for r in rows[:2]] == ["1980-01", "1980-02"]  # data ends 1979-12
    values = [float(r["prediction"]) for r in rows]
    assert max(values) - min(values) > 3  # the season goes on, not a flat line
    assert result.stderr == ""


@pytest.mark.parametrize("baseline", ["smoothed", "airline"])
def test_a_fitted_baseline_trains_scores_and_forecasts(tmp_path, baseline):
    """--baseline smoothed (Holt-Winters) or airline (ARIMA(0,1,1)(0,1,1) on the season): its
    weights are fitted on the training rows and named in the checkpoint; eval scores the model
    beside that baseline, forecast carries the season on. The airline model needs a season."""
    data = seasonal_csv(tmp_path / "monthly.csv", n=180)
    out = tmp_path / "ckpt"
    result = train(data, out, "--epochs", "5", "--baseline", baseline)
    assert f"corrects {baseline}:" in result.stderr
    assert checkpoint.load(out, kind="series").meta["coder"]["baseline"].startswith(baseline)
    r = evaluate(out, data)
    fitted = r["baselines"][baseline]
    assert {"rmse", "mase", "smape"} <= set(fitted)
    assert fitted["rmse"] < r["baselines"]["seasonal_naive"]["rmse"]  # noise not repeated
    assert f"{baseline}(12)" in run("eval", "--ckpt", out, data).stdout
    result = run("forecast", "--ckpt", out, data, "--steps", "12")
    assert result.exit_code == 0, result.stderr
    values = [float(row["prediction"]) for row in csv.DictReader(io.StringIO(result.stdout))]
    assert max(values) - min(values) > 3  # the season goes on
    if baseline == "airline":
        result = run("train-series", data, "--out", tmp_path / "none", "--baseline", baseline,
                     "--season", "none")
        assert result.exit_code == 2 and "needs a season" in result.stderr


def test_a_seasonal_series_gets_the_mean_of_the_two_best_candidates(tmp_path):
    """With a season and enough validation windows auto takes the two candidates whose linear
    models score best and averages them, each corrected by its own linear model: the header
    names the pair and each part's ridge; eval scores the model beside the bare pair; the
    forecast carries the season on; a resume refits each part's linear model as trained."""
    data = seasonal_csv(tmp_path / "monthly.csv", n=240)
    out = tmp_path / "ckpt"
    result = train(data, out, *FAST, "--no-retrain")  # validated checkpoints, to resume
    assert "--baseline mean:" in result.stderr and "the mean of the two" in result.stderr
    assert "corrects mean:" in result.stderr and "ridges " in result.stderr
    meta = checkpoint.load(out, kind="series").meta
    parts = meta["coder"]["baseline"][len("mean:"):].split("+")
    assert len(parts) == 2 and meta["coder"]["linear"]["parts"]
    assert meta["task"]["linear"].count("+") == 1
    r = evaluate(out, data)
    assert {"rmse", "mase", "smape"} <= set(r["baselines"]["mean"])
    assert r["rmse"] < r["baselines"]["persistence"]["rmse"]
    assert "mean(12)" in run("eval", "--ckpt", out, data).stdout
    result = run("forecast", "--ckpt", out, data, "--steps", "12")
    assert result.exit_code == 0, result.stderr
    values = [float(row["prediction"]) for row in csv.DictReader(io.StringIO(result.stdout))]
    assert max(values) - min(values) > 3  # the season goes on
    epoch = checkpoint.load(out / "last.safetensors", kind="series").meta["epoch"]
    result = run("train-series", data, "--resume", out, "--epochs", str(epoch + 2))
    assert result.exit_code == 0, result.stderr
    again = checkpoint.load(out / "last.safetensors", kind="series").meta
    assert again["coder"]["baseline"] == meta["coder"]["baseline"]


def test_a_mean_baselines_penalty_given_again_on_resume_is_accepted(tmp_path):
    """--linear 0 is stored once per part ('0.0+0.0'); the same option on resume was refused."""
    data = seasonal_csv(tmp_path / "monthly.csv", n=240)
    train(data, tmp_path / "c", *FAST, "--no-retrain", "--linear", "0")
    assert checkpoint.load(tmp_path / "c", kind="series").meta["task"]["linear"] == "0.0+0.0"
    train(data, tmp_path / "c", "--resume", tmp_path / "c", "--linear", "0", "--epochs", "7")
    clean_error(run("train-series", data, "--resume", tmp_path / "c", "--linear", "1",
                    "--epochs", "8"), "--linear", "'0.0+0.0'")


def test_a_short_seasonal_series_gets_the_mean_of_the_candidates(tmp_path):
    """72 monthly rows leave 10 validation windows: auto averages the candidates instead of
    choosing, says so, names the smoothed part in the checkpoint; eval scores the model beside
    that mean, and the forecast carries the season on."""
    data = seasonal_csv(tmp_path / "short.csv", n=72)
    out = tmp_path / "ckpt"
    result = train(data, out, *FAST)
    assert "--baseline combined:" in result.stderr and "the mean of persistence" in result.stderr
    meta = checkpoint.load(out, kind="series").meta
    assert meta["coder"]["baseline"].startswith("combined:")
    r = evaluate(out, data)
    assert {"rmse", "mase", "smape"} <= set(r["baselines"]["combined"])
    assert "combined(12)" in run("eval", "--ckpt", out, data).stdout
    result = run("forecast", "--ckpt", out, data, "--steps", "12")
    assert result.exit_code == 0, result.stderr
    values = [float(row["prediction"]) for row in csv.DictReader(io.StringIO(result.stdout))]
    assert max(values) - min(values) > 3  # the season goes on


def test_a_wandering_trend_without_a_season_gets_holts_baseline(tmp_path):
    """Quarterly rows whose slope wanders, no season: auto chooses the smoothed baseline
    (a level and a trend) over persistence on the validation windows; eval shows it, and the
    forecast goes on along the trend."""
    rng = np.random.default_rng(0)
    slope = 0.5 + np.cumsum(rng.normal(0, 0.1, 160))
    y = 100 + np.cumsum(slope) + rng.normal(0, 1, 160)
    data = tmp_path / "trend.csv"
    data.write_text("quarter,value\n" + "".join(
        f"{1960 + i // 4}-{3 * (i % 4) + 1:02d}-01,{v:.3f}\n" for i, v in enumerate(y)))
    out = tmp_path / "ckpt"
    result = train(data, out, "--epochs", "5")
    assert "no season" in result.stderr and "corrects smoothed:" in result.stderr
    assert "note: --baseline smoothed:" in result.stderr
    r = evaluate(out, data)
    holt, persistence = r["baselines"]["smoothed"], r["baselines"]["persistence"]
    assert holt["rmse"] < persistence["rmse"] and r["rmse"] < persistence["rmse"]
    assert "smoothed " in run("eval", "--ckpt", out, data).stdout
    result = run("forecast", "--ckpt", out, data, "--steps", "8")
    values = [float(row["prediction"]) for row in csv.DictReader(io.StringIO(result.stdout))]
    assert values[-1] - values[0] > 7 * 0.5  # rising, as the slope does


def test_a_cycle_in_yearly_rows_gets_one_period_of_window_and_persistence(tmp_path):
    """An 11-year cycle in yearly rows: the window reads one period and two rows, and the
    seasonal baselines (which assume the period recurs to the row) are not tried."""
    rng = np.random.default_rng(0)
    t = np.arange(220)
    y = 50 + 40 * np.sin(2 * np.pi * t / 11) + rng.normal(0, 5, 220)
    data = tmp_path / "cycle.csv"
    data.write_text("year,value\n" + "".join(f"{1700 + i},{v:.3f}\n" for i, v in enumerate(y)))
    result = train(data, tmp_path / "ckpt", "--epochs", "1")
    assert "season 11, window 13, corrects persistence" in result.stderr
    assert "--baseline" not in result.stderr  # no choice was made among candidates


def test_eval_all_rows_and_text_output(seasonal_run):
    data, out, _ = seasonal_run
    assert evaluate(out, data, "--all")["n"] == 353
    result = run("eval", "--ckpt", out, data)
    assert result.stdout.splitlines()[0] == "value, test part: 106 windows"
    assert "better than persistence" in result.stdout


def test_stdin_csv_and_plain_progress_on_stderr(tmp_path):
    text = seasonal_csv(tmp_path / "s.csv", n=120).read_text()
    result = run("train-series", "-", "--out", tmp_path / "o", *FAST, input=text)
    assert result.exit_code == 0, result.stderr
    assert result.stdout == f"{tmp_path / 'o' / 'best.safetensors'}\n"
    assert "training on stdin" in result.stderr and "epoch 5/5" in result.stderr


def test_quiet_leaves_stderr_empty_and_a_seed_repeats(tmp_path):
    data = seasonal_csv(tmp_path / "s.csv", n=120)
    a = run("train-series", data, "--out", tmp_path / "a", *FAST, "--quiet", "--json")
    b = run("train-series", data, "--out", tmp_path / "b", *FAST, "--quiet", "--json")
    assert a.stderr == "" and a.exit_code == 0
    losses = [[json.loads(x).get("train_loss") for x in r.stdout.splitlines()] for r in (a, b)]
    assert losses[0] == losses[1]


def test_a_validation_part_larger_than_the_training_part_is_warned_of(tmp_path):
    data = seasonal_csv(tmp_path / "s.csv", n=120)
    lopsided = train(data, tmp_path / "a", *FAST, "--val-frac", "0.9")
    assert "training windows against" in lopsided.stderr and "--val-frac 0.9" in lopsided.stderr
    usual = train(data, tmp_path / "b", *FAST)
    assert "training windows against" not in usual.stderr


def test_a_resume_keeps_what_the_run_chose_and_refuses_a_run_that_kept_no_epoch(tmp_path):
    """A run whose validation kept no epoch forecasts with its baseline and linear model; a
    resume trained its network on every window for the epochs asked and replaced it."""
    train(LECTURE, tmp_path / "r", "--newest-first", *FAST, "--quiet")
    best = (tmp_path / "r" / "best.safetensors").read_bytes()
    assert checkpoint.load(tmp_path / "r", kind="series").meta["epoch"] == 0
    clean_error(run("train-series", LECTURE, "--newest-first", "--resume", tmp_path / "r",
                    "--epochs", "50"), "kept no epoch", "train a new model")
    for option in (["--season", "12"], ["--transform", "log"], ["--baseline", "seasonal"]):
        clean_error(run("train-series", LECTURE, "--newest-first", "--resume", tmp_path / "r",
                        *option), f"{option[0]} {option[1]}: the resumed model was trained with")
    assert (tmp_path / "r" / "best.safetensors").read_bytes() == best
    info = run("info", "--ckpt", tmp_path / "r")
    assert "validation kept no epoch" in info.stdout and "before any epoch" not in info.stdout


def test_horizon_predicts_several_steps_and_forecast_iterates(tmp_path):
    data = seasonal_csv(tmp_path / "s.csv", n=120)
    train(data, tmp_path / "h", *FAST, "--horizon", "3", "--quiet", "--window", "7")
    assert evaluate(tmp_path / "h", data)["n"] == 34  # 120 - 7 - 3 + 1 = 111 windows
    result = run("forecast", "--ckpt", tmp_path / "h", data, "--steps", "7")
    assert result.exit_code == 0 and len(result.stdout.splitlines()) == 8


def test_checkpoint_carries_the_series_metadata(tmp_path):
    from charrnn import checkpoint

    data = seasonal_csv(tmp_path / "s.csv", n=120)
    train(data, tmp_path / "m", *FAST, "--quiet", "--window", "7")
    meta = checkpoint.load(tmp_path / "m", kind="series").meta
    assert meta["columns"] == {"features": ["value"], "target": "value", "date": "month"}
    task = meta["task"]  # what the model reads (v2); meta["window"] is the trainer's position
    assert task["window"] == 7 and task["horizon"] == 1 and task["target_mode"] == "delta"
    assert meta["scaler"]["fit"] == "train" and meta["scaler"]["columns"] == ["value"]
    assert meta["order"] == {"date_column": "month", "newest_first": False}


# ---------------------------------------------------------------------- bad input
@pytest.mark.parametrize("body, args, needles", [
    ("a,b\n" + "1,2\n" * 20 + "3,x\n", [], ["line 22", "column b", "not a number"]),
    ("a,b\n" + "1,2\n" * 20 + "3,\n", [], ["line 22", "column b", "--fill"]),
    ("a,b\n" + "1,2\n" * 5, [], ["too few", "--window 7", "need at least 10 rows"]),
    ("a,b\n" + "1,2\n" * 20, ["--target", "c"], ["--target c", "no such column"]),
    ("a,b\n" + "1,2\n" * 20, ["--features", "a,zz"], ["--features zz"]),
])
def test_bad_input_is_one_error_line(tmp_path, body, args, needles):
    path = tmp_path / "bad.csv"
    path.write_text(body)
    clean_error(run("train-series", path, "--out", tmp_path / "o", *FAST, *args), *needles)


def test_fill_and_text_columns_are_noted(tmp_path):
    rows = [f"GOOG,{i % 5},{i}" for i in range(30)]
    rows[10] = "GOOG,,10"
    path = tmp_path / "f.csv"
    path.write_text("ticker,a,b\n" + "\n".join(rows))
    result = run("train-series", path, "--out", tmp_path / "o", *FAST, "--fill")
    assert result.exit_code == 0, result.stderr
    assert "ignoring non-numeric column(s) ticker" in result.stderr
    assert "filled 1 gap(s) in column a" in result.stderr


def test_constant_column_is_not_an_error(tmp_path):
    path = tmp_path / "c.csv"
    path.write_text("k,v\n" + "\n".join(f"5,{i % 7}" for i in range(40)))
    assert run("train-series", path, "--out", tmp_path / "o", *FAST).exit_code == 0


def test_text_checkpoint_to_series_commands(tmp_path):
    corpus = tmp_path / "t.txt"
    corpus.write_text("hello hello hello\n")
    text_ckpt = tmp_path / "text"
    result = run("train-text", corpus, "--out", text_ckpt, "--embed", "0", "--hidden", "4",
                 "--layers", "1", "--seq-len", "4", "--epochs", "1", "--val-frac", "0", "--quiet")
    assert result.exit_code == 0, result.stderr
    data = seasonal_csv(tmp_path / "s.csv", n=60)
    clean_error(run("forecast", "--ckpt", text_ckpt, data), "is a text model")


def test_forecast_beyond_horizon_needs_the_other_features(tmp_path):
    path = tmp_path / "two.csv"
    path.write_text("a,b\n" + "\n".join(f"{i % 3},{i % 5}" for i in range(40)))
    train(path, tmp_path / "o", *FAST, "--quiet")
    clean_error(run("forecast", "--ckpt", tmp_path / "o", path, "--steps", "3"),
                "--steps 3", "--features b")
    result = run("forecast", "--ckpt", tmp_path / "o", path)
    assert result.exit_code == 0 and result.stdout.startswith("step,prediction\n1,")


def test_eval_on_a_csv_without_the_models_columns(seasonal_run, tmp_path):
    _, out, _ = seasonal_run
    other = tmp_path / "other.csv"
    other.write_text("x\n" + "\n".join(str(i) for i in range(40)))
    clean_error(run("eval", "--ckpt", out, other), "the model's target value", "no such column")


def test_default_window_reads_two_detected_seasons(tmp_path):
    from charrnn import checkpoint

    data = seasonal_csv(tmp_path / "s.csv", n=240)
    result = train(data, tmp_path / "m", *FAST)
    task = checkpoint.load(tmp_path / "m", kind="series").meta["task"]
    assert task["season"] == 12 and task["window"] == 24
    assert "season 12" in result.stderr and "window 24" in result.stderr
    train(data, tmp_path / "n", *FAST, "--season", "none", "--quiet")
    task = checkpoint.load(tmp_path / "n", kind="series").meta["task"]
    assert task["season"] is None and task["window"] == 7 and task["baseline"] == "persistence"


def test_ensemble_trains_members_apart_and_scores_their_mean(tmp_path):
    """--ensemble 3: one checkpoint, three networks; eval, forecast and the intervals use their
    mean; a resume keeps the ensemble and refuses another size."""
    import torch

    from charrnn import checkpoint
    from charrnn.series.commands import load_forecaster

    data = seasonal_csv(tmp_path / "s.csv", n=120)
    train(data, tmp_path / "e", *FAST, "--quiet", "--window", "7", "--ensemble", "3",
          "--no-retrain")  # validated checkpoints, to resume
    ckpt = checkpoint.load(tmp_path / "e", kind="series")
    assert ckpt.meta["model"]["ensemble"] == 3
    model = load_forecaster(ckpt, "cpu")[0]
    x = torch.randn(4, 7, model.cfg.input_size)
    members = model.forward_members(x)
    assert members.shape == (3, 4, 1) and torch.allclose(model.forward_last(x), members.mean(0))
    h, w = model.cfg.hidden_size, model.rnn.weight_hh_l0  # each from its own initial weights
    assert not torch.allclose(w[:h, :h], w[h:2 * h, h:2 * h]) and torch.all(w[:h, h:] == 0)
    assert evaluate(tmp_path / "e", data)["n"] > 0
    result = run("forecast", "--ckpt", tmp_path / "e", data, "--steps", "3")
    assert result.exit_code == 0 and len(result.stdout.splitlines()) == 4
    result = run("forecast", "--ckpt", tmp_path / "e", data, "--level", "80")
    assert result.exit_code == 0 and result.stdout.splitlines()[0].endswith("lo80,hi80")
    clean_error(run("train-series", data, "--resume", tmp_path / "e", "--ensemble", "2",
                    "--epochs", "8"), "--ensemble 2", "resumed model has 3")
    assert run("train-series", data, "--resume", tmp_path / "e", "--epochs", "8",
               "--quiet").exit_code == 0
