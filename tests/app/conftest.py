"""Fixtures for the desktop app tests: synthetic lumbar studies built in memory (a phantom
sampled through each slice's own geometry, so every view shows the same anatomy), hand-built
findings, a fake study loader with the engine loader's signature (to hold, cancel or fail a
load on demand), and a tiny DICOM writer whose folders the real engine loader opens.

Patient coordinates are LPS in mm: +x left, +y posterior, +z superior. The canal runs along z
at (x=0, y=4); discs sit at the z values of DISC_Z, cranial first.
"""

from __future__ import annotations

import dataclasses
import os
import threading
from collections.abc import Callable, Iterator
from pathlib import Path

import numpy as np
import pytest
from scipy import ndimage

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
from engine.study.model import (
    ImageSlice,
    IssueSeverity,
    LoadIssue,
    LoadReport,
    Orientation,
    PatientInfo,
    Sequence,
    Series,
    SliceGeometry,
    Study,
)

DISC_Z = (80.0, 40.0, 0.0, -40.0, -80.0)  # L1-L2 .. L5-S1
DISC_TILT_DEG = (-12.0, -6.0, 0.0, 8.0, 18.0)  # angled axial stacks, one per disc
CANAL_Y = 4.0
SAC_RADIUS = 8.0
STUDY_UID = "1.2.826.0.1.3680043.8.498.100"
TEST_PROVENANCE = Provenance(
    model_name="hand-built test fixture", model_version="0", model_sha256="0" * 64, engine_version="test"
)


# ---- phantom ---------------------------------------------------------------------------------


def phantom_intensity(points: np.ndarray, sequence: Sequence) -> np.ndarray:
    """Signal (0..~1000) of a lumbar phantom at LPS points (..., 3) for a T1 or T2 image."""
    x, y, z = points[..., 0], points[..., 1], points[..., 2]
    t2 = sequence is not Sequence.T1
    out = np.zeros(x.shape, dtype=np.float32)
    body = (x / 150.0) ** 2 + ((y - 10.0) / 105.0) ** 2 <= 1.0
    out[body] = 450 if t2 else 780  # subcutaneous and intermuscular fat
    for side in (-1.0, 1.0):
        paraspinal = ((x - side * 38.0) / 24.0) ** 2 + ((y - 38.0) / 22.0) ** 2 <= 1.0
        psoas = ((x - side * 40.0) / 16.0) ** 2 + ((y + 30.0) / 16.0) ** 2 <= 1.0
        out[(paraspinal | psoas) & body] = 200 if t2 else 330
    near_disc = np.min(np.abs(z[..., None] - np.asarray(DISC_Z)), axis=-1)
    footprint = ((x / 24.0) ** 2 + ((y + 27.0) / 19.0) ** 2 <= 1.0) & (z > -115.0) & (z < 115.0)
    vertebra = footprint & (near_disc > 5.0)
    disc = footprint & (near_disc <= 5.0)
    nucleus = disc & ((x / 15.0) ** 2 + ((y + 27.0) / 11.0) ** 2 <= 1.0)
    out[vertebra] = 380 if t2 else 620
    out[disc] = 300 if t2 else 380
    out[nucleus] = 820 if t2 else 420
    radius = np.hypot(x, y - CANAL_Y)
    lamina = (radius > 11.0) & (radius <= 16.0) & (y > CANAL_Y - 3.0)
    spinous = (np.abs(x) <= 5.0) & (y > CANAL_Y + 14.0) & (y <= 50.0) & (near_disc > 6.0)
    out[(lamina | spinous) & (np.abs(z) < 115.0)] = 260 if t2 else 520
    epidural_fat = (radius <= 11.0) & (y > CANAL_Y)
    out[epidural_fat] = 600 if t2 else 880
    out[radius <= SAC_RADIUS] = 1000 if t2 else 120
    rootlets = np.zeros(x.shape, dtype=bool)
    for rx, ry in ((-3.0, 3.0), (3.0, 3.0), (-4.5, 5.5), (4.5, 5.5), (0.0, 6.0)):
        rootlets |= np.hypot(x - rx, y - (CANAL_Y + ry)) <= 1.0
    out[rootlets & (radius <= SAC_RADIUS)] = 350 if t2 else 200
    return out


def _phantom_loader(sequence: Sequence, seed: int) -> Callable[[ImageSlice], np.ndarray]:
    def load(image: ImageSlice) -> np.ndarray:
        assert image.geometry is not None
        g = image.geometry
        rows, cols = np.meshgrid(np.arange(g.rows), np.arange(g.columns), indexing="ij")
        # A slight blur stands in for the scanner's point-spread function (no blocky edges).
        clean = ndimage.gaussian_filter(phantom_intensity(g.pixel_to_lps(rows, cols), sequence), 0.7)
        rng = np.random.default_rng([seed, image.instance_number or 0])
        return np.clip(clean + rng.normal(0.0, 18.0, clean.shape), 0, None).astype(np.float32)

    return load


# ---- series and studies ----------------------------------------------------------------------


def _series(
    uid: str,
    number: int,
    description: str,
    orientation: Orientation,
    sequence: Sequence,
    geometries: list[SliceGeometry],
    seed: int,
) -> Series:
    slices = tuple(
        ImageSlice(
            sop_instance_uid=f"{uid}.{i + 1}",
            source_path=Path(f"memory/{number}/{i + 1}.dcm"),
            frame_index=None,
            instance_number=i + 1,
            geometry=g,
        )
        for i, g in enumerate(geometries)
    )
    return Series(
        series_instance_uid=uid,
        study_instance_uid=STUDY_UID,
        series_number=number,
        description=description,
        modality="MR",
        orientation=orientation,
        sequence=sequence,
        slices=slices,
        pixel_loader=_phantom_loader(sequence, seed + number),
    )


def sagittal_geometries(matrix: int, count: int = 11, gap_mm: float = 3.0) -> list[SliceGeometry]:
    """Sagittal slices from patient left to right (ascending along their normal, -x)."""
    spacing = 240.0 / matrix
    xs = (np.arange(count) - (count - 1) / 2.0)[::-1] * gap_mm
    return [
        SliceGeometry(
            position_lps=(float(x), -120.0 + spacing / 2.0, 120.0 - spacing / 2.0),
            row_direction=(0.0, 1.0, 0.0),
            column_direction=(0.0, 0.0, -1.0),
            pixel_spacing_mm=(spacing, spacing),
            rows=matrix,
            columns=matrix,
            slice_thickness_mm=gap_mm,
        )
        for x in xs
    ]


def axial_geometry(
    centre: tuple[float, float, float], tilt_deg: float, matrix: int, fov_mm: float = 200.0
) -> SliceGeometry:
    """An axial slice through `centre`, tilted about the left-right axis by `tilt_deg`."""
    spacing = fov_mm / matrix
    t = np.radians(tilt_deg)
    row = np.array([1.0, 0.0, 0.0])
    column = np.array([0.0, np.cos(t), np.sin(t)])
    corner = np.asarray(centre) - (matrix - 1) / 2.0 * spacing * (row + column)
    return SliceGeometry(
        position_lps=tuple(float(v) for v in corner),
        row_direction=tuple(float(v) for v in row),
        column_direction=tuple(float(v) for v in column),
        pixel_spacing_mm=(spacing, spacing),
        rows=matrix,
        columns=matrix,
        slice_thickness_mm=4.0,
    )


def make_study(
    *,
    matrix: int = 64,
    axial_matrix: int | None = None,
    axial_gap_mm: float = 8.0,
    sagittal_t1: bool = False,
    angled_axial: bool = True,
    continuous_axial: bool = True,
    seed: int = 0,
    issues: tuple[LoadIssue, ...] = (),
    root: Path = Path("memory-study"),
) -> Study:
    """A lumbar study: sagittal T2, continuous axial T2 and/or an axial T2 stack angled per disc."""
    axial_matrix = axial_matrix or matrix
    series = [
        _series(
            f"{STUDY_UID}.1",
            1,
            "Sag T2 TSE",
            Orientation.SAGITTAL,
            Sequence.T2,
            sagittal_geometries(matrix),
            seed,
        )
    ]
    if continuous_axial:
        zs = np.arange(-100.0, 100.0 + 1e-6, axial_gap_mm)
        geometries = [axial_geometry((0.0, -5.0, float(z)), 0.0, axial_matrix) for z in zs]
        series.append(
            _series(f"{STUDY_UID}.2", 2, "Ax T2 TSE stack", Orientation.AXIAL, Sequence.T2, geometries, seed)
        )
    if angled_axial:
        geometries = []
        # Caudal disc first, like the continuous stack (ascending z).
        for z, tilt in reversed(list(zip(DISC_Z, DISC_TILT_DEG, strict=True))):
            normal = np.array([0.0, -np.sin(np.radians(tilt)), np.cos(np.radians(tilt))])
            for offset in (-4.0, 0.0, 4.0):
                centre = np.array([0.0, -5.0, z]) + offset * normal
                geometries.append(axial_geometry(tuple(centre), tilt, axial_matrix))
        series.append(
            _series(f"{STUDY_UID}.3", 3, "Ax T2 per disc", Orientation.AXIAL, Sequence.T2, geometries, seed)
        )
    if sagittal_t1:
        series.append(
            _series(
                f"{STUDY_UID}.4",
                4,
                "Sag T1 TSE",
                Orientation.SAGITTAL,
                Sequence.T1,
                sagittal_geometries(matrix),
                seed,
            )
        )
    files = sum(len(s) for s in series)
    return Study(
        study_instance_uid=STUDY_UID,
        study_date="20260115",
        description="MRI lumbar spine",
        accession_number="ACC001",
        patient=PatientInfo(name="Doe^Jane", patient_id="PID-12345", birth_date="19600101", sex="F"),
        series=tuple(series),
        set_aside=(),
        load_report=LoadReport(files_found=files + len(issues), files_loaded=files, issues=issues),
        root=root,
    )


def sac_mask(geometry: SliceGeometry) -> np.ndarray:
    """Bool (rows, columns): pixels of `geometry` whose centre lies in the phantom's dural sac."""
    rows, cols = np.meshgrid(np.arange(geometry.rows), np.arange(geometry.columns), indexing="ij")
    p = geometry.pixel_to_lps(rows, cols)
    return np.hypot(p[..., 0], p[..., 1] - CANAL_Y) <= SAC_RADIUS


def make_findings(study: Study, axial_series_index: int = 1) -> StudyFindings:
    """Hand-built findings: five disc levels on the sagittal, a dural sac mask and an explanation
    map on the axial slice nearest L4-L5, a spinal canal mask on the middle sagittal slice."""
    sagittal = study.series[0]
    axial = study.series[axial_series_index]
    from engine.study.cross_reference import nearest_slice_index

    levels = tuple(
        DiscLevel(
            label=label,
            centre_lps=(0.0, -27.0, z),
            normal_lps=(0.0, 0.0, 1.0),
            confidence=0.9,
            sagittal_series_uid=sagittal.series_instance_uid,
            sagittal_sop_instance_uid=sagittal.slices[len(sagittal) // 2].sop_instance_uid,
        )
        for label, z in zip(DISC_LEVELS, DISC_Z, strict=True)
    )
    key_index = nearest_slice_index(axial, (0.0, CANAL_Y, DISC_Z[3]))
    key = axial.slices[key_index]
    assert key.geometry is not None
    mask = SliceMask(
        structure=Structure.DURAL_SAC.value,
        series_instance_uid=axial.series_instance_uid,
        sop_instance_uid=key.sop_instance_uid,
        frame_index=None,
        mask=sac_mask(key.geometry),
        provenance=TEST_PROVENANCE,
    )
    rows, cols = np.meshgrid(np.arange(key.geometry.rows), np.arange(key.geometry.columns), indexing="ij")
    p = key.geometry.pixel_to_lps(rows, cols)
    heat = np.exp(-(((p[..., 0]) ** 2 + (p[..., 1] - CANAL_Y - 6.0) ** 2) / (2 * 9.0**2))).astype(np.float32)
    explanation = SliceMask(
        structure="explanation",
        series_instance_uid=axial.series_instance_uid,
        sop_instance_uid=key.sop_instance_uid,
        frame_index=None,
        mask=heat,
        provenance=TEST_PROVENANCE,
    )
    mid = sagittal.slices[len(sagittal) // 2]
    assert mid.geometry is not None
    srows, scols = np.meshgrid(np.arange(mid.geometry.rows), np.arange(mid.geometry.columns), indexing="ij")
    sp = mid.geometry.pixel_to_lps(srows, scols)
    canal = (np.abs(sp[..., 1] - CANAL_Y) <= SAC_RADIUS) & (np.abs(sp[..., 2]) < 110.0)
    canal_mask = SliceMask(
        structure=Structure.SPINAL_CANAL.value,
        series_instance_uid=sagittal.series_instance_uid,
        sop_instance_uid=mid.sop_instance_uid,
        frame_index=None,
        mask=canal,
        provenance=TEST_PROVENANCE,
    )
    finding = LevelFinding(
        level="L4-L5",
        condition=Condition.CENTRAL_CANAL_STENOSIS,
        grade=SchizasGrade.A,
        grade_probabilities=(
            (SchizasGrade.A, 0.7),
            (SchizasGrade.B, 0.2),
            (SchizasGrade.C, 0.08),
            (SchizasGrade.D, 0.02),
        ),
        dural_sac_area_mm2=float(np.pi * SAC_RADIUS**2),
        ap_diameter_mm=2 * SAC_RADIUS,
        confidence=0.8,
        axial_series_uid=axial.series_instance_uid,
        key_slice_sop_instance_uid=key.sop_instance_uid,
        key_slice_frame_index=None,
        warnings=(),
        provenance=TEST_PROVENANCE,
    )
    return StudyFindings(
        study_instance_uid=study.study_instance_uid,
        levels=levels,
        findings=(finding,),
        masks=(mask, canal_mask),
        explanations=(explanation,),
        provenance=TEST_PROVENANCE,
    )


# ---- a fake loader with the engine loader's signature ----------------------------------------


class FakeStudyLoader:
    """Stands in for engine.study.load_study: returns prepared studies by folder, reports
    progress in `steps` steps, honours cancel, and can be held until `release` is set."""

    def __init__(self, studies: dict[Path, Study] | None = None, steps: int = 5, hold: bool = False) -> None:
        self.studies = {Path(k): v for k, v in (studies or {}).items()}
        self.steps = steps
        self.release = threading.Event()
        if not hold:
            self.release.set()
        self.started = threading.Event()
        self.calls: list[Path] = []
        self.saw_cancel = False
        self.error: Exception | None = None

    def __call__(self, path, *, progress=None, cancel=None) -> Study:
        self.calls.append(Path(path))
        self.started.set()
        while not self.release.wait(0.01):
            if cancel is not None and cancel.is_set():
                self.saw_cancel = True
                study = self.studies[Path(path)]
                return dataclasses.replace(
                    study, load_report=dataclasses.replace(study.load_report, cancelled=True)
                )
        if self.error is not None:
            raise self.error
        for step in range(1, self.steps + 1):
            if progress is not None:
                progress(step, self.steps)
        return self.studies[Path(path)]


# ---- a tiny DICOM writer (the engine loader reads it back) ----------------------------------


def write_dicom_study(study: Study, folder: Path) -> Path:
    """Write every slice of an in-memory study as a single-frame MR DICOM file (uint16)."""
    from pydicom.dataset import FileDataset, FileMetaDataset
    from pydicom.uid import PYDICOM_IMPLEMENTATION_UID, ExplicitVRLittleEndian, MRImageStorage

    folder.mkdir(parents=True, exist_ok=True)
    for series in study.series:
        for index, image in enumerate(series.slices):
            g = image.geometry
            assert g is not None
            pixels = np.clip(np.round(series.slice_pixels(index)), 0, 65535).astype(np.uint16)
            meta = FileMetaDataset()
            meta.MediaStorageSOPClassUID = MRImageStorage
            meta.MediaStorageSOPInstanceUID = image.sop_instance_uid
            meta.TransferSyntaxUID = ExplicitVRLittleEndian
            meta.ImplementationClassUID = PYDICOM_IMPLEMENTATION_UID
            path = folder / f"s{series.series_number:02d}_{index + 1:03d}.dcm"
            ds = FileDataset(str(path), {}, file_meta=meta, preamble=b"\0" * 128)
            ds.SOPClassUID = MRImageStorage
            ds.SOPInstanceUID = image.sop_instance_uid
            ds.StudyInstanceUID = study.study_instance_uid
            ds.SeriesInstanceUID = series.series_instance_uid
            ds.Modality = "MR"
            ds.PatientName = study.patient.name
            ds.PatientID = study.patient.patient_id
            ds.PatientBirthDate = study.patient.birth_date
            ds.StudyDate = study.study_date
            ds.StudyDescription = study.description
            ds.SeriesDescription = series.description
            ds.SeriesNumber = series.series_number
            ds.InstanceNumber = index + 1
            ds.ImagePositionPatient = [round(v, 4) for v in g.position_lps]
            ds.ImageOrientationPatient = [round(v, 6) for v in (*g.row_direction, *g.column_direction)]
            ds.PixelSpacing = [round(v, 6) for v in g.pixel_spacing_mm]
            ds.SliceThickness = g.slice_thickness_mm or 4.0
            ds.Rows, ds.Columns = pixels.shape
            ds.SamplesPerPixel = 1
            ds.PhotometricInterpretation = "MONOCHROME2"
            ds.BitsAllocated = 16
            ds.BitsStored = 16
            ds.HighBit = 15
            ds.PixelRepresentation = 0
            ds.PixelData = pixels.tobytes()
            ds.save_as(path, enforce_file_format=True)
    return folder


# ---- pytest fixtures -------------------------------------------------------------------------


@pytest.fixture
def study_factory() -> Callable[..., Study]:
    return make_study


@pytest.fixture
def findings_factory() -> Callable[..., StudyFindings]:
    return make_findings


@pytest.fixture
def screenshot_dir(tmp_path: Path) -> Path:
    """Where tests save window screenshots: tmp_path, or $LSS_APP_SCREENSHOT_DIR to keep them."""
    kept = os.environ.get("LSS_APP_SCREENSHOT_DIR")
    folder = Path(kept) if kept else tmp_path / "screenshots"
    folder.mkdir(parents=True, exist_ok=True)
    return folder


@pytest.fixture
def make_window(qtbot, qapp) -> Iterator[Callable[..., object]]:
    """Factory for MainWindow under test; on teardown every window is shut down and checked to
    have left no subscriber on its session (the napari leak check)."""
    from lss_desktop.main_window import MainWindow
    from lss_desktop.theme import apply_dark_theme

    apply_dark_theme(qapp)
    windows: list[MainWindow] = []

    def create(**kwargs) -> MainWindow:
        kwargs.setdefault("show_dialogs", True)
        window = MainWindow(**kwargs)
        window.resize(1200, 800)
        qtbot.addWidget(window)
        window.show()
        qtbot.waitExposed(window)
        windows.append(window)
        return window

    yield create
    for window in windows:
        window.close()
        window.close()  # closing twice must be harmless
        leaked = {e.name: e.subscriber_count for e in window.session.events.all() if e.subscriber_count}
        assert leaked == {}, f"session subscribers left after close: {leaked}"


@pytest.fixture
def issue_list() -> tuple[LoadIssue, ...]:
    return (
        LoadIssue("junk/readme.txt", "not a DICOM file", IssueSeverity.SKIPPED),
        LoadIssue("series9/img0003.dcm", "truncated pixel data", IssueSeverity.SKIPPED),
    )


@pytest.fixture
def lumbar():
    """The phantom's builders and constants, for tests that need more than a study."""
    import types

    return types.SimpleNamespace(
        make_study=make_study,
        make_findings=make_findings,
        sac_mask=sac_mask,
        axial_geometry=axial_geometry,
        sagittal_geometries=sagittal_geometries,
        phantom_intensity=phantom_intensity,
        write_dicom_study=write_dicom_study,
        FakeStudyLoader=FakeStudyLoader,
        DISC_Z=DISC_Z,
        CANAL_Y=CANAL_Y,
        SAC_RADIUS=SAC_RADIUS,
        STUDY_UID=STUDY_UID,
    )
