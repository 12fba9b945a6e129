"""Property tests: random and mutated bytes give a result or the clean error, nothing else."""
from __future__ import annotations

import pytest
import torch
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from charrnn import checkpoint
from charrnn.config import ModelConfig, TrainConfig, from_dict, to_dict
from charrnn.errors import CharrnnError
from charrnn.model import RecurrentNet
from charrnn.text.data import Vocab, decode_utf8

EXAMPLES = 300


@settings(max_examples=EXAMPLES, deadline=None)
@given(st.binary(max_size=400))
def test_text_reader_on_random_bytes(data):
    try:
        text = decode_utf8(data, "fuzz")
    except CharrnnError:
        return
    if text:
        vocab = Vocab.from_text(text)
        assert vocab.decode(vocab.encode(text)) == text


@pytest.fixture(scope="module")
def good_checkpoint(tmp_path_factory) -> bytes:
    cfg = ModelConfig(input_size=3, output_size=3, embed=2, hidden_size=4, num_layers=1)
    tensors = {f"model.{k}": v for k, v in RecurrentNet(cfg).state_dict().items()}
    tensors["rng.torch"] = torch.get_rng_state()
    path = tmp_path_factory.mktemp("ck") / "good.safetensors"
    checkpoint.save(path, tensors, {"kind": "text", "model": to_dict(cfg),
                                    "train": to_dict(TrainConfig()), "vocab": "abc"})
    return path.read_bytes()


@settings(max_examples=EXAMPLES, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=st.data())
def test_checkpoint_loader_on_mutated_files(tmp_path, good_checkpoint, data):
    raw = bytearray(good_checkpoint)
    kind = data.draw(st.sampled_from(["flip", "cut", "splice", "random"]))
    if kind == "flip":
        for _ in range(data.draw(st.integers(1, 8))):
            i = data.draw(st.integers(0, len(raw) - 1))
            raw[i] = data.draw(st.integers(0, 255))
    elif kind == "cut":
        raw = raw[: data.draw(st.integers(0, len(raw)))]
    elif kind == "splice":
        i = data.draw(st.integers(0, len(raw)))
        raw[i:i] = data.draw(st.binary(min_size=1, max_size=64))
    else:
        raw = bytearray(data.draw(st.binary(max_size=2000)))
    path = tmp_path / "fuzzed.safetensors"
    path.write_bytes(bytes(raw))
    try:
        ckpt = checkpoint.load(path)
    except CharrnnError:
        return
    model = RecurrentNet(from_dict(ModelConfig, ckpt.meta["model"]))
    model.load_state_dict(ckpt.group("model"))


@settings(max_examples=EXAMPLES, deadline=None)
@given(st.one_of(
    st.binary(max_size=300),
    st.lists(st.lists(st.one_of(st.floats(allow_nan=True, allow_infinity=True, allow_subnormal=False).map(repr),
                                st.sampled_from(["", "x", "2020-01-01", "1949-01", "#", "nan"])),
                      min_size=1, max_size=4), max_size=30)
    .map(lambda rows: ("a,b,c,d\n" + "\n".join(",".join(r) for r in rows)).encode()),
))
def test_csv_reader_on_random_and_mutated_tables(data):
    from charrnn.series.table import parse_table, select

    try:
        table = parse_table(decode_utf8(data, "fuzz"), "fuzz")
        series = select(table, None, None, False, False, False)
    except CharrnnError:
        return
    assert len(series) > 0


@settings(max_examples=EXAMPLES, deadline=None)
@given(st.from_regex(r"[+-]?(\d{1,12}\.?\d{0,8}|\.\d{1,8})([eE][+-]?\d{1,3})?", fullmatch=True)
       | st.text(alphabet="0123456789+-.,eE$%() ", max_size=12))
def test_the_fast_path_for_plain_numbers_reads_as_the_general_rules(cell):
    """A plain number takes a shortcut in `_parse_number` and in the date-shape test; padded
    with a space it takes the general path. Both must read it alike, and no plain number may
    look like a date outside a date-named column."""
    from charrnn.series.dates import _NAMED_ONLY, _NUMBER, _SHAPES
    from charrnn.series.numeric import _parse_number

    for style in ("dot", "comma"):
        fast, general = _parse_number(cell, style), _parse_number(f" {cell} ", style)
        assert fast == general or (fast != fast and general != general), (cell, style)
        if fast is not None and general is not None:
            assert str(fast) == str(general)  # the sign of zero too
    if _NUMBER.fullmatch(cell):  # what lets `_shape` skip plain numbers in other columns
        assert not [f for f, shape in _SHAPES.items()
                    if f not in _NAMED_ONLY and shape.fullmatch(cell)], cell
