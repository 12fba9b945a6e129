"""What a person sees while training: a rich live view on stderr, plain lines, or JSON lines.

One family of views for every kind of data; each listens to the trainer's events and asks
the renderer of the run's kind (`charrnn/<kind>/render.py`) for what differs. None of them
touches the trainer. The live view redraws on rich's own clock, a few times a second, never
once per event, so a run of millisecond epochs pays nothing for it.
"""
from __future__ import annotations

import importlib
import json
import math
import sys

from rich.console import Console, Group
from rich.live import Live
from rich.progress_bar import ProgressBar
from rich.table import Table
from rich.text import Text

from charrnn.config import UNLIMITED_EPOCHS
from charrnn.engine.events import CheckpointSaved, EpochEnd, Progress, TrainEnd, TrainStart

REFRESH_PER_SECOND = 4
ETA_AFTER_SECONDS = 3.0  # before this, or before any progress, the ETA says "estimating"


def load_renderer(kind: str):
    """The renderer of one kind of data: `charrnn.<kind>.render.Renderer`."""
    return importlib.import_module(f"charrnn.{kind}.render").Renderer()


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


def eta(elapsed: float, fraction_done: float) -> str:
    if fraction_done <= 0 or elapsed < ETA_AFTER_SECONDS:
        return "estimating"
    return format_duration(elapsed * (1 - fraction_done) / fraction_done)


def header(start: TrainStart) -> str:
    return " · ".join([f"charrnn · {start.name}", *start.facts, f"{start.parameters:,} params",
                       f"{start.device} {start.precision}", f"batch {start.batch_size}"])


class _View:
    """Keeps the run's renderer, chosen by the kind in TrainStart (text until then)."""

    wants_preview = True

    def __init__(self):
        self.start: TrainStart | None = None
        self.renderer = None

    def _render_for(self, event) -> None:
        if isinstance(event, TrainStart):
            self.start = event
            self.renderer = load_renderer(event.kind)
        elif self.renderer is None:
            self.renderer = load_renderer("text")


class LiveView(_View):
    """The rich live view: progress, losses and the kind's preview, redrawn in place."""

    def __init__(self, console: Console | None = None):
        super().__init__()
        self.console = console or Console(stderr=True)
        self.progress: Progress | None = None
        self.epoch: EpochEnd | None = None
        self.previewed: EpochEnd | None = None  # the last epoch that carried a preview
        self.saved: str = ""
        self.live: Live | None = None

    def __call__(self, event) -> None:
        self._render_for(event)
        if isinstance(event, TrainStart):
            self.live = Live(get_renderable=self.render, console=self.console,
                             refresh_per_second=REFRESH_PER_SECOND, redirect_stdout=False,
                             redirect_stderr=False)
            self.live.start()
        elif isinstance(event, Progress):
            self.progress = event
        elif isinstance(event, EpochEnd):
            self.epoch = event
            self.renderer.observe(event)
            if event.predictions or event.points:
                self.previewed = event
        elif isinstance(event, CheckpointSaved):
            self.saved = f"{event.reason}: {event.path}"
        elif isinstance(event, TrainEnd):
            self.saved = self.renderer.end_line(event)
            self.close()

    def close(self) -> None:
        if self.live is not None:
            self.live.refresh()  # the final state, once
            self.live.stop()
            self.live = None

    def render(self):
        st, pr, ep = self.start, self.progress, self.epoch
        parts = []
        if st is not None:
            parts.append(Text(header(st), style="bold"))
            done, elapsed, step = 0.0, 0.0, st.start_step
            if pr is not None:
                done, elapsed, step = pr.fraction_done, pr.elapsed, pr.step
            if ep is not None and ep.elapsed >= elapsed:
                done = max(done, ep.epochs_done / max(st.epochs, 1))
                elapsed, step = ep.elapsed, ep.step
            epoch = ep.epochs_done if ep is not None else st.start_epoch
            if pr is not None and (ep is None or pr.elapsed > ep.elapsed):
                epoch = pr.epoch + pr.window / max(pr.windows_per_epoch, 1)
            speed = (pr.speed if pr is not None and (ep is None or pr.elapsed > ep.elapsed)
                     else ep.speed if ep is not None else 0.0)
            bar = Table.grid(padding=(0, 1))
            bar.add_row(ProgressBar(total=1.0, completed=done, width=24), f"{100 * done:5.1f}%")
            parts.append(bar)
            parts.append(Text(f"epoch {epoch:.2f}{of_total(st.epochs)} · step {step:,} · "
                              f"{speed:,.0f} {st.unit}/s · {format_duration(elapsed)} elapsed · "
                              f"ETA {eta(elapsed, done)}"))
            parts += self.renderer.live(st, pr, ep, self.previewed)
        if self.saved:
            parts.append(Text(f"saved {self.saved}", style="dim"))
        return Group(*parts)


class PlainLines(_View):
    """stderr is not a terminal: a header, about one line per epoch (the renderer may thin
    them out), nothing redrawn."""

    def __init__(self, stream=None):
        super().__init__()
        self.stream = stream

    def __call__(self, event) -> None:
        self._render_for(event)
        stream = self.stream or sys.stderr
        line = None
        if isinstance(event, TrainStart):
            line = f"training on {event.name}: " + ", ".join(
                [*event.facts, f"{event.parameters:,} params", f"{event.device} {event.precision}"])
        elif isinstance(event, EpochEnd):
            line = self.renderer.epoch_line(event, self.start)
            self.renderer.observe(event)
        elif isinstance(event, TrainEnd):
            line = self.renderer.end_line(event)
        if line:
            print(line, file=stream, flush=True)


class JsonLines(_View):
    """--json: one object per epoch on stdout, and a last one (`"done": true`) with the
    checkpoint paths; every record names its event."""

    def __init__(self, stream=None):
        super().__init__()
        self.stream = stream

    def __call__(self, event) -> None:
        self._render_for(event)
        if isinstance(event, EpochEnd):
            record = {"event": "epoch", **self.renderer.record(event)}
        elif isinstance(event, TrainEnd):
            record = {"event": "end", "done": True, "best_checkpoint": event.best_path,
                      "last_checkpoint": event.last_path, "best_epoch": event.best_epoch,
                      "best_loss": finite(event.best_loss), "stop_reason": event.stop_reason}
        else:
            return
        stream = self.stream or sys.stdout
        stream.write(json.dumps(record, allow_nan=False) + "\n")
        stream.flush()


def finite(value: float | None) -> float | None:
    """JSON has no NaN or Infinity: such a value is written as null."""
    return value if value is not None and math.isfinite(value) else None


def training_views(json_out: bool, quiet: bool, console: Console | None = None) -> list:
    """JSON on stdout if asked, and a view on stderr unless quiet: live on a terminal, plain
    lines otherwise."""
    views = [JsonLines()] if json_out else []
    if not quiet:
        console = console or Console(stderr=True)
        views.append(LiveView(console) if console.is_terminal else PlainLines())
    return views


def close_views(views) -> None:
    for view in views:
        close = getattr(view, "close", None)
        if close is not None:
            close()
