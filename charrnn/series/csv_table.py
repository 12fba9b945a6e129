"""The CSV taken apart into column names and rows of cells, before any column is converted.

Files come from spreadsheets, pandas and hand edits, and their quirks (delimiter, header or
`#` names, a saved row index, Excel's empty columns, a Total row) are settled here, once, so
the rest of the package sees a clean rectangle that keeps the file line of every row for its
error messages. What cannot be settled raises CharrnnError; what was ignored becomes a note.

  shapes    a header row or names in a `#` comment; the delimiter (`,` tab `;` `|`) that splits
            the first lines consistently; a pandas row index and Excel's empty trailing columns
            are ignored with a note; trailing Total/Sum/Average rows are dropped with a note.
"""
from __future__ import annotations

import csv
import re
from collections import Counter
from dataclasses import dataclass, field

from charrnn.errors import CharrnnError
from charrnn.series.dates import _date_family, _date_named, _parse_date
from charrnn.series.numeric import _number_like

_SUMMARY = {"total", "totals", "grand total", "sum", "subtotal", "average", "avg", "mean"}
_DELIMITERS = ",\t;|"
_SNIFF_LINES = 50


@dataclass
class Table:
    """Cells as read, with the file line of every data row (for error messages)."""

    name: str
    names: list[str]
    rows: list[list[str]]
    lines: list[int]
    notes: list[str] = field(default_factory=list)
    delimiter: str = ","

    def column(self, j: int) -> list[str]:
        return [row[j] for row in self.rows]


def read_table(source: str) -> Table:
    from charrnn.text.data import decode_utf8, read_bytes

    name = "stdin" if source == "-" else source
    return parse_table(decode_utf8(read_bytes(source, "data"), f"data {name}"), name)


def parse_table(text: str, name: str) -> Table:
    """A header row, or names from the last `#` comment line that has as many fields as the data."""
    comments, body, lines = [], [], []
    for number, line in enumerate(text.lstrip("\ufeff").splitlines(), 1):  # CRLF, no final newline
        stripped = line.strip()
        if not stripped:
            continue
        if stripped.startswith("#"):
            if not body:
                comments.append(stripped[1:])
            continue
        body.append(line)
        lines.append(number)
    if not body:
        raise CharrnnError(f"data {name}: no data rows")
    delimiter = _guess_delimiter(body)
    split, starts = _split_rows(body, delimiter, name)
    rows, lines = [[cell.strip() for cell in row] for row in split], [lines[i] for i in starts]
    kept = [(r, n) for r, n in zip(rows, lines) if any(r)]  # `,,,` rows: empty, like blank lines
    if not kept:
        raise CharrnnError(f"data {name}: no data rows")
    rows, lines = [r for r, _ in kept], [n for _, n in kept]
    first = rows[0]
    if not any(_number_like(c, delimiter) for c in first) and not all(map(_parse_date, first)):
        names, rows, lines = first, rows[1:], lines[1:]
    else:
        from_comment = [[c.strip() for c in row]
                        for row in _split_rows(comments, delimiter, name)[0]]
        names = next((c for c in reversed(from_comment) if len(c) == len(first) and all(c)),
                     [f"col{j + 1}" for j in range(len(first))])
    notes: list[str] = []
    names, rows = _drop_empty_columns(names, rows, notes)
    for row, line in zip(rows, lines):
        if len(row) != len(names):
            raise CharrnnError(f"data {name}: line {line} has {len(row)} fields, but the header "
                               f"names {len(names)}")
    if not rows:  # one line of words: a header alone, or a text file given for a CSV
        raise CharrnnError(f"data {name}: one line, read as the header, and no data rows "
                           f"(a series CSV has a header and a row of numbers per time step)")
    names, rows = _drop_row_index(names, rows, notes)
    names = [n or f"col{j + 1}" for j, n in enumerate(names)]
    duplicated = [n for n, k in Counter(names).items() if k > 1]
    if duplicated:
        raise CharrnnError(f"data {name}: column name {duplicated[0]!r} appears more than once")
    rows, lines = _drop_summary(names, rows, lines, notes)
    if not rows:
        raise CharrnnError(f"data {name}: no data rows")
    return Table(name, names, rows, lines, notes, delimiter)


def _split_rows(lines: list[str], delimiter: str, name: str) -> tuple[list[list[str]], list[int]]:
    """The rows, and the index in `lines` where each starts: a quoted cell may run over several
    lines (a quote left open takes the rest of the file), and the rows after it must keep
    their own line numbers."""
    reader = csv.reader((line + "\n" for line in lines), delimiter=delimiter)
    rows, starts, start = [], [], 0
    try:
        for row in reader:
            rows.append(row)
            starts.append(start)
            start = reader.line_num  # lines read so far: the next row starts there
    except csv.Error as e:
        raise CharrnnError(f"data {name}: not a readable CSV ({e})") from None
    return rows, starts


def _guess_delimiter(body: list[str]) -> str:
    """The delimiter that splits the first lines into the same number (> 1) of fields most often.

    Several lines, not the header alone: a tab file whose header holds a comma is a tab file.
    """
    sample = body[:_SNIFF_LINES]
    best, best_score = ",", (0.0, 0)
    for d in _DELIMITERS:
        try:
            counts = [len(r) for r in csv.reader(sample, delimiter=d)]
        except csv.Error:
            continue
        if not counts:
            continue
        width, hits = Counter(counts).most_common(1)[0]
        if width < 2:
            continue
        score = (hits / len(counts) + (counts[0] == width), width)
        if score[0] > best_score[0]:  # ties keep the earlier, commoner delimiter
            best, best_score = d, score
    return best


def _drop_empty_columns(names: list[str], rows: list[list[str]], notes: list) -> tuple:
    """Excel's `,,`: unnamed trailing columns with no values, and empty extra cells on rows."""
    width = len(names)
    while width and not names[width - 1] and all(len(r) < width or not r[width - 1] for r in rows):
        width -= 1
    if width < len(names):
        notes.append(f"note: ignoring {len(names) - width} empty unnamed column(s) at the end")
    names = names[:width]
    rows = [r[:width] if len(r) > width and not any(r[width:]) else r for r in rows]
    return names, rows


def _drop_row_index(names: list[str], rows: list[list[str]], notes: list) -> tuple:
    """A pandas `to_csv` row index: a first column with no name (or `Unnamed: 0`) holding
    distinct non-negative integers."""
    if len(names) < 2 or not rows or not re.fullmatch(r"(Unnamed: ?0)?", names[0]):
        return names, rows
    cells = [r[0] for r in rows]
    if all(re.fullmatch(r"\d+", c) for c in cells) and len(set(map(int, cells))) == len(cells):
        notes.append("note: ignoring the unnamed first column (a saved row index, "
                     f"{cells[0]}..{cells[-1]})")
        return names[1:], [r[1:] for r in rows]
    return names, rows


def _summary_word(cell: str) -> bool:
    return cell.strip().rstrip(":").strip().lower() in _SUMMARY


def _drop_summary(names: list[str], rows: list[list[str]], lines: list[int], notes: list):
    """Trailing Total/Sum/Average rows (in the first or a date column) are not observations."""
    date_cols = {j for j, n in enumerate(names)
                 if _date_named(n) or _date_family(n, [r[j] for r in rows[:-1]])}
    while len(rows) > 1:
        row = rows[-1]
        hit = next((row[j] for j in sorted({0} | date_cols) if _summary_word(row[j])), None)
        if hit is None:
            break
        notes.append(f"note: line {lines[-1]}: dropped the summary row {hit!r} (not data)")
        rows, lines = rows[:-1], lines[:-1]
    return rows, lines
