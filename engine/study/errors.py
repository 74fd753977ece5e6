"""Exceptions of study loading that callers branch on (the CLI maps them to exit codes)."""

from __future__ import annotations


class NoDicomFoundError(Exception):
    """The path holds no readable DICOM file (the CLI exits with ExitCode.NO_DICOM)."""

    def __init__(self, path: str, detail: str = "") -> None:
        message = f"no readable DICOM image in {path}"
        super().__init__(f"{message}: {detail}" if detail else message)
        self.path = path


class StudyNotFoundError(LookupError):
    """The requested StudyInstanceUID is not in the folder; the message lists the ones that are."""


class PixelDecodeError(ValueError):
    """A slice's pixels could not be decoded (corrupt or unsupported data); names the file."""

    def __init__(self, path: str, reason: str) -> None:
        super().__init__(f"{path}: {reason}")
        self.path = path
        self.reason = reason
