"""Exports of the stored report, run off the GUI thread: the PDF, the DICOM objects (SEG, SR and
encapsulated PDF, optionally anonymised) and sending them to the PACS. Qt-free.

Each export opens its own connection to the reading database (SQLite connections belong to the
thread that opened them; WAL lets both read and write), prints the report as stored (status,
signature, addenda, integrity problems), and is audited by the store. The caller saves the draft
first and passes findings whose masks no one is painting (`MaskEditor.snapshot_findings`).
"""

from __future__ import annotations

import hashlib
import logging
from dataclasses import dataclass, replace
from datetime import datetime
from pathlib import Path

from engine.export.anonymise import Anonymiser
from engine.export.dicom_objects import export_dicom_objects
from engine.export.pdf_report import export_stored_report_pdf, pdf_input_for, render_report_pdf
from engine.export.signer import ReportSigner
from engine.findings import StudyFindings
from engine.pacs.node import PacsNode
from engine.pacs.progress import CancelToken, ProgressCallback
from engine.pacs.store import StoreReport, store_files
from engine.reporting.template import SizeThresholds
from engine.storage.report_store import ReportIntegrityError, ReportStore, StoredReport
from engine.study.model import Study

logger = logging.getLogger(__name__)

DEFAULT_ORGANISATION = "LSS Desktop"


@dataclass(frozen=True)
class ExportJob:
    """What every export needs: the database file, the study and its findings, who exports, the
    size thresholds the report's words were drafted with, and the verifying organisation."""

    store_path: Path
    study: Study
    findings: StudyFindings
    actor: str
    thresholds: SizeThresholds | None = None
    organisation: str = DEFAULT_ORGANISATION

    @property
    def study_instance_uid(self) -> str:
        return self.study.study_instance_uid


def _readable(stored: StoredReport) -> StoredReport:
    if stored.draft is None or stored.compromised:
        raise ReportIntegrityError(
            "the stored report failed its integrity check and is not exported: "
            + "; ".join(stored.integrity_problems)
        )
    return stored


def export_pdf(job: ExportJob, path: Path) -> Path:
    """Write the report PDF to `path` (atomically) and audit it; returns the path."""
    with ReportStore(job.store_path) as store:
        return export_stored_report_pdf(
            store, job.study_instance_uid, job.findings, job.study, path, job.actor, job.thresholds
        )


def report_signer(stored: StoredReport, organisation: str) -> ReportSigner | None:
    """The final signature as the DICOM objects record it; None for a report not yet final."""
    final = stored.final_sign_off
    if final is None:
        return None
    signed_at = datetime.fromisoformat(final.signed_utc.replace("Z", "+00:00"))
    return ReportSigner(
        name=final.radiologist, organisation=organisation or DEFAULT_ORGANISATION, signed_at=signed_at
    )


def export_dicom(job: ExportJob, out_dir: Path, anonymise: bool) -> list[Path]:
    """Write the SEG(s), SR and encapsulated PDF into `out_dir`; audited with each file's sha256.

    anonymise: de-identify the objects (and write anonymised copies of the images they reference);
    the PDF inside is then printed for the pseudonymised patient, without accession number.
    """
    with ReportStore(job.store_path) as store:
        stored = _readable(store.load_report(job.study_instance_uid))
        assert stored.draft is not None
        anonymiser = Anonymiser() if anonymise else None
        shown_study = job.study
        if anonymiser is not None:
            shown_study = replace(
                job.study, patient=anonymiser.pseudonymised_patient(job.study.patient), accession_number=""
            )
        pdf = render_report_pdf(
            pdf_input_for(
                stored.draft,
                job.findings,
                shown_study,
                stored.status,
                stored.final_sign_off,
                stored.addenda,
                job.thresholds,
            )
        )
        paths = export_dicom_objects(
            job.study,
            job.findings,
            Path(out_dir),
            pdf_bytes=pdf,
            anonymise=anonymise,
            signer=report_signer(stored, job.organisation),
            anonymiser=anonymiser,
        )
        store.record_export(
            job.study_instance_uid,
            job.actor,
            "dicom",
            {
                "anonymised": anonymise,
                "files": [
                    {"name": p.name, "sha256": hashlib.sha256(p.read_bytes()).hexdigest()} for p in paths
                ],
            },
        )
    logger.info("exported %d DICOM objects (anonymised: %s)", len(paths), anonymise)
    return paths


def send_to_pacs(
    job: ExportJob,
    node: PacsNode,
    outbox: Path,
    progress: ProgressCallback | None = None,
    cancel: CancelToken | None = None,
) -> StoreReport:
    """Export the DICOM objects into `outbox` and C-STORE them to `node` (one association);
    audited with the node and what was stored. PacsError subclasses say what went wrong."""
    paths = export_dicom(job, outbox, anonymise=False)
    report = store_files(node, paths, progress=progress, cancel=cancel)
    with ReportStore(job.store_path) as store:
        store.record_export(
            job.study_instance_uid,
            job.actor,
            "pacs",
            {"node": str(node), "stored": [o.path.name for o in report.stored]},
        )
    return report
