import numpy as np
import pytest
import torch

from charrnn.errors import CharrnnError
from charrnn.text.data import SlidingWindows, StreamWindows, Vocab, decode_utf8, read_text, stdlib_corpus


def test_vocab_is_sorted_code_points_and_round_trips_unicode():
    text = "안녕 hello 🙂 안녕"
    vocab = Vocab.from_text(text)
    assert list(vocab.chars) == sorted(set(text))
    assert vocab.decode(vocab.encode(text)) == text
    assert vocab.encode("l").dtype == np.uint8


def test_large_vocab_uses_wider_ids():
    text = "".join(chr(0x4E00 + i) for i in range(300))
    assert Vocab.from_text(text).encode(text).dtype == np.uint16


def test_unknown_characters_are_named_or_reported():
    vocab = Vocab.from_text("abc")
    with pytest.raises(CharrnnError, match="'z'"):
        vocab.encode("abz")
    ids, unknown = vocab.encode_known("azbzy")
    assert vocab.decode(ids) == "ab" and unknown == "zy"


def test_undecodable_bytes_name_their_offset():
    with pytest.raises(CharrnnError, match="0xff at byte offset 3"):
        decode_utf8(b"abc\xffdef", "corpus x")
    with pytest.raises(CharrnnError, match="binary"):
        decode_utf8(b"ab\x00cd", "corpus x")
    assert decode_utf8("\ufeffhé".encode("utf-8"), "x") == "hé"


def test_read_text_errors(tmp_path):
    with pytest.raises(CharrnnError, match="no such file"):
        read_text(str(tmp_path / "missing.txt"))
    with pytest.raises(CharrnnError, match="folder"):
        read_text(str(tmp_path))
    (tmp_path / "empty.txt").write_bytes(b"")
    with pytest.raises(CharrnnError, match="empty"):
        read_text(str(tmp_path / "empty.txt"))


def test_stream_windows_are_contiguous_rows_and_targets_shift_by_one():
    ids = np.arange(19, dtype=np.uint8)
    w = StreamWindows(ids, batch_size=3, seq_len=4)
    assert (w.cols, len(w)) == (6, 2)
    x0, y0 = w.window(0)
    x1, _ = w.window(1)
    assert x0.tolist() == [[0, 1, 2, 3], [6, 7, 8, 9], [12, 13, 14, 15]]
    assert y0.tolist() == [[1, 2, 3, 4], [7, 8, 9, 10], [13, 14, 15, 16]]
    assert x1.tolist() == [[4, 5], [10, 11], [16, 17]]  # the short tail is kept


def test_stream_rows_restart_at_the_asked_rate_the_same_way_each_time():
    ids = np.zeros(100_001, dtype=np.uint8)
    never = StreamWindows(ids, batch_size=20, seq_len=50)
    assert never.fresh_rows(3) is None
    w = StreamWindows(ids, batch_size=20, seq_len=50, reset_every=1000, seed=5)
    assert w.fresh_rows(0) is None  # an epoch starts from zero anyway
    draws = torch.stack([w.fresh_rows(i, epoch=1) for i in range(1, len(w))])
    assert draws.dtype == torch.bool and draws.shape == (len(w) - 1, 20)
    assert draws.float().mean().item() == pytest.approx(50 / 1000, abs=0.015)
    again = StreamWindows(ids, batch_size=20, seq_len=50, reset_every=1000, seed=5)
    assert torch.equal(again.fresh_rows(7, epoch=1), w.fresh_rows(7, epoch=1))
    other_epoch = torch.stack([w.fresh_rows(i, epoch=2) for i in range(1, len(w))])
    assert not torch.equal(other_epoch, draws)


def test_sliding_windows_cover_every_offset():
    ids = np.arange(12, dtype=np.uint8)
    w = SlidingWindows(ids, seq_len=10, batch_size=None)
    x, y = w.window(0)
    assert x.shape == (2, 10) and x[1, 0] == 1 and y[1, -1] == 11
    shuffled = SlidingWindows(np.arange(40, dtype=np.uint8), seq_len=5, batch_size=8, seed=3)
    starts = sorted(int(shuffled.window(i, epoch=2)[0][j, 0]) for i in range(len(shuffled))
                    for j in range(len(shuffled.window(i, epoch=2)[0])))
    assert starts == list(range(35))
    assert shuffled.window(0, 2)[0].tolist() == shuffled.window(0, 2)[0].tolist()


def test_stdlib_corpus_is_real_python_and_deterministic():
    text = stdlib_corpus(max_chars=50_000)
    assert len(text) == 50_000 and "def " in text and "import " in text
    assert stdlib_corpus(max_chars=50_000) == text
