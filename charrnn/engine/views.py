"""What a person sees while training: a rich live view on stderr, plain lines, or JSON lines.

Each view is a listener for the engine's events; none of them touches the engine.
"""
from __future__ import annotations

import json
import math
import sys

from rich.console import Console, Group
from rich.live import Live
from rich.panel import Panel
from rich.progress_bar import ProgressBar
from rich.table import Table
from rich.text import Text

from charrnn.config import UNLIMITED_EPOCHS
from charrnn.engine.events import CheckpointSaved, EpochEnd, Progress, TrainEnd, TrainStart

LN2 = math.log(2)


def visible(text: str) -> str:
    """Newlines and tabs made visible, so a predicted string stays on one line."""
    return text.replace("\n", "⏎").replace("\t", "→").replace("\r", "␍")


def format_duration(seconds: float) -> str:
    if not math.isfinite(seconds):
        return "?"
    seconds = int(round(seconds))
    h, rem = divmod(seconds, 3600)
    m, s = divmod(rem, 60)
    return f"{h}:{m:02d}:{s:02d}" if h else f"{m}:{s:02d}"


def of_total(epochs: int) -> str:
    """'/20', or nothing when a time budget, not a count, ends the run."""
    return f"/{epochs}" if epochs < UNLIMITED_EPOCHS else ""


def loss_text(loss: float | None) -> str:
    return "-" if loss is None else f"{loss:.4f} ({loss / LN2:.3f} bpc)"


def epoch_line(e: EpochEnd, epochs: int) -> str:
    val = "" if e.val_loss is None else f" val {loss_text(e.val_loss)}"
    shown = f" | {visible(e.predictions[0][0])} -> {visible(e.predictions[0][1])}" if e.predictions else ""
    mark = " *" if e.is_best else ""
    shown_epoch = e.epoch if e.complete else f"{e.epochs_done:.2f}"
    return (f"epoch {shown_epoch}{of_total(epochs)} step {e.step} train {loss_text(e.train_loss)}{val}"
            f"{mark} {e.chars_per_sec:,.0f} chars/s{shown}")


class LiveView:
    """The rich live view: progress, losses, predicted strings and a sample, redrawn in place."""

    wants_text = True

    def __init__(self, console: Console | None = None):
        self.console = console or Console(stderr=True)
        self.start: TrainStart | None = None
        self.progress: Progress | None = None
        self.epoch: EpochEnd | None = None
        self.saved: str = ""
        self.live: Live | None = None

    def __call__(self, event) -> None:
        if isinstance(event, TrainStart):
            self.start = event
            self.live = Live(get_renderable=self.render, console=self.console,
                             refresh_per_second=4, redirect_stdout=False, redirect_stderr=False)
            self.live.start()
        elif isinstance(event, Progress):
            self.progress = event
        elif isinstance(event, EpochEnd):
            self.epoch = event
        elif isinstance(event, CheckpointSaved):
            self.saved = f"{event.reason}: {event.path}"
        elif isinstance(event, TrainEnd):
            self.close()
        if self.live is not None:
            self.live.refresh()

    def close(self) -> None:
        if self.live is not None:
            self.live.stop()
            self.live = None

    def render(self):
        parts = []
        st, pr, ep = self.start, self.progress, self.epoch
        if st is not None:
            parts.append(Text(f"charrnn · {st.corpus} · {st.chars:,} chars · vocab {st.vocab_size}"
                              f" · {st.parameters:,} params · {st.device} {st.precision} · batch "
                              f"{st.batch_size} x seq {st.seq_len}", style="bold"))
        if pr is not None and st is not None:
            eta = pr.elapsed * (1 - pr.fraction_done) / pr.fraction_done if pr.fraction_done else math.inf
            bar = Table.grid(padding=(0, 1))
            bar.add_row(ProgressBar(total=1.0, completed=pr.fraction_done, width=30),
                        f"{100 * pr.fraction_done:5.1f}%",
                        f"epoch {pr.epoch + 1}{of_total(st.epochs)} window {pr.window}/{pr.windows_per_epoch}",
                        f"step {pr.step}", f"{pr.chars_per_sec:,.0f} chars/s",
                        f"elapsed {format_duration(pr.elapsed)}", f"ETA {format_duration(eta)}")
            parts.append(bar)
            parts.append(Text(f"loss {loss_text(pr.train_loss)}"))
        if ep is not None:
            table = Table(box=None, padding=(0, 2), show_header=True, header_style="bold")
            for col in ("epoch", "train loss", "val loss", "best", "chars/s"):
                table.add_column(col)
            shown_epoch = str(ep.epoch) if ep.complete else f"{ep.epochs_done:.2f}"
            table.add_row(shown_epoch, loss_text(ep.train_loss), loss_text(ep.val_loss),
                          f"{ep.best_loss:.4f}" + (" (new)" if ep.is_best else ""),
                          f"{ep.chars_per_sec:,.0f}")
            parts.append(table)
            lines = Text()
            for i, (given, predicted) in enumerate(ep.predictions):
                lines.append(("\n" if i else "") + f"{visible(given)} -> {visible(predicted)}")
            parts.append(Panel(lines, title=f"predicted (epoch {ep.epoch})", title_align="left"))
            parts.append(Panel(Text(ep.sample), title="sample (t=0.8)", title_align="left"))
        if self.saved:
            parts.append(Text(f"saved {self.saved}", style="dim"))
        return Group(*parts)


class PlainLines:
    """stderr is not a terminal: one line per epoch, nothing redrawn."""

    wants_text = True

    def __init__(self, stream=None):
        self.stream = stream
        self.epochs = 0

    def __call__(self, event) -> None:
        stream = self.stream or sys.stderr
        if isinstance(event, TrainStart):
            self.epochs = event.epochs
            print(f"training on {event.corpus}: {event.chars:,} chars, vocab {event.vocab_size}, "
                  f"{event.parameters:,} params, {event.device} {event.precision}", file=stream)
        elif isinstance(event, EpochEnd):
            print(epoch_line(event, self.epochs), file=stream, flush=True)


class JsonLines:
    """--json: one object per epoch on stdout, and a final one with the checkpoint paths."""

    wants_text = True

    def __init__(self, stream=None):
        self.stream = stream

    def __call__(self, event) -> None:
        stream = self.stream or sys.stdout
        if isinstance(event, EpochEnd):
            record = {"epoch": event.epoch, "step": event.step, "train_loss": event.train_loss,
                      "val_loss": event.val_loss, "bpc": event.bpc,
                      "chars_per_sec": event.chars_per_sec, "best": event.is_best,
                      "complete": event.complete,
                      "predictions": [{"input": a, "predicted": b} for a, b in event.predictions],
                      "sample": event.sample}
        elif isinstance(event, TrainEnd):
            record = {"done": True, "best_checkpoint": event.best_path,
                      "last_checkpoint": event.last_path, "best_loss": event.best_loss,
                      "stop_reason": event.stop_reason}
        else:
            return
        stream.write(json.dumps(record) + "\n")
        stream.flush()


def build_views(json_out: bool, quiet: bool, json_view, live_view, plain_view,
                console: Console | None = None) -> list:
    """JSON on stdout if asked, and a view on stderr unless quiet: live on a terminal, plain
    lines otherwise. Shared by text and series training."""
    views = [json_view()] if json_out else []
    if not quiet:
        console = console or Console(stderr=True)
        views.append(live_view(console) if console.is_terminal else plain_view())
    return views


def training_views(json_out: bool, quiet: bool, console: Console | None = None) -> list:
    return build_views(json_out, quiet, JsonLines, LiveView, PlainLines, console)


def close_views(views) -> None:
    for view in views:
        close = getattr(view, "close", None)
        if close is not None:
            close()
