"""The README's reference must name every option of every command as it exists."""
import typer

from charrnn.cli import app
from conftest import ROOT


def test_every_option_of_every_command_is_documented():
    readme = (ROOT / "README.md").read_text()
    group = typer.main.get_command(app)
    missing = []
    for name, command in group.commands.items():
        assert f"charrnn {name}" in readme, name
        for param in command.params:
            for opt in param.opts:
                if opt.startswith("--") and opt != "--help" and f"`{opt}" not in readme:
                    missing.append(f"{name} {opt}")
    assert not missing, missing
