"""charrnn.series, series_engine and series_view with tiny series; the lecture's file by path."""
import math
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest
import torch

from charrnn.errors import CharrnnError
from charrnn.engine.events import CheckpointSaved
from charrnn.series.coder import Coder
from charrnn.series.prepare import fit_rows, prepare, split_windows
from charrnn.series.scaler import Scaler
from charrnn.series.windows import make_windows
from charrnn.series.table import Series, next_dates, parse_table, select
from charrnn.series.metrics import persistence, scores, seasonal_naive
from charrnn.engine.events import EpochEnd, Progress, TrainEnd, TrainStart
from charrnn.engine.trainer import Trainer
from charrnn.engine.views import PlainLines
from charrnn.series.render import sparkline, text_plot
from charrnn.series.task import SERIES_TRAINING, SeriesConfig, SeriesTask, model_config, predict

LECTURE = Path(__file__).resolve().parent.parent / "corpora" / "data-02-stock_daily.csv"


def table(text, **kw):
    t = parse_table(text, "t.csv")
    return select(t, kw.pop("target", None), kw.pop("features", None), **kw)


# ---------------------------------------------------------------------- reading
def test_names_from_a_comment_line_crlf_and_no_final_newline():
    s = table("# source: somewhere\r\n# a,b,c\r\n1,2,3\r\n4,5,6")
    assert s.features == ["a", "b", "c"] and s.target == "c"
    assert s.values.tolist() == [[1, 2, 3], [4, 5, 6]]


def test_header_row_wins_and_unnamed_columns_get_names():
    assert table("x,y\n1,2\n3,4\n").features == ["x", "y"]
    assert table("1,2\n3,4\n").features == ["col1", "col2"]


def test_date_column_orders_rows_and_is_never_a_feature():
    s = table("month,passengers\n1949-03,132\n1949-01,112\n1949-02,118\n")
    assert s.features == ["passengers"] and s.date_column == "month"
    assert s.target_values.tolist() == [112, 118, 132]
    assert s.dates == ["1949-01", "1949-02", "1949-03"]
    s = table("Date,Close\n2020-01-03,3\n2020-01-01,1\n2020-01-02,2\n")
    assert s.target_values.tolist() == [1, 2, 3]
    s = table("year,v\n2002,3\n2000,1\n2001,2\n")  # numeric, but named like a date
    assert s.features == ["v"] and s.target_values.tolist() == [1, 2, 3]


def test_newest_first_reverses_files_without_dates():
    s = table("v\n3\n2\n1\n", newest_first=True)
    assert s.target_values.tolist() == [1, 2, 3]


def test_text_columns_are_ignored_with_a_note():
    s = table("ticker,v\nGOOG,1\nGOOG,2\n")
    assert s.features == ["v"] and "ticker" in s.notes[0]


@pytest.mark.parametrize("text, needles", [
    ("a,b\n1,2\n3,x\n", ["line 3", "column b", "'x' is not a number"]),
    ("a,b\n1,2\n3,\n5,6\n", ["line 3", "column b", "--fill"]),
    ("a,b\n1,2\n3,NaN\n", ["line 3", "column b", "missing"]),
    ("a,b\n1,2\n3,4,5\n", ["line 3", "3 fields"]),
])
def test_bad_cells_name_line_and_column(text, needles):
    with pytest.raises(CharrnnError) as e:
        table(text)
    for needle in needles:
        assert needle in str(e.value)


def test_fill_interpolates_gaps_and_says_so():
    s = table("a\n1\n\n3\nnan\n4\n", fill=True)  # blank lines are skipped, 'nan' is a gap
    s = table("a\n1\nnan\n3\nnan\n5\n", fill=True)
    assert s.target_values.tolist() == [1, 2, 3, 4, 5]
    assert "filled 2 gap(s) in column a" in s.notes[0]


@pytest.mark.parametrize("text, where", [("a,b\n1,1\n2,2\n,3\n", "line 4, column a: empty after the last"),
                                         ("a,b\nnan,1\n2,2\n3,3\n", "line 2, column a: empty before the first")])
def test_fill_makes_up_no_value_before_the_first_or_after_the_last(text, where):
    with pytest.raises(CharrnnError, match=where):  # an invented last row would be forecast from
        table(text, fill=True)


def test_unknown_or_unusable_columns():
    with pytest.raises(CharrnnError, match="--target nope: no such column"):
        table("a,b\n1,2\n", target="nope")
    with pytest.raises(CharrnnError, match="--features z: no such column"):
        table("a,b\n1,2\n", features=["a", "z"])
    with pytest.raises(CharrnnError, match="is the date column"):
        table("date,b\n2020-01-01,2\n", target="date")
    with pytest.raises(CharrnnError, match="not numeric"):
        table("name,b\nx,2\ny,3\n", target="name")
    assert table("Alpha,b\n1,2\n", target="alpha").target == "Alpha"  # case folded when unique


# ---------------------------------------------------------------------- scaling, windows, split
def test_scaler_min_max_and_a_constant_column_scales_to_zero():
    sc = Scaler.fit(["a", "k"], np.array([[0.0, 5.0], [10.0, 5.0]]))
    assert sc.transform(np.array([[5.0, 5.0], [20.0, 7.0]])).tolist() == [[0.5, 0.0], [2.0, 2.0]]
    assert Scaler.from_dict(sc.to_dict()).column("a") == (0.0, 10.0)


def test_split_counts_windows_as_the_lecture():
    s = split_windows(725, 0.3, 0.1)
    assert (s.train + s.val, s.test) == (507, 218) and s.val == 51
    assert split_windows(725, 0.3, 0.0).val == 0


def test_windows_read_rows_and_label_the_next_ones():
    y = np.arange(10.0)
    s = Series("s", ["v"], "v", y[:, None], y)
    sc = Scaler.fit(["v"], y[:, None])
    w = make_windows(s, sc, window=3, horizon=2)
    assert w.x.shape == (6, 3, 1) and w.y.shape == (6, 2)
    assert (w.x[0, :, 0] * 9).round().tolist() == [0, 1, 2] and w.y[0].tolist() == [3, 4]
    assert w.last.tolist() == [2, 3, 4, 5, 6, 7] and w.y[-1].tolist() == [8, 9]


def test_scaler_is_fitted_on_training_rows_only():
    y = np.arange(100.0)
    s = Series("s", ["v"], "v", y[:, None], y)
    p = prepare(s, 5, 1, 0.3, 0.1, "train", "level")
    assert p.split.fit == 66 and p.fit_rows == fit_rows(p.split, 5, 1) == 71
    assert p.scaler.high.tolist() == [70.0]  # the last label of a training window
    assert p.part("test").y.min() == 71.0  # the first test label was never seen by the scaler
    assert prepare(s, 5, 1, 0.3, 0.1, "all", "level").scaler.high.tolist() == [99.0]


def test_a_longer_horizon_shares_no_label_between_parts():
    y = np.arange(100.0)
    s = Series("s", ["v"], "v", y[:, None], y)
    p = prepare(s, 5, 3, 0.3, 0.1, "train", "level")
    labels = {name: set(p.part(name).y.reshape(-1).tolist()) for name in ("train", "val", "test")}
    assert labels["train"] and labels["val"] and labels["test"]
    assert not labels["train"] & labels["val"] and not labels["val"] & labels["test"]
    assert p.scaler.high.tolist() == [max(labels["val"])]  # no test label reached the scaler
    assert min(labels["test"]) > p.scaler.high[0]


def test_columns_merely_mentioning_time_are_features():
    s = table("load,response_time,value\n5,54,1\n6,47,2\n7,3,3\n")
    assert s.features == ["load", "response_time", "value"] and s.target_values.tolist() == [1, 2, 3]
    s = table("month,v\n1,5\n2,6\n1,7\n")  # repeats: a feature, file order kept
    assert s.features == ["month", "v"]


def test_an_empty_column_and_a_huge_window_are_clear_errors():
    with pytest.raises(CharrnnError, match="no values"):
        table("a,b\n,1\n,2\n", target="a")
    y = np.arange(30.0)
    with pytest.raises(CharrnnError, match="too few"):
        prepare(Series("s", ["v"], "v", y[:, None], y), 2_000_000, 1, 0.3, 0.1, "train", "delta")


def test_too_few_rows_is_a_clear_error():
    y = np.arange(8.0)
    with pytest.raises(CharrnnError, match="too few"):
        prepare(Series("s", ["v"], "v", y[:, None], y), 7, 1, 0.3, 0.1, "train", "delta")


@pytest.mark.parametrize("mode", ["delta", "level"])
def test_coder_round_trip(mode):
    rng = np.random.default_rng(0)
    y, last = rng.normal(size=(4, 2)), rng.normal(size=4)
    c = Coder(mode, -1.0, 3.0, 0.5, [0.25])
    assert np.allclose(c.decode(c.encode(y, last), last), y)
    assert Coder.from_dict(c.to_dict()) == c
    if mode == "delta":
        assert np.allclose(c.decode(np.zeros((4, 2)), last), last[:, None])  # zero = persistence
        x = rng.normal(size=(4, 3, 1))
        assert np.allclose(c.inputs(x)[:, -1], 0) and c.inputs(x).dtype == np.float32


# ---------------------------------------------------------------------- metrics and baselines
def test_scores_against_hand_computed_values():
    m = scores(np.array([[2.0], [4.0]]), np.array([[1.0], [5.0]]))
    assert m == {"rmse": 1.0, "mae": 1.0, "mape": pytest.approx((100 + 20) / 2)}
    assert scores(np.array([1.0]), np.array([0.0]))["mape"] is None


def test_seasonal_naive_looks_one_season_back():
    y = np.array([1.0, 2, 3, 1, 2, 3, 1, 2, 3])
    s = Series("s", ["v"], "v", y[:, None], y)
    w = make_windows(s, Scaler.fit(["v"], y[:, None]), window=2, horizon=1)
    pred, ok = seasonal_naive(y, w, 3)
    assert ok.tolist() == [False] + [True] * 6
    assert pred[:, 0].tolist() == w.y[ok, 0].tolist()  # a perfect season
    assert persistence(w)[:, 0].tolist() == w.last.tolist()


def test_lecture_persistence_in_dollars_and_on_the_leaky_scaled_axis():
    s = select(parse_table(LECTURE.read_text(), "lecture"), None, None, newest_first=True)
    assert len(s) == 732 and s.target == "Close" and len(s.features) == 5
    p = prepare(s, 7, 1, 0.3, 0.1, "train", "delta")
    test = p.part("test")
    m = scores(persistence(test), test.y)
    assert (len(test.y), round(m["rmse"], 3), round(m["mae"], 3), round(m["mape"], 3)) == \
        (218, 8.002, 5.748, 0.762)
    leaky = prepare(s, 7, 1, 0.3, 0.1, "all", "level")
    scaled = (persistence(test) - test.y) / leaky.coder.span
    assert round(float(np.sqrt(np.mean(scaled ** 2))), 5) == 0.02332  # the figure


def test_next_dates_step_like_the_data():
    assert next_dates(["2020-01-30", "2020-01-31"], 2) == ["2020-02-01", "2020-02-02"]
    assert next_dates(["1949-11", "1949-12"], 2) == ["1950-01", "1950-02"]
    assert next_dates(["2000", "2001"], 1) == ["2002"]
    assert next_dates(["2020-01-01 10:00", "2020-01-01 11:00"], 1) == ["2020-01-01 12:00:00"]


# ---------------------------------------------------------------------- engine
def seasonal_series(n=300, seed=0):
    rng = np.random.default_rng(seed)
    t = np.arange(n)
    y = 10 + 3 * np.sin(2 * np.pi * t / 12) + rng.normal(0, 0.2, n)
    return Series("gen", ["v"], "v", y[:, None], y)


def test_a_cycle_in_yearly_rows_keeps_persistence():
    """A period found in yearly rows is a cycle that drifts (sunspots, the lynx): only
    persistence is offered; with monthly dates the same rows try every seasonal candidate, and
    without a period yearly rows try persistence and Holt."""
    from charrnn.series import selection

    y = seasonal_series().target_values
    cfg = SeriesConfig(target="v", features=["v"], season=12, window=24)
    for dates, column, kinds in (([str(1700 + i) for i in range(len(y))], "year", 0),
                                 ([f"{1700 + i // 12}-{i % 12 + 1:02d}" for i in range(len(y))],
                                  "month", 6)):
        dated = Series("gen", ["v"], "v", y[:, None], y, dates, column)
        best, scores = selection.choose_baseline(dated, cfg, 0.3, "none")
        assert len(scores) == kinds
        assert (best == "persistence") == (kinds == 0)
        # without a period, yearly rows are a series like any other: persistence or Holt
        _, scores = selection.choose_baseline(dated, replace(cfg, season=None), 0.3, "none")
        assert "persistence" in scores  # scored (Holt here fits as the last value)


def train_small(tmp_path, mode="delta", epochs=5, listeners=(), seed=0, horizon=1):
    s = seasonal_series()
    cfg = SeriesConfig(target_mode=mode, target="v", features=["v"], horizon=horizon)
    train_cfg = replace(SERIES_TRAINING, epochs=epochs, seed=seed)
    data = prepare(s, cfg.window, horizon, cfg.test_frac, train_cfg.val_frac, cfg.scale_fit, mode)
    task = SeriesTask(data, cfg, torch.device("cpu"))
    inputs = 1 + data.coder.extra_inputs  # a stationary series also reads its level
    trainer = Trainer(task, model_config({"cell": "lstm", "hidden": 5, "layers": 1}, inputs, horizon), train_cfg, tmp_path,
                      torch.device("cpu"), "fp32", list(listeners))
    return trainer, data


def test_delta_model_starts_as_persistence(tmp_path):
    trainer, data = train_small(tmp_path)
    test = data.part("test")
    assert np.allclose(predict(trainer.model, test, data.coder), persistence(test))


def test_engine_emits_events_and_saves_best_and_last(tmp_path):
    events = []  # a list's append is a listener
    trainer, _ = train_small(tmp_path, epochs=4, listeners=[events.append])
    end = trainer.run()
    events = [e for e in events if not isinstance(e, Progress)]  # timed: a slow epoch adds one
    kinds = [type(e) for e in events]
    assert kinds == [TrainStart] + [EpochEnd] * 4 + [CheckpointSaved] * 2 + [TrainEnd]
    assert [e.epoch for e in events if isinstance(e, EpochEnd)] == [1, 2, 3, 4]
    assert all(math.isfinite(e.train_loss) and e.val_loss is not None for e in events[1:5])
    assert Path(end.best_path).name == "best.safetensors" and Path(end.last_path).exists()
    assert events[1].points == []  # nobody asked for a preview: none computed


def test_engine_is_deterministic_with_a_seed(tmp_path):
    a, _ = train_small(tmp_path / "a", epochs=3, seed=7)
    b, _ = train_small(tmp_path / "b", epochs=3, seed=7)
    a.run(), b.run()
    assert [h["train_loss"] for h in a.history] == [h["train_loss"] for h in b.history]


def test_engine_learns_a_seasonal_series(tmp_path):
    trainer, data = train_small(tmp_path, epochs=80)
    trainer.run()
    trainer.model.load_state_dict(trainer.best_state)
    test = data.part("test")
    ratio = (scores(predict(trainer.model, test, data.coder), test.y)["rmse"]
             / scores(persistence(test), test.y)["rmse"])
    assert ratio < 0.6


def test_preview_and_plain_lines(tmp_path, capsys):
    events = []
    view = PlainLines()
    trainer, _ = train_small(tmp_path, epochs=2, listeners=[view, events.append])
    trainer.run()
    epoch = events[1]
    assert len(epoch.points) == 4 and len(epoch.curve[0]) == len(epoch.curve[1]) == 60
    assert epoch.val_rmse_persistence > 0
    err = capsys.readouterr().err
    assert "epoch 2/2" in err and "vs persistence" in err and "best epoch" in err


def test_sparkline_and_text_plot():
    assert sparkline([0, 1, 2]) == "▁▅█" and sparkline([]) == "" and sparkline([3, 3]) == "▁▁"
    plot = text_plot([0.0, 1.0, 2.0], [0.0, 1.5, 2.0], width=3, height=3)
    assert plot.splitlines()[0].endswith("| x*") and "o actual" in plot


def test_ctrl_c_saves_best_and_last_then_stops(tmp_path):
    import os
    import signal

    from charrnn.errors import Interrupted

    def interrupt_at_2(event):
        if isinstance(event, EpochEnd) and event.epoch == 2:
            os.kill(os.getpid(), signal.SIGINT)  # the handler only sets a flag

    trainer, _ = train_small(tmp_path, epochs=50, listeners=[interrupt_at_2])
    with pytest.raises(Interrupted) as e:
        trainer.run()
    assert e.value.exit_code == 130 and trainer.epoch == 2
    assert (tmp_path / "best.safetensors").exists() and (tmp_path / "last.safetensors").exists()


@pytest.mark.parametrize("seasonal_rmse, smoothed_rmse, chosen", [
    (9.6, 12.0, ("seasonal", "persistence")), (9.8, 12.0, ("persistence",)),
    (11.0, 12.0, ("persistence",)), (9.6, 9.0, ("smoothed:", "seasonal")),
    (11.0, 9.8, ("persistence",)), (10.6, 9.6, ("smoothed:", "persistence"))])
def test_a_seasonal_baseline_must_beat_persistence_on_validation_by_the_margin(
        monkeypatch, seasonal_rmse, smoothed_rmse, chosen):
    """The rule, apart from the scoring: persistence scores 10 on the validation windows;
    seasonal drift 10.5, the airline model 10.8, a line and a season 10.9; where a seasonal
    naive (or smoothed) is 4% better the mean of the two best is chosen, where 2% better
    persistence alone. The smoothed and airline candidates are named with their fitted
    weights."""
    from charrnn.series import selection
    from charrnn.series.baselines import mean_parts

    scored = {"persistence": 10.0, "seasonal": seasonal_rmse, "seasonal_drift": 10.5,
              "trend_season": 10.9}

    def linear_rmse(data):
        kind = data.coder.baseline
        return scored.get(kind, 10.8 if kind.startswith("airline:") else smoothed_rmse)

    monkeypatch.setattr(selection, "linear_rmse", linear_rmse)
    cfg = SeriesConfig(target="v", features=["v"], season=12, window=24)
    best, scores = selection.choose_baseline(seasonal_series(), cfg, 0.3, "none")
    parts = mean_parts(best) or (best,)
    assert len(parts) == len(chosen) and all(p.startswith(c) for p, c in zip(parts, chosen))
    fitted = {k: v for k, v in scores.items() if k not in scored}
    assert sorted(k.split(":")[0] for k in fitted) == ["airline", "smoothed"]
    assert scores == {**scored, **fitted}
    assert [v for k, v in fitted.items() if k.startswith("smoothed:")] == [smoothed_rmse]


class _Fixed(torch.nn.Module):
    """A stand-in network whose validation outputs are given."""

    def __init__(self, out):
        super().__init__()
        self.out = torch.as_tensor(out, dtype=torch.float32)

    def forward_last(self, x):
        return self.out


def test_an_epoch_replaces_the_baseline_only_when_it_wins_across_the_windows(tmp_path):
    """The untrained model (the baseline) is replaced by an epoch that beats it by the margin
    and by the paired t statistic over the validation windows, as the epoch before it did:
    not by one that is lucky on one window, nor by one epoch's spike."""
    trainer, data = train_small(tmp_path)
    task = trainer.task
    t = task.val_t.numpy()
    initial = task.validate(_Fixed(np.zeros_like(t)), None)
    lucky = np.zeros_like(t)
    lucky[np.argmax(np.abs(t[:, 0]))] = t[np.argmax(np.abs(t[:, 0]))]  # one window exact
    steady = 0.3 * t  # every window 51% nearer
    assert not task.beats_initial(task.validate(_Fixed(steady), None), initial)  # a spike
    assert task.beats_initial(task.validate(_Fixed(steady), None), initial)  # twice in a row
    score = task.validate(_Fixed(lucky), None)
    assert score < 0.98 * initial  # the margin alone would keep it
    assert not task.beats_initial(score, initial)
    assert not task.beats_initial(task.validate(_Fixed(steady), None), initial)  # run broken
    assert not task.beats_initial(0.99 * initial, initial)  # within the margin


def test_future_taking_the_last_numeric_column_says_which_is_the_target():
    s = table("a,b\n1,2\n3,4\n", future=["b"])
    assert s.target == "a"
    assert any("--future takes b, so the target is a" in n for n in s.notes)
    assert not any("--future takes" in n for n in table("a,b\n1,2\n3,4\n", future=["a"]).notes)
