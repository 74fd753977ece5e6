"""How much of a set of free-text reports the parser understands: counts of level mentions, levels
with a severity, severities per class, grades per the mapping rule (for `lss data reports`)."""

from __future__ import annotations

import csv
from collections import Counter
from collections.abc import Mapping
from dataclasses import asdict, dataclass
from pathlib import Path

from engine.findings import DISC_LEVELS
from engine.site_data.report_parser import ParsedReport, parse_report


@dataclass(frozen=True)
class ReportParsingSummary:
    """Counts over a set of reports.

    named_levels: (report, level) pairs the text names; named_with_severity: of them, those with a
    canal severity from their own statement; severities / grades: of those, per class (grade
    "none" = unqualified compression, no grade by the rule); named_from_study_statement: named
    levels whose severity comes from a level-less "no compression" statement; implied_levels:
    levels never named that such a statement covers.
    """

    reports: int
    reports_with_disc_level: int
    reports_with_any_severity: int
    disc_level_mentions: int
    non_lumbar_level_mentions: int
    unparsed_level_texts: dict[str, int]
    named_levels: int
    named_with_severity: int
    named_without_severity: int
    named_from_study_statement: int
    implied_levels: int
    severities: dict[str, int]
    grades: dict[str, int]
    study_statements: dict[str, int]

    def as_dict(self) -> dict[str, object]:
        return asdict(self)


def read_reports_csv(path: Path, id_column: str, text_column: str) -> dict[str, str]:
    """Reports of a CSV file keyed by id; raises ValueError naming a missing column or duplicate id."""
    with path.open(newline="", encoding="utf-8-sig") as handle:
        reader = csv.DictReader(handle)
        fields = reader.fieldnames or []
        for column in (id_column, text_column):
            if column not in fields:
                raise ValueError(f"{path}: no column {column!r} (columns: {', '.join(fields)})")
        reports: dict[str, str] = {}
        for line, row in enumerate(reader, start=2):
            key = row[id_column]
            if key in reports:
                raise ValueError(f"{path}:{line}: duplicate {id_column} {key!r}")
            reports[key] = row[text_column] or ""
    return reports


def summarise_report_parsing(
    reports: Mapping[str, str],
) -> tuple[ReportParsingSummary, dict[str, ParsedReport]]:
    """Parse every report and count what was found."""
    parsed = {key: parse_report(text) for key, text in reports.items()}
    severities: Counter[str] = Counter()
    grades: Counter[str] = Counter()
    study: Counter[str] = Counter()
    unparsed: Counter[str] = Counter()
    counts = Counter[str]()
    for result in parsed.values():
        disc = [m for m in result.mentions if m.level in DISC_LEVELS]
        named = {m.level for m in disc}
        counts["mentions"] += len(disc)
        counts["non_lumbar"] += sum(1 for m in result.mentions if m.level not in DISC_LEVELS)
        counts["with_level"] += bool(disc)
        counts["with_severity"] += any(p.severity is not None for p in result.levels)
        unparsed.update(result.unparsed_level_texts)
        if result.study_severity is not None:
            study[result.study_severity.value] += 1
        counts["named"] += len(named)
        for level in result.levels:
            if level.level not in named:
                counts["implied"] += 1
            elif level.source == "study statement":
                counts["named_study"] += 1
            elif level.severity is None:
                counts["named_without"] += 1
            else:
                counts["named_with"] += 1
                severities[level.severity.value] += 1
                grades[level.grade.value if level.grade else "none"] += 1
    summary = ReportParsingSummary(
        reports=len(parsed),
        reports_with_disc_level=counts["with_level"],
        reports_with_any_severity=counts["with_severity"],
        disc_level_mentions=counts["mentions"],
        non_lumbar_level_mentions=counts["non_lumbar"],
        unparsed_level_texts=dict(unparsed),
        named_levels=counts["named"],
        named_with_severity=counts["named_with"],
        named_without_severity=counts["named_without"],
        named_from_study_statement=counts["named_study"],
        implied_levels=counts["implied"],
        severities=dict(severities),
        grades=dict(grades),
        study_statements=dict(study),
    )
    return summary, parsed
