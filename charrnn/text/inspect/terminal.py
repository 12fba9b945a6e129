"""The view on a terminal: the text coloured by surprise or by one unit, or a row per character
with the model's guesses (--top), and the --find table. rich is imported only when drawing."""
from __future__ import annotations

import math

import numpy as np

from charrnn.text.inspect.inspection import Inspection
from charrnn.text.inspect.view_parts import (UNKNOWN_BG, UNKNOWN_FG, char_label, char_rgb,
                                             find_rows, foreground_for, loss_rgb, summary_lines,
                                             unit_rgb, unit_scale)


def render_terminal(ins: Inspection, console, color: bool) -> None:
    """The view on a rich console; without colour, the plain text and the numbers."""
    from rich.table import Table

    if ins.find is not None:
        table = Table(title=None if ins.find_feature is None else
                      f"strongest units for {ins.find_feature}", box=None, pad_edge=False)
        for name in ("feature", "unit", "r", "meaning"):
            table.add_column(name, justify="right" if name == "r" else "left")
        for row in find_rows(ins):
            table.add_row(*row)
        console.print(table)
        if ins.unit is None:
            console.print(summary_lines(ins)[0], soft_wrap=True, highlight=False)
            return
        console.print()
    if ins.top_k:
        _render_top(ins, console)
    elif color:
        console.print(_styled_text(ins), soft_wrap=True)
        console.print(_legend(ins), soft_wrap=True)
    else:
        console.file.write(ins.text)
        if not ins.text.endswith("\n"):
            console.file.write("\n")
        console.file.flush()
    for line in summary_lines(ins):
        console.print(line, soft_wrap=True, highlight=False, markup=False)


def _style(rgb):
    from rich.color import Color
    from rich.style import Style

    if rgb is None:
        return Style()
    return Style(color=Color.from_rgb(*foreground_for(rgb)), bgcolor=Color.from_rgb(*rgb))


def _styled_text(ins: Inspection):
    from rich.style import Style
    from rich.text import Text

    scale = unit_scale(ins)
    out = Text()
    for i, ch in enumerate(ins.text):
        style = _style(char_rgb(ins, i, scale))
        if not ins.known[i]:
            style += Style(color=_rich_rgb(UNKNOWN_FG), underline=True)
        if ch == "\n":
            out.append("↵", style)
            out.append("\n")
        else:
            out.append(ch, style)
    return out


def _rich_rgb(rgb):
    from rich.color import Color

    return Color.from_rgb(*rgb)


def _legend(ins: Inspection):
    from rich.style import Style
    from rich.text import Text

    legend = Text()
    if ins.unit is not None:
        scale = unit_scale(ins)
        legend.append(f"legend: unit {ins.unit} ")
        for t in (-1, -0.5, -0.25, 0, 0.25, 0.5, 1):
            rgb = unit_rgb(t * scale, scale)
            legend.append(f" {t * scale:+.2f} ", _style(rgb))
    else:
        legend.append("legend: loss in nats ")
        for v in (0, 1, 2, 3, 4, 5):
            legend.append(f" {v}{'+' if v == 5 else ''} ", _style(loss_rgb(v)))
        legend.append("  first character: no prediction")
    legend.append("  ")
    legend.append(" x ", _style(UNKNOWN_BG) + Style(color=_rich_rgb(UNKNOWN_FG), underline=True))
    legend.append(" outside the vocabulary, skipped")
    return legend


def _render_top(ins: Inspection, console) -> None:
    from rich.table import Table
    from rich.text import Text

    scale = unit_scale(ins)
    table = Table(box=None, pad_edge=False)
    table.add_column("pos", justify="right")
    table.add_column("char")
    table.add_column("loss", justify="right")
    if ins.unit is not None:
        table.add_column(f"{ins.unit}", justify="right")
    table.add_column(f"top {ins.top_k} guesses for it (the one that came marked *)")
    for i, ch in enumerate(ins.text):
        char = Text(char_label(ch), _style(char_rgb(ins, i, scale)))
        row = [str(ins.start + i), char]
        if not ins.known[i]:
            row.append("unknown")
        elif np.isnan(ins.loss[i]):
            row.append("-")
        else:
            row.append(f"{ins.loss[i]:.3f}")
        if ins.unit is not None:
            row.append("-" if np.isnan(ins.unit_values[i]) else f"{ins.unit_values[i]:+.3f}")
        guesses = ins.guesses(i)
        cell = Text()
        for g, p in guesses or []:
            came = g == ch
            cell.append(f"{'*' if came else ' '}{char_label(g)} {p:.3f}  ",
                        "bold green" if came else "")
        if guesses is not None and ch not in [g for g, _ in guesses]:
            cell.append(f"(came {char_label(ch)}: p {math.exp(-ins.loss[i]):.4f})", "red")
        row.append(cell)
        table.add_row(*row)
    console.print(table)
