"""A minimal, Qt-free event emitter for the session model (the napari habit: the model is evented
and Qt views subscribe to it).

Callbacks run synchronously in the emitting thread; the session is only changed on the GUI
thread, so views can touch their widgets directly.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any


class EventEmitter:
    """A named event with any number of subscribers called in subscription order."""

    def __init__(self, name: str) -> None:
        self.name = name
        self._callbacks: list[Callable[..., Any]] = []

    def connect(self, callback: Callable[..., Any]) -> Callable[..., Any]:
        """Subscribe `callback`; returns it, so this works as a decorator."""
        if callback not in self._callbacks:
            self._callbacks.append(callback)
        return callback

    def disconnect(self, callback: Callable[..., Any]) -> None:
        """Unsubscribe `callback`; unknown callbacks are ignored (closing twice is harmless)."""
        if callback in self._callbacks:
            self._callbacks.remove(callback)

    @property
    def subscriber_count(self) -> int:
        return len(self._callbacks)

    def emit(self, *args: Any) -> None:
        for callback in list(self._callbacks):
            callback(*args)
