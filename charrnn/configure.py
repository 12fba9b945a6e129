"""Turning command options into configs the same way for every kind of data: a given option
always wins; a duration reads as seconds; a resumed model keeps its shape; checkpoints must be
writable before any training starts."""
from __future__ import annotations

import math
import os
import re
from pathlib import Path

from charrnn.config import ModelConfig
from charrnn.errors import CharrnnError


def given_options(options: dict) -> dict:
    """The options the user gave: None (not given), False (a flag not set) and [] are left out.

    Sizes beyond what a checkpoint may hold are refused here, before anything is read or
    written, so no run trains a model that `sample`, `--resume` or `forecast` would refuse.
    """
    given = {k: v for k, v in options.items() if v is not None and v is not False and v != []}
    check_sizes(given)
    return given


# option -> the model field it sets (the bounds are the checkpoint loader's)
SIZE_OPTIONS = {"hidden": "hidden_size", "embed": "embed", "layers": "num_layers",
                "horizon": "output_size"}


def check_sizes(given: dict) -> None:
    from charrnn.checkpoint import MAX_SIZES

    for option, field in SIZE_OPTIONS.items():
        value = given.get(option)
        if isinstance(value, int) and value > MAX_SIZES[field]:
            raise CharrnnError(f"--{option} {value}: at most {MAX_SIZES[field]:,} (the largest "
                               f"model a charrnn checkpoint holds)")


def check_options(options: dict, resumed: dict | None = None) -> None:
    """Every check on the options alone, so a bad one stops a run before its data is read."""
    given = given_options(options)
    parse_duration(given.get("time_budget"))
    if resumed is not None:
        from charrnn.config import from_dict

        refuse_new_shape(given, from_dict(ModelConfig, resumed["model"]))
        refuse_new_split(given, resumed["train"])


def parse_duration(value: str | None) -> float | None:
    """'600', '90s', '10m', '1.5h' -> seconds."""
    if value is None:
        return None
    match = re.fullmatch(r"\s*(\d+(?:\.\d*)?)\s*([smh]?)\s*", value)
    if not match or not 0 < float(match.group(1)) * 3600 < math.inf:  # 400 nines: inf
        raise CharrnnError(f"--time-budget {value!r}: give a positive duration written as 600, "
                           f"90s, 10m or 1.5h (seconds, minutes, hours)")
    return float(match.group(1)) * {"": 1, "s": 1, "m": 60, "h": 3600}[match.group(2)]


MODEL_OPTIONS = {"cell": "cell", "hidden": "hidden_size", "layers": "num_layers", "embed": "embed",
                 "dropout": "dropout", "ensemble": "ensemble"}


def refuse_new_shape(given: dict, model_cfg: ModelConfig) -> None:
    """On resume the model's shape comes from the checkpoint; a different one is an error."""
    for option, field in MODEL_OPTIONS.items():
        if option in given and given[option] != getattr(model_cfg, field):
            raise CharrnnError(f"--{option} {given[option]}: the resumed model has "
                               f"{getattr(model_cfg, field)}; its shape comes from the checkpoint "
                               f"(drop --{option}, or train a new model)")


def refuse_new_split(given: dict, trained: dict) -> None:
    """A resumed run validates on the part it held out: another --val-frac would move the
    boundary, and validate on windows it has trained on or train on windows it validated."""
    asked, held = given.get("val_frac"), trained.get("val_frac")
    if asked is not None and held is not None and asked != held:
        raise CharrnnError(f"--val-frac {asked:g}: the resumed run holds out {held:g}; the split "
                           f"comes from the checkpoint (drop --val-frac, or train a new model)")


def check_writable(folder: Path, kind: str | None = None) -> None:
    """Fail before training, not after an hour, when checkpoints cannot be written there, or
    (given the run's `kind`) when they would replace another kind's: a text run into a series
    model's folder replaced its checkpoints without a word.

    Creates nothing: the folder appears with the first checkpoint.
    """
    try:
        probe = folder.resolve()
    except (RuntimeError, OSError) as e:  # a symlink loop
        raise CharrnnError(f"--out {folder}: cannot be followed ({e}); choose another "
                           f"folder") from None
    while not probe.exists():
        probe = probe.parent
    if not probe.is_dir() or not os.access(probe, os.W_OK | os.X_OK):
        raise CharrnnError(f"--out {folder}: cannot write checkpoints there ({probe} is not a "
                           f"writable folder); choose another folder")
    for name in ("best.safetensors", "last.safetensors"):
        if (folder / name).is_dir():  # found only when the first checkpoint is written
            raise CharrnnError(f"--out {folder}: {folder / name} is a folder, where the run's "
                               f"checkpoint goes; remove it or choose another --out")
    if kind is None:
        return
    from charrnn import checkpoint

    for name in ("best.safetensors", "last.safetensors"):
        if not (folder / name).is_file():
            continue
        try:
            held = checkpoint.kind_of(folder / name)
        except CharrnnError:
            continue  # not a checkpoint charrnn reads: replaced as before
        if held != kind:
            raise CharrnnError(f"--out {folder}: holds a {held} model's checkpoints, which this "
                               f"{kind} run would replace; choose another folder")
