"""Disc levels and central canal severity from free-text radiology reports.

Written for notes like "Diffuse disc bulge noted at L4/L5 level, mildly compressing the thecal sac
and both exit nerve roots." or "No significant thecal sac or nerve root compression noted."

How a report is read:
1. It is cut into statements at line breaks, "//" and sentence-ending full stops.
2. In each statement, disc levels are found in any common spelling (L4-L5, L4/L5, L4-5, L4_L5,
   L5/S 1, T12-L1; ranges "L3-S1" and "from L1-L2 to L5-S1" are expanded), and severity cues about
   the central canal only (compression of the thecal/dural sac, canal stenosis or narrowing, an
   adequate/patent canal, a disc abutting or indenting the sac), each with the degree word right
   before it (mildly, moderate, severely, largely, no, without...). Cues about nerve roots,
   foramina or exit canals are ignored.
3. Levels written side by side ("L3/L4 & L4/L5 levels") form a group; a group takes the cues
   between it and the next group (or, failing that, the nearest cue before it).
4. A level's severity is the most severe qualified cue over all its statements (a cue without a
   degree counts only when no statement gives one). A statement without a level ("No significant
   thecal sac compression") is about the whole study: when all such statements say "none", every
   level without a severity of its own gets "none" from it (source "study statement").
5. Severity maps to a Schizas grade by `engine.site_data.severity.grade_for_severity`; an explicit
   "Schizas B" wins. A stated dural sac area ("DSCA 77 mm2") is kept for the pseudo-masks.
"""

from __future__ import annotations

import itertools
import re
from dataclasses import dataclass

from engine.findings import DISC_LEVELS, SchizasGrade
from engine.site_data.severity import Severity, grade_for_severity

_LEVEL = re.compile(
    r"\b(?P<u>[LT])\s?(?P<un>\d{1,2})\s*(?:(?:[-/–_]\s*(?P<l>[LST])?\s?(?P<ln>\d{1,2}))|(?P<l2>[S])\s?(?P<ln2>\d))(?!\d)",
    re.IGNORECASE,
)
_RANGE_JOIN = re.compile(r"^\s*(?:to|through|till|until)\s*$", re.IGNORECASE)
_GROUP_JOIN = re.compile(r"^(?:[\s,&/()]|\band\b|\bor\b|\bat\b|\blevels?\b)*$", re.IGNORECASE)
_VERTEBRAE: tuple[str, ...] = ("T12", "L1", "L2", "L3", "L4", "L5", "S1")

_COMPRESS = r"(?:compr|cpmpr|comprs)\w*"
# "thecal" alone names the sac (notes write "thecal sca", "thecal cac", "compressing thecal and ...").
_SAC = r"(?:\bthecal(?:\s*s\w{0,2}\b|sac)?|\bdural\s+s\w{0,2}\b|\bcauda\s+equina|\bsac\b)"
_GAP = r"(?:[^\w,;:.]+[\w']+){0,6}?[^\w,;:.]+"  # up to six words within one clause
_CUE_PATTERNS: tuple[tuple[str, Severity | None, re.Pattern[str]], ...] = (
    ("sac compression", None, re.compile(rf"\b{_COMPRESS}{_GAP}{_SAC}", re.IGNORECASE)),
    ("sac compression", None, re.compile(rf"{_SAC}{_GAP}{_COMPRESS}", re.IGNORECASE)),
    (
        "sac contact",
        Severity.NONE,
        re.compile(rf"\b(?:abut|touch|contact)\w*{_GAP}{_SAC}", re.IGNORECASE),
    ),
    (
        "sac indentation",
        Severity.MILD,
        re.compile(rf"\b(?:indent|impress|imping)\w*{_GAP}{_SAC}", re.IGNORECASE),
    ),
    (
        "sac effacement",
        None,
        re.compile(rf"\b(?:effac|displac|deform|encroach)\w*{_GAP}{_SAC}", re.IGNORECASE),
    ),
    (
        "canal stenosis",
        None,
        re.compile(
            r"\b(?<!neural )(?<!exit )(?<!root )(?<!foraminal )(?<!lateral )(?:(?:spinal|central)\s+)*"
            r"canal\s+(?:stenosis|narrowing|compromise)"
            r"|\bspinal\s+stenosis|\bstenosis\s+of\s+the\s+(?:spinal|central)\s+canal"
            r"|\bnarrow(?:ed|ing)?\s+(?:of\s+the\s+)?(?:spinal|central)\s+canal"
            r"|\b(?:spinal|central)\s+canal\s+(?:is\s+)?(?:\w+ly\s+)?narrow(?:ed)?",
            re.IGNORECASE,
        ),
    ),
    (
        "canal adequate",
        Severity.NONE,
        re.compile(
            r"\bade?qu?a?u?te\s+(?:(?:spinal|central)\s+)?(?:canal|thecal\s+sac|dural\s+sac)"
            r"|\b(?:spinal|central)?\s*canal\s+(?:is\s+|appears?\s+|appeared\s+|remains\s+)?(?:still\s+)?"
            r"(?:ade?qu?a?u?te|patent|preserved|maintained)"
            r"|\bpatent\s+(?:(?:spinal|central)\s+)?canal",
            re.IGNORECASE,
        ),
    ),
)
_NEGATION = re.compile(r"\b(?:no|not|without|nor|free\s+of|absence\s+of)\b", re.IGNORECASE)
_DEGREES: tuple[tuple[Severity, re.Pattern[str]], ...] = (
    (
        Severity.SEVERE,
        re.compile(
            r"\b(?:sever|mark|larg|significant|critical|extrem|gross|tight|consider|high[\s-]grade)\w*",
            re.IGNORECASE,
        ),
    ),
    (Severity.MODERATE, re.compile(r"\bmoderat\w*", re.IGNORECASE)),
    (Severity.MILD, re.compile(r"\b(?:mild|slight|minim|minor|little|small)\w*", re.IGNORECASE)),
)
_EXTREME = re.compile(
    r"\bextreme|\bcomplete(?:ly)?\s+(?:effac|obliterat)|\bobliterat\w*"
    r"|\bno\s+(?:posterior\s+)?epidural\s+fat",
    re.IGNORECASE,
)
_SCHIZAS = re.compile(r"\bschizas\s*(?:grade\s*)?(?P<grade>[ABCD])(?:\d)?\b", re.IGNORECASE)
_AREA = re.compile(
    r"(?:area|dsca|cross[-\s]sectional)[^0-9\n]{0,40}?(?P<value>\d+(?:\.\d+)?)\s*mm\s*(?:²|2|\^2)",
    re.IGNORECASE,
)
# A statement without a subject continues the one before it ("Compressing the thecal sac").
_CONTINUATION = re.compile(
    r"^\W*(?:\w+ly\s+|mild\s+)?(?:compr|cpmpr|abut|indent|encroach|effac|causing|with)\w*", re.IGNORECASE
)
_ABBREVIATIONS = ("approx", "e.g", "i.e", "vs", "cf", "fig", "dr")
_CONTINUES = re.compile(r"^(?:compr\w*|the|of|and|with|at|to|upon|on|by|causing|mild\w*|severe\w*)$")


@dataclass(frozen=True)
class LevelMention:
    """A disc level as written: canonical label ("L4-L5", or "T12-L1" outside DISC_LEVELS), the text
    and its character span in the report; in_range: produced by expanding a range like "L3-S1"."""

    level: str
    text: str
    start: int
    end: int
    in_range: bool = False


@dataclass(frozen=True)
class SeverityCue:
    """One statement about the central canal: its kind ("sac compression", "canal stenosis", ...),
    the severity it states, the matched text and span, whether it marks an extreme (grade D) case."""

    kind: str
    severity: Severity
    text: str
    start: int
    end: int
    extreme: bool = False


@dataclass(frozen=True)
class ParsedLevel:
    """What the report says about one disc level.

    severity: None when the level is named without a canal statement; grade: the Schizas grade by
    the documented rule (None when the severity gives none); explicit_grade: a grade the report
    writes ("Schizas B"); stated_area_mm2: a dural sac area the report writes; source: "level
    statement" or "study statement" (a level-less "no compression" statement applied to it);
    evidence: the statements the answer rests on.
    """

    level: str
    severity: Severity | None
    grade: SchizasGrade | None
    explicit_grade: SchizasGrade | None
    stated_area_mm2: float | None
    source: str
    evidence: tuple[str, ...]


@dataclass(frozen=True)
class ParsedReport:
    """All the parser found in one report."""

    levels: tuple[ParsedLevel, ...]  # DISC_LEVELS order; only levels with something said about them
    mentions: tuple[LevelMention, ...]  # every level mention, in text order
    cues: tuple[SeverityCue, ...]  # every central canal cue, in text order
    study_severity: Severity | None  # combined level-less statements
    unparsed_level_texts: tuple[str, ...]  # things that look like a level but are not a disc level

    def level(self, name: str) -> ParsedLevel | None:
        return next((p for p in self.levels if p.level == name), None)


@dataclass(frozen=True)
class _Statement:
    text: str
    start: int


def split_statements(report: str) -> list[tuple[str, int]]:
    """(statement text, offset) at line breaks, '//' and sentence-ending full stops (not decimals or
    abbreviations such as 'approx.')."""
    cuts = [0]
    for match in re.finditer(r"\n|/{2,}|\.(?=\s|$)", report):
        word = re.search(r"([\w.]+)\s*$", report[cuts[-1] : match.start()])
        last = word.group(1).lower() if word else ""
        if match.group(0) == "." and last in _ABBREVIATIONS:
            continue
        if match.group(0) == "\n" and _CONTINUES.match(last):
            continue  # a line broken inside a phrase ("compressing\nthecal sac")
        cuts.append(match.end())
    cuts.append(len(report))
    out = []
    for start, end in itertools.pairwise(cuts):
        text = report[start:end]
        stripped = text.strip(" \t\r\n/.")
        if stripped:
            out.append((stripped, start + text.index(stripped)))
    return out


def _vertebra(letter: str, number: str) -> str | None:
    name = f"{letter.upper()}{int(number)}"
    return name if name in _VERTEBRAE else None


def _levels_between(upper: str, lower: str) -> list[str]:
    """Disc levels from the disc below `upper` to the disc above `lower` (vertebra names)."""
    i, j = _VERTEBRAE.index(upper), _VERTEBRAE.index(lower)
    return [f"{_VERTEBRAE[k]}-{_VERTEBRAE[k + 1]}" for k in range(i, j)] if j > i else []


def find_level_mentions(statement: str, offset: int = 0) -> tuple[list[LevelMention], list[str]]:
    """Level mentions in one statement (ranges expanded) and texts that look like levels but are not."""
    mentions: list[LevelMention] = []
    unparsed: list[str] = []
    for match in _LEVEL.finditer(statement):
        upper = _vertebra(match.group("u"), match.group("un"))
        lower_letter = match.group("l") or match.group("l2") or match.group("u")
        lower_number = match.group("ln") or match.group("ln2")
        lower = _vertebra(lower_letter, lower_number) if lower_number else None
        if upper is None or lower is None:
            unparsed.append(match.group(0))
            continue
        levels = _levels_between(upper, lower)
        if not levels:
            unparsed.append(match.group(0))
            continue
        for level in levels:
            mentions.append(
                LevelMention(
                    level, match.group(0), offset + match.start(), offset + match.end(), len(levels) > 1
                )
            )
    expanded: list[LevelMention] = []
    for mention in mentions:
        previous = expanded[-1] if expanded else None
        if previous is not None and _RANGE_JOIN.match(
            statement[previous.end - offset : mention.start - offset]
        ):
            for level in _levels_between(previous.level.split("-")[1], mention.level.split("-")[0]):
                expanded.append(LevelMention(level, "", previous.end, previous.end, True))
        expanded.append(mention)
    return expanded, unparsed


def _degree(window: str) -> Severity | None:
    """Severity word closest to the cue in the words before it (within its clause)."""
    if _NEGATION.search(window):
        return Severity.NONE
    best: tuple[int, Severity] | None = None
    for severity, pattern in _DEGREES:
        for match in pattern.finditer(window):
            if best is None or match.end() > best[0]:
                best = (match.end(), severity)
    return None if best is None else best[1]


def find_severity_cues(statement: str, offset: int = 0) -> list[SeverityCue]:
    """Central canal cues in one statement, with the degree read from the words before each."""
    found: list[tuple[int, int, str, Severity | None]] = []
    for kind, fixed, pattern in _CUE_PATTERNS:
        for match in pattern.finditer(statement):
            if any(start < match.end() and match.start() < end for start, end, _, _ in found):
                continue
            found.append((match.start(), match.end(), kind, fixed))
    cues = []
    extreme = bool(_EXTREME.search(statement))
    for start, end, kind, fixed in sorted(found):
        clause_start = max(statement.rfind(c, 0, start) for c in ",;:(") + 1
        window = " ".join(statement[clause_start:start].split()[-4:])
        inside = statement[start:end]
        degree = _degree(window) or _degree_inside(inside, kind)
        if fixed is Severity.NONE:
            severity = Severity.NONE
        elif degree is not None:
            severity = degree
        else:
            severity = fixed or Severity.UNQUALIFIED
        if kind == "sac effacement" and extreme and severity is Severity.UNQUALIFIED:
            severity = Severity.SEVERE
        cues.append(
            SeverityCue(
                kind,
                severity,
                inside,
                offset + start,
                offset + end,
                extreme and severity is Severity.SEVERE,
            )
        )
    return cues


def _degree_inside(text: str, kind: str) -> Severity | None:
    """Degree words inside a noun-first cue ("thecal sac significant compression") or a stenosis
    phrase read from its own words (the degree precedes 'canal' there)."""
    if kind not in ("sac compression", "canal stenosis"):
        return None
    return _degree(" ".join(text.split()[:-1]))


def _groups(statement_start: int, statement: str, mentions: list[LevelMention]) -> list[list[LevelMention]]:
    groups: list[list[LevelMention]] = []
    for mention in mentions:
        if groups:
            last = groups[-1][-1]
            between = statement[last.end - statement_start : mention.start - statement_start]
            if last.end >= mention.start or _GROUP_JOIN.match(between) or _RANGE_JOIN.match(between):
                groups[-1].append(mention)
                continue
        groups.append([mention])
    return groups


def _is_heading(text: str, mentions: list[LevelMention], offset: int) -> bool:
    """A statement that only names levels ("L4/L5 level :", "L3-L4, L4-L5:") heads the lines below it."""
    rest = text
    for mention in sorted(mentions, key=lambda m: -m.start):
        rest = rest[: mention.start - offset] + rest[mention.end - offset :]
    return text.rstrip().endswith(":") or not re.sub(r"(?i)\blevels?\b|and|[\W_]", "", rest)


def _combine(cues: list[SeverityCue]) -> SeverityCue | None:
    qualified = [c for c in cues if c.severity is not Severity.UNQUALIFIED]
    pool = qualified or cues
    return max(pool, key=lambda c: (c.severity.rank, c.extreme), default=None)


def parse_report(report: str) -> ParsedReport:
    """Parse one free-text report (see the module docstring)."""
    all_mentions: list[LevelMention] = []
    all_cues: list[SeverityCue] = []
    unparsed: list[str] = []
    per_level: dict[str, list[tuple[SeverityCue | None, str]]] = {}
    schizas: dict[str, SchizasGrade] = {}
    areas: dict[str, float] = {}
    study_cues: list[SeverityCue] = []
    heading: list[LevelMention] = []
    previous: list[LevelMention] = []  # levels of the last statement, when it had no cue
    for text, start in split_statements(report):
        mentions, bad = find_level_mentions(text, start)
        cues = find_severity_cues(text, start)
        all_mentions += mentions
        all_cues += cues
        unparsed += bad
        disc_mentions = [m for m in mentions if m.level in DISC_LEVELS]
        if not disc_mentions:
            # Lines under a heading ("L4/L5 level :"), or a statement continuing the one before it
            # ("...at L4-L5 and L5-S1 levels" / "Compressing the thecal sac"), are about those levels.
            targets = heading or (previous if _CONTINUATION.match(text) else [])
            for mention in targets:
                per_level.setdefault(mention.level, []).append((_combine(cues), text))
            if not targets:
                study_cues += cues
            previous = []
            continue
        heading = disc_mentions if not cues and _is_heading(text, mentions, start) else []
        previous = disc_mentions if not cues else []
        groups = _groups(start, text, disc_mentions)
        explicit = _SCHIZAS.search(text)
        area = _AREA.search(text)
        for index, group in enumerate(groups):
            end = group[-1].end
            next_start = groups[index + 1][0].start if index + 1 < len(groups) else start + len(text)
            after = [c for c in cues if end <= c.start < next_start]
            previous_end = groups[index - 1][-1].end if index else start
            before = [c for c in cues if previous_end <= c.start < group[0].start]
            chosen = _combine(after) or _combine(before[-1:])
            for mention in group:
                per_level.setdefault(mention.level, []).append((chosen, text))
                if explicit and len(groups) == 1:
                    schizas[mention.level] = SchizasGrade(explicit.group("grade").upper())
                if area and len(groups) == 1 and len(group) == 1:
                    areas[mention.level] = float(area.group("value"))
    study = _combine(study_cues)
    study_says_none = bool(study_cues) and all(c.severity is Severity.NONE for c in study_cues)
    levels = []
    for level in DISC_LEVELS:
        statements = per_level.get(level, [])
        cue = _combine([c for c, _ in statements if c is not None])
        evidence = tuple(dict.fromkeys(t for _, t in statements))
        source = "level statement"
        if cue is None and study_says_none:
            cue = study
            source = "study statement"
            evidence += tuple(dict.fromkeys(report[c.start : c.end] for c in study_cues))
        if cue is None and not statements and level not in schizas:
            continue
        severity = None if cue is None else cue.severity
        explicit_grade = schizas.get(level)
        grade = explicit_grade or (
            None if severity is None else grade_for_severity(severity, cue.extreme if cue else False)
        )
        levels.append(ParsedLevel(level, severity, grade, explicit_grade, areas.get(level), source, evidence))
    return ParsedReport(
        levels=tuple(levels),
        mentions=tuple(all_mentions),
        cues=tuple(all_cues),
        study_severity=None if study is None else study.severity,
        unparsed_level_texts=tuple(unparsed),
    )
