"""A person's correction of the disc level labels (transitional anatomy: a lumbarised S1 or a
sacralised L5 shifts the count), applied to the labels and to everything named after them.

`override_level_labels` renames discs by {old label: new label}: the DiscLevel entries (marked
label_overridden), the findings measured at those discs and the warnings. The measurements stay
with their disc, since the axial slices were assigned to discs by geometry, not by name. Discs
whose new label is a lumbar level join the analysed levels; a lumbar disc renamed to a thoracic or
sixth-lumbar label keeps its finding. Re-running the model where a label entered the prompt, or
for a disc that had no finding, is `engine.analysis.relabel_study`.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import replace
from typing import overload

from engine.findings import DISC_LEVELS, DiscLevel, StudyFindings

# T12-L1, L5-S1, L5-L6, L6-S1, S1-S2 ...: two vertebra names joined by a hyphen.
_LABEL = re.compile(r"^(C|T|L|S)\d{1,2}-(C|T|L|S)\d{1,2}$")


class LevelLabelError(ValueError):
    """The relabelling is not possible (unknown old label, malformed or duplicate new label)."""


def _check_mapping(labels: Sequence[str], mapping: Mapping[str, str]) -> dict[str, str]:
    unknown = sorted(set(mapping) - set(labels))
    if unknown:
        raise LevelLabelError(f"no disc is labelled {', '.join(unknown)} (labels: {', '.join(labels)})")
    bad = sorted(new for new in mapping.values() if not _LABEL.match(new))
    if bad:
        raise LevelLabelError(
            f"not a disc level label: {', '.join(bad)} (expected e.g. L4-L5, T12-L1, L5-L6)"
        )
    renamed = [mapping.get(label, label) for label in labels]
    duplicates = sorted({label for label in renamed if renamed.count(label) > 1})
    if duplicates:
        raise LevelLabelError(f"after relabelling, two discs would be labelled {', '.join(duplicates)}")
    return {old: new for old, new in mapping.items() if old != new}


def _relabel_discs(discs: Sequence[DiscLevel], mapping: Mapping[str, str]) -> tuple[DiscLevel, ...]:
    return tuple(
        replace(d, label=mapping[d.label], label_overridden=True) if d.label in mapping else d for d in discs
    )


def _rename_in_text(text: str, mapping: Mapping[str, str]) -> str:
    if not mapping:
        return text
    pattern = re.compile("|".join(re.escape(old) for old in sorted(mapping, key=len, reverse=True)))
    return pattern.sub(lambda m: mapping[m.group(0)], text)


def _cranial_first(discs: Sequence[DiscLevel]) -> tuple[DiscLevel, ...]:
    return tuple(sorted(discs, key=lambda d: -d.centre_lps[2]))


@overload
def override_level_labels(findings: StudyFindings, mapping: Mapping[str, str]) -> StudyFindings: ...


@overload
def override_level_labels(
    findings: Sequence[DiscLevel], mapping: Mapping[str, str]
) -> tuple[DiscLevel, ...]: ...


def override_level_labels(
    findings: StudyFindings | Sequence[DiscLevel], mapping: Mapping[str, str]
) -> StudyFindings | tuple[DiscLevel, ...]:
    """Rename disc levels {old: new} in a StudyFindings (levels, other discs, findings, warnings)
    or in a sequence of DiscLevel; labels not in `mapping` stay. Renaming is simultaneous, so
    shifting every label by one is one call. Raises LevelLabelError naming what is wrong.
    """
    if not isinstance(findings, StudyFindings):
        discs = tuple(findings)
        return _relabel_discs(discs, _check_mapping([d.label for d in discs], mapping))
    all_discs = findings.levels + findings.other_discs
    changes = _check_mapping([d.label for d in all_discs], mapping)
    if not changes:
        return findings
    relabelled = _relabel_discs(all_discs, changes)
    with_finding = {f.level for f in findings.findings}
    analysed = {d.label for d in findings.levels}
    levels = [
        d
        for d, before in zip(relabelled, all_discs, strict=True)
        if before.label in analysed or before.label in with_finding or d.label in DISC_LEVELS
    ]
    others = [d for d in relabelled if d not in levels]
    note = "level labels changed by a person: " + ", ".join(f"{o} -> {n}" for o, n in changes.items())
    return replace(
        findings,
        levels=_cranial_first(levels),
        other_discs=_cranial_first(others),
        findings=tuple(
            replace(
                f,
                level=changes.get(f.level, f.level),
                warnings=tuple(_rename_in_text(w, changes) for w in f.warnings),
            )
            for f in findings.findings
        ),
        warnings=(*(_rename_in_text(w, changes) for w in findings.warnings), note),
    )
