"""The dates of the forecast rows, written in the data's own format.

Kept apart from reading dates because stepping forward is a different problem: it follows the
calendar the data follows (whole months, month ends, weekdays only) rather than adding a fixed
gap, and writes each new date the way the column writes its own (separator, padding, month
and weekday names, time and offset), so the forecast reads like the data it continues.
"""
from __future__ import annotations

import calendar
from collections import Counter
from datetime import datetime, timedelta

import numpy as np

from charrnn.errors import CharrnnError
from charrnn.series.dates import _MONTH_NAMES, _date_family, _read_dates


def next_dates(dates: list[str], steps: int) -> list[str]:
    """Dates of the `steps` rows after the data, in the data's own format: calendar months for
    monthly, quarterly and yearly data (month ends stay month ends), else the commonest recent
    gap (weekdays only when the data skips weekends); the last row's offset is kept."""
    family = _date_family("date", dates)
    if family in (None, "bad", "int", "unix"):
        try:
            values = [float(d) for d in dates[-31:]]
        except ValueError:
            raise CharrnnError(f"dates not understood ({dates[-1]!r})") from None
        gaps = [g for g in np.diff(values).tolist() if g > 0]
        step = Counter(gaps).most_common(1)[0][0] if gaps else 1
        nxt = [values[-1] + step * k for k in range(1, steps + 1)]
        return [f"{v:g}" if v != int(v) else str(int(v)) for v in nxt]
    parsed = _read_dates("forecast", "date", family, dates, list(range(1, len(dates) + 1)))
    try:
        return _calendar_steps(family, parsed, steps)
    except (ValueError, OverflowError):
        raise CharrnnError(f"the {steps} dates after {dates[-1]!r} run past the calendar "
                           f"(year 9999)") from None


def _calendar_steps(family: str, parsed: list, steps: int) -> list[str]:
    last = parsed[-1]
    recent = parsed[-31:]
    if family in ("ym", "quarter", "named_ym"):
        gaps = [g for g in np.diff([d.wall for d in recent]).tolist() if g > 0]
        step = Counter(gaps).most_common(1)[0][0] if gaps else last.style.get("step", 1)
        return [_render_month(family, last.style, last.wall + step * k)
                for k in range(1, steps + 1)]
    walls = [d.wall for d in recent]  # each on its own clock: the calendar the data follows
    months = _month_step(walls)
    if months:
        ends = all(_month_end(w) for w in walls)
        anchor = max((w.day for w in walls if not _month_end(w)), default=31)
        out = []
        for k in range(1, steps + 1):
            index = last.wall.year * 12 + last.wall.month - 1 + months * k
            y, m = divmod(index, 12)
            days = calendar.monthrange(y, m + 1)[1]
            out.append(last.wall.replace(year=y, month=m + 1,
                                         day=days if ends else min(anchor, days)))
    else:
        shift = last.wall - last.key  # the last row's offset: one timeline, shown on its clock
        walls = [d.key + shift for d in recent]
        gaps = [b - a for a, b in zip(walls, walls[1:]) if b > a]
        step = Counter(gaps).most_common(1)[0][0] if gaps else timedelta(days=1)
        weekdays = (step == timedelta(days=1) and len(walls) >= 5
                    and all(w.weekday() < 5 for w in walls) and timedelta(days=3) in gaps)
        out, wall = [], last.wall
        while len(out) < steps:
            wall = wall + step
            if not weekdays or wall.weekday() < 5:
                out.append(wall)
    return [_render(family, last.style, w) for w in out]


def _month_end(d: datetime) -> bool:
    return d.day == calendar.monthrange(d.year, d.month)[1]


def _month_step(walls: list[datetime]) -> int | None:
    """Whole calendar months between every pair of distinct recent dates (the commonest), or
    None when the dates are not a monthly grid."""
    steps = []
    for a, b in zip(walls, walls[1:]):
        if a == b:
            continue
        k = (b.year - a.year) * 12 + b.month - a.month
        same_day = a.day == b.day or (_month_end(a) and _month_end(b)) or (
            _month_end(b) and b.day < a.day) or (_month_end(a) and a.day < b.day)
        if k < 1 or a.time() != b.time() or not same_day:
            return None
        steps.append(k)
    return Counter(steps).most_common(1)[0][0] if steps else None


def _month_name(month: int, style: tuple) -> str:
    short, case = style
    word = _MONTH_NAMES[month - 1][:3] if short else _MONTH_NAMES[month - 1]
    return word.upper() if case == "upper" else word if case == "lower" else word.title()


def _render_month(family: str, style: dict, index: int) -> str:
    y, m = divmod(index, 12)
    if not 1 <= y <= 9999:
        raise ValueError(y)
    if family == "quarter":
        return f"{y:04d}{style['sep']}{style['q']}{m // 3 + 1}"
    if family == "named_ym":
        return f"{_month_name(m + 1, style['mon'])}{style['sep']}{y:04d}"
    return f"{y:04d}-{m + 1:02d}"


def _render(family: str, style: dict, wall: datetime) -> str:
    if family == "compact":
        return wall.strftime("%Y%m%d")
    if family == "ymd":
        sep = style["sep"]
        text = f"{wall.year:04d}{sep}{wall.month:02d}{sep}{wall.day:02d}"
    elif family == "dm":
        a, b = (wall.month, wall.day) if style["order"] == "mdy" else (wall.day, wall.month)
        width = 2 if style["pad"] else 1
        text = f"{a:0{width}d}{style['sep']}{b:0{width}d}{style['sep']}{wall.year:04d}"
    else:  # named
        day = f"{wall.day:02d}" if style["pad"] else str(wall.day)
        mon = _month_name(wall.month, style["mon"]) + style["dot"]
        if style["order"] == "md":
            text = f"{mon} {day}{style['comma']} {wall.year}"
        else:
            text = f"{day}{style['sep']}{mon}{style['comma']}{style['sep']}{wall.year}"
        if style["wd"] is not None:
            short, case = style["wd"]
            word = calendar.day_name[wall.weekday()]
            word = word[:3] if short else word
            word = word.upper() if case == "upper" else word.lower() if case == "lower" else word
            text = f"{word}, {text}"
    if "tsep" in style:
        if style["ampm"]:
            hour = wall.hour % 12 or 12
            ampm = ("PM" if wall.hour >= 12 else "AM")
            ampm = ampm if style["ampm"].isupper() else ampm.lower()
            seconds = f":{wall.second:02d}" if style["seconds"] else ""
            clock = f"{hour}:{wall.minute:02d}{seconds}"
            clock += f" {ampm}"
        else:
            clock = f"{wall.hour:02d}:{wall.minute:02d}"
            if style["seconds"]:
                clock += f":{wall.second:02d}" + (f".{wall.microsecond:06d}" if wall.microsecond
                                                   else "")
        text += f"{style['tsep']}{clock}{style['tz']}"
    return text
