"""Meanings of DIMSE status codes (PS3.4 / PS3.7), for messages that say why a node refused."""

from __future__ import annotations

from pynetdicom.status import GENERAL_STATUS, code_to_category

StatusTable = dict[int, tuple[str, str]]


def status_category(code: int) -> str:
    """ "Success", "Warning", "Failure", "Cancel", "Pending" or "Unknown"."""
    return str(code_to_category(code))


def status_meaning(code: int, service_table: StatusTable) -> str:
    """The meaning of `code` for a service (e.g. pynetdicom's STORAGE_SERVICE_CLASS_STATUS)."""
    category, description = service_table.get(code) or GENERAL_STATUS.get(code) or (status_category(code), "")
    if not description and 0xC000 <= code <= 0xCFFF:
        description = "Cannot understand"  # PS3.4: the Cxxx range, node-specific detail
    return description or category
