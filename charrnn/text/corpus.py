"""Corpora of any size: encoded once into a memory-mapped id file, reused while unchanged.

A corpus is a file, a folder or glob of files (concatenated in sorted order, like the lecture's
Linux-source experiment), stdin, or a built-in. It is read in chunks twice, never whole: the
first pass checks UTF-8 and collects the vocabulary, the second writes ids (uint8, uint16 or
uint32 by vocabulary size) to a cache file that training maps read-only. The cache is reused
while every source keeps its size, mtime and content hash, so memory stays bounded whatever
the corpus size.
"""
from __future__ import annotations

import codecs
import glob
import hashlib
import json
import os
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from charrnn.atomic import atomic_writer
from charrnn.errors import CharrnnError
from charrnn.text.data import BUILTIN_CORPORA, Vocab, read_text

CHUNK_BYTES = 16 << 20
CACHE_VERSION = 1


@dataclass
class Corpus:
    ids: np.ndarray  # (N,) ids, usually a read-only memmap
    vocab: Vocab
    notes: list[str]


def cache_dir() -> Path:
    root = os.environ.get("CHARRNN_CACHE") or os.path.join(
        os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache"), "charrnn")
    return Path(root)


def source_files(source: str) -> list[Path]:
    """The files a corpus argument names: one file, every file under a folder, or a glob."""
    path = Path(source)
    if path.is_dir():
        files = sorted(p for p in path.rglob("*") if p.is_file()
                       and not any(part.startswith(".") for part in p.relative_to(path).parts))
        if not files:
            raise CharrnnError(f"corpus {source}: the folder holds no files")
        return files
    if not path.exists() and any(ch in source for ch in "*?["):
        files = sorted(Path(p) for p in glob.glob(source, recursive=True) if Path(p).is_file())
        if not files:
            raise CharrnnError(f"corpus {source}: the pattern matches no files")
        return files
    if not path.exists():
        raise CharrnnError(f"corpus {source}: no such file")
    return [path]


def load_corpus(source: str, vocab: Vocab | None = None) -> Corpus:
    """Ids of a corpus; with `vocab` (a resumed model's), characters outside it are an error."""
    if source in BUILTIN_CORPORA or source.startswith("@"):
        text = read_text(source)
        vocab = vocab or Vocab.from_text(text)
        return Corpus(vocab.encode(text), vocab, [])
    if source == "-":
        return _load_stdin(vocab)
    files = source_files(source)
    return _load_files(source, files, vocab)


def _load_stdin(vocab: Vocab | None) -> Corpus:
    stream = getattr(sys.stdin, "buffer", None)
    if stream is None:  # a text stream (as in tests): spool its text
        stream = _TextAsBytes(sys.stdin)
    folder = cache_dir()
    folder.mkdir(parents=True, exist_ok=True)
    with tempfile.NamedTemporaryFile(dir=folder, prefix="stdin-", suffix=".txt") as spool:
        while True:
            block = stream.read(CHUNK_BYTES)
            if not block:
                break
            spool.write(block)
        spool.flush()
        if spool.tell() == 0:
            raise CharrnnError("corpus '-': nothing arrived on stdin; pipe some text in or give a file")
        return _encode([Path(spool.name)], vocab, "corpus '-'", cache=False)


class _TextAsBytes:
    def __init__(self, stream):
        self.stream = stream

    def read(self, n: int) -> bytes:
        return self.stream.read(n).encode("utf-8")


def _load_files(source: str, files: list[Path], vocab: Vocab | None) -> Corpus:
    if all(p.stat().st_size == 0 for p in files):
        raise CharrnnError(f"corpus {source}: the file is empty" if len(files) == 1
                           else f"corpus {source}: every file is empty")
    if len(files) == 1:
        return _encode(files, vocab, f"corpus {source}", cache=True)
    readable, skipped = [], []
    for path in files:
        try:
            for _ in _file_code_points([path], f"corpus file {path}"):  # readable as UTF-8?
                pass
            readable.append(path)
        except CharrnnError:
            skipped.append(path)
    if not readable:
        raise CharrnnError(f"corpus {source}: none of its {len(files)} files is UTF-8 text")
    corpus = _encode(readable, vocab, f"corpus {source}", cache=True)
    if skipped:
        corpus.notes.append(f"skipped {len(skipped)} files that are not UTF-8 text "
                            f"(first: {skipped[0]})")
    return corpus


def _code_points(decoder, offset: int, block: bytes, final: bool, name: str) -> np.ndarray:
    """Code points of one block: uint8 straight from the bytes when they are ASCII."""
    raw = np.frombuffer(block, dtype=np.uint8)
    pending = decoder.getstate()[0]
    if not pending and (raw.size == 0 or raw.max() < 0x80):
        codes = raw
        if final:
            decoder.decode(b"", True)
    else:
        try:
            text = decoder.decode(block, final)
        except UnicodeDecodeError as e:
            bad = (pending + block)[e.start]
            raise CharrnnError(f"{name}: not UTF-8 text: undecodable byte 0x{bad:02x} at byte "
                               f"offset {offset - len(pending) + e.start}; convert it first (for "
                               f"example with iconv)") from None
        codes = np.frombuffer(text.encode("utf-32-le", "surrogatepass"), dtype=np.uint32)
    if offset == 0 and codes.size and codes[0] == 0xFEFF:
        codes = codes[1:]  # a byte-order mark is not text
    return codes


def _file_code_points(files: list[Path], name: str, digest=None):
    """Yields (code points, raw block) of every file, block by block; feeds `digest` the bytes."""
    for path in files:
        decoder = codecs.getincrementaldecoder("utf-8")()
        size = path.stat().st_size
        for offset, block in _blocks(path):
            if digest is not None:
                digest.update(block)
            codes = _code_points(decoder, offset, block, offset + len(block) >= size, name)
            if codes.size and codes.min() == 0:
                at = offset + int(np.argmin(codes))
                raise CharrnnError(f"{name}: looks binary (NUL near byte offset {at}); give "
                                   f"UTF-8 text")
            yield codes, block


def _blocks(path: Path):
    try:
        with open(path, "rb") as f:
            offset = 0
            while block := f.read(CHUNK_BYTES):
                yield offset, block
                offset += len(block)
    except OSError as e:
        raise CharrnnError(f"corpus file {path}: cannot be read ({e.strerror})") from None


def _content_hash(files: list[Path]) -> str:
    digest = hashlib.blake2b(digest_size=16)
    for path in files:
        for _, block in _blocks(path):
            digest.update(block)
    return digest.hexdigest()


def _scan(files: list[Path], name: str, digest=None) -> tuple[str, int]:
    """First pass: UTF-8 check, the sorted vocabulary and the character count."""
    seen: set[int] = set()
    count = 0
    for codes, block in _file_code_points(files, name, digest):
        if codes.dtype == np.uint8:  # ASCII: delete the bytes already seen, at C speed
            rest = block.translate(None, bytes(c for c in seen if c < 128))
            while rest:
                seen.update(rest[:4096])
                rest = rest.translate(None, bytes(c for c in seen if c < 128))
        else:
            seen.update(np.unique(codes).tolist())
        count += codes.size
    return "".join(map(chr, sorted(seen))), count


def _encode(files: list[Path], vocab: Vocab | None, name: str, cache: bool) -> Corpus:
    stats = [(str(p.resolve()), p.stat().st_size, p.stat().st_mtime_ns) for p in files]
    key = hashlib.blake2b(json.dumps([stats, vocab.chars if vocab else None]).encode(),
                          digest_size=12).hexdigest()
    folder = cache_dir()
    meta_path, ids_path = folder / f"{key}.json", folder / f"{key}.ids"
    digest, content = hashlib.blake2b(digest_size=16), None
    if cache and meta_path.exists():  # a candidate: hash first, reuse if it matches
        content = _content_hash(files)
        if (hit := _cached(meta_path, ids_path, content)) is not None:
            return hit
    chars, count = _scan(files, name, digest if content is None else None)
    content = content or digest.hexdigest()
    if count == 0:
        raise CharrnnError(f"{name}: holds no text")
    if vocab is not None:
        known = set(vocab.chars)
        unknown = "".join(c for c in chars if c not in known)
        if unknown:
            raise CharrnnError(f"{name}: characters the resumed model does not know: "
                               f"{unknown[:20]!r}; resume on the corpus it was trained on")
    else:
        vocab = Vocab(chars)
    folder.mkdir(parents=True, exist_ok=True)
    _write_ids(files, vocab, name, ids_path)
    ids = np.memmap(ids_path, dtype=vocab.dtype, mode="r")
    if cache:
        meta_path.write_text(json.dumps({"version": CACHE_VERSION, "hash": content,
                                         "count": count, "vocab": vocab.chars}))
    else:
        os.unlink(ids_path)  # stays readable through the mapping until the process ends
    return Corpus(ids, vocab, [])


def _write_ids(files: list[Path], vocab: Vocab, name: str, ids_path: Path) -> None:
    """Second pass: ids appended block by block (never mapped while written: bounded memory)."""
    table = np.frombuffer(vocab.chars.encode("utf-32-le"), dtype=np.uint32)
    ascii_ids = np.zeros(128, dtype=vocab.dtype)
    for i, code in enumerate(table.tolist()):
        if code < 128:
            ascii_ids[code] = i
    byte_ids = (ascii_ids.tobytes() + bytes(128)) if vocab.dtype == np.uint8 else None
    with atomic_writer(ids_path) as f:
        for codes, block in _file_code_points(files, name):
            if codes.dtype == np.uint8 and byte_ids is not None:
                f.write(block.translate(byte_ids))  # ASCII bytes -> uint8 ids at C speed
            elif codes.dtype == np.uint8:
                f.write(ascii_ids[codes].tobytes())
            else:
                f.write(np.searchsorted(table, codes).astype(vocab.dtype).tobytes())


def _cached(meta_path: Path, ids_path: Path, content: str) -> Corpus | None:
    """The cached ids when the sources still hash the same, else None."""
    try:
        meta = json.loads(meta_path.read_text())
        vocab = Vocab(meta["vocab"])
        valid = (meta.get("version") == CACHE_VERSION and meta.get("hash") == content
                 and ids_path.stat().st_size == meta["count"] * np.dtype(vocab.dtype).itemsize)
    except (OSError, ValueError, KeyError, TypeError):
        return None
    if not valid or meta["count"] == 0:
        return None
    return Corpus(np.memmap(ids_path, dtype=vocab.dtype, mode="r"), vocab, [])
