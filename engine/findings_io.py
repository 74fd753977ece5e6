"""The findings file: what `lss analyze` writes and `lss report` reads. A JSON document with an NPZ
of masks beside it.

Format, schema "lss-findings" version 1.1 (`engine.findings.FINDINGS_SCHEMA_VERSION`)
-------------------------------------------------------------------------------------------
`<name>.json`, UTF-8::

    {
      "schema": "lss-findings",
      "schema_version": "1.1",
      "study_instance_uid": "1.2.826...",
      "provenance": PROVENANCE or null,          # the analysis as a whole
      "warnings": ["..."],                       # study-level warnings, for the reader
      "levels": [                                # discs found on the sagittal series
        {
          "label": "L4-L5",                      # L1-L2 ... L5-S1 (other labels after a relabel)
          "centre_lps": [x, y, z],               # disc centre, patient coordinates (LPS), mm
          "normal_lps": [x, y, z],               # unit vector perpendicular to the disc plane
          "confidence": 0.97,                    # 0..1
          "sagittal_series_uid": "...",
          "sagittal_sop_instance_uid": "...",    # the sagittal image the disc was found on
          "label_overridden": false              # true when a person changed the label
        }
      ],
      "other_discs": [LEVEL, ...],               # (1.1) discs found but not analysed, e.g. T12-L1
      "load_report": LOAD_REPORT or null,        # (1.1) how the study was read
      "findings": [                              # one per (level, condition)
        {
          "level": "L4-L5",
          "condition": "central_canal_stenosis",
          "grade": "C",                          # Schizas A, B, C or D
          "grade_probabilities": {"A": 0.06, "B": 0.06, "C": 0.82, "D": 0.06},   # sum 1
          "dural_sac_area_mm2": 61.3,            # or null when not measured
          "ap_diameter_mm": 7.84,                # or null
          "confidence": 0.82,                    # 0..1
          "axial_series_uid": "..." or null,
          "key_slice_sop_instance_uid": "..." or null,   # SOPInstanceUID of the key axial image
          "key_slice_frame_index": null or 0-based frame (multi-frame images),
          "warnings": ["grade and dural sac area disagree"],
          "provenance": PROVENANCE,
          "measured_on_edited_mask": false
        }
      ],
      "masks": [MASK, ...],                      # segmentations (bool) on single images
      "explanations": [MASK, ...],               # attention maps (float32, 0..1) on key images
      "mask_file": "<name>.masks.npz" or null    # beside the JSON; null when there are no masks
    }

    MASK = {"key": "mask-000", "structure": "dural sac", "series_instance_uid": "...",
            "sop_instance_uid": "...", "frame_index": null, "shape": [rows, columns],
            "dtype": "bool" or "float32", "sha256": "...",  # of dtype, shape and pixels
            "provenance": PROVENANCE or null, "edited_by_person": false}
    LEVEL = an entry as in "levels"
    LOAD_REPORT = {"files_found": 120, "files_loaded": 118, "cancelled": false,
                   "issues": [{"path": "...", "reason": "...", "severity": "skipped"}]}
    PROVENANCE = {"model_name": "...", "model_version": "...", "model_sha256": "...",
                  "engine_version": "...", "parameters": {"name": "value", ...}}

`<name>.masks.npz`: one array per MASK "key", shape (rows, columns), row 0 at the top of the image
as stored in the DICOM file.

Versioning: the major number changes when a reader of the old version would misread a file; a
reader refuses another major version and ignores fields it does not know (minor additions).
1.1 added "other_discs" and "load_report"; both are optional when reading.
Both files are written atomically (masks first, so the JSON never points at a missing file);
reading checks every field and every mask's sha256 and names the file and field that is wrong.
"""

from __future__ import annotations

import hashlib
import io
import json
import os
import zipfile
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np

from engine.atomic_file import write_bytes_atomically, write_text_atomically
from engine.findings import (
    FINDINGS_SCHEMA_VERSION,
    Condition,
    DiscLevel,
    LevelFinding,
    Provenance,
    SchizasGrade,
    SliceMask,
    StudyFindings,
)
from engine.study.model import IssueSeverity, LoadIssue, LoadReport

SCHEMA_NAME = "lss-findings"


class FindingsFormatError(ValueError):
    """A findings file or document is wrong; the message names the file and the field."""


def array_sha256(array: np.ndarray) -> str:
    """sha256 of an array's dtype, shape and bytes (C order)."""
    a = np.ascontiguousarray(array)
    h = hashlib.sha256(f"{a.dtype.str}{a.shape}".encode())
    h.update(a.tobytes())
    return h.hexdigest()


def _provenance_json(p: Provenance | None) -> dict[str, Any] | None:
    return None if p is None else p.as_dict()


def _mask_json(m: SliceMask, key: str) -> dict[str, Any]:
    return {
        "key": key,
        "structure": m.structure,
        "series_instance_uid": m.series_instance_uid,
        "sop_instance_uid": m.sop_instance_uid,
        "frame_index": m.frame_index,
        "shape": list(m.mask.shape),
        "dtype": str(_stored_array(m.mask).dtype),
        "sha256": array_sha256(_stored_array(m.mask)),
        "provenance": _provenance_json(m.provenance),
        "edited_by_person": m.edited_by_person,
    }


def _stored_array(a: np.ndarray) -> np.ndarray:
    """Masks are stored as bool, explanation maps as float32."""
    return a if a.dtype == np.bool_ else a.astype(np.float32)


def _level_json(d: DiscLevel) -> dict[str, Any]:
    return {
        "label": d.label,
        "centre_lps": list(d.centre_lps),
        "normal_lps": list(d.normal_lps),
        "confidence": d.confidence,
        "sagittal_series_uid": d.sagittal_series_uid,
        "sagittal_sop_instance_uid": d.sagittal_sop_instance_uid,
        "label_overridden": d.label_overridden,
    }


def _load_report_json(report: LoadReport | None) -> dict[str, Any] | None:
    if report is None:
        return None
    return {
        "files_found": report.files_found,
        "files_loaded": report.files_loaded,
        "cancelled": report.cancelled,
        "issues": [{"path": i.path, "reason": i.reason, "severity": i.severity.value} for i in report.issues],
    }


def _keys(findings: StudyFindings) -> tuple[list[str], list[str]]:
    return (
        [f"mask-{i:03d}" for i in range(len(findings.masks))],
        [f"explanation-{i:03d}" for i in range(len(findings.explanations))],
    )


def findings_to_json(findings: StudyFindings, mask_file: str | None = None) -> dict[str, Any]:
    """The JSON document of `findings` (masks by key; their pixels go in `mask_arrays`)."""
    mask_keys, explanation_keys = _keys(findings)
    return {
        "schema": SCHEMA_NAME,
        "schema_version": FINDINGS_SCHEMA_VERSION,
        "study_instance_uid": findings.study_instance_uid,
        "provenance": _provenance_json(findings.provenance),
        "warnings": list(findings.warnings),
        "levels": [_level_json(d) for d in findings.levels],
        "other_discs": [_level_json(d) for d in findings.other_discs],
        "load_report": _load_report_json(findings.load_report),
        "findings": [
            {
                "level": f.level,
                "condition": f.condition.value,
                "grade": f.grade.value,
                "grade_probabilities": {g.value: p for g, p in f.grade_probabilities},
                "dural_sac_area_mm2": f.dural_sac_area_mm2,
                "ap_diameter_mm": f.ap_diameter_mm,
                "confidence": f.confidence,
                "axial_series_uid": f.axial_series_uid,
                "key_slice_sop_instance_uid": f.key_slice_sop_instance_uid,
                "key_slice_frame_index": f.key_slice_frame_index,
                "warnings": list(f.warnings),
                "provenance": _provenance_json(f.provenance),
                "measured_on_edited_mask": f.measured_on_edited_mask,
            }
            for f in findings.findings
        ],
        "masks": [_mask_json(m, k) for m, k in zip(findings.masks, mask_keys, strict=True)],
        "explanations": [
            _mask_json(m, k) for m, k in zip(findings.explanations, explanation_keys, strict=True)
        ],
        "mask_file": mask_file,
    }


def mask_arrays(findings: StudyFindings) -> dict[str, np.ndarray]:
    """Mask pixels by the keys `findings_to_json` gives them."""
    mask_keys, explanation_keys = _keys(findings)
    arrays = {k: _stored_array(m.mask) for m, k in zip(findings.masks, mask_keys, strict=True)}
    arrays.update(
        {k: _stored_array(m.mask) for m, k in zip(findings.explanations, explanation_keys, strict=True)}
    )
    return arrays


class _Reader:
    """Typed access to a JSON document that names the field in every error."""

    def __init__(self, source: str) -> None:
        self.source = source

    def fail(self, where: str, message: str) -> FindingsFormatError:
        return FindingsFormatError(f"{self.source}: {where}: {message}")

    def get(self, obj: Any, key: str, where: str) -> Any:
        if not isinstance(obj, dict):
            raise self.fail(where, "must be an object")
        if key not in obj:
            raise self.fail(f"{where}.{key}" if where else key, "is missing")
        return obj[key]

    def text(self, obj: Any, key: str, where: str, optional: bool = False) -> str | None:
        v = self.get(obj, key, where)
        if v is None and optional:
            return None
        if not isinstance(v, str) or not v:
            raise self.fail(f"{where}.{key}", f"must be a non-empty string, not {v!r}")
        return v

    def number(
        self, obj: Any, key: str, where: str, optional: bool = False, unit: bool = False
    ) -> float | None:
        v = self.get(obj, key, where)
        if v is None and optional:
            return None
        if isinstance(v, bool) or not isinstance(v, int | float) or not np.isfinite(v):
            raise self.fail(f"{where}.{key}", f"must be a number, not {v!r}")
        if unit and not 0.0 <= float(v) <= 1.0:
            raise self.fail(f"{where}.{key}", f"must be between 0 and 1, not {v!r}")
        return float(v)

    def flag(self, obj: Any, key: str, where: str) -> bool:
        v = obj.get(key, False) if isinstance(obj, dict) else None
        if not isinstance(v, bool):
            raise self.fail(f"{where}.{key}", f"must be true or false, not {v!r}")
        return v

    def items(self, obj: Any, key: str, where: str) -> list[Any]:
        v = self.get(obj, key, where)
        if not isinstance(v, list):
            raise self.fail(f"{where}.{key}" if where else key, "must be a list")
        return v

    def strings(self, obj: Any, key: str, where: str) -> tuple[str, ...]:
        v = obj.get(key, []) if isinstance(obj, dict) else None
        if not isinstance(v, list) or not all(isinstance(s, str) for s in v):
            raise self.fail(f"{where}.{key}", "must be a list of strings")
        return tuple(v)

    def frame(self, obj: Any, key: str, where: str) -> int | None:
        v = obj.get(key) if isinstance(obj, dict) else None
        if v is not None and (isinstance(v, bool) or not isinstance(v, int) or v < 0):
            raise self.fail(f"{where}.{key}", f"must be null or a frame index >= 0, not {v!r}")
        return v

    def vector(self, obj: Any, key: str, where: str) -> tuple[float, float, float]:
        v = self.get(obj, key, where)
        if not isinstance(v, list) or len(v) != 3 or not all(isinstance(x, int | float) for x in v):
            raise self.fail(f"{where}.{key}", "must be a list of 3 numbers")
        return (float(v[0]), float(v[1]), float(v[2]))

    def provenance(self, obj: Any, key: str, where: str, optional: bool) -> Provenance | None:
        v = obj.get(key) if isinstance(obj, dict) else None
        w = f"{where}.{key}" if where else key
        if v is None:
            if optional:
                return None
            raise self.fail(w, "is missing")
        params = v.get("parameters", {}) if isinstance(v, dict) else None
        if not isinstance(params, dict):
            raise self.fail(f"{w}.parameters", "must be an object of name: value")
        return Provenance(
            model_name=str(self.text(v, "model_name", w)),
            model_version=str(self.text(v, "model_version", w)),
            model_sha256=str(self.text(v, "model_sha256", w)),
            engine_version=str(self.text(v, "engine_version", w)),
            parameters=tuple((str(k), str(p)) for k, p in params.items()),
        )


def _read_level(r: _Reader, d: Any, where: str) -> DiscLevel:
    return DiscLevel(
        label=str(r.text(d, "label", where)),
        centre_lps=r.vector(d, "centre_lps", where),
        normal_lps=r.vector(d, "normal_lps", where),
        confidence=float(r.number(d, "confidence", where, unit=True) or 0.0),
        sagittal_series_uid=str(r.text(d, "sagittal_series_uid", where)),
        sagittal_sop_instance_uid=str(r.text(d, "sagittal_sop_instance_uid", where)),
        label_overridden=r.flag(d, "label_overridden", where),
    )


def _read_load_report(r: _Reader, data: Any) -> LoadReport | None:
    report = data.get("load_report") if isinstance(data, dict) else None
    if report is None:
        return None
    issues = []
    for i, issue in enumerate(r.items(report, "issues", "load_report")):
        where = f"load_report.issues[{i}]"
        severity = r.get(issue, "severity", where)
        try:
            issues.append(
                LoadIssue(
                    str(r.get(issue, "path", where)),
                    str(r.get(issue, "reason", where)),
                    IssueSeverity(severity),
                )
            )
        except ValueError:
            known = ", ".join(s.value for s in IssueSeverity)
            raise r.fail(f"{where}.severity", f"{severity!r} is not one of {known}") from None
    return LoadReport(
        files_found=int(r.number(report, "files_found", "load_report") or 0),
        files_loaded=int(r.number(report, "files_loaded", "load_report") or 0),
        issues=tuple(issues),
        cancelled=r.flag(report, "cancelled", "load_report"),
    )


def _read_finding(r: _Reader, f: Any, where: str) -> LevelFinding:
    grade_text = r.get(f, "grade", where)
    try:
        grade = SchizasGrade(grade_text)
    except ValueError:
        raise r.fail(f"{where}.grade", f"{grade_text!r} is not one of A, B, C, D") from None
    condition_text = r.get(f, "condition", where)
    try:
        condition = Condition(condition_text)
    except ValueError:
        known = ", ".join(c.value for c in Condition)
        raise r.fail(f"{where}.condition", f"{condition_text!r} is not one of {known}") from None
    probs = r.get(f, "grade_probabilities", where)
    if not isinstance(probs, dict) or set(probs) != {g.value for g in SchizasGrade}:
        raise r.fail(f"{where}.grade_probabilities", "must give a probability for each of A, B, C, D")
    values = {
        g: r.number(probs, g.value, f"{where}.grade_probabilities", unit=True) or 0.0 for g in SchizasGrade
    }
    if abs(sum(values.values()) - 1.0) > 1e-3:
        raise r.fail(f"{where}.grade_probabilities", f"must sum to 1, not {sum(values.values()):.4f}")
    provenance = r.provenance(f, "provenance", where, optional=False)
    assert provenance is not None
    return LevelFinding(
        level=str(r.text(f, "level", where)),
        condition=condition,
        grade=grade,
        grade_probabilities=tuple(values.items()),
        dural_sac_area_mm2=r.number(f, "dural_sac_area_mm2", where, optional=True),
        ap_diameter_mm=r.number(f, "ap_diameter_mm", where, optional=True),
        confidence=float(r.number(f, "confidence", where, unit=True) or 0.0),
        axial_series_uid=r.text(f, "axial_series_uid", where, optional=True),
        key_slice_sop_instance_uid=r.text(f, "key_slice_sop_instance_uid", where, optional=True),
        key_slice_frame_index=r.frame(f, "key_slice_frame_index", where),
        warnings=r.strings(f, "warnings", where),
        provenance=provenance,
        measured_on_edited_mask=r.flag(f, "measured_on_edited_mask", where),
    )


def _read_mask(r: _Reader, m: Any, where: str, arrays: Mapping[str, np.ndarray]) -> SliceMask:
    key = str(r.text(m, "key", where))
    if key not in arrays:
        raise r.fail(f"{where}.key", f"mask {key!r} is not in the mask file")
    array = np.asarray(arrays[key])
    shape = r.get(m, "shape", where)
    if list(array.shape) != shape or array.ndim != 2:
        raise r.fail(f"{where}.shape", f"says {shape}, the mask file holds {list(array.shape)}")
    if array_sha256(array) != r.get(m, "sha256", where):
        raise r.fail(
            f"{where}.sha256", f"mask {key!r} does not match its checksum (the mask file was changed)"
        )
    return SliceMask(
        structure=str(r.text(m, "structure", where)),
        series_instance_uid=str(r.text(m, "series_instance_uid", where)),
        sop_instance_uid=str(r.text(m, "sop_instance_uid", where)),
        frame_index=r.frame(m, "frame_index", where),
        mask=array,
        provenance=r.provenance(m, "provenance", where, optional=True),
        edited_by_person=r.flag(m, "edited_by_person", where),
    )


def findings_from_json(
    data: Any, arrays: Mapping[str, np.ndarray] | None = None, source: str = "<findings>"
) -> StudyFindings:
    """Read a findings document; `arrays` holds the mask pixels by key (needed when it lists masks).

    Raises FindingsFormatError naming `source` and the field that is wrong.
    """
    r = _Reader(source)
    if r.get(data, "schema", "") != SCHEMA_NAME:
        raise r.fail("schema", f"must be {SCHEMA_NAME!r}: this is not an LSS findings file")
    version = str(r.get(data, "schema_version", ""))
    if version.split(".")[0] != FINDINGS_SCHEMA_VERSION.split(".")[0]:
        raise r.fail(
            "schema_version", f"{version!r} is not supported (this version reads {FINDINGS_SCHEMA_VERSION})"
        )
    arrays = arrays or {}
    return StudyFindings(
        study_instance_uid=str(r.text(data, "study_instance_uid", "")),
        levels=tuple(_read_level(r, d, f"levels[{i}]") for i, d in enumerate(r.items(data, "levels", ""))),
        other_discs=tuple(
            _read_level(r, d, f"other_discs[{i}]") for i, d in enumerate(data.get("other_discs", []))
        ),
        load_report=_read_load_report(r, data),
        findings=tuple(
            _read_finding(r, f, f"findings[{i}]") for i, f in enumerate(r.items(data, "findings", ""))
        ),
        masks=tuple(
            _read_mask(r, m, f"masks[{i}]", arrays) for i, m in enumerate(r.items(data, "masks", ""))
        ),
        explanations=tuple(
            _read_mask(r, m, f"explanations[{i}]", arrays) for i, m in enumerate(data.get("explanations", []))
        ),
        warnings=r.strings(data, "warnings", ""),
        provenance=r.provenance(data, "provenance", "", optional=True),
        schema_version=version,
    )


def mask_file_path(json_path: str | os.PathLike[str]) -> Path:
    """`findings.json` -> `findings.masks.npz`, beside it."""
    p = Path(json_path)
    return p.with_name(p.stem + ".masks.npz")


def save_findings(findings: StudyFindings, path: str | os.PathLike[str]) -> Path:
    """Write `path` (JSON) and, when there are masks, the NPZ beside it; both atomically."""
    json_path = Path(path)
    arrays = mask_arrays(findings)
    npz_name = None
    if arrays:
        buffer = io.BytesIO()
        np.savez_compressed(buffer, **arrays)  # type: ignore[arg-type]
        npz_path = write_bytes_atomically(mask_file_path(json_path), buffer.getvalue())
        npz_name = npz_path.name
    document = findings_to_json(findings, mask_file=npz_name)
    write_text_atomically(json_path, json.dumps(document, indent=2, ensure_ascii=False) + "\n")
    return json_path


def load_findings(path: str | os.PathLike[str]) -> StudyFindings:
    """Read a findings JSON (and its mask file); FindingsFormatError names the file and field."""
    json_path = Path(path)
    source = str(json_path)
    try:
        data = json.loads(json_path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise FindingsFormatError(f"{source}: cannot read the findings file: {exc.strerror or exc}") from exc
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise FindingsFormatError(f"{source}: not a JSON document: {exc}") from exc
    arrays: dict[str, np.ndarray] = {}
    mask_name = data.get("mask_file") if isinstance(data, dict) else None
    if mask_name:
        npz = json_path.parent / str(mask_name)
        try:
            with np.load(npz, allow_pickle=False) as loaded:
                arrays = {k: loaded[k] for k in loaded.files}
        except (OSError, ValueError, EOFError, zipfile.BadZipFile) as exc:
            raise FindingsFormatError(f"{npz}: cannot read the mask file named by {source}: {exc}") from exc
    return findings_from_json(data, arrays, source=source)
