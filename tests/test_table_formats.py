"""charrnn.series.table on real-world CSV shapes: date and number formats, row order, summary
rows, index and empty columns, delimiters, column matching, and forecast dates."""
from __future__ import annotations

import csv
import io
import re
from datetime import datetime, timedelta, timezone

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from charrnn.errors import CharrnnError
from charrnn.series.table import _parse_date, next_dates, parse_table, select


def load(text, target=None, features=None, **kw):
    return select(parse_table(text, "t.csv"), target, features, **kw)


def rows(header, cells, values=None, delimiter=","):
    values = values or list(range(1, len(cells) + 1))
    out = io.StringIO()
    w = csv.writer(out, delimiter=delimiter, lineterminator="\n")
    w.writerow(header)
    for c, v in zip(cells, values):
        w.writerow([c, v])
    return out.getvalue()


# ---------------------------------------------------------------------- dates
@pytest.mark.parametrize("chronological", [
    ["2020-01-01", "2020-01-02", "2020-01-03"],
    ["2020/01/01", "2020/01/02", "2020/01/03"],
    ["2020.01.01", "2020.01.02", "2020.01.03"],
    ["2020-01-01 10:00", "2020-01-01 11:00", "2020-01-01 12:00"],
    ["2020-01-01T10:00:00", "2020-01-01T10:00:01", "2020-01-01T10:00:02.5"],
    ["2019-12", "2020-01", "2020-02"],
    ["2019-Q4", "2020-Q1", "2020-Q2"],
    ["Dec 2019", "Jan 2020", "Feb 2020"],
    ["01/15/2020", "01/20/2020", "01/31/2020"],  # US: a second field above 12 decides
    ["15/01/2020", "20/01/2020", "31/01/2020"],  # DD/MM: a first field above 12 decides
    ["15.01.2020", "20.01.2020", "31.01.2020"],
    ["1/1/2020", "1/13/2020", "2/1/2020"],  # unpadded US; 1/13 decides
    ["1/31/2020 9:00 AM", "1/31/2020 12:30 PM", "1/31/2020 1:00 PM"],
    ["Feb 28, 2020", "Feb 29, 2020", "Mar 1, 2020"],
    ["February 28, 2020", "February 29, 2020", "March 1, 2020"],
    ["28 Feb 2020", "29 Feb 2020", "01 Mar 2020"],
    ["28-Feb-2020", "29-Feb-2020", "01-Mar-2020"],
    ["Fri, 28 Feb 2020", "Sat, 29 Feb 2020", "Sun, 01 Mar 2020"],
    ["20200228", "20200229", "20200301"],
    ["1582848000", "1582934400", "1583020800"],
])
@pytest.mark.parametrize("file_order", [(0, 1, 2), (2, 1, 0), (1, 2, 0)])
def test_each_date_format_orders_the_rows(chronological, file_order):
    cells = [chronological[i] for i in file_order]
    s = load(rows(["Date", "v"], cells, [i + 1 for i in file_order]))
    assert s.dates == chronological and s.features == ["v"] and s.date_column == "Date"
    assert s.target_values.tolist() == [1, 2, 3]


def test_true_order_is_checked_against_known_values():
    s = load(rows(["Date", "v"], ["01/31/2020", "01/01/2020", "02/01/2020"], [31, 1, 32]))
    assert s.target_values.tolist() == [1, 31, 32]
    s = load(rows(["Date", "v"], ["Feb 29, 2020", "Jan 31, 2020", "Mar 1, 2020"], [2, 1, 3]))
    assert s.target_values.tolist() == [1, 2, 3]


def test_offsets_are_one_timeline():
    cells = ["2020-01-01T10:00:00+01:00", "2020-01-01T09:30:00Z", "2020-01-01T08:00:00Z",
             "2020-01-01T05:00:00-05:00"]
    s = load(rows(["time", "v"], cells, [2, 3, 1, 4]))  # 09:00Z, 09:30Z, 08:00Z, 10:00Z
    assert s.target_values.tolist() == [1, 2, 3, 4]


def test_offset_and_no_offset_mixed_is_an_error():
    with pytest.raises(CharrnnError, match=r"line 3, column time: '2020-01-01T10:00:00' has no UTC"):
        load(rows(["time", "v"], ["2020-01-01T09:00:00Z", "2020-01-01T10:00:00"]))


def test_newest_first_files_and_ties_and_gaps():
    cells = ["2020-01-09", "2020-01-05", "2020-01-05", "2020-01-01"]
    s = load(rows(["date", "v"], cells, [9, 5, 6, 1]))
    assert s.target_values.tolist() == [1, 5, 6, 9]  # equal dates keep their file order
    assert any("repeats" in n for n in s.notes)


@pytest.mark.parametrize("cells, needle", [
    (["2020-02-28", "2020-02-30", "2020-03-01"], "line 3, column Date: '2020-02-30'"),
    (["02/28/2020", "02/30/2020", "03/01/2020"], "line 3, column Date: '02/30/2020'"),
    (["Feb 28, 2020", "Feb 30, 2020", "Mar 1, 2020"], "line 3, column Date: 'Feb 30, 2020'"),
    (["20200228", "20200230", "20200301"], "line 3, column Date: '20200230'"),
    (["20200228", "2020022", "20200301"], "line 3, column Date: '2020022'"),
    (["2020-01-01", "yesterday", "2020-01-03"], "line 3, column Date: 'yesterday'"),
    (["2020-01-01", "", "2020-01-03"], "line 3, column Date: empty"),
    (["soon", "later", "never"], "line 2, column Date: 'soon' is not a date"),
    (["Fri, 28 Feb 2020", "Fri, 29 Feb 2020", "Sun, 01 Mar 2020"], "line 3, column Date"),
    (["2020-01-01 25:00", "2020-01-02 10:00", "2020-01-03 10:00"], "line 2, column Date"),
])
def test_a_date_column_with_a_bad_cell_names_it(cells, needle):
    with pytest.raises(CharrnnError) as e:
        load(rows(["Date", "v"], cells))
    assert needle in str(e.value)


def test_unnamed_date_like_column_still_checked():
    with pytest.raises(CharrnnError, match=r"line 4, column when: '2020-13-01'"):
        load(rows(["when", "v"], ["2020-01-01", "2020-01-02", "2020-13-01", "2020-01-04"]))


def test_day_month_order_resolved_by_the_data_or_refused():
    with pytest.raises(CharrnnError, match="column Date is ambiguous"):
        load(rows(["Date", "v"], ["01/02/2020", "03/02/2020", "05/02/2020"]))
    with pytest.raises(CharrnnError, match=r"line 3, column Date: '01/13/2020' reads as MM/DD"):
        load(rows(["Date", "v"], ["13/01/2020", "01/13/2020"]))
    s = load(rows(["Date", "v"], ["01/01/2020", "02/02/2020"]))  # same either way: fine
    assert s.dates == ["01/01/2020", "02/02/2020"]


def test_integer_columns_need_a_date_name():
    s = load("id,v\n20200102,1\n20200101,2\n")
    assert s.features == ["id", "v"] and s.dates is None  # no date name: just a feature
    s = load("year,v\n2002,3\n2000,1\n2001,2\n")
    assert s.target_values.tolist() == [1, 2, 3]
    assert load("month,v\n1,5\n2,6\n1,7\n").features == ["month", "v"]
    assert load("load,response_time,v\n5,54,1\n6,47,2\n").dates is None


def test_parse_date_reads_single_cells():
    assert _parse_date("2020-01-31") == datetime(2020, 1, 31)
    assert _parse_date("2020-01-31T10:00:00+01:00") == datetime(2020, 1, 31, 9)
    assert _parse_date("Jan 31, 2020") == datetime(2020, 1, 31)
    assert _parse_date("31/01/2020") == datetime(2020, 1, 31)
    assert _parse_date("2020-02-30") is None and _parse_date("x") is None
    assert _parse_date("1949-01") is not None and _parse_date("12") is None


# ---------------------------------------------------------------------- summary rows
@pytest.mark.parametrize("word", ["Total", "TOTAL", "Sum", "Average", "mean", "Grand Total",
                                  "Total:"])
def test_trailing_summary_row_is_dropped_with_a_note(word):
    s = load(f"Date,v\n2020-01-02,2\n2020-01-01,1\n{word},3\n")
    assert s.target_values.tolist() == [1, 2] and len(s) == 2
    assert any(f"line 4: dropped the summary row {word!r}" in n for n in s.notes)


def test_summary_rows_in_the_first_column_and_several():
    s = load("region,v\nN,1\nS,2\nTotal,3\nAverage,1.5\n")
    assert s.target_values.tolist() == [1, 2]
    s = load("year,v\n2000,1\n2001,2\nTotal,3\n")  # a year column: still dated
    assert s.dates == ["2000", "2001"]


def test_a_summary_word_mid_file_is_not_a_date():
    with pytest.raises(CharrnnError, match=r"line 3, column Date: 'Total'"):
        load("Date,v\n2020-01-01,1\nTotal,3\n2020-01-02,2\n")


# ---------------------------------------------------------------------- numbers
@pytest.mark.parametrize("cell, value", [
    ('"1,101.50"', 1101.5), ('"1,234,567"', 1234567), ("$12.50", 12.5), ("-$3", -3),
    ("$-3", -3), ("€7", 7), ("£1.5", 1.5), ("12.5%", 12.5), ("(12.50)", -12.5),
    ('"$1,000"', 1000), ("1e3", 1000), ("12 €", 12),
])
def test_formatted_numbers(cell, value):
    s = load(f"date,close,v\n2020-01-01,{cell},1\n2020-01-02,1,2\n", target="close")
    assert s.target_values.tolist() == [value, 1]


def test_thousands_separators_keep_the_target_column():
    s = load('date,close,volume\n2020-01-01,"1,101.50",5\n2020-01-02,"1,102.50",6\n',
             target=None)
    assert s.features == ["close", "volume"]
    s = load('date,volume,close\n2020-01-01,5,"1,101.50"\n2020-01-02,6,"1,102.50"\n')
    assert s.target == "close" and s.target_values.tolist() == [1101.5, 1102.5]


def test_decimal_commas_where_the_file_says_so():
    s = load("date;close\n2020-01-01;12,5\n2020-01-02;1.101,50\n")
    assert s.target_values.tolist() == [12.5, 1101.5]
    s = load("date\tclose\n2020-01-01\t12,5\n2020-01-02\t13\n")
    assert s.target_values.tolist() == [12.5, 13]
    s = load("date;close\n2020-01-01;1.234\n2020-01-02;2.5\n")  # no comma: points are decimal
    assert s.target_values.tolist() == [1.234, 2.5]


@pytest.mark.parametrize("text, needle", [
    ("date;close\n2020-01-01;1,234\n2020-01-02;2,345\n", "line 2, column close: '1,234' is ambiguous"),
    ("date;close\n2020-01-01;1.101,50\n2020-01-02;1,101.50\n", "mixes decimal marks"),
    ('date,close\n2020-01-01,"12,5"\n2020-01-02,13\n2020-01-03,14\n', "line 2, column close: '12,5'"),
    ('date,close\n2020-01-01,"1,10.5"\n2020-01-02,13\n2020-01-03,14\n', "line 2, column close: '1,10.5'"),
    ("date,close\n2020-01-01,$$5\n2020-01-02,13\n2020-01-03,14\n", "line 2, column close: '$$5'"),
    ("date,close,v\n2020-01-01,1\u00a0x,1\n2020-01-02,2,2\n2020-01-03,3,3\n", "line 2, column close"),
])
def test_numbers_that_do_not_read_name_the_cell(text, needle):
    with pytest.raises(CharrnnError) as e:
        load(text)
    assert needle in str(e.value)


def test_a_mostly_numeric_last_column_is_never_silently_replaced():
    text = "date,volume,close\n2020-01-01,5,1\n2020-01-02,6,oops\n2020-01-03,7,3\n"
    with pytest.raises(CharrnnError, match=r"line 3, column close: 'oops' is not a number"):
        load(text)
    text = "date,volume,close\n2020-01-01,5,1\n2020-01-02,6,oops\n2020-01-03,7,see notes\n"
    s = load(text)  # mostly not numbers: ignored, and the note names a cell
    assert s.target == "volume" and any("line 3: 'oops'" in n for n in s.notes)


# ---------------------------------------------------------------------- shapes
def test_pandas_index_column_is_ignored_with_a_note():
    s = load(",date,v\n0,2020-01-02,2\n1,2020-01-01,1\n")
    assert s.features == ["v"] and s.target_values.tolist() == [1, 2]
    assert any("row index" in n for n in s.notes)
    s = load("Unnamed: 0,a,b\n0,1,2\n1,3,4\n")
    assert s.features == ["a", "b"]


def test_excel_empty_trailing_columns_are_ignored():
    s = load("date,v,,\n2020-01-01,1,,\n2020-01-02,2,,\n,,,\n")
    assert s.features == ["v"] and any("empty unnamed" in n for n in s.notes)


def test_delimiter_from_several_lines():
    s = load("date\tprice, usd\tvolume\n2020-01-01\t1.5\t3\n2020-01-02\t2.5\t4\n")
    assert s.features == ["price, usd", "volume"]
    s = load("date|v\n2020-01-01|1\n2020-01-02|2\n")
    assert s.target_values.tolist() == [1, 2]
    s = load("date;v;w\n2020-01-01;1,5;2\n2020-01-02;2,5;3\n", target="v")
    assert s.target_values.tolist() == [1.5, 2.5]


def test_a_bom_and_crlf_are_fine():
    s = load("\ufeffDate,v\r\n2020-01-02,2\r\n2020-01-01,1\r\n")
    assert s.date_column == "Date" and s.target_values.tolist() == [1, 2]


# ---------------------------------------------------------------------- column matching
def test_one_matching_rule_and_trained_names():
    text = "DATE,Close,Volume\n2020-01-01,1,5\n2020-01-02,2,6\n"
    s = load(text, target=" close ", features=["volume", "close"])
    assert s.target == "Close" and s.features == ["Volume", "Close"]
    s = load(text, target="close", features=["volume", "close"], trained=True)
    assert s.target == "close" and s.features == ["volume", "close"]  # the model's names
    assert s.values.tolist() == [[5, 1], [6, 2]]
    s = load("close,Close\n1,2\n3,4\n", target="Close")
    assert s.target_values.tolist() == [2, 4]  # exact first
    with pytest.raises(CharrnnError, match="CLOSE: matches close, Close"):
        load("close,Close\n1,2\n3,4\n", target="CLOSE")
    with pytest.raises(CharrnnError, match="the model's feature open: no such column"):
        load(text, target="close", features=["open"], trained=True)


# ---------------------------------------------------------------------- forecast dates
@pytest.mark.parametrize("dates, expected", [
    (["2020-01-31", "2020-02-29"], ["2020-03-31", "2020-04-30", "2020-05-31"]),
    (["2019-11-30", "2019-12-31", "2020-01-31"], ["2020-02-29", "2020-03-31", "2020-04-30"]),
    (["2020-01-15", "2020-02-15"], ["2020-03-15", "2020-04-15", "2020-05-15"]),
    (["2019-12-31", "2020-03-31", "2020-06-30"], ["2020-09-30", "2020-12-31", "2021-03-31"]),
    (["2018-12-31", "2019-12-31"], ["2020-12-31", "2021-12-31", "2022-12-31"]),
    (["2016-02-29", "2017-02-28"], ["2018-02-28", "2019-02-28", "2020-02-29"]),
    (["2020-01-30", "2020-01-31"], ["2020-02-01", "2020-02-02", "2020-02-03"]),
    (["2020-01-01", "2020-01-08"], ["2020-01-15", "2020-01-22", "2020-01-29"]),
    (["20200130", "20200131"], ["20200201", "20200202", "20200203"]),
    (["20200131", "20200229"], ["20200331", "20200430", "20200531"]),
    (["01/31/2020", "02/29/2020"], ["03/31/2020", "04/30/2020", "05/31/2020"]),
    (["30/01/2020", "31/01/2020"], ["01/02/2020", "02/02/2020", "03/02/2020"]),
    (["Jan 31, 2020", "Feb 29, 2020"], ["Mar 31, 2020", "Apr 30, 2020", "May 31, 2020"]),
    (["2020-Q3", "2020-Q4"], ["2021-Q1", "2021-Q2", "2021-Q3"]),
    (["1949-11", "1949-12"], ["1950-01", "1950-02", "1950-03"]),
    (["2020-01-01T22:00:00Z", "2020-01-01T23:00:00Z"],
     ["2020-01-02T00:00:00Z", "2020-01-02T01:00:00Z", "2020-01-02T02:00:00Z"]),
    (["2020-01-01T10:00:00+01:00", "2020-01-01T10:00:00Z"],
     ["2020-01-01T11:00:00Z", "2020-01-01T12:00:00Z", "2020-01-01T13:00:00Z"]),
    (["2020-01-01 10:00:00+05:30", "2020-01-01 11:00:00+05:30"],
     ["2020-01-01 12:00:00+05:30", "2020-01-01 13:00:00+05:30", "2020-01-01 14:00:00+05:30"]),
    (["2020-01-02", "2020-01-03", "2020-01-06", "2020-01-07", "2020-01-08", "2020-01-09",
      "2020-01-10"], ["2020-01-13", "2020-01-14", "2020-01-15"]),  # weekdays stay weekdays
    (["2000", "2001"], ["2002", "2003", "2004"]),
    (["1577836800", "1577923200"], ["1578009600", "1578096000", "1578182400"]),
])
def test_next_dates_follow_the_calendar_and_the_format(dates, expected):
    assert next_dates(dates, 3) == expected


# ---------------------------------------------------------------------- property test
def _fmt(kind: str, t: datetime) -> str:
    """The instant t (UTC) written in a supported format."""
    if kind == "iso":
        return t.strftime("%Y-%m-%d")
    if kind == "iso_time":
        return t.strftime("%Y-%m-%dT%H:%M:%S")
    if kind == "slash_ymd":
        return t.strftime("%Y/%m/%d")
    if kind == "us":
        return f"{t.month}/{t.day}/{t.year}"
    if kind == "eu":
        return t.strftime("%d/%m/%Y")
    if kind == "mon_dd":
        return t.strftime("%b ") + f"{t.day}, {t.year}"
    if kind == "month_dd":
        return t.strftime("%B %d, %Y")
    if kind == "dd_mon":
        return t.strftime("%d %b %Y")
    if kind == "compact":
        return t.strftime("%Y%m%d")
    if kind == "unix":
        return str(int(t.replace(tzinfo=timezone.utc).timestamp()))
    if kind == "period":
        return t.strftime("%Y-%m")
    raise AssertionError(kind)


DAILY = ["iso", "iso_time", "slash_ymd", "us", "eu", "mon_dd", "month_dd", "dd_mon", "compact"]


@settings(max_examples=150, deadline=None)
@given(data=st.data())
def test_random_formats_and_orders_come_out_chronological_or_name_a_cell(data):
    kind = data.draw(st.sampled_from(DAILY + ["unix", "period", "tz"]))
    n = data.draw(st.integers(3, 20))
    start = datetime(1990, 1, 1) + timedelta(days=data.draw(st.integers(0, 15000)))
    steps = data.draw(st.lists(st.integers(1, 3), min_size=n - 1, max_size=n - 1))  # gaps
    if kind == "period":
        start = start.replace(day=1)
        index = [start.year * 12 + start.month - 1]
        for k in steps:
            index.append(index[-1] + k)
        times = [datetime(i // 12, i % 12 + 1, 1) for i in index]
    else:
        unit = timedelta(hours=1) if kind in ("iso_time", "tz", "unix") else timedelta(days=1)
        times = [start]
        for k in steps:
            times.append(times[-1] + k * unit)
    if kind == "tz":
        offsets = data.draw(st.lists(st.sampled_from([0, 60, -300, 330]), min_size=n, max_size=n))
        cells = []
        for t, minutes in zip(times, offsets):
            local = t + timedelta(minutes=minutes)
            sign = "+" if minutes >= 0 else "-"
            tz = "Z" if minutes == 0 else f"{sign}{abs(minutes) // 60:02d}:{abs(minutes) % 60:02d}"
            cells.append(local.strftime("%Y-%m-%dT%H:%M:%S") + tz)
    else:
        cells = [_fmt(kind, t) for t in times]
    values = [10.0 + i for i in range(n)]  # chronological rank
    order = data.draw(st.sampled_from(["oldest", "newest", "shuffled"]))
    index = list(range(n))
    if order == "newest":
        index.reverse()
    elif order == "shuffled":
        index = data.draw(st.permutations(index))
    delimiter = data.draw(st.sampled_from([",", ";", "\t"]))
    out = io.StringIO()
    w = csv.writer(out, delimiter=delimiter, lineterminator="\n")
    w.writerow(["Date", "value"])
    for i in index:
        w.writerow([cells[i], values[i]])
    summary = data.draw(st.sampled_from([None, "Total", "Sum", "Average", "grand total"]))
    if summary:
        w.writerow([summary, sum(values)])
    try:
        s = load(out.getvalue())
    except CharrnnError as e:
        message = str(e)
        assert re.search(r"line \d+, column Date: '", message) or (
            kind in ("us", "eu") and "column Date is ambiguous" in message), message
        if "ambiguous" in message:  # only when no day above 12 decides
            assert all(t.day <= 12 for t in times)
        return
    assert s.target_values.tolist() == values  # true chronological order, no summary row
    assert s.dates == cells
    assert bool(summary) == any("summary row" in note for note in s.notes)
