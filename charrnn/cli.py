"""The `charrnn` command line: parse options, build configs, call the engine, print results.

Heavy imports (torch) happen inside the commands, so `charrnn --help` answers at once.
"""
from __future__ import annotations

import math
import sys
import traceback
from enum import Enum
from pathlib import Path
from typing import Optional

import typer
from typer.core import TyperGroup

try:  # typer >= 0.2x vendors click
    from typer._click import exceptions as click_exceptions
except ImportError:  # pragma: no cover
    from click import exceptions as click_exceptions

from charrnn.errors import EXIT_INTERRUPTED, CharrnnError


class _Group(TyperGroup):
    """Every error becomes one `error:` line on stderr with a meaningful exit code.

    `main` sees what goes wrong while parsing (usage errors); `invoke` sees what goes wrong
    inside a command, before typer would turn a broken pipe or Ctrl-C into a bare exit code.
    """

    def main(self, args=None, prog_name=None, complete_var=None, standalone_mode=True, **extra):
        try:
            code = super().main(args=args, prog_name=prog_name, complete_var=complete_var,
                                standalone_mode=False, **extra)
        except click_exceptions.NoArgsIsHelpError as e:  # a bare `charrnn`: show the help
            print(e.format_message())
            sys.exit(0)
        except click_exceptions.UsageError as e:
            if e.ctx is not None:
                print(e.ctx.get_usage().splitlines()[0], file=sys.stderr)
            print(f"error: {e.format_message()}", file=sys.stderr)
            sys.exit(2)
        except click_exceptions.ClickException as e:
            print(f"error: {e.format_message()}", file=sys.stderr)
            sys.exit(e.exit_code)
        except CharrnnError as e:
            print(f"error: {e}", file=sys.stderr)
            sys.exit(e.exit_code)
        except KeyboardInterrupt:
            print("error: interrupted", file=sys.stderr)
            sys.exit(EXIT_INTERRUPTED)
        sys.exit(code if isinstance(code, int) else 0)

    def invoke(self, ctx):
        try:
            return super().invoke(ctx)
        except (click_exceptions.ClickException, typer.Exit, typer.Abort):
            raise
        except CharrnnError as e:
            print(f"error: {e}", file=sys.stderr)
            sys.exit(e.exit_code)
        except KeyboardInterrupt:
            print("error: interrupted", file=sys.stderr)
            sys.exit(EXIT_INTERRUPTED)
        except BrokenPipeError:
            _quiet_stdout()
            sys.exit(0)
        except Exception:
            print("error: internal error; this is a bug in charrnn, please report it with the "
                  "traceback below", file=sys.stderr)
            traceback.print_exc()
            sys.exit(1)


def _quiet_stdout() -> None:
    """The reader went away (`| head`): point stdout at /dev/null so exit flushes quietly."""
    import os

    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
    except (OSError, ValueError, AttributeError):
        pass


app = typer.Typer(cls=_Group, add_completion=False, no_args_is_help=True,
                  pretty_exceptions_enable=False, rich_markup_mode=None,
                  help="Recurrent networks on characters and time series.")


class Cell(str, Enum):
    rnn = "rnn"
    lstm = "lstm"
    gru = "gru"


class Device(str, Enum):
    auto = "auto"
    cpu = "cpu"
    cuda = "cuda"
    mps = "mps"


class Schedule(str, Enum):
    constant = "constant"
    cosine = "cosine"


class Precision(str, Enum):
    auto = "auto"
    fp32 = "fp32"
    bf16 = "bf16"


def interval(low: float, high: float = float("inf"), low_open: bool = False,
             high_open: bool = False) -> dict:
    """Option keywords that check a number lies in an interval (typer has no open bounds)."""
    shown = f"{'(' if low_open else '['}{low:g}, {high:g}{')' if high_open else ']'}"

    def check(value):
        if value is None:
            return value
        if not math.isfinite(value):
            raise typer.BadParameter(f"{value} is not a number in {shown}")
        below = value <= low if low_open else value < low
        above = value >= high if high_open else value > high
        if below or above:
            raise typer.BadParameter(f"{value:g} is not in {shown}")
        return value

    return {"callback": check}


SEED_MAX = 2**63 - 1
FRACTION = interval(0.0, 1.0, high_open=True)
POSITIVE = interval(0.0, low_open=True)


@app.command("train-text")
def train_text(
    corpus: str = typer.Argument(..., help="UTF-8 text file, '-' for stdin, or @stdlib."),
    out: Optional[Path] = typer.Option(None, "--out", "-o", help="Checkpoint folder [default: checkpoints/<corpus name>]."),
    cell: Optional[Cell] = typer.Option(None, "--cell", help="Recurrent cell [default: lstm]."),
    layers: Optional[int] = typer.Option(None, "--layers", min=1, help="Stacked layers [default: 2]."),
    hidden: Optional[int] = typer.Option(None, "--hidden", min=1, help="Hidden units per layer [default: sized to the corpus and, with --time-budget, to this machine: 128 to 1024]."),
    embed: Optional[int] = typer.Option(None, "--embed", min=0, help="Embedding width; 0 feeds one-hot vectors [default: 64]."),
    dropout: Optional[float] = typer.Option(None, "--dropout", **FRACTION, help="Dropout between layers [default: 0.1; 0 on corpora under 1,000 characters]."),
    seq_len: Optional[int] = typer.Option(None, "--seq-len", min=1, help="Window length (BPTT steps) [default: 100, cut to the corpus]."),
    batch_size: Optional[int] = typer.Option(None, "--batch-size", min=1, help="Streams per batch [default: 32, cut to the corpus; --sliding: all windows]."),
    sliding: bool = typer.Option(False, "--sliding", help="Every offset a window from a zero state (the lecture's dataset)."),
    lr: Optional[float] = typer.Option(None, "--lr", **POSITIVE, help="Adam learning rate [default: 0.003]."),
    lr_decay: Optional[float] = typer.Option(None, "--lr-decay", **interval(0.0, 1.0, low_open=True), help="Learning-rate factor after each epoch [default: 1]."),
    lr_schedule: Optional[Schedule] = typer.Option(None, "--lr-schedule", help="constant, or cosine to 10% of --lr at the end of the run [default: cosine with --time-budget, else constant]."),
    warmup: Optional[int] = typer.Option(None, "--warmup", min=0, help="Steps of linear learning-rate warm-up [default: 100 with --time-budget, else 0]."),
    grad_clip: Optional[float] = typer.Option(None, "--grad-clip", **interval(0.0), help="Gradient-norm clip, 0 for none [default: 5]."),
    weight_decay: Optional[float] = typer.Option(None, "--weight-decay", **interval(0.0), help="Adam weight decay [default: 0]."),
    epochs: Optional[int] = typer.Option(None, "--epochs", min=1, help="Total epochs (a resumed run trains up to it) [default: 20; with --time-budget, as many as fit]."),
    max_steps: Optional[int] = typer.Option(None, "--max-steps", min=1, help="Stop after this many optimizer steps in all."),
    time_budget: Optional[str] = typer.Option(None, "--time-budget", help="Stop after this much training time: seconds, or 90s, 10m, 1h."),
    val_frac: Optional[float] = typer.Option(None, "--val-frac", **FRACTION, help="Held-out tail of the corpus [default: 0.1; 0 on tiny corpora]."),
    seed: Optional[int] = typer.Option(None, "--seed", min=0, max=SEED_MAX, help="Random seed; a CPU run repeats bit for bit [default: 1234]."),
    device: Device = typer.Option(Device.auto, "--device", help="Where to train."),
    precision: Optional[Precision] = typer.Option(None, "--precision", help="bf16 autocast or fp32 [default: auto = bf16 on CUDA, and on CPUs with AMX for hidden >= 128; else fp32]."),
    save_every: Optional[float] = typer.Option(None, "--save-every", **POSITIVE, help="Seconds between `last` checkpoints within an epoch [default: 180]."),
    resume: Optional[Path] = typer.Option(None, "--resume", help="Continue from this checkpoint (file or folder)."),
    json_out: bool = typer.Option(False, "--json", help="One JSON object per epoch on stdout."),
    quiet: bool = typer.Option(False, "--quiet", "-q", help="No progress on stderr."),
):
    """Train a character language model on a text corpus."""
    from charrnn.text import commands as text_commands

    options = dict(cell=cell and cell.value, layers=layers, hidden=hidden, embed=embed,
                   dropout=dropout, seq_len=seq_len, batch_size=batch_size, sliding=sliding,
                   lr=lr, lr_decay=lr_decay, lr_schedule=lr_schedule and lr_schedule.value,
                   warmup_steps=warmup, grad_clip=grad_clip, weight_decay=weight_decay,
                   epochs=epochs, max_steps=max_steps, time_budget=time_budget, val_frac=val_frac,
                   seed=seed, precision=precision and precision.value, save_every=save_every)
    text_commands.train(corpus, out, options, device.value, resume, json_out, quiet)


@app.command("sample")
def sample(
    ckpt: Path = typer.Option(..., "--ckpt", help="Checkpoint file, or a folder (its best.safetensors)."),
    prime: Optional[str] = typer.Option(None, "--prime", "-p", help="Text to start from [default: a newline, else the corpus's first character]."),
    length: int = typer.Option(500, "--length", "-n", min=0, help="Characters to generate."),
    temperature: float = typer.Option(1.0, "--temperature", "-t", **POSITIVE, help="Softmax temperature (> 0)."),
    top_k: Optional[int] = typer.Option(None, "--top-k", min=1, help="Sample among the k likeliest characters."),
    top_p: Optional[float] = typer.Option(None, "--top-p", **interval(0.0, 1.0, low_open=True), help="Nucleus sampling: the likeliest characters covering probability p."),
    argmax: bool = typer.Option(False, "--argmax", help="Greedy: always the likeliest character."),
    seed: Optional[int] = typer.Option(None, "--seed", min=0, max=SEED_MAX, help="Same seed, same text."),
    num_samples: int = typer.Option(1, "--num-samples", min=1, help="Independent samples, computed as one batch."),
    skip_unknown: bool = typer.Option(False, "--skip-unknown", help="Drop prime characters the model does not know instead of failing."),
    device: Device = typer.Option(Device.cpu, "--device", help="Where to sample (batch-1 steps are fastest on CPU)."),
    json_out: bool = typer.Option(False, "--json", help="One JSON object with the samples."),
):
    """Generate text from a trained model; stdout carries only the text."""
    from charrnn.text import commands as text_commands

    text_commands.sample(ckpt, prime, length, temperature, top_k, top_p, argmax, seed,
                         num_samples, skip_unknown, device.value, json_out)


@app.command("eval")
def evaluate(
    data: str = typer.Argument(..., help="Text file or CSV to score, or '-' for stdin."),
    ckpt: Path = typer.Option(..., "--ckpt", help="Checkpoint file, or a folder (its best.safetensors)."),
    json_out: bool = typer.Option(False, "--json", help="One JSON object on stdout."),
    device: Device = typer.Option(Device.auto, "--device", help="Where to evaluate."),
    all_rows: bool = typer.Option(False, "--all", help="Series: score every window, not only the test part."),
    season: Optional[int] = typer.Option(None, "--season", min=1, help="Series: add a seasonal-naive baseline of period M."),
    plot: Optional[Path] = typer.Option(None, "--plot", help="Series: write truth vs prediction to a PNG."),
):
    """Score a model honestly: text in nats and bits per char; series beside persistence."""
    from charrnn import checkpoint

    loaded = checkpoint.load(ckpt)
    if loaded.kind == "text":
        from charrnn.text import commands as text_commands

        given = [name for name, value in (("--all", all_rows), ("--season", season),
                                         ("--plot", plot)) if value]
        if given:
            raise CharrnnError(f"{', '.join(given)}: for series models; {ckpt} is a text model")

        text_commands.evaluate(loaded, data, json_out, device.value)
    else:
        from charrnn.series import commands as series_commands

        series_commands.evaluate(loaded, data, json_out, device.value, all_rows, season, plot)


def _register_series_commands() -> None:
    """Series commands live in their own module; they register themselves on `app`."""
    from charrnn.series import commands as series_commands

    series_commands.register(app)


_register_series_commands()


def main() -> None:
    app()
