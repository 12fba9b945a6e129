"""`charrnn info` as typer declares it; the model card itself is computed in info.py."""
from pathlib import Path
from typing import Annotated, Optional

import typer

from charrnn import options as o


def info(
    ckpt: o.Ckpt,
    last: Annotated[bool, typer.Option("--last", help="With a folder: its last.safetensors (where the run stands), not its best.")] = False,
    json_out: Annotated[bool, typer.Option("--json", help="The card as one JSON object on stdout.")] = False,
    plot: Annotated[Optional[Path], typer.Option("--plot", help="Write the learning curves (train and validation per epoch, the best marked) to a PNG; needs the plot extra.")] = None,
):
    """A checkpoint's model card: configs, vocabulary, size, progress, best epoch, lineage and
    its history with sparklines; text and series models."""
    from charrnn.info import show

    show(ckpt, last, json_out, plot)
