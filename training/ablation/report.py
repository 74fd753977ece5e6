"""The ablation's tables and plots from the runs' test scores and histories.

Pooling: a case is one (test slice, prompt); its Dice/IoU is averaged over the seeds of an arm, and
the 95 % interval is a percentile bootstrap over test studies (all slices of a study are drawn
together). Per-seed means show the spread between seeds. Differences to PID-Tversky are paired
(same case, same seeds) and bootstrapped the same way.
"""

from __future__ import annotations

import json
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import asdict
from pathlib import Path
from typing import Any

import numpy as np

from engine.evaluation import SegmentationCase, bootstrap_mean_ci
from engine.evaluation.history import read_training_history
from engine.evaluation.plots import plot_controller_traces
from training.ablation.arms import ABLATION_MODEL, ABLATION_MODEL_OVERRIDES, ARMS, Schedule, run_name

SAC, FAT = "dural sac", "posterior epidural fat"
# Table rows: (label, structure, grade or None for every case of the structure).
ROWS: tuple[tuple[str, str, str | None], ...] = (
    ("dural sac, all graded slices", SAC, "*"),
    ("dural sac, grade A", SAC, "A"),
    ("dural sac, grade B", SAC, "B"),
    ("dural sac, grade C (minority)", SAC, "C"),
    ("dural sac, grade D (minority)", SAC, "D"),
    ("dural sac, grades C+D", SAC, "CD"),
    ("posterior epidural fat, all", FAT, None),
)
REFERENCE_ARM = "pid_tversky"


def _load_cases(path: Path) -> list[SegmentationCase]:
    fields = set(SegmentationCase.__dataclass_fields__)
    return [
        SegmentationCase(**{k: v for k, v in c.items() if k in fields})
        for c in json.loads(path.read_text(encoding="utf-8"))
    ]


def _error_rates(runs_dir: Path, arm: str, seeds: Sequence[int]) -> dict[str, dict[str, float]]:
    """Pixel-pooled FNR = FN / (FN + TP) and FDR = FP / (FP + TP) of the dural sac per grade (all
    seeds and test cases): under- versus over-segmentation, the quantity the controller balances."""
    totals: dict[str, np.ndarray] = defaultdict(lambda: np.zeros(3))
    for seed in seeds:
        rows = json.loads((runs_dir / run_name(arm, seed) / "test_scores.json").read_text(encoding="utf-8"))
        for row in rows:
            if row["structure"] != SAC or row.get("grade") is None or "tp" not in row:
                continue
            totals[row["grade"]] += (row["tp"], row["fp"], row["fn"])
    rates = {}
    for grade, (tp, fp, fn) in sorted(totals.items()):
        rates[grade] = {"fnr": fn / max(fn + tp, 1.0), "fdr": fp / max(fp + tp, 1.0)}
    return rates


def _selected(case: SegmentationCase, structure: str, grade: str | None) -> bool:
    if case.structure != structure:
        return False
    if grade is None:
        return True
    if grade == "*":
        return case.grade is not None
    return case.grade is not None and case.grade in grade


def _pooled(
    runs: Sequence[list[SegmentationCase]], structure: str, grade: str | None, metric: str
) -> tuple[dict[str, float], dict[str, str]]:
    """case_id -> metric averaged over the runs (seeds), and case_id -> cluster."""
    values: dict[str, list[float]] = defaultdict(list)
    clusters: dict[str, str] = {}
    for cases in runs:
        for case in cases:
            if _selected(case, structure, grade):
                values[case.case_id].append(getattr(case, metric))
                clusters[case.case_id] = case.cluster_id
    expected = len(runs)
    return {k: float(np.mean(v)) for k, v in values.items() if len(v) == expected}, clusters


def _row_stats(runs: Sequence[list[SegmentationCase]], structure: str, grade: str | None) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for metric in ("dice", "iou"):
        pooled, clusters = _pooled(runs, structure, grade, metric)
        if not pooled:
            return {}
        keys = sorted(pooled)
        ci = bootstrap_mean_ci([pooled[k] for k in keys], [clusters[k] for k in keys])
        per_seed = [
            float(np.mean([getattr(c, metric) for c in cases if _selected(c, structure, grade)]))
            for cases in runs
        ]
        spread = float(np.std(per_seed, ddof=1)) if len(per_seed) > 1 else None
        out[metric] = {**ci.as_dict(), "per_seed": per_seed, "seed_sd": spread}
    return out


def _paired_difference(
    reference: Sequence[list[SegmentationCase]],
    other: Sequence[list[SegmentationCase]],
    structure: str,
    grade: str | None,
    metric: str,
) -> dict[str, Any] | None:
    a, clusters = _pooled(reference, structure, grade, metric)
    b, _ = _pooled(other, structure, grade, metric)
    keys = sorted(set(a) & set(b))
    if not keys:
        return None
    return bootstrap_mean_ci([a[k] - b[k] for k in keys], [clusters[k] for k in keys]).as_dict()


def _cell(stats: dict[str, Any], metric: str) -> str:
    if not stats:
        return "n/a"
    m = stats[metric]
    spread = "n/a" if m["seed_sd"] is None else f"{m['seed_sd']:.3f}"
    return f"{m['estimate']:.3f} [{m['low']:.3f}, {m['high']:.3f}] (±{spread})"


def _markdown(result: dict[str, Any], arms: Sequence[str]) -> str:
    lines = [
        "# Loss ablation (generated by `python -m training.ablation`)",
        "",
        "Seeds per arm: "
        + ", ".join(f"{a} {s}" for a, s in result["seeds"].items())
        + f"; training studies {result['train_studies']} (practice-like grade imbalance), "
        f"test studies {result['test_studies']} (grades balanced); {result['schedule']}.",
        "Cells: mean over test cases of the seed-averaged score [95 % bootstrap CI over test studies] "
        "(± SD of the per-seed means; n/a with one seed).",
        "",
    ]
    for metric in ("dice", "iou"):
        lines += [f"## {metric.upper() if metric == 'iou' else 'Dice'}", ""]
        lines.append("| cases | n | " + " | ".join(arms) + " |")
        lines.append("|---|---|" + "---|" * len(arms))
        for label, *_ in ROWS:
            row = result["table"][label]
            n = next((row[a][metric]["cases"] for a in arms if row.get(a)), 0)
            lines.append(
                f"| {label} | {n} | " + " | ".join(_cell(row.get(a, {}), metric) for a in arms) + " |"
            )
        lines.append("")
    rates = result.get("error_rates", {})
    if any(rates.values()):
        lines += [
            "## Dural sac pixel error rates per grade: FNR (under-) / FDR (over-segmentation)",
            "",
            "| grade | " + " | ".join(arms) + " |",
            "|---|" + "---|" * len(arms),
        ]
        for grade in "ABCD":
            cells = [
                f"{rates[a][grade]['fnr']:.3f} / {rates[a][grade]['fdr']:.3f}"
                if grade in rates.get(a, {})
                else "n/a"
                for a in arms
            ]
            lines.append(f"| {grade} | " + " | ".join(cells) + " |")
        lines.append("")
    others = [a for a in arms if a != REFERENCE_ARM]
    if REFERENCE_ARM in arms and others:
        lines += ["## Paired difference, PID-Tversky minus each arm (Dice) [95 % CI]", ""]
        lines.append("| cases | " + " | ".join(f"minus {a}" for a in others) + " |")
        lines.append("|---|" + "---|" * len(others))
        for label, *_ in ROWS:
            cells = []
            for a in others:
                d = result["differences"][label].get(a)
                cells.append(
                    "n/a" if d is None else f"{d['estimate']:+.3f} [{d['low']:+.3f}, {d['high']:+.3f}]"
                )
            lines.append(f"| {label} | " + " | ".join(cells) + " |")
        lines.append("")
    return "\n".join(lines)


def scored_runs(runs_dir: Path) -> dict[str, list[int]]:
    """Arm -> seeds whose run has test scores, arms in the order of ARMS."""
    found: dict[str, list[int]] = {}
    for arm in ARMS:
        seeds = sorted(
            int(p.parent.name.removeprefix(f"{arm}-seed"))
            for p in runs_dir.glob(f"{arm}-seed*/test_scores.json")
            if p.parent.name.removeprefix(f"{arm}-seed").isdigit()
        )
        if seeds:
            found[arm] = seeds
    return found


def write_ablation_report(out_dir: Path, schedule: Schedule, train_studies: int, test_studies: int) -> Path:
    """Write OUT/ablation.json, OUT/ablation.md and OUT/plots/*.png over every scored run (an arm may
    have fewer seeds, e.g. a single-seed investigation arm); returns the JSON path."""
    runs_dir = out_dir / "runs"
    seeds_of = scored_runs(runs_dir)
    if not seeds_of:
        raise FileNotFoundError(f"no scored run (test_scores.json) under {runs_dir}")
    arms = list(seeds_of)
    cases = {
        arm: [_load_cases(runs_dir / run_name(arm, seed) / "test_scores.json") for seed in seeds]
        for arm, seeds in seeds_of.items()
    }
    table: dict[str, dict[str, Any]] = {}
    differences: dict[str, dict[str, Any]] = {}
    for label, structure, grade in ROWS:
        table[label] = {arm: _row_stats(cases[arm], structure, grade) for arm in arms}
        if REFERENCE_ARM in arms:
            differences[label] = {
                arm: _paired_difference(cases[REFERENCE_ARM], cases[arm], structure, grade, "dice")
                for arm in arms
                if arm != REFERENCE_ARM
            }
    histories = {
        arm: {seed: read_training_history(runs_dir / run_name(arm, seed)) for seed in seeds}
        for arm, seeds in seeds_of.items()
    }
    error_rates = {arm: _error_rates(runs_dir, arm, seeds) for arm, seeds in seeds_of.items()}
    plots = out_dir / "plots"
    for arm in arms:
        if ARMS[arm].loss == "pid_tversky":
            plot_controller_traces(
                {f"seed {s}": h for s, h in histories[arm].items()},
                plots / f"controller_{arm}.png",
                f"{ARMS[arm].description}: beta per class and epoch",
            )
    _plot_validation(histories, plots / "validation_dural_sac.png")
    result = {
        "arms": {a: asdict(ARMS[a]) for a in arms},
        "seeds": seeds_of,
        "train_studies": train_studies,
        "test_studies": test_studies,
        "schedule": (
            f"{schedule.epochs} epochs x {schedule.samples_per_epoch} samples, batch {schedule.batch_size}, "
            f"lr {schedule.learning_rate}, model {ABLATION_MODEL} with {json.dumps(ABLATION_MODEL_OVERRIDES)}"
        ),
        "table": table,
        "differences": differences,
        "error_rates": error_rates,
        "final_controller": {
            arm: {
                seed: h[-1].controller if h and h[-1].controller else None
                for seed, h in histories[arm].items()
            }
            for arm in arms
        },
    }
    json_path = out_dir / "ablation.json"
    json_path.write_text(json.dumps(result, indent=1), encoding="utf-8")
    (out_dir / "ablation.md").write_text(_markdown(result, arms), encoding="utf-8")
    return json_path


def _plot_validation(histories: dict[str, dict[int, Any]], path: Path) -> None:
    """Validation Dice of the dural sac per epoch, mean over seeds, one line per arm."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    figure, axes = plt.subplots(figsize=(6.4, 4.0))
    for arm, per_seed in histories.items():
        curves = [[r.validation.get("dice", {}).get(SAC, np.nan) for r in h] for h in per_seed.values()]
        length = min(len(c) for c in curves)
        mean = np.nanmean([c[:length] for c in curves], axis=0)
        axes.plot(range(1, length + 1), mean, label=arm)
    axes.set_xlabel("epoch")
    axes.set_ylabel("validation Dice, dural sac (mean of seeds)")
    axes.legend(fontsize=8)
    figure.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    figure.savefig(path, dpi=120)
    plt.close(figure)
