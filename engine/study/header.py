"""One DICOM file's header -> `InstanceHeader`: identity, acquisition, per-frame geometry, pixels.

Classic single-frame images give one frame; Enhanced / Legacy Converted Enhanced MR give one
`FrameHeader` per frame from the per-frame and shared functional groups. Geometry problems do not
reject the file: the frame gets `geometry=None` and a warning names the field.
"""

from __future__ import annotations

import math
import struct
from collections.abc import Iterable
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import pydicom
from pydicom.dataelem import RawDataElement
from pydicom.dataset import Dataset
from pydicom.errors import InvalidDicomError
from pydicom.multival import MultiValue
from pydicom.tag import BaseTag

from engine.study.element_walker import (
    FastPathUnsupported,
    PixelDataLocation,
    TruncatedFileError,
    walk_header,
)
from engine.study.model import PatientInfo, SliceGeometry

# Top-level tags the loader reads; everything else in a header is skipped.
_HEADER_KEYWORDS = (
    "SpecificCharacterSet",
    "ImageType",
    "SOPClassUID",
    "SOPInstanceUID",
    "StudyDate",
    "AccessionNumber",
    "Modality",
    "Manufacturer",
    "StudyDescription",
    "SeriesDescription",
    "AcquisitionContrast",
    "PatientName",
    "PatientID",
    "PatientBirthDate",
    "PatientSex",
    "ScanningSequence",
    "SequenceVariant",
    "SequenceName",
    "SliceThickness",
    "RepetitionTime",
    "EchoTime",
    "InversionTime",
    "ProtocolName",
    "PulseSequenceName",
    "StudyInstanceUID",
    "SeriesInstanceUID",
    "SeriesNumber",
    "AcquisitionNumber",
    "InstanceNumber",
    "ImagePositionPatient",
    "ImageOrientationPatient",
    "SamplesPerPixel",
    "PhotometricInterpretation",
    "NumberOfFrames",
    "Rows",
    "Columns",
    "PixelSpacing",
    "BitsAllocated",
    "BitsStored",
    "PixelRepresentation",
    "WindowCenter",
    "WindowWidth",
    "RescaleIntercept",
    "RescaleSlope",
)
_FUNCTIONAL_GROUP_KEYWORDS = ("SharedFunctionalGroupsSequence", "PerFrameFunctionalGroupsSequence")
_PIXEL_DATA_TAG = 0x7FE00010
_FLOAT_PIXEL_TAGS = (0x7FE00008, 0x7FE00009)
HEADER_TAGS = frozenset(
    pydicom.datadict.tag_for_keyword(k) or 0 for k in _HEADER_KEYWORDS + _FUNCTIONAL_GROUP_KEYWORDS
) | {_PIXEL_DATA_TAG, *_FLOAT_PIXEL_TAGS}
_FAST_PATH_TAGS = HEADER_TAGS - {pydicom.datadict.tag_for_keyword(k) or 0 for k in _FUNCTIONAL_GROUP_KEYWORDS}
_TAG_OF_KEYWORD = {k: pydicom.datadict.tag_for_keyword(k) or 0 for k in _HEADER_KEYWORDS}
_DICTIONARY_VR = {tag: pydicom.datadict.dictionary_VR(tag) for tag in _TAG_OF_KEYWORD.values()}
_CHARSET_TAG = 0x00080005
_SIMPLE_CHARSETS = {"": "latin-1", "ISO_IR 6": "latin-1", "ISO_IR 100": "latin-1", "ISO_IR 192": "utf-8"}
_BINARY_FORMATS = {
    "US": ("H", 2),
    "SS": ("h", 2),
    "UL": ("I", 4),
    "SL": ("i", 4),
    "FL": ("f", 4),
    "FD": ("d", 8),
}
_SINGLE_VALUED_TEXT_VRS = frozenset({"LT", "ST", "UT"})
_DEFLATED_SYNTAX = "1.2.840.10008.1.2.1.99"
_BIG_ENDIAN_SYNTAX = "1.2.840.10008.1.2.2"
_NATIVE_SYNTAXES = ("1.2.840.10008.1.2", "1.2.840.10008.1.2.1", _BIG_ENDIAN_SYNTAX)
# Vectors of ImageOrientationPatient are unit length and orthogonal to about 1e-4 in practice;
# these tolerances reject broken values without rejecting rounded ones.
_UNIT_TOLERANCE = 0.05
_ORTHOGONAL_TOLERANCE = 0.05


class UnreadableFileError(Exception):
    """The file is not a DICOM image we can use; the message says why (for the load report)."""


@dataclass(frozen=True)
class PixelEncoding:
    """How one instance stores its pixels.

    native_offset: byte offset of frame 0 when the frames can be read straight from the file
        (uncompressed, not deflated), else None (decode through pydicom).
    """

    transfer_syntax_uid: str
    rows: int
    columns: int
    samples_per_pixel: int
    bits_allocated: int
    bits_stored: int
    signed: bool
    number_of_frames: int
    photometric_interpretation: str
    native_offset: int | None
    big_endian: bool
    float_pixels: bool = False

    @property
    def frame_bytes(self) -> int:
        """Bytes of one uncompressed frame."""
        pixels = self.rows * self.columns * self.samples_per_pixel
        return (pixels * self.bits_allocated + 7) // 8


@dataclass(frozen=True)
class FrameHeader:
    """One displayable frame: geometry in LPS mm (None when unusable), rescale and window."""

    frame_index: int | None  # 0-based in a multi-frame instance; None for single-frame
    geometry: SliceGeometry | None
    rescale_slope: float = 1.0
    rescale_intercept: float = 0.0
    window_centre: float | None = None
    window_width: float | None = None
    echo_time_ms: float | None = None
    in_stack_position: int | None = None


@dataclass(frozen=True)
class AcquisitionParameters:
    """MR acquisition tags used to recognise the sequence (times in ms)."""

    echo_time_ms: float | None = None
    repetition_time_ms: float | None = None
    inversion_time_ms: float | None = None
    scanning_sequence: tuple[str, ...] = ()
    sequence_variant: tuple[str, ...] = ()
    sequence_name: str = ""
    protocol_name: str = ""
    acquisition_contrast: str = ""


@dataclass(frozen=True)
class InstanceHeader:
    """What the loader needs from one DICOM file. Holds patient data: never log it."""

    path: Path
    sop_class_uid: str
    sop_instance_uid: str
    study_instance_uid: str
    series_instance_uid: str
    modality: str
    series_number: int | None
    series_description: str
    instance_number: int | None
    acquisition_number: int | None
    image_type: tuple[str, ...]
    manufacturer: str
    study_date: str
    study_description: str
    accession_number: str
    patient: PatientInfo
    acquisition: AcquisitionParameters
    pixels: PixelEncoding | None  # None when the file has no pixel data
    frames: tuple[FrameHeader, ...]
    warnings: tuple[str, ...] = ()  # problems that did not stop the file from loading


def read_instance_header(path: Path) -> InstanceHeader:
    """Read one file's header; raise UnreadableFileError with a report-ready reason."""
    try:
        walked = walk_header(path, _FAST_PATH_TAGS)
    except FastPathUnsupported:
        return _read_with_pydicom(path)
    except TruncatedFileError as exc:
        raise UnreadableFileError(f"truncated file: {exc}") from exc
    except OSError as exc:
        raise UnreadableFileError(f"cannot read the file: {exc.strerror or exc}") from exc
    values = _walked_values(walked.elements)
    return _header_from_dataset(path, values, walked.transfer_syntax_uid, walked.pixel_data, walked.file_size)


class _WalkedValues:
    """`Dataset.get`-like access to walked raw elements, decoding the few VRs the loader reads.

    Only for single-byte or UTF-8 character sets; other sets go through pydicom (_walked_values).
    Multi-valued elements decode to lists, like pydicom's MultiValue.
    """

    def __init__(self, elements: dict[int, tuple[str | None, bytes]], encoding: str) -> None:
        self._elements = elements
        self._encoding = encoding

    def __contains__(self, keyword: str) -> bool:
        return _TAG_OF_KEYWORD.get(keyword, -1) in self._elements

    def get(self, keyword: str, default: Any = None) -> Any:
        tag = _TAG_OF_KEYWORD.get(keyword)
        if tag is None:
            return default
        item = self._elements.get(tag)
        if item is None:
            return default
        vr, raw = item
        if vr is None or vr == "UN":
            vr = _DICTIONARY_VR[tag]
        if vr in _BINARY_FORMATS:
            code, width = _BINARY_FORMATS[vr]
            numbers = struct.unpack(f"<{len(raw) // width}{code}", raw[: len(raw) // width * width])
            return (numbers[0] if len(numbers) == 1 else list(numbers)) if numbers else default
        text = raw.decode(self._encoding, "replace").rstrip("\x00 ").strip()
        if vr in _SINGLE_VALUED_TEXT_VRS:
            return text
        parts = [p.strip() for p in text.split("\\")]
        return parts[0] if len(parts) == 1 else parts


# What header fields are read from: a pydicom Dataset, or walked elements.
TagValues = Dataset | _WalkedValues


def _walked_values(elements: dict[int, tuple[str | None, bytes]]) -> TagValues:
    charset_item = elements.get(_CHARSET_TAG)
    charset = (
        "" if charset_item is None else charset_item[1].decode("ascii", "replace").strip("\x00 ").upper()
    )
    encoding = _SIMPLE_CHARSETS.get(charset)
    if encoding is not None:
        return _WalkedValues(elements, encoding)
    # Other character sets (ISO 2022 escapes, GB18030...): let pydicom decode the values.
    return Dataset(
        {
            BaseTag(tag): RawDataElement(BaseTag(tag), vr, len(raw), raw, 0, vr is None, True)
            for tag, (vr, raw) in elements.items()
        }
    )


def _read_with_pydicom(path: Path) -> InstanceHeader:
    """General reader: other transfer syntaxes, files without preamble, Enhanced MR."""
    tags = sorted(HEADER_TAGS)
    try:
        try:
            ds = pydicom.dcmread(path, defer_size=256, specific_tags=tags)
        except InvalidDicomError:
            # Old files without the Part 10 preamble; accept only when the content looks like DICOM.
            ds = pydicom.dcmread(path, defer_size=256, specific_tags=tags, force=True)
            if "SOPClassUID" not in ds and "SeriesInstanceUID" not in ds:
                raise UnreadableFileError("not a DICOM file") from None
    except UnreadableFileError:
        raise
    except (EOFError, TruncatedFileError) as exc:
        raise UnreadableFileError(f"truncated file: {exc}") from exc
    except OSError as exc:
        raise UnreadableFileError(f"cannot read the file: {exc.strerror or exc}") from exc
    except Exception as exc:  # pydicom raises many types on garbage input
        raise UnreadableFileError(f"not a readable DICOM file ({type(exc).__name__}: {exc})") from exc
    file_meta = getattr(ds, "file_meta", None)
    syntax = str(file_meta.get("TransferSyntaxUID", "")) if file_meta is not None else ""
    if not syntax:
        syntax = "1.2.840.10008.1.2.1" if not ds.is_implicit_VR else "1.2.840.10008.1.2"
    location = None
    for tag in (_PIXEL_DATA_TAG, *_FLOAT_PIXEL_TAGS):
        if tag in ds:
            raw = ds.get_item(tag, keep_deferred=True)
            offset = int(getattr(raw, "value_tell", None) or getattr(raw, "file_tell", None) or 0)
            length = getattr(raw, "length", None)
            undefined = length is None or length == 0xFFFFFFFF
            if syntax == _DEFLATED_SYNTAX:
                offset = -1  # offsets inside the inflated stream do not address the file
            location = PixelDataLocation(offset, None if undefined else length, tag)
            break
    try:
        file_size = path.stat().st_size
    except OSError as exc:
        raise UnreadableFileError(f"cannot read the file: {exc.strerror or exc}") from exc
    return _header_from_dataset(path, ds, syntax, location, file_size)


def _header_from_dataset(
    path: Path, ds: TagValues, syntax: str, location: PixelDataLocation | None, file_size: int
) -> InstanceHeader:
    try:
        sop_instance_uid = _text(ds, "SOPInstanceUID")
        series_uid = _text(ds, "SeriesInstanceUID")
        study_uid = _text(ds, "StudyInstanceUID")
    except Exception as exc:
        raise UnreadableFileError(f"unreadable identifying UIDs ({exc})") from exc
    if not sop_instance_uid or not series_uid or not study_uid:
        missing = [
            n
            for n, v in (
                ("SOPInstanceUID", sop_instance_uid),
                ("SeriesInstanceUID", series_uid),
                ("StudyInstanceUID", study_uid),
            )
            if not v
        ]
        raise UnreadableFileError(f"missing {', '.join(missing)}")
    warnings: list[str] = []
    pixels = _pixel_encoding(ds, syntax, location, file_size, warnings)
    frames = _frames(ds, pixels, warnings)
    acquisition = _acquisition(ds)
    return InstanceHeader(
        path=path,
        sop_class_uid=_text(ds, "SOPClassUID"),
        sop_instance_uid=sop_instance_uid,
        study_instance_uid=study_uid,
        series_instance_uid=series_uid,
        modality=_text(ds, "Modality").upper(),
        series_number=_int(ds, "SeriesNumber"),
        series_description=_text(ds, "SeriesDescription"),
        instance_number=_int(ds, "InstanceNumber"),
        acquisition_number=_int(ds, "AcquisitionNumber"),
        image_type=tuple(v.upper() for v in _strings(ds, "ImageType")),
        manufacturer=_text(ds, "Manufacturer"),
        study_date=_text(ds, "StudyDate"),
        study_description=_text(ds, "StudyDescription"),
        accession_number=_text(ds, "AccessionNumber"),
        patient=PatientInfo(
            name=_text(ds, "PatientName"),
            patient_id=_text(ds, "PatientID"),
            birth_date=_text(ds, "PatientBirthDate"),
            sex=_text(ds, "PatientSex"),
        ),
        acquisition=acquisition,
        pixels=pixels,
        frames=frames,
        warnings=tuple(warnings),
    )


def _pixel_encoding(
    ds: TagValues, syntax: str, location: PixelDataLocation | None, file_size: int, warnings: list[str]
) -> PixelEncoding | None:
    if location is None:
        return None
    rows, columns = _int(ds, "Rows"), _int(ds, "Columns")
    bits_allocated = _int(ds, "BitsAllocated")
    if not rows or not columns or not bits_allocated:
        raise UnreadableFileError("pixel data without Rows, Columns or BitsAllocated")
    frames = _int(ds, "NumberOfFrames") or 1
    float_pixels = location.tag in _FLOAT_PIXEL_TAGS
    native = syntax in _NATIVE_SYNTAXES or float_pixels
    encoding = PixelEncoding(
        transfer_syntax_uid=syntax,
        rows=rows,
        columns=columns,
        samples_per_pixel=_int(ds, "SamplesPerPixel") or 1,
        bits_allocated=bits_allocated,
        bits_stored=_int(ds, "BitsStored") or bits_allocated,
        signed=_int(ds, "PixelRepresentation") == 1,
        number_of_frames=frames,
        photometric_interpretation=_text(ds, "PhotometricInterpretation").upper() or "MONOCHROME2",
        native_offset=location.offset if native and location.offset >= 0 else None,
        big_endian=syntax == _BIG_ENDIAN_SYNTAX,
        float_pixels=float_pixels,
    )
    if native:
        needed = encoding.frame_bytes * frames
        if location.length is not None and location.length < needed:
            raise UnreadableFileError(
                f"truncated pixel data: {location.length} bytes, the header needs {needed} "
                f"({frames} frame(s) of {rows}x{columns}, {bits_allocated} bits)"
            )
        if location.offset >= 0 and location.offset + needed > file_size:
            raise UnreadableFileError(
                f"truncated file: pixel data needs {needed} bytes from byte {location.offset}, "
                f"the file has {file_size} bytes"
            )
    return encoding


def _frames(ds: TagValues, pixels: PixelEncoding | None, warnings: list[str]) -> tuple[FrameHeader, ...]:
    per_frame = _sequence(ds, "PerFrameFunctionalGroupsSequence")
    if per_frame:
        shared_items = _sequence(ds, "SharedFunctionalGroupsSequence")
        shared = shared_items[0] if shared_items else Dataset()
        return tuple(_enhanced_frame(i, item, shared, ds, warnings) for i, item in enumerate(per_frame))
    geometry = _geometry(
        ds.get("ImagePositionPatient"),
        ds.get("ImageOrientationPatient"),
        ds.get("PixelSpacing"),
        pixels,
        _float(ds, "SliceThickness"),
        warnings,
        where="",
    )
    count = pixels.number_of_frames if pixels is not None else 1
    centre, width = _window(ds)
    frame = FrameHeader(
        frame_index=None,
        geometry=geometry,
        rescale_slope=_float(ds, "RescaleSlope", 1.0) or 1.0,
        rescale_intercept=_float(ds, "RescaleIntercept", 0.0) or 0.0,
        window_centre=centre,
        window_width=width,
        echo_time_ms=_float(ds, "EchoTime"),
    )
    if count == 1:
        return (frame,)
    # Classic IODs have no per-frame positions: the frames cannot be placed in space.
    warnings.append(f"{count} frames without per-frame geometry: frames load without geometry")
    return tuple(replace(frame, frame_index=i, geometry=None) for i in range(count))


def _enhanced_frame(
    index: int, item: Dataset, shared: Dataset, ds: TagValues, warnings: list[str]
) -> FrameHeader:
    def group(keyword: str) -> Dataset:
        for source in (item, shared):
            found = _sequence(source, keyword)
            if found:
                return found[0]
        return Dataset()

    measures = group("PixelMeasuresSequence")
    pixels_rows, pixels_columns = _int(ds, "Rows"), _int(ds, "Columns")
    geometry = _geometry(
        group("PlanePositionSequence").get("ImagePositionPatient"),
        group("PlaneOrientationSequence").get("ImageOrientationPatient"),
        measures.get("PixelSpacing"),
        None if not pixels_rows or not pixels_columns else (pixels_rows, pixels_columns),
        _float(measures, "SliceThickness"),
        warnings,
        where=f"frame {index + 1}: ",
    )
    transform = group("PixelValueTransformationSequence")
    centre, width = _window(group("FrameVOILUTSequence"))
    return FrameHeader(
        frame_index=index,
        geometry=geometry,
        rescale_slope=_float(transform, "RescaleSlope", 1.0) or 1.0,
        rescale_intercept=_float(transform, "RescaleIntercept", 0.0) or 0.0,
        window_centre=centre,
        window_width=width,
        echo_time_ms=_float(group("MREchoSequence"), "EffectiveEchoTime"),
        in_stack_position=_int(group("FrameContentSequence"), "InStackPositionNumber"),
    )


def _geometry(
    position: Any,
    orientation: Any,
    spacing: Any,
    matrix: PixelEncoding | tuple[int, int] | None,
    thickness: float | None,
    warnings: list[str],
    *,
    where: str,
) -> SliceGeometry | None:
    """Validated slice geometry, or None with a warning naming the missing or broken field."""
    if matrix is None:
        return None
    rows, columns = (matrix.rows, matrix.columns) if isinstance(matrix, PixelEncoding) else matrix
    problems: list[str] = []
    ipp = _floats(position, 3, "ImagePositionPatient", problems)
    iop = _floats(orientation, 6, "ImageOrientationPatient", problems)
    ps = _floats(spacing, 2, "PixelSpacing", problems)
    if iop is not None:
        row, col = iop[:3], iop[3:]
        row_norm, col_norm = math.sqrt(sum(v * v for v in row)), math.sqrt(sum(v * v for v in col))
        if abs(row_norm - 1) > _UNIT_TOLERANCE or abs(col_norm - 1) > _UNIT_TOLERANCE:
            problems.append("ImageOrientationPatient vectors are not unit length")
        elif abs(sum(a * b for a, b in zip(row, col, strict=True))) > _ORTHOGONAL_TOLERANCE:
            problems.append("ImageOrientationPatient vectors are not orthogonal")
    if ps is not None and min(ps) <= 0:
        problems.append("PixelSpacing is not positive")
    if problems or ipp is None or iop is None or ps is None:
        warnings.append(f"{where}no usable geometry ({'; '.join(problems)})")
        return None
    row, col = iop[:3], iop[3:]
    row_norm, col_norm = math.sqrt(sum(v * v for v in row)), math.sqrt(sum(v * v for v in col))
    return SliceGeometry(
        position_lps=(ipp[0], ipp[1], ipp[2]),
        row_direction=(row[0] / row_norm, row[1] / row_norm, row[2] / row_norm),
        column_direction=(col[0] / col_norm, col[1] / col_norm, col[2] / col_norm),
        pixel_spacing_mm=(ps[0], ps[1]),
        rows=rows,
        columns=columns,
        slice_thickness_mm=thickness if thickness is not None and thickness > 0 else None,
    )


def _floats(value: Any, count: int, name: str, problems: list[str]) -> list[float] | None:
    if value is None or value == "":
        problems.append(f"missing {name}")
        return None
    try:
        numbers = [
            float(v)
            for v in (value if isinstance(value, Iterable) and not isinstance(value, str) else [value])
        ]
    except (TypeError, ValueError):
        problems.append(f"{name} is not numeric")
        return None
    if len(numbers) != count:
        problems.append(f"{name} has {len(numbers)} values instead of {count}")
        return None
    if not all(math.isfinite(v) for v in numbers):
        problems.append(f"{name} is not finite")
        return None
    return numbers


def _acquisition(ds: TagValues) -> AcquisitionParameters:
    shared_items = _sequence(ds, "SharedFunctionalGroupsSequence")
    per_frame = _sequence(ds, "PerFrameFunctionalGroupsSequence")
    groups = [
        g for g in (shared_items[0] if shared_items else None, per_frame[0] if per_frame else None) if g
    ]

    def from_groups(sequence: str, keyword: str) -> Any:
        for g in groups:
            items = _sequence(g, sequence)
            if items and keyword in items[0]:
                return items[0].get(keyword)
        return None

    echo = _float(ds, "EchoTime")
    if echo is None:
        echo = _to_float(from_groups("MREchoSequence", "EffectiveEchoTime"))
    repetition = _float(ds, "RepetitionTime")
    if repetition is None:
        repetition = _to_float(from_groups("MRTimingAndRelatedParametersSequence", "RepetitionTime"))
    inversion = _float(ds, "InversionTime")
    if inversion is None:
        times = from_groups("MRModifierSequence", "InversionTimes")
        inversion = _to_float(times[0] if isinstance(times, list | tuple | MultiValue) else times)
    contrast = _text(ds, "AcquisitionContrast") or str(
        from_groups("MRImageFrameTypeSequence", "AcquisitionContrast") or ""
    )
    return AcquisitionParameters(
        echo_time_ms=echo,
        repetition_time_ms=repetition,
        inversion_time_ms=inversion,
        scanning_sequence=tuple(v.upper() for v in _strings(ds, "ScanningSequence")),
        sequence_variant=tuple(v.upper() for v in _strings(ds, "SequenceVariant")),
        sequence_name=_text(ds, "SequenceName") or _text(ds, "PulseSequenceName"),
        protocol_name=_text(ds, "ProtocolName"),
        acquisition_contrast=contrast.upper(),
    )


def _window(ds: TagValues) -> tuple[float | None, float | None]:
    return _first_float(ds, "WindowCenter"), _first_float(ds, "WindowWidth")


def _sequence(ds: TagValues, keyword: str) -> list[Dataset]:
    try:
        value = ds.get(keyword)
    except Exception:  # a broken sequence is treated as absent
        return []
    return list(value) if value else []


def _get(ds: TagValues, keyword: str) -> Any:
    try:
        return ds.get(keyword)
    except Exception:  # invalid values read as missing
        return None


def _text(ds: TagValues, keyword: str) -> str:
    value = _get(ds, keyword)
    if value is None:
        return ""
    if isinstance(value, list | tuple | MultiValue):
        value = "\\".join(str(v) for v in value)
    return str(value).strip()


def _strings(ds: TagValues, keyword: str) -> tuple[str, ...]:
    value = _get(ds, keyword)
    if value is None or value == "":
        return ()
    if isinstance(value, list | tuple | MultiValue):
        return tuple(str(v).strip() for v in value)
    return (str(value).strip(),)


def _to_float(value: Any) -> float | None:
    try:
        number = float(value)
    except (TypeError, ValueError):
        return None
    return number if math.isfinite(number) else None


def _float(ds: TagValues, keyword: str, default: float | None = None) -> float | None:
    number = _to_float(_get(ds, keyword))
    return default if number is None else number


def _first_float(ds: TagValues, keyword: str) -> float | None:
    value = _get(ds, keyword)
    if isinstance(value, Iterable) and not isinstance(value, str):
        value = next(iter(value), None)
    return _to_float(value)


def _int(ds: TagValues, keyword: str) -> int | None:
    number = _to_float(_get(ds, keyword))
    return None if number is None else int(number)
