"""Inputs known in advance (issue 13): `--calendar` cycles of the dates and `--future` columns,
which lead the window by H rows and which forecast reads from rows after the last target."""
import datetime as dt
import json

import numpy as np
import pytest

from conftest import run_cli
from charrnn.errors import CharrnnError
from charrnn.series.covariates import calendar_cycles, calendar_features, known_matrix
from charrnn.series.table import load_series
from charrnn.series.windows import make_windows
from charrnn.series.scaler import Scaler

FAST = ["--features", "sales", "--baseline", "persistence", "--season", "none", "--epochs",
        "150", "--device", "cpu", "--quiet", "--seed", "2"]


def ok(result):
    assert result.exit_code == 0, result.stderr
    return result


def clean_error(result, needle):
    assert result.exit_code == 2, (result.stdout, result.stderr)
    assert result.stdout == "" and "Traceback" not in result.stderr
    assert result.stderr.strip().splitlines()[-1].startswith("error:") and needle in result.stderr


def promo_csv(path, rows=300, future=5, seed=1, gap=False):
    """Daily sales driven by a weekday pattern and a promotion flag known in advance; the last
    `future` rows leave sales empty (the forecast rows)."""
    rng = np.random.default_rng(seed)
    lines = ["day,promo,sales"]
    start = dt.date(2021, 3, 1)
    for i in range(rows + future):
        day = start + dt.timedelta(days=i)
        promo = int(rng.random() < 0.2)
        y = 100 + [0, 0, 0, 0, 5, 12, -8][day.weekday()] + 25 * promo + rng.normal(0, 1.5)
        flag = "" if gap and i == rows + 1 else str(promo)
        lines.append(f"{day.isoformat()},{flag},{'' if i >= rows else f'{y:.3f}'}")
    path.write_text("\n".join(lines) + "\n")
    return path


# ---------------------------------------------------------------------- the features
def test_calendar_cycles_follow_the_rows_spacing():
    assert calendar_cycles([f"{2020 + m // 12}-{m % 12 + 1:02d}" for m in range(24)], "month") == ["month"]
    days = [(dt.date(2020, 1, 1) + dt.timedelta(days=i)).isoformat() for i in range(800)]
    assert calendar_cycles(days, "date") == ["weekday", "yearday"]
    assert calendar_cycles(days[:300], "date") == ["weekday"]  # one year: no day of year
    hours = [f"2020-01-{1 + h // 24:02d} {h % 24:02d}:00" for h in range(60)]
    assert calendar_cycles(hours, "time") == ["hour"]
    with pytest.raises(CharrnnError, match="fewer than two"):
        calendar_cycles(days[:10], "date")
    with pytest.raises(CharrnnError, match="--calendar"):
        calendar_cycles(["2001", "2002", "2003", "2004"], "year")


def test_calendar_features_are_the_phase_of_each_cycle():
    months = calendar_features(["2020-01", "2020-04", "2020-07", "2021-01"], "month", ["month"])
    np.testing.assert_allclose(months[:, 0], [0, 1, 0, 0], atol=1e-12)  # sine
    np.testing.assert_allclose(months[:, 1], [1, 0, -1, 1], atol=1e-12)  # cosine
    days = calendar_features(["2024-01-01", "2024-01-03"], "date", ["weekday"])  # Mon, Wed
    np.testing.assert_allclose(days[1], [np.sin(4 * np.pi / 7), np.cos(4 * np.pi / 7)])


def test_future_rows_are_cut_from_the_target_and_kept_for_the_covariate(tmp_path):
    series = load_series(str(promo_csv(tmp_path / "p.csv")), "sales", ["sales"],
                         future=["promo"])
    assert len(series) == 300 and series.known.shape == (305, 1)
    assert series.future_dates == ["2021-12-26", "2021-12-27", "2021-12-28", "2021-12-29",
                                   "2021-12-30"]  # 300 days after 2021-03-01 on
    assert series.features == ["sales"]


def test_covariates_lead_the_window_by_the_horizon(tmp_path):
    series = load_series(str(promo_csv(tmp_path / "p.csv")), "sales", ["sales"],
                         future=["promo"])
    known = known_matrix(series, ["weekday"], ["promo"], 0)  # (rows, 2 + 1)
    scaler = Scaler.fit(["sales"], series.values)
    w = make_windows(series, scaler, 10, 3, known=known)
    i = 17  # window i reads rows i..i+9 and forecasts rows i+10..i+12
    np.testing.assert_array_equal(w.known[i], known[i + 3: i + 13])
    assert w.known[i][-1, 2] == series.known[w.end[i] + 3, 0]  # the furthest step's promo


# ---------------------------------------------------------------------- end to end
@pytest.fixture(scope="module")
def promo_models(tmp_path_factory):
    folder = tmp_path_factory.mktemp("promo")
    data = promo_csv(folder / "p.csv")
    observed = folder / "obs.csv"
    observed.write_text("\n".join(data.read_text().splitlines()[:301]) + "\n")
    ok(run_cli(["train-series", observed, "--horizon", "2", "--out", folder / "plain", *FAST]))
    ok(run_cli(["train-series", data, "--horizon", "2", "--future", "promo", "--calendar",
                "--out", folder / "known", *FAST]))
    return folder, data, observed


def test_known_inputs_pay_where_they_drive_the_series(promo_models):
    folder, data, observed = promo_models
    plain = json.loads(ok(run_cli(["eval", "--ckpt", folder / "plain", observed, "--json"])).stdout)
    known = json.loads(ok(run_cli(["eval", "--ckpt", folder / "known", data, "--json"])).stdout)
    assert known["n"] == plain["n"]
    assert known["rmse"] < 0.6 * plain["rmse"], (known["rmse"], plain["rmse"])


def test_forecast_reads_the_future_rows_and_their_dates(promo_models):
    folder, data, _ = promo_models
    result = ok(run_cli(["forecast", "--ckpt", folder / "known", data, "--steps", "2"]))
    lines = result.stdout.strip().splitlines()
    assert lines[0] == "step,date,prediction"
    assert [line.split(",")[1] for line in lines[1:]] == ["2021-12-26", "2021-12-27"]
    # the promotion flag moves the forecast: flip it on the first forecast row
    text = data.read_text().splitlines()
    day, promo, _ = text[301].split(",")
    text[301] = f"{day},{1 - int(promo)},"
    flipped = data.with_name("flipped.csv")
    flipped.write_text("\n".join(text) + "\n")
    other = ok(run_cli(["forecast", "--ckpt", folder / "known", flipped, "--steps", "1"]))
    before, after = float(lines[1].split(",")[2]), float(other.stdout.splitlines()[1].split(",")[2])
    assert (after - before) * (1 if promo == "0" else -1) > 10


def test_forecast_without_the_future_rows_is_refused(promo_models):
    folder, _, observed = promo_models
    clean_error(run_cli(["forecast", "--ckpt", folder / "known", observed]), "--future promo")


def test_steps_past_the_future_rows_given_are_refused_by_name(promo_models):
    """Iterated past the horizon, each step reads the future columns' next row: asking for more
    steps than the file gives rows blamed the rows it did give ("gives 0")."""
    folder, data, _ = promo_models
    given = len(data.read_text().splitlines()) - 301
    result = run_cli(["forecast", "--ckpt", folder / "known", data, "--steps", str(given + 1)])
    clean_error(result, f"--steps {given + 1}")
    assert f"gives {given} " in result.stderr, result.stderr


def test_a_gap_in_the_future_rows_is_refused(promo_models, tmp_path):
    folder, _, _ = promo_models
    gappy = promo_csv(tmp_path / "g.csv", gap=True)
    clean_error(run_cli(["forecast", "--ckpt", folder / "known", gappy]), "empty in a forecast row")
    clean_error(run_cli(["train-series", gappy, "--future", "promo", "--out", tmp_path / "m"]),
                "empty in a forecast row")
    assert not (tmp_path / "m").exists()
