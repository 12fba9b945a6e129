"""Bad CSVs get one clear `error:` line and exit 2 from train-series, eval and forecast: no
traceback, nothing created or changed. The line or cell at fault is named.

Each case builds its command line in a scratch folder; the test snapshots every file there (and
the checkpoint it may read) before and after.
"""
from __future__ import annotations

from datetime import date, timedelta
from pathlib import Path

import pytest

from conftest import run_cli

N = 40
DAYS = [date(2020, 1, 1) + timedelta(days=i) for i in range(N)]


def table(dates=None, header="date,open,close", sep=",", opens=None, closes=None) -> str:
    """A good training-like CSV, with any column's cells replaced."""
    dates = dates or [d.isoformat() for d in DAYS]
    opens = opens or [f"{10 + i % 7}.5" for i in range(N)]
    closes = closes or [f"{11 + i % 5}.25" for i in range(N)]
    return header + "\n" + "\n".join(sep.join(r) for r in zip(dates, opens, closes)) + "\n"


def swap(cells: list[str], i: int, value: str) -> list[str]:
    return cells[:i] + [value] + cells[i + 1:]


ISO = [d.isoformat() for d in DAYS]
US = [d.strftime("%m/%d/%Y") for d in DAYS]
EU = [d.strftime("%d/%m/%Y") for d in DAYS]
NAMED = [f'"{d.strftime("%b")} {d.day}, {d.year}"' for d in DAYS]
SMALL_DAYS = [f"{d.day % 12 + 1:02d}/{d.month:02d}/2020" for d in DAYS]  # no field above 12
CLOSES = [f"{11 + i % 5}.25" for i in range(N)]
LINE = 2 + 5  # the file line of row 5 (the header is line 1)


@pytest.fixture(scope="module")
def series_ckpt(tmp_path_factory) -> Path:
    folder = tmp_path_factory.mktemp("csv-series")
    data = folder / "good.csv"
    data.write_text(table(), encoding="utf-8")
    result = run_cli(["train-series", data, "--epochs", "5", "--out", folder / "ck", "--quiet",
                      "--device", "cpu"])
    assert result.exit_code == 0, result.stderr
    return folder / "ck"


def _csv(t: Path, text: str, name: str = "bad.csv") -> Path:
    path = t / name
    path.write_text(text, encoding="utf-8")
    return path


def train(t: Path, text: str, *extra) -> list:
    return ["train-series", _csv(t, text), "--out", t / "out", "--epochs", "1", "--quiet",
            "--device", "cpu", *extra]


# (id, builder(tmp) -> (args, texts the error line must contain))
TRAIN_CASES = [
    # dates: a date-like column whose cell does not read
    ("iso date typo", lambda t: (train(t, table(swap(ISO, 5, "2020-02-30"))), [f"line {LINE}", "'2020-02-30'"])),
    ("iso month 13", lambda t: (train(t, table(swap(ISO, 5, "2020-13-01"))), [f"line {LINE}", "'2020-13-01'"])),
    ("us date typo", lambda t: (train(t, table(swap(US, 5, "02/30/2020"))), [f"line {LINE}", "'02/30/2020'"])),
    ("named date typo", lambda t: (train(t, table(swap(NAMED, 5, '"Feb 30, 2020"'))), [f"line {LINE}", "'Feb 30, 2020'"])),
    ("compact date typo", lambda t: (train(t, table(swap([d.strftime("%Y%m%d") for d in DAYS], 5, "20200230"))), [f"line {LINE}", "'20200230'"])),
    ("word in a date column", lambda t: (train(t, table(swap(ISO, 5, "yesterday"))), [f"line {LINE}", "'yesterday'"])),
    ("empty date cell", lambda t: (train(t, table(swap(ISO, 5, ""))), [f"line {LINE}", "column date: empty"])),
    ("date column of words", lambda t: (train(t, table(["soon"] * N)), ["line 2", "'soon'", "not a date"])),
    ("offset on some rows only", lambda t: (train(t, table(swap([d + "T00:00:00Z" for d in ISO], 5, ISO[5] + "T00:00:00"))), [f"line {LINE}", "UTC offset"])),
    ("bad offset", lambda t: (train(t, table(swap([d + "T00:00:00+01:00" for d in ISO], 5, ISO[5] + "T00:00:00+25:00"))), [f"line {LINE}", "+25:00"])),
    ("summary row mid-file", lambda t: (train(t, table(swap(ISO, 5, "Total"))), [f"line {LINE}", "'Total'"])),
    # day and month order
    ("ambiguous DD/MM", lambda t: (train(t, table(SMALL_DAYS)), ["column date is ambiguous", "DD/MM/YYYY"])),
    ("DD/MM and MM/DD both", lambda t: (train(t, table(swap(EU, 5, "01/13/2020"))), [f"line {LINE}", "'01/13/2020'", "MM/DD"])),
    ("ambiguous DD-MM-YYYY", lambda t: (train(t, table([s.replace("/", "-") for s in SMALL_DAYS])), ["column date is ambiguous"])),
    # numbers
    ("text in a numeric column", lambda t: (train(t, table(closes=swap(CLOSES, 5, "n/a?"))), [f"line {LINE}", "column close", "'n/a?'"])),
    ("bad thousands grouping", lambda t: (train(t, table(closes=swap(CLOSES, 5, '"1,10.5"'))), [f"line {LINE}", "'1,10.5'"])),
    ("decimal comma in a comma file", lambda t: (train(t, table(closes=swap(CLOSES, 5, '"12,5"'))), [f"line {LINE}", "'12,5'"])),
    ("two currency signs", lambda t: (train(t, table(closes=swap(CLOSES, 5, "$$12"))), [f"line {LINE}", "'$$12'"])),
    ("ambiguous thousands in a ; file", lambda t: (train(t, table(sep=";", header="date;open;close", closes=[f"{i + 1},{i % 9 + 1}00" for i in range(N)])), ["line 2", "column close", "ambiguous"])),
    ("mixed decimal marks in a ; file", lambda t: (train(t, table(sep=";", header="date;open;close", closes=swap([f"{i},5" for i in range(N)], 5, "1,101.50"))), ["column close", "mixes decimal marks"])),
    ("word in a mostly numeric last column", lambda t: (train(t, table(closes=swap(CLOSES, 30, "see notes"))), ["line 32", "column close", "'see notes'"])),
    ("currency word in a numeric column", lambda t: (train(t, table(closes=swap(CLOSES, 5, "12 USD"))), [f"line {LINE}", "'12 USD'"])),
    ("infinite value", lambda t: (train(t, table(closes=swap(CLOSES, 5, "1e999"))), [f"line {LINE}", "not finite"])),
    ("value near the float limit", lambda t: (train(t, table(closes=swap(CLOSES, 5, "1.7e308"))), [f"line {LINE}", "too large"])),
    # shapes and columns
    ("row with an extra field", lambda t: (train(t, table().replace(ISO[5] + ",", ISO[5] + ",1,", 1)), [f"line {LINE}", "4 fields"])),
    ("named index column twice", lambda t: (train(t, ",date,date\n" + "\n".join(f"{i},{d},{i}" for i, d in enumerate(ISO))), ["'date'", "more than once"])),
    ("target only differs in case from two", lambda t: (train(t, table(header="date,Close,close"), "--target", "CLOSE"), ["CLOSE", "Close, close"])),
    ("unknown target", lambda t: (train(t, table(), "--target", "volume"), ["--target volume", "no such column"])),
    ("date column as target", lambda t: (train(t, table(), "--target", "DATE"), ["date column"])),
    ("text column as feature", lambda t: (train(t, "date,ticker,close\n" + "\n".join(f"{d},GOOG,{c}" for d, c in zip(ISO, CLOSES)), "--features", "ticker,close"), ["--features ticker", "not numeric", "'GOOG'"])),
    ("only a summary row", lambda t: (train(t, "date,close\nTotal,5\n"), ["line 2", "'Total'"])),
]

# eval and forecast: the model reads date, open, close
EVAL_CASES = [
    ("eval bad date cell", lambda t: ([_csv(t, table(swap(ISO, 5, "2020-02-30")))], [f"line {LINE}", "'2020-02-30'"])),
    ("eval ambiguous DD/MM", lambda t: ([_csv(t, table(SMALL_DAYS))], ["column date is ambiguous"])),
    ("eval bad number", lambda t: ([_csv(t, table(closes=swap(CLOSES, 5, "12.5.1")))], [f"line {LINE}", "'12.5.1'"])),
    ("eval columns match two by case", lambda t: ([_csv(t, "date,open,Close,CLOSE\n" + "\n".join(f"{d},1,2,3" for d in ISO))], ["close", "Close, CLOSE"])),
    ("eval missing column", lambda t: ([_csv(t, table(header="date,open,price"))], ["close", "no such column"])),
    ("eval decimal comma ambiguous", lambda t: ([_csv(t, table(sep=";", header="date;open;close", closes=[f"{i + 1},{i % 9 + 1}00" for i in range(N)]))], ["column close", "ambiguous"])),
    ("eval mixed offsets", lambda t: ([_csv(t, table(swap([d + " 10:00+01:00" for d in ISO], 5, ISO[5] + " 10:00")))], [f"line {LINE}", "UTC offset"])),
    ("eval values far beyond the training ones", lambda t: ([_csv(t, table(opens=[f"{10 + i % 7}e200" for i in range(N)], closes=[f"{11 + i % 5}e200" for i in range(N)]))], ["not finite numbers"])),
]


def snapshot(*folders: Path) -> dict:
    return {p: (p.stat().st_mtime_ns, p.stat().st_size) for f in folders for p in f.rglob("*")}


def check(args, needles, tmp_path, *watched):
    before = snapshot(tmp_path, *watched)
    result = run_cli(args)
    assert result.exit_code == 2, (result.stdout, result.stderr)
    assert result.stdout == ""
    assert "Traceback" not in result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: "), result.stderr
    for needle in needles:
        assert needle in lines[0], lines[0]
    assert snapshot(tmp_path, *watched) == before  # nothing created or changed
    assert not (tmp_path / "out").exists()


@pytest.mark.parametrize("case", [c[1] for c in TRAIN_CASES], ids=[c[0] for c in TRAIN_CASES])
def test_train_series_refuses_bad_csvs(case, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    args, needles = case(tmp_path)
    check(args, needles, tmp_path)


@pytest.mark.parametrize("command", ["eval", "forecast"])
@pytest.mark.parametrize("case", [c[1] for c in EVAL_CASES], ids=[c[0] for c in EVAL_CASES])
def test_eval_and_forecast_refuse_bad_csvs(case, command, tmp_path, series_ckpt, monkeypatch):
    monkeypatch.chdir(tmp_path)
    args, needles = case(tmp_path)
    check([command, "--ckpt", series_ckpt, *args], needles, tmp_path, series_ckpt)


@pytest.mark.parametrize("header", ["DATE,Open,Close", " Date , OPEN , close "])
def test_eval_and_forecast_match_columns_like_training(header, tmp_path, series_ckpt):
    data = _csv(tmp_path, table(header=header), "cased.csv")
    result = run_cli(["eval", "--ckpt", series_ckpt, data, "--json", "--device", "cpu"])
    assert result.exit_code == 0, result.stderr
    result = run_cli(["forecast", "--ckpt", series_ckpt, data, "--steps", "1", "--device", "cpu"])
    assert result.exit_code == 0, result.stderr
    assert result.stdout.splitlines()[1].startswith("1,2020-02-10,")


def test_forecast_on_a_reordered_us_file_with_a_total_row(tmp_path, series_ckpt):
    """Newest first, US dates, an Excel total: the rows are put in order and the total dropped."""
    rows = list(zip(US, [f"{10 + i % 7}.5" for i in range(N)], CLOSES))[::-1]
    text = "date,open,close\n" + "\n".join(",".join(r) for r in rows) + "\nTotal,,9999\n"
    result = run_cli(["forecast", "--ckpt", series_ckpt, _csv(tmp_path, text), "--steps", "1",
                      "--device", "cpu"])
    assert result.exit_code == 0, result.stderr
    assert "dropped the summary row 'Total'" in result.stderr
    assert result.stdout.splitlines()[1].startswith("1,02/10/2020,")
    value = float(result.stdout.splitlines()[1].split(",")[2])
    assert 5 < value < 20  # near the closes, never the total
