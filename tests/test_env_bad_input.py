"""The environments real users have: folders and links, cache folders, closed or full streams,
locales, Ctrl-C at start, pipes, limits and numerics. Each refusal is one `error:` line with its
exit code (2 bad input, 1 a failure) and nothing changed on disk, the encoded-corpus cache
included; each fallback says so in one `note:`.

In-process cases run through CliRunner; those that need a real process (a closed stdin, a full
stdout, a locale, a signal, a pipe) run `python -m charrnn`.
"""
from __future__ import annotations

import errno
import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
import torch

from conftest import CORPORA, ROOT, run_cli

SHIP = CORPORA / "ship.txt"
TINY = ["--hidden", "8", "--layers", "1", "--epochs", "1", "--quiet"]
GOOD_CSV = "day,open,close\n" + "\n".join(f"2020-01-{d:02d},{d}.5,{d + 1}.25" for d in range(1, 29))


def cache() -> Path:
    return Path(os.environ["CHARRNN_CACHE"])


def snapshot(*folders: Path) -> dict:
    return {p: (p.stat().st_mtime_ns, p.stat().st_size) for f in folders if f.exists()
            for p in f.rglob("*")}


def _text(path: Path, text: str) -> Path:
    path.write_text(text, encoding="utf-8")
    return path


def one_line(stderr: str, prefix: str = "error: ") -> str:
    lines = stderr.strip().splitlines()
    assert "Traceback" not in stderr, stderr
    assert len(lines) == 1 and lines[0].startswith(prefix), stderr
    return lines[0]


# ---------------------------------------------------------------------- refused up front
TRAIN = ["train-text"]
# (id, builder(tmp, ckpt) -> args, exit code, text the line must hold)
CASES = [
    # limits: the loader's bounds, refused before anything is read or written
    ("embed beyond the loader's bound", lambda t, c: TRAIN + [SHIP, "--embed", "70000"], 2, "65,536"),
    ("hidden beyond the loader's bound", lambda t, c: TRAIN + [SHIP, "--hidden", "1000000"], 2, "--hidden 1000000"),
    ("layers beyond the loader's bound", lambda t, c: TRAIN + [SHIP, "--layers", "65"], 2, "at most 64"),
    ("series hidden beyond the bound", lambda t, c: ["train-series", _text(t / "s.csv", GOOD_CSV), "--hidden", "70000"], 2, "--hidden"),
    ("series horizon beyond the bound", lambda t, c: ["train-series", _text(t / "s.csv", GOOD_CSV), "--horizon", "3000000"], 2, "--horizon"),
    # options checked before the corpus is encoded into the cache
    ("cuda without a GPU, before the cache", lambda t, c: (TRAIN + [SHIP, "--device", "cuda"]) if not torch.cuda.is_available() else pytest.skip("has CUDA"), 2, "CUDA"),
    ("bad time budget, before the cache", lambda t, c: TRAIN + [SHIP, "--time-budget", "soon"], 2, "--time-budget"),
    ("out below a file, before the cache", lambda t, c: TRAIN + [SHIP, "--out", _text(t / "f", "x") / "sub"], 2, "--out"),
    ("resume with another shape, before the cache", lambda t, c: TRAIN + [_text(t / "new.txt", "fresh text for the cache"), "--resume", c, "--hidden", "99"], 2, "--hidden 99"),
    # environment
    ("a glob matching nothing", lambda t, c: TRAIN + [str(t / "none" / "*.txt")], 2, "matches no files"),
]


@pytest.mark.parametrize("case", [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_refused_up_front(case, tmp_path, hihello_ckpt, monkeypatch):
    build, code, needle = case
    monkeypatch.chdir(tmp_path)
    args = build(tmp_path, hihello_ckpt)
    before = snapshot(tmp_path, hihello_ckpt, cache())
    result = run_cli(args)
    assert result.exit_code == code, result.stderr
    assert needle in one_line(result.stderr)
    assert result.stdout == ""
    assert snapshot(tmp_path, hihello_ckpt, cache()) == before


# ---------------------------------------------------------------------- folders and runs
def test_glob_default_out_is_named_from_the_folder(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    for name in ("alpha", "beta"):
        (tmp_path / name).mkdir()
        _text(tmp_path / name / "x.txt", SHIP.read_text())
        result = run_cli(TRAIN + [f"{name}/*.txt", *TINY])
        assert result.exit_code == 0, result.stderr
    made = sorted(p.name for p in (tmp_path / "checkpoints").iterdir())
    assert made == ["alpha", "beta"]
    assert not any("*" in str(p) for p in tmp_path.rglob("*"))


def test_bare_glob_default_out_has_no_star(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    _text(tmp_path / "ship1.txt", SHIP.read_text())
    result = run_cli(TRAIN + ["ship*.txt", *TINY])
    assert result.exit_code == 0, result.stderr
    assert [p.name for p in (tmp_path / "checkpoints").iterdir()] == ["ship"]


@pytest.mark.parametrize("links", ["loop", "two links"])
def test_files_reached_twice_through_links_are_read_once(links, tmp_path):
    from charrnn.text.corpus import load_corpus

    folder = tmp_path / "d"
    folder.mkdir()
    _text(folder / "f.txt", "hello there\n")
    if links == "loop":
        (folder / "up").symlink_to("..")
    else:
        (folder / "g.txt").symlink_to("f.txt")
        os.link(folder / "f.txt", folder / "h.txt")
    loaded = load_corpus(str(tmp_path / "**" / "*.txt"))
    assert len(loaded.ids) == len("hello there\n")
    assert any("read once" in note for note in loaded.notes)


# ---------------------------------------------------------------------- cache folders
def test_cache_folder_that_is_a_file_falls_back_with_a_note(tmp_path, monkeypatch):
    blocker = _text(tmp_path / "cachefile", "not a folder")
    monkeypatch.setenv("CHARRNN_CACHE", str(blocker))
    result = run_cli(TRAIN + [SHIP, "--hidden", "8", "--epochs", "1", "--out", tmp_path / "o"])
    assert result.exit_code == 0, result.stderr
    notes = [line for line in result.stderr.splitlines() if line.startswith("note: cache folder")]
    assert len(notes) == 1 and str(blocker) in notes[0]
    assert blocker.read_text() == "not a folder"


def test_home_that_is_a_file_falls_back_with_a_note(tmp_path, monkeypatch):
    home = _text(tmp_path / "home", "x")
    monkeypatch.delenv("CHARRNN_CACHE")
    monkeypatch.delenv("XDG_CACHE_HOME", raising=False)
    monkeypatch.setenv("HOME", str(home))
    result = run_cli(TRAIN + [SHIP, "--hidden", "8", "--epochs", "1", "--out", tmp_path / "o"])
    assert result.exit_code == 0, result.stderr
    assert any(line.startswith("note: cache folder") and str(home) in line
               for line in result.stderr.splitlines())


@pytest.mark.skipif(os.geteuid() == 0, reason="root writes into read-only folders")
def test_read_only_cache_folder_falls_back_with_a_note(tmp_path, monkeypatch):
    folder = tmp_path / "ro"
    folder.mkdir()
    folder.chmod(0o555)
    monkeypatch.setenv("CHARRNN_CACHE", str(folder))
    result = run_cli(TRAIN + [SHIP, "--hidden", "8", "--epochs", "1", "--out", tmp_path / "o"])
    assert result.exit_code == 0, result.stderr
    assert "note: cache folder" in result.stderr and list(folder.iterdir()) == []


def test_full_cache_folder_is_one_line_and_exit_1(tmp_path, monkeypatch):
    import charrnn.text.corpus as corpus

    def full(*args, **kwargs):
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setenv("CHARRNN_CACHE", str(tmp_path / "cache"))
    monkeypatch.setattr(corpus, "_write_ids", full)
    monkeypatch.chdir(tmp_path)
    corpus = _text(tmp_path / "c.txt", "some text to encode")
    before = snapshot(tmp_path)
    result = run_cli(TRAIN + [corpus, "--out", tmp_path / "o"])
    assert result.exit_code == 1
    line = one_line(result.stderr)
    assert str(tmp_path / "cache") in line and "No space left" in line
    assert {p for p in snapshot(tmp_path) if "cache" not in p.parts} == set(before)


# ---------------------------------------------------------------------- numerics
def test_tiny_temperature_acts_as_argmax(hihello_ckpt):
    greedy = run_cli(["sample", "--ckpt", hihello_ckpt, "-n", "30", "--argmax"])
    for t in ("1e-40", "1e-300", "5e-324"):
        result = run_cli(["sample", "--ckpt", hihello_ckpt, "-n", "30", "-t", t, "--seed", "3"])
        assert result.exit_code == 0, result.stderr
        assert result.stdout == greedy.stdout


@pytest.mark.parametrize("exact", [[], ["--exact"]])
def test_tiny_top_p_acts_as_argmax(hihello_ckpt, exact):
    greedy = run_cli(["sample", "--ckpt", hihello_ckpt, "-n", "30", "--argmax"])
    for p in ("1e-30", "1e-40", "1e-300"):
        result = run_cli(["sample", "--ckpt", hihello_ckpt, "-n", "30", "--top-p", p, "--seed",
                          "3", *exact])
        assert result.exit_code == 0, result.stderr
        assert result.stdout == greedy.stdout


@pytest.mark.parametrize("lr, view", [("1e20", ["--quiet", "--json"]), ("1e30", ["--quiet"]),
                                      ("1e30", [])])
def test_diverging_learning_rate_is_one_line_and_exit_1(tmp_path, lr, view):
    # 1e30 leaves huge but finite weights and a finite loss: only a preview used to notice
    result = run_cli(TRAIN + [CORPORA / "ship.txt", "--lr", lr, "--epochs", "2", "--hidden",
                              "4", "--out", tmp_path, *view])
    assert result.exit_code == 1
    last = result.stderr if view else result.stderr.strip().splitlines()[-1]  # after a header
    assert "--lr" in one_line(last) and "Traceback" not in result.stderr
    for name in ("best.safetensors", "last.safetensors"):  # never the diverged weights
        if (tmp_path / name).exists():
            from charrnn import checkpoint

            weights = checkpoint.load(tmp_path / name).group("model").values()
            assert all(torch.isfinite(w).all() for w in weights)


def test_lock_file_that_is_a_folder_is_named(tmp_path):
    (tmp_path / ".lock").mkdir()
    result = run_cli(TRAIN + [CORPORA / "hihello.txt", "--epochs", "1", "--out", tmp_path])
    assert result.exit_code == 2
    assert ".lock is a folder" in one_line(result.stderr)
    assert not list(tmp_path.glob("*.safetensors"))


# ---------------------------------------------------------------------- real processes
def charrnn(*args, stdin=None, env=None, shell_suffix="", timeout=120, **kw):
    environ = {**os.environ, "OMP_NUM_THREADS": "1", **(env or {})}
    if shell_suffix:
        command = " ".join([f"'{sys.executable}'", "-m", "charrnn", *(f"'{a}'" for a in args)])
        return subprocess.run(["bash", "-c", command + " " + shell_suffix], capture_output=True,
                              env=environ, timeout=timeout, cwd=kw.get("cwd", ROOT))
    return subprocess.run([sys.executable, "-m", "charrnn", *map(str, args)], input=stdin,
                          capture_output=True, env=environ, timeout=timeout, cwd=kw.get("cwd", ROOT))


@pytest.mark.parametrize("command", [["train-text", "-"], ["eval", "--ckpt", "CKPT", "-"],
                                     ["train-series", "-"]], ids=["train-text", "eval", "train-series"])
def test_closed_stdin(command, tmp_path, hihello_ckpt):
    args = [str(hihello_ckpt) if a == "CKPT" else a for a in command]
    if command[0].startswith("train"):
        args += ["--out", str(tmp_path / "o")]
    before = snapshot(tmp_path, cache())
    result = charrnn(*args, shell_suffix="<&-")
    assert result.returncode == 2
    assert "stdin is closed" in one_line(result.stderr.decode())
    assert snapshot(tmp_path, cache()) == before


@pytest.mark.skipif(not Path("/dev/zero").exists(), reason="needs /dev/zero")
@pytest.mark.parametrize("command, source", [("train-text", "/dev/zero"), ("eval", "/dev/urandom"),
                                             ("train-series", "-")])
def test_an_endless_binary_stream_is_refused_at_once(command, source, tmp_path, hihello_ckpt):
    before = snapshot(tmp_path, cache())
    where = ["--ckpt", hihello_ckpt] if command == "eval" else ["--out", tmp_path / "o"]
    result = charrnn(command, source, *where,
                     shell_suffix="< /dev/urandom" if source == "-" else "", timeout=60)
    assert result.returncode == 2
    assert "looks binary" in one_line(result.stderr.decode()) or "not UTF-8" in result.stderr.decode()
    assert snapshot(tmp_path, cache()) == before  # no spool file left in the cache


def test_sigterm_while_stdin_is_read_leaves_no_spool_file(tmp_path):
    before = snapshot(tmp_path, cache())
    proc = subprocess.Popen([sys.executable, "-m", "charrnn", "train-text", "-", "--out",
                             str(tmp_path / "o")], stdin=subprocess.PIPE, stderr=subprocess.PIPE,
                            env={**os.environ, "OMP_NUM_THREADS": "1"})
    proc.stdin.write(b"some text, and more to come\n")
    proc.stdin.flush()
    deadline = time.monotonic() + 60
    while not list(cache().glob("stdin-*")) and time.monotonic() < deadline:
        time.sleep(0.05)
    proc.send_signal(signal.SIGTERM)
    _, err = proc.communicate(timeout=60)
    assert proc.returncode == 143
    assert "SIGTERM" in one_line(err.decode())
    assert snapshot(tmp_path, cache()) == before


@pytest.mark.skipif(not Path("/dev/full").exists(), reason="needs /dev/full")
@pytest.mark.parametrize("extra", [[], ["--json"], ["--num-samples", "2"]], ids=["text", "json", "batch"])
def test_full_stdout(extra, hihello_ckpt):
    result = charrnn("sample", "--ckpt", hihello_ckpt, "-n", "50", *extra, shell_suffix="> /dev/full")
    assert result.returncode == 1
    assert "No space left" in one_line(result.stderr.decode())


@pytest.mark.skipif(not Path("/dev/full").exists(), reason="needs /dev/full")
@pytest.mark.parametrize("args", [["--help"], ["--version"], ["sample", "--help"]])
def test_full_stdout_for_help_and_version(args):
    result = charrnn(*args, shell_suffix="> /dev/full")
    assert result.returncode == 1
    assert "No space left" in one_line(result.stderr.decode())


def test_no_command_is_bad_usage_with_the_help_on_stderr():
    result = charrnn()
    assert result.returncode == 2 and result.stdout == b""
    assert "train-text" in result.stderr.decode() and "Traceback" not in result.stderr.decode()
    piped = charrnn("--help", shell_suffix="| head -c 10")
    assert piped.returncode == 0 and piped.stderr == b""


@pytest.mark.skipif(not Path("/dev/full").exists(), reason="needs /dev/full")
def test_full_stdout_eval_json(hihello_ckpt):
    result = charrnn("eval", "--ckpt", hihello_ckpt, CORPORA / "hihello.txt", "--json",
                     shell_suffix="> /dev/full")
    assert result.returncode == 1
    assert "stdout" in one_line(result.stderr.decode())


@pytest.fixture(scope="module")
def korean_ckpt(tmp_path_factory):
    folder = tmp_path_factory.mktemp("ko")
    data = _text(folder / "ko.txt", "안녕하세요 한국어 텍스트입니다. 안녕하세요!\n" * 3)
    result = run_cli(TRAIN + [data, *TINY, "--out", folder / "ck"])
    assert result.exit_code == 0, result.stderr
    return folder / "ck"


@pytest.mark.parametrize("locale", ["C", "POSIX"])
@pytest.mark.parametrize("extra", [[], ["-p", "안"], ["--json"]], ids=["default", "korean prime", "json"])
def test_output_is_utf8_whatever_the_locale(locale, extra, korean_ckpt):
    env = {"LANG": locale, "LC_ALL": locale, "PYTHONCOERCECLOCALE": "0", "PYTHONUTF8": "0"}
    env_clean = {k: v for k, v in os.environ.items() if k != "PYTHONIOENCODING"}
    result = subprocess.run([sys.executable, "-m", "charrnn", "sample", "--ckpt", str(korean_ckpt),
                             "-n", "20", "--seed", "1", *extra], capture_output=True,
                            env={**env_clean, "OMP_NUM_THREADS": "1", **env}, timeout=120)
    assert result.returncode == 0, result.stderr.decode(errors="replace")
    text = result.stdout.decode("utf-8")
    if "--json" not in extra:
        assert any("\uac00" <= ch <= "\ud7a3" for ch in text)
    assert b"Traceback" not in result.stderr


@pytest.mark.parametrize("delay", [0.15, 0.3, 0.6, 1.0])
def test_ctrl_c_at_start_is_clean(delay, hihello_ckpt):
    """From our first import on (the interpreter's own start-up, `site`, comes before any of
    charrnn's code and cannot be guarded)."""
    process = subprocess.Popen([sys.executable, "-m", "charrnn", "sample", "--ckpt",
                                str(hihello_ckpt), "-n", "5"], stdout=subprocess.PIPE,
                               stderr=subprocess.PIPE, env={**os.environ, "OMP_NUM_THREADS": "1"})
    time.sleep(delay)
    process.send_signal(signal.SIGINT)
    _, err = process.communicate(timeout=120)
    err = err.decode()
    assert "Traceback" not in err, err
    if process.returncode != 0:  # finished before the signal: fine
        assert process.returncode in (130, -signal.SIGINT), err
        assert err.strip() in ("", "error: interrupted"), err


# a Ctrl-C after the command's work, while the interpreter tears down (torch's finalizers run
# then): the race the delays above hit on a slow machine, made certain by an atexit handler
LATE_CTRL_C = """
import atexit, os, signal, sys, time
def late_ctrl_c():
    os.kill(os.getpid(), signal.SIGINT)
    time.sleep(0.2)
atexit.register(late_ctrl_c)
sys.argv = ["charrnn", "sample", "--ckpt", sys.argv[1], "-n", "5"]
from charrnn.cli import main
main()
"""


def test_ctrl_c_during_teardown_is_ignored(hihello_ckpt):
    result = subprocess.run([sys.executable, "-c", LATE_CTRL_C, str(hihello_ckpt)],
                            capture_output=True, env={**os.environ, "OMP_NUM_THREADS": "1"},
                            timeout=120)
    assert b"Traceback" not in result.stderr, result.stderr.decode()
    assert result.returncode == 0 and len(result.stdout) > 0


def test_process_substitution_is_read_as_a_stream(tmp_path):
    result = charrnn("train-text", "--hidden", "8", "--epochs", "1", "--quiet", "--out",
                     tmp_path / "o", shell_suffix=f"<(cat '{SHIP}')")
    assert result.returncode == 0, result.stderr.decode()
    assert (tmp_path / "o" / "best.safetensors").exists()


def test_fifo_is_read_as_a_stream(tmp_path):
    fifo = tmp_path / "pipe.txt"
    os.mkfifo(fifo)
    writer = threading.Thread(target=lambda: fifo.write_bytes(SHIP.read_bytes()))
    writer.start()
    result = run_cli(TRAIN + [fifo, *TINY, "--out", tmp_path / "o"])
    writer.join(timeout=30)
    assert result.exit_code == 0, result.stderr
    assert (tmp_path / "o" / "best.safetensors").exists()


def test_empty_fifo_is_one_line(tmp_path):
    fifo = tmp_path / "pipe.txt"
    os.mkfifo(fifo)
    writer = threading.Thread(target=lambda: fifo.write_bytes(b""))
    writer.start()
    result = run_cli(TRAIN + [fifo, *TINY, "--out", tmp_path / "o"])
    writer.join(timeout=30)
    assert result.exit_code == 2
    assert "nothing arrived" in one_line(result.stderr)
    assert not (tmp_path / "o").exists()


def test_reader_going_away_mid_training_is_exit_1(tmp_path):
    csv = _text(tmp_path / "s.csv", "date,value\n" + "\n".join(
        f"{2000 + i // 12}-{1 + i % 12:02d}-01,{10 + (i * 7) % 13}" for i in range(200)))
    result = charrnn("train-series", csv, "--epochs", "100000", "--out", tmp_path / "o",
                     "--device", "cpu", shell_suffix="2>&1 | head -2; exit ${PIPESTATUS[0]}")
    assert result.returncode == 1, result.stdout.decode()
