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
import contextlib
import errno
import glob
import hashlib
import json
import os
import shutil
import signal
import stat
import tempfile
import threading
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from charrnn.atomic import atomic_writer
from charrnn.errors import EXIT_FAILURE, EXIT_TERMINATED, CharrnnError, Interrupted
from charrnn.text.data import BUILTIN_CORPORA, Vocab, check_text_block, read_text, stdin_bytes

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


class _Cache:
    """Where encoded ids go: the cache folder, or, when it cannot be used (a file, read-only),
    a temporary folder removed at the end with a note; `keep` says whether ids stay cached."""

    def __init__(self, notes: list[str]):
        self.folder, self.keep, self.temporary = cache_dir(), True, False
        try:
            self.folder.mkdir(parents=True, exist_ok=True)
            with tempfile.NamedTemporaryFile(dir=self.folder, prefix=".probe-"):
                pass
        except OSError as e:
            reason = e.strerror or str(e)
            if isinstance(e, FileExistsError) or self.folder.exists() and not self.folder.is_dir():
                reason = "it is not a folder"
            self.folder = Path(tempfile.mkdtemp(prefix="charrnn-"))
            self.keep, self.temporary = False, True
            notes.append(f"cache folder {cache_dir()} cannot be used ({reason}); encoding into a "
                         f"temporary folder that is removed afterwards (set CHARRNN_CACHE to a "
                         f"writable folder to keep the cache)")

    def failed(self, e: OSError) -> CharrnnError:
        """A write into the cache failed (a full disk): one line naming the folder, exit 1."""
        hint = "set CHARRNN_CACHE to another folder"
        if e.errno in (errno.ENOSPC, errno.EDQUOT):
            hint = "free some space or " + hint
        return CharrnnError(f"cache folder {self.folder}: cannot write the encoded corpus "
                            f"({e.strerror or e}); {hint}", EXIT_FAILURE)

    def close(self) -> None:
        if self.temporary:  # mapped ids stay readable until the process ends
            shutil.rmtree(self.folder, ignore_errors=True)


def source_files(source: str, notes: list[str] | None = None) -> list[Path]:
    """The files a corpus argument names: one file, every file under a folder, or a glob.
    A file reached twice (two links to it, a symlink loop) is read once."""
    if not str(source).strip():  # Path("") is the current folder: every file under it
        raise CharrnnError("corpus '': the name is empty; give a file, a folder or -")
    path = Path(source)
    if path.is_dir():
        files = sorted(p for p in path.rglob("*") if p.is_file()
                       and not any(part.startswith(".") for part in p.relative_to(path).parts))
        if not files:
            raise CharrnnError(f"corpus {source}: the folder holds no files")
        return _once(files, notes)
    if not path.exists() and any(ch in source for ch in "*?["):
        files = sorted(Path(p) for p in glob.glob(source, recursive=True) if Path(p).is_file())
        if not files:
            raise CharrnnError(f"corpus {source}: the pattern matches no files")
        return _once(files, notes)
    if not path.exists():
        raise CharrnnError(f"corpus {source}: no such file")
    return [path]


def _once(files: list[Path], notes: list[str] | None) -> list[Path]:
    """The first path to each file (by device and inode), in the given order."""
    seen, kept = set(), []
    for p in files:
        st = p.stat()
        if (st.st_dev, st.st_ino) not in seen:
            seen.add((st.st_dev, st.st_ino))
            kept.append(p)
    if len(kept) < len(files) and notes is not None:
        notes.append(f"{len(files) - len(kept)} paths lead through links to files already "
                     f"included; each file is read once")
    return kept


def load_corpus(source: str, vocab: Vocab | None = None) -> Corpus:
    """Ids of a corpus; with `vocab` (a resumed model's), characters outside it are an error."""
    if source in BUILTIN_CORPORA or source.startswith("@"):
        text = read_text(source)
        vocab = vocab or Vocab.from_text(text)
        return Corpus(vocab.encode(text), vocab, [])
    notes: list[str] = []
    if source == "-":
        return _load_stream(stdin_bytes("corpus"), "corpus '-'", "nothing arrived on stdin; "
                            "pipe some text in or give a file", vocab, notes)
    files = source_files(source, notes)
    if len(files) == 1 and _is_stream(files[0]):  # a FIFO, `<(cat corpus.txt)`
        try:
            stream = open(files[0], "rb")
        except OSError as e:
            raise CharrnnError(f"corpus {source}: cannot be read ({e.strerror})") from None
        with stream:
            return _load_stream(stream, f"corpus {source}", "nothing arrived through it",
                                vocab, notes)
    return _load_files(source, files, vocab, notes)


def _is_stream(path: Path) -> bool:
    mode = path.stat().st_mode
    return stat.S_ISFIFO(mode) or stat.S_ISCHR(mode) or stat.S_ISSOCK(mode)


def _load_stream(stream, name: str, when_empty: str, vocab: Vocab | None,
                 notes: list[str]) -> Corpus:
    """A stream read once (stdin, a pipe): spooled into the cache folder, then encoded."""
    cache = _Cache(notes)
    try:
        with (_terminate_unwinds(name),
              tempfile.NamedTemporaryFile(dir=cache.folder, prefix="stdin-", suffix=".txt") as spool):
            decoder, offset = codecs.getincrementaldecoder("utf-8")(), 0
            try:
                while block := stream.read(CHUNK_BYTES):
                    check_text_block(decoder, offset, block, name)  # /dev/urandom never ends
                    spool.write(block)
                    offset += len(block)
                spool.flush()
            except OSError as e:
                if e.errno in (errno.ENOSPC, errno.EDQUOT):
                    raise cache.failed(e) from None
                raise CharrnnError(f"{name}: cannot be read ({e.strerror})") from None
            if spool.tell() == 0:
                raise CharrnnError(f"{name}: {when_empty}")
            return _encode([Path(spool.name)], vocab, name, cache, notes, keep=False)
    finally:
        cache.close()


@contextlib.contextmanager
def _terminate_unwinds(name: str):
    """SIGTERM while a stream is spooled unwinds like Ctrl-C, so the spool file is removed."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return

    def stop(signum, frame):
        raise Interrupted(f"{name}: stopped by SIGTERM while reading; nothing was written",
                          EXIT_TERMINATED)

    previous = signal.signal(signal.SIGTERM, stop)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)


def _load_files(source: str, files: list[Path], vocab: Vocab | None,
                notes: list[str]) -> Corpus:
    if all(p.stat().st_size == 0 for p in files):
        raise CharrnnError(f"corpus {source}: the file is empty" if len(files) == 1
                           else f"corpus {source}: every file is empty")
    cache = _Cache(notes)
    try:
        return _load_readable(source, files, vocab, cache, notes)
    finally:
        cache.close()


def _load_readable(source: str, files: list[Path], vocab: Vocab | None, cache: _Cache,
                   notes: list[str]) -> Corpus:
    if len(files) == 1:
        return _encode(files, vocab, f"corpus {source}", cache, notes)
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
    corpus = _encode(readable, vocab, f"corpus {source}", cache, notes)
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


def _encode(files: list[Path], vocab: Vocab | None, name: str, cache_folder: _Cache,
            notes: list[str], keep: bool = True) -> Corpus:
    stats = [(str(p.resolve()), p.stat().st_size, p.stat().st_mtime_ns) for p in files]
    key = hashlib.blake2b(json.dumps([stats, vocab.chars if vocab else None]).encode(),
                          digest_size=12).hexdigest()
    folder, cache = cache_folder.folder, keep and cache_folder.keep
    meta_path, ids_path = folder / f"{key}.json", folder / f"{key}.ids"
    digest, content = hashlib.blake2b(digest_size=16), None
    if cache and meta_path.exists():  # a candidate: hash first, reuse if it matches
        content = _content_hash(files)
        if (hit := _cached(meta_path, ids_path, content)) is not None:
            hit.notes[:0] = notes
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
    try:
        _write_ids(files, vocab, name, ids_path)
        ids = np.memmap(ids_path, dtype=vocab.dtype, mode="r")
        if cache:
            with atomic_writer(meta_path) as f:
                f.write(json.dumps({"version": CACHE_VERSION, "hash": content, "count": count,
                                    "vocab": vocab.chars}).encode())
        else:
            os.unlink(ids_path)  # stays readable through the mapping until the process ends
    except OSError as e:  # reading the sources raises CharrnnError (_blocks): this is the cache
        raise cache_folder.failed(e) from None
    return Corpus(ids, vocab, notes)


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
    ids = np.memmap(ids_path, dtype=vocab.dtype, mode="r")
    if int(ids.max()) >= len(vocab):  # a damaged cache file: an id the vocabulary lacks
        return None                   # crashed the embedding; read the sources again
    return Corpus(ids, vocab, [])
