"""Many series in one file (issue 13): `train-series --id` trains one global model, `eval` scores
each series and their mean, `forecast` writes `id,date,step,prediction[,lo,hi]` for each."""
import json

import numpy as np
import pytest

from charrnn import checkpoint
from conftest import run_cli
from charrnn.series.panel import load_panel
from test_series_cli import retrained_epochs

SMALL = ["--hidden", "8", "--epochs", "60", "--device", "cpu", "--quiet", "--seed", "3"]


def ok(result):
    assert result.exit_code == 0, result.stderr
    return result


def long_csv(path, lengths=(70, 50, 90, 4), seed=0, numeric_ids=False):
    """Monthly seasonal series of different lengths, levels and start years; the last is too
    short for any window."""
    rng = np.random.default_rng(seed)
    lines = ["store,month,sales,price"]
    for k, n in enumerate(lengths):
        level, year = [15.0, 400.0, 80.0, 5.0][k % 4], 2000 + 2 * k
        t = np.arange(n)
        y = level * (1 + 0.3 * np.sin(2 * np.pi * t / 12 + k)) + rng.normal(0, 0.02 * level, n)
        key = str(100 + k) if numeric_ids else f"shop-{k}"
        lines += [f"{key},{year + i // 12}-{i % 12 + 1:02d},{v:.4f},{1 + 0.01 * i:.3f}"
                  for i, v in enumerate(y)]
    path.write_text("\n".join(lines) + "\n")
    return path


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    folder = tmp_path_factory.mktemp("panel")
    data = long_csv(folder / "long.csv")
    result = ok(run_cli(["train-series", data, "--id", "store", "--target", "sales",
                         "--features", "sales", "--horizon", "2", "--out", folder / "m", *SMALL]))
    return folder, data, result


def test_load_panel_groups_rows_by_id_and_keeps_the_id_out_of_the_columns(tmp_path):
    panel = load_panel(str(long_csv(tmp_path / "l.csv", numeric_ids=True)), "STORE", None, None)
    assert panel.ids == ["100", "101", "102", "103"] and panel.id_column == "store"
    assert [len(s) for s in panel.series] == [70, 50, 90, 4]
    for s in panel.series:
        assert s.target == "price" and "store" not in s.features  # numeric ids are no feature
        assert s.dates == sorted(s.dates)


def test_global_model_skips_the_short_series_by_name(trained, tmp_path):
    folder, data, _ = trained
    loud = run_cli(["train-series", data, "--id", "store", "--target", "sales", "--epochs", "2",
                    "--out", tmp_path / "m", "--device", "cpu"])
    assert loud.exit_code == 0, loud.stderr
    assert "series shop-3: 4 rows" in loud.stderr and "skipped" in loud.stderr
    assert "3 series by store" in loud.stderr


def test_eval_gives_per_series_and_overall_metrics(trained):
    folder, data, _ = trained
    out = json.loads(ok(run_cli(["eval", "--ckpt", folder / "m", data, "--json"])).stdout)
    assert [r["id"] for r in out["series"]] == ["shop-0", "shop-1", "shop-2"]
    for r in out["series"]:
        assert {"rmse", "mase", "smape", "baselines", "per_step"} <= set(r)
        assert len(r["per_step"]) == 2 and r["n"] > 0
    ratios = [r["rmse"] / r["baselines"]["persistence"]["rmse"] for r in out["series"]]
    assert out["overall"]["rmse_ratio_to_persistence"] == pytest.approx(np.mean(ratios))
    assert out["overall"]["series"] == 3
    # each series is scored in its own units: the 400-level series has the largest errors
    rmse = {r["id"]: r["rmse"] for r in out["series"]}
    assert rmse["shop-1"] > rmse["shop-0"]
    text = ok(run_cli(["eval", "--ckpt", folder / "m", data])).stdout
    assert "shop-2" in text and "mean over series" in text


def test_forecast_writes_every_series_with_dates_steps_and_bounds(trained):
    folder, data, _ = trained
    result = ok(run_cli(["forecast", "--ckpt", folder / "m", data, "--steps", "2",
                         "--level", "80"]))
    lines = result.stdout.strip().splitlines()
    assert lines[0] == "store,date,step,prediction,lo80,hi80"
    rows = [line.split(",") for line in lines[1:]]
    assert [(r[0], r[2]) for r in rows] == [(f"shop-{k}", s) for k in range(3) for s in "12"]
    assert rows[0][1] == "2005-11" and rows[1][1] == "2005-12"  # shop-0: 70 months from 2000-01
    for r in rows:
        lo, pred, hi = float(r[4]), float(r[3]), float(r[5])
        assert lo < pred < hi
    # each series forecast at its own level
    assert float(rows[2][3]) > 5 * float(rows[0][3])


def test_forecast_quotes_ids_that_hold_a_comma_or_a_quote(tmp_path):
    """The rows are CSV a reader splits back: `a,1` stayed unquoted (five cells under a
    four-column header)."""
    import csv
    import io

    data = long_csv(tmp_path / "long.csv", lengths=(60, 60))
    text = data.read_text().replace("shop-0", '"a,1"').replace("shop-1", '"b""2"')
    data.write_text(text)
    ok(run_cli(["train-series", data, "--id", "store", "--target", "sales", "--features",
                "sales", "--out", tmp_path / "m", *SMALL]))
    result = ok(run_cli(["forecast", "--ckpt", tmp_path / "m", data, "--steps", "1"]))
    rows = list(csv.reader(io.StringIO(result.stdout)))
    assert rows[0] == ["store", "date", "step", "prediction"]
    assert [r[0] for r in rows[1:]] == ["a,1", 'b"2'] and {len(r) for r in rows} == {4}


def test_resume_refuses_another_id_column(trained, tmp_path):
    folder, data, _ = trained
    result = run_cli(["train-series", data, "--resume", folder / "m", "--id", "month",
                      "--out", tmp_path / "r"])
    assert result.exit_code == 2 and "--id" in result.stderr


def test_series_of_another_file_are_named_and_skipped(trained, tmp_path):
    folder, _, _ = trained
    other = long_csv(tmp_path / "other.csv", lengths=(70, 50, 90, 4, 40), seed=1)
    text = other.read_text().replace("shop-4", "newcomer")
    other.write_text(text)
    result = ok(run_cli(["forecast", "--ckpt", folder / "m", other]))
    assert "newcomer" in result.stderr and "not in the model" in result.stderr
    assert "newcomer" not in result.stdout


def test_series_of_the_model_missing_from_the_file_are_named(trained, tmp_path):
    folder, data, _ = trained
    fewer = tmp_path / "fewer.csv"
    fewer.write_text("".join(line for line in data.read_text().splitlines(keepends=True)
                             if "shop-1," not in line))
    result = ok(run_cli(["forecast", "--ckpt", folder / "m", fewer]))
    assert "of the model's series not in the data: shop-1" in result.stderr


def test_a_series_of_forecast_rows_only_is_named_and_skipped(trained, tmp_path):
    """Its target column is empty: it was typed text, and every command failed with 'the
    column holds no values', naming neither the series nor why."""
    folder, data, _ = trained
    extra = tmp_path / "extra.csv"
    lines = data.read_text().splitlines()
    header = lines[0].split(",")
    row = lines[-1].split(",")
    row[header.index("store")] = "newshop"
    row[header.index("sales")] = ""
    extra.write_text("\n".join(lines + [",".join(row)]) + "\n")
    for command in ("forecast", "eval"):
        result = ok(run_cli([command, "--ckpt", folder / "m", extra]))
        assert "1 series without a sales value, skipped: newshop" in result.stderr
    ok(run_cli(["train-series", extra, "--id", "store", "--target", "sales", "--features",
                "sales", "--out", tmp_path / "t", *SMALL]))
    assert "newshop" not in checkpoint.load(tmp_path / "t", kind="series").meta["panel"]["series"]


def test_info_reads_a_panel_checkpoint(trained):
    folder, _, _ = trained
    result = ok(run_cli(["info", "--ckpt", folder / "m" / "best.safetensors", "--json"]))
    assert json.loads(result.stdout)["config"]["task"]["id_column"] == "store"


def test_a_panel_run_resumes(tmp_path):
    data = long_csv(tmp_path / "l.csv", lengths=(60, 50))
    args = ["train-series", data, "--id", "store", "--hidden", "6", "--device", "cpu", "--quiet"]
    ok(run_cli(args + ["--epochs", "10", "--out", tmp_path / "m"]))
    ok(run_cli(["train-series", data, "--resume", tmp_path / "m", "--epochs", "20", "--quiet"]))
    meta = checkpoint.load(tmp_path / "m", kind="series", prefer="last").meta
    assert meta["task"]["id_column"] == "store" and set(meta["panel"]["series"]) == {
        "shop-0", "shop-1"}
    assert meta["epoch"] == 20 and len(meta["history"]) == 20


def test_the_default_target_is_never_a_future_column(tmp_path):
    text = "shop,month,sales,promo\n" + "".join(
        f"{s},{2000 + i // 12}-{i % 12 + 1:02d},{10 + i % 12 + (s == 'b')},{i % 2}\n"
        for s in "ab" for i in range(40))
    (tmp_path / "p.csv").write_text(text)
    panel = load_panel(str(tmp_path / "p.csv"), "shop", None, None, future=["promo"])
    assert [s.target for s in panel.series] == ["sales", "sales"]
    assert all(s.features == ["sales"] for s in panel.series)


def test_a_global_model_retrains_on_every_series_validation_windows(trained, tmp_path):
    """The default: the run shown chooses the epochs on the pooled validation windows, then the
    model trains again on every series' training and validation windows; its intervals keep the
    validated run's calibration. --no-retrain keeps the validated model."""
    from charrnn import checkpoint

    folder, data, _ = trained
    meta = checkpoint.load(folder / "m", kind="series").meta
    assert meta["task"]["retrain"] is True and meta["panel"]["conformal_units"] is not None
    result = ok(run_cli(["train-series", data, "--id", "store", "--target", "sales",
                         "--features", "sales", "--out", tmp_path / "v", *SMALL[:-3]]))
    chosen = retrained_epochs(result.stderr)
    assert checkpoint.load(tmp_path / "v", kind="series").meta["epoch"] == chosen
    ok(run_cli(["train-series", data, "--id", "store", "--target", "sales", "--features",
                "sales", "--out", tmp_path / "n", "--no-retrain", *SMALL]))
    meta = checkpoint.load(tmp_path / "n" / "last.safetensors", kind="series").meta
    assert meta["task"]["retrain"] is False and meta["epoch"] == 60
    evaluated = json.loads(ok(run_cli(["eval", "--ckpt", tmp_path / "v", data, "--json"])).stdout)
    assert len(evaluated["series"]) == 3  # the fourth is too short to train on


def test_a_panel_validates_each_series_blend(tmp_path):
    """As for one series (test_series_linear), the pooled validation loss is that of what is
    forecast: each series' network output blended with its own linear model (none: the output)."""
    import torch

    from charrnn.config import SeriesConfig
    from charrnn.series.panel import prepare_panel
    from charrnn.series.panel_task import PanelTask
    from test_series import _Fixed

    panel = load_panel(str(long_csv(tmp_path / "long.csv", lengths=(90, 80, 70))), "store",
                       "sales", ["sales"])
    cfg = SeriesConfig(target="sales", features=["sales"], season=12, window=24, linear="auto")
    ids, parts = prepare_panel(panel, cfg, 0.3, "none", "persistence", [])
    assert all(p.coder.linear for p in parts)
    parts[1].coder.linear = None  # one series without a linear model
    task = PanelTask(ids, parts, cfg, panel, torch.device("cpu"))
    out = np.random.default_rng(0).normal(0, 1, task.val_t.shape)
    expected, start = [], 0
    for p in parts:
        val = p.part("val")
        n = len(val.y)
        blend = out[start:start + n]
        if p.coder.linear:
            share = p.coder.linear["share"]
            blend = (1 - share) * blend + share * p.coder.linear_output(val)
        expected.append(((blend - p.coder.encode(val.y, val)) ** 2).mean(axis=1))
        start += n
    assert task.validate(_Fixed(out), None) == pytest.approx(np.concatenate(expected).mean(),
                                                              rel=1e-5)
