"""How a text run looks in the views: losses in nats and bits per char, predicted strings and
a sample. The views in `charrnn.engine.views` call this renderer; it keeps no run state."""
from __future__ import annotations

import math

from rich.panel import Panel
from rich.table import Table
from rich.text import Text

from charrnn.engine.events import EpochEnd, TrainEnd
from charrnn.engine.views import finite, of_total

LN2 = math.log(2)


def visible(text: str) -> str:
    """Newlines and tabs made visible, so a predicted string stays on one line."""
    return text.replace("\n", "⏎").replace("\t", "→").replace("\r", "␍")


def loss_text(loss: float | None) -> str:
    return "-" if loss is None else f"{loss:.4f} ({loss / LN2:.3f} bpc)"


def shown_epoch(e: EpochEnd) -> str:
    return str(e.epoch) if e.complete else f"{e.epochs_done:.2f}"


def overfitting(e: EpochEnd, before: EpochEnd | None) -> bool:
    """Validation rose while training fell: the first sign of overfitting."""
    return (before is not None and e.val_loss is not None and before.val_loss is not None
            and e.val_loss > before.val_loss and e.train_loss < before.train_loss)


class Renderer:
    def __init__(self):
        self.before: EpochEnd | None = None  # the previous epoch
        self.last: EpochEnd | None = None

    def observe(self, e: EpochEnd) -> None:
        self.before, self.last = self.last, e

    def _mark(self, e: EpochEnd) -> str:
        before = self.before if e is self.last else self.last
        return " (val rising, train falling: overfitting?)" if overfitting(e, before) else ""

    def epoch_line(self, e: EpochEnd, start) -> str:
        epochs = of_total(start.epochs) if start is not None else ""
        val = "" if e.val_loss is None else f" val {loss_text(e.val_loss)}"
        shown = (f" | {visible(e.predictions[0][0])} -> {visible(e.predictions[0][1])}"
                 if e.predictions else "")
        mark = (" *" if e.is_best else "") + self._mark(e)
        return (f"epoch {shown_epoch(e)}{epochs} step {e.step} train {loss_text(e.train_loss)}"
                f"{val}{mark} {e.speed:,.0f} chars/s{shown}")

    def end_line(self, end: TrainEnd) -> str:
        return ""

    def record(self, e: EpochEnd) -> dict:
        return {"epoch": e.epoch, "step": e.step, "train_loss": finite(e.train_loss),
                "val_loss": finite(e.val_loss), "bpc": finite(e.bpc), "chars_per_sec": e.speed,
                "best": e.is_best, "complete": e.complete,
                "predictions": [{"input": a, "predicted": b} for a, b in e.predictions],
                "sample": e.sample}

    def live(self, start, progress, epoch: EpochEnd | None, previewed: EpochEnd | None) -> list:
        parts = []
        if progress is not None:
            parts.append(Text(f"loss {loss_text(progress.train_loss)}"))
        if epoch is not None:
            table = Table(box=None, padding=(0, 2), show_header=True, header_style="bold")
            for col in ("epoch", "train loss", "val loss", "best"):
                table.add_column(col, no_wrap=True)
            table.add_row(shown_epoch(epoch), loss_text(epoch.train_loss),
                          loss_text(epoch.val_loss),
                          f"{epoch.best_loss:.4f}" + (" (new)" if epoch.is_best else ""))
            parts.append(table)
            if self._mark(epoch):
                parts.append(Text(self._mark(epoch).strip(" ()"), style="bold yellow"))
        if previewed is not None:
            lines = Text(no_wrap=True, overflow="ellipsis")
            for i, (given, predicted) in enumerate(previewed.predictions):
                lines.append(("\n" if i else "") + f"{visible(given)} -> {visible(predicted)}")
            parts.append(Panel(lines, title=f"predicted (epoch {shown_epoch(previewed)})",
                               title_align="left"))
            parts.append(Panel(Text(previewed.sample), title="sample (t=0.8)", title_align="left"))
        return parts
