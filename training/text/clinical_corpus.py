"""The project's own clinical corpus for the prompt tokenizer: prompts, report phrases, site notes."""

from __future__ import annotations

import csv
from collections.abc import Iterator
from pathlib import Path

from engine.findings import DISC_LEVELS, SchizasGrade, Structure
from engine.prompt_vocabulary import prompt_vocabulary

# Sentences in the style of the structured reports the engine drafts (one per finding kind).
REPORT_PHRASES: tuple[str, ...] = (
    "No significant central canal stenosis at {level}.",
    "Moderate central canal stenosis at {level}, Schizas grade B.",
    "Severe central canal stenosis at {level}, Schizas grade C, with posterior epidural fat preserved.",
    "Extreme central canal stenosis at {level}, Schizas grade D, with no posterior epidural fat.",
    "Dural sac cross-sectional area at {level} measures {area} mm2.",
    "Anteroposterior diameter of the dural sac at {level} is {ap} mm.",
    "Diffuse disc bulge at {level} indenting the thecal sac.",
    "Broad-based disc protrusion at {level} narrowing the spinal canal.",
    "Facet joint hypertrophy and ligamentum flavum thickening at {level}.",
    "The intervertebral disc at {level} shows loss of T2 signal.",
    "Vertebral body heights are maintained; the spinal canal is of normal calibre.",
)


def structure_phrases() -> Iterator[str]:
    """Prompt texts and grade words the model is asked with."""
    for prompt in prompt_vocabulary():
        yield prompt.text
    for structure in Structure:
        yield f"segment the {structure.value}"
    for grade in SchizasGrade:
        yield f"Schizas grade {grade.value}: {grade.severity}"


def report_phrases() -> Iterator[str]:
    for template in REPORT_PHRASES:
        for index, level in enumerate(DISC_LEVELS):
            yield template.format(level=level, area=60 + 25 * index, ap=round(7.5 + index, 1))


def radiologist_notes(notes_csv: Path) -> Iterator[str]:
    """Free-text notes from a CSV with a 'clinicians_notes' (or 'note') column."""
    with notes_csv.open(newline="", encoding="utf-8") as handle:
        reader = csv.DictReader(handle)
        columns = reader.fieldnames or []
        column = next((c for c in ("clinicians_notes", "note", "notes", "report") if c in columns), None)
        if column is None:
            raise ValueError(
                f"{notes_csv}: no notes column (expected 'clinicians_notes' or 'note'), found {columns}"
            )
        for row in reader:
            text = (row.get(column) or "").strip()
            if text:
                yield text


def clinical_corpus(notes_csv: Path | None = None) -> list[str]:
    """All corpus lines: prompts and report phrases always, site notes when a CSV is given."""
    lines = [*structure_phrases(), *report_phrases()]
    if notes_csv is not None:
        lines.extend(radiologist_notes(notes_csv))
    return lines
