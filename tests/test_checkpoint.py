import json
import pickle
import struct

import pytest
import torch
from safetensors.torch import save as st_save

from charrnn import checkpoint
from charrnn.config import ModelConfig, TrainConfig, to_dict
from charrnn.errors import CharrnnError
from charrnn.model import RecurrentNet

CFG = ModelConfig(input_size=3, output_size=3, embed=2, hidden_size=4, num_layers=1)


def write(path, version=1, kind="text", vocab="abc", cfg=CFG, extra=None):
    tensors = {f"model.{k}": v for k, v in RecurrentNet(cfg).state_dict().items()}
    tensors.update(extra or {})
    meta = {"kind": kind, "model": to_dict(cfg), "train": to_dict(TrainConfig()), "vocab": vocab}
    checkpoint.save(path, tensors, meta)
    if version != checkpoint.VERSION:  # rewrite the header's version in place
        raw = path.read_bytes()
        n = struct.unpack("<Q", raw[:8])[0]
        header = json.loads(raw[8:8 + n])
        inner = json.loads(header["__metadata__"]["charrnn"])
        inner["version"] = version
        header["__metadata__"]["charrnn"] = json.dumps(inner)
        body = json.dumps(header).encode()
        body += b" " * (-len(body) % 8)
        path.write_bytes(struct.pack("<Q", len(body)) + body + raw[8 + n:])
    return path


def test_round_trip_and_no_temp_file_left(tmp_path):
    path = write(tmp_path / "m.safetensors")
    ckpt = checkpoint.load(path, kind="text")
    assert ckpt.meta["format"] == "charrnn" and ckpt.meta["version"] == checkpoint.VERSION
    model = RecurrentNet(CFG)
    model.load_state_dict(ckpt.group("model"))
    assert [p.name for p in tmp_path.iterdir()] == ["m.safetensors"]


def test_folder_resolves_to_best(tmp_path):
    write(tmp_path / "last.safetensors")
    assert checkpoint.load(tmp_path).path.name == "last.safetensors"
    write(tmp_path / "best.safetensors")
    assert checkpoint.load(tmp_path).path.name == "best.safetensors"


def bad_files(tmp_path):
    good = write(tmp_path / "good.safetensors").read_bytes()
    yield "empty", b""
    yield "truncated", good[: len(good) // 2]
    yield "pickle", pickle.dumps({"weights": [1, 2, 3]})
    yield "zip", b"PK\x03\x04" + b"\x00" * 100
    yield "huge header", struct.pack("<Q", 1 << 40) + b"{}"
    yield "malformed header", struct.pack("<Q", 8) + b"{not json"
    yield "no metadata", st_save({"x": torch.zeros(2)})
    yield "foreign metadata", st_save({"x": torch.zeros(2)}, metadata={"charrnn": "[1]"})


def test_bad_files_are_refused_cleanly(tmp_path):
    for name, payload in bad_files(tmp_path):
        path = tmp_path / f"{name.replace(' ', '_')}.safetensors"
        path.write_bytes(payload)
        with pytest.raises(CharrnnError):
            checkpoint.load(path)


def test_newer_version_is_refused_by_name(tmp_path):
    path = write(tmp_path / "new.safetensors", version=99)
    with pytest.raises(CharrnnError, match="version 99 is newer"):
        checkpoint.load(path)


def test_wrong_kind_and_wrong_shapes(tmp_path):
    with pytest.raises(CharrnnError, match="is a text model"):
        checkpoint.load(write(tmp_path / "t.safetensors"), kind="series")
    with pytest.raises(CharrnnError, match="vocabulary"):
        checkpoint.load(write(tmp_path / "v.safetensors", vocab="abcd"))


@pytest.mark.parametrize("value", [float("nan"), float("inf"), 1e16])
def test_weights_that_are_not_finite_are_refused(tmp_path, value):
    """Written by hand (a run never saves them): eval scored nan and forecast printed nan."""
    head = RecurrentNet(CFG).state_dict()["head.bias"].clone()
    head[0] = value
    path = write(tmp_path / "bad.safetensors", extra={"model.head.bias": head})
    with pytest.raises(CharrnnError, match="'model.head.bias' holds NaN, infinite or huge"):
        checkpoint.load(path)


def test_missing_is_a_clean_error(tmp_path):
    with pytest.raises(CharrnnError, match="no such file"):
        checkpoint.load(tmp_path / "nope.safetensors")


def test_older_versions_are_migrated_in_order(tmp_path, monkeypatch):
    path = write(tmp_path / "old.safetensors")  # written as version 1
    monkeypatch.setattr(checkpoint, "VERSION", 3)
    steps = []
    monkeypatch.setattr(checkpoint, "MIGRATIONS", {
        1: lambda meta: steps.append(1) or {**meta, "renamed": True},
        2: lambda meta: steps.append(2) or meta,
    })
    meta = checkpoint.load(path).meta
    assert steps == [1, 2] and meta["version"] == 3 and meta["renamed"]
