"""PDF report: rendered with pdftoppm and read back with pdftotext, pdffonts and pixel checks."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from engine import INTENDED_USE, __version__
from engine.export.key_images import OVERLAY_PERSON_RGB, OVERLAY_SOFTWARE_RGB, render_key_image
from engine.export.pdf_report import pdf_input_for, write_report_pdf
from engine.reporting.revision import accept_all_sentences, edit_sentence
from engine.reporting.sign_off import Addendum, ReportStatus, SignOff
from engine.reporting.template import load_report_template

pytestmark = pytest.mark.skipif(
    shutil.which("pdftoppm") is None or shutil.which("pdftotext") is None, reason="needs poppler-utils"
)
ROOT = Path(__file__).resolve().parents[2]
LEVELS = ("L1-L2", "L2-L3", "L3-L4", "L4-L5", "L5-S1")
SIGN = SignOff(
    ReportStatus.FINAL,
    "Dr A. Radiologist",
    "I have reviewed the images and take responsibility for this report.",
    "2026-11-28T09:14:03.512Z",
    "ab" * 32,
)


def _pages(pdf: Path, out: Path, dpi: int = 60) -> list[np.ndarray]:
    subprocess.run(["pdftoppm", "-png", "-r", str(dpi), str(pdf), str(out / "page")], check=True)
    return [np.asarray(Image.open(p).convert("RGB")) for p in sorted(out.glob("page-*.png"))]


def _text(pdf: Path) -> str:
    return subprocess.run(
        ["pdftotext", "-layout", str(pdf), "-"], check=True, capture_output=True, text=True
    ).stdout


def _colour_pixels(page: np.ndarray, rgb: tuple[int, int, int], tolerance: int = 45) -> int:
    return int((np.abs(page.astype(int) - np.asarray(rgb)).max(axis=2) <= tolerance).sum())


@pytest.fixture
def thresholds():
    return load_report_template().thresholds


def test_draft_pdf_pages_render_with_text_overlays_and_draft_marks(tmp_path, case, draft, thresholds):
    pdf = write_report_pdf(
        pdf_input_for(draft, case.findings, case.study, thresholds=thresholds), tmp_path / "r.pdf"
    )
    assert pdf.read_bytes().startswith(b"%PDF")
    pages = _pages(pdf, tmp_path)
    assert len(pages) == 2
    for page in pages:
        assert page.std() > 20, "page is blank"
    overlay = [_colour_pixels(p, OVERLAY_SOFTWARE_RGB) for p in pages]
    assert overlay[0] == 0 and overlay[1] > 100  # the key images are on page 2, with the mask drawn

    text = _text(pdf)
    for level in LEVELS:
        assert level in text
    assert "mm²" in text and "≥" in text
    assert "Page 1 of 2" in text and "Page 2 of 2" in text
    assert text.count("Intended use: Decision support for lumbar spinal stenosis on MRI") == 2
    assert text.count(f"LSS Desktop {__version__} · model lss-vlm-spca 0.3.0") == 2
    assert "DRAFT — NOT SIGNED" in text and "AI-drafted, not reviewed" in text
    assert "Doe, Jane" in text and "PID-0042" in text and "1958-03-12" in text and "ACC-20261115-0042" in text
    assert "C — severe" in text and "grade and dural sac area disagree" in text
    assert "Dural sac mask drawn by the software" in text
    assert INTENDED_USE.split(":")[0] in text.replace("\n", " ")


def test_final_pdf_has_signature_no_draft_marks_and_addenda(tmp_path, case, draft, thresholds):
    reviewed = accept_all_sentences(draft, "Dr A. Radiologist")
    addendum = Addendum(
        1,
        "Findings discussed with the referrer.",
        "Dr A. Radiologist",
        "x",
        "2026-11-28T11:02:10.000Z",
        "cd" * 32,
    )
    data = pdf_input_for(
        reviewed, case.findings, case.study, ReportStatus.FINAL, SIGN, (addendum,), thresholds
    )
    pdf = write_report_pdf(data, tmp_path / "final.pdf")
    text = _text(pdf)
    assert "DRAFT" not in text and "not reviewed" not in text
    assert "FINAL — signed" in text and "Electronically signed by" in text and "Dr A. Radiologist" in text
    assert "2026-11-28 09:14 UTC" in text and "take responsibility" in text
    assert "Addenda (after signature)" in text and "Findings discussed with the referrer." in text
    assert "drafted by LSS Desktop" in text and "reviewed by the" in text


def test_person_edited_mask_and_sentence_are_shown_as_such(tmp_path, builder, case, draft, thresholds):
    edited = builder.with_edited_mask(case.findings, "L4-L5")
    changed = edit_sentence(
        draft, "findings/L3-L4/central_canal_stenosis", "Diffuse disc bulge at L3/L4.", "Dr B"
    )
    pdf = write_report_pdf(
        pdf_input_for(changed, edited, case.study, thresholds=thresholds), tmp_path / "e.pdf"
    )
    pages = _pages(pdf, tmp_path)
    assert _colour_pixels(pages[1], OVERLAY_PERSON_RGB) > 20
    text = _text(pdf)
    assert "edited by Dr B" in text and "mask edited by a person" in text
    assert "Dural sac mask edited by a person" in text


def test_without_a_study_the_pdf_still_renders_and_says_what_is_missing(tmp_path, builder, thresholds):
    case = builder.build_case(axial_levels=("L3-L4", "L4-L5", "L5-S1"))
    from engine.reporting.drafting import draft_report

    draft = draft_report(case.findings, None)
    pdf = write_report_pdf(
        pdf_input_for(draft, case.findings, None, thresholds=thresholds), tmp_path / "n.pdf"
    )
    text = _text(pdf)
    assert "not assessed" in text and "Key images" not in text
    with_study = write_report_pdf(pdf_input_for(draft, case.findings, case.study), tmp_path / "s.pdf")
    assert "Key images" in _text(with_study)


def test_missing_key_slice_is_listed_and_other_images_still_shown(tmp_path, builder, case, draft):
    broken = builder.with_finding(case.findings, "L2-L3", key_slice_sop_instance_uid="9.9.9")
    pdf = write_report_pdf(pdf_input_for(draft, broken, case.study), tmp_path / "m.pdf")
    text = _text(pdf)
    assert "No key image for L2-L3: the key slice is not in the loaded study" in text
    assert _colour_pixels(_pages(pdf, tmp_path)[-1], OVERLAY_SOFTWARE_RGB) > 100


def test_compromised_report_is_printed_as_compromised(tmp_path, case, draft):
    data = pdf_input_for(
        accept_all_sentences(draft, "Dr A"), case.findings, case.study, ReportStatus.FINAL, SIGN,
        integrity_problems=("the final report signed by Dr A does not match its stored hash",),
    )  # fmt: skip
    text = _text(write_report_pdf(data, tmp_path / "c.pdf"))
    assert "COMPROMISED REPORT — do not use." in text and "does not match its stored hash" in text
    assert text.count("COMPROMISED — DO NOT USE") == 2 and "FINAL — signed" not in text


def test_fonts_embedded_and_shipped_copy_works_without_system_fonts(tmp_path, case, draft):
    pdf = write_report_pdf(pdf_input_for(draft, case.findings, None), tmp_path / "f.pdf")
    fonts = subprocess.run(["pdffonts", str(pdf)], check=True, capture_output=True, text=True).stdout
    assert "DejaVuSans" in fonts and "Helvetica" not in fonts
    code = (
        "from pathlib import Path\n"
        "import engine.export.pdf_report as p\n"
        "p.FONT_DIRS = (Path('/nonexistent'),)\n"
        "try:\n    p.register_report_fonts()\nexcept p.PdfFontError as e:\n    print('ERROR', e)\n"
        "p.FONT_DIRS = (Path('resources/fonts'),)\n"
        "print(p.register_report_fonts()['regular'])\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=True
    ).stdout
    assert "ERROR DejaVuSans.ttf not found in /nonexistent" in out
    assert out.strip().endswith("LSS-DejaVuSans")
    assert (ROOT / "resources" / "fonts" / "LICENSE-DejaVu.txt").is_file()


def test_key_image_is_square_to_scale_with_overlay_and_orientation(builder):
    pixels, sac = builder.axial_phantom(100.0, 10.0, "B")
    geometry = builder.axial_geometry(0)
    rgb = render_key_image(pixels, sac, geometry, (500.0, 1000.0), field_of_view_mm=60.0, size_px=300)
    assert rgb.shape == (300, 300, 3) and rgb.dtype == np.uint8
    outline = _colour_pixels(rgb, OVERLAY_SOFTWARE_RGB, tolerance=2)
    # The sac outline (about pi * (a + b) mm long) drawn 2 px wide at 5 px/mm.
    b, a = builder.sac_ellipse_axes_px(100.0, 10.0)
    perimeter_mm = np.pi * (a + b) * builder.PIXEL_SPACING_MM
    assert 0.5 * perimeter_mm * 5 * 2 < outline < 2.0 * perimeter_mm * 5 * 2
    with pytest.raises(ValueError, match="mask shape"):
        render_key_image(pixels, sac[:10], geometry)


def test_stored_report_export_shows_signature_and_is_audited(tmp_path, case, draft):
    import hashlib
    import sqlite3

    from engine.export.pdf_report import export_stored_report_pdf
    from engine.storage.report_store import ReportStore

    uid = case.study.study_instance_uid
    with ReportStore.open(tmp_path / "data") as store:
        store.open_study(uid, "/studies/0042", "Dr A")
        store.save_draft(accept_all_sentences(draft, "Dr A. Radiologist"), "Dr A. Radiologist")
        store.sign(uid, ReportStatus.FINAL, "Dr A. Radiologist")
        store.add_addendum(uid, "Discussed with the referrer.", "Dr A. Radiologist")
        pdf = export_stored_report_pdf(store, uid, case.findings, case.study, tmp_path / "final.pdf", "Dr A")
        text = _text(pdf)
        assert (
            "FINAL — signed" in text
            and "Dr A. Radiologist" in text
            and "Discussed with the referrer." in text
        )
        exported = store.audit_trail(uid)[-1]
        assert exported.event_type == "report_exported" and exported.details["kind"] == "pdf"
        assert exported.details["sha256"] == hashlib.sha256(pdf.read_bytes()).hexdigest()
        assert exported.details["status"] == "final"

        with sqlite3.connect(store.path) as raw:
            raw.execute("DROP TRIGGER sign_offs_are_immutable_update")
            raw.execute("UPDATE sign_offs SET radiologist = 'Dr Mallory' WHERE status = 'final'")
        again = _text(
            export_stored_report_pdf(store, uid, case.findings, case.study, tmp_path / "c.pdf", "Dr A")
        )
        assert "COMPROMISED REPORT" in again
