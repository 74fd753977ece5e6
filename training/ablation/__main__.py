"""`python -m training.ablation --out build/ablation`: the loss ablation, end to end and resumable.

1. writes the synthetic training studies (practice-like grade imbalance) and balanced test studies;
2. trains one small model per (loss, seed) on the same data and split (a finished run is kept);
3. scores every run's best model on the test studies (Dice/IoU per axial sample);
4. writes OUT/ablation.json, OUT/ablation.md (tables with 95 % bootstrap CIs) and plots
   (controller traces alpha/beta per class and epoch, validation curves) over every scored run in
   OUT/runs, so a later call with other arms or seeds extends the same report.
"""

from __future__ import annotations

import argparse
import json
import logging
import time
from collections.abc import Sequence
from dataclasses import asdict
from pathlib import Path

from training.ablation.arms import (
    ABLATION_MODEL,
    ABLATION_MODEL_OVERRIDES,
    ARMS,
    MAIN_ARMS,
    Schedule,
    run_name,
    training_config,
)
from training.ablation.study_sets import prepare_study_sets

logger = logging.getLogger(__name__)


def _finished(run_dir: Path) -> bool:
    history = run_dir / "history.jsonl"
    if not history.is_file() or not (run_dir / "best").is_dir():
        return False
    return any(json.loads(line).get("event") == "finished" for line in history.read_text().splitlines())


def _tokenizer(out_dir: Path) -> Path:
    """One prompt tokenizer for every run (BPE training is not bit-reproducible: the file is the artefact)."""
    path = out_dir / "tokenizer.json"
    if not path.is_file():
        from training.text.tokenizer_training import train_prompt_tokenizer

        train_prompt_tokenizer(path, None, vocab_size=512)
    return path


def run_ablation(
    out_dir: Path,
    arms: Sequence[str],
    seeds: Sequence[int],
    train_studies: int,
    test_studies: int,
    schedule: Schedule,
    threads: int = 1,
) -> Path:
    """Run (or resume) every step; returns the report's JSON path.

    threads: torch intra-op threads; 1 by default, because on a shared machine spinning OpenMP
    threads waste more CPU than a second thread gains.
    """
    import torch

    from training.ablation.scoring import axial_test_samples, score_model_folder
    from training.data.dataset import PromptSegmentationDataset
    from training.models import load_model_config
    from training.trainer import TrainConfig, train

    torch.set_num_threads(threads)
    sets = prepare_study_sets(out_dir, train_studies, test_studies)
    tokenizer = _tokenizer(out_dir)
    runs_dir = out_dir / "runs"
    for seed in seeds:
        for arm_name in arms:
            run_dir = runs_dir / run_name(arm_name, seed)
            if _finished(run_dir):
                continue
            config = TrainConfig.from_dict(
                training_config(ARMS[arm_name], seed, sets.train_root, run_dir, tokenizer, schedule)
            )
            started = time.monotonic()
            result = train(config)
            logger.info(
                "%s: %s after %d epochs in %.0f s",
                run_dir.name,
                result.stopped_reason,
                result.epochs_completed,
                time.monotonic() - started,
            )
    preprocessing = load_model_config(ABLATION_MODEL, ABLATION_MODEL_OVERRIDES).preprocessing
    test_set = PromptSegmentationDataset(
        axial_test_samples(sets.test_root), preprocessing, cache_slices=100_000
    )
    for seed in seeds:
        for arm_name in arms:
            run_dir = runs_dir / run_name(arm_name, seed)
            scores = run_dir / "test_scores.json"
            if scores.is_file():
                continue
            cases = score_model_folder(run_dir / "best", test_set)
            scores.write_text(json.dumps([{**asdict(c), **counts} for c, counts in cases]), encoding="utf-8")
    from training.ablation.report import write_ablation_report

    return write_ablation_report(out_dir, schedule, train_studies, test_studies)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m training.ablation",
        description="Loss ablation: PID-Tversky vs cross-entropy vs soft Dice vs static Tversky, several seeds.",
    )
    parser.add_argument("--out", type=Path, required=True, help="output folder (data, runs, report)")
    parser.add_argument(
        "--arms", nargs="+", default=list(MAIN_ARMS), choices=sorted(ARMS), help="losses to compare"
    )
    parser.add_argument("--seeds", nargs="+", type=int, default=[0, 1, 2])
    parser.add_argument("--train-studies", type=int, default=40)
    parser.add_argument("--test-studies", type=int, default=24)
    parser.add_argument("--epochs", type=int, default=Schedule.epochs)
    parser.add_argument("--samples-per-epoch", type=int, default=Schedule.samples_per_epoch)
    parser.add_argument("--threads", type=int, default=1, help="torch CPU threads (default 1)")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s: %(message)s")
    schedule = Schedule(epochs=args.epochs, samples_per_epoch=args.samples_per_epoch)
    report = run_ablation(
        args.out, args.arms, args.seeds, args.train_studies, args.test_studies, schedule, args.threads
    )
    print(report)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
