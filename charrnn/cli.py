"""The `charrnn` command line: the app, its commands, and one error policy for all of them.

The commands are declared in text/cli.py and series/cli.py (options from options.py) and
registered here; heavy imports (torch) happen inside them, so `--help` answers at once.
"""
import os
import signal
import sys


def _interrupted_while_starting(signum, frame):  # Ctrl-C before the error policy is in place
    os.write(2, b"error: interrupted\n")
    os._exit(130)


# the imports below take a while (typer, rich): a Ctrl-C then must not print a traceback
_previous_sigint = signal.getsignal(signal.SIGINT)
_startup_guard = _previous_sigint is signal.default_int_handler
if _startup_guard:
    signal.signal(signal.SIGINT, _interrupted_while_starting)

import contextlib  # noqa: E402
import errno  # noqa: E402
import threading  # noqa: E402
import traceback  # noqa: E402
from pathlib import Path  # noqa: E402
from typing import Annotated, Optional  # noqa: E402

import typer  # noqa: E402
from typer.core import TyperGroup

try:  # noqa: E402  typer >= 0.2x vendors click
    from typer._click import exceptions as click_exceptions
except ImportError:  # pragma: no cover
    from click import exceptions as click_exceptions

from charrnn import info_command  # noqa: E402
from charrnn import options as o  # noqa: E402
from charrnn.errors import EXIT_FAILURE, EXIT_INTERRUPTED, CharrnnError  # noqa: E402
from charrnn.series import cli as series_cli  # noqa: E402
from charrnn.text import cli as text_cli  # noqa: E402
from charrnn.text import inspect_command  # noqa: E402

TRAINING_COMMANDS = ("train-text", "train-series")
OUTPUT_FAILURES = (errno.ENOSPC, errno.EDQUOT, errno.EIO, errno.EFBIG)


class _Group(TyperGroup):
    """Every error becomes one `error:` line on stderr with a meaningful exit code.

    `main` sees what goes wrong while parsing (usage errors); `invoke` sees what goes wrong
    inside a command, before typer would turn a broken pipe or Ctrl-C into a bare exit code.
    """

    def main(self, args=None, prog_name=None, complete_var=None, standalone_mode=True, **extra):
        try:
            code = super().main(args=args, prog_name=prog_name, complete_var=complete_var,
                                standalone_mode=False, **extra)
        except click_exceptions.NoArgsIsHelpError as e:  # a bare `charrnn`: no command given
            _exit(e.format_message(), 2)
        except BrokenPipeError:  # `charrnn --help | head`
            _quiet_stdout()
            sys.exit(0)
        except OSError as e:  # --help or --version into a full stdout
            _output_failed(e)
        except click_exceptions.UsageError as e:  # one line, naming where the help is
            where = f" (see {e.ctx.command_path} --help)" if e.ctx is not None else ""
            print(f"error: {e.format_message()}{where}", file=sys.stderr)
            sys.exit(2)
        except click_exceptions.ClickException as e:
            _exit(f"error: {e.format_message()}", e.exit_code)
        except (CharrnnError, KeyboardInterrupt) as e:
            _exit_for(e)
        sys.exit(code if isinstance(code, int) else 0)

    def invoke(self, ctx):
        try:
            with _isolated():
                return super().invoke(ctx)
        except (click_exceptions.ClickException, typer.Exit, typer.Abort):
            raise
        except (CharrnnError, KeyboardInterrupt) as e:
            _exit_for(e)
        except BrokenPipeError:
            _quiet_stdout()
            if ctx.invoked_subcommand not in TRAINING_COMMANDS:
                sys.exit(0)  # `sample | head`: the reader had enough
            _say("error: the reader of the output went away (broken pipe); training stopped")
            sys.exit(EXIT_FAILURE)
        except OSError as e:
            _output_failed(e)
        except MemoryError:
            _say(f"error: out of memory; {_less_memory(ctx.invoked_subcommand)}")
            sys.exit(EXIT_FAILURE)
        except RuntimeError as e:  # torch's allocators raise RuntimeError subclasses
            if "out of memory" not in str(e) and "can't allocate memory" not in str(e):
                _internal_error()
            _say(f"error: out of memory ({str(e).splitlines()[0][:200]}); "
                 f"{_less_memory(ctx.invoked_subcommand)}")
            sys.exit(EXIT_FAILURE)
        except Exception:
            _internal_error()


def _less_memory(command: str | None) -> str:
    """What to ask for instead, in the options the command has."""
    if command in TRAINING_COMMANDS:
        return "choose a smaller model (--hidden, --layers, --embed) or --batch-size"
    if command == "sample":
        return "ask for fewer --num-samples"
    return "the model or the input is too large for this machine's memory"


def _output_failed(e: OSError) -> None:
    """A full disk or stdout: one line, exit 1. Files charrnn writes name themselves; a
    stream write does not."""
    if e.errno not in OUTPUT_FAILURES:
        _internal_error()
    where = e.filename if e.filename is not None else "the output to stdout"
    if e.filename is None:
        _quiet_stdout()
    _say(f"error: cannot write {where} ({e.strerror or e})")
    sys.exit(EXIT_FAILURE)


def _exit_for(e: BaseException) -> None:
    """A CharrnnError's line and code, or Ctrl-C's."""
    if isinstance(e, KeyboardInterrupt):
        _exit("error: interrupted", EXIT_INTERRUPTED)
    _exit(f"error: {e}", e.exit_code)


def _exit(line: str, code: int) -> None:
    _say(line)
    sys.exit(code)


def _internal_error() -> None:
    print("error: internal error; this is a bug in charrnn, please report it with the "
          "traceback below", file=sys.stderr)
    traceback.print_exc()
    sys.exit(1)


def _say(line: str) -> None:
    """One line on stderr, which may itself be the pipe that went away."""
    try:
        print(line, file=sys.stderr, flush=True)
    except (OSError, ValueError, AttributeError):
        pass


def _isolated():
    with _exit_on_sigint(_as_command):  # torch's import swallows a Ctrl-C in places
        from charrnn.runtime import isolated

    return isolated()


_as_command = False  # main() runs: this process is the command line, not an importer


@contextlib.contextmanager
def _exit_on_sigint(enabled: bool):
    """While imports run, Ctrl-C exits at once with one line (no partly imported modules)."""
    if not enabled or threading.current_thread() is not threading.main_thread():
        yield
        return
    previous = signal.signal(signal.SIGINT, _interrupted_while_starting)
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, previous)


def _quiet_stdout() -> None:
    """The reader went away (`| head`): point stdout at /dev/null so exit flushes quietly."""
    import os

    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
    except (OSError, ValueError, AttributeError):
        pass


app = typer.Typer(cls=_Group, no_args_is_help=True, pretty_exceptions_enable=False,
                  rich_markup_mode=None, help="Recurrent networks on characters and time series.")


def _version(value: bool) -> None:
    if value:
        from charrnn import __version__

        print(f"charrnn {__version__}")
        raise typer.Exit()


@app.callback()
def _main(version: Annotated[bool, typer.Option("--version", callback=_version, is_eager=True,
                                                help="Print the version and exit.")] = False):
    """Recurrent networks on characters and time series."""


@app.command("eval")
def evaluate(
    data: Annotated[str, typer.Argument(help="Text file or CSV to score, or '-' for stdin.")],
    ckpt: o.Ckpt,
    json_out: o.JsonOut = False,
    device: o.DeviceOpt = o.Device.auto,
    all_rows: Annotated[bool, typer.Option("--all", help="Series: score every window, not only the test part.")] = False,
    season: Annotated[Optional[int], typer.Option("--season", min=1, help="Series: add a seasonal-naive baseline of period M.")] = None,
    plot: Annotated[Optional[Path], typer.Option("--plot", help="Series: write truth vs prediction to a PNG.")] = None,
    level: o.Level = None,
    exact: text_cli.ExactEval = False,
):
    """Score a model honestly: text in nats and bits per char; series beside persistence."""
    from charrnn import checkpoint

    loaded = checkpoint.load(ckpt)
    if loaded.kind == "text":
        given = [name for name, value in (("--all", all_rows), ("--season", season),
                                         ("--plot", plot), ("--level", level)) if value]
        if given:
            raise CharrnnError(f"{', '.join(given)}: for series models; {ckpt} is a text model")
        from charrnn.text import commands

        commands.evaluate(loaded, data, json_out, device.value, exact)
    else:
        if exact:  # a series is scored window by window already: nothing to make exact
            raise CharrnnError(f"--exact: for text models; {ckpt} is a series model")
        from charrnn.series import commands

        commands.evaluate(loaded, data, json_out, device.value, all_rows, season, plot, level)


app.command("train-text")(text_cli.train_text)
app.command("sample")(text_cli.sample)
app.command("train-series")(series_cli.train_series)
app.command("forecast")(series_cli.forecast)
app.command("backtest")(series_cli.backtest)
app.command("inspect")(inspect_command.inspect)
app.command("info")(info_command.info)


def main() -> None:
    """The entry point: UTF-8 output whatever the locale, and a clean Ctrl-C from the start."""
    global _as_command
    _as_command = True
    try:
        if sys.stdout is None:  # `charrnn ... >&-`: data would be lost
            _say("error: stdout is closed; send it to a file, a pipe or /dev/null")
            sys.exit(2)
        _utf8_output()
        app()
    except KeyboardInterrupt:
        _say("error: interrupted")
        sys.exit(EXIT_INTERRUPTED)
    except SystemExit as e:
        if int(os.environ.get("WORLD_SIZE", "1")) > 1:
            # under torchrun, gloo's C++ teardown aborted about 1 run in 40 on a busy machine,
            # after every rank had finished and rank 0 had written its checkpoints: leave
            # without it (the process group is destroyed, the files are fsynced)
            code = e.code if isinstance(e.code, int) else 0 if e.code is None else 1
            sys.stdout.flush()
            sys.stderr.flush()
            os._exit(code)
        raise
    finally:
        # The command is done; what is left is the interpreter's teardown (torch's finalizers),
        # where a Ctrl-C printed "Exception ignored in atexit callback" and a traceback.
        signal.signal(signal.SIGINT, signal.SIG_IGN)


def _utf8_output() -> None:
    """Korean text prints under LANG=C or a Latin-1 locale as under a UTF-8 one."""
    for stream in (sys.stdout, sys.stderr):
        encoding = (getattr(stream, "encoding", None) or "").lower().replace("-", "")
        if encoding != "utf8" and hasattr(stream, "reconfigure"):
            try:
                stream.reconfigure(encoding="utf-8")
            except (OSError, ValueError):
                pass
if _startup_guard:  # imported, not run: an importer (a test, a notebook) keeps Python's Ctrl-C
    signal.signal(signal.SIGINT, _previous_sigint)
