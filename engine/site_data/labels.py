"""labels.csv of a site folder: one row per (study, level) with its Schizas grade."""

from __future__ import annotations

import csv
from dataclasses import dataclass

from engine.findings import DISC_LEVELS, SchizasGrade
from engine.site_data.problems import ProblemCode, SiteProblem, blocking, warning
from engine.site_data.report_parser import find_level_mentions

REQUIRED_COLUMNS: tuple[str, ...] = ("study", "level", "grade")
OPTIONAL_COLUMNS: tuple[str, ...] = ("dsca_mm2", "key_sop_instance_uid")


@dataclass(frozen=True)
class SiteLabel:
    """One labelled level. study: folder name under studies/ or StudyInstanceUID (as written);
    level: canonical ("L4-L5"); dsca_mm2: the site's measured dural sac area, if given;
    key_sop_instance_uid: the axial image at the disc, if given; line: the CSV line."""

    study: str
    level: str
    grade: SchizasGrade
    dsca_mm2: float | None
    key_sop_instance_uid: str | None
    line: int


def canonical_level(text: str) -> str | None:
    """ "L4/L5", "l4-5", "L4-L5" -> "L4-L5"; None when it is not one lumbar disc level."""
    mentions, _ = find_level_mentions(text.strip())
    if len(mentions) != 1 or mentions[0].level not in DISC_LEVELS:
        return None
    return mentions[0].level


def canonical_grade(text: str) -> SchizasGrade | None:
    """ "A".."D" (any case); the Schizas subgrades A1-A4 are grade A."""
    value = text.strip().upper()
    if value in {"A1", "A2", "A3", "A4"}:
        value = "A"
    return SchizasGrade(value) if value in {"A", "B", "C", "D"} else None


def read_labels(text: str, path: str) -> tuple[list[SiteLabel], list[SiteProblem]]:
    """Parse labels.csv text; every bad row is a problem naming the line and field (the row is left out)."""
    problems: list[SiteProblem] = []
    reader = csv.DictReader(text.splitlines())
    columns = reader.fieldnames or []
    missing = [c for c in REQUIRED_COLUMNS if c not in columns]
    if missing:
        return [], [blocking(path, ProblemCode.MALFORMED_FILE, f"missing column(s) {', '.join(missing)}")]
    extra = [c for c in columns if c not in REQUIRED_COLUMNS + OPTIONAL_COLUMNS]
    if extra:
        problems.append(warning(path, ProblemCode.UNUSED_FILE, f"column(s) {', '.join(extra)} are ignored"))
    labels: list[SiteLabel] = []
    seen: dict[tuple[str, str], SiteLabel] = {}
    for line, row in enumerate(reader, start=2):
        where = f"{path}:{line}"
        study = (row.get("study") or "").strip()
        level = canonical_level(row.get("level") or "")
        grade = canonical_grade(row.get("grade") or "")
        if not study:
            problems.append(blocking(where, ProblemCode.INVALID_VALUE, "empty study"))
            continue
        if level is None:
            problems.append(
                blocking(
                    where,
                    ProblemCode.UNKNOWN_LEVEL,
                    f"level {row.get('level')!r} is not one of {', '.join(DISC_LEVELS)}",
                )
            )
            continue
        if grade is None:
            problems.append(
                blocking(
                    where, ProblemCode.UNKNOWN_GRADE, f"grade {row.get('grade')!r} is not a Schizas grade A-D"
                )
            )
            continue
        dsca: float | None = None
        raw_dsca = (row.get("dsca_mm2") or "").strip()
        if raw_dsca:
            try:
                dsca = float(raw_dsca)
            except ValueError:
                dsca = -1.0
            if not 0 < dsca < 1000:
                problems.append(
                    blocking(where, ProblemCode.INVALID_VALUE, f"dsca_mm2 {raw_dsca!r} is not an area in mm2")
                )
                continue
        key = (row.get("key_sop_instance_uid") or "").strip() or None
        label = SiteLabel(study, level, grade, dsca, key, line)
        previous = seen.get((study, level))
        if previous is not None:
            if previous.grade != grade:
                problems.append(
                    blocking(
                        where,
                        ProblemCode.CONFLICTING_LABELS,
                        f"{study} {level} is graded {previous.grade.value} on line {previous.line} and {grade.value} here",
                    )
                )
            else:
                problems.append(
                    warning(
                        where, ProblemCode.DUPLICATE_LABEL, f"{study} {level} repeats line {previous.line}"
                    )
                )
            continue
        seen[(study, level)] = label
        labels.append(label)
    return labels, problems
