import os
import subprocess
import sys

import pytest

from novaft.cli import EXIT_BROKEN_PIPE, EXIT_USAGE, main


def test_version_prints_and_exits_zero(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exit_info:
        main(["--version"])
    assert exit_info.value.code == 0
    assert capsys.readouterr().out.startswith("novaft ")


def test_unknown_command_is_a_usage_error(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exit_info:
        main(["no-such-command"])
    assert exit_info.value.code == EXIT_USAGE
    assert "invalid choice" in capsys.readouterr().err


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
    assert result.returncode == EXIT_BROKEN_PIPE
    assert "Traceback" not in result.stderr
