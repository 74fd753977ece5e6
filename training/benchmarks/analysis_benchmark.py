"""Quality and speed of the study analysis: `lss bench analyze --model PACK [...]` (or
`python -m training.benchmarks.analysis_benchmark`). Prints numbers; asserts none.

Synthetic test studies: seeds SEED_BASE + k (900000+; training studies use seeds below 100000, so
none of these was ever trained on), written once into --studies-dir and reused. Per study: the
level labels (all five lumbar levels found, each disc centre within LABEL_TOLERANCE_MM of the
truth), grade accuracy (overall, per grade, confusion), dural sac Dice on the key slice, dural sac
area error against the truth (and the error of the same measurement on the ground-truth mask, which
separates the model's share from the geometry's).

SPIDER held-out patients (--spider ROOT): the patients the trainer's split holds out
(training.data.splits.split_by_group on the SPIDER samples with --held-out-fraction/--split-seed,
as the recipes use); on each patient's mid-sagittal slice: spinal canal and disc Dice, discs found
against the discs in the reference mask, and whether they come out in the right order.

--oracle scores the same studies with the ground-truth masks in place of a model: what remains is
the error of the geometry (level finding, key slice, obliquity, pixel size), not the model's.

Speed: each backend runs in a fresh process (spawn): ONNX Runtime on the model pack and, with
--torch-model (the pack itself, through its fine-tuning weights, or the best/ folder it was
exported from), the same model in eager torch with the same thread count. Per stage: median seconds over the studies after one warm-up analysis (whose
time, with session creation, is reported as "first analysis"); peak memory is that process's
maximum resident set size.
"""

from __future__ import annotations

import argparse
import json
import multiprocessing
import resource
import statistics
import sys
import time
from collections import Counter
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

SEED_BASE = 900_000
LABEL_TOLERANCE_MM = 10.0
DSCA_GOAL_PERCENT = 10.0
SPIDER_SPACING_MM = 0.46875
SPIDER_LABELS = {"intervertebral disc": 29, "vertebra": 76, "spinal canal": 150}


def dice(a: np.ndarray, b: np.ndarray) -> float:
    """Dice of two boolean masks (1.0 when both are empty)."""
    total = int(a.sum()) + int(b.sum())
    return 1.0 if total == 0 else 2.0 * int(np.logical_and(a, b).sum()) / total


def synthetic_studies(root: Path, count: int, max_matrix: int | None) -> list[Path]:
    """OUT folders of the test studies SEED_BASE .. SEED_BASE+count-1 (written when missing)."""
    from engine.synthetic_study import write_study

    folders = []
    for k in range(count):
        out = root / f"seed-{SEED_BASE + k}"
        if not (out / "ground_truth" / "ground_truth.json").is_file():
            write_study(out, SEED_BASE + k, max_matrix=max_matrix, overwrite=True)
        folders.append(out)
    return folders


class _PreprocessingClock:
    """Wraps a module's `prepare_slice` to add up the time spent preprocessing (both backends call
    engine.preprocessing.prepare_slice), so model time = segment time - preprocessing time."""

    def __init__(self, module: Any) -> None:
        self.seconds = 0.0
        self._inner = module.prepare_slice
        module.prepare_slice = self

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        started = time.perf_counter()
        try:
            return self._inner(*args, **kwargs)
        finally:
            self.seconds += time.perf_counter() - started


class _TimedSegmenter:
    """Counts the time spent inside the model's segment() (preprocessing + inference)."""

    def __init__(self, inner: Any) -> None:
        self.inner = inner
        self.seconds = 0.0
        self.calls = 0

    def segment(self, image: Any, prompts: Any, centre_rc: Any = None) -> Any:
        started = time.perf_counter()
        try:
            return self.inner.segment(image, prompts, centre_rc)
        finally:
            self.seconds += time.perf_counter() - started
            self.calls += 1

    def __getattr__(self, name: str) -> Any:
        return getattr(self.inner, name)


def _study_record(out: Path, segmenter: Any, clock: _PreprocessingClock | None) -> dict[str, Any]:
    """Analyse one synthetic study and score it against its ground truth."""
    from engine.analysis import LevelsNotFoundError, run_analysis
    from engine.findings import DISC_LEVELS, Structure
    from engine.measurements import measure_dural_sac
    from engine.study import load_study
    from engine.synthetic_study import read_ground_truth

    truth = read_ground_truth(out)
    started = time.perf_counter()
    study = load_study(out / "study")
    load_s = time.perf_counter() - started
    if segmenter is None:
        from training.benchmarks.ground_truth_segmenter import GroundTruthSegmenter

        segmenter = GroundTruthSegmenter(truth)
    timed = _TimedSegmenter(segmenter)
    preprocessing_before = 0.0 if clock is None else clock.seconds
    try:
        result = run_analysis(study, timed)
    except LevelsNotFoundError as exc:
        return {"study": out.name, "error": str(exc), "load_s": load_s, "levels_right": False, "levels": []}
    axial_truth = truth.find_series("axial", "T2")
    labels = truth.load_mask(axial_truth)
    slice_of = {uid: i for i, uid in enumerate(axial_truth.sop_instance_uids)}
    found = {d.label: d for d in result.findings.levels}
    levels_right = set(found) == set(DISC_LEVELS) and all(
        np.linalg.norm(np.subtract(found[lv.level].centre_lps, lv.disc_centre_lps)) <= LABEL_TOLERANCE_MM
        for lv in truth.levels
    )
    masks = {
        (m.sop_instance_uid, m.frame_index): m.mask
        for m in result.findings.masks
        if m.structure == Structure.DURAL_SAC.value
    }
    levels = []
    for finding in result.findings.findings:
        if finding.level not in DISC_LEVELS:
            continue
        expected = truth.level(finding.level)
        key = str(finding.key_slice_sop_instance_uid)
        series = study.series_by_uid(str(finding.axial_series_uid))
        geometry = series.slices[series.slice_index_by_uid(key)].geometry
        assert geometry is not None  # key slices always have geometry
        truth_mask = truth.structure_mask(labels[slice_of[key]], Structure.DURAL_SAC.value)
        predicted = masks.get((key, finding.key_slice_frame_index), np.zeros_like(truth_mask))
        direction = np.array(
            [float(v) for v in dict(finding.provenance.parameters)["canal_direction_lps"].split(",")]
        )
        on_truth_mask = measure_dural_sac(truth_mask, geometry, direction).dural_sac_area_mm2
        area = finding.dural_sac_area_mm2
        levels.append(
            {
                "level": finding.level,
                "grade_true": expected.grade.value,
                "grade": finding.grade.value,
                "dice": dice(predicted, truth_mask),
                "area_true_mm2": expected.dural_sac_area_mm2,
                "area_mm2": area,
                "area_error_percent": None
                if area is None
                else 100.0 * (area - expected.dural_sac_area_mm2) / expected.dural_sac_area_mm2,
                "area_on_truth_mask_error_percent": 100.0
                * (on_truth_mask - expected.dural_sac_area_mm2)
                / expected.dural_sac_area_mm2,
            }
        )
    return {
        "study": out.name,
        "axial_style": axial_truth.axial_style,
        "levels_right": levels_right,
        "sacrum_identified": result.labelling.sacrum_identified,
        "levels": levels,
        "load_s": load_s,
        "stages": {t.stage: t.seconds for t in result.timings},
        "total_s": result.total_seconds,
        "segment_s": timed.seconds,
        "preprocessing_s": 0.0 if clock is None else clock.seconds - preprocessing_before,
        "model_s": timed.seconds - (0.0 if clock is None else clock.seconds - preprocessing_before),
        "model_calls": timed.calls,
    }


def run_backend(
    backend: str, model: str, studies: Sequence[str], threads: int, device: str
) -> dict[str, Any]:
    """In a fresh process: open the backend, one warm-up analysis, then every study; peak RSS."""
    if backend == "onnxruntime":
        import engine.runtime.segmenter as runtime_module
        from engine.segmentation import open_segmenter

        clock = _PreprocessingClock(runtime_module)
        started = time.perf_counter()
        segmenter: Any = open_segmenter(model, "cpu" if device == "cpu" else device, threads)
        providers = segmenter.execution_providers()
    else:
        import training.benchmarks.torch_segmenter as torch_module
        from training.benchmarks.torch_segmenter import TorchStructureSegmenter

        clock = _PreprocessingClock(torch_module)
        started = time.perf_counter()
        segmenter = TorchStructureSegmenter(Path(model), "cuda" if device == "cuda" else "cpu", threads)
        providers = segmenter.execution_providers()
    open_s = time.perf_counter() - started
    warm_up = _study_record(Path(studies[0]), segmenter, clock)
    records = [_study_record(Path(s), segmenter, clock) for s in studies]
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0
    return {
        "backend": backend,
        "providers": providers,
        "open_s": open_s,
        "first_analysis_s": warm_up.get("total_s"),
        "records": records,
        "peak_rss_mb": peak_mb,
    }


def _in_fresh_process(*args: Any) -> dict[str, Any]:
    context = multiprocessing.get_context("spawn")
    with context.Pool(1) as pool:
        return pool.apply(run_backend, args)


def summarise_synthetic(records: Sequence[dict[str, Any]]) -> dict[str, Any]:
    levels = [lv for r in records for lv in r["levels"]]
    grades = Counter((lv["grade_true"], lv["grade"]) for lv in levels)
    per_grade = {}
    for grade in "ABCD":
        total = sum(n for (t, _), n in grades.items() if t == grade)
        if total:
            per_grade[grade] = {"accuracy": grades[(grade, grade)] / total, "levels": total}
    errors = [abs(lv["area_error_percent"]) for lv in levels if lv["area_error_percent"] is not None]
    geometry_errors = [abs(lv["area_on_truth_mask_error_percent"]) for lv in levels]
    stages: dict[str, list[float]] = {}
    for r in records:
        for stage, seconds in r.get("stages", {}).items():
            stages.setdefault(stage, []).append(seconds)
    timed = [r for r in records if "total_s" in r]
    totals = [r["total_s"] for r in timed]
    return {
        "studies": len(records),
        "levels_right_studies": sum(bool(r["levels_right"]) for r in records),
        "sacrum_identified_studies": sum(bool(r.get("sacrum_identified")) for r in records),
        "graded_levels": len(levels),
        "grade_accuracy": None
        if not levels
        else sum(n for (t, p), n in grades.items() if t == p) / len(levels),
        "grade_accuracy_per_grade": per_grade,
        "confusion_true_predicted": {f"{t}->{p}": n for (t, p), n in sorted(grades.items())},
        "dural_sac_dice_mean": None if not levels else float(np.mean([lv["dice"] for lv in levels])),
        "dsca_abs_error_percent_median": None if not errors else float(np.median(errors)),
        "dsca_abs_error_percent_mean": None if not errors else float(np.mean(errors)),
        "dsca_within_10_percent": None
        if not errors
        else sum(e <= DSCA_GOAL_PERCENT for e in errors) / len(errors),
        "dsca_on_truth_mask_abs_error_percent_median": None
        if not geometry_errors
        else float(np.median(geometry_errors)),
        "median_stage_s": {k: statistics.median(v) for k, v in stages.items()},
        "median_total_s": None if not totals else statistics.median(totals),
        "median_model_s": None if not timed else statistics.median(r["model_s"] for r in timed),
        "median_preprocessing_s": None
        if not timed
        else statistics.median(r["preprocessing_s"] for r in timed),
        "median_load_s": statistics.median(r["load_s"] for r in records),
    }


def spider_held_out(root: Path, segmenter: Any, held_out_fraction: float, split_seed: int) -> dict[str, Any]:
    """Canal/disc Dice and disc count/order on the held-out patients' mid-sagittal slices."""
    import csv

    import cv2

    from engine.analysis.parameters import AnalysisParameters
    from engine.analysis.sagittal import SAGITTAL_PROMPTS, recentre_on_canal
    from engine.levels import find_disc_candidates
    from engine.segmentation import SliceImage
    from engine.study.model import SliceGeometry
    from training.data import spider_samples, split_by_group

    _, held = split_by_group(spider_samples(root, SPIDER_SPACING_MM), held_out_fraction, split_seed)
    patients = sorted({s.source.group.removeprefix("spider-") for s in held})
    rows = list(csv.DictReader((root / "slices_manifest.csv").open(encoding="utf-8")))
    parameters = AnalysisParameters()
    cases = []
    for patient in patients:
        mine = [r for r in rows if r["spider_patient"] == patient]
        chosen = next((r for r in mine if r.get("is_max_canal_slice") == "1"), mine[len(mine) // 2])
        grey = cv2.imread(str(root / chosen["image"]), cv2.IMREAD_GRAYSCALE)
        reference = cv2.imread(str(root / chosen["mask"]), cv2.IMREAD_UNCHANGED)
        if grey is None or reference is None:
            raise FileNotFoundError(f"{root}: cannot read {chosen['image']} or {chosen['mask']}")
        pixels = grey.astype(np.float32)
        # Stored with superior at the top and anterior on the left: columns run posterior, rows down.
        geometry = SliceGeometry(
            (0.0, 0.0, 0.0),
            (0.0, 1.0, 0.0),
            (0.0, 0.0, -1.0),
            (SPIDER_SPACING_MM, SPIDER_SPACING_MM),
            *pixels.shape,
        )
        image = SliceImage(pixels, (SPIDER_SPACING_MM, SPIDER_SPACING_MM), "sagittal")
        probabilities = {r.prompt: r.mask_probability for r in segmenter.segment(image, SAGITTAL_PROMPTS)}
        probabilities, _ = recentre_on_canal(image, probabilities, segmenter, parameters)
        predicted_discs = find_disc_candidates(
            probabilities["intervertebral disc"], geometry, vertebra_probability=probabilities["vertebra"]
        )
        reference_discs = find_disc_candidates(
            (reference == SPIDER_LABELS["intervertebral disc"]).astype(np.float32), geometry
        )
        # Each found disc matched to the nearest reference disc: in order when the matches run
        # down the spine one by one.
        reference_z = [d.centre_lps[2] for d in reference_discs]
        matches = []
        for disc in predicted_discs:
            distances = [
                float(np.linalg.norm(np.subtract(disc.centre_lps, r.centre_lps))) for r in reference_discs
            ]
            if distances and min(distances) <= LABEL_TOLERANCE_MM:
                matches.append(int(np.argmin(distances)))
        in_order = bool(matches) and matches == sorted(set(matches), key=lambda i: -reference_z[i])
        cases.append(
            {
                "patient": patient,
                "slice": chosen["image"],
                "canal_dice": dice(
                    probabilities["spinal canal"] >= 0.5, reference == SPIDER_LABELS["spinal canal"]
                ),
                "disc_dice": dice(
                    probabilities["intervertebral disc"] >= 0.5,
                    reference == SPIDER_LABELS["intervertebral disc"],
                ),
                "vertebra_dice": dice(
                    probabilities["vertebra"] >= 0.5, reference == SPIDER_LABELS["vertebra"]
                ),
                "discs_found": len(predicted_discs),
                "discs_in_reference": len(reference_discs),
                "discs_matched": len(set(matches)),
                "in_order": in_order,
            }
        )
    return {
        "held_out_patients": patients,
        "cases": cases,
        "canal_dice_mean": None if not cases else float(np.mean([c["canal_dice"] for c in cases])),
        "disc_dice_mean": None if not cases else float(np.mean([c["disc_dice"] for c in cases])),
        "discs_found_equals_reference": sum(c["discs_found"] == c["discs_in_reference"] for c in cases),
        "in_order": sum(bool(c["in_order"]) for c in cases),
    }


def _format(value: Any) -> str:
    if isinstance(value, float):
        return f"{value:.3f}"
    return str(value)


def _print_backend(name: str, run: dict[str, Any], summary: dict[str, Any]) -> None:
    print(f"\n== {name}: {', '.join(run['providers'])}")
    print(f"  open model {run['open_s']:.2f} s; first analysis (cold) {_format(run['first_analysis_s'])} s")
    for stage, seconds in summary["median_stage_s"].items():
        print(f"  {stage:24s} {seconds:7.3f} s (median)")
    print(
        f"  {'total analysis':24s} {_format(summary['median_total_s']):>7} s, of which preprocessing "
        f"{_format(summary['median_preprocessing_s'])} s and model inference {_format(summary['median_model_s'])} s"
    )
    print(
        f"  study loading (not in the total) {summary['median_load_s']:.3f} s; peak RSS {run['peak_rss_mb']:.0f} MB"
    )


SYNTHETIC_KEYS = (
    "levels_right_studies",
    "sacrum_identified_studies",
    "graded_levels",
    "grade_accuracy",
    "grade_accuracy_per_grade",
    "confusion_true_predicted",
    "dural_sac_dice_mean",
    "dsca_abs_error_percent_median",
    "dsca_abs_error_percent_mean",
    "dsca_within_10_percent",
    "dsca_on_truth_mask_abs_error_percent_median",
)


def _oracle_report(args: argparse.Namespace) -> int:
    studies = synthetic_studies(args.studies_dir, args.studies, args.max_matrix)
    print(
        f"ground-truth masks in place of a model; {len(studies)} synthetic test studies, seeds {SEED_BASE}.."
    )
    records = [_study_record(out, None, None) for out in studies]
    summary = summarise_synthetic(records)
    styles = Counter(r.get("axial_style") for r in records)
    print(f"  axial stacks: {dict(styles)}")
    for key in SYNTHETIC_KEYS:
        print(f"  {key:45s} {_format(summary[key])}")
    print(f"  {'median analysis time (no model)':45s} {_format(summary['median_total_s'])} s")
    if args.json is not None:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(
            json.dumps({"oracle": {"records": records, "summary": summary}}, indent=1) + "\n"
        )
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="lss bench analyze", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--model", help="model pack folder or name")
    parser.add_argument(
        "--oracle",
        action="store_true",
        help="score the synthetic studies with ground-truth masks instead of a model",
    )
    parser.add_argument(
        "--torch-model",
        type=Path,
        help="torch baseline: the pack (its fine-tuning weights) or the best/ folder it was exported from",
    )
    parser.add_argument("--studies", type=int, default=6, help="synthetic test studies (default 6)")
    parser.add_argument(
        "--studies-dir", type=Path, default=Path("build/bench-studies"), help="where they are kept"
    )
    parser.add_argument(
        "--max-matrix", type=int, default=None, help="cap image matrices (default: full size)"
    )
    parser.add_argument("--spider", type=Path, help="SPIDER folder (slices_manifest.csv, images/, masks/)")
    parser.add_argument("--held-out-fraction", type=float, default=0.2, help="as the training recipe (0.2)")
    parser.add_argument("--split-seed", type=int, default=0, help="as the training recipe (0)")
    parser.add_argument(
        "--threads", type=int, default=None, help="threads for both backends (default: cores, max 8)"
    )
    parser.add_argument("--device", choices=["cpu", "cuda"], default="cpu")
    parser.add_argument("--json", type=Path, help="also write every number to this JSON file")
    args = parser.parse_args(argv)
    if args.oracle:
        return _oracle_report(args)
    if args.model is None:
        parser.error("--model is required (or --oracle)")

    from engine.runtime.sessions import default_intra_op_threads
    from engine.segmentation import resolve_model_pack

    pack = resolve_model_pack(args.model)
    threads = args.threads or default_intra_op_threads()
    studies = [str(p) for p in synthetic_studies(args.studies_dir, args.studies, args.max_matrix)]
    print(f"model pack {pack.name} {pack.version} (sha256 {pack.sha256[:12]}) at {pack.root}")
    print(
        f"{len(studies)} synthetic test studies, seeds {SEED_BASE}..{SEED_BASE + len(studies) - 1}, {threads} thread(s)"
    )
    report: dict[str, Any] = {"model": {"name": pack.name, "version": pack.version, "sha256": pack.sha256}}

    ort = _in_fresh_process("onnxruntime", str(pack.root), studies, threads, args.device)
    ort_summary = summarise_synthetic(ort["records"])
    report["onnxruntime"] = {**ort, "summary": ort_summary}
    print("\n== synthetic test studies (ONNX Runtime)")
    for key in SYNTHETIC_KEYS:
        print(f"  {key:45s} {_format(ort_summary[key])}")
    for record in ort["records"]:
        if "error" in record:
            print(f"  {record['study']}: {record['error']}")
    _print_backend("ONNX Runtime", ort, ort_summary)

    if args.torch_model is not None:
        eager = _in_fresh_process("torch", str(args.torch_model), studies, threads, args.device)
        eager_summary = summarise_synthetic(eager["records"])
        report["torch"] = {**eager, "summary": eager_summary}
        _print_backend("torch eager (same model)", eager, eager_summary)
        if ort_summary["median_model_s"] and eager_summary["median_model_s"]:
            print(
                f"  ONNX Runtime speed-up: analysis {eager_summary['median_total_s'] / ort_summary['median_total_s']:.2f}x, "
                f"model inference {eager_summary['median_model_s'] / ort_summary['median_model_s']:.2f}x"
            )
        same = [
            a["grade"] == b["grade"]
            for x, y in zip(ort["records"], eager["records"], strict=True)
            for a, b in zip(x["levels"], y["levels"], strict=False)
        ]
        print(f"  same grade from both backends: {sum(same)}/{len(same)} levels")

    if args.spider is not None:
        from engine.segmentation import open_segmenter

        spider = spider_held_out(
            args.spider, open_segmenter(pack, args.device, threads), args.held_out_fraction, args.split_seed
        )
        report["spider"] = spider
        print(f"\n== SPIDER held-out patients ({', '.join(spider['held_out_patients'])})")
        for case in spider["cases"]:
            print(
                f"  patient {case['patient']:>4}: canal Dice {case['canal_dice']:.3f}, disc Dice {case['disc_dice']:.3f}, "
                f"discs found {case['discs_found']} / reference {case['discs_in_reference']} "
                f"(matched {case['discs_matched']}), order {'right' if case['in_order'] else 'WRONG'}"
            )
        print(
            f"  mean canal Dice {_format(spider['canal_dice_mean'])}, mean disc Dice {_format(spider['disc_dice_mean'])}; "
            f"disc count right {spider['discs_found_equals_reference']}/{len(spider['cases'])}, "
            f"order right {spider['in_order']}/{len(spider['cases'])}"
        )
    if args.json is not None:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps(report, indent=1, default=str) + "\n", encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
