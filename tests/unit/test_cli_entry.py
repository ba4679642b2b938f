import argparse
import importlib
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from novaft.cli import COMMANDS, main
from novaft.pipeline.facts import ExitCode

SAMPLES = Path(__file__).resolve().parents[2] / "samples"


def test_version_prints_and_exits_zero(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exit_info:
        main(["--version"])
    assert exit_info.value.code == ExitCode.OK
    assert capsys.readouterr().out.startswith("novaft ")


def test_unknown_command_is_a_usage_error(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exit_info:
        main(["no-such-command"])
    assert exit_info.value.code == ExitCode.USAGE
    assert "invalid choice" in capsys.readouterr().err


def test_help_lists_every_command(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit):
        main(["--help"])
    out = capsys.readouterr().out
    assert all(command in out for command in COMMANDS)


def test_command_table_matches_what_the_modules_register() -> None:
    # Each module of the table, registered alone, adds exactly the commands the table maps to it: a command the table
    # misses would lose the fast start, a wrong entry would fail to run.
    for module_name in set(COMMANDS.values()):
        subparsers = argparse.ArgumentParser().add_subparsers()
        importlib.import_module(module_name).register(subparsers)
        expected = {command for command, owner in COMMANDS.items() if owner == module_name}
        assert set(subparsers.choices) == expected, module_name


@pytest.mark.parametrize("command", ["validate", "no-such-command"])
def test_a_missing_command_module_is_an_error_not_a_skip(
    command: str, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    # Given a command table naming a module that is not installed
    monkeypatch.setitem(COMMANDS, "validate", "novaft.cli.no_such_module")
    # When any command is run (the named one, or an unknown one, which loads every module to list them)
    code = main([command, "x.jsonl"])
    # Then the CLI says which module it could not load instead of acting as if the command did not exist
    assert code == ExitCode.USAGE
    err = capsys.readouterr().err
    assert "cannot load the commands of novaft.cli.no_such_module" in err
    assert "No module named 'novaft.cli.no_such_module'" in err


def test_validate_loads_neither_aws_nor_recipe_code() -> None:
    # `novaft validate` is run on laptops and in pre-commit hooks: its start-up pays only for the validator.
    heavy = ("boto3", "botocore", "pydantic", "yaml", "novaft.recipes", "novaft.operator", "novaft.aws")
    script = (
        "import json, sys\n"
        "from novaft.cli import main\n"
        f"code = main(['validate', {str(SAMPLES / 'sft-valid.jsonl')!r}, '--model', 'lite', '--method', 'sft'])\n"
        "print(json.dumps([code, sorted(sys.modules)]))\n"
    )
    result = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, check=True)
    code, modules = json.loads(result.stdout.splitlines()[-1])
    assert code == ExitCode.OK
    loaded = [name for name in modules if name.split(".")[0] in heavy or name.startswith(heavy)]
    assert loaded == []


def test_closed_output_pipe_is_not_a_traceback() -> None:
    # Given an output pipe whose reader has already gone away (as with `novaft render ... | head -1`)
    read_end, write_end = os.pipe()
    os.close(read_end)
    try:
        # When the CLI writes a recipe to it
        result = subprocess.run(
            [sys.executable, "-m", "novaft", "render", "--model", "pro", "--method", "dpo", "--peft", "full"],
            stdout=write_end,
            stderr=subprocess.PIPE,
            text=True,
            check=False,
        )
    finally:
        os.close(write_end)
    # Then it exits as a shell command does on SIGPIPE, without a traceback
    assert result.returncode == ExitCode.BROKEN_PIPE
    assert "Traceback" not in result.stderr
