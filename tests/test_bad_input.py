"""Bad input gets one clear `error:` line and exit 2: no traceback, nothing created or changed.

Each case builds its command line in a scratch folder; the test snapshots every file there (and
the checkpoint it may read) before and after.
"""
from __future__ import annotations

import json
import pickle
import struct
import zipfile
from pathlib import Path

import pytest
import torch
from safetensors.torch import save as st_save

from conftest import CORPORA, run_cli

GOOD_CSV = "day,open,close\n" + "\n".join(f"2020-01-{d:02d},{d}.5,{d + 1}.25" for d in range(1, 29))


@pytest.fixture(scope="module")
def series_ckpt(tmp_path_factory) -> Path:
    folder = tmp_path_factory.mktemp("series")
    data = _text(folder / "good.csv", GOOD_CSV)
    result = run_cli(["train-series", data, "--epochs", "3", "--out", folder / "ck", "--quiet",
                      "--device", "cpu"])
    assert result.exit_code == 0, result.stderr
    return folder / "ck"


def _csv(t: Path, text: str) -> Path:
    return _text(t / "bad.csv", text)


def _bytes(path: Path, data: bytes) -> Path:
    path.write_bytes(data)
    return path


def _text(path: Path, text: str) -> Path:
    path.write_text(text, encoding="utf-8")
    return path


def _crafted(ckpt: Path, tmp: Path, change) -> Path:
    """A copy of a real checkpoint whose header JSON `change(header, meta)` rewrote."""
    raw = (ckpt / "best.safetensors").read_bytes()
    n = struct.unpack("<Q", raw[:8])[0]
    header = json.loads(raw[8:8 + n])
    meta = json.loads(header["__metadata__"]["charrnn"])
    change(header, meta)
    header["__metadata__"]["charrnn"] = json.dumps(meta)
    body = json.dumps(header).encode()
    body += b" " * (-len(body) % 8)
    return _bytes(tmp / "crafted.safetensors", struct.pack("<Q", len(body)) + body + raw[8 + n:])


def _tensors_edited(ckpt: Path, tmp: Path, change) -> Path:
    """A copy of a real checkpoint (its last, which holds the run's state) whose tensors
    `change(tensors)` rewrote, the metadata kept."""
    from safetensors import safe_open
    from safetensors.torch import load_file

    source = ckpt / "last.safetensors"
    with safe_open(str(source), "pt") as f:
        metadata = f.metadata()
    tensors = load_file(str(source))
    change(tensors)
    return _bytes(tmp / "edited.safetensors", st_save(tensors, metadata=metadata))


def _loop(tmp: Path) -> Path:
    (tmp / "loop_a").symlink_to("loop_b")
    (tmp / "loop_b").symlink_to("loop_a")
    return tmp / "loop_a"


def _folder(path: Path) -> Path:
    path.mkdir(parents=True)
    return path


def _newer(ckpt: Path, tmp: Path) -> Path:
    return _crafted(ckpt, tmp, lambda header, meta: meta.update(version=999))


def _zip(tmp: Path) -> Path:
    path = tmp / "model.safetensors"
    with zipfile.ZipFile(path, "w") as z:
        z.writestr("data.pkl", pickle.dumps({"w": [1.0]}))
    return path


HELLO = "hello world, hello world, hello world"
TRAIN = ["train-text"]
# (id, builder(tmp, ckpt) -> (args, stdin, text the message must contain))
CASES = [
    ("missing corpus", lambda t, c: (TRAIN + [t / "nope.txt"], None, "no such file")),
    ("corpus is a folder", lambda t, c: (TRAIN + [t], None, "folder")),
    ("corpus name empty", lambda t, c: (TRAIN + [""], None, "the name is empty")),
    ("empty corpus", lambda t, c: (TRAIN + [_bytes(t / "e.txt", b"")], None, "empty")),
    ("one-character corpus", lambda t, c: (TRAIN + [_text(t / "one.txt", "a")], None, "give a longer text")),
    ("corpus shorter than a window", lambda t, c: (TRAIN + [_text(t / "s.txt", "abc"), "--seq-len", "5"], None, "shorter than one window")),
    ("binary corpus", lambda t, c: (TRAIN + [_bytes(t / "b.bin", b"\x7fELF\x00\x01\x02")], None, "binary")),
    ("undecodable corpus", lambda t, c: (TRAIN + [_bytes(t / "l1.txt", "café".encode("latin-1"))], None, "byte offset 3")),
    ("empty stdin", lambda t, c: (TRAIN + ["-"], "", "stdin")),
    ("unknown built-in corpus", lambda t, c: (TRAIN + ["@linux"], None, "built-in")),
    ("unknown cell", lambda t, c: (TRAIN + [CORPORA / "ship.txt", "--cell", "transformer"], None, "--cell")),
    ("zero hidden", lambda t, c: (TRAIN + [CORPORA / "ship.txt", "--hidden", "0"], None, "--hidden")),
    ("negative layers", lambda t, c: (TRAIN + [CORPORA / "ship.txt", "--layers", "-2"], None, "--layers")),
    ("zero seq-len", lambda t, c: (TRAIN + [CORPORA / "ship.txt", "--seq-len", "0"], None, "--seq-len")),
    ("zero batch", lambda t, c: (TRAIN + [CORPORA / "ship.txt", "--batch-size", "0"], None, "--batch-size")),
    ("zero epochs", lambda t, c: (TRAIN + [CORPORA / "ship.txt", "--epochs", "0"], None, "--epochs")),
    ("negative embed", lambda t, c: (TRAIN + [CORPORA / "ship.txt", "--embed", "-1"], None, "--embed")),
    ("zero lr", lambda t, c: (TRAIN + [CORPORA / "ship.txt", "--lr", "0"], None, "--lr")),
    ("negative lr", lambda t, c: (TRAIN + [CORPORA / "ship.txt", "--lr", "-0.1"], None, "--lr")),
    ("dropout 1", lambda t, c: (TRAIN + [CORPORA / "ship.txt", "--dropout", "1"], None, "--dropout")),
    ("val-frac 1", lambda t, c: (TRAIN + [CORPORA / "ship.txt", "--val-frac", "1"], None, "--val-frac")),
    ("negative val-frac", lambda t, c: (TRAIN + [CORPORA / "ship.txt", "--val-frac", "-0.1"], None, "--val-frac")),
    ("val-frac too big for corpus", lambda t, c: (TRAIN + [CORPORA / "ship.txt", "--val-frac", "0.5", "--seq-len", "150"], None, "--val-frac 0")),
    ("negative reset-every", lambda t, c: (TRAIN + [CORPORA / "ship.txt", "--reset-every", "-1"], None, "--reset-every")),
    ("reset-every with sliding", lambda t, c: (TRAIN + [CORPORA / "ship.txt", "--sliding", "--reset-every", "500"], None, "--sliding carries none")),
    ("nonsense time budget", lambda t, c: (TRAIN + [CORPORA / "ship.txt", "--time-budget", "soon"], None, "--time-budget")),
    ("zero save-every", lambda t, c: (TRAIN + [CORPORA / "ship.txt", "--save-every", "0"], None, "--save-every")),
    ("unknown device", lambda t, c: (TRAIN + [CORPORA / "ship.txt", "--device", "tpu"], None, "--device")),
    ("cuda without a GPU", lambda t, c: (TRAIN + [CORPORA / "ship.txt", "--device", "cuda"], None, "CUDA") if not torch.cuda.is_available() else pytest.skip("has CUDA")),
    ("out empty", lambda t, c: (TRAIN + [CORPORA / "ship.txt", "--max-steps", "1", "--out", ""], None, "--out")),
    ("out a symlink loop", lambda t, c: (TRAIN + [CORPORA / "ship.txt", "--out", _loop(t)], None, "cannot be followed")),
    ("out holding a folder named best.safetensors", lambda t, c: (TRAIN + [CORPORA / "ship.txt", "--max-steps", "1", "--out", _folder(t / "o" / "best.safetensors").parent], None, "is a folder")),
    ("sample a symlink loop", lambda t, c: (["sample", "--ckpt", _loop(t)], None, "symbolic link")),
    ("out below a file", lambda t, c: (TRAIN + [CORPORA / "ship.txt", "--out", _text(t / "f", "x") / "sub"], None, "--out")),
    ("resume from missing", lambda t, c: (TRAIN + [CORPORA / "ship.txt", "--resume", t / "no.safetensors"], None, "no such")),
    ("resume on a corpus with new characters", lambda t, c: (TRAIN + [CORPORA / "ship.txt", "--resume", c], None, "does not know")),
    ("unknown option", lambda t, c: (TRAIN + [CORPORA / "ship.txt", "--hiden", "3"], None, "--hiden")),
    ("no command arguments", lambda t, c: (["train-text"], None, "corpus")),
    ("unknown command", lambda t, c: (["trian"], None, "trian")),
    # sample
    ("sample zero temperature", lambda t, c: (["sample", "--ckpt", c, "-t", "0"], None, "--temperature")),
    ("sample negative temperature", lambda t, c: (["sample", "--ckpt", c, "-t", "-1"], None, "--temperature")),
    ("sample top-p 0", lambda t, c: (["sample", "--ckpt", c, "--top-p", "0"], None, "--top-p")),
    ("sample top-p above 1", lambda t, c: (["sample", "--ckpt", c, "--top-p", "1.01"], None, "--top-p")),
    ("sample top-k 0", lambda t, c: (["sample", "--ckpt", c, "--top-k", "0"], None, "--top-k")),
    ("sample negative length", lambda t, c: (["sample", "--ckpt", c, "-n", "-5"], None, "--length")),
    ("sample zero samples", lambda t, c: (["sample", "--ckpt", c, "--num-samples", "0"], None, "--num-samples")),
    ("sample unknown prime", lambda t, c: (["sample", "--ckpt", c, "-p", "h한🙂"], None, "'한'")),
    ("sample checkpoint missing", lambda t, c: (["sample", "--ckpt", t / "gone.safetensors"], None, "no such")),
    ("sample folder without checkpoints", lambda t, c: (["sample", "--ckpt", t], None, "best.safetensors")),
    ("sample empty checkpoint", lambda t, c: (["sample", "--ckpt", _bytes(t / "e.safetensors", b"")], None, "empty")),
    ("sample truncated checkpoint", lambda t, c: (["sample", "--ckpt", _bytes(t / "t.safetensors", (c / "best.safetensors").read_bytes()[:300])], None, "checkpoint")),
    ("sample pickle renamed", lambda t, c: (["sample", "--ckpt", _bytes(t / "p.safetensors", pickle.dumps({"a": 1}))], None, "checkpoint")),
    ("sample zip renamed", lambda t, c: (["sample", "--ckpt", _zip(t)], None, "checkpoint")),
    ("sample malformed header", lambda t, c: (["sample", "--ckpt", _bytes(t / "m.safetensors", struct.pack("<Q", 10) + b"{\"a\": nul}")], None, "malformed")),
    ("sample huge header", lambda t, c: (["sample", "--ckpt", _bytes(t / "h.safetensors", struct.pack("<Q", 1 << 50) + b"{}")], None, "header")),
    ("sample safetensors without metadata", lambda t, c: (["sample", "--ckpt", _bytes(t / "x.safetensors", st_save({"w": torch.ones(2)}))], None, "metadata")),
    ("sample newer format", lambda t, c: (["sample", "--ckpt", _newer(c, t)], None, "newer")),
    ("sample vocabulary as a list", lambda t, c: (["sample", "--ckpt", _crafted(c, t, lambda h, m: m.update(vocab=list(m["vocab"])))], None, "vocabulary")),
    ("sample unsorted vocabulary", lambda t, c: (["sample", "--ckpt", _crafted(c, t, lambda h, m: m.update(vocab=m["vocab"][::-1]))], None, "vocabulary")),
    ("sample seq_len as text", lambda t, c: (["sample", "--ckpt", _crafted(c, t, lambda h, m: m["task"].update(seq_len="ten"))], None, "seq_len")),
    ("sample hidden size as text", lambda t, c: (["sample", "--ckpt", _crafted(c, t, lambda h, m: m["model"].update(hidden_size="5"))], None, "hidden_size")),
    ("resume epoch as text", lambda t, c: (TRAIN + [CORPORA / "hihello.txt", "--resume", _crafted(c, t, lambda h, m: m.update(epoch="x"))], None, "epoch")),
    ("resume malformed optimizer", lambda t, c: (TRAIN + [CORPORA / "hihello.txt", "--resume", _crafted(c, t, lambda h, m: m.update(optimizer={"param_groups": 5}))], None, "optimizer")),
    ("resume with another --val-frac", lambda t, c: (TRAIN + [CORPORA / "hihello.txt", "--resume", c, "--val-frac", "0.5", "--epochs", "99"], None, "the split comes from the checkpoint")),
    ("resume history entry empty", lambda t, c: (TRAIN + [CORPORA / "hihello.txt", "--resume", _crafted(c, t, lambda h, m: m.update(history=[{}])), "--epochs", "99"], None, "history")),
    ("resume seq_len 0", lambda t, c: (TRAIN + [CORPORA / "hihello.txt", "--resume", _crafted(c, t, lambda h, m: m["task"].update(seq_len=0))], None, "seq_len")),
    ("resume seed 2**80", lambda t, c: (TRAIN + [CORPORA / "hihello.txt", "--resume", _crafted(c, t, lambda h, m: m["train"].update(seed=2 ** 80))], None, "seed")),
    ("resume negative lr", lambda t, c: (TRAIN + [CORPORA / "hihello.txt", "--resume", _crafted(c, t, lambda h, m: m["train"].update(lr=-1.0))], None, "lr")),
    ("resume ema 5", lambda t, c: (TRAIN + [CORPORA / "hihello.txt", "--resume", _crafted(c, t, lambda h, m: m["train"].update(ema=5.0))], None, "ema")),
    ("resume RNG state as floats", lambda t, c: (TRAIN + [CORPORA / "hihello.txt", "--resume", _crafted(c, t, lambda h, m: h["rng.torch"].update(dtype="F32"))], None, "RNG")),
    ("resume with another shape", lambda t, c: (TRAIN + [CORPORA / "hihello.txt", "--resume", c, "--hidden", "99"], None, "--hidden 99")),
    ("sample from a device file", lambda t, c: (["sample", "--ckpt", "/dev/zero"], None, "regular file")),
    ("nan learning rate", lambda t, c: (TRAIN + [CORPORA / "ship.txt", "--lr", "nan"], None, "--lr")),
    ("infinite learning rate", lambda t, c: (TRAIN + [CORPORA / "ship.txt", "--lr", "inf"], None, "--lr")),
    ("nan val-frac", lambda t, c: (TRAIN + [CORPORA / "ship.txt", "--val-frac", "nan"], None, "--val-frac")),
    ("nan dropout", lambda t, c: (TRAIN + [CORPORA / "ship.txt", "--dropout", "nan"], None, "--dropout")),
    ("nan temperature", lambda t, c: (["sample", "--ckpt", c, "-t", "nan"], None, "--temperature")),
    ("nan top-p", lambda t, c: (["sample", "--ckpt", c, "--top-p", "nan"], None, "--top-p")),
    ("seed out of range", lambda t, c: (TRAIN + [CORPORA / "ship.txt", "--seed", "99999999999999999999"], None, "--seed")),
    ("negative seed", lambda t, c: (["sample", "--ckpt", c, "--seed", "-1"], None, "--seed")),
    # eval
    ("eval missing data", lambda t, c: (["eval", "--ckpt", c, t / "none.txt"], None, "no such file")),
    ("eval data is a folder", lambda t, c: (["eval", "--ckpt", c, t], None, "folder")),
    ("eval data name empty", lambda t, c: (["eval", "--ckpt", c, ""], None, "the name is empty")),
    ("eval empty data", lambda t, c: (["eval", "--ckpt", c, _bytes(t / "e.txt", b"")], None, "empty")),
    ("eval undecodable data", lambda t, c: (["eval", "--ckpt", c, _bytes(t / "u.txt", b"hi\xc3\x28")], None, "byte offset 2")),
    ("eval data with nothing known", lambda t, c: (["eval", "--ckpt", c, _text(t / "k.txt", "xyz")], None, "fewer than two")),
    ("eval empty stdin", lambda t, c: (["eval", "--ckpt", c, "-"], "", "stdin")),
    ("eval checkpoint missing", lambda t, c: (["eval", "--ckpt", t / "gone", _text(t / "d.txt", "hi")], None, "no such")),
    ("eval text model with series options", lambda t, c: (["eval", "--ckpt", c, CORPORA / "hihello.txt", "--season", "7"], None, "--season")),
    ("eval text model on a CSV", lambda t, c: (["eval", "--ckpt", c, _csv(t, GOOD_CSV)], None, "text model")),
    # series (the builder gets the text checkpoint; series cases use SERIES below)
    ("forecast with a text model", lambda t, c: (["forecast", "--ckpt", c, _csv(t, GOOD_CSV)], None, "text model")),
    ("train-series missing CSV", lambda t, c: (["train-series", t / "none.csv"], None, "no such file")),
    ("train-series into a text model's folder", lambda t, c: (["train-series", _csv(t, GOOD_CSV), "--epochs", "1", "--out", c], None, "holds a text model's checkpoints")),
    ("fine-tune into the folder it starts from", lambda t, c: (TRAIN + [CORPORA / "hihello.txt", "--init-from", c, "--out", c, "--max-steps", "1"], None, "the same folder")),
    ("train-series empty CSV", lambda t, c: (["train-series", _csv(t, "")], None, "empty")),
    ("train-series fields separated by spaces", lambda t, c: (["train-series", _csv(t, GOOD_CSV.replace(",", " "))], None, "separated by spaces")),
    ("train-series empty --target", lambda t, c: (["train-series", _csv(t, GOOD_CSV), "--target", ""], None, "--target")),
    ("train-series --features of commas", lambda t, c: (["train-series", _csv(t, GOOD_CSV), "--features", " , "], None, "--features")),
    ("train-series blank --id", lambda t, c: (["train-series", _csv(t, GOOD_CSV), "--id", " "], None, "--id")),
    ("backtest empty --target", lambda t, c: (["backtest", _csv(t, GOOD_CSV), "--target", ""], None, "--target")),
    ("train-series text cells", lambda t, c: (["train-series", _csv(t, GOOD_CSV.replace("5.5,", "five,"))], None, "open")),
    ("train-series NaN", lambda t, c: (["train-series", _csv(t, GOOD_CSV.replace("7.5,", "nan,"))], None, "open")),
    ("train-series gap", lambda t, c: (["train-series", _csv(t, GOOD_CSV.replace(",9.25", ","))], None, "close")),
    ("train-series too few rows", lambda t, c: (["train-series", _csv(t, "a,b\n1,2\n3,4\n5,6\n")], None, "rows")),
    ("train-series unknown target", lambda t, c: (["train-series", _csv(t, GOOD_CSV), "--target", "volume"], None, "volume")),
    ("train-series ensemble of none", lambda t, c: (["train-series", _csv(t, GOOD_CSV), "--ensemble", "0"], None, "--ensemble")),
    ("train-series unknown feature", lambda t, c: (["train-series", _csv(t, GOOD_CSV), "--features", "open,high"], None, "high")),
    ("train-series test-frac 1", lambda t, c: (["train-series", _csv(t, GOOD_CSV), "--test-frac", "1"], None, "--test-frac")),
    ("train-series negative val-frac", lambda t, c: (["train-series", _csv(t, GOOD_CSV), "--val-frac", "-0.5"], None, "--val-frac")),
    ("train-series zero window", lambda t, c: (["train-series", _csv(t, GOOD_CSV), "--window", "0"], None, "--window")),
    ("train-series zero lr", lambda t, c: (["train-series", _csv(t, GOOD_CSV), "--lr", "0"], None, "--lr")),
    ("train-series binary", lambda t, c: (["train-series", _bytes(t / "x.csv", b"\x00\x01\x02")], None, "x.csv")),
    ("train-series unknown --id", lambda t, c: (["train-series", _csv(t, GOOD_CSV), "--id", "store"], None, "store")),
    ("train-series --id cell empty", lambda t, c: (["train-series", _csv(t, "shop,day,v\n" + "\n".join(f"{'a' if d != 9 else ''},2020-01-{d:02d},{d}" for d in range(1, 29))), "--id", "shop"], None, "line 10")),
    ("train-series --id every series too short", lambda t, c: (["train-series", _csv(t, "shop,v\n" + "\n".join(f"s{i % 9},{i}" for i in range(40))), "--id", "shop"], None, "no series is long enough")),
    ("train-series unknown --future", lambda t, c: (["train-series", _csv(t, GOOD_CSV), "--future", "promo"], None, "promo")),
    ("train-series --future gap in a forecast row", lambda t, c: (["train-series", _csv(t, GOOD_CSV + "\n2020-01-29,,\n2020-01-30,3.5,"), "--future", "open"], None, "line 30")),
    ("train-series --calendar on yearly rows", lambda t, c: (["train-series", _csv(t, "year,v\n" + "\n".join(f"{1900 + i},{i % 7}" for i in range(60))), "--calendar"], None, "--calendar")),
    ("train-series a 5,000-digit cell", lambda t, c: (["train-series", _csv(t, "d,v\n2020-01-01," + "9" * 5000 + "\n" + "\n".join(f"2020-01-{d:02d},{d}" for d in range(2, 20))), "--epochs", "1"], None, "... (5,000 characters) is not finite")),
    ("train-series a quote left open", lambda t, c: (["train-series", _csv(t, "d,v\n2020-01-01,1\n2020-01-02,\"2\n" + "\n".join(f"2020-01-{d:02d},{d}" for d in range(3, 20))), "--epochs", "1"], None, "line 3, column v: '2\\n2020-01-03,3\\n")),
    ("train-series the line after a quoted line break", lambda t, c: (["train-series", _csv(t, "d,note,v\n2020-01-01,a,1\n2020-01-02,\"b\nc\",2\n2020-01-04,d,x\n" + "\n".join(f"2020-01-{d:02d},e,{d}" for d in range(5, 20))), "--epochs", "1"], None, "line 5, column v: 'x'")),
    ("train-series out a symlink loop", lambda t, c: (["train-series", _csv(t, GOOD_CSV), "--out", _loop(t)], None, "cannot be followed")),
    ("train-series out below a file", lambda t, c: (["train-series", _csv(t, GOOD_CSV), "--out", _text(t / "f", "x") / "d"], None, "--out")),
]

SERIES_CASES = [
    ("sample with a series model", lambda t, s: (["sample", "--ckpt", s], None, "series model")),
    ("train-text resume from a series model", lambda t, s: (["train-text", CORPORA / "ship.txt", "--resume", s], None, "series model")),
    ("eval series model on text", lambda t, s: (["eval", "--ckpt", s, CORPORA / "ship.txt"], None, "ship.txt")),
    ("eval series model on CSV without its columns", lambda t, s: (["eval", "--ckpt", s, _csv(t, "x,y\n" + "\n".join(f"{i},{i}" for i in range(40)))], None, "close")),
    ("eval --exact with a series model", lambda t, s: (["eval", "--ckpt", s, _csv(t, GOOD_CSV), "--exact"], None, "--exact")),
    ("eval plot not a png", lambda t, s: (["eval", "--ckpt", s, _csv(t, GOOD_CSV), "--plot", t / "p.jpg"], None, ".png")),
    ("eval plot into a missing folder", lambda t, s: (["eval", "--ckpt", s, _csv(t, GOOD_CSV), "--plot", t / "no" / "p.png"], None, "does not exist")),
    ("train-series --future takes the only number", lambda t, s: (["train-series", _csv(t, "day,close\n" + "\n".join(f"2020-01-{d:02d},{d % 3}" for d in range(1, 29))), "--future", "close"], None, "--future takes close")),
    ("train-series --id takes the only number", lambda t, s: (["train-series", _csv(t, "day,close\n" + "\n".join(f"2020-01-{d:02d},{d % 3}" for d in range(1, 29))), "--id", "close"], None, "--id takes close")),
    ("train-series log of a negative value", lambda t, s: (["train-series", _csv(t, GOOD_CSV.replace(",29.25", ",-1.5")), "--transform", "log"], None, "needs positive values")),
    ("train-text into a series model's folder", lambda t, s: (["train-text", CORPORA / "hihello.txt", "--max-steps", "1", "--out", s], None, "holds a series model's checkpoints")),
    ("forecast zero steps", lambda t, s: (["forecast", "--ckpt", s, _csv(t, GOOD_CSV), "--steps", "0"], None, "--steps")),
    ("train-series season of one row", lambda t, s: (["train-series", _csv(t, GOOD_CSV), "--season", "1"], None, "2 or more rows per cycle")),
    ("train-series season longer than the series", lambda t, s: (["train-series", _csv(t, GOOD_CSV), "--season", "28"], None, "fewer than the series' 28 rows")),
    ("train-series trend_season without two seasons before validation", lambda t, s: (["train-series", _csv(t, GOOD_CSV), "--season", "9", "--window", "4", "--baseline", "trend_season"], None, "fitting a line and a season of 9 rows takes 18 rows")),
    ("train-series --id season longer than every series", lambda t, c: (["train-series", _csv(t, "shop,v\n" + "\n".join(f"s{i % 2},{i}" for i in range(80))), "--id", "shop", "--season", "30"], None, "--season 30")),
    ("train-series season as long as the rows before the test part", lambda t, s: (["train-series", _csv(t, GOOD_CSV), "--season", "19"], None, "no row before it has one a season back")),
    ("train-series trend and season without a season", lambda t, s: (["train-series", _csv(t, GOOD_CSV), "--baseline", "trend_season", "--season", "none"], None, "needs a season")),
    ("train-series seasonal drift without a season", lambda t, s: (["train-series", _csv(t, GOOD_CSV), "--baseline", "seasonal_drift", "--season", "none"], None, "needs a season")),
    ("eval conformal as a list", lambda t, s: (["eval", "--ckpt", _crafted(s, t, lambda h, m: m.update(conformal=[1])), _csv(t, GOOD_CSV)], None, "conformal")),
    ("forecast scaler short of a column", lambda t, s: (["forecast", "--ckpt", _crafted(s, t, lambda h, m: m["scaler"].update(min=m["scaler"]["min"][:-1])), _csv(t, GOOD_CSV)], None, "scaler.min")),
    ("eval target index beyond the columns", lambda t, s: (["eval", "--ckpt", _crafted(s, t, lambda h, m: m["coder"].update(target_index=99)), _csv(t, GOOD_CSV)], None, "target_index")),
    ("forecast window 0", lambda t, s: (["forecast", "--ckpt", _crafted(s, t, lambda h, m: m["task"].update(window=0)), _csv(t, GOOD_CSV)], None, "window")),
    ("eval season 1", lambda t, s: (["eval", "--ckpt", _crafted(s, t, lambda h, m: m["task"].update(season=1)), _csv(t, GOOD_CSV)], None, "season")),
    ("train-series resume with another --val-frac", lambda t, s: (["train-series", _csv(t, GOOD_CSV), "--resume", s, "--val-frac", "0.45"], None, "the split comes from the checkpoint")),
    ("train-series the target as a --future column", lambda t, s: (["train-series", _csv(t, GOOD_CSV), "--target", "close", "--future", "close"], None, "the target cannot be a column known in advance")),
    ("train-series --retrain with --target-mode level", lambda t, s: (["train-series", _csv(t, GOOD_CSV), "--target-mode", "level", "--retrain"], None, "--retrain")),
    ("train-series --out empty", lambda t, s: (["train-series", _csv(t, GOOD_CSV), "--out", ""], None, "--out")),
    ("train-series an empty last target without --fill", lambda t, s: (["train-series", _csv(t, GOOD_CSV + "\n2020-01-29,30.5,\n")], None, "empty after the last value; --fill fills gaps between values only")),
    ("eval a text file of one line", lambda t, s: (["eval", "--ckpt", s, CORPORA / "ship.txt"], None, "one line, read as the header")),
    ("eval malformed smoothed baseline", lambda t, s: (["eval", "--ckpt", _crafted(s, t, lambda h, m: m["coder"].update(baseline="smoothed:fast", season=2)), _csv(t, GOOD_CSV)], None, "smoothed:ALPHA,GAMMA,BETA")),
]


RESUME_STATE_CASES = [
    # a run's state that passes the load's checks and was used as it stood: a segfault in the fused
    # Adam kernel (a moment of another shape), tracebacks, or a run trained on quietly
    ("resume optimizer moment of another shape", lambda t, c: (TRAIN + [CORPORA / "hihello.txt", "--resume", _tensors_edited(c, t, lambda ts: ts.update({"optim.3.exp_avg": torch.zeros(5)})), "--epochs", "99"], None, "exp_avg")),
    ("resume optimizer moment missing", lambda t, c: (TRAIN + [CORPORA / "hihello.txt", "--resume", _tensors_edited(c, t, lambda ts: ts.pop("optim.1.exp_avg_sq")), "--epochs", "99"], None, "exp_avg_sq")),
    ("resume RNG state zeroed", lambda t, c: (TRAIN + [CORPORA / "hihello.txt", "--resume", _tensors_edited(c, t, lambda ts: ts["rng.torch"].zero_()), "--epochs", "99"], None, "damaged or edited")),
    ("resume betas of one value", lambda t, c: (TRAIN + [CORPORA / "hihello.txt", "--resume", _crafted(c, t, lambda h, m: m["optimizer"]["param_groups"][0].update(betas=[5])), "--epochs", "99"], None, "betas")),
]


def snapshot(*folders: Path, lock: bool = True) -> dict:
    return {p: (p.lstat().st_mtime_ns, p.lstat().st_size) for f in folders for p in f.rglob("*")
            if lock or p.name != ".lock"}


def check_case(case, tmp_path, ckpt, monkeypatch, lock=True):
    monkeypatch.chdir(tmp_path)
    args, stdin, needle = case(tmp_path, ckpt)
    before = snapshot(tmp_path, ckpt, lock=lock)
    result = run_cli(args, input=stdin)
    assert result.exit_code == 2, (result.stdout, result.stderr)
    assert result.stdout == ""
    lines = result.stderr.strip().splitlines()
    assert "Traceback" not in result.stderr
    assert lines[-1].startswith("error: ") and needle in lines[-1], result.stderr
    assert len(lines) == 1, result.stderr  # usage errors too: the help is named on the line
    assert snapshot(tmp_path, ckpt, lock=lock) == before  # nothing created or changed


@pytest.mark.parametrize("case", [c[1] for c in CASES], ids=[c[0] for c in CASES])
def test_bad_input_is_one_clear_line(case, tmp_path, hihello_ckpt, monkeypatch):
    check_case(case, tmp_path, hihello_ckpt, monkeypatch)


@pytest.mark.parametrize("case", [c[1] for c in RESUME_STATE_CASES],
                         ids=[c[0] for c in RESUME_STATE_CASES])
def test_a_damaged_run_state_is_one_clear_line(case, tmp_path, hihello_ckpt, monkeypatch):
    """Checked where the run restores it, under the folder's lock: the lock file may stay."""
    check_case(case, tmp_path, hihello_ckpt, monkeypatch, lock=False)


@pytest.mark.parametrize("case", [c[1] for c in SERIES_CASES], ids=[c[0] for c in SERIES_CASES])
def test_bad_series_input_is_one_clear_line(case, tmp_path, series_ckpt, monkeypatch):
    check_case(case, tmp_path, series_ckpt, monkeypatch)


def test_internal_errors_keep_their_traceback(monkeypatch, tmp_path):
    import charrnn.text.training as training

    def broken(*args, **kwargs):
        raise ZeroDivisionError("boom")

    monkeypatch.setattr(training, "train", broken)
    result = run_cli(["train-text", CORPORA / "ship.txt", "--out", tmp_path])
    assert result.exit_code == 1
    assert "this is a bug" in result.stderr and "Traceback" in result.stderr


@pytest.mark.parametrize("command", ["train-text", "train-series"])
def test_a_model_too_large_for_the_memory_is_refused_before_it_is_made(command, tmp_path,
                                                                      monkeypatch):
    """The kernel killed `--ensemble 64 --hidden 200` at 19 GB without a word; the check
    compares the weights' training copies with what the machine has (here: 64 KiB)."""
    import charrnn.runtime

    monkeypatch.setattr(charrnn.runtime, "available_memory", lambda: 1 << 16)
    data = CORPORA / "hihello.txt" if command == "train-text" else _csv(tmp_path, GOOD_CSV)
    # a width that text's precision probe would train a few steps of before the run
    result = run_cli([command, data, "--hidden", "200", "--epochs", "1", "--device", "cpu",
                      "--out", tmp_path / "o"])
    assert result.exit_code == 2, result.stderr
    last = result.stderr.strip().splitlines()[-1]
    assert last.startswith("error: --hidden 200") and "choose a smaller model" in last
    assert not (tmp_path / "o" / "best.safetensors").exists()
