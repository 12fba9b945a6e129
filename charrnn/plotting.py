"""PNG plots for `eval --plot` and `info --plot`, with matplotlib (the optional `plot` extra):
the path checked before any work, the figure drawn off-screen, written or a clear error."""
from __future__ import annotations

from pathlib import Path

from charrnn.errors import CharrnnError


def check_plot_path(path: Path) -> None:
    """Before anything is computed: the extra is installed and the file can be written."""
    try:
        import matplotlib  # noqa: F401
    except ImportError:
        raise CharrnnError("--plot needs matplotlib, an optional extra: pip install "
                           "charrnn[plot]") from None
    if path.suffix.lower() != ".png":
        raise CharrnnError(f"--plot {path}: give a .png file name")
    if not path.parent.resolve().is_dir():
        raise CharrnnError(f"--plot {path}: the folder {path.parent} does not exist")


def pyplot():
    """matplotlib.pyplot drawing off-screen (no display needed)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def save_png(fig, path: Path) -> None:
    fig.tight_layout()
    try:
        fig.savefig(path, format="png")
    except OSError as e:
        raise CharrnnError(f"--plot {path}: cannot write ({e.strerror})") from None
    finally:
        pyplot().close(fig)
