import numpy as np
import pytest

import charrnn.text.corpus as corpus_module
from charrnn.text.corpus import cache_dir, load_corpus
from charrnn.errors import CharrnnError
from charrnn.text.data import Vocab


@pytest.fixture(autouse=True)
def own_cache(tmp_path, monkeypatch):
    monkeypatch.setenv("CHARRNN_CACHE", str(tmp_path / "cache"))


def test_ids_match_the_in_memory_encoding_across_small_blocks(tmp_path, monkeypatch):
    monkeypatch.setattr(corpus_module, "CHUNK_BYTES", 7)  # split multi-byte characters
    text = "\ufeffhello 안녕하세요 🙂 wörld\n" * 5
    path = tmp_path / "c.txt"
    path.write_text(text, encoding="utf-8")
    loaded = load_corpus(str(path))
    body = text.replace("\ufeff", "", 1)
    assert loaded.vocab == Vocab.from_text(body)
    assert loaded.vocab.decode(loaded.ids) == body
    assert isinstance(loaded.ids, np.memmap)


def test_cache_is_reused_while_unchanged_and_rebuilt_after_a_change(tmp_path):
    path = tmp_path / "c.txt"
    path.write_text("abcabc" * 100)
    load_corpus(str(path))
    ids_files = list(cache_dir().glob("*.ids"))
    stamp = ids_files[0].stat().st_mtime_ns
    again = load_corpus(str(path))
    assert ids_files[0].stat().st_mtime_ns == stamp and len(again.ids) == 600
    path.write_text("xyzxyz" * 100)
    changed = load_corpus(str(path))
    assert changed.vocab.chars == "xyz"


def test_a_damaged_cache_file_is_read_again_from_the_sources(tmp_path):
    path = tmp_path / "c.txt"
    path.write_text("abcabc" * 100)
    load_corpus(str(path))
    ids_file = next(cache_dir().glob("*.ids"))
    damaged = bytearray(ids_file.read_bytes())
    damaged[10] = 200  # an id the vocabulary of three lacks
    ids_file.write_bytes(bytes(damaged))
    again = load_corpus(str(path))
    assert again.vocab.decode(again.ids) == "abcabc" * 100


def test_folder_and_glob_concatenate_sorted_text_files(tmp_path):
    src = tmp_path / "src"
    (src / "b").mkdir(parents=True)
    (src / "a.c").write_text("int a;\n")
    (src / "b" / "z.h").write_text("#define Z\n")
    (src / "blob.bin").write_bytes(b"\x00\x01\x02")
    (src / ".hidden").write_text("secret")
    folder = load_corpus(str(src))
    assert folder.vocab.decode(folder.ids) == "int a;\n#define Z\n"
    assert "skipped 1" in folder.notes[0]
    pattern = load_corpus(str(src / "**" / "*.h"))
    assert pattern.vocab.decode(pattern.ids) == "#define Z\n"


def test_bad_corpora_are_clean_errors(tmp_path):
    (tmp_path / "bad.txt").write_bytes(b"ok\n" + b"\xff" + b"more")
    with pytest.raises(CharrnnError, match="0xff at byte offset 3"):
        load_corpus(str(tmp_path / "bad.txt"))
    (tmp_path / "nul.txt").write_bytes(b"abc\x00")
    with pytest.raises(CharrnnError, match="binary"):
        load_corpus(str(tmp_path / "nul.txt"))
    (tmp_path / "empty.txt").write_bytes(b"")
    with pytest.raises(CharrnnError, match="empty"):
        load_corpus(str(tmp_path / "empty.txt"))
    with pytest.raises(CharrnnError, match="matches no files"):
        load_corpus(str(tmp_path / "*.nothing"))
    (tmp_path / "new.txt").write_text("abcz")
    with pytest.raises(CharrnnError, match="does not know"):
        load_corpus(str(tmp_path / "new.txt"), Vocab("abc"))


def test_resumed_vocabulary_encodes_with_its_own_ids(tmp_path):
    (tmp_path / "c.txt").write_text("cab")
    loaded = load_corpus(str(tmp_path / "c.txt"), Vocab("abcd"))
    assert loaded.ids.tolist() == [2, 0, 1]
