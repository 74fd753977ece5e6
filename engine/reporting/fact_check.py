"""Fact check of rewritten report text: every level, grade, number and severity word must survive.

A language model may rephrase a sentence but must not add, drop or change a fact. The checker
extracts facts from the source sentence (written from the findings) and from the rewrite, ties
each grade, number and severity word to the disc level it is said about (the nearest level named
before it in the same sentence, else the first one after it), and reports every difference.
It errs on the side of rejecting: a rewrite that merges or splits facts differently fails.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation

from engine.reporting.measurement_text import format_ap_diameter, format_dural_sac_area
from engine.reporting.model import Sentence

_VERTEBRA = r"(?:T1[0-2]|T[1-9]|L[1-6]|S[12])"
_LEVEL = re.compile(rf"\b({_VERTEBRA})\s*(?:-|/|–|—|\s+to\s+)\s*({_VERTEBRA}|\d{{1,2}})\b", re.IGNORECASE)
_GRADE = re.compile(r"\b(?:schizas\s+)?(?:grade|schizas)\s+([A-D])(?:[1-4])?\b", re.IGNORECASE)
_NUMBER = re.compile(
    r"(?<![A-Za-z0-9.])(\d+(?:\.\d+)?)\s*"
    r"(mm²|mm2|mm\^2|sq\.?\s*mm|square\s+millimet(?:re|er)s?|mm|millimet(?:re|er)s?|cm|%|per\s*cent)?",
    re.IGNORECASE,
)
_UNITS = {
    "mm²": "mm²",
    "mm2": "mm²",
    "mm^2": "mm²",
    "mm": "mm",
    "cm": "cm",
    "%": "%",
}
_SEVERITY = (
    ("none", r"\bno\s+significant\b|\bno\s+(?:\w+\s+){0,3}?(?:stenosis|compression|narrowing)\b"),
    ("none", r"\bwithout\s+(?:\w+\s+){0,3}?(?:stenosis|compression|narrowing)\b|\badequate\b"),
    ("mild", r"\b(?:mild|mildly|minimal|minimally|slight|slightly)\b"),
    ("relative", r"\brelative(?:ly)?\b"),
    ("moderate", r"\bmoderate(?:ly)?\b"),
    ("severe", r"\b(?:severe|severely|marked|markedly)\b"),
    ("extreme", r"\b(?:extreme|extremely|critical|critically)\b"),
)
_SEQUENCE = re.compile(r"\b(sagittal|axial|coronal|T1|T2|STIR)\b", re.IGNORECASE)
_SENTENCE_END = re.compile(r"(?<=[.!?])\s+(?=[A-Z(])|\n+")


def normalise_level(upper: str, lower: str) -> str:
    """Canonical level label: ("L4", "5") -> "L4-L5"; ("l5", "s1") -> "L5-S1"."""
    upper = upper.upper()
    lower = lower.upper()
    if lower.isdigit():
        lower = upper[0] + lower
    return f"{upper}-{lower}"


def _unit(raw: str | None) -> str:
    if not raw:
        return ""
    raw = raw.lower().replace(" ", "")
    if raw in _UNITS:
        return _UNITS[raw]
    if raw.startswith(("sq", "square")):
        return "mm²"
    if raw.startswith("millimet"):
        return "mm"
    return "%"


def _canonical_sequence(word: str) -> str:
    """Weightings upper case ("t2" -> "T2"), planes lower case ("Sagittal" -> "sagittal")."""
    return word.upper() if word.upper() in ("T1", "T2", "STIR") else word.lower()


@dataclass(frozen=True)
class Facts:
    """Facts in a text. `level` in each tuple is the level the fact is said about, or None."""

    levels: frozenset[str]
    grades: frozenset[tuple[str | None, str]]
    numbers: frozenset[tuple[str | None, Decimal, str]]  # (level, value, unit: "mm²", "mm", "" ...)
    severities: frozenset[tuple[str | None, str]]
    sequences: frozenset[str]  # planes and weightings named in a technique line: "sagittal", "T2"...


@dataclass(frozen=True)
class FactCheck:
    passed: bool
    problems: tuple[str, ...]  # one line per missing, extra or changed fact


def _attach(position: int, mentions: list[tuple[int, str]]) -> str | None:
    before = [level for p, level in mentions if p < position]
    if before:
        return before[-1]
    after = [level for p, level in mentions if p > position]
    return after[0] if after else None


def extract_facts(text: str) -> Facts:
    """Levels, Schizas grades, numbers with units and severity words found in `text`."""
    levels: set[str] = set()
    grades: set[tuple[str | None, str]] = set()
    numbers: set[tuple[str | None, Decimal, str]] = set()
    severities: set[tuple[str | None, str]] = set()
    sequences = {_canonical_sequence(m.group(1)) for m in _SEQUENCE.finditer(text)}
    for sentence in _SENTENCE_END.split(text):
        mentions = [(m.start(), normalise_level(m.group(1), m.group(2))) for m in _LEVEL.finditer(sentence)]
        levels.update(level for _, level in mentions)
        # Blank out levels and grades so their digits are not read as numbers.
        blanked = _LEVEL.sub(lambda m: " " * len(m.group(0)), sentence)
        for m in _GRADE.finditer(blanked):
            grades.add((_attach(m.start(), mentions), m.group(1).upper()))
        blanked = _GRADE.sub(lambda m: " " * len(m.group(0)), blanked)
        for m in _NUMBER.finditer(blanked):
            try:
                value = Decimal(m.group(1)).normalize()
            except InvalidOperation:
                continue
            numbers.add((_attach(m.start(), mentions), value, _unit(m.group(2))))
        lowered = blanked.lower()
        for category, pattern in _SEVERITY:
            for m in re.finditer(pattern, lowered):
                severities.add((_attach(m.start(), mentions), category))
    return Facts(
        frozenset(levels), frozenset(grades), frozenset(numbers), frozenset(severities), frozenset(sequences)
    )


def _where(level: str | None) -> str:
    return f" at {level}" if level else ""


def _number_text(value: Decimal, unit: str) -> str:
    return f"{value:f}{' ' + unit if unit else ''}"


def compare_facts(expected: Facts, found: Facts) -> tuple[str, ...]:
    """Every difference between the facts of a source and of its rewrite, as readable lines."""
    problems: list[str] = []
    problems += [f"level {lv} is missing" for lv in sorted(expected.levels - found.levels)]
    problems += [f"level {lv} was added" for lv in sorted(found.levels - expected.levels)]
    missing_grades = expected.grades - found.grades
    extra_grades = found.grades - expected.grades
    for level, grade in sorted(missing_grades, key=str):
        changed = sorted(g for lv, g in extra_grades if lv == level)
        if changed:
            problems.append(f"grade{_where(level)} changed from {grade} to {', '.join(changed)}")
        else:
            problems.append(f"grade {grade}{_where(level)} is missing")
    changed_levels = {lv for lv, _ in missing_grades}
    problems += [
        f"grade {g}{_where(lv)} was added"
        for lv, g in sorted(extra_grades, key=str)
        if lv not in changed_levels
    ]
    missing_numbers = expected.numbers - found.numbers
    extra_numbers = found.numbers - expected.numbers
    for level, value, unit in sorted(missing_numbers, key=str):
        replacement = sorted(_number_text(v, u) for lv, v, u in extra_numbers if lv == level and u == unit)
        if replacement:
            problems.append(
                f"number{_where(level)} changed from {_number_text(value, unit)} to {', '.join(replacement)}"
            )
        else:
            problems.append(f"number {_number_text(value, unit)}{_where(level)} is missing")
    replaced = {(lv, u) for lv, _, u in missing_numbers}
    problems += [
        f"number {_number_text(v, u)}{_where(lv)} was added"
        for lv, v, u in sorted(extra_numbers, key=str)
        if (lv, u) not in replaced
    ]
    problems += [
        f"severity '{s}'{_where(lv)} is missing"
        for lv, s in sorted(expected.severities - found.severities, key=str)
    ]
    problems += [
        f"severity '{s}'{_where(lv)} was added"
        for lv, s in sorted(found.severities - expected.severities, key=str)
    ]
    problems += [f"'{q}' is missing" for q in sorted(expected.sequences - found.sequences)]
    problems += [f"'{q}' was added" for q in sorted(found.sequences - expected.sequences)]
    return tuple(problems)


def readability_problems(source: str, rewrite: str) -> tuple[str, ...]:
    """A rewrite must be plain readable text of about the source's length."""
    text = rewrite.strip()
    if not text:
        return ("the rewrite is empty",)
    problems = []
    if "\ufffd" in text or any(not (ch.isprintable() or ch.isspace()) for ch in text):
        problems.append("the rewrite contains unreadable characters")
    letters = sum(ch.isalpha() or ch.isspace() for ch in text)
    if letters < 0.6 * len(text):
        problems.append("the rewrite is mostly not words")
    if not 0.5 <= len(text) / max(len(source.strip()), 1) <= 2.0:
        problems.append(f"the rewrite is {len(text)} characters long, the source {len(source.strip())}")
    return tuple(problems)


def contradictions_with_findings(sentence: Sentence, facts: Facts) -> tuple[str, ...]:
    """Facts of the sentence's evidence (the findings) that its own text states differently."""
    e = sentence.evidence
    level = sentence.level
    if e is None or level is None:
        return ()
    problems = []
    stated_grades = {g for lv, g in facts.grades if lv == level}
    if e.grade is not None and stated_grades and stated_grades != {e.grade.value}:
        problems.append(
            f"grade at {level}: the findings say {e.grade.value}, the text says {sorted(stated_grades)}"
        )
    for value, fmt, unit, name in (
        (e.dural_sac_area_mm2, format_dural_sac_area, "mm²", "dural sac area"),
        (e.ap_diameter_mm, format_ap_diameter, "mm", "AP diameter"),
    ):
        stated = {v for lv, v, u in facts.numbers if lv == level and u == unit}
        if value is not None and stated and Decimal(fmt(value)).normalize() not in stated:
            problems.append(
                f"{name} at {level}: the findings say {fmt(value)} {unit}, the text says otherwise"
            )
    return tuple(problems)


def fact_check_rewrite(source: Sentence, rewrite: str) -> FactCheck:
    """Check a rewrite of `source` against the source's facts and the findings it was drafted from."""
    expected = extract_facts(source.text)
    found = extract_facts(rewrite)
    problems = (
        readability_problems(source.text, rewrite)
        + compare_facts(expected, found)
        + contradictions_with_findings(source, found)
    )
    return FactCheck(passed=not problems, problems=problems)


def fact_check_text(source_text: str, rewrite: str) -> FactCheck:
    """Check a rewrite of free text (e.g. a whole section) against the source text's facts."""
    problems = readability_problems(source_text, rewrite) + compare_facts(
        extract_facts(source_text), extract_facts(rewrite)
    )
    return FactCheck(passed=not problems, problems=problems)
