"""`lss evaluate ...`: metrics, confidence intervals and plots of models, pseudo-masks and training runs.

    lss evaluate slices --pack DIR [--pack DIR ...] --site SITE --out OUT
        slice-level: each pack segments and grades every labelled level of a site-data folder on
        ONNX Runtime; accuracy, macro-F1, per-class precision/recall, one-vs-rest ROC AUC, confusion
        matrix, Dice/IoU per structure and grade (95 % bootstrap CI over studies), dural sac area
        error; McNemar's test of each other pack against the first.
    lss evaluate findings --findings DIR [--findings DIR ...] --truth ROOT [--truth ROOT ...] --out OUT
        study-level: findings files of `lss analyze` against synthetic ground truth, the same metrics,
        plus report text metrics (BLEU-1..4, METEOR, ROUGE-L, CIDEr, Jaccard) against the reference
        reports when pycocoevalcap and Java are installed.
    lss evaluate training RUN [RUN ...] --out OUT
        training curves of runs (history.jsonl): loss, validation Dice, PID-Tversky alpha/beta per class.
    lss evaluate pseudo-masks STUDY_ROOT [...] --out OUT [--words-only]
        report-conditioned pseudo-masks on synthetic studies: acceptance, rejection reasons, Dice.

Each writes OUT/metrics.json (or the command's JSON) and PNG plots, and prints a short summary.
Exit codes: 0, 6 (MODEL_PACK_INVALID) for a bad pack, 7 (INPUT_INVALID) for bad input folders or files.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

from engine.cli.exit_codes import ExitCode


def register(subparsers: argparse._SubParsersAction) -> None:
    evaluate = subparsers.add_parser("evaluate", help="evaluate models, pseudo-masks and training runs")
    commands = evaluate.add_subparsers(dest="evaluate_command", required=True, metavar="SUBCOMMAND")
    slices = commands.add_parser("slices", help="slice-level evaluation of model packs on a site-data folder")
    slices.add_argument(
        "--pack", type=Path, action="append", required=True, metavar="DIR", help="model pack (repeatable)"
    )
    slices.add_argument(
        "--site", type=Path, required=True, metavar="DIR", help="site-data folder with labels"
    )
    slices.add_argument("--out", type=Path, required=True, metavar="DIR")
    slices.set_defaults(func=run_slices)
    findings = commands.add_parser(
        "findings", help="study-level evaluation of findings files against synthetic truth"
    )
    findings.add_argument(
        "--findings",
        type=Path,
        action="append",
        required=True,
        metavar="DIR",
        help="folder of findings JSON files of one model (repeatable: models compared with McNemar's test)",
    )
    findings.add_argument("--truth", type=Path, action="append", required=True, metavar="ROOT")
    findings.add_argument("--out", type=Path, required=True, metavar="DIR")
    findings.add_argument("--no-text-metrics", action="store_true", help="skip the report text metrics")
    findings.set_defaults(func=run_findings)
    training = commands.add_parser("training", help="training curves with the PID-Tversky controller")
    training.add_argument("runs", type=Path, nargs="+", metavar="RUN", help="training output folders")
    training.add_argument("--out", type=Path, required=True, metavar="DIR")
    training.set_defaults(func=run_training)
    pseudo = commands.add_parser("pseudo-masks", help="pseudo-mask quality on synthetic studies")
    pseudo.add_argument(
        "roots", type=Path, nargs="+", metavar="STUDY_ROOT", help="synthetic studies or folders of them"
    )
    pseudo.add_argument("--out", type=Path, required=True, metavar="DIR")
    pseudo.add_argument(
        "--words-only", action="store_true", help="drop the reports' explicit grades and areas first"
    )
    pseudo.set_defaults(func=run_pseudo_masks)


def _print_summary(summary: dict[str, Any]) -> None:
    for name, model in summary["models"].items():
        line = [f"{name}: {model['graded_levels']} graded levels"]
        classification = model.get("classification")
        if classification:
            line.append(f"accuracy {classification['accuracy']:.3f}")
            if classification["macro_f1"] is not None:
                line.append(f"macro-F1 {classification['macro_f1']:.3f}")
        segmentation = model.get("segmentation") or {}
        for structure, block in segmentation.get("structures", {}).items():
            dice = block["all"]["dice"]
            line.append(f"Dice {structure} {dice['estimate']:.3f} [{dice['low']:.3f}, {dice['high']:.3f}]")
        area = model.get("dural_sac_area_error")
        if area:
            mae = area["all"]["mean_absolute_error_mm2"]
            line.append(f"DSCA MAE {mae['estimate']:.1f} mm2")
        if model["missing"]:
            line.append(f"{len(model['missing'])} missing")
        print("; ".join(line))
    for pair, test in summary.get("mcnemar", {}).items():
        print(f"McNemar {pair}: b={test['b']} c={test['c']} p={test['p_value']:.4g} ({test['method']})")
    print(f"written: {', '.join(['metrics.json', *summary.get('plots', [])])}")


def run_slices(args: argparse.Namespace) -> int:
    from engine.cli.main import CommandError
    from engine.evaluation.output import write_evaluation
    from engine.evaluation.slice_runner import evaluate_pack_on_site
    from engine.runtime.model_pack import ModelPackError, load_model_pack
    from engine.site_data.validation import validate_site_folder

    if not args.site.is_dir():
        raise CommandError(f"site-data folder not found: {args.site}", ExitCode.INPUT_INVALID)
    try:
        packs = [load_model_pack(p) for p in args.pack]
    except ModelPackError as exc:
        raise CommandError(str(exc), ExitCode.MODEL_PACK_INVALID) from exc
    report = validate_site_folder(args.site)
    if not report.levels:
        problems = "\n".join(f"  {p.text()}" for p in report.blocking_problems)
        raise CommandError(
            f"{args.site}: no labelled level can be evaluated\n{problems}", ExitCode.INPUT_INVALID
        )
    names: list[str] = []
    for pack in packs:
        name = f"{pack.name} {pack.version}"
        names.append(name if name not in names else f"{name} ({len(names) + 1})")
    results = [evaluate_pack_on_site(pack, report, name) for pack, name in zip(packs, names, strict=True)]
    summary = write_evaluation(args.out, results, {"site": str(args.site), "site_summary": report.summary()})
    _print_summary(summary)
    return int(ExitCode.OK)


def run_findings(args: argparse.Namespace) -> int:
    from engine.cli.main import CommandError
    from engine.evaluation.output import write_evaluation
    from engine.evaluation.study_runner import evaluate_findings
    from engine.findings_io import FindingsFormatError
    from engine.synthetic_study import GroundTruthError

    evaluations = []
    try:
        for folder in args.findings:
            files = sorted(folder.glob("*.json")) if folder.is_dir() else [folder]
            if not files:
                raise CommandError(f"no findings file (*.json) in {folder}", ExitCode.INPUT_INVALID)
            evaluations.append(evaluate_findings(files, args.truth, name=folder.name))
    except (FindingsFormatError, GroundTruthError, FileNotFoundError) as exc:
        raise CommandError(str(exc), ExitCode.INPUT_INVALID) from exc
    extra: dict[str, Any] = {"truth": [str(t) for t in args.truth]}
    if not args.no_text_metrics:
        extra["text_metrics"] = {e.results.name: _text_metrics(e) for e in evaluations}
    summary = write_evaluation(args.out, [e.results for e in evaluations], extra)
    _print_summary(summary)
    return int(ExitCode.OK)


def _text_metrics(evaluation: Any) -> dict[str, Any]:
    from engine.reporting.text_metrics import TextMetricsUnavailable, report_text_metrics

    if not evaluation.candidate_reports:
        return {"skipped": "no reference report"}
    try:
        metrics = report_text_metrics(evaluation.candidate_reports, evaluation.reference_reports)
    except TextMetricsUnavailable as exc:
        return {"skipped": str(exc)}
    return metrics.as_dict()


def run_training(args: argparse.Namespace) -> int:
    from engine.cli.main import CommandError
    from engine.evaluation.history import read_training_history
    from engine.evaluation.plots import plot_controller_traces, plot_training_curves

    histories = {}
    try:
        for run in args.runs:
            histories[run.name] = read_training_history(run)
    except (FileNotFoundError, ValueError) as exc:
        raise CommandError(str(exc), ExitCode.INPUT_INVALID) from exc
    written = []
    for name, history in histories.items():
        if not history:
            raise CommandError(f"{name}: the history has no finished epoch", ExitCode.INPUT_INVALID)
        written.append(plot_training_curves(history, args.out / f"training_{name}.png", name).name)
    if any(r.controller for h in histories.values() for r in h):
        written.append(
            plot_controller_traces(
                {n: h for n, h in histories.items() if any(r.controller for r in h)},
                args.out / "controller_traces.png",
            ).name
        )
    print(f"written: {', '.join(written)}")
    return int(ExitCode.OK)


def run_pseudo_masks(args: argparse.Namespace) -> int:
    from engine.cli.main import CommandError
    from engine.site_data.pseudo_mask_evaluation import evaluate_synthetic_study, summarise_pseudo_mask_cases

    roots: list[Path] = []
    for root in args.roots:
        if (root / "ground_truth" / "ground_truth.json").is_file():
            roots.append(root)
        else:
            roots += sorted(p.parent.parent for p in root.glob("*/ground_truth/ground_truth.json"))
    if not roots:
        raise CommandError(
            "no synthetic study (ground_truth/ground_truth.json) found", ExitCode.INPUT_INVALID
        )
    cases = [case for root in roots for case in evaluate_synthetic_study(root, args.words_only)]
    summary = summarise_pseudo_mask_cases(cases)
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "pseudo_masks.json").write_text(json.dumps(summary, indent=2) + "\n", encoding="utf-8")
    block = summary["all"]
    dice = block["dice_accepted"]
    print(
        f"{len(roots)} studies, {block['levels']} levels: {block['accepted']} accepted"
        + (f" (Dice {dice['estimate']:.3f} [{dice['low']:.3f}, {dice['high']:.3f}])" if dice else "")
        + f", {block['rejected']} rejected {block['rejection_reasons']}"
    )
    for grade, per in summary["grades"].items():
        d = per["dice_accepted"]
        print(
            f"  grade {grade}: {per['accepted']}/{per['levels']} accepted"
            + (f", Dice {d['estimate']:.3f}" if d else "")
        )
    sys.stdout.flush()
    return int(ExitCode.OK)
