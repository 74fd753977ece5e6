"""A thread-safe, size-bounded cache of decoded slice pixels shared by the views, the thumbnail
and the prefetch workers. Qt-free.

It works with any Series.pixel_loader. The engine loader keeps its own cache of read-only float32
arrays; this cache then holds references to the same arrays (no copy), so memory is not doubled.
"""

from __future__ import annotations

import threading
from collections import OrderedDict

import numpy as np

from engine.study.model import Series

DEFAULT_CAPACITY_BYTES = 1 << 30  # 1 GiB: a few lumbar studies at 512x512 float32


class SlicePixelCache:
    """Least-recently-used slices (float32 (rows, columns)) keyed by Series.key and ImageSlice.key."""

    def __init__(self, capacity_bytes: int = DEFAULT_CAPACITY_BYTES) -> None:
        self.capacity_bytes = capacity_bytes
        self._items: OrderedDict[tuple[str, str], np.ndarray] = OrderedDict()
        self._bytes = 0
        self._lock = threading.Lock()

    @property
    def size_bytes(self) -> int:
        with self._lock:
            return self._bytes

    def __contains__(self, item: tuple[Series, int]) -> bool:
        series, index = item
        with self._lock:
            return (series.key, series.slices[index].key) in self._items

    def pixels(self, series: Series, index: int) -> np.ndarray:
        """Pixels of slice `index` of `series`, decoded on first use (read-only array)."""
        key = (series.key, series.slices[index].key)
        with self._lock:
            cached = self._items.get(key)
            if cached is not None:
                self._items.move_to_end(key)
                return cached
        # Decode outside the lock so workers decoding other slices are not serialised.
        decoded = np.ascontiguousarray(series.slice_pixels(index), dtype=np.float32)
        decoded.setflags(write=False)
        with self._lock:
            if key not in self._items:
                self._items[key] = decoded
                self._bytes += decoded.nbytes
                while self._bytes > self.capacity_bytes and len(self._items) > 1:
                    _, evicted = self._items.popitem(last=False)
                    self._bytes -= evicted.nbytes
            return self._items[key]

    def clear(self) -> None:
        with self._lock:
            self._items.clear()
            self._bytes = 0
