"""Text in: reading corpora, the code-point vocabulary, ids, and training windows."""
from __future__ import annotations

import codecs
import os
import re
import sys
import sysconfig
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from charrnn.errors import CharrnnError

BUILTIN_CORPORA = {
    "@stdlib": "the Python standard library's own source files, assembled at run time",
}
STDLIB_MAX_CHARS = 1_000_000
_STDLIB_SKIP = ("test", "tests", "idlelib", "lib2to3", "tkinter", "turtledemo", "site-packages",
                "ensurepip", "pydoc_data")


GLOB_CHARS = re.compile(r"[*?\[\]]")
STREAM_BLOCK = 1 << 20  # bytes read at a time from a stream


def corpus_name(source: str) -> str:
    """Name for the default checkpoint folder: `checkpoints/<name>/`; never holds a glob
    character. A glob is named by the folder it searches (`data/**/*.txt`: `data`); a bare
    pattern by the literal part of its name (`shakespeare*.txt`: `shakespeare`), else by the
    current folder."""
    if source == "-":
        return "stdin"
    if source in BUILTIN_CORPORA:
        return source[1:]
    path = Path(source)
    if GLOB_CHARS.search(source) and not path.exists():
        parts = path.parts
        first = next(i for i, part in enumerate(parts) if GLOB_CHARS.search(part))
        if first == 0 and len(parts) == 1:  # a bare pattern: its literal part
            literal = GLOB_CHARS.sub("", path.stem).strip("._- ")
            if literal:
                return literal
        folder = Path(os.path.abspath(os.path.join(*parts[:first]) if first else "."))
        return GLOB_CHARS.sub("", folder.name) or "corpus"
    if str(path).startswith(("/dev/fd/", "/proc/self/fd/")):  # `<(cat corpus.txt)`
        return "stream"
    return GLOB_CHARS.sub("", path.stem) or "corpus"


def stdin_bytes(what: str):
    """stdin as a binary stream; CharrnnError when it is closed (`<&-`)."""
    if sys.stdin is None or getattr(sys.stdin, "closed", False):
        raise CharrnnError(f"{what} '-': stdin is closed; pipe some text in or give a file")
    stream = getattr(sys.stdin, "buffer", None)
    return stream if stream is not None else _TextAsBytes(sys.stdin)


class _TextAsBytes:
    """A text stream (as in tests) read as UTF-8 bytes."""

    def __init__(self, stream):
        self.stream = stream

    def read(self, n: int = -1) -> bytes:
        return self.stream.read(n).encode("utf-8")


def check_text_block(decoder, offset: int, block: bytes, name: str) -> None:
    """A block of a stream read whole that is not UTF-8 text stops the read at once: a device
    such as /dev/urandom never ends. `decoder`: the stream's incremental UTF-8 decoder."""
    nul = block.find(b"\0")
    if nul >= 0:
        raise CharrnnError(f"{name}: looks binary (NUL byte at byte offset {offset + nul}); give "
                           f"UTF-8 text")
    try:
        decoder.decode(block)
    except UnicodeDecodeError as e:  # e.object: the bytes held back from the last block too
        at = offset - (len(e.object) - len(block)) + e.start
        raise CharrnnError(f"{name}: not UTF-8 text: undecodable byte 0x{e.object[e.start]:02x} "
                           f"at byte offset {at}; convert it first (for example with iconv)"
                           ) from None


def _read_checked(stream, name: str) -> bytes:
    decoder, parts, offset = codecs.getincrementaldecoder("utf-8")(), [], 0
    while block := stream.read(STREAM_BLOCK):
        check_text_block(decoder, offset, block, name)
        parts.append(block)
        offset += len(block)
    return b"".join(parts)


def read_bytes(source: str, what: str = "corpus") -> bytes:
    """Bytes of a file path, or of stdin for `-`; a clear error for what cannot be read.
    Streams (stdin, a pipe, a device) are checked for text as they arrive."""
    if source == "-":
        try:
            data = _read_checked(stdin_bytes(what), f"{what} '-'")
        except OSError as e:  # a descriptor 0 that is not readable
            raise CharrnnError(f"{what} '-': stdin cannot be read ({e.strerror})") from None
        if not data:
            raise CharrnnError(f"{what} '-': nothing arrived on stdin; pipe some text in or give a file")
        return data
    if not str(source).strip():  # Path("") is the current folder
        raise CharrnnError(f"{what} '': the name is empty; give a file or -")
    path = Path(source)
    if not path.exists():
        raise CharrnnError(f"{what} {source}: no such file")
    if path.is_dir():
        raise CharrnnError(f"{what} {source}: is a folder; give a file")
    try:
        if path.is_file():
            data = path.read_bytes()
        else:
            with open(path, "rb") as stream:
                data = _read_checked(stream, f"{what} {source}")
    except OSError as e:
        raise CharrnnError(f"{what} {source}: cannot be read ({e.strerror})") from None
    if not data:
        raise CharrnnError(f"{what} {source}: the file is empty")
    return data


def decode_utf8(data: bytes, name: str) -> str:
    """UTF-8 (a BOM is dropped); binary or undecodable input is named with its byte offset."""
    nul = data.find(b"\x00")
    if nul >= 0:
        raise CharrnnError(f"{name}: looks binary (NUL byte at byte offset {nul}); give UTF-8 text")
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as e:
        raise CharrnnError(f"{name}: not UTF-8 text: undecodable byte 0x{data[e.start]:02x} at byte "
                           f"offset {e.start}; convert it first (for example with iconv)") from None


def read_text(source: str) -> str:
    if source in BUILTIN_CORPORA:
        return stdlib_corpus()
    if source.startswith("@") and not Path(source).exists():
        raise CharrnnError(f"unknown built-in corpus {source}; built in: {', '.join(BUILTIN_CORPORA)}")
    text = decode_utf8(read_bytes(source), "corpus " + source)
    if not text:
        raise CharrnnError(f"corpus {source}: holds no text")
    return text


def stdlib_corpus(max_chars: int = STDLIB_MAX_CHARS) -> str:
    """Python source from this interpreter's standard library, in sorted path order.

    In the spirit of Karpathy's Linux-source experiment: a large, real, structured corpus on
    every machine with Python, with nothing downloaded and nothing copied into the repository.
    """
    root = Path(sysconfig.get_paths()["stdlib"])
    files = []
    for dirpath, dirnames, filenames in os.walk(root):
        dirnames[:] = sorted(d for d in dirnames if d not in _STDLIB_SKIP and not d.startswith("__"))
        files += [Path(dirpath) / f for f in filenames if f.endswith(".py")]
    parts, size = [], 0
    for path in sorted(files, key=lambda p: p.relative_to(root).as_posix()):
        try:
            source = path.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError):
            continue
        parts.append(source)
        size += len(source)
        if size >= max_chars:
            break
    if not parts:
        raise CharrnnError(f"@stdlib: found no Python source under {root}")
    return "\n\n".join(parts)[:max_chars]


@dataclass(frozen=True)
class Vocab:
    """Sorted Unicode code points, so ids never depend on PYTHONHASHSEED or file order."""

    chars: str

    @classmethod
    def from_text(cls, text: str) -> "Vocab":
        codes = np.unique(_code_points(text))
        return cls("".join(map(chr, codes.tolist())))

    def __len__(self) -> int:
        return len(self.chars)

    @property
    def dtype(self):
        return np.uint8 if len(self) <= 256 else np.uint16 if len(self) <= 65536 else np.uint32

    def encode(self, text: str) -> np.ndarray:
        """Ids of `text`; raises CharrnnError naming characters outside the vocabulary."""
        ids, unknown = self.encode_known(text)
        if unknown:
            raise CharrnnError(f"characters not in the model's vocabulary: {show_chars(unknown)}")
        return ids

    def encode_known(self, text: str) -> tuple[np.ndarray, str]:
        """Ids of the characters the vocabulary knows, and the distinct unknown ones, in order seen."""
        codes = _code_points(text)
        table = np.frombuffer(self.chars.encode("utf-32-le"), dtype=np.uint32)
        pos = np.searchsorted(table, codes).clip(0, max(len(table) - 1, 0))
        known = table[pos] == codes
        unknown = "".join(dict.fromkeys(chr(c) for c in codes[~known].tolist()))
        return pos[known].astype(self.dtype), unknown

    def decode(self, ids) -> str:
        chars = self.chars
        return "".join(chars[i] for i in np.asarray(ids).reshape(-1).tolist())


def _code_points(text: str) -> np.ndarray:
    return np.frombuffer(text.encode("utf-32-le", "surrogatepass"), dtype=np.uint32)


def show_chars(chars: str, limit: int = 10) -> str:
    shown = ", ".join(_show_char(c) for c in chars[:limit])
    return shown + (f" and {len(chars) - limit} more" if len(chars) > limit else "")


def _show_char(char: str) -> str:
    """A byte that was not UTF-8 arrives from argv as a lone surrogate: name the byte."""
    if "\udc80" <= char <= "\udcff":
        return f"the byte 0x{ord(char) - 0xdc00:02x} (not UTF-8)"
    return repr(char)


# Truncated BPTT over contiguous streams. One id stream becomes `batch` rows read left to
# right; a training window is a slice of columns, and each row's hidden state carries from
# one window into the next:
#
#   ids    a b c d e f g h i j k l m n o p q r s
#   rows   [a b c d e f]   row 0 (targets: b c d e f g)
#          [g h i j k l]   row 1 (targets: h i j k l m)
#          [m n o p q r]   row 2 (targets: n o p q r s)
#   seq 4: window 0 = columns 0-3, window 1 = columns 4-5 (the short tail is kept)
class StreamWindows:
    """(x, y) windows of shape (B, T) read straight from an id array (or a memmap)."""

    carries_state = True

    def __init__(self, ids: np.ndarray, batch_size: int, seq_len: int, reset_every: int = 0,
                 seed: int = 0):
        self.batch_size = max(1, min(batch_size, len(ids) - 1))
        self.reset_chance = min(1.0, seq_len / reset_every) if reset_every else 0.0
        self.seed = seed
        cols = (len(ids) - 1) // self.batch_size
        self.seq_len = seq_len
        self.cols = cols
        self.inputs = ids[: self.batch_size * cols].reshape(self.batch_size, cols)
        self.targets = ids[1: self.batch_size * cols + 1].reshape(self.batch_size, cols)
        self.num_windows = -(-cols // seq_len)

    def __len__(self) -> int:
        return self.num_windows

    def window(self, index: int, epoch: int = 0) -> tuple[torch.Tensor, torch.Tensor]:
        cols = slice(index * self.seq_len, (index + 1) * self.seq_len)
        return as_long(self.inputs[:, cols]), as_long(self.targets[:, cols])

    def fresh_rows(self, index: int, epoch: int = 0) -> torch.Tensor | None:
        """Rows whose carried state restarts from zero before this window: each with chance
        seq_len / reset_every, drawn from (seed, epoch, index) so a resumed run draws the same."""
        if not self.reset_chance or index == 0:
            return None
        draw = np.random.default_rng([self.seed, epoch, index]).random(self.batch_size)
        return torch.from_numpy(draw < self.reset_chance)

    @property
    def chars_per_epoch(self) -> int:
        return self.batch_size * self.cols


class SlidingWindows:
    """The lecture's dataset: every offset starts a window (stride 1), each from a zero state.

    With `batch_size` None all windows form one batch; otherwise batches are drawn in an order
    shuffled per epoch from `seed + epoch`, so a resumed run sees the same order.
    """

    carries_state = False

    def __init__(self, ids: np.ndarray, seq_len: int, batch_size: int | None, seed: int = 0):
        self.ids = ids
        self.seq_len = seq_len
        self.count = len(ids) - seq_len
        self.batch_size = self.count if batch_size is None else max(1, min(batch_size, self.count))
        self.seed = seed
        self.num_windows = -(-self.count // self.batch_size)
        self._order_epoch, self._order_cache = None, None

    def __len__(self) -> int:
        return self.num_windows

    def window(self, index: int, epoch: int = 0) -> tuple[torch.Tensor, torch.Tensor]:
        if self.batch_size >= self.count:
            starts = np.arange(self.count)
        else:
            starts = self._order(epoch)[index * self.batch_size:(index + 1) * self.batch_size]
        idx = starts[:, None] + np.arange(self.seq_len + 1)[None, :]  # (B, T+1)
        chunk = self.ids[idx]
        return as_long(chunk[:, :-1]), as_long(chunk[:, 1:])

    def _order(self, epoch: int) -> np.ndarray:
        if self._order_epoch != epoch:  # one permutation per epoch, not per step
            g = torch.Generator().manual_seed(self.seed + epoch)
            self._order_cache, self._order_epoch = torch.randperm(self.count, generator=g).numpy(), epoch
        return self._order_cache

    @property
    def chars_per_epoch(self) -> int:
        return self.count * self.seq_len



def as_long(a: np.ndarray) -> torch.Tensor:
    """Ids of any integer width (a memmap slice included) as the int64 tensor torch indexes with."""
    return torch.from_numpy(np.ascontiguousarray(a).astype(np.int64))
