"""Progress reports of PACS transfers and the way a caller cancels one."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Protocol


@dataclass(frozen=True)
class TransferProgress:
    """How far a transfer (store, retrieve) or a query has got.

    completed: instances stored/received or matches found so far; failed: instances refused or
        lost; total: all expected, when the node says (None for queries).
    """

    completed: int
    failed: int
    total: int | None


ProgressCallback = Callable[[TransferProgress], None]


class CancelToken(Protocol):
    """Set by the caller (e.g. the GUI's cancel button) to stop an operation; threading.Event fits."""

    def is_set(self) -> bool: ...


def is_cancelled(cancel: CancelToken | None) -> bool:
    return cancel is not None and cancel.is_set()
