"""The one exception of the export package: an export that cannot be built from its inputs."""

from __future__ import annotations


class DicomExportError(Exception):
    """A DICOM object could not be built; the message names the file or field at fault."""
