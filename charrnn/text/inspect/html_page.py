"""The view as one self-contained HTML page (`--html`): a page can be kept and shared, so it
carries everything inline (styles, numbers in hover titles) and fetches nothing."""
from __future__ import annotations

import html

import numpy as np

from charrnn.text.inspect.inspection import Inspection
from charrnn.text.inspect.view_parts import (UNKNOWN_BG, UNKNOWN_FG, char_label, char_rgb,
                                             find_rows, foreground_for, loss_rgb, summary_lines,
                                             unit_rgb, unit_scale)

HTML_TOP = 3  # guesses in the HTML page's hover titles when --top is not given


def render_html(ins: Inspection) -> str:
    """One self-contained page: inline styles only, no scripts, nothing fetched."""
    scale = unit_scale(ins)
    esc = html.escape
    spans = []
    for i, ch in enumerate(ins.text):
        title = [f"{ins.start + i}: {char_label(ch)}"]
        if not ins.known[i]:
            title.append("outside the vocabulary: skipped")
        else:
            title.append("loss -" if np.isnan(ins.loss[i]) else f"loss {ins.loss[i]:.3f} nats")
            if ins.unit is not None:
                title.append(f"unit {ins.unit} {ins.unit_values[i]:+.4f}")
            guesses = ins.guesses(i)
            if guesses:
                title.append("guesses: " + "  ".join(
                    f"{'*' if g == ch else ''}{char_label(g)} {p:.3f}" for g, p in guesses))
        rgb = char_rgb(ins, i, scale)
        style = "" if rgb is None else f"background:{_hex(rgb)};color:{_hex(foreground_for(rgb))}"
        if not ins.known[i]:
            style += f";text-decoration:underline wavy {_hex(UNKNOWN_FG)}"
        attr = f' style="{style}"' if style else ""
        spans.append(f'<span{attr} title="{esc(chr(10).join(title), quote=True)}">'
                     f'{_html_char(ch)}</span>')
    if ins.unit is not None:
        legend = [(f"{t * scale:+.2f}", unit_rgb(t * scale, scale))
                  for t in (-1, -0.5, -0.25, 0, 0.25, 0.5, 1)]
        what = f"unit {ins.unit}"
    else:
        legend = [(f"{v}{'+' if v == 5 else ''}", loss_rgb(v)) for v in range(6)]
        what = "loss in nats"
    swatches = "".join(f'<span style="background:{_hex(rgb)};color:{_hex(foreground_for(rgb))};'
                       f'padding:0 0.5em">{esc(label)}</span>' for label, rgb in legend)
    summary = "".join(f"<p style=\"margin:0.3em 0\">{esc(line)}</p>" for line in summary_lines(ins))
    find = ""
    if ins.find is not None:
        cells = "".join("<tr>" + "".join(f'<td style="padding:0 1em 0 0">{esc(c)}</td>'
                                         for c in row) + "</tr>" for row in find_rows(ins))
        find = ('<table style="border-collapse:collapse;margin:0.8em 0"><tr>'
                + "".join(f'<th style="text-align:left;padding:0 1em 0 0">{h}</th>'
                          for h in ("feature", "unit", "r", "meaning"))
                + f"</tr>{cells}</table>")
    return (
        "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
        f"<title>charrnn inspect: {esc(ins.source)}</title></head>\n"
        '<body style="font-family:ui-monospace,Menlo,Consolas,monospace;font-size:14px;'
        'background:#ffffff;color:#000000;margin:1.5em">\n'
        f"<div>{summary}</div>{find}\n"
        f'<p style="margin:0.6em 0">legend: {esc(what)} {swatches} '
        f'<span style="background:{_hex(UNKNOWN_BG)};text-decoration:underline wavy '
        f'{_hex(UNKNOWN_FG)};padding:0 0.5em">x</span> outside the vocabulary, skipped; '
        "hover a character for its numbers</p>\n"
        '<pre style="white-space:pre-wrap;word-wrap:break-word;line-height:1.6;'
        f'font-family:inherit">{"".join(spans)}</pre>\n</body></html>\n')


def _html_char(ch: str) -> str:
    """Escaped; a carriage return or another control character as a character reference, so
    the page's newline normalisation cannot change the text."""
    if ch in "\n\t" or ch.isprintable():
        return html.escape(ch, quote=False)
    return f"&#{ord(ch)};"


def _hex(rgb) -> str:
    return "#%02x%02x%02x" % rgb
