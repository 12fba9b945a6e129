"""How a series run looks in the views: scaled MSE, validation RMSE beside persistence's in
real units, predicted against actual test points and sparklines; and a text plot for `eval`.
The views in `charrnn.engine.views` call this renderer."""
from __future__ import annotations

import math

from rich.console import Group
from rich.table import Table
from rich.text import Text

from charrnn.engine.events import EpochEnd, TrainEnd
from charrnn.engine.views import finite, of_total

BLOCKS = "▁▂▃▄▅▆▇█"
PLAIN_LINES = 50  # about this many lines per run when stderr is not a terminal
CURVE_POINTS = 60


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


def versus(e: EpochEnd) -> str:
    """Validation RMSE beside persistence's, in real units: the fact never to miss."""
    if e.val_rmse is None or not e.val_rmse_persistence:
        return ""
    return (f"val rmse {number(e.val_rmse)} vs persistence {number(e.val_rmse_persistence)} "
            f"(x{e.val_rmse / e.val_rmse_persistence:.3f})")


class Renderer:
    def __init__(self):
        self.losses: list[float] = []  # per epoch, for the sparkline

    def observe(self, e: EpochEnd) -> None:
        self.losses = (self.losses + [e.val_loss if e.val_loss is not None
                                      else e.train_loss])[-CURVE_POINTS:]

    def epoch_line(self, e: EpochEnd, start) -> str | None:
        epochs = start.epochs if start is not None else e.epoch
        every = max(1, epochs // PLAIN_LINES)
        if e.epoch % every and e.complete and e.epoch != epochs:
            return None
        val = "" if e.val_loss is None else f" val {number(e.val_loss)}"
        point = ""
        if e.points:
            label, actual, predicted = e.points[-1]
            point = f" | {label}: actual {number(actual)} predicted {number(predicted)}"
        vs = f" | {versus(e)}" if versus(e) else ""
        return (f"epoch {e.epoch}{of_total(epochs)} mse train {number(e.train_loss)}{val}"
                f"{' *' if e.is_best else ''}{vs}{point}")

    def end_line(self, end: TrainEnd) -> str:
        return f"best epoch {end.best_epoch} (mse {number(end.best_loss)}): {end.best_path}"

    def record(self, e: EpochEnd) -> dict:
        return {"epoch": e.epoch, "step": e.step, "train_loss": finite(e.train_loss),
                "val_loss": finite(e.val_loss), "val_rmse": finite(e.val_rmse),
                "val_rmse_persistence": finite(e.val_rmse_persistence),
                "best": e.is_best, "best_epoch": e.best_epoch,
                "points": [{"label": a, "actual": finite(b), "predicted": finite(c)}
                           for a, b, c in e.points]}

    def live(self, start, progress, ep: EpochEnd | None, previewed: EpochEnd | None) -> list:
        if ep is None:
            return []
        parts = [Text(f"mse (scaled) train {number(ep.train_loss)}  val {number(ep.val_loss)}  "
                      f"best {number(ep.best_loss)} (epoch {ep.best_epoch})")]
        if versus(ep):
            worse = ep.val_rmse > ep.val_rmse_persistence
            parts.append(Text(versus(ep), style="bold yellow" if worse else "bold green"))
        table = Table(box=None, padding=(0, 2), header_style="bold")
        for col in ("test point", "actual", "predicted", "error"):
            table.add_column(col, justify="right", no_wrap=True)
        lines = Table.grid(padding=(0, 2))
        if previewed is not None:
            for label, actual, predicted in previewed.points:
                table.add_row(label, number(actual), number(predicted),
                              f"{predicted - actual:+.4g}")
            actual, predicted = previewed.curve
            if actual:  # one scale for both, so the eye can compare them
                low, high = min(min(actual), min(predicted)), max(max(actual), max(predicted))
                lines.add_row("test actual", sparkline(actual, low, high))
                lines.add_row("predicted", sparkline(predicted, low, high))
        if self.losses:
            lines.add_row("val loss" if ep.val_loss is not None else "train loss",
                          sparkline(self.losses))
        return parts + [Group(table, lines)]


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
