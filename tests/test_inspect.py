"""`charrnn inspect`: surprise, guesses and single units, from one exact pass with carried state.

A small LSTM trained here in a few seconds (in Python, so the test does not depend on the
trainer's options) on generated code-like lines with quoted strings and nested brackets.
"""
from __future__ import annotations

import io
import json
import math
import random
import re
from html.parser import HTMLParser
from pathlib import Path

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from charrnn import checkpoint
from charrnn.config import ModelConfig, to_dict
from charrnn.model import RecurrentNet
from charrnn.text import inspect as ins
from charrnn.text.data import Vocab
from charrnn.text.evaluate import score_sliding, score_stream

from conftest import run_cli

WORDS = ["red", "blue", "cat", "dog", "sun", "moon", "tree", "sky", "big", "old", "new", "fast"]


def code_lines(n_lines: int, seed: int) -> str:
    """`X6("tree sun", ([Y0], "fast new", C3), Z1);` and so on: quotes, nested brackets."""
    rng = random.Random(seed)

    def ident():
        return rng.choice("ABCXYZ") + str(rng.randrange(10))

    def arg(depth):
        r = rng.random()
        if r < 0.4:
            return '"' + " ".join(rng.choice(WORDS) for _ in range(rng.randint(2, 5))) + '"'
        if r < 0.6 and depth < 3:
            o, c = rng.choice(["()", "[]"])
            return o + ",".join(arg(depth + 1) for _ in range(rng.randint(1, 3))) + c
        return ident()

    return "\n".join(ident() + "(" + ",".join(arg(1) for _ in range(rng.randint(1, 3))) + ");"
                     for _ in range(n_lines)) + "\n"


def save_model(model: RecurrentNet, vocab: Vocab, path: Path, seq_len: int = 64,
               sliding: bool = False) -> Path:
    """A checkpoint in format version 1 (the loader migrates it), as the trainer wrote it."""
    meta = {"version": 1, "kind": "text", "model": to_dict(model.cfg), "vocab": vocab.chars,
            "corpus": path.stem,
            "train": {"seq_len": seq_len, "sliding": sliding, "seed": 0, "precision": "fp32"}}
    return checkpoint.save(path, {f"model.{k}": v for k, v in model.state_dict().items()}, meta)


def random_model(cell: str, layers: int, hidden: int, vocab: Vocab, embed: int = 8,
                 seed: int = 0) -> RecurrentNet:
    torch.manual_seed(seed)
    cfg = ModelConfig(cell=cell, input_size=len(vocab), output_size=len(vocab), embed=embed,
                      hidden_size=hidden, num_layers=layers, dropout=0.0, tokens=True)
    return RecurrentNet(cfg).eval()


@pytest.fixture(scope="module", autouse=True)
def one_thread():
    """Tiny matrices: one thread, and no spinning on a shared machine."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


@pytest.fixture(scope="module")
def quotes_model(tmp_path_factory):
    """LSTM 1 x 32 on 400 generated lines: 300 Adam steps on random windows, ~2-4 s."""
    folder = tmp_path_factory.mktemp("inspect")
    text = code_lines(400, seed=0)
    vocab = Vocab.from_text(text)
    ids = torch.from_numpy(vocab.encode(text).astype(np.int64))
    model = random_model("lstm", 1, 32, vocab, embed=16, seed=0).train()
    opt = torch.optim.Adam(model.parameters(), lr=1e-2)
    _train(model, opt, ids, torch.Generator().manual_seed(0), len(vocab))
    ckpt = save_model(model.eval(), vocab, folder / "quotes.safetensors")
    shown = folder / "shown.txt"
    shown.write_text(code_lines(60, seed=1), encoding="utf-8")
    return ckpt, shown


def _train(model, opt, ids, g, v):
    for _ in range(300):
        starts = torch.randint(0, len(ids) - 65, (16,), generator=g)
        chunk = ids[starts[:, None] + torch.arange(65)]
        logits, _ = model(chunk[:, :-1])
        loss = F.cross_entropy(logits.reshape(-1, v), chunk[:, 1:].reshape(-1))
        opt.zero_grad()
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 5.0)
        opt.step()


def inspect_json(*args) -> dict:
    result = run_cli(["inspect", *args, "--json"])
    assert result.exit_code == 0, result.stderr
    return json.loads(result.stdout, parse_constant=lambda c: pytest.fail(f"{c} in the JSON"))


def quoted(text: str) -> np.ndarray:
    return ins.text_features(text)[:, list(ins.FEATURES).index("quotes")].astype(bool)


# ----------------------------------------------------------------------------- must show 1

def test_find_reports_a_quote_unit_and_unit_colours_the_quoted_spans(quotes_model):
    ckpt, shown = quotes_model
    table = run_cli(["inspect", "--ckpt", ckpt, shown, "--find"])
    assert table.exit_code == 0, table.stderr
    assert all(name in table.stdout for name in ins.FEATURES)

    found = inspect_json("--ckpt", ckpt, shown, "--find", "quotes")
    (match,) = found["find"]
    best = match["units"][0]
    print(f"quotes: unit {best['layer']}:{best['index']} {best['state']} r = {best['r']:+.3f}")
    assert abs(best["r"]) >= 0.8

    spec = f"{best['layer']}:{best['index']}"
    shown_unit = inspect_json("--ckpt", ckpt, shown, "--unit", spec, "--state", best["state"])
    text = shown.read_text(encoding="utf-8")[:ins.DEFAULT_CHARS]
    values = np.array([row["value"] for row in shown_unit["per_char"]])
    assert np.corrcoef(values, quoted(text))[0, 1] == pytest.approx(best["r"], abs=1e-6)
    # the colours: the quoted spans take one side of the diverging scale, the rest the other
    sign = math.copysign(1.0, best["r"])
    scale = float(np.abs(values).max()) if best["state"] == "c" else 1.0
    warmth = np.array([(lambda rgb: rgb[0] - rgb[2])(ins.unit_rgb(v, scale)) for v in values])
    inside, outside = sign * warmth[quoted(text)], sign * warmth[~quoted(text)]
    assert inside.mean() > 0 > outside.mean()
    assert (inside > outside.mean()).mean() > 0.9

    auto = inspect_json("--ckpt", ckpt, shown, "--find", "quotes", "--unit", "auto")
    assert auto["unit"] == {"layer": best["layer"], "index": best["index"],
                            "state": best["state"], "r": pytest.approx(best["r"])}
    assert [row["value"] for row in auto["per_char"]] == pytest.approx(values.tolist())
    html_page = run_cli(["inspect", "--ckpt", ckpt, "--find", "quotes", shown, "--unit", "auto",
                         "--html", "-"])
    assert html_page.exit_code == 0 and "strongest for quotes" in html_page.stdout


def test_features():
    text = 'a("x (y)", [b])\n\tAB 12 "q\\"r"\n'
    f = ins.text_features(text)
    col = {name: f[:, j] for j, name in enumerate(ins.FEATURES)}
    assert "".join(c for c, q in zip(text, col["quotes"]) if q) == '"x (y)""q\\"r"'
    assert "".join(c for c, b in zip(text, col["brackets"]) if b) == '("x (y)", [b])'
    assert col["line-pos"][:3].tolist() == [1, 2, 3] and col["line-pos"][text.index("\n")] == 0
    assert col["indent"][text.index("A")] == 8
    assert "".join(c for c, w in zip(text, col["word-start"]) if w) == "axybA1qr"
    assert "".join(c for c, u in zip(text, col["upper"]) if u) == "AB"
    assert "".join(c for c, d in zip(text, col["digit"]) if d) == "12"


# ----------------------------------------------------------------------------- must show 2

def test_mean_loss_equals_eval(quotes_model, tmp_path):
    ckpt, shown = quotes_model
    text = shown.read_text(encoding="utf-8") + "unknown: 한국어 ~ €\n" + code_lines(5, seed=2)
    data = tmp_path / "data.txt"
    data.write_text(text, encoding="utf-8")
    evaluated = run_cli(["eval", data, "--ckpt", ckpt, "--json", "--device", "cpu"])
    assert evaluated.exit_code == 0, evaluated.stderr
    expected = json.loads(evaluated.stdout)
    got = inspect_json("--ckpt", ckpt, data, "--chars", 100000)
    assert got["mean_loss"] == pytest.approx(expected["loss"], abs=1e-6)
    assert got["predicted"] == expected["chars"]
    assert got["unknown_chars"] == expected["unknown_chars"] > 0
    printed = run_cli(["inspect", "--ckpt", ckpt, data, "--chars", 100000])
    assert printed.exit_code == 0, printed.stderr
    assert float(re.search(r"mean loss ([0-9.]+)", printed.stdout).group(1)) == pytest.approx(
        expected["loss"], abs=1e-6)
    # a part of the file: the same as eval on that part alone
    part = tmp_path / "part.txt"
    part.write_text(text[300:1100], encoding="utf-8")
    evaluated = json.loads(run_cli(["eval", part, "--ckpt", ckpt, "--json"]).stdout)
    got = inspect_json("--ckpt", ckpt, data, "--start", 300, "--chars", 800)
    assert got["mean_loss"] == pytest.approx(evaluated["loss"], abs=1e-6)
    assert "".join(row["char"] for row in got["per_char"]) == text[300:1100]


@pytest.mark.parametrize("cell,embed", [("lstm", 8), ("gru", 0), ("rnn", 8)])
def test_layer_by_layer_is_the_fused_pass(cell, embed):
    """Every layer's outputs come from one-layer copies; the top ones, the states, the cell
    states and the loss equal the fused model's (over several chunks of carried state)."""
    text = code_lines(45, seed=3)
    vocab = Vocab.from_text(text)
    model = random_model(cell, 2, 24, vocab, embed=embed)
    ids = vocab.encode(text).astype(np.int64)
    assert len(ids) > 2 * ins.CHUNK
    x = torch.from_numpy(ids)[None]
    with torch.inference_mode():
        stack = ins.LayerStack(model)
        hs, cs, states = stack.run(x, None, want_c=True)
        fused_out, fused_state = model.features(x)
        torch.testing.assert_close(hs[-1], fused_out, rtol=0, atol=1e-6)
        if cell == "lstm":
            for k, (h, c) in enumerate(states):
                torch.testing.assert_close(h[0], fused_state[0][k], rtol=0, atol=1e-6)
                torch.testing.assert_close(cs[k][:, -1], fused_state[1][k], rtol=0, atol=1e-5)
        else:
            assert cs is None
            for k, h in enumerate(states):
                torch.testing.assert_close(h[0], fused_state[k], rtol=0, atol=1e-6)
    result = ins.run_inspection(model, vocab, {}, text, "t", 0, find_states=("h",))
    scores = score_stream(model, ids)
    assert result.predicted == scores.chars
    assert result.mean_loss == pytest.approx(scores.loss, abs=1e-6)


def test_lstm_cell_states_follow_h():
    """h = o * tanh(c): the recomputed c agrees with the h the module returned."""
    text = code_lines(10, seed=4)
    vocab = Vocab.from_text(text)
    model = random_model("lstm", 1, 16, vocab)
    x = torch.from_numpy(vocab.encode(text).astype(np.int64))[None]
    with torch.inference_mode():
        stack = ins.LayerStack(model)
        (h,), (c,), _ = stack.run(x, None, want_c=True)
        layer = stack.layers[0]
        emb = stack.embed(x)
        prev = torch.cat([torch.zeros_like(h[:, :1]), h[:, :-1]], dim=1)
        gates = (emb @ layer.weight_ih_l0.T + layer.bias_ih_l0 + prev @ layer.weight_hh_l0.T
                 + layer.bias_hh_l0)
        o = torch.sigmoid(gates.chunk(4, -1)[3])
        torch.testing.assert_close(o * torch.tanh(c), h, rtol=0, atol=1e-5)


def test_sliding_model_scores_as_eval(tmp_path):
    """A --sliding model: eval scores the first window carried and each later character from
    its own window; inspect's per-character losses add up to the same."""
    text = code_lines(8, seed=5)
    vocab = Vocab.from_text(text)
    model = random_model("gru", 2, 12, vocab, seed=1)
    ckpt = save_model(model, vocab, tmp_path / "sliding.safetensors", seq_len=7, sliding=True)
    data = tmp_path / "data.txt"
    data.write_text(text, encoding="utf-8")
    expected = score_sliding(model, vocab.encode(text), 7)
    got = inspect_json("--ckpt", ckpt, data, "--find")
    assert got["predicted"] == expected.chars
    assert got["mean_loss"] == pytest.approx(expected.loss, abs=1e-6)
    evaluated = run_cli(["eval", data, "--ckpt", ckpt, "--json"])
    if evaluated.exit_code == 0:
        assert got["mean_loss"] == pytest.approx(json.loads(evaluated.stdout)["loss"], abs=1e-6)


# ----------------------------------------------------------------------------- must show 3

class _Page(HTMLParser):
    def __init__(self):
        super().__init__()
        self.pre, self.depth, self.tags, self.titles, self.refs = [], 0, [], 0, []

    def handle_starttag(self, tag, attrs):
        self.tags.append(tag)
        attrs = dict(attrs)
        if tag == "pre":
            self.depth += 1
        if self.depth and tag == "span" and "title" in attrs:
            self.titles += 1
        self.refs += [v for k, v in attrs.items() if k in ("href", "src") and v]

    def handle_endtag(self, tag):
        if tag == "pre":
            self.depth -= 1

    def handle_data(self, data):
        if self.depth:
            self.pre.append(data)


def test_html_page_is_self_contained_and_shows_every_character_once(quotes_model, tmp_path):
    ckpt, _ = quotes_model
    text = ('X1("a < b && c > d", [Y2]);\n<script>alert("x")</script> & &amp; \'single\'\n'
            '\t"quoted \\" more" (한국어 텍스트)\r\nZ3("end");\n')
    data = tmp_path / "odd.txt"
    data.write_text(text, encoding="utf-8")
    out = tmp_path / "page.html"
    result = run_cli(["inspect", "--ckpt", ckpt, data, "--html", out, "--unit", "1:0"])
    assert result.exit_code == 0, result.stderr
    assert "mean loss" in result.stdout and "<span" not in result.stdout
    page = out.read_bytes().decode("utf-8")
    parser = _Page()
    parser.feed(page)
    parser.close()
    assert "".join(parser.pre) == text
    assert parser.titles == len(text)
    assert set(parser.tags) <= {"html", "head", "meta", "title", "body", "div", "p", "span", "pre",
                                "table", "tr", "th", "td"} and parser.refs == []
    assert "http://" not in page and "https://" not in page and "<script" not in page
    assert ">&lt;</span>" in page and ">&amp;</span>" in page and ">&#13;</span>" in page
    assert "guesses:" in page and "outside the vocabulary" in page


# ----------------------------------------------------------------------------- must show 4

def test_rich_rendering_has_colours_and_legend(quotes_model):
    from rich.console import Console

    ckpt, shown = quotes_model
    loaded = checkpoint.load(ckpt, kind="text")
    from charrnn.text.commands import load_model

    model, vocab = load_model(loaded, "cpu")
    text = shown.read_text(encoding="utf-8")[:400] + "€"
    result = ins.run_inspection(model, vocab, loaded.meta, text, "shown", 0)
    console = Console(record=True, force_terminal=True, width=80, color_system="truecolor",
                      file=io.StringIO())
    ins.render_terminal(result, console, color=True)
    styled = console.export_text(styles=True, clear=False)
    plain = console.export_text()
    assert "legend: loss in nats" in plain and "outside the vocabulary" in plain
    assert "mean loss" in plain
    backgrounds = set(re.findall(r"\x1b\[[0-9;]*48;2;(\d+;\d+;\d+)", styled))
    assert len(backgrounds) > 5  # many shades of surprise
    high = "%d;%d;%d" % ins.loss_rgb(5.0)
    assert high in styled  # the legend's end of the scale

    unit = ins.run_inspection(model, vocab, loaded.meta, text, "shown", 0,
                              unit=ins.UnitRef(1, 3, "h"))
    console = Console(record=True, force_terminal=True, width=80, color_system="truecolor",
                      file=io.StringIO())
    ins.render_terminal(unit, console, color=True)
    styled = console.export_text(styles=True, clear=False)
    plain = console.export_text()
    assert "legend: unit 1:3 h" in plain and "-1.00" in plain and "+1.00" in plain
    assert "%d;%d;%d" % ins.unit_rgb(-1, 1) in styled


def test_no_colour_when_not_a_terminal_or_no_color(quotes_model, monkeypatch):
    ckpt, shown = quotes_model
    for env in ({}, {"NO_COLOR": "1"}):
        for k, v in env.items():
            monkeypatch.setenv(k, v)
        for extra in ([], ["--top", "3"], ["--find"], ["--unit", "1:2"]):
            result = run_cli(["inspect", "--ckpt", ckpt, shown, "-n", 150, *extra])
            assert result.exit_code == 0, result.stderr
            assert "\x1b[" not in result.stdout
            assert result.stderr == ""
    plain = run_cli(["inspect", "--ckpt", ckpt, shown, "-n", 150]).stdout
    assert plain.startswith(shown.read_text(encoding="utf-8")[:150])


def test_top_guesses(quotes_model):
    ckpt, shown = quotes_model
    got = inspect_json("--ckpt", ckpt, shown, "--top", 3, "--start", 10, "-n", 30)
    rows = got["per_char"]
    assert len(rows) == 30 and rows[0]["top"] is None
    text = shown.read_text(encoding="utf-8")[10:40]
    for row, ch in zip(rows[1:], text[1:]):
        probs = [g["p"] for g in row["top"]]
        assert len(probs) == 3 and probs == sorted(probs, reverse=True) and sum(probs) <= 1 + 1e-6
        came = [g["p"] for g in row["top"] if g["char"] == ch]
        if came:
            assert math.exp(-row["loss"]) == pytest.approx(came[0], rel=1e-4)
        else:
            assert math.exp(-row["loss"]) <= probs[-1] + 1e-6
    table = run_cli(["inspect", "--ckpt", ckpt, shown, "--top", 2, "-n", 20])
    assert table.exit_code == 0 and "*" in table.stdout and len(table.stdout.splitlines()) >= 21


def test_stdin(quotes_model):
    ckpt, shown = quotes_model
    text = shown.read_text(encoding="utf-8")[:200]
    result = run_cli(["inspect", "--ckpt", ckpt, "-", "--json"], input=text)
    assert result.exit_code == 0, result.stderr
    assert "".join(r["char"] for r in json.loads(result.stdout)["per_char"]) == text


# ----------------------------------------------------------------------------- bad input

@pytest.fixture(scope="module")
def other_ckpts(tmp_path_factory):
    folder = tmp_path_factory.mktemp("other")
    vocab = Vocab.from_text("abc\n")
    gru = save_model(random_model("gru", 1, 4, vocab), vocab, folder / "gru.safetensors")
    csv = folder / "s.csv"
    csv.write_text("day,v\n" + "\n".join(f"2020-01-{d:02d},{d % 7}.5" for d in range(1, 29)))
    result = run_cli(["train-series", csv, "--epochs", "2", "--out", folder / "series",
                      "--quiet", "--device", "cpu"])
    assert result.exit_code == 0, result.stderr
    return gru, folder / "series"


@pytest.mark.parametrize("args,says", [
    (["--unit", "2:0"], "out of range"),
    (["--unit", "1:32"], "out of range"),
    (["--unit", "1:-1"], "out of range"),
    (["--unit", "one"], "LAYER:UNIT"),
    (["--unit", "auto"], "--find FEATURE"),
    (["--find", "nosuch"], "feature"),
    (["nosuch", "--find"], "feature"),
    (["quotes"], "--find"),
    (["--chars", "0"], "--chars 0"),
    (["--top", "0"], "--top 0"),
    (["--start", "1000000"], "--start"),
    (["--html", "/nonexistent-folder/x.html"], "--html"),
    (["--html", "-", "--json"], "stdout"),
])
def test_bad_input(quotes_model, args, says):
    ckpt, shown = quotes_model
    result = run_cli(["inspect", "--ckpt", ckpt, shown, *args])
    assert result.exit_code == 2, (result.stdout, result.stderr)
    lines = result.stderr.splitlines()
    assert len(lines) == 1 and lines[0].startswith("error:") and says in lines[0], lines
    assert result.stdout == ""


def test_the_page_never_replaces_the_checkpoint_or_the_text(quotes_model, tmp_path):
    """--html names an .html file other than the text read: given the checkpoint's own name,
    or the text's, it wrote the page over it."""
    import shutil

    ckpt, shown = quotes_model
    model, text = tmp_path / "model.safetensors", tmp_path / "text.html"
    shutil.copy(ckpt, model)
    text.write_text(shown.read_text(encoding="utf-8"), encoding="utf-8")
    before = (model.read_bytes(), text.read_bytes())
    for data, page, says in ((text, model, ".html file name"), (text, text, "being read")):
        result = run_cli(["inspect", "--ckpt", model, data, "--html", page])
        lines = result.stderr.splitlines()
        assert result.exit_code == 2 and len(lines) == 1 and says in lines[0], lines
    assert (model.read_bytes(), text.read_bytes()) == before


def test_bad_models(other_ckpts, quotes_model, tmp_path):
    gru, series = other_ckpts
    _, shown = quotes_model
    data = tmp_path / "abc.txt"
    data.write_text("abcabc\nzz", encoding="utf-8")
    for ckpt, extra, says in ((series, [], "series"), (gru, ["--unit", "1:0", "--state", "c"],
                                                       "no cell state"),
                              (gru, ["--find", "--state", "c"], "no cell state")):
        result = run_cli(["inspect", "--ckpt", ckpt, data, *extra])
        lines = result.stderr.splitlines()
        assert result.exit_code == 2 and len(lines) == 1 and says in lines[0], lines
    few = tmp_path / "few.txt"
    few.write_text("a€€", encoding="utf-8")
    result = run_cli(["inspect", "--ckpt", gru, few])
    assert result.exit_code == 2 and "fewer than two" in result.stderr
    ok = inspect_json("--ckpt", gru, data, "--find", "--unit", "1:3")
    assert ok["per_char"][-1] == {"char": "z", "known": False, "loss": None, "value": None}
    assert ok["find"][list(ins.FEATURES).index("upper")]["units"] == []  # absent: no r


def test_html_onto_the_file_on_stdin_is_refused(hihello_ckpt, tmp_path):
    """`inspect --html F - < F` replaced the text it was reading (a path is compared already)."""
    import os
    import subprocess
    import sys

    page = tmp_path / "in.html"
    page.write_text("hihello hello\n")
    with open(page) as stdin:
        result = subprocess.run([sys.executable, "-m", "charrnn", "inspect", "--ckpt",
                                 str(hihello_ckpt), "--html", str(page), "-"], stdin=stdin,
                                capture_output=True, text=True, timeout=120,
                                env={**os.environ, "OMP_NUM_THREADS": "1"})
    assert result.returncode == 2 and "the file on stdin" in result.stderr
    assert page.read_text() == "hihello hello\n"
