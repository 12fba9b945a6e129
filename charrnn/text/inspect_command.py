"""`charrnn inspect`: the options, parsed; the work is in the package charrnn/text/inspect/."""
import os
import sys
from enum import Enum
from pathlib import Path
from typing import Annotated, List, Optional

import typer

from charrnn import options as o


class StateKind(str, Enum):
    c = "c"
    h = "h"


def inspect(
    inputs: Annotated[List[str], typer.Argument(
        metavar="FILE [FEATURE]",
        help="Text file to look at, or '-' for stdin; with --find, optionally a feature to "
             "rank units for (quotes, brackets, line-pos, indent, word-start, upper, digit).")],
    ckpt: Annotated[Path, typer.Option("--ckpt", help="Text checkpoint file, or a folder (its best.safetensors).")],
    chars: Annotated[Optional[int], typer.Option("--chars", "-n", help="Characters to read and show [default: 2000; 100 with --top].")] = None,
    start: Annotated[int, typer.Option("--start", help="Offset of the first shown character in the file; the state starts fresh there, as eval on the shown text would.")] = 0,
    top: Annotated[Optional[int], typer.Option("--top", help="Show each character's K likeliest guesses (what the model expected there), marking the one that came.")] = None,
    unit: Annotated[Optional[str], typer.Option("--unit", help="Colour by one unit, LAYER:UNIT (layers from 1, units from 0), diverging around zero; 'auto' with --find FEATURE: the unit that tracks it best.")] = None,
    state: Annotated[Optional[StateKind], typer.Option("--state", help="Which state a unit shows: an LSTM's cell state c or hidden h (GRU/RNN: h) [default: c for LSTM; --find searches both].")] = None,
    find: Annotated[bool, typer.Option("--find", help="Rank units by their correlation with features of the text (put the file before --find when naming a FEATURE after it).")] = False,
    html_out: Annotated[Optional[Path], typer.Option("--html", help="Write the view as one self-contained HTML page ('-' for stdout) with hover titles.")] = None,
    json_out: Annotated[bool, typer.Option("--json", help="One JSON object on stdout: per character its char, loss, and unit value / top guesses when asked.")] = False,
    device: Annotated[o.Device, typer.Option("--device", help="Where to run (a few thousand single-stream steps: CPU is quick).")] = o.Device.cpu,
):
    """See inside a text model: colour text by the model's surprise (the default), its
    guesses (--top), one unit (--unit), or find units that track features (--find)."""
    import os
    import sys

    from charrnn import checkpoint
    from charrnn.errors import CharrnnError
    from charrnn.text import inspect as ins_mod
    from charrnn.text.commands import load_model

    data, feature = _split_inputs(inputs, find, ins_mod.FEATURES)
    if feature is not None:
        ins_mod.check_feature(feature)
    if chars is not None and chars < 1:
        raise CharrnnError(f"--chars {chars}: give at least 1 (the characters to show)")
    if top is not None and top < 1:
        raise CharrnnError(f"--top {top}: give at least 1 guess")
    if json_out and html_out is not None and str(html_out) == "-":
        raise CharrnnError("--html - and --json both write to stdout; write the page to a file")
    if html_out is not None and str(html_out) != "-":
        _check_page_path(html_out, data)
    if unit == "auto" and feature is None:
        raise CharrnnError("--unit auto picks the unit that best tracks a feature: give "
                           "--find FEATURE, for example --find quotes --unit auto")
    loaded = checkpoint.load(ckpt, kind="text")
    model, vocab = load_model(loaded, device.value)
    cfg = model.cfg
    state_name = state.value if state is not None else None
    ref = None
    if unit is not None and unit != "auto":
        ref = ins_mod.parse_unit(unit, cfg.cell, cfg.num_layers, cfg.hidden_size, state_name)
    find_states = ins_mod.unit_states(cfg.cell, state_name) if find else ()
    n = chars if chars is not None else (ins_mod.DEFAULT_TOP_CHARS if top else
                                         ins_mod.DEFAULT_CHARS)
    text = ins_mod.read_shown_text(data, start, n)
    source = "stdin" if data == "-" else data
    k = top or (ins_mod.HTML_TOP if html_out is not None else 0)
    if unit == "auto":
        result = ins_mod.inspect_with_auto_unit(model, vocab, loaded.meta, text, source, start,
                                                feature=feature, states=find_states, top_k=k)
    else:
        result = ins_mod.run_inspection(model, vocab, loaded.meta, text, source, start,
                                        unit=ref, top_k=k, find_states=find_states,
                                        find_feature=feature)
    view = result if top else _without_top(result)

    if html_out is not None:
        page = ins_mod.render_html(result)
        if str(html_out) == "-":
            sys.stdout.write(page)
            sys.stdout.flush()
            return
        try:
            html_out.write_text(page, encoding="utf-8")
        except OSError as e:
            raise CharrnnError(f"--html {html_out}: cannot write it ({e.strerror})") from None
        print(f"wrote {html_out}", file=sys.stderr)
    if json_out:
        sys.stdout.write(ins_mod.to_json(view) + "\n")
        sys.stdout.flush()
        return
    color = sys.stdout.isatty() and not os.environ.get("NO_COLOR")
    from rich.console import Console

    console = Console(no_color=not color, highlight=False,
                      width=None if color else 200, soft_wrap=not color)
    if html_out is not None and view.find is None and not top:
        for line in ins_mod.summary_lines(view):  # the page holds the view
            console.print(line, soft_wrap=True, markup=False)
        return
    ins_mod.render_terminal(view, console, color)


def _without_top(result):
    """Guesses computed only for the HTML titles stay out of the terminal and JSON views."""
    from dataclasses import replace

    return replace(result, top_k=0, top_ids=None, top_p=None)


def _split_inputs(inputs: List[str], find: bool, features) -> tuple:
    """FILE, or FILE and FEATURE in either order (a feature only with --find)."""
    from charrnn.errors import CharrnnError

    if len(inputs) == 1:
        return inputs[0], None
    if len(inputs) != 2:
        raise CharrnnError(f"give one FILE (and with --find at most one FEATURE), not "
                           f"{len(inputs)} arguments: {' '.join(inputs)}")
    if not find:
        raise CharrnnError(f"{inputs[1]!r}: a second argument names a feature for --find; give "
                           f"--find, or just the FILE")
    a, b = inputs
    if a in features and b not in features:
        return b, a
    if b in features and a not in features:
        return a, b
    if a in features and b in features:  # a file named like a feature
        return (a, b) if Path(a).exists() else (b, a)
    raise CharrnnError(f"--find: neither {a!r} nor {b!r} is a feature; features: "
                       f"{', '.join(features)}")


def _check_page_path(path: Path, data: str) -> None:
    """An .html name in a folder that exists, not the text read: any other file it named
    (the checkpoint, the corpus) was replaced by the page."""
    from charrnn.errors import CharrnnError

    if path.suffix.lower() not in (".html", ".htm"):
        raise CharrnnError(f"--html {path}: give an .html file name (or - for stdout)")
    if not path.parent.resolve().is_dir():
        raise CharrnnError(f"--html {path}: the folder {path.parent} does not exist")
    if data != "-" and path.resolve() == Path(data).resolve():
        raise CharrnnError(f"--html {path}: that is the text being read; name another file")
    if data == "-" and path.exists() and _same_file(path, sys.stdin):
        raise CharrnnError(f"--html {path}: that is the file on stdin, the text being read; "
                           f"name another file")


def _same_file(path: Path, stream) -> bool:
    """Whether `stream` reads `path` (`inspect ... --html F - < F` replaced its input)."""
    try:
        mine, theirs = os.fstat(stream.fileno()), path.stat()
    except (OSError, ValueError, AttributeError):  # no descriptor (a test's stream)
        return False
    return (mine.st_dev, mine.st_ino) == (theirs.st_dev, theirs.st_ino)
