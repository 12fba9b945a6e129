"""How a model card reads as text: facts, the history table and its sparklines, in plain
lines (not a terminal) or rich tables (a terminal). `charrnn.info` computes the card."""
from __future__ import annotations

import math

LN2 = math.log(2)
SHOWN_ROWS = 30  # history rows in the text views; --json carries them all
HEAD_ROWS, TAIL_ROWS = 5, 20
CURVE_POINTS = 60  # sparkline width

def visible_chars(chars: str) -> str:
    """A vocabulary on one line: newline, tab and carriage return as symbols, space as ␣,
    other invisible characters as escapes."""
    from charrnn.text.render import visible

    shown = []
    for ch in chars:
        if ch in "\n\t\r":
            shown.append(visible(ch))
        elif ch == " ":
            shown.append("␣")
        elif not ch.isprintable():
            shown.append(ch.encode("unicode_escape").decode("ascii"))
        else:
            shown.append(ch)
    return "".join(shown)


def loss_text(kind: str, loss: float | None) -> str:
    if loss is None:
        return "-"
    return f"{loss:.4f} ({loss / LN2:.3f} bpc)" if kind == "text" else f"{loss:.6g}"


def epoch_text(value: float) -> str:
    return f"{value:.0f}" if float(value).is_integer() else f"{value:.2f}"


def _config_text(cfg: dict) -> str:
    return " ".join(f"{k}={_value_text(v)}" for k, v in cfg.items())


def _value_text(value) -> str:
    if isinstance(value, float):
        return f"{value:g}"
    if isinstance(value, list):
        return ",".join(map(str, value)) or "[]"
    return str(value)


def facts(c: dict) -> list[tuple[str, str]]:
    """The card's facts as (label, text) rows, for the plain and the rich view alike."""
    kind = c["kind"]
    rows = [("checkpoint", c["path"]),
            ("kind", f"{kind} model" + (f" of {c['name']}" if c.get("name") else "")),
            ("model", _config_text(c["config"]["model"])),
            ("train", _config_text(c["config"]["train"])),
            ("task", _config_text(c["config"]["task"]))]
    if kind == "text":
        rows.append(("vocabulary", f"{c['vocab_size']} characters: {visible_chars(c['vocab'])}"))
    else:
        cols = c.get("columns") or {}
        rows.append(("columns", f"target {cols.get('target')}; features "
                                f"{', '.join(cols.get('features') or [])}"
                                + (f"; dates {cols['date']}" if cols.get("date") else "")))
    rows.append(("parameters", f"{c['parameters']:,}"))
    progress = f"{c['steps']:,} steps, {epoch_text(round(c['epochs'], 2))} epochs"
    if c["mid_epoch"]:
        progress += " (written mid-epoch)"
    rows.append(("trained", progress))
    seen = c["seen"]
    rows.append((f"{seen['unit']} seen", "not known" if seen["count"] is None else
                 f"{'about ' if seen['approximate'] else ''}{seen['count']:,} ({seen['how']})"))
    wall = c["wall_time_s"]
    rows.append(("wall time", "not recorded" if wall is None else _duration(wall)))
    rows.append(("precision", c["precision"] or "not recorded"))
    rows.append(("device", c["device"] or "not recorded"))
    best = c["best"]
    if best is None:
        rows.append(("best", no_history_reason(c)))
    elif best["step"] is None and best["epoch"] == 0:
        rows.append(("best", f"the untrained model, {best['on']} loss "
                             f"{loss_text(kind, best['loss'])}"))
    else:
        rows.append(("best", f"epoch {epoch_text(best['epochs_done'])}, {best['on']} loss "
                             f"{loss_text(kind, best['loss'])}"))
    rows.append(("lineage", lineage_text(c["init_from"])))
    return [(label, _printable(text)) for label, text in rows]


def _printable(text: str) -> str:
    """Names from a checkpoint's metadata (a corpus path, a column) as they read, escaped where
    not printable: an escape sequence or a newline in one reached the terminal as such."""
    return "".join(ch if ch.isprintable() else repr(ch)[1:-1] for ch in text)


def no_history_reason(c: dict) -> str:
    task = c["config"]["task"]
    if task.get("retrain") and not c["steps"]:  # series.retrain.train_beside
        linear = " and linear model" if task.get("linear") not in (None, "", "none") else ""
        return (f"none: validation kept no epoch of the network, so none was trained again (it "
                f"forecasts with its baseline{linear})")
    return "none yet (written before any epoch ended)"


def lineage_text(entry: dict | None) -> str:
    if not entry:
        return "trained from scratch"
    parts = []
    while isinstance(entry, dict):
        corpus = f" (corpus {entry['corpus']}" if entry.get("corpus") else " ("
        at = f", step {entry['step']:,})" if isinstance(entry.get("step"), int) else ")"
        parts.append(f"{entry.get('path')}{corpus}{at}".replace(" ()", ""))
        entry = entry.get("init_from")
    return "fine-tuned from " + ", itself fine-tuned from ".join(parts)


def _duration(seconds: float) -> str:
    if seconds < 60:
        return f"{seconds:.1f} s"
    minutes, secs = divmod(int(round(seconds)), 60)
    hours, minutes = divmod(minutes, 60)
    return f"{hours} h {minutes:02d} min" if hours else f"{minutes} min {secs:02d} s"


def shown_rows(history: list[dict]) -> list[dict | None]:
    """At most about SHOWN_ROWS entries: the first, the last and the best; None marks a gap."""
    if len(history) <= SHOWN_ROWS:
        return list(history)
    keep = set(range(HEAD_ROWS)) | set(range(len(history) - TAIL_ROWS, len(history)))
    keep |= {i for i, h in enumerate(history) if h.get("best")}
    rows, last = [], -1
    for i in sorted(keep):
        if i != last + 1:
            rows.append(None)
        rows.append(history[i])
        last = i
    return rows


def sparklines(history: list[dict]) -> tuple[str, str]:
    """Train and validation losses per entry, on one shared scale, at most CURVE_POINTS wide."""
    from charrnn.series.render import sparkline

    if len(history) > CURVE_POINTS:  # evenly spaced entries, the last always among them
        n = len(history)
        history = [history[round(i * (n - 1) / (CURVE_POINTS - 1))] for i in range(CURVE_POINTS)]
    train = [h["train_loss"] for h in history]
    val = [h["val_loss"] for h in history]
    values = [v for v in train + val if v is not None]
    if not values:
        return "", ""
    low, high = min(values), max(values)
    return sparkline(train, low, high), sparkline(val, low, high)


def _row_cells(kind: str, h: dict) -> list[str]:
    mark = (" *" if h.get("best") else "") + ("" if h["complete"] else " (part)")
    return [epoch_text(h["epochs_done"]), f"{h['step']:,}", loss_text(kind, h["train_loss"]),
            loss_text(kind, h["val_loss"]), mark.strip()]


HEADERS = ["epoch", "step", "train", "val", ""]


def plain_lines(c: dict) -> list[str]:
    """The card as plain text (stdout is not a terminal): aligned, no colour, no box."""
    rows = facts(c)
    width = max(len(label) for label, _ in rows)
    lines = [f"{label:<{width}}  {text}" for label, text in rows]
    history = c["history"]
    lines.append("")
    if not history:
        lines.append(f"history: {no_history_reason(c)}")
        return lines
    lines.append(f"history ({len(history)} entries; * best)")
    table = [HEADERS] + [["..."] + [""] * 4 if h is None else _row_cells(c["kind"], h)
                         for h in shown_rows(history)]
    widths = [max(len(r[i]) for r in table) for i in range(len(HEADERS))]
    for r in table:
        lines.append("  ".join(cell.ljust(w) if i in (0, 4) else cell.rjust(w)
                               for i, (cell, w) in enumerate(zip(r, widths))).rstrip())
    train, val = sparklines(history)
    lines.append(f"train  {train}")
    if val:
        lines.append(f"val    {val}")
    return lines


def print_rich(c: dict, console) -> None:
    """The card for a terminal: a facts table, the history table and the sparklines."""
    from rich.table import Table
    from rich.text import Text

    facts_table = Table(show_header=False, box=None, padding=(0, 2, 0, 0))
    facts_table.add_column(style="bold")
    facts_table.add_column(overflow="fold")
    for label, text in facts(c):
        facts_table.add_row(label, Text(text))
    console.print(facts_table)
    history = c["history"]
    if not history:
        console.print(f"history: {no_history_reason(c)}")
        return
    table = Table(title=f"history ({len(history)} entries; * best)", title_justify="left")
    for i, name in enumerate(HEADERS):
        table.add_column(name, justify="left" if i in (0, 4) else "right")
    for h in shown_rows(history):
        if h is None:
            table.add_row("…", "", "", "", "")
        else:
            table.add_row(*_row_cells(c["kind"], h), style="bold" if h.get("best") else None)
    console.print(table)
    train, val = sparklines(history)
    console.print(Text(f"train  {train}"))
    if val:
        console.print(Text(f"val    {val}"))
