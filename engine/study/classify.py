"""Recognition from DICOM tags: image plane, MR sequence weighting, and what is not an MR series.

Plane: the slice normal (LPS) names the plane by its dominant axis (x: sagittal, y: coronal,
z: axial). A series is called OBLIQUE only when its mean normal lies more than
`OBLIQUE_THRESHOLD_DEG` from every axis: lumbar axials angled parallel to a disc are tilted up
to ~30-35° and are still read as axials.

Sequence (first rule that applies wins):
1. STIR when the series description, protocol or sequence name says STIR or TIRM (Siemens).
2. STIR when ScanningSequence has IR and InversionTime is at most 300 ms (fat-nulling TI:
   ~150 ms at 1.5 T, ~220 ms at 3 T).
3. FLAIR (text FLAIR, or IR with InversionTime >= 1500 ms): T1 when the text also says T1,
   otherwise UNKNOWN; a T2-FLAIR has dark CSF and must not stand in for a T2.
4. The text names exactly one of T1 / T2 (tokens like "T2", "T2W", "t2_tse", "SAGT1").
5. Enhanced MR AcquisitionContrast T1 or T2.
6. Timing, spin-echo or inversion-recovery families only (gradient echo is ambiguous):
   T1 when TR < 1000 ms and TE < 30 ms, or IR with 600 <= TI <= 1200 ms and TE < 30 ms
   (T1-FLAIR); T2 when TR >= 1500 ms and TE >= 60 ms. Proton density (long TR, short TE) and
   everything else stay UNKNOWN.

Set aside (with a reason): any SOP class that is not an MR image (SR, KO, PR, SEG, secondary
captures, encapsulated documents, spectroscopy, other modalities), colour MR images, localizers
(ImageType LOCALIZER, or a description like "localizer", "scout", "survey", "pilot",
"3-plane"), projection images (ImageType PROJECTION IMAGE / MIP), and tiny series whose slices lie
in more than one plane (3-plane scouts; see assemble.py).
"""

from __future__ import annotations

import math
import re

import numpy as np

from engine.study.header import AcquisitionParameters, InstanceHeader
from engine.study.model import Orientation, Sequence

OBLIQUE_THRESHOLD_DEG = 40.0

MR_IMAGE_SOP_CLASSES = frozenset(
    {
        "1.2.840.10008.5.1.4.1.1.4",  # MR Image Storage
        "1.2.840.10008.5.1.4.1.1.4.1",  # Enhanced MR Image Storage
        "1.2.840.10008.5.1.4.1.1.4.4",  # Legacy Converted Enhanced MR Image Storage
    }
)
# SOP class UID prefixes of objects that are not images to read, with the reason shown.
_NON_IMAGE_SOP_CLASSES: tuple[tuple[str, str], ...] = (
    ("1.2.840.10008.5.1.4.1.1.88.59", "key object selection (KO), not an image"),
    ("1.2.840.10008.5.1.4.1.1.88.", "structured report (SR), not an image"),
    ("1.2.840.10008.5.1.4.1.1.11.", "presentation state (PR), not an image"),
    ("1.2.840.10008.5.1.4.1.1.66.4", "segmentation (SEG), not an acquired image"),
    ("1.2.840.10008.5.1.4.1.1.66", "registration or spatial object, not an image"),
    (
        "1.2.840.10008.5.1.4.1.1.7",
        "secondary capture (screen capture or scanned document), not an acquired MR image",
    ),
    ("1.2.840.10008.5.1.4.1.1.104.", "encapsulated document (PDF/CDA), not an image"),
    ("1.2.840.10008.5.1.4.1.1.4.2", "MR spectroscopy, not an image"),
    ("1.2.840.10008.5.1.4.1.1.4.3", "enhanced MR colour image, not a greyscale MR slice"),
)
_LOCALIZER_DESCRIPTION = re.compile(
    r"locali[sz]er|scout|survey|pilot|3[\s_-]?pl(?:ane)?|tri[\s_-]?plane|(?<![a-z])loc(?![a-z])",
    re.IGNORECASE,
)
_STIR_TEXT = re.compile(r"STIR|TIRM", re.IGNORECASE)
_FLAIR_TEXT = re.compile(r"FLAIR", re.IGNORECASE)
_T1_TEXT = re.compile(r"(?<![0-9])T1(?![0-9])", re.IGNORECASE)
_T2_TEXT = re.compile(r"(?<![0-9])T2(?![0-9])", re.IGNORECASE)
_AXES = (Orientation.SAGITTAL, Orientation.CORONAL, Orientation.AXIAL)


def nearest_plane(normal: np.ndarray) -> Orientation:
    """Plane whose axis is closest to `normal` (3,), LPS; never OBLIQUE."""
    return _AXES[int(np.argmax(np.abs(np.asarray(normal, dtype=np.float64))))]


def orientation_of(mean_normal: np.ndarray | None) -> Orientation:
    """Orientation of a series from its mean slice normal (3,); UNKNOWN without geometry."""
    if mean_normal is None:
        return Orientation.UNKNOWN
    n = np.asarray(mean_normal, dtype=np.float64)
    length = float(np.linalg.norm(n))
    if length == 0 or not math.isfinite(length):
        return Orientation.UNKNOWN
    largest = float(np.max(np.abs(n))) / length
    if math.degrees(math.acos(min(1.0, largest))) > OBLIQUE_THRESHOLD_DEG:
        return Orientation.OBLIQUE
    return nearest_plane(n)


def classify_sequence(description: str, acquisition: AcquisitionParameters) -> Sequence:
    """T1 / T2 / STIR from the tags, by the rules in this module's docstring."""
    text = " ".join((description, acquisition.protocol_name, acquisition.sequence_name))
    is_ir = "IR" in acquisition.scanning_sequence
    ti = acquisition.inversion_time_ms
    if _STIR_TEXT.search(text):
        return Sequence.STIR
    if is_ir and ti is not None and 0 < ti <= 300:
        return Sequence.STIR
    says_t1, says_t2 = bool(_T1_TEXT.search(text)), bool(_T2_TEXT.search(text))
    if _FLAIR_TEXT.search(text) or (is_ir and ti is not None and ti >= 1500):
        return Sequence.T1 if says_t1 and not says_t2 else Sequence.UNKNOWN
    if says_t1 != says_t2:
        return Sequence.T1 if says_t1 else Sequence.T2
    if acquisition.acquisition_contrast in ("T1", "T2"):
        return Sequence(acquisition.acquisition_contrast)
    return _sequence_from_timing(acquisition)


def _sequence_from_timing(acquisition: AcquisitionParameters) -> Sequence:
    families = set(acquisition.scanning_sequence)
    if families and not families & {"SE", "IR"}:
        return Sequence.UNKNOWN
    tr, te, ti = acquisition.repetition_time_ms, acquisition.echo_time_ms, acquisition.inversion_time_ms
    if tr is None or te is None:
        return Sequence.UNKNOWN
    if "IR" in families and ti is not None and 600 <= ti <= 1200 and te < 30:
        return Sequence.T1
    if tr < 1000 and te < 30:
        return Sequence.T1
    if tr >= 1500 and te >= 60:
        return Sequence.T2
    return Sequence.UNKNOWN


def is_mr_image_class(header: InstanceHeader) -> bool:
    """An MR image SOP class (or an old file without SOP class that says MR)."""
    if header.sop_class_uid:
        return header.sop_class_uid in MR_IMAGE_SOP_CLASSES
    return header.modality == "MR"


def set_aside_reason(header: InstanceHeader) -> str | None:
    """Why this instance is not an MR slice to read, or None when it is one."""
    if not is_mr_image_class(header):
        for prefix, reason in _NON_IMAGE_SOP_CLASSES:
            if header.sop_class_uid.startswith(prefix):
                return reason
        modality = header.modality or "unknown modality"
        return f"{modality} object, not an MR image"
    if header.pixels is not None and header.pixels.samples_per_pixel != 1:
        return "colour image (fused or parametric map), not a greyscale MR slice"
    if "LOCALIZER" in header.image_type:
        return "localizer (ImageType LOCALIZER)"
    if "PROJECTION IMAGE" in header.image_type or "MIP" in header.image_type:
        return "projection image (MIP), not a slice stack"
    return None


def localizer_description(description: str) -> bool:
    """True when a series description names a localizer / scout / survey."""
    return bool(_LOCALIZER_DESCRIPTION.search(description))
