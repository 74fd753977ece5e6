"""What the analysis worker process sends its caller, without pickle: each message is one JSON
frame on a pipe; a result is a JSON frame (the findings document, engine.findings_io) followed by
one bytes frame (the masks as an NPZ, loaded with allow_pickle=False).

Messages (field "type"):
- "progress": stage, fraction (0..1), message;
- "result": findings (findings_io document), timings [{stage, seconds}]; the NPZ frame follows;
- "error": kind (one of ERROR_KINDS), message.
"""

from __future__ import annotations

import io
import json
import zipfile
from typing import Any

import numpy as np

from engine.findings import StudyFindings
from engine.findings_io import findings_from_json, findings_to_json, mask_arrays

# Why an analysis failed, for the caller to branch on (the CLI's exit codes follow the same split).
ERROR_KINDS: tuple[str, ...] = (
    "no_dicom",
    "missing_series",
    "levels_not_found",
    "model_pack_invalid",
    "device_unavailable",
    "cancelled",
    "failure",
)


def encode_message(message: dict[str, Any]) -> bytes:
    return json.dumps(message, ensure_ascii=False).encode("utf-8")


def decode_message(frame: bytes) -> dict[str, Any]:
    message = json.loads(frame.decode("utf-8"))
    if not isinstance(message, dict) or "type" not in message:
        raise ValueError("a worker message must be a JSON object with a type")
    return message


def findings_frames(findings: StudyFindings) -> tuple[dict[str, Any], bytes]:
    """(the findings JSON document, the masks as NPZ bytes)."""
    buffer = io.BytesIO()
    np.savez_compressed(buffer, **mask_arrays(findings))  # type: ignore[arg-type]
    return findings_to_json(findings, mask_file=None), buffer.getvalue()


def findings_from_frames(document: dict[str, Any], npz: bytes) -> StudyFindings:
    """The StudyFindings the worker sent (every mask checked against its sha256)."""
    try:
        with np.load(io.BytesIO(npz), allow_pickle=False) as loaded:
            arrays = {k: loaded[k] for k in loaded.files}
    except (OSError, ValueError, zipfile.BadZipFile) as exc:
        raise ValueError(f"the worker's mask data is unreadable: {exc}") from exc
    return findings_from_json(document, arrays, source="analysis worker")
