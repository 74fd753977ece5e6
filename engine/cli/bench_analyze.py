"""`lss bench analyze --model PACK [...]`: quality and speed of the study analysis on synthetic test
studies and SPIDER held-out patients, against the same model in eager torch.

The benchmark lives in the optional `training` package (it needs torch for the baseline and the
trainer's split of SPIDER patients); it is found as the `analysis-benchmark` plugin (engine.cli.plugins), like `lss train`. Its options:
`lss bench analyze --help`.
"""

from __future__ import annotations

import argparse
from typing import Any

from engine.cli.exit_codes import ExitCode


def register_analyze(commands: Any) -> None:
    """Add `analyze` to the `lss bench` subcommands; every argument goes to the benchmark."""
    parser = commands.add_parser(
        "analyze",
        help="analysis quality (levels, grades, Dice, DSCA) and speed (ONNX Runtime vs torch)",
        add_help=False,
        prefix_chars="\0",
    )
    parser.add_argument("arguments", nargs=argparse.REMAINDER)
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from engine.cli.main import CommandError
    from engine.cli.plugins import load_plugin

    benchmark = load_plugin("analysis-benchmark")
    from engine.runtime.model_pack import ModelPackError

    try:
        return int(benchmark.main(args.arguments))
    except ModelPackError as exc:
        raise CommandError(f"model pack invalid: {exc}", ExitCode.MODEL_PACK_INVALID) from exc
