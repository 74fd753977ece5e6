"""`lss train --config FILE`: train (or resume) a model; progress as JSON lines on stdout.

`lss train --site DIR --from-pack PACK`: fine-tune on a site-data folder from a model pack (the
recipe training/recipes/site-finetune.json unless --config names another). A site folder with
blocking problems is refused with exit code 7 and each problem named.

The trainer lives in the optional `training` package (torch), found as the `trainer` plugin
(engine.cli.plugins) inside `run`, so the reading workstation's `lss` starts without torch and
says clearly when it is missing.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

from engine.cli.exit_codes import ExitCode
from engine.cli.plugins import load_plugin


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser(
        "train",
        help="train or fine-tune the segmentation model from a JSON config (resumes automatically)",
        description="Train the vision-language segmentation model. Progress is printed as one JSON "
        "object per line on stdout; the run resumes from the last checkpoint in its output folder. "
        "Multi-GPU: torchrun --nproc_per_node=N -m engine.cli.main train --config FILE.",
    )
    parser.add_argument(
        "--config",
        type=Path,
        help="training config (JSON); with --site the default is the site fine-tuning recipe",
    )
    parser.add_argument("--output-dir", type=Path, help="override the config's output_dir")
    parser.add_argument("--no-resume", action="store_true", help="start afresh even if checkpoints exist")
    parser.add_argument(
        "--site", type=Path, action="append", default=[], metavar="DIR", help="site-data folder (repeatable)"
    )
    parser.add_argument(
        "--from-pack",
        type=Path,
        metavar="DIR",
        help="start from this model pack (exported with its weights) or trained model folder (best/)",
    )
    parser.add_argument(
        "--open-clip-dir", type=Path, metavar="DIR", help="local BiomedCLIP folder (hub layout)"
    )
    parser.add_argument("--export", type=Path, metavar="DIR", help="write the fine-tuned model pack here")
    parser.set_defaults(func=run)


def _print_event(event: dict[str, Any]) -> None:
    print(json.dumps(event), flush=True)


def run(args: argparse.Namespace) -> int:
    from engine.cli.main import CommandError

    trainer = load_plugin("trainer")
    config_file = args.config
    if config_file is None:
        if not args.site:
            raise CommandError("give --config FILE, or --site DIR to fine-tune on site data", ExitCode.USAGE)
        config_file = trainer.SITE_FINETUNE_RECIPE
    if not config_file.is_file():
        raise CommandError(f"training config not found: {config_file}", ExitCode.INPUT_INVALID)
    for site in args.site:
        if not site.is_dir():
            raise CommandError(f"site-data folder not found: {site}", ExitCode.INPUT_INVALID)
    try:
        config = trainer.TrainConfig.from_dict(
            _apply_options(trainer.TrainConfig.mapping_from_file(config_file), args)
        )
    except (ValueError, TypeError, KeyError) as exc:
        raise CommandError(f"{config_file}: {exc}", ExitCode.INPUT_INVALID) from exc
    try:
        result = trainer.train(config, progress=_print_event)
    except (FileNotFoundError, ValueError) as exc:
        raise CommandError(str(exc), ExitCode.INPUT_INVALID) from exc
    print(
        f"training {result.stopped_reason}: {result.epochs_completed} epochs, best model in {result.best_model_dir}",
        file=sys.stderr,
    )
    return int(ExitCode.CANCELLED) if result.stopped_reason == "cancelled" else int(ExitCode.OK)


def _apply_options(config: dict[str, Any], args: argparse.Namespace) -> dict[str, Any]:
    """The config mapping with the command-line options applied (paths made absolute)."""
    if args.output_dir:
        config["output_dir"] = str(args.output_dir.resolve())
    if args.no_resume:
        config["resume"] = False
    if args.site:
        data = config.setdefault("data", {})
        data["site_roots"] = [*data.get("site_roots", []), *(str(p.resolve()) for p in args.site)]
    if args.from_pack:
        config["init_from"] = str(args.from_pack.resolve())
    if args.open_clip_dir:
        overrides = config.setdefault("model_overrides", {})
        overrides.setdefault("open_clip", {})["local_dir"] = str(args.open_clip_dir.resolve())
    if args.export:
        config.setdefault("export", {})["pack_dir"] = str(args.export.resolve())
    return config


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
