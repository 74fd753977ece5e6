"""`lss train --config FILE`: train (or resume) a model; progress as JSON lines on stdout.

The trainer lives in the optional `training` package (torch); it is imported by name inside `run`
so the reading workstation's `lss` starts without torch, and says clearly when it is missing.
"""

from __future__ import annotations

import argparse
import importlib
import importlib.util
import json
import sys
from pathlib import Path
from typing import Any

from engine.cli.exit_codes import ExitCode

TRAINING_MISSING = (
    "training needs torch and the training package: install the training extra "
    "(pip install 'lss-desktop[training]', torch first; see installer/requirements/training.txt)"
)


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser(
        "train",
        help="train or fine-tune the segmentation model from a JSON config (resumes automatically)",
        description="Train the vision-language segmentation model. Progress is printed as one JSON "
        "object per line on stdout; the run resumes from the last checkpoint in its output folder. "
        "Multi-GPU: torchrun --nproc_per_node=N -m engine.cli.main train --config FILE.",
    )
    parser.add_argument("--config", type=Path, required=True, help="training config (JSON)")
    parser.add_argument("--output-dir", type=Path, help="override the config's output_dir")
    parser.add_argument("--no-resume", action="store_true", help="start afresh even if checkpoints exist")
    parser.set_defaults(func=run)


def training_available() -> bool:
    return importlib.util.find_spec("torch") is not None and importlib.util.find_spec("training") is not None


def _print_event(event: dict[str, Any]) -> None:
    print(json.dumps(event), flush=True)


def run(args: argparse.Namespace) -> int:
    from engine.cli.main import CommandError

    if not training_available():
        raise CommandError(TRAINING_MISSING, ExitCode.FAILURE)
    trainer = importlib.import_module("training.trainer")
    if not args.config.is_file():
        raise CommandError(f"training config not found: {args.config}", ExitCode.INPUT_INVALID)
    try:
        config = trainer.TrainConfig.from_file(args.config)
    except (ValueError, TypeError, KeyError) as exc:
        raise CommandError(f"{args.config}: {exc}", ExitCode.INPUT_INVALID) from exc
    overrides: dict[str, Any] = {}
    if args.output_dir:
        overrides["output_dir"] = str(args.output_dir.resolve())
    if args.no_resume:
        overrides["resume"] = False
    if overrides:
        config = trainer.TrainConfig.from_dict({**config.to_dict(), **overrides})
    try:
        result = trainer.train(config, progress=_print_event)
    except (FileNotFoundError, ValueError) as exc:
        raise CommandError(str(exc), ExitCode.INPUT_INVALID) from exc
    print(
        f"training {result.stopped_reason}: {result.epochs_completed} epochs, best model in {result.best_model_dir}",
        file=sys.stderr,
    )
    return int(ExitCode.CANCELLED) if result.stopped_reason == "cancelled" else int(ExitCode.OK)


def main(argv: list[str] | None = None) -> int:
    """`python -m engine.cli.train ...`: the same command without the other subcommands (torchrun uses it)."""
    from engine.cli.main import CommandError

    parser = argparse.ArgumentParser(prog="lss")
    register(parser.add_subparsers(dest="command", required=True))
    args = parser.parse_args(["train", *(sys.argv[1:] if argv is None else argv)])
    try:
        return int(args.func(args))
    except CommandError as exc:
        print(f"lss train: {exc}", file=sys.stderr)
        return int(exc.exit_code)
    except KeyboardInterrupt:
        print("lss train: cancelled", file=sys.stderr)
        return int(ExitCode.CANCELLED)


if __name__ == "__main__":
    sys.exit(main())
