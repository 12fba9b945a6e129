"""The README works as written: its reference names every option, and every shell command in its
fenced ```sh blocks runs and exits 0.

Each section of the README (a `## ` heading) runs on its own, in a fresh temporary folder holding
a copy of `corpora/`, its commands in document order, so that later commands find the
checkpoints earlier ones wrote (the `sample` after the quick start, the `eval` after a
`train-text`); two sections run at a time. `charrnn` is a shim on PATH that runs
`python -m charrnn` with this interpreter. Each command runs as `bash -eo pipefail`, so a failing
stage of a pipe fails it; a `NAME=value` line of a block is kept in front of the block's later
commands.

Commands are run as written except for the small rewrites in REWRITES (short runs where the
README's own would take minutes) and the few in SKIPS (they download data or install packages).
"""
from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field

import pytest
import typer

from charrnn.cli import app
from conftest import ROOT

README = ROOT / "README.md"

# (pattern, replacement, why): applied in turn to every command, with re.sub
REWRITES = [
    (r"^python3 -m venv \.venv && \. \.venv/bin/activate && pip install [^&]+ && pip install -e \. && ",
     "", "the install steps: this test runs in an installed environment, and .ci/run checks them"),
    (r"--time-budget 2m\b", "--time-budget 2m --max-steps 3 --hidden 64 --val-frac 0.01",
     "the quick start's two minutes: three steps of a small model, validated on 1%"),
    (r"--epochs 500\b", "--epochs 10", "the ship sentence's 500 epochs: 10 run the same commands"),
    (r"(charrnn train-series \S+)", r"\1 --epochs 30", "train-series' 500 full-batch epochs: 30"),
]

# (substring, why): a command containing it is not run, and the test says why
SKIPS = [
    ("pytest", "the test command runs this very suite; .ci/run runs it as written in a fresh venv"),
    ("curl ", "downloads tinyshakespeare from GitHub (network)"),
    ("tinyshakespeare.txt", "needs tinyshakespeare, which is downloaded, not shipped"),
]

NEEDS = {"jq": "jq"}  # a command using the tool is skipped where the tool is not installed


@dataclass
class Command:
    section: str
    block: int
    text: str
    env: list[str] = field(default_factory=list)  # NAME=value lines before it in its block

    @property
    def id(self) -> str:
        words = re.sub(r"\s+", " ", self.text).strip()
        return f"{self.section}b{self.block}: {words[:60]}"


def readme_commands(text: str) -> list[Command]:
    """Every command of every ```sh or ```bash block: continuation lines joined, comment lines
    dropped, NAME=value lines carried to the block's later commands."""
    commands = []
    blocks = [(m.group(1), text[: m.start()].count("\n## "))
              for m in re.finditer(r"^```(?:sh|bash|shell)\n(.*?)^```", text, flags=re.S | re.M)]
    for number, (block, section) in enumerate(blocks, 1):
        env = []
        for line in block.replace("\\\n", " ").splitlines():
            line = line.strip()
            if not line or line.startswith("#"):
                continue
            if re.fullmatch(r"[A-Z_][A-Z0-9_]*=\S+", line):
                env.append(line)
                continue
            commands.append(Command(f"s{section}", number, line, list(env)))
    return commands


def rewrite(command: str) -> str:
    for pattern, replacement, _ in REWRITES:
        command = re.sub(pattern, replacement, command)
    return command


def skip_reason(command: str) -> str | None:
    for needle, why in SKIPS:
        if needle in command:
            return why
    for tool, word in NEEDS.items():
        if re.search(rf"\b{word}\b", command) and shutil.which(tool) is None:
            return f"{tool} is not installed"
    return None


COMMANDS = readme_commands(README.read_text())


@pytest.fixture(scope="module")
def readme_runs(tmp_path_factory):
    """Runs every command once; returns {id: (exit code, output tail, seconds)}."""
    bin_dir = tmp_path_factory.mktemp("bin")
    shim = bin_dir / "charrnn"
    shim.write_text(f'#!/bin/sh\nexec "{sys.executable}" -m charrnn "$@"\n')
    shim.chmod(0o755)
    env = {**os.environ, "PATH": f"{bin_dir}{os.pathsep}{os.environ.get('PATH', '')}",
           "NO_COLOR": "1"}
    sections = {}
    for command in COMMANDS:
        if not skip_reason(command.text):
            sections.setdefault(command.section, []).append(command)

    def run_section(commands):
        work = tmp_path_factory.mktemp("readme")
        shutil.copytree(ROOT / "corpora", work / "corpora")
        results = {}
        for command in commands:
            script = "\n".join([*command.env, rewrite(command.text)])
            t0 = time.perf_counter()
            done = subprocess.run(["bash", "-eo", "pipefail", "-c", script], cwd=work, env=env,
                                  stdin=subprocess.DEVNULL, capture_output=True, text=True,
                                  timeout=300)
            results[command.id] = (done.returncode, (done.stdout + done.stderr)[-3000:],
                                   time.perf_counter() - t0)
        return results

    with ThreadPoolExecutor(max_workers=2) as pool:
        return {k: v for part in pool.map(run_section, sections.values()) for k, v in part.items()}


@pytest.mark.slow
@pytest.mark.parametrize("command", COMMANDS, ids=[c.id for c in COMMANDS])
def test_readme_command_runs(command, readme_runs):
    why = skip_reason(command.text)
    if why:
        pytest.skip(why)
    code, output, seconds = readme_runs[command.id]
    assert code == 0, f"{rewrite(command.text)}\nexit {code} after {seconds:.1f} s:\n{output}"


def test_the_readme_has_commands_and_the_rewrites_and_skips_all_apply():
    """Guards the lists above against a README that moved on: each rewrite and skip still matches
    something, and the quick start is among the commands run."""
    texts = [c.text for c in COMMANDS]
    assert len(texts) >= 15
    for pattern, _, why in REWRITES:
        assert any(re.search(pattern, t) for t in texts), f"rewrite no longer used: {why}"
    for needle, why in SKIPS:
        assert any(needle in t for t in texts), f"skip no longer used: {why}"
    assert any("charrnn train-text @stdlib" in rewrite(t) and not skip_reason(t) for t in texts)


def test_every_option_of_every_command_is_documented():
    readme = README.read_text()
    group = typer.main.get_command(app)
    missing = []
    for name, command in group.commands.items():
        assert f"charrnn {name}" in readme, name
        for param in command.params:
            for opt in param.opts:
                if opt.startswith("--") and opt != "--help" and f"`{opt}" not in readme:
                    missing.append(f"{name} {opt}")
    assert not missing, missing


def test_the_repository_names_no_folder_beside_it():
    """A clone has nothing beside it: no file of the project may point at the workspace's
    shared folder (the needles are built here so that this file does not name them)."""
    word = "sha" + "red"
    needles = ["../" + word, word + "/data", word + "/bench", f'"{word}"']
    found = []
    for folder in ("charrnn", "tests", "benchmarks", "corpora", ".ci"):
        for path in (ROOT / folder).rglob("*"):
            if path.is_file() and "__pycache__" not in path.parts:
                text = path.read_text(errors="replace")
                found += [f"{path.relative_to(ROOT)}: {n}" for n in needles if n in text]
    for name in ("README.md", "BENCHMARKS.md", "pyproject.toml"):
        if (ROOT / name).exists():
            text = (ROOT / name).read_text()
            found += [f"{name}: {n}" for n in needles if n in text]
    assert not found, found
