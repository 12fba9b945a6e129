"""The `charrnn` command line: the app, its commands, and one error policy for all of them.

The commands are declared in text/cli.py and series/cli.py (options from options.py) and
registered here; heavy imports (torch) happen inside them, so `--help` answers at once.
"""
import sys
import traceback
from pathlib import Path
from typing import Annotated, Optional

import typer
from typer.core import TyperGroup

try:  # typer >= 0.2x vendors click
    from typer._click import exceptions as click_exceptions
except ImportError:  # pragma: no cover
    from click import exceptions as click_exceptions

from charrnn import options as o
from charrnn.errors import EXIT_INTERRUPTED, CharrnnError
from charrnn.series import cli as series_cli
from charrnn.text import cli as text_cli


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
            with _isolated():
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


def _isolated():
    from charrnn.runtime import isolated

    return isolated()


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
):
    """Score a model honestly: text in nats and bits per char; series beside persistence."""
    from charrnn import checkpoint

    loaded = checkpoint.load(ckpt)
    if loaded.kind == "text":
        given = [name for name, value in (("--all", all_rows), ("--season", season),
                                         ("--plot", plot)) if value]
        if given:
            raise CharrnnError(f"{', '.join(given)}: for series models; {ckpt} is a text model")
        from charrnn.text import commands

        commands.evaluate(loaded, data, json_out, device.value)
    else:
        from charrnn.series import commands

        commands.evaluate(loaded, data, json_out, device.value, all_rows, season, plot)


app.command("train-text")(text_cli.train_text)
app.command("sample")(text_cli.sample)
app.command("train-series")(series_cli.train_series)
app.command("forecast")(series_cli.forecast)


def main() -> None:
    app()
from charrnn.text.inspect_command import inspect as _inspect
app.command("inspect")(_inspect)
