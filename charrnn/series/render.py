"""What a person sees of a series run: a rich live view, plain lines, or JSON lines; text plots.

Each view listens to the events of `charrnn.series.task`; none of them touches the engine.
The live view redraws on rich's own clock (a few times a second), never once per epoch, so
a 500-epoch run of a few milliseconds an epoch pays nothing for it.
"""
from __future__ import annotations

import json
import math
import sys

from rich.console import Console, Group
from rich.live import Live
from rich.progress_bar import ProgressBar
from rich.table import Table
from rich.text import Text

from charrnn.engine.views import build_views, format_duration
from charrnn.series.task import SeriesEnd, SeriesEpoch, SeriesStart

BLOCKS = "▁▂▃▄▅▆▇█"
PLAIN_LINES = 50  # about this many lines per run when stderr is not a terminal


def sparkline(values, low: float | None = None, high: float | None = None) -> str:
    values = [v for v in values if v is not None and math.isfinite(v)]
    if not values:
        return ""
    low = min(values) if low is None else low
    high = max(values) if high is None else high
    span = high - low
    if span <= 0:
        return BLOCKS[0] * len(values)
    top = len(BLOCKS) - 1
    return "".join(BLOCKS[min(top, max(0, round((v - low) / span * top)))] for v in values)


def number(value: float | None) -> str:
    return "-" if value is None else f"{value:.6g}"


def versus(e: SeriesEpoch) -> str:
    """Validation RMSE beside persistence's, in real units: the fact never to miss."""
    if e.val_rmse is None or not e.val_rmse_persistence:
        return ""
    return (f"val rmse {number(e.val_rmse)} vs persistence {number(e.val_rmse_persistence)} "
            f"(x{e.val_rmse / e.val_rmse_persistence:.3f})")


class SeriesLiveView:
    wants_preview = True

    def __init__(self, console: Console | None = None):
        self.console = console or Console(stderr=True)
        self.start: SeriesStart | None = None
        self.epoch: SeriesEpoch | None = None
        self.saved: list[str] = []
        self.live: Live | None = None

    def __call__(self, event) -> None:
        if isinstance(event, SeriesStart):
            self.start = event
            self.live = Live(get_renderable=self.render, console=self.console,
                             refresh_per_second=8, redirect_stdout=False, redirect_stderr=False)
            self.live.start()
        elif isinstance(event, SeriesEpoch):
            self.epoch = event  # drawn at the next tick
        elif isinstance(event, SeriesEnd):
            self.saved = [f"best (epoch {event.best_epoch}): {event.best_path}",
                          f"last: {event.last_path}"]
            self.close()

    def close(self) -> None:
        if self.live is not None:
            self.live.refresh()
            self.live.stop()
            self.live = None

    def render(self):
        st, ep = self.start, self.epoch
        parts = []
        if st is not None:
            parts.append(Text(f"charrnn · {st.name} · {st.rows} rows · {st.target} from "
                              f"{', '.join(st.features)} · windows {st.train} train / {st.val} val"
                              f" / {st.test} test · {st.parameters:,} params · {st.device}",
                              style="bold"))
        if ep is not None:
            done = ep.epoch / max(ep.epochs, 1)
            eta = ep.elapsed * (1 - done) / done if done else math.inf
            bar = Table.grid(padding=(0, 1))
            bar.add_row(ProgressBar(total=1.0, completed=done, width=30), f"{100 * done:5.1f}%",
                        f"epoch {ep.epoch}/{ep.epochs}", f"elapsed {format_duration(ep.elapsed)}",
                        f"ETA {format_duration(eta)}")
            parts.append(bar)
            parts.append(Text(f"mse (scaled) train {number(ep.train_loss)}  val "
                              f"{number(ep.val_loss)}  best {number(ep.best_loss)} (epoch "
                              f"{ep.best_epoch})"))
            if versus(ep):
                worse = ep.val_rmse > ep.val_rmse_persistence
                parts.append(Text(versus(ep), style="bold yellow" if worse else "bold green"))
            parts.append(self._points(ep))
        parts += [Text(line, style="dim") for line in self.saved]
        return Group(*parts)

    @staticmethod
    def _points(ep: SeriesEpoch):
        table = Table(box=None, padding=(0, 2), header_style="bold")
        for col in ("test point", "actual", "predicted", "error"):
            table.add_column(col, justify="right")
        for label, actual, predicted in ep.points:
            table.add_row(label, number(actual), number(predicted), f"{predicted - actual:+.4g}")
        lines = Table.grid(padding=(0, 2))
        actual, predicted = ep.curve
        if actual:  # one scale for both, so the eye can compare them
            low, high = min(min(actual), min(predicted)), max(max(actual), max(predicted))
            lines.add_row("test actual", sparkline(actual, low, high))
            lines.add_row("predicted", sparkline(predicted, low, high))
        if ep.loss_history:
            lines.add_row("val loss" if ep.val_loss is not None else "train loss",
                          sparkline(ep.loss_history))
        return Group(table, lines)


class SeriesPlainLines:
    """stderr is not a terminal: about PLAIN_LINES lines, one per few epochs, nothing redrawn."""

    wants_preview = True

    def __init__(self, stream=None):
        self.stream = stream

    def __call__(self, event) -> None:
        stream = self.stream or sys.stderr
        if isinstance(event, SeriesStart):
            print(f"training on {event.name}: {event.rows} rows, {event.target} from "
                  f"{', '.join(event.features)}, windows {event.train}/{event.val}/{event.test} "
                  f"(train/val/test), {event.parameters:,} params, {event.device}", file=stream)
        elif isinstance(event, SeriesEpoch):
            every = max(1, event.epochs // PLAIN_LINES)
            if event.epoch % every == 0 or event.epoch == event.epochs:
                print(epoch_line(event), file=stream, flush=True)
        elif isinstance(event, SeriesEnd):
            print(f"best epoch {event.best_epoch} (mse {number(event.best_loss)}): "
                  f"{event.best_path}", file=stream)


def epoch_line(e: SeriesEpoch) -> str:
    val = "" if e.val_loss is None else f" val {number(e.val_loss)}"
    point = ""
    if e.points:
        label, actual, predicted = e.points[-1]
        point = f" | {label}: actual {number(actual)} predicted {number(predicted)}"
    vs = f" | {versus(e)}" if versus(e) else ""
    return (f"epoch {e.epoch}/{e.epochs} mse train {number(e.train_loss)}{val}"
            f"{' *' if e.is_best else ''}{vs}{point}")


class SeriesJsonLines:
    """--json: one object per epoch on stdout, and a final one with the checkpoint paths."""

    wants_preview = True

    def __init__(self, stream=None):
        self.stream = stream

    def __call__(self, event) -> None:
        if isinstance(event, SeriesEpoch):
            record = {"epoch": event.epoch, "train_loss": event.train_loss,
                      "val_loss": event.val_loss, "val_rmse": event.val_rmse,
                      "val_rmse_persistence": event.val_rmse_persistence,
                      "best": event.is_best, "best_epoch": event.best_epoch,
                      "points": [{"label": a, "actual": b, "predicted": c}
                                 for a, b, c in event.points]}
        elif isinstance(event, SeriesEnd):
            record = {"done": True, "best_checkpoint": event.best_path,
                      "last_checkpoint": event.last_path, "best_epoch": event.best_epoch,
                      "best_loss": event.best_loss, "stop_reason": event.stop_reason}
        else:
            return
        stream = self.stream or sys.stdout
        stream.write(json.dumps(record) + "\n")
        stream.flush()


def series_views(json_out: bool, quiet: bool, console: Console | None = None) -> list:
    return build_views(json_out, quiet, SeriesJsonLines, SeriesLiveView, SeriesPlainLines, console)


def text_plot(actual, predicted, width: int = 72, height: int = 12) -> str:
    """Truth (o) against prediction (x) as characters; `*` where they share a cell."""
    n = len(actual)
    if n == 0:
        return ""
    cols = min(width, n)
    buckets = [range(n * c // cols, n * (c + 1) // cols) for c in range(cols)]  # cols <= n
    mean = lambda values, b: sum(values[i] for i in b) / len(b)  # noqa: E731
    a = [mean(actual, b) for b in buckets]
    p = [mean(predicted, b) for b in buckets]
    low, high = min(a + p), max(a + p)
    span = (high - low) or 1.0
    grid = [[" "] * cols for _ in range(height)]
    for c in range(cols):
        ra = height - 1 - round((a[c] - low) / span * (height - 1))
        rp = height - 1 - round((p[c] - low) / span * (height - 1))
        grid[ra][c] = "o"
        grid[rp][c] = "*" if rp == ra else "x"
    label = max(len(number(high)), len(number(low)))
    lines = []
    for r, row in enumerate(grid):
        tick = number(high) if r == 0 else number(low) if r == height - 1 else ""
        lines.append(f"{tick:>{label}} |{''.join(row)}")
    lines.append(f"{'':>{label}}  o actual  x predicted  * both   ({n} windows, "
                 f"{max(1, n // cols)} per column)")
    return "\n".join(lines)
