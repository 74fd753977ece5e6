"""Fixtures for the reading workflow tests (mask editing, report editor, sign-off, export, autosave,
crash restore): the lumbar phantom of tests/app (loaded by path: tests run with
--import-mode=importlib), findings for all five levels built by hand on its per-disc axial stack,
a reading database, and a window factory wired to them.

Findings stand in for the analysis (not in this build): every level has a dural sac mask drawn
from the phantom's sac on its key slice, measured with the engine's measure_dural_sac, and a grade
given by hand.
"""

from __future__ import annotations

import importlib.util
import os
import socket
import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from types import ModuleType

import numpy as np
import pytest

from engine.findings import (
    DISC_LEVELS,
    Condition,
    DiscLevel,
    LevelFinding,
    Provenance,
    SchizasGrade,
    SliceMask,
    Structure,
    StudyFindings,
)
from engine.measurements import measure_dural_sac
from engine.study.cross_reference import nearest_slice_index
from engine.study.model import Study
from lss_desktop.hanging_protocol import ViewSlot

APP_CONFTEST = Path(__file__).parents[1] / "app" / "conftest.py"
MODEL = Provenance(
    model_name="lss-vlm-spca",
    model_version="0.3.0",
    model_sha256="9f2c" * 16,
    engine_version="0.1.0",
    parameters=(("threshold", "0.5"),),
)
GRADES = {"L1-L2": "A", "L2-L3": "A", "L3-L4": "A", "L4-L5": "B", "L5-S1": "A"}
PERSON = "Dr Ada Lovelace"


def _load_phantom() -> ModuleType:
    name = "lss_test_app_phantom"
    if name not in sys.modules:
        spec = importlib.util.spec_from_file_location(name, APP_CONFTEST)
        assert spec is not None and spec.loader is not None
        module = importlib.util.module_from_spec(spec)
        sys.modules[name] = module
        spec.loader.exec_module(module)
    return sys.modules[name]


phantom = _load_phantom()


def disc_normal(tilt_deg: float) -> tuple[float, float, float]:
    t = np.radians(tilt_deg)
    return (0.0, float(-np.sin(t)), float(np.cos(t)))


def probabilities(grade: str, confidence: float) -> tuple[tuple[SchizasGrade, float], ...]:
    rest = (1.0 - confidence) / 3.0
    return tuple((g, confidence if g.value == grade else rest) for g in SchizasGrade)


def level_findings(study: Study, grades: dict[str, str] | None = None) -> StudyFindings:
    """Five disc levels; a dural sac mask on each level's key slice of the per-disc axial stack (the
    series' third part, `.3`), measured with the disc normal as the canal axis; a spinal canal mask
    on the middle sagittal slice; an explanation map at L4-L5."""
    grades = {**GRADES, **(grades or {})}
    sagittal = next(s for s in study.series if s.series_instance_uid.endswith(".1"))
    axial = next(s for s in study.series if s.series_instance_uid.endswith(".3"))
    mid = sagittal.slices[len(sagittal) // 2]
    levels, findings, masks, explanations = [], [], [], []
    for label, z, tilt in zip(DISC_LEVELS, phantom.DISC_Z, phantom.DISC_TILT_DEG, strict=True):
        normal = disc_normal(tilt)
        levels.append(
            DiscLevel(
                label=label,
                centre_lps=(0.0, -27.0, z),
                normal_lps=normal,
                confidence=0.95,
                sagittal_series_uid=sagittal.series_instance_uid,
                sagittal_sop_instance_uid=mid.sop_instance_uid,
            )
        )
        key = axial.slices[nearest_slice_index(axial, (0.0, phantom.CANAL_Y, z))]
        assert key.geometry is not None
        sac = phantom.sac_mask(key.geometry)
        measured = measure_dural_sac(sac, key.geometry, normal)
        masks.append(
            SliceMask(
                structure=Structure.DURAL_SAC.value,
                series_instance_uid=axial.series_instance_uid,
                sop_instance_uid=key.sop_instance_uid,
                frame_index=None,
                mask=sac,
                provenance=MODEL,
            )
        )
        confidence = 0.86 if grades[label] == "A" else 0.71
        findings.append(
            LevelFinding(
                level=label,
                condition=Condition.CENTRAL_CANAL_STENOSIS,
                grade=SchizasGrade(grades[label]),
                grade_probabilities=probabilities(grades[label], confidence),
                dural_sac_area_mm2=measured.dural_sac_area_mm2,
                ap_diameter_mm=measured.ap_diameter_mm,
                confidence=confidence,
                axial_series_uid=axial.series_instance_uid,
                key_slice_sop_instance_uid=key.sop_instance_uid,
                key_slice_frame_index=None,
                warnings=(),
                provenance=MODEL,
            )
        )
        if label == "L4-L5":
            rows, cols = np.mgrid[0 : key.geometry.rows, 0 : key.geometry.columns]
            p = key.geometry.pixel_to_lps(rows, cols)
            heat = np.exp(-((p[..., 0] ** 2 + (p[..., 1] - phantom.CANAL_Y - 6.0) ** 2) / (2 * 9.0**2)))
            explanations.append(
                SliceMask(
                    "explanation",
                    axial.series_instance_uid,
                    key.sop_instance_uid,
                    None,
                    heat.astype(np.float32),
                    MODEL,
                )
            )
    assert mid.geometry is not None
    srows, scols = np.mgrid[0 : mid.geometry.rows, 0 : mid.geometry.columns]
    sp = mid.geometry.pixel_to_lps(srows, scols)
    canal = (np.abs(sp[..., 1] - phantom.CANAL_Y) <= phantom.SAC_RADIUS) & (np.abs(sp[..., 2]) < 110.0)
    masks.append(
        SliceMask(
            Structure.SPINAL_CANAL.value,
            sagittal.series_instance_uid,
            mid.sop_instance_uid,
            None,
            canal,
            MODEL,
        )
    )
    return StudyFindings(
        study_instance_uid=study.study_instance_uid,
        levels=tuple(levels),
        findings=tuple(findings),
        masks=tuple(masks),
        explanations=tuple(explanations),
        provenance=MODEL,
    )


def write_mr_study(study: Study, folder: Path) -> Path:
    """The phantom as MR DICOM files (tests/app's writer) with the rest of a scanner's header
    (patient sex, study time and ID, frame of reference, MR acquisition attributes) that DICOM
    exports copy into SEG and SR."""
    import pydicom
    from pydicom.uid import generate_uid

    phantom.write_dicom_study(study, folder)
    frame_of_reference = generate_uid(entropy_srcs=[study.study_instance_uid, "frame"])
    for path in sorted(folder.glob("*.dcm")):
        ds = pydicom.dcmread(path)
        ds.SpecificCharacterSet = "ISO_IR 100"
        ds.PatientSex = study.patient.sex
        ds.StudyTime = "101500"
        ds.StudyID = "1"
        ds.AccessionNumber = study.accession_number
        ds.ReferringPhysicianName = "Referrer^Rita"
        ds.FrameOfReferenceUID = frame_of_reference
        ds.PositionReferenceIndicator = ""
        ds.PatientPosition = "HFS"
        ds.Manufacturer = "Phantom"
        ds.ImageType = ["ORIGINAL", "PRIMARY", "OTHER"]
        ds.ContentDate = study.study_date
        ds.ContentTime = "101600"
        ds.ScanningSequence = "SE"
        ds.SequenceVariant = "NONE"
        ds.ScanOptions = ""
        ds.MRAcquisitionType = "2D"
        ds.RepetitionTime = 3000.0
        ds.EchoTime = 100.0
        ds.EchoTrainLength = 16
        ds.MagneticFieldStrength = 1.5
        ds.ImagedNucleus = "1H"
        ds.save_as(path, enforce_file_format=True)
    return folder


def key_slice_index(study: Study, findings: StudyFindings, level: str) -> tuple[int, int]:
    """(series index in the study, slice index) of a level's key slice."""
    finding = findings.finding_for(level)
    assert finding is not None and finding.key_slice_sop_instance_uid is not None
    for series_index, series in enumerate(study.series):
        if series.series_instance_uid == finding.axial_series_uid:
            return series_index, series.slice_index_by_uid(finding.key_slice_sop_instance_uid)
    raise KeyError(level)


@pytest.fixture
def lumbar():
    import types

    return types.SimpleNamespace(
        make_study=phantom.make_study,
        write_dicom_study=write_mr_study,
        level_findings=level_findings,
        key_slice_index=key_slice_index,
        FakeStudyLoader=phantom.FakeStudyLoader,
        STUDY_UID=phantom.STUDY_UID,
        CANAL_Y=phantom.CANAL_Y,
        SAC_RADIUS=phantom.SAC_RADIUS,
        PERSON=PERSON,
        MODEL=MODEL,
    )


@pytest.fixture
def store(tmp_path):
    from engine.storage.report_store import ReportStore

    with ReportStore.open(tmp_path / "data") as opened:
        yield opened


@pytest.fixture
def screenshot_dir(tmp_path: Path) -> Path:
    """Where tests save window screenshots: tmp_path, or $LSS_APP_SCREENSHOT_DIR to keep them."""
    kept = os.environ.get("LSS_APP_SCREENSHOT_DIR")
    folder = Path(kept) if kept else tmp_path / "screenshots"
    folder.mkdir(parents=True, exist_ok=True)
    return folder


@pytest.fixture
def reading_window(qtbot, qapp, tmp_path) -> Iterator[Callable[..., object]]:
    """Factory for a MainWindow with a reading database and data folder in tmp_path, the reader
    named in its settings, and exports' folders recorded instead of opened. On teardown every
    window is closed (saving what is unsaved) and checked to have left no subscriber behind."""
    from engine.storage.report_store import ReportStore
    from lss_desktop.app_settings import AppSettings
    from lss_desktop.main_window import MainWindow
    from lss_desktop.recent_studies import StoreRecentStudies
    from lss_desktop.theme import apply_dark_theme

    apply_dark_theme(qapp)
    windows: list[MainWindow] = []
    stores: list[ReportStore] = []
    emitters: dict[int, tuple] = {}

    def create(**kwargs) -> MainWindow:
        data_dir = Path(kwargs.pop("data_dir", tmp_path / "data"))
        data_dir.mkdir(parents=True, exist_ok=True)
        store = kwargs.pop("store", None) or ReportStore(data_dir / "lss-desktop.sqlite3")
        stores.append(store)
        settings = kwargs.pop("settings", AppSettings(user_name=PERSON, institution="St Elsewhere Hospital"))
        opened: list[Path] = []
        kwargs.setdefault("show_dialogs", True)
        window = MainWindow(
            store=store,
            data_dir=data_dir,
            settings=settings,
            recent_studies=StoreRecentStudies(store, lambda: settings.user_name or "tester"),
            open_location=opened.append,
            **kwargs,
        )
        window.opened_locations = opened
        emitters[id(window)] = (
            *window.session.events.all(),
            *window.mask_editor.events.all(),
            *window.report.events.all(),
        )
        window.resize(1280, 900)
        window.show()  # not qtbot.addWidget: its teardown closes before ours and would meet the prompt
        qtbot.waitExposed(window)
        window.activateWindow()  # focus (sentence editing) and window shortcuts need the active window
        qtbot.waitUntil(window.isActiveWindow, timeout=5000)
        windows.append(window)
        return window

    yield create
    from PySide6.QtCore import QCoreApplication, QEvent

    for window in windows:
        window.show_dialogs = False  # an unsaved draft is saved, never asked about, at teardown
        window.close()
        window.close()
        window.deleteLater()
        QCoreApplication.sendPostedEvents(None, QEvent.Type.DeferredDelete)
        emitters = (
            *window.session.events.all(),
            *window.mask_editor.events.all(),
            *window.report.events.all(),
        )
        leaked = {e.name: e.subscriber_count for e in emitters if e.subscriber_count}
        assert leaked == {}, f"subscribers left after close: {leaked}"
    for opened_store in stores:
        opened_store.close()


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture
def closed_port() -> int:
    """A loopback port nothing listens on."""
    return free_port()


@pytest.fixture
def pacs_node():
    """A small storage node (pynetdicom) on loopback: answers C-ECHO and keeps what is C-STOREd."""
    from pynetdicom import AE, AllStoragePresentationContexts, evt
    from pynetdicom.sop_class import Verification

    from engine.pacs.node import PacsNode

    received = []

    def on_store(event):
        received.append(event.dataset)
        return 0x0000

    ae = AE(ae_title="TEST_PACS")
    ae.supported_contexts = AllStoragePresentationContexts
    ae.add_supported_context(Verification)
    port = free_port()
    server = ae.start_server(("127.0.0.1", port), block=False, evt_handlers=[(evt.EVT_C_STORE, on_store)])
    node = PacsNode(ae_title="TEST_PACS", host="127.0.0.1", port=port, timeout_s=5)
    try:
        yield node, received
    finally:
        server.shutdown()


def send_mouse(view, kind, pos, button=None, modifiers=None):
    """Deliver one mouse event (press, move, release) at widget position `pos` to `view`."""
    from PySide6.QtCore import QEvent, QPointF, Qt
    from PySide6.QtGui import QMouseEvent
    from PySide6.QtWidgets import QApplication

    button = Qt.MouseButton.LeftButton if button is None else button
    modifiers = Qt.KeyboardModifier.NoModifier if modifiers is None else modifiers
    types = {
        "press": QEvent.Type.MouseButtonPress,
        "move": QEvent.Type.MouseMove,
        "release": QEvent.Type.MouseButtonRelease,
    }
    held = Qt.MouseButton.NoButton if kind == "release" else button
    event = QMouseEvent(
        types[kind],
        QPointF(pos),
        QPointF(view.mapToGlobal(QPointF(pos))),
        Qt.MouseButton.NoButton if kind == "move" else button,
        held,
        modifiers,
    )
    QApplication.sendEvent(view, event)


def drag(view, points):
    """A left-button drag through widget positions: press at the first, moves, release at the last."""
    send_mouse(view, "press", points[0])
    for point in points[1:]:
        send_mouse(view, "move", point)
    send_mouse(view, "release", points[-1])


@pytest.fixture
def gui():
    import types

    return types.SimpleNamespace(send_mouse=send_mouse, drag=drag)


def render_all(window) -> None:
    for view in window.slice_views():
        view.render_now()


@pytest.fixture
def opened(reading_window, qtbot, lumbar):
    """A reading window showing the phantom (96 px matrix) with hand-built findings, the middle view
    on the per-disc axial stack at L4-L5's key slice."""

    def open_with(matrix: int = 96, dicom_folder: Path | None = None, **window_kwargs):
        """`dicom_folder`: write the study there with pydicom and open it with the engine's loader
        (exports read the source files); otherwise the study is shown from memory."""
        study = lumbar.make_study(matrix=matrix)
        window = reading_window(**window_kwargs)
        if dicom_folder is None:
            window.open_study(study)
        else:
            write_mr_study(study, dicom_folder)
            with qtbot.waitSignal(window.study_opened, timeout=30_000) as opened_signal:
                window.open_folder(dicom_folder)
            study = opened_signal.args[0]
        qtbot.waitUntil(lambda: window.views_ready() and window.runner.running_count == 0, timeout=15_000)
        findings = lumbar.level_findings(study)
        window.session.set_findings(findings)
        series_index, _ = lumbar.key_slice_index(study, findings, "L4-L5")
        window.session.show_series(ViewSlot.MIDDLE, study.series[series_index].key)
        window.session.go_to_level("L4-L5")
        qtbot.waitUntil(lambda: window.views_ready() and window.runner.running_count == 0, timeout=15_000)
        render_all(window)
        return window

    return open_with


SYNTHETIC_GRADES = "A,A,B,C,A"


def synthetic_findings(study: Study, truth) -> StudyFindings:
    """Findings an analysis would give for a synthetic study, from its ground truth: the discs,
    each level's grade, its dural sac mask on the axial slice nearest the disc (measured with the
    engine), and the spinal canal on the middle sagittal T2 slice."""
    axial_truth = truth.find_series("axial", "T2")
    sagittal_truth = truth.find_series("sagittal", "T2")
    axial = next(s for s in study.series if s.series_instance_uid == axial_truth.series_instance_uid)
    sagittal = next(s for s in study.series if s.series_instance_uid == sagittal_truth.series_instance_uid)
    axial_labels = truth.load_mask(axial_truth)
    sagittal_labels = truth.load_mask(sagittal_truth)
    middle = len(sagittal_truth.sop_instance_uids) // 2
    mid_uid = sagittal_truth.sop_instance_uids[middle]
    levels, findings, masks = [], [], []
    for level in truth.levels:
        levels.append(
            DiscLevel(
                level.level,
                level.disc_centre_lps,
                level.disc_normal_lps,
                0.96,
                sagittal.series_instance_uid,
                mid_uid,
            )
        )
        candidates = [
            (abs(s.distance_to_disc_mm), k)
            for k, s in enumerate(axial_truth.slice_levels)
            if s.level == level.level and s.distance_to_disc_mm is not None
        ]
        if not candidates:
            continue
        _, k = min(candidates)
        uid = axial_truth.sop_instance_uids[k]
        geometry = axial.slices[axial.slice_index_by_uid(uid)].geometry
        sac = truth.structure_mask(axial_labels[k], "dural sac")
        measured = measure_dural_sac(sac, geometry, level.disc_normal_lps)
        grade = level.grade.value
        masks.append(SliceMask("dural sac", axial.series_instance_uid, uid, None, sac, MODEL))
        findings.append(
            LevelFinding(
                level=level.level,
                condition=Condition.CENTRAL_CANAL_STENOSIS,
                grade=level.grade,
                grade_probabilities=probabilities(grade, 0.82),
                dural_sac_area_mm2=measured.dural_sac_area_mm2,
                ap_diameter_mm=measured.ap_diameter_mm,
                confidence=0.82,
                axial_series_uid=axial.series_instance_uid,
                key_slice_sop_instance_uid=uid,
                key_slice_frame_index=None,
                warnings=(),
                provenance=MODEL,
            )
        )
    canal = truth.structure_mask(sagittal_labels[middle], "dural sac")
    masks.append(SliceMask("dural sac", sagittal.series_instance_uid, mid_uid, None, canal, MODEL))
    return StudyFindings(
        study.study_instance_uid, tuple(levels), tuple(findings), tuple(masks), (), (), MODEL
    )


@pytest.fixture
def synthetic_reading(reading_window, qtbot, tmp_path):
    """A reading window on a synthetic study (engine.synthetic_study, angled axial T2, matrix <= 256)
    opened from its DICOM folder by the engine's loader, with findings built from its ground truth.
    Returns (window, ground truth)."""
    from engine.synthetic_study import write_study

    truth = write_study(tmp_path / "synthetic", 3, SYNTHETIC_GRADES, "angled", max_matrix=256)
    window = reading_window()
    with qtbot.waitSignal(window.study_opened, timeout=60_000) as opened_signal:
        window.open_folder(truth.study_dir)
    study = opened_signal.args[0]
    qtbot.waitUntil(lambda: window.views_ready() and window.runner.running_count == 0, timeout=30_000)
    window.session.set_findings(synthetic_findings(study, truth))
    axial = truth.find_series("axial", "T2")
    window.session.show_series(
        ViewSlot.MIDDLE,
        next(s.key for s in study.series if s.series_instance_uid == axial.series_instance_uid),
    )
    window.session.go_to_level("L4-L5")
    qtbot.waitUntil(lambda: window.views_ready() and window.runner.running_count == 0, timeout=30_000)
    render_all(window)
    return window, truth
