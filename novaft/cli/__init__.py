"""The ``novaft`` command line: the local twin of the pipeline's Lambdas and the operator's remote control.

Each sub-command lives in its own module with a ``register(subparsers)`` function that adds its parser and sets
``handler`` to a function taking the parsed arguments and returning the exit code.
Exit codes: 0 success, 1 the input was checked and is invalid (or the run failed), 2 usage or I/O error.
"""

from __future__ import annotations

import argparse
import importlib
import os
import sys
from collections.abc import Sequence

from novaft import __version__
from novaft.errors import NovaftError

EXIT_OK = 0
EXIT_INVALID = 1
EXIT_USAGE = 2
EXIT_BROKEN_PIPE = 141

# Modules that each register one or more sub-commands. A module that is missing is skipped, so the CLI still
# works while a command is being built.
COMMAND_MODULES = (
    "novaft.cli.validate_cmd",
    "novaft.cli.recipe_cmds",
    "novaft.cli.operator_cmds",
)


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> None:  # type: ignore[override]
        # argparse's own exit code for usage errors is 2 already; keep its message short and friendly.
        self.print_usage(sys.stderr)
        self.exit(EXIT_USAGE, f"{self.prog}: error: {message}\n")


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(prog="novaft", description="Fine-tune Amazon Nova models on SageMaker training jobs.")
    parser.add_argument("--version", action="version", version=f"novaft {__version__}")
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)
    subparsers.required = True
    for module_name in COMMAND_MODULES:
        try:
            module = importlib.import_module(module_name)
        except ModuleNotFoundError as exc:
            if exc.name != module_name:
                raise
            continue
        module.register(subparsers)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        code: int = args.handler(args)
    except NovaftError as exc:
        print(f"novaft: {exc}", file=sys.stderr)
        return EXIT_USAGE
    except KeyboardInterrupt:
        print("novaft: interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:
        # The reader went away (`novaft plan | head`): silence the flush at exit and exit as a shell would on SIGPIPE.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return EXIT_BROKEN_PIPE
    return code


if __name__ == "__main__":
    sys.exit(main())
