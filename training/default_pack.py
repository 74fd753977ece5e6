"""The bundled default model pack, rebuilt by one command (about an hour on two CPU cores):

    python -m training.default_pack            # writes resources/models/lss-default/

1. writes the synthetic studies (engine.synthetic_study): 48 training studies with the practice-like
   grade imbalance (seeds 10000-10047) and 12 test studies with A-D balanced (seeds 20000-20011),
   under build/default-model/data/ (kept when already there);
2. trains training/recipes/lss-default.json on the training studies + the SPIDER sagittal slices
   (validation: 20 % of the studies and patients, split by group; a finished run is kept) and
   refits the grade head on the frozen model's features (training.trainer.grade_head_fit);
3. refines that model on the sagittal slices only (training/recipes/lss-default-sagittal.json, 10
   epochs, a few minutes), then on both planes at a lower learning rate
   (lss-default-joint.json, at most 8 minutes), refitting the grade head after each stage;
4. scores the best model on the synthetic test studies and on the SPIDER patients the split held
   back, and exports the pack with those test results on its card and in config.json.

The SPIDER slices are read from ../shared/data beside the checkout (the recipe's relative path) or
from --spider-root. Prints JSON lines (training progress, then {"event": "default_pack", ...}).
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import logging
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from training.ablation.study_sets import prepare_study_sets

ROOT = Path(__file__).resolve().parent.parent
# Stage 1 trains everything from scratch. In the CPU budget its sagittal prompts end up confused
# (one mask for vertebra, disc and canal), so stage 2 refines that model on the sagittal slices only
# (which costs the axial prompts), and stage 3 trains both planes together at a lower learning rate;
# after each stage the grade head is refitted on the frozen features.
STAGES = (
    (ROOT / "training" / "recipes" / "lss-default.json", "train"),
    (ROOT / "training" / "recipes" / "lss-default-sagittal.json", "sagittal"),
    (ROOT / "training" / "recipes" / "lss-default-joint.json", "joint"),
)
WORK_DIR = ROOT / "build" / "default-model"
PACK_DIR = ROOT / "resources" / "models" / "lss-default"
TRAIN_STUDIES = 48
TEST_STUDIES = 12


def _finished(output_dir: Path) -> bool:
    return (output_dir / "finished.json").is_file() and (output_dir / "best").is_dir()


def _print_event(event: dict[str, Any]) -> None:
    print(json.dumps(event), flush=True)


def score_test_sets(best_dir: Path, output_dir: Path, test_root: Path, spider_root: Path) -> dict[str, Any]:
    """Metrics of best_dir on the synthetic test studies and on the SPIDER patients held back."""
    from training.data import spider_samples, synthetic_samples
    from training.trainer.evaluation import evaluate_model_folder

    split = json.loads((output_dir / "split.json").read_text(encoding="utf-8"))
    held_out = set(split["held_out_groups"])
    spider = [s for s in spider_samples(spider_root) if s.source.group in held_out]
    synthetic = synthetic_samples(test_root)
    patients = sorted({s.source.group for s in spider})
    return {
        "synthetic test studies": {
            **evaluate_model_folder(best_dir, synthetic),
            "description": f"{TEST_STUDIES} synthetic studies (seeds 20000-{20000 + TEST_STUDIES - 1}), "
            "Schizas grades A-D equally often; grade accuracy per axial slice within 4 mm of its disc.",
        },
        "SPIDER held-back patients": {
            **evaluate_model_folder(best_dir, spider),
            "description": f"{len(patients)} SPIDER patients the split held back (their slices validated "
            "model selection, never trained on).",
        },
    }


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Rebuild the bundled default model pack (lss-default).")
    parser.add_argument("--work-dir", type=Path, default=WORK_DIR, help="studies and the training run")
    parser.add_argument("--pack-dir", type=Path, default=PACK_DIR)
    parser.add_argument("--spider-root", type=Path, help="SPIDER sagittal folder (default: the recipe's)")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, stream=sys.stderr, format="%(levelname)s %(name)s: %(message)s")

    from training.export import export_model_pack
    from training.trainer import TrainConfig, train
    from training.trainer.grade_head_fit import GRADE_HEAD_FIT_FILE, fit_grade_head
    from training.trainer.loop import load_training_samples

    sets = prepare_study_sets(args.work_dir, TRAIN_STUDIES, TEST_STUDIES)
    previous: Path | None = None
    for recipe, stage_dir in STAGES:
        mapping = TrainConfig.mapping_from_file(recipe)
        mapping["output_dir"] = str(args.work_dir / stage_dir)
        mapping["data"]["synthetic_roots"] = [str(sets.train_root)]
        if previous is not None:
            mapping["init_from"] = str(previous)
        if args.spider_root:
            mapping["data"]["spider_root"] = str(args.spider_root)
        config = TrainConfig.from_dict(mapping)
        output_dir = Path(config.output_dir)
        spider_root = Path(str(config.data.spider_root))
        if not spider_root.is_dir():
            parser.error(f"SPIDER sagittal folder not found: {spider_root} (give --spider-root)")
        if not _finished(output_dir):
            result = train(config, progress=_print_event)
            if result.best_model_dir is None:
                print(f"training stopped ({result.stopped_reason}) without a best model", file=sys.stderr)
                return 1
            summary = dataclasses.asdict(result)
            (output_dir / "finished.json").write_text(
                json.dumps(summary, indent=2, default=str), encoding="utf-8"
            )
        if not (output_dir / "best" / GRADE_HEAD_FIT_FILE).is_file():
            # Graded samples are axial: the grade head is fitted on both planes' data.
            both = dataclasses.replace(
                config, data=dataclasses.replace(config.data, planes=("sagittal", "axial"))
            )
            train_samples, held_out = load_training_samples(both)
            _print_event(
                {"event": "grade_head_fit", **fit_grade_head(output_dir / "best", train_samples, held_out)}
            )
        previous = output_dir / "best"
    tests = score_test_sets(output_dir / "best", output_dir, sets.test_root, spider_root)
    (args.work_dir / "test_results.json").write_text(json.dumps(tests, indent=2), encoding="utf-8")
    export = config.export
    pack = export_model_pack(
        output_dir / "best",
        args.pack_dir,
        export.pack_name,
        export.pack_version,
        export.opset,
        include_weights=export.include_weights,
        test_results=tests,
    )
    _print_event({"event": "default_pack", "pack_dir": str(pack), "test_results": tests})
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
