import json
import math

import pytest

from charrnn import checkpoint
from conftest import CORPORA, HIHELLO_ARGS, run_cli


def json_lines(stdout):
    return [json.loads(line) for line in stdout.splitlines() if line.strip()]


def assert_clean_error(result, *needles):
    assert result.exit_code == 2, (result.stdout, result.stderr)
    assert result.stdout == ""
    lines = result.stderr.strip().splitlines()
    assert lines[-1].startswith("error: ") and "Traceback" not in result.stderr
    assert len(lines) <= 2 and all(not line.startswith("Error") for line in lines)
    for needle in needles:
        assert needle in result.stderr


def test_hihello_is_learned_as_in_the_lecture(hihello_ckpt):
    result = run_cli(["sample", "--ckpt", hihello_ckpt, "--prime", "h", "--argmax", "-n", "6"])
    assert result.exit_code == 0 and result.stdout == "hihello\n" and result.stderr == ""


def test_train_json_lines_carry_the_predictions(tmp_path):
    result = run_cli(["train-text", CORPORA / "hihello.txt", *HIHELLO_ARGS, "--epochs", "3",
                      "--out", tmp_path, "--json"])
    records = json_lines(result.stdout)
    assert [r["epoch"] for r in records[:-1]] == [1, 2, 3]
    for key in ("step", "train_loss", "val_loss", "bpc", "chars_per_sec", "predictions"):
        assert key in records[0]
    assert records[0]["val_loss"] is None
    assert records[0]["predictions"][0]["input"] == "hihell"
    assert records[-1]["best_checkpoint"].endswith("best.safetensors")


def test_ship_sentence_as_in_the_lecture(ship_run):
    out, result = ship_run
    records = json_lines(result.stdout)
    last = records[-2]
    assert last["epoch"] == 500 and last["train_loss"] < 0.3
    given = last["predictions"][0]
    assert given["input"] == "if you wan" and given["predicted"][1:] == " you want"
    scored = json.loads(run_cli(["eval", "--ckpt", out, CORPORA / "ship.txt", "--json"]).stdout)
    assert scored["chars"] == 180 - 1
    assert scored["accuracy"] >= (scored["chars"] - 1) / scored["chars"]
    assert scored["bpc"] == pytest.approx(scored["loss"] / math.log(2))
    assert scored["perplexity"] == pytest.approx(math.exp(scored["loss"]))


def test_stdin_pipeline_train_eval_sample(tmp_path):
    text = "the cat sat on the mat. " * 30
    result = run_cli(["train-text", "-", "--out", tmp_path / "x", "--hidden", "16", "--embed", "8",
                      "--epochs", "2", "--seq-len", "20", "--quiet"], input=text)
    assert result.exit_code == 0, result.stderr
    assert result.stdout.strip().endswith("best.safetensors") and result.stderr == ""
    scored = run_cli(["eval", "--ckpt", tmp_path / "x", "-", "--json"], input="the mat!? cat")
    record = json.loads(scored.stdout)
    assert record["unknown_chars"] == 2 and record["chars"] == 10
    plain = run_cli(["eval", "--ckpt", tmp_path / "x", "-"], input="the mat sat")
    assert plain.stdout.startswith("loss ") and "bpc" in plain.stdout
    many = run_cli(["sample", "--ckpt", tmp_path / "x", "-n", "15", "--num-samples", "3",
                    "--seed", "4", "--json", "--prime", "the"])
    samples = json.loads(many.stdout)["samples"]
    assert len(samples) == 3 and all(s.startswith("the") and len(s) == 18 for s in samples)
    one = run_cli(["sample", "--ckpt", tmp_path / "x", "-n", "15", "--seed", "4", "-p", "the"])
    again = run_cli(["sample", "--ckpt", tmp_path / "x", "-n", "15", "--seed", "4", "-p", "the"])
    assert one.stdout == again.stdout and len(one.stdout) == 18 + 1  # the text, a newline


def test_korean_text_samples_valid_utf8_in_its_script(tmp_path):
    text = "순환 신경망은 문자를 하나씩 읽고 다음 문자를 예측합니다. " * 20
    run_cli(["train-text", "-", "--out", tmp_path, "--hidden", "32", "--embed", "16",
             "--epochs", "15", "--seq-len", "30", "--lr", "0.01", "--quiet"], input=text)
    result = run_cli(["sample", "--ckpt", tmp_path, "-p", "순환", "-n", "40", "-t", "0.5",
                      "--seed", "1"])
    out = result.stdout
    out.encode("utf-8")
    hangul = sum("\uac00" <= c <= "\ud7a3" for c in out)
    assert result.exit_code == 0 and hangul >= 20


@pytest.mark.parametrize("args, needle", [
    (["train-text", "missing.txt"], "no such file"),
    (["train-text", "--cell", "transformer", "x"], "--cell"),
    (["train-text", "x", "--lr", "0"], "--lr"),
    (["train-text", "x", "--hidden", "0"], "--hidden"),
    (["train-text", "x", "--val-frac", "1"], "--val-frac"),
    (["train-text", "x", "--time-budget", "soon"], "--time-budget"),
])
def test_bad_training_input(tmp_path, monkeypatch, args, needle):
    monkeypatch.chdir(tmp_path)
    if "x" in args:
        (tmp_path / "x").write_text("hello world, hello world")
    assert_clean_error(run_cli(args), needle)
    assert not (tmp_path / "checkpoints").exists()


def test_bad_sampling_input(hihello_ckpt, tmp_path):
    assert_clean_error(run_cli(["sample", "--ckpt", hihello_ckpt, "-p", "hé✓"]), "'é'", "'✓'")
    # a byte that is not UTF-8 reaches argv as a lone surrogate: the byte is named
    assert_clean_error(run_cli(["sample", "--ckpt", hihello_ckpt, "-p", "h\udcff"]),
                       "the byte 0xff (not UTF-8)")
    assert_clean_error(run_cli(["sample", "--ckpt", hihello_ckpt, "-t", "0"]), "--temperature")
    assert_clean_error(run_cli(["sample", "--ckpt", hihello_ckpt, "--top-p", "1.5"]), "--top-p")
    assert_clean_error(run_cli(["sample", "--ckpt", tmp_path / "none.safetensors"]), "no such")
    skipped = run_cli(["sample", "--ckpt", hihello_ckpt, "-p", "hé", "--skip-unknown",
                       "--argmax", "-n", "2"])
    assert skipped.exit_code == 0 and skipped.stdout == "hih\n"


def test_corpus_errors_name_the_problem(tmp_path):
    (tmp_path / "bin.txt").write_bytes(b"abc\xff\xfe")
    assert_clean_error(run_cli(["train-text", tmp_path / "bin.txt", "--out", tmp_path / "o"]),
                       "byte offset 3")
    (tmp_path / "short.txt").write_text("abc")
    assert_clean_error(run_cli(["train-text", tmp_path / "short.txt", "--seq-len", "10",
                                "--out", tmp_path / "o"]), "shorter than one window")
    assert_clean_error(run_cli(["train-text", "-", "--out", tmp_path / "o"], input=""), "stdin")
    assert not (tmp_path / "o").exists()


def test_resume_from_a_folder_takes_last_and_limits_do_not_stick(tmp_path):
    run_cli(["train-text", CORPORA / "ship.txt", "--seq-len", "10", "--hidden", "16",
             "--embed", "8", "--batch-size", "4", "--val-frac", "0.3", "--epochs", "2",
             "--max-steps", "5", "--out", tmp_path, "--quiet"])
    assert checkpoint.load(tmp_path / "last.safetensors").meta["step"] == 5
    result = run_cli(["train-text", CORPORA / "ship.txt", "--resume", tmp_path, "--epochs", "3",
                      "--json"])
    records = json_lines(result.stdout)
    assert result.exit_code == 0 and records[-1]["stop_reason"] == "epochs"
    assert records[0]["step"] > 5  # it went on from step 5 (the folder's last, not its best)


def test_sample_into_a_closed_pipe_ends_quietly(hihello_ckpt):
    import subprocess
    import sys

    cmd = (f"{sys.executable} -m charrnn sample --ckpt {hihello_ckpt} -n 200000 | head -c 10; "
           f"exit ${{PIPESTATUS[0]}}")
    done = subprocess.run(["bash", "-c", cmd], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0 and done.stderr == "" and len(done.stdout) == 10


def test_a_closed_stdout_is_refused_in_one_line(hihello_ckpt):
    """`charrnn ... >&-`: the data would go nowhere; it was a traceback (exit 1)."""
    import subprocess
    import sys

    cmd = f"{sys.executable} -m charrnn sample --ckpt {hihello_ckpt} -n 20 >&-"
    done = subprocess.run(["bash", "-c", cmd], stderr=subprocess.PIPE, text=True, timeout=120)
    assert done.returncode == 2 and done.stderr.splitlines() == [
        "error: stdout is closed; send it to a file, a pipe or /dev/null"]


def test_resume_continues_to_the_total(tmp_path):
    run_cli(["train-text", CORPORA / "hihello.txt", *HIHELLO_ARGS, "--epochs", "3",
             "--out", tmp_path, "--quiet"])
    result = run_cli(["train-text", CORPORA / "hihello.txt", "--resume", tmp_path / "last.safetensors",
                      "--epochs", "5", "--json"])
    epochs = [r["epoch"] for r in json_lines(result.stdout) if "epoch" in r]
    assert epochs == [4, 5]


def test_real_corpus_few_steps(tmp_path):
    """A natural corpus of a million characters that every machine has: @stdlib."""
    result = run_cli(["train-text", "@stdlib", "--hidden", "32",
                      "--embed", "16", "--max-steps", "3", "--out", tmp_path, "--json"])
    records = json_lines(result.stdout)
    assert result.exit_code == 0 and records[0]["val_loss"] > 0 and not records[0]["complete"]


@pytest.mark.parametrize("command, advice", [("sample", "--num-samples"), ("train-text", "--hidden")])
def test_out_of_memory_advice_names_the_commands_own_options(command, advice, hihello_ckpt,
                                                           monkeypatch, tmp_path):
    from charrnn.text import commands, training

    def too_much(*args, **kwargs):
        raise MemoryError

    if command == "sample":
        monkeypatch.setattr(commands, "sample", too_much)
    else:
        monkeypatch.setattr(training, "train", too_much)
    args = (["sample", "--ckpt", hihello_ckpt] if command == "sample"
            else ["train-text", CORPORA / "hihello.txt", "--out", tmp_path])
    result = run_cli(args)
    assert result.exit_code == 1
    line = result.stderr.strip().splitlines()[-1]
    assert line.startswith("error: out of memory") and advice in line


def test_a_checkpoint_with_huge_weights_is_refused(hihello_ckpt, tmp_path):
    loaded = checkpoint.load(hihello_ckpt)  # 1e30: a finite loss of 9e29 and sampling went on
    huge = {k: v * 1e30 if k.startswith("model.") and v.is_floating_point() else v
            for k, v in loaded.tensors.items()}
    path = checkpoint.save(tmp_path / "huge.safetensors", huge, loaded.meta)
    for args in (["eval", "--ckpt", path, CORPORA / "hihello.txt"],
                 ["sample", "--ckpt", path, "-n", "5"]):
        assert_clean_error(run_cli(args), "huge")
