"""Site report templates: the phrases of a drafted report, read from a TOML file.

The default lives in `resources/report_templates/default.toml`, which documents every key. A site
points to its own file with an argument or the environment variable LSS_REPORT_TEMPLATE. Loading
checks the whole file (every phrase is formatted once with sample values), so a broken template
fails with the file and key named before anything is drafted from it.
"""

from __future__ import annotations

import hashlib
import os
import string
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path
from typing import Any

from engine.findings import SchizasGrade

TEMPLATE_ENV_VAR = "LSS_REPORT_TEMPLATE"
DEFAULT_TEMPLATE_PATH = (
    Path(__file__).resolve().parents[2] / "resources" / "report_templates" / "default.toml"
)

PHRASE_PLACEHOLDERS = frozenset({"level", "grade", "severity", "dsca", "ap", "measurements"})
MEASUREMENT_PLACEHOLDERS = frozenset({"dsca", "ap"})


class SizeCategory(StrEnum):
    """How narrow the canal measures at a level (see [size_categories] in the template)."""

    NORMAL = "normal"
    RELATIVE = "relative"  # relative stenosis range (e.g. DSCA < 100 mm² or AP < 12 mm)
    ABSOLUTE = "absolute"  # absolute stenosis range (e.g. DSCA < 75 mm² or AP < 10 mm)
    UNKNOWN = "unknown"  # neither number measured


class LevelStyle(StrEnum):
    HYPHEN = "hyphen"  # L4-L5
    SLASH = "slash"  # L4/L5
    SHORT = "short"  # L4-5


class TemplateError(ValueError):
    """A template file is missing, unreadable or incomplete; the message names the file and key."""


@dataclass(frozen=True)
class SizeThresholds:
    dsca_relative_below_mm2: float
    dsca_absolute_below_mm2: float
    ap_relative_below_mm: float
    ap_absolute_below_mm: float

    def categorise(self, dural_sac_area_mm2: float | None, ap_diameter_mm: float | None) -> SizeCategory:
        """The worst category either measurement falls in; UNKNOWN when both are None."""
        found: list[SizeCategory] = []
        if dural_sac_area_mm2 is not None:
            found.append(
                SizeCategory.ABSOLUTE
                if dural_sac_area_mm2 < self.dsca_absolute_below_mm2
                else SizeCategory.RELATIVE
                if dural_sac_area_mm2 < self.dsca_relative_below_mm2
                else SizeCategory.NORMAL
            )
        if ap_diameter_mm is not None:
            found.append(
                SizeCategory.ABSOLUTE
                if ap_diameter_mm < self.ap_absolute_below_mm
                else SizeCategory.RELATIVE
                if ap_diameter_mm < self.ap_relative_below_mm
                else SizeCategory.NORMAL
            )
        if not found:
            return SizeCategory.UNKNOWN
        order = (SizeCategory.NORMAL, SizeCategory.RELATIVE, SizeCategory.ABSOLUTE)
        return max(found, key=order.index)


@dataclass(frozen=True)
class ReportTemplate:
    """A validated template. Phrase tables map grade -> size category (or "default") -> phrase."""

    name: str
    version: int
    source: str  # the file it was read from
    sha256: str  # of the file's bytes
    level_style: LevelStyle
    list_and: str
    thresholds: SizeThresholds
    severity: Mapping[str, str]
    measurements: Mapping[str, str]
    technique_text: str
    technique_no_study: str
    angled_axial_suffix: str
    canal: Mapping[str, Mapping[str, str]]
    canal_not_assessed: str
    impression: Mapping[str, Mapping[str, str]]
    impression_none: str
    attribution: str

    @property
    def label(self) -> str:
        return f"{self.name} v{self.version}"

    def level_text(self, level: str) -> str:
        """A level label (e.g. "L4-L5") written in this template's style."""
        upper, _, lower = level.partition("-")
        if self.level_style == LevelStyle.SLASH:
            return f"{upper}/{lower}"
        if self.level_style == LevelStyle.SHORT and upper[0] == lower[:1]:
            return f"{upper}-{lower[1:]}"
        return level

    def canal_phrase(self, grade: SchizasGrade, size: SizeCategory) -> str:
        table = self.canal[grade.value]
        return table.get(size.value) or table["default"]

    def impression_phrase(self, grade: SchizasGrade, size: SizeCategory) -> str | None:
        """The impression phrase, or None when the template leaves this grade and size out."""
        table = self.impression.get(grade.value, {})
        return table.get(size.value) or table.get("default")


def _placeholders(text: str) -> set[str]:
    return {name for _, name, _, _ in string.Formatter().parse(text) if name is not None}


def _require(table: Mapping[str, Any], key: str, where: str, source: str) -> Any:
    if key not in table:
        raise TemplateError(f"{source}: key {where}.{key} is missing")
    return table[key]


def _phrase(table: Mapping[str, Any], key: str, where: str, source: str, allowed: frozenset[str]) -> str:
    value = _require(table, key, where, source)
    return _checked_phrase(value, f"{where}.{key}", source, allowed)


def _checked_phrase(value: Any, key: str, source: str, allowed: frozenset[str]) -> str:
    if not isinstance(value, str) or not value.strip():
        raise TemplateError(f"{source}: key {key} must be a non-empty string")
    try:
        unknown = _placeholders(value) - allowed
    except ValueError as exc:
        raise TemplateError(f"{source}: key {key} has a malformed placeholder: {exc}") from exc
    if unknown:
        raise TemplateError(
            f"{source}: key {key} uses unknown placeholder(s) {sorted(unknown)}; allowed: {sorted(allowed)}"
        )
    return value


def _grade_tables(
    table: Mapping[str, Any], where: str, source: str, complete: bool
) -> dict[str, dict[str, str]]:
    sizes = {c.value for c in SizeCategory} | {"default"}
    tables: dict[str, dict[str, str]] = {}
    for grade in SchizasGrade:
        sub = table.get(grade.value)
        if sub is None:
            if complete:
                raise TemplateError(f"{source}: table [{where}.{grade.value}] is missing")
            continue
        if not isinstance(sub, dict):
            raise TemplateError(f"{source}: [{where}.{grade.value}] must be a table")
        extra = set(sub) - sizes
        if extra:
            raise TemplateError(
                f"{source}: [{where}.{grade.value}] has unknown key(s) {sorted(extra)}; allowed: {sorted(sizes)}"
            )
        tables[grade.value] = {
            k: _checked_phrase(v, f"{where}.{grade.value}.{k}", source, PHRASE_PLACEHOLDERS)
            for k, v in sub.items()
        }
        if complete and "default" not in sub and not all(c.value in sub for c in SizeCategory):
            raise TemplateError(
                f"{source}: [{where}.{grade.value}] needs a 'default' phrase or one for every size "
                f"category ({', '.join(c.value for c in SizeCategory)})"
            )
    return tables


def parse_report_template(text: str, source: str = "<template>") -> ReportTemplate:
    """Validate a template given as TOML text; `source` names it in error messages."""
    try:
        doc = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise TemplateError(f"{source}: not valid TOML: {exc}") from exc
    meta = _require(doc, "template", "", source)
    try:
        level_style = LevelStyle(meta.get("level_style", "hyphen"))
    except ValueError as exc:
        raise TemplateError(
            f"{source}: template.level_style must be one of {[s.value for s in LevelStyle]}"
        ) from exc
    sizes = _require(doc, "size_categories", "", source)
    try:
        thresholds = SizeThresholds(
            **{
                k: float(_require(sizes, k, "size_categories", source))
                for k in (
                    "dsca_relative_below_mm2",
                    "dsca_absolute_below_mm2",
                    "ap_relative_below_mm",
                    "ap_absolute_below_mm",
                )
            }
        )
    except (TypeError, ValueError) as exc:
        raise TemplateError(f"{source}: size_categories values must be numbers: {exc}") from exc
    severity = _require(doc, "severity", "", source)
    measurements = _require(doc, "measurements", "", source)
    technique = _require(doc, "technique", "", source)
    canal = _require(doc, "canal", "", source)
    impression = _require(doc, "impression", "", source)
    attribution = _require(doc, "attribution", "", source)
    return ReportTemplate(
        name=str(_require(meta, "name", "template", source)),
        version=int(_require(meta, "version", "template", source)),
        source=source,
        sha256=hashlib.sha256(text.encode("utf-8")).hexdigest(),
        level_style=level_style,
        list_and=str(meta.get("list_and", "and")),
        thresholds=thresholds,
        severity={g.value: _phrase(severity, g.value, "severity", source, frozenset()) for g in SchizasGrade},
        measurements={
            "both": _phrase(measurements, "both", "measurements", source, MEASUREMENT_PLACEHOLDERS),
            "dsca_only": _phrase(measurements, "dsca_only", "measurements", source, MEASUREMENT_PLACEHOLDERS),
            "ap_only": _phrase(measurements, "ap_only", "measurements", source, MEASUREMENT_PLACEHOLDERS),
            "none": _phrase(measurements, "none", "measurements", source, frozenset()),
            "not_measured": _phrase(measurements, "not_measured", "measurements", source, frozenset()),
        },
        technique_text=_phrase(technique, "text", "technique", source, frozenset({"sequences"})),
        technique_no_study=_phrase(technique, "no_study", "technique", source, frozenset()),
        angled_axial_suffix=str(technique.get("angled_axial_suffix", "")),
        canal=_grade_tables(canal, "canal", source, complete=True),
        canal_not_assessed=_phrase(canal, "not_assessed", "canal", source, frozenset({"level"})),
        impression=_grade_tables(impression, "impression", source, complete=False),
        impression_none=_phrase(impression, "none", "impression", source, frozenset()),
        attribution=_phrase(
            attribution, "text", "attribution", source, frozenset({"engine_version", "model"})
        ),
    )


def load_report_template(path: str | os.PathLike[str] | None = None) -> ReportTemplate:
    """Load and validate a template: `path`, else $LSS_REPORT_TEMPLATE, else the default."""
    chosen = Path(path or os.environ.get(TEMPLATE_ENV_VAR) or DEFAULT_TEMPLATE_PATH)
    try:
        text = chosen.read_text(encoding="utf-8")
    except OSError as exc:
        raise TemplateError(f"{chosen}: cannot read the report template: {exc.strerror or exc}") from exc
    except UnicodeDecodeError as exc:
        raise TemplateError(f"{chosen}: the report template is not UTF-8 text") from exc
    return parse_report_template(text, source=str(chosen))
