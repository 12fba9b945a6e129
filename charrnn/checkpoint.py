"""Checkpoints: one safetensors file, tensors plus JSON metadata in its header. Never pickle.

Loading a stranger's file runs no code: the header size is bounded before it is read, the
metadata is parsed as JSON and validated (format, version, kind, shapes) before any tensor
is touched, and older format versions are upgraded by an ordered table of migrations.
"""
from __future__ import annotations

import json
import math
import os
import struct
from dataclasses import dataclass
from pathlib import Path

import torch
from safetensors.torch import load as st_load
from safetensors.torch import save as st_save

from charrnn.atomic import atomic_writer
from charrnn.errors import CharrnnError

FORMAT = "charrnn"
VERSION = 2
META_KEY = "charrnn"
MAX_HEADER_BYTES = 64 * 1024 * 1024
# a weight this large has diverged though finite: the forward pass overflows float32 on some
# inputs (--lr 1e30 left weights near 1.7e30 and a finite training loss of 3e29). Training
# stops there (engine/trainer.py) and a checkpoint holding one is refused.
HUGE_WEIGHT = 1e15
# the largest model this loader reads; the CLI refuses larger sizes up front (configure.py)
MAX_SIZES = {"input_size": 1 << 21, "output_size": 1 << 21, "hidden_size": 1 << 16,
             "num_layers": 64, "embed": 1 << 16, "ensemble": 1 << 10}
_DTYPES = {"F64", "F32", "F16", "BF16", "I64", "I32", "I16", "I8", "U8", "BOOL"}
_V1_TEXT_TASK = ("seq_len", "sliding")
_V1_SERIES_TASK = ("window", "horizon", "test_frac", "scale_fit", "target_mode", "loss", "target",
                   "features", "newest_first", "fill")


def _split_train_from_task(meta: dict) -> dict:
    """v2: "train" holds the shared trainer's settings and "task" what the kind of data reads
    (v1 mixed them, and series kept no trainer settings but lr, epochs, seed, save_every)."""
    train = dict(meta["train"]) if isinstance(meta.get("train"), dict) else {}
    keys = _V1_TEXT_TASK if meta.get("kind") == "text" else _V1_SERIES_TASK
    meta["task"] = {k: train.pop(k) for k in keys if k in train}
    if meta.get("kind") == "series":
        meta.pop("window", None)  # v1 series: the window size, now in "task"; v2: the position
        train.update(grad_clip=0.0, batch_size=None)  # v1 series: full batch, no clipping
    meta["train"] = train
    return meta


# version n -> function upgrading metadata of version n to n + 1, each saying what changed.
MIGRATIONS: dict[int, callable] = {1: _split_train_from_task}


@dataclass
class Checkpoint:
    path: Path
    meta: dict
    tensors: dict[str, torch.Tensor]

    @property
    def kind(self) -> str:
        return self.meta["kind"]

    def group(self, prefix: str) -> dict[str, torch.Tensor]:
        return group(self.tensors, prefix)


def group(tensors: dict, prefix: str) -> dict[str, torch.Tensor]:
    """Tensors saved under `prefix.`, with the prefix removed."""
    n = len(prefix) + 1
    return {k[n:]: v for k, v in tensors.items() if k.startswith(prefix + ".")}


def resolve(path: str | Path, prefer: str = "best") -> Path:
    """A checkpoint file, or a folder holding `best.safetensors` and `last.safetensors`;
    `prefer` says which a folder gives first (resuming wants `last`)."""
    p = Path(path)
    if p.is_dir():
        order = ("best", "last") if prefer == "best" else ("last", "best")
        for name in (f"{order[0]}.safetensors", f"{order[1]}.safetensors"):
            if (p / name).is_file():
                return p / name
        raise CharrnnError(f"checkpoint folder {p}: holds no best.safetensors or last.safetensors")
    if not p.exists():
        what = ("a symbolic link that leads to no file (a loop or a missing target)"
                if p.is_symlink() else "no such file or folder")
        raise CharrnnError(f"checkpoint {p}: {what}")
    return p


def save(path: Path, tensors: dict[str, torch.Tensor], meta: dict) -> Path:
    """Write atomically: temp file in the same folder, fsync, rename, fsync the folder."""
    meta = {"format": FORMAT, "version": VERSION, **meta}
    flat = {k: v.detach().to("cpu").contiguous().clone() for k, v in tensors.items()}
    payload = st_save(flat, metadata={META_KEY: json.dumps(meta)})
    path.parent.mkdir(parents=True, exist_ok=True)
    with atomic_writer(path) as f:
        f.write(payload)
    return path


def remove_stale_temps(folder: Path) -> None:
    """Temp files of writes that a crash cut short; the checkpoints beside them are whole."""
    for tmp in Path(folder).glob(".*.safetensors.*.tmp"):
        try:
            tmp.unlink()
        except OSError:
            pass


def load(path: str | Path, kind: str | None = None, prefer: str = "best") -> Checkpoint:
    """Read and validate a checkpoint; CharrnnError (exit 2) for anything that is not ours.

    Only the 8-byte size and the bounded JSON header are read before the metadata is valid;
    the tensors come after.
    """
    p = resolve(path, prefer)
    meta, data = _read(p)
    name = f"checkpoint {p}"
    if kind is not None and meta["kind"] != kind:
        raise CharrnnError(f"{name}: is a {meta['kind']} model, but this command needs a {kind} "
                           f"model")
    try:
        tensors = st_load(data)
    except Exception as e:  # safetensors raises its own error types for corrupt payloads
        raise CharrnnError(f"{name}: corrupt tensor data ({e})") from None
    for key, t in tensors.items():  # a run never saves these: eval printed nan, exit 0
        if key.startswith(("model.", "trained.")) and t.is_floating_point() and t.numel() \
                and not bool(t.abs().max() <= HUGE_WEIGHT):
            raise CharrnnError(f"{name}: tensor {key!r} holds NaN, infinite or huge values "
                               f"(beyond {HUGE_WEIGHT:.0e}); not weights a run kept")
    return Checkpoint(p, meta, tensors)


def kind_of(path: Path) -> str:
    """The kind of a checkpoint file, from its validated metadata alone (no tensors read)."""
    return _read(path, tensors=False)[0]["kind"]


def _read(p: Path, tensors: bool = True) -> tuple[dict, bytes | None]:
    """(validated metadata, the whole file's bytes, or None without `tensors`)."""
    name = f"checkpoint {p}"
    if not p.is_file():
        raise CharrnnError(f"{name}: not a regular file")
    try:
        with open(p, "rb") as f:
            head = f.read(8)
            size = len(head) == 8 and struct.unpack("<Q", head)[0]
            total = os.fstat(f.fileno()).st_size
            if not size or size > MAX_HEADER_BYTES or size > total - 8:
                return _refuse_header(name, size, total)
            header_bytes = f.read(size)
            header = _read_header(head + header_bytes, total, name)
            meta = _read_meta(header, name)
            return meta, (head + header_bytes + f.read()) if tensors else None
    except OSError as e:
        raise CharrnnError(f"{name}: cannot be read ({e.strerror})") from None


def _refuse_header(name: str, size, total: int):
    if total < 8:
        raise CharrnnError(f"{name}: empty or truncated; not a charrnn checkpoint")
    raise CharrnnError(f"{name}: not a safetensors file (header of {size} bytes in a file of "
                       f"{total}); truncated, or a different format")


def _read_header(data: bytes, total: int, name: str) -> dict:
    """`data` is the size field and the header; `total` the file's length."""
    size = len(data) - 8
    if size < 2:
        _refuse_header(name, size, total)
    try:
        header = json.loads(data[8:8 + size].decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError):
        raise CharrnnError(f"{name}: malformed safetensors header; not a charrnn checkpoint") from None
    if not isinstance(header, dict):
        raise CharrnnError(f"{name}: malformed safetensors header; not a charrnn checkpoint")
    body = total - 8 - size
    for key, info in header.items():
        if key == "__metadata__":
            continue
        if not _valid_entry(info, body):
            raise CharrnnError(f"{name}: tensor {key!r} is malformed or lies past the end of the "
                               f"file (truncated?)")
    return header


def _valid_entry(info, body: int) -> bool:
    if not isinstance(info, dict) or info.get("dtype") not in _DTYPES:
        return False
    shape, offsets = info.get("shape"), info.get("data_offsets")
    if not (isinstance(shape, list) and all(isinstance(d, int) and d >= 0 for d in shape)):
        return False
    if not (isinstance(offsets, list) and len(offsets) == 2
            and all(isinstance(o, int) for o in offsets)):
        return False
    return 0 <= offsets[0] <= offsets[1] <= body


def _read_meta(header: dict, name: str) -> dict:
    raw = header.get("__metadata__")
    if not isinstance(raw, dict) or META_KEY not in raw:
        raise CharrnnError(f"{name}: a safetensors file without charrnn metadata; not a charrnn "
                           f"checkpoint")
    try:
        meta = json.loads(raw[META_KEY])
    except (TypeError, json.JSONDecodeError):
        raise CharrnnError(f"{name}: charrnn metadata is not valid JSON") from None
    if not isinstance(meta, dict) or meta.get("format") != FORMAT:
        raise CharrnnError(f"{name}: not a charrnn checkpoint")
    version = meta.get("version")
    if not isinstance(version, int) or version < 1:
        raise CharrnnError(f"{name}: bad format version {version!r}")
    if version > VERSION:
        raise CharrnnError(f"{name}: format version {version} is newer than this charrnn reads "
                           f"({VERSION}); upgrade charrnn")
    while version < VERSION:
        meta = MIGRATIONS[version](meta)
        version += 1
        meta["version"] = version
    if meta.get("kind") not in ("text", "series"):
        raise CharrnnError(f"{name}: unknown checkpoint kind {meta.get('kind')!r}")
    meta.setdefault("task", {})  # every field of the task's config has a default
    for key, typ in (("model", dict), ("train", dict), ("task", dict)):
        if not isinstance(meta.get(key), typ):
            raise CharrnnError(f"{name}: metadata lacks a valid {key!r} section")
    _check_shapes(header, meta, name)
    try:
        _check_run_meta(header, meta)
        if meta["kind"] == "text":
            _check_text_meta(meta)
        else:
            _check_series_meta(meta)
    except (TypeError, ValueError, KeyError, AttributeError, OverflowError) as e:
        raise CharrnnError(f"{name}: invalid metadata ({e}); not a checkpoint charrnn wrote") from None
    return meta


def _check_run_meta(header: dict, meta: dict) -> None:
    """Everything --resume will read, checked before any of it is used."""
    from charrnn.config import ModelConfig, TrainConfig, check_types

    check_types(TrainConfig, meta["train"])
    for key in ("epoch", "step", "window", "epoch_steps", "best_epoch"):
        if not isinstance(meta.get(key, 0), int) or isinstance(meta.get(key, 0), bool) or meta.get(key, 0) < 0:
            raise ValueError(f"{key} is not a count")
    for key in ("epoch_loss_sum", "best_loss"):
        if not isinstance(meta.get(key) or 0.0, (int, float)):
            raise ValueError(f"{key} is not a number")
    elapsed = meta.get("elapsed", 0.0)
    if not (isinstance(elapsed, (int, float)) and math.isfinite(elapsed) and elapsed >= 0):
        raise ValueError("elapsed is not a number of seconds")
    history = meta.get("history", [])
    if not (isinstance(history, list) and all(_history_entry(h) for h in history)):
        raise ValueError("history is not a list of epochs")
    optim = meta.get("optimizer")
    if optim is not None:
        groups = optim.get("param_groups") if isinstance(optim, dict) else None
        if not (isinstance(groups, list) and all(isinstance(g, dict) and isinstance(g.get("params"), list)
                                                for g in groups)):
            raise ValueError("optimizer state is malformed")
    if "rng.torch" in header and header["rng.torch"]["dtype"] != "U8":
        raise ValueError("the RNG state is not bytes")
    cfg = ModelConfig(**{k: v for k, v in meta["model"].items() if k in ModelConfig.__dataclass_fields__})
    for key, info in header.items():
        if key.startswith("carry.") and (len(info["shape"]) != 3 or info["shape"][0] != cfg.num_layers
                                         or info["shape"][2] != cfg.hidden_size):
            raise ValueError(f"{key} does not fit the model")


def _history_entry(entry) -> bool:
    """One epoch's record as Trainer writes it: counts, and losses that are numbers or None."""
    def number(x, none_ok=False):
        return (x is None and none_ok) or (isinstance(x, (int, float)) and not isinstance(x, bool))
    return (isinstance(entry, dict) and number(entry.get("epoch"))
            and number(entry.get("step"), True)  # format 1's series runs wrote none
            and number(entry.get("train_loss"), True) and number(entry.get("val_loss"), True))


def _check_text_meta(meta: dict) -> None:
    """What sample and eval read of a text model."""
    from charrnn.config import check_types
    from charrnn.config import TextConfig

    check_types(TextConfig, meta["task"])
    vocab = meta.get("vocab")
    if not isinstance(vocab, str) or not vocab or vocab != "".join(sorted(set(vocab))):
        raise ValueError("the vocabulary is not a sorted string of distinct characters")


def _check_series_meta(meta: dict) -> None:
    """What eval and forecast read of a series model."""
    from charrnn.config import check_types
    from charrnn.config import SeriesConfig

    check_types(SeriesConfig, meta["task"])
    keys = ("panel", "columns") if meta["task"].get("id_column") else ("scaler", "coder", "columns")
    for key in keys:
        if not isinstance(meta.get(key), dict):
            raise ValueError(f"{key} is not a mapping")
    if not isinstance(meta.get("conformal"), (dict, type(None))):
        raise ValueError("conformal is not a mapping")
    if meta["task"].get("id_column"):
        return
    columns, scaler, coder = meta["columns"], meta["scaler"], meta["coder"]
    features = columns.get("features")
    if not (isinstance(features, list) and features and all(isinstance(f, str) for f in features)):
        raise ValueError("columns.features is not a list of names")
    for key in ("min", "max"):
        values = scaler.get(key)
        if not (isinstance(values, list) and len(values) == len(scaler.get("columns") or [])
                and len(values) >= len(features)):
            raise ValueError(f"scaler.{key} does not have a value per column")
    index = coder.get("target_index")
    if index is not None and not (isinstance(index, int) and 0 <= index < len(features)):
        raise ValueError(f"coder.target_index {index!r} is not a column of {len(features)}")


def _check_shapes(header: dict, meta: dict, name: str) -> None:
    """The model the metadata describes must have exactly the tensors the file holds."""
    from charrnn.config import ModelConfig, check_types, from_dict
    from charrnn.model import build_model

    try:
        check_types(ModelConfig, meta["model"])
        cfg = from_dict(ModelConfig, meta["model"])
        if meta["kind"] == "text" and len(meta.get("vocab", "")) != cfg.input_size:
            raise ValueError("vocabulary length differs from the model's input size")
        if not (0 < cfg.input_size <= MAX_SIZES["input_size"]
                and 0 < cfg.output_size <= MAX_SIZES["output_size"]
                and 0 < cfg.hidden_size <= MAX_SIZES["hidden_size"]
                and 0 < cfg.num_layers <= MAX_SIZES["num_layers"]
                and 0 <= cfg.embed <= MAX_SIZES["embed"]
                and cfg.ensemble <= MAX_SIZES["ensemble"]):
            raise ValueError("model sizes out of range")
        if meta["kind"] == "text" and cfg.ensemble != 1:
            raise ValueError("a text model is one network, not an ensemble")
        with torch.device("meta"):
            expected = {f"model.{k}": list(v.shape) for k, v in build_model(cfg).state_dict().items()}
    except (TypeError, ValueError) as e:
        raise CharrnnError(f"{name}: invalid model metadata ({e})") from None
    for key, shape in expected.items():
        if key not in header or header[key]["shape"] != shape:
            raise CharrnnError(f"{name}: tensor {key} is missing or has the wrong shape for the "
                               f"model its metadata describes")
