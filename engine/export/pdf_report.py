"""The report as a PDF (reportlab): header, findings table, text, key images, impression, signature.

Every page carries the intended-use statement, the software and model versions and "Page X of Y".
A report that is not final carries a "DRAFT — not signed" banner and a diagonal watermark on
every page, and marks sentences that no person has reviewed yet. Text uses DejaVu Sans (the
system copy, else the one shipped in resources/fonts) because Helvetica lacks ² and ≥.
The file is written atomically.
"""

from __future__ import annotations

import hashlib
import io
import os
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from xml.sax.saxutils import escape

from reportlab.lib import colors
from reportlab.lib.enums import TA_CENTER, TA_RIGHT
from reportlab.lib.pagesizes import A4
from reportlab.lib.styles import ParagraphStyle
from reportlab.lib.units import mm
from reportlab.pdfbase import pdfmetrics
from reportlab.pdfbase.ttfonts import TTFont
from reportlab.pdfgen.canvas import Canvas
from reportlab.platypus import (
    Flowable,
    Image,
    KeepTogether,
    Paragraph,
    SimpleDocTemplate,
    Spacer,
    Table,
    TableStyle,
)

from engine import INTENDED_USE, __version__
from engine.atomic_file import write_bytes_atomically
from engine.export.key_images import (
    OVERLAY_PERSON_RGB,
    OVERLAY_SOFTWARE_RGB,
    KeyImage,
    key_images_for_findings,
)
from engine.findings import Provenance, StudyFindings
from engine.reporting.measurement_text import (
    AREA_UNIT,
    format_ap_diameter,
    format_confidence,
    format_dural_sac_area,
)
from engine.reporting.model import ReportDraft, Sentence, SentenceProvenance
from engine.reporting.sign_off import Addendum, ReportStatus, SignOff
from engine.reporting.template import SizeThresholds
from engine.storage.report_store import ReportIntegrityError, ReportStore
from engine.study.model import PatientInfo, Study

FONT_DIRS = (
    Path("/usr/share/fonts/truetype/dejavu"),
    Path(__file__).resolve().parents[2] / "resources" / "fonts",
)
FONT_FILES = {"regular": "DejaVuSans.ttf", "bold": "DejaVuSans-Bold.ttf", "italic": "DejaVuSans-Oblique.ttf"}
FONT_NAMES = {"regular": "LSS-DejaVuSans", "bold": "LSS-DejaVuSans-Bold", "italic": "LSS-DejaVuSans-Oblique"}
LOW_CONFIDENCE = 0.6  # below this a level is flagged for a closer look
DRAFT_WATERMARK = "DRAFT — not signed"
COMPROMISED_WATERMARK = "COMPROMISED — do not use"

INK = colors.HexColor("#1b1f24")
MUTED = colors.HexColor("#5b6470")
RULE = colors.HexColor("#c9ced6")
DRAFT_RED = colors.HexColor("#b3261e")
FINAL_GREEN = colors.HexColor("#1e6b3a")
GRADE_TINT = {
    "A": colors.HexColor("#e8f3ea"),
    "B": colors.HexColor("#fff3d6"),
    "C": colors.HexColor("#fde0cc"),
    "D": colors.HexColor("#f9d0d0"),
}


class PdfFontError(RuntimeError):
    """DejaVu Sans was found neither on the system nor in resources/fonts."""


def _table(rows: list[list[Any]], **kwargs: Any) -> Table:
    """A platypus Table whose plain-string cells use DejaVu too (the default is Helvetica)."""
    table = Table(rows, **kwargs)
    table.setStyle(TableStyle([("FONTNAME", (0, 0), (-1, -1), FONT_NAMES["regular"])]))
    return table


def register_report_fonts() -> dict[str, str]:
    """Register DejaVu Sans (regular, bold, italic) once; returns the reportlab font names."""
    if FONT_NAMES["regular"] in pdfmetrics.getRegisteredFontNames():
        return FONT_NAMES
    for style, filename in FONT_FILES.items():
        path = next((d / filename for d in FONT_DIRS if (d / filename).is_file()), None)
        if path is None:
            raise PdfFontError(f"{filename} not found in {', '.join(str(d) for d in FONT_DIRS)}")
        pdfmetrics.registerFont(TTFont(FONT_NAMES[style], str(path)))
    pdfmetrics.registerFontFamily(
        FONT_NAMES["regular"],
        normal=FONT_NAMES["regular"],
        bold=FONT_NAMES["bold"],
        italic=FONT_NAMES["italic"],
        boldItalic=FONT_NAMES["bold"],
    )
    return FONT_NAMES


@dataclass(frozen=True)
class PdfReportInput:
    """Everything the PDF shows. `study` gives the header (None: header from the draft only)."""

    draft: ReportDraft
    findings: StudyFindings
    study: Study | None
    status: ReportStatus
    final_sign_off: SignOff | None = None
    addenda: tuple[Addendum, ...] = ()
    key_images: tuple[KeyImage, ...] = ()
    missing_key_images: tuple[str, ...] = ()
    thresholds: SizeThresholds | None = None
    integrity_problems: tuple[str, ...] = ()  # a compromised stored report is printed as such


def _styles(fonts: dict[str, str]) -> dict[str, ParagraphStyle]:
    base = ParagraphStyle("body", fontName=fonts["regular"], fontSize=9.5, leading=13, textColor=INK)
    return {
        "body": base,
        "title": ParagraphStyle("title", parent=base, fontName=fonts["bold"], fontSize=15, leading=19),
        "subtitle": ParagraphStyle("subtitle", parent=base, fontSize=9, textColor=MUTED),
        "h2": ParagraphStyle(
            "h2", parent=base, fontName=fonts["bold"], fontSize=11, leading=14, spaceBefore=9, spaceAfter=4
        ),
        "small": ParagraphStyle("small", parent=base, fontSize=7.8, leading=10, textColor=MUTED),
        "cell": ParagraphStyle("cell", parent=base, fontSize=8.6, leading=11),
        "cell_head": ParagraphStyle(
            "cell_head", parent=base, fontName=fonts["bold"], fontSize=8.2, leading=10.5
        ),
        "number": ParagraphStyle("number", parent=base, fontSize=8.6, leading=11, alignment=TA_RIGHT),
        "cell_head_number": ParagraphStyle(
            "cell_head_number",
            parent=base,
            fontName=fonts["bold"],
            fontSize=8.2,
            leading=10.5,
            alignment=TA_RIGHT,
        ),
        "sentence": ParagraphStyle("sentence", parent=base, spaceAfter=2.5),
        "label": ParagraphStyle("label", parent=base, fontSize=7.5, leading=9.5, textColor=MUTED),
        "value": ParagraphStyle("value", parent=base, fontName=fonts["bold"], fontSize=9.5, leading=12),
        "caption": ParagraphStyle("caption", parent=base, fontSize=8, leading=10, alignment=TA_CENTER),
        "banner": ParagraphStyle(
            "banner", parent=base, fontName=fonts["bold"], fontSize=10, leading=13, textColor=DRAFT_RED
        ),
        "alert": ParagraphStyle("alert", parent=base, textColor=DRAFT_RED),
    }


def format_person_name(dicom_pn: str) -> str:
    """DICOM PN "Doe^Jane^^Dr" -> "Doe, Jane"."""
    parts = [p.strip() for p in dicom_pn.split("^")]
    family, given = [*parts, "", ""][:2]
    return f"{family}, {given}" if family and given else family or given


def format_dicom_date(da: str) -> str:
    """DICOM DA "19580312" -> "1958-03-12"; anything else unchanged."""
    return f"{da[:4]}-{da[4:6]}-{da[6:8]}" if len(da) == 8 and da.isdigit() else da


def format_utc_timestamp(iso_utc: str) -> str:
    """ISO UTC "2026-11-28T09:14:03.512Z" -> "2026-11-28 09:14 UTC"; anything else unchanged."""
    if len(iso_utc) >= 16 and iso_utc[10] == "T" and iso_utc.endswith("Z"):
        return f"{iso_utc[:10]} {iso_utc[11:16]} UTC"
    return iso_utc


def _model_line(p: Provenance | None) -> str:
    if p is None:
        return f"LSS Desktop {__version__} · model: unknown"
    return (
        f"LSS Desktop {__version__} · model {p.model_name} {p.model_version} (sha256 {p.model_sha256[:12]})"
    )


def _header_table(data: PdfReportInput, s: dict[str, ParagraphStyle]) -> Table:
    study = data.study
    patient = study.patient if study is not None else PatientInfo()

    def cell(label: str, value: str) -> list[Paragraph]:
        return [Paragraph(escape(label), s["label"]), Paragraph(escape(value or "—"), s["value"])]

    rows = [
        [
            cell("Patient", format_person_name(patient.name)),
            cell("Patient ID", patient.patient_id),
            cell("Birth date", format_dicom_date(patient.birth_date)),
            cell("Sex", patient.sex),
        ],
        [
            cell("Study date", format_dicom_date(study.study_date) if study else ""),
            cell("Accession", study.accession_number if study else ""),
            cell("Description", study.description if study else ""),
            cell(
                "Report status",
                data.status.value.capitalize() + (" — compromised" if data.integrity_problems else ""),
            ),
        ],
    ]
    table = _table(rows, colWidths=[50 * mm, 48 * mm, 52 * mm, 30 * mm])
    table.setStyle(
        TableStyle(
            [
                ("VALIGN", (0, 0), (-1, -1), "TOP"),
                ("BOX", (0, 0), (-1, -1), 0.6, RULE),
                ("LINEBELOW", (0, 0), (-1, 0), 0.4, RULE),
                ("BACKGROUND", (0, 0), (-1, -1), colors.HexColor("#f6f7f9")),
                ("TOPPADDING", (0, 0), (-1, -1), 4),
                ("BOTTOMPADDING", (0, 0), (-1, -1), 5),
            ]
        )
    )
    return table


def _flags(data: PdfReportInput, level: str) -> list[str]:
    f = data.findings.finding_for(level)
    flags: list[str] = [] if f is None else list(f.warnings)
    if f is not None and f.confidence < LOW_CONFIDENCE:
        flags.append("low confidence")
    if f is not None and f.measured_on_edited_mask:
        flags.append("mask edited by a person")
    disc = next((d for d in data.findings.levels if d.label == level), None)
    if disc is not None and disc.label_overridden:
        flags.append("level label set by a person")
    return flags


def _findings_table(data: PdfReportInput, s: dict[str, ParagraphStyle]) -> Table:
    head = ["Level", "Schizas grade", "Confidence", f"DSCA ({AREA_UNIT})", "AP (mm)", "Flags"]
    rows: list[list[Any]] = [
        [Paragraph(h, s["cell_head_number"] if 2 <= i <= 4 else s["cell_head"]) for i, h in enumerate(head)]
    ]
    style: list[tuple[Any, ...]] = [
        ("LINEBELOW", (0, 0), (-1, 0), 0.8, INK),
        ("LINEBELOW", (0, 1), (-1, -1), 0.3, RULE),
        ("VALIGN", (0, 0), (-1, -1), "MIDDLE"),
        ("TOPPADDING", (0, 0), (-1, -1), 3),
        ("BOTTOMPADDING", (0, 0), (-1, -1), 3),
    ]
    levels = [sentence.level for sentence in data.draft.findings if sentence.level and sentence.evidence]
    for level in dict.fromkeys(levels):
        f = data.findings.finding_for(level)
        if f is None:
            rows.append([Paragraph(level, s["cell"]), Paragraph("not assessed", s["cell"]), "", "", "", ""])
            continue
        area = "—" if f.dural_sac_area_mm2 is None else format_dural_sac_area(f.dural_sac_area_mm2)
        ap = "—" if f.ap_diameter_mm is None else format_ap_diameter(f.ap_diameter_mm)
        rows.append(
            [
                Paragraph(f"<b>{escape(level)}</b>", s["cell"]),
                Paragraph(f"{f.grade.value} — {f.grade.severity}", s["cell"]),
                Paragraph(format_confidence(f.confidence), s["number"]),
                Paragraph(area, s["number"]),
                Paragraph(ap, s["number"]),
                Paragraph(escape("; ".join(_flags(data, level))) or "—", s["cell"]),
            ]
        )
        style.append(("BACKGROUND", (1, len(rows) - 1), (1, len(rows) - 1), GRADE_TINT[f.grade.value]))
    table = _table(rows, colWidths=[16 * mm, 40 * mm, 23 * mm, 21 * mm, 17 * mm, 63 * mm], repeatRows=1)
    table.setStyle(TableStyle(style))
    return table


def _threshold_note(thresholds: SizeThresholds | None) -> str:
    if thresholds is None:
        return ""
    t = thresholds
    return (
        f"Reference ranges: dural sac cross-sectional area (DSCA) ≥ {t.dsca_relative_below_mm2:g} {AREA_UNIT} "
        f"normal, {t.dsca_absolute_below_mm2:g}–{t.dsca_relative_below_mm2:g} {AREA_UNIT} relative, "
        f"&lt; {t.dsca_absolute_below_mm2:g} {AREA_UNIT} absolute stenosis; AP canal diameter "
        f"≥ {t.ap_relative_below_mm:g} mm normal, &lt; {t.ap_absolute_below_mm:g} mm absolute stenosis. "
        "Schizas grades: A none/minimal, B moderate, C severe, D extreme."
    )


def _sentence_paragraph(sentence: Sentence, s: dict[str, ParagraphStyle], final: bool) -> Paragraph:
    """A report sentence; in a report that is not final, tagged with who stands behind it."""
    text = escape(sentence.text)
    style = s["sentence"]
    if final:
        return Paragraph(text, style)
    if sentence.stale_reason is not None:
        tag = f"possibly stale: {sentence.stale_reason}"
        return Paragraph(f"{text} <font color='#b3261e' size='7.5'>[{escape(tag)}]</font>", style)
    if sentence.provenance is SentenceProvenance.AI_DRAFTED:
        return Paragraph(
            f"<i>{text}</i> <font color='#5b6470' size='7.5'>[AI-drafted, not reviewed]</font>", style
        )
    verb = {
        SentenceProvenance.ACCEPTED_BY_PERSON: "accepted",
        SentenceProvenance.EDITED_BY_PERSON: "edited",
        SentenceProvenance.WRITTEN_BY_PERSON: "written",
    }[sentence.provenance]
    tag = f"{verb} by {sentence.person}" if sentence.person else verb
    return Paragraph(f"{text} <font color='#5b6470' size='7.5'>[{escape(tag)}]</font>", style)


def _key_image_grid(data: PdfReportInput, s: dict[str, ParagraphStyle]) -> list[Flowable]:
    if not data.key_images and not data.missing_key_images:
        return []
    heading = Paragraph("Key images", s["h2"])
    out: list[Flowable] = []
    cell_mm = 56.0
    cells: list[Any] = []
    for k in data.key_images:
        picture = Image(io.BytesIO(k.png), width=cell_mm * mm, height=cell_mm * mm)
        where = f"{k.series_description or 'axial'}, image {k.instance_number}" if k.instance_number else ""
        caption = Paragraph(
            f"<b>{escape(k.caption)}</b><br/><font color='#5b6470'>{escape(where)}</font>", s["caption"]
        )
        cells.append([picture, caption])
    grid_rows = [cells[i : i + 3] for i in range(0, len(cells), 3)]
    if grid_rows:
        grid_rows[-1] += [""] * (3 - len(grid_rows[-1]))
        grid = _table(grid_rows, colWidths=[(cell_mm + 4) * mm] * 3)
        grid.setStyle(
            TableStyle(
                [
                    ("VALIGN", (0, 0), (-1, -1), "TOP"),
                    ("ALIGN", (0, 0), (-1, -1), "CENTER"),
                    ("BOTTOMPADDING", (0, 0), (-1, -1), 6),
                ]
            )
        )
        out.append(
            KeepTogether([heading, grid, _legend(s, any(k.mask_edited_by_person for k in data.key_images))])
        )
    else:
        out.append(heading)
    for line in data.missing_key_images:
        out.append(Paragraph(f"No key image for {escape(line)}", s["small"]))
    return out


def _legend(s: dict[str, ParagraphStyle], person_edited: bool) -> Table:
    def swatch(rgb: tuple[int, int, int]) -> Table:
        box = _table([[""]], colWidths=[4 * mm], rowHeights=[4 * mm])
        box.setStyle(TableStyle([("BACKGROUND", (0, 0), (0, 0), colors.Color(*(c / 255 for c in rgb)))]))
        return box

    items: list[Any] = [
        swatch(OVERLAY_SOFTWARE_RGB),
        Paragraph("Dural sac mask drawn by the software", s["small"]),
    ]
    widths = [6 * mm, 62 * mm]
    if person_edited:
        items += [swatch(OVERLAY_PERSON_RGB), Paragraph("Dural sac mask edited by a person", s["small"])]
        widths += [6 * mm, 58 * mm]
    items.append(Paragraph("Bar: 10 mm. Letters: patient directions (R/L, A/P).", s["small"]))
    widths.append(180 * mm - sum(w for w in widths))
    legend = _table([items], colWidths=widths)
    legend.setStyle(
        TableStyle([("VALIGN", (0, 0), (-1, -1), "MIDDLE"), ("LEFTPADDING", (0, 0), (-1, -1), 2)])
    )
    return legend


def _signature_block(data: PdfReportInput, s: dict[str, ParagraphStyle]) -> Flowable:
    sign = data.final_sign_off
    if sign is not None and data.status is ReportStatus.FINAL:
        rows = [
            [
                Paragraph("Electronically signed by", s["label"]),
                Paragraph(escape(sign.radiologist), s["value"]),
            ],
            [
                Paragraph("Signed", s["label"]),
                Paragraph(escape(format_utc_timestamp(sign.signed_utc)), s["cell"]),
            ],
            [Paragraph("Attestation", s["label"]), Paragraph(escape(sign.attestation), s["cell"])],
            [Paragraph("Content sha256", s["label"]), Paragraph(sign.content_sha256, s["small"])],
        ]
        border = FINAL_GREEN
    else:
        rows = [
            [
                Paragraph("Status", s["label"]),
                Paragraph(f"{data.status.value.capitalize()} — not signed", s["banner"]),
            ],
            [Paragraph("Radiologist", s["label"]), Paragraph("", s["cell"])],
            [Paragraph("Date", s["label"]), Paragraph("", s["cell"])],
        ]
        border = DRAFT_RED
    table = _table(rows, colWidths=[40 * mm, 140 * mm])
    table.setStyle(
        TableStyle(
            [
                ("BOX", (0, 0), (-1, -1), 0.9, border),
                ("VALIGN", (0, 0), (-1, -1), "TOP"),
                ("LINEBELOW", (1, 1), (1, -1), 0.3, RULE),
                ("TOPPADDING", (0, 0), (-1, -1), 4),
                ("BOTTOMPADDING", (0, 0), (-1, -1), 5),
            ]
        )
    )
    return KeepTogether([Paragraph("Signature", s["h2"]), table])


def build_report_story(data: PdfReportInput, fonts: dict[str, str]) -> list[Flowable]:
    s = _styles(fonts)
    final = data.status is ReportStatus.FINAL and data.final_sign_off is not None
    story: list[Flowable] = [
        Paragraph("MRI Lumbar Spine — Central Canal Report", s["title"]),
        Paragraph(
            escape(f"Study {data.draft.study_instance_uid} · template {data.draft.template_name}"),
            s["subtitle"],
        ),
        Spacer(1, 4 * mm),
        _header_table(data, s),
        Spacer(1, 3 * mm),
    ]
    if data.integrity_problems:
        story.append(
            _boxed(
                Paragraph(
                    "<b>COMPROMISED REPORT — do not use.</b> The integrity check of the stored report "
                    "failed: " + escape("; ".join(data.integrity_problems)),
                    s["alert"],
                ),
                DRAFT_RED,
            )
        )
    if not final:
        story.append(
            _boxed(
                Paragraph(
                    f"{DRAFT_WATERMARK.upper()}. Software-drafted findings awaiting review and signature by "
                    "a radiologist. Sentences in italics have not been reviewed yet. Not for clinical decisions.",
                    s["banner"],
                ),
                DRAFT_RED,
            )
        )
    story += [
        Paragraph("Technique", s["h2"]),
        *(_sentence_paragraph(x, s, final) for x in data.draft.technique),
    ]
    story.append(Paragraph("Findings", s["h2"]))
    story += [_sentence_paragraph(x, s, final) for x in data.draft.findings]
    story += [Spacer(1, 2 * mm), _findings_table(data, s)]
    note = _threshold_note(data.thresholds)
    if note:
        story += [Spacer(1, 1.5 * mm), Paragraph(note, s["small"])]
    story.append(Paragraph("Impression", s["h2"]))
    story += [_numbered(i, x, s, final) for i, x in enumerate(data.draft.impression, start=1)]
    story += _key_image_grid(data, s)
    story += [Spacer(1, 3 * mm), _signature_block(data, s), Spacer(1, 3 * mm)]
    if data.addenda:
        story.append(Paragraph("Addenda (after signature)", s["h2"]))
        for a in data.addenda:
            when = format_utc_timestamp(a.created_utc)
            story.append(
                Paragraph(f"<b>{escape(when)} — {escape(a.author)}:</b> {escape(a.text)}", s["sentence"])
            )
    story.append(Paragraph(escape(data.draft.attribution), s["small"]))
    return story


def _numbered(index: int, sentence: Sentence, s: dict[str, ParagraphStyle], final: bool) -> Table:
    number = Paragraph(f"<b>{index}.</b>", s["body"])
    table = _table([[number, _sentence_paragraph(sentence, s, final)]], colWidths=[7 * mm, 173 * mm])
    table.setStyle(TableStyle([("VALIGN", (0, 0), (-1, -1), "TOP"), ("LEFTPADDING", (0, 0), (-1, -1), 0)]))
    return table


def _boxed(content: Flowable, colour: colors.Color) -> Table:
    table = _table([[content]], colWidths=[180 * mm])
    table.setStyle(
        TableStyle(
            [
                ("BOX", (0, 0), (-1, -1), 1.0, colour),
                ("BACKGROUND", (0, 0), (-1, -1), colors.HexColor("#fdf1f0")),
                ("TOPPADDING", (0, 0), (-1, -1), 5),
                ("BOTTOMPADDING", (0, 0), (-1, -1), 6),
            ]
        )
    )
    return table


def _page_decorations(data: PdfReportInput, fonts: dict[str, str]) -> type[Canvas]:
    """A canvas class that draws header, footer, watermark and "Page X of Y" on every page."""
    final = data.status is ReportStatus.FINAL and data.final_sign_off is not None
    compromised = bool(data.integrity_problems)
    watermark = COMPROMISED_WATERMARK if compromised else DRAFT_WATERMARK
    model_line = _model_line(data.findings.provenance or data.draft.findings_provenance)
    width, height = A4

    class ReportCanvas(Canvas):
        def __init__(self, *args: Any, **kwargs: Any) -> None:
            # No Helvetica anywhere: it lacks ², ≥ and →.
            super().__init__(*args, **{**kwargs, "initialFontName": fonts["regular"]})
            self._pages: list[dict[str, Any]] = []

        def showPage(self) -> None:
            self._pages.append(dict(self.__dict__))
            self._startPage()

        def save(self) -> None:
            total = len(self._pages)
            for number, state in enumerate(self._pages, start=1):
                self.__dict__.update(state)
                self._decorate(number, total)
                super().showPage()
            super().save()

        def _decorate(self, number: int, total: int) -> None:
            self.saveState()
            if compromised or not final:
                # As large as fits along the page diagonal (A4: about 1030 pt), at most 54 pt.
                diagonal = (width**2 + height**2) ** 0.5
                size = min(54.0, 0.75 * diagonal / pdfmetrics.stringWidth(watermark, fonts["bold"], 1.0))
                self.setFont(fonts["bold"], size)
                self.setFillColor(colors.Color(0.70, 0.15, 0.12, alpha=0.10))
                self.translate(width / 2, height / 2)
                self.rotate(50)
                self.drawCentredString(0, 0, watermark)
                self.rotate(-50)
                self.translate(-width / 2, -height / 2)
            self.setFillColor(MUTED)
            self.setFont(fonts["regular"], 7.5)
            self.drawString(15 * mm, height - 10 * mm, "LSS Desktop · lumbar spinal stenosis report")
            status = (
                COMPROMISED_WATERMARK.upper()
                if compromised
                else "FINAL — signed"
                if final
                else DRAFT_WATERMARK.upper()
            )
            self.setFillColor(FINAL_GREEN if final and not compromised else DRAFT_RED)
            self.setFont(fonts["bold"], 7.5)
            self.drawRightString(width - 15 * mm, height - 10 * mm, status)
            self.setStrokeColor(RULE)
            self.setLineWidth(0.5)
            self.line(15 * mm, height - 11.5 * mm, width - 15 * mm, height - 11.5 * mm)
            self.line(15 * mm, 17 * mm, width - 15 * mm, 17 * mm)
            self.setFillColor(MUTED)
            self.setFont(fonts["regular"], 6.8)
            text = self.beginText(15 * mm, 13.5 * mm)
            for line in _wrap(f"Intended use: {INTENDED_USE}", fonts["regular"], 6.8, width - 60 * mm):
                text.textLine(line)
            text.textLine(model_line)
            self.drawText(text)
            self.setFont(fonts["bold"], 7.5)
            self.setFillColor(INK)
            self.drawRightString(width - 15 * mm, 13.5 * mm, f"Page {number} of {total}")
            self.restoreState()

    return ReportCanvas


def _wrap(text: str, font: str, size: float, max_width: float) -> list[str]:
    lines: list[str] = []
    current = ""
    for word in text.split():
        trial = f"{current} {word}".strip()
        if pdfmetrics.stringWidth(trial, font, size) <= max_width or not current:
            current = trial
        else:
            lines.append(current)
            current = word
    return [*lines, current] if current else lines


def render_report_pdf(data: PdfReportInput) -> bytes:
    """The PDF as bytes."""
    fonts = register_report_fonts()
    buffer = io.BytesIO()
    doc = SimpleDocTemplate(
        buffer,
        pagesize=A4,
        leftMargin=15 * mm,
        rightMargin=15 * mm,
        topMargin=17 * mm,
        bottomMargin=22 * mm,
        title="MRI lumbar spine report",
        author=data.final_sign_off.radiologist if data.final_sign_off else "LSS Desktop (draft)",
        subject=f"Study {data.draft.study_instance_uid}",
        creator=f"LSS Desktop {__version__}",
    )
    doc.build(build_report_story(data, fonts), canvasmaker=_page_decorations(data, fonts))
    return buffer.getvalue()


def write_report_pdf(data: PdfReportInput, path: str | os.PathLike[str]) -> Path:
    """Render and write the PDF atomically; returns the path."""
    return write_bytes_atomically(path, render_report_pdf(data))


def pdf_input_for(
    draft: ReportDraft,
    findings: StudyFindings,
    study: Study | None,
    status: ReportStatus = ReportStatus.DRAFT,
    final_sign_off: SignOff | None = None,
    addenda: Sequence[Addendum] = (),
    thresholds: SizeThresholds | None = None,
    integrity_problems: Sequence[str] = (),
) -> PdfReportInput:
    """Gather the PDF's input, rendering key images from the study when it is at hand."""
    images: tuple[KeyImage, ...] = ()
    missing: tuple[str, ...] = ()
    if study is not None:
        key_set = key_images_for_findings(findings, study)
        images, missing = key_set.images, key_set.missing
    return PdfReportInput(
        draft=draft,
        findings=findings,
        study=study,
        status=status,
        final_sign_off=final_sign_off,
        addenda=tuple(addenda),
        key_images=images,
        missing_key_images=missing,
        thresholds=thresholds,
        integrity_problems=tuple(integrity_problems),
    )


def export_stored_report_pdf(
    store: ReportStore,
    study_instance_uid: str,
    findings: StudyFindings,
    study: Study | None,
    path: str | os.PathLike[str],
    actor: str,
    thresholds: SizeThresholds | None = None,
) -> Path:
    """Print a stored report as it stands (status, signature, addenda, and any integrity problem
    as a COMPROMISED banner), write it atomically, and audit the export with the file's sha256."""
    stored = store.load_report(study_instance_uid)
    if stored.draft is None:
        raise ReportIntegrityError(
            f"the report of study {study_instance_uid} cannot be read: {'; '.join(stored.integrity_problems)}"
        )
    data = pdf_input_for(
        stored.draft,
        findings,
        study,
        stored.status,
        stored.final_sign_off,
        stored.addenda,
        thresholds,
        stored.integrity_problems,
    )
    pdf = render_report_pdf(data)
    written = write_bytes_atomically(path, pdf)
    store.record_export(
        study_instance_uid,
        actor,
        "pdf",
        {"sha256": hashlib.sha256(pdf).hexdigest(), "bytes": len(pdf)},
    )
    return written
