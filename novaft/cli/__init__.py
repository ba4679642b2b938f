"""The ``novaft`` command line: the local twin of the pipeline's Lambdas and the operator's remote control.

Each sub-command lives in a module with a ``register(subparsers)`` function that adds its parsers and sets
``handler`` to a function taking the parsed arguments and returning the exit code. Only the module of the command
being run is imported: ``novaft validate`` must start fast and never load boto3, pydantic or the recipe catalog.
Exit codes (``facts.ExitCode``): 0 success, 1 the input was checked and is invalid (or the run failed), 2 usage or
I/O error, 141 the reader closed the output pipe.
"""

from __future__ import annotations

import argparse
import importlib
import os
import sys
from collections.abc import Sequence
from types import ModuleType

from novaft import __version__
from novaft.errors import NovaftError
from novaft.pipeline.facts import ExitCode

# Each command and the module that registers it. A command missing here still works (every module is loaded to find
# it), only without the fast start; tests check that this table matches what the modules register.
COMMANDS: dict[str, str] = {
    "validate": "novaft.cli.validate_cmd",
    "render": "novaft.cli.recipe_cmds",
    "plan": "novaft.cli.recipe_cmds",
    "submit": "novaft.cli.operator_cmds",
    "status": "novaft.cli.operator_cmds",
    "runs": "novaft.cli.operator_cmds",
    "cancel": "novaft.cli.operator_cmds",
    "report": "novaft.cli.operator_cmds",
    "deploy": "novaft.cli.operator_cmds",
    "undeploy": "novaft.cli.operator_cmds",
    "invoke": "novaft.cli.operator_cmds",
    "local": "novaft.cli.operator_cmds",
    "approve": "novaft.cli.operator_cmds",
    "reject": "novaft.cli.operator_cmds",
    "evaluate": "novaft.cli.operator_cmds",
}


class CommandUnavailable(NovaftError):
    """A command module (or a package it needs) cannot be imported: a broken installation, never skipped."""

    def __init__(self, module_name: str, cause: ImportError) -> None:
        missing_dependency = isinstance(cause, ModuleNotFoundError) and cause.name != module_name
        hint = "; is novaft installed with its dependencies (pip install -e .)?" if missing_dependency else ""
        super().__init__(f"cannot load the commands of {module_name}: {cause}{hint}")
        self.module_name = module_name


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> None:  # type: ignore[override]
        # argparse's own exit code for usage errors is 2 already; keep its message short and friendly.
        self.print_usage(sys.stderr)
        self.exit(ExitCode.USAGE, f"{self.prog}: error: {message}\n")


def build_parser(argv: Sequence[str] = ()) -> argparse.ArgumentParser:
    """The parser for ``argv``: with only the module of the command it names, or every module when it names none
    known (``--help``, a typo), so that the help lists every command and a typo gets argparse's usage error."""
    parser = _Parser(prog="novaft", description="Fine-tune Amazon Nova models on SageMaker training jobs.")
    parser.add_argument("--version", action="version", version=f"novaft {__version__}")
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)
    subparsers.required = True
    command = _command_word(argv)
    if command is None and "--version" in argv and not {"-h", "--help"} & set(argv):
        return parser
    module_names = [COMMANDS[command]] if command in COMMANDS else list(dict.fromkeys(COMMANDS.values()))
    for module_name in module_names:
        _import_command_module(module_name).register(subparsers)
    return parser


def _command_word(argv: Sequence[str]) -> str | None:
    # The top-level options (--help, --version) take no value, so the first word that is not an option is the command.
    return next((word for word in argv if not word.startswith("-")), None)


def _import_command_module(module_name: str) -> ModuleType:
    try:
        return importlib.import_module(module_name)
    except ImportError as exc:
        raise CommandUnavailable(module_name, exc) from exc


def main(argv: Sequence[str] | None = None) -> int:
    arguments = list(sys.argv[1:] if argv is None else argv)
    try:
        parser = build_parser(arguments)
    except CommandUnavailable as exc:
        print(f"novaft: {exc}", file=sys.stderr)
        return ExitCode.USAGE
    args = parser.parse_args(arguments)
    try:
        code: int = args.handler(args)
    except NovaftError as exc:
        print(f"novaft: {exc}", file=sys.stderr)
        return ExitCode.USAGE
    except KeyboardInterrupt:
        print("novaft: interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:
        # The reader went away (`novaft plan | head`): silence the flush at exit and exit as a shell would on SIGPIPE.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return ExitCode.BROKEN_PIPE
    return code


if __name__ == "__main__":
    sys.exit(main())
