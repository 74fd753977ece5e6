"""Entry point of `lss`: builds the parser from the subcommand modules and runs one."""

from __future__ import annotations

import argparse
import importlib
import logging
import sys

from engine import __version__
from engine.cli.exit_codes import ExitCode

# Subcommand modules, each with `register(subparsers)` that sets `func(args) -> int` as default.
# They must import heavy libraries inside `func`, so `lss --help` stays fast.
COMMAND_MODULES: tuple[str, ...] = (
    "engine.cli.study",
    "engine.cli.demo_study",
    "engine.cli.bench",
    "engine.cli.pacs",
    "engine.cli.report",
    "engine.cli.train",
    "engine.cli.analyze",
    "engine.cli.segment",
    "engine.cli.data",
    "engine.cli.evaluate",
)


class CommandError(Exception):
    """A user-facing failure: its message is printed and `exit_code` returned."""

    def __init__(self, message: str, exit_code: ExitCode = ExitCode.INPUT_INVALID) -> None:
        super().__init__(message)
        self.exit_code = exit_code


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="lss",
        description="LSS Desktop command line: decision support for lumbar spinal stenosis on MRI.",
    )
    parser.add_argument("--version", action="version", version=f"lss {__version__}")
    parser.add_argument("-v", "--verbose", action="store_true", help="log progress to stderr")
    subparsers = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for module_name in COMMAND_MODULES:
        importlib.import_module(module_name).register(subparsers)
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    logging.basicConfig(
        level=logging.INFO if args.verbose else logging.WARNING,
        format="%(levelname)s %(name)s: %(message)s",
    )
    try:
        return int(args.func(args))
    except CommandError as exc:
        print(f"lss {args.command}: {exc}", file=sys.stderr)
        return int(exc.exit_code)
    except KeyboardInterrupt:
        print(f"lss {args.command}: cancelled", file=sys.stderr)
        return int(ExitCode.CANCELLED)


if __name__ == "__main__":
    # Run the imported module's main: subcommands raise engine.cli.main.CommandError, which a
    # copy of this file run as __main__ would not catch.
    from engine.cli.main import main as package_main

    sys.exit(package_main())
