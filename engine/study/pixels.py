"""Lazy, cached, thread-safe pixel decoding of loaded slices, and parallel decoding of a series.

Uncompressed frames are read straight from their byte offset in the file (found during the header
scan), so a slice costs one read and one conversion. Compressed syntaxes (RLE, JPEG 2000, JPEG-LS,
JPEG lossless...) and deflated or bit-packed data go through pydicom's decoders, which use the
pylibjpeg plugins. Every decoded slice is float32 (rows, columns) with the modality rescale
(slope, intercept) applied; the cache hands out read-only arrays.

Whole series (`decode_series`) decode on threads. That parallelises reading and conversion; the
JPEG-family decoders of pylibjpeg/pyjpegls hold the GIL (20-45 ms per 512x512 slice here, measured
cpu/wall 0.99 on two threads), so compressed series decode at single-core speed. Worker processes
would parallelise them, but multiprocessing re-imports the caller's main script in each worker,
which breaks every script without a `__main__` guard: not worth it for a library.
"""

from __future__ import annotations

import logging
import os
import threading
from collections import OrderedDict
from collections.abc import Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from engine.study.errors import PixelDecodeError
from engine.study.header import PixelEncoding
from engine.study.model import ImageSlice, Series

logger = logging.getLogger(__name__)

# Enough for a whole lumbar study (three 512x512 series of ~20-80 slices as float32: ~120 MB)
# while bounding memory on a reading workstation that keeps several studies open.
DEFAULT_CACHE_BYTES = 512 * 1024 * 1024


def default_decode_workers() -> int:
    """Decoding threads: reading and numpy conversion release the GIL."""
    return max(2, min(8, os.cpu_count() or 1))


@dataclass(frozen=True)
class PixelSource:
    """Where one slice's pixels are: file, encoding and (for multi-frame) frame index."""

    path: Path
    encoding: PixelEncoding
    frame_index: int | None


class SlicePixelStore:
    """The `Series.pixel_loader` of a loaded study: decodes on demand, keeps a bounded LRU cache.

    Thread-safe: several threads may ask for slices at once (the same slice may then be decoded
    twice, which is harmless). `max_bytes` bounds the cached float32 arrays.
    """

    def __init__(self, sources: Mapping[str, PixelSource], max_bytes: int = DEFAULT_CACHE_BYTES) -> None:
        self._sources = dict(sources)
        self._max_bytes = max_bytes
        self._cache: OrderedDict[str, np.ndarray] = OrderedDict()
        self._cached_bytes = 0
        self._lock = threading.Lock()

    def __call__(self, image: ImageSlice) -> np.ndarray:
        """Pixels of `image` as read-only float32 (rows, columns), rescale applied."""
        cached = self._cached(image.key)
        if cached is not None:
            return cached
        pixels = np.empty(self.shape_of(image), dtype=np.float32)
        self._decode_into(image, pixels)
        pixels.flags.writeable = False
        self._remember(image.key, pixels)
        return pixels

    @property
    def cached_bytes(self) -> int:
        with self._lock:
            return self._cached_bytes

    def shape_of(self, image: ImageSlice) -> tuple[int, int]:
        """(rows, columns) of a slice, known from its header without decoding."""
        encoding = self.source_of(image).encoding
        return encoding.rows, encoding.columns

    def decode_into(self, image: ImageSlice, out: np.ndarray) -> None:
        """Write the slice's float32 pixels into `out` (rows, columns) without caching them."""
        cached = self._cached(image.key)
        if cached is not None:
            out[...] = cached
        else:
            self._decode_into(image, out)

    def source_of(self, image: ImageSlice) -> PixelSource:
        try:
            return self._sources[image.key]
        except KeyError:
            raise PixelDecodeError(str(image.source_path), "slice is not part of this study") from None

    def _cached(self, key: str) -> np.ndarray | None:
        with self._lock:
            found = self._cache.get(key)
            if found is not None:
                self._cache.move_to_end(key)
            return found

    def _remember(self, key: str, pixels: np.ndarray) -> None:
        with self._lock:
            if key in self._cache or pixels.nbytes > self._max_bytes:
                return
            self._cache[key] = pixels
            self._cached_bytes += pixels.nbytes
            while self._cached_bytes > self._max_bytes:
                _, evicted = self._cache.popitem(last=False)
                self._cached_bytes -= evicted.nbytes

    def _decode_into(self, image: ImageSlice, out: np.ndarray) -> None:
        source = self.source_of(image)
        _write_rescaled(image, source, _stored_values_in_scratch(source), out)


def _stored_values_in_scratch(source: PixelSource) -> np.ndarray:
    """Stored values in this thread's scratch buffer; any codec failure as PixelDecodeError."""
    try:
        return read_stored_values(source, reuse_buffer=True)
    except PixelDecodeError:
        raise
    except Exception as exc:  # codecs raise many types on corrupt data
        raise PixelDecodeError(str(source.path), f"{type(exc).__name__}: {exc}") from exc


def _write_rescaled(image: ImageSlice, source: PixelSource, stored: np.ndarray, out: np.ndarray) -> None:
    """out (rows, columns) float32 = stored * RescaleSlope + RescaleIntercept."""
    if stored.shape != out.shape:
        raise PixelDecodeError(str(source.path), f"decoded shape {stored.shape}, header says {out.shape}")
    if image.rescale_slope == 1.0 and image.rescale_intercept == 0.0:
        np.copyto(out, stored, casting="unsafe")
    else:
        np.multiply(stored, np.float32(image.rescale_slope), out=out, casting="unsafe")
        out += np.float32(image.rescale_intercept)


def read_stored_values(source: PixelSource, *, reuse_buffer: bool = False) -> np.ndarray:
    """Stored pixel values of one frame, shape (rows, columns), integer or float dtype.

    reuse_buffer: read uncompressed frames into a per-thread scratch buffer (no allocation);
    the result is then only valid until this thread's next call.
    """
    encoding = source.encoding
    if encoding.samples_per_pixel != 1:
        raise PixelDecodeError(
            str(source.path), f"{encoding.samples_per_pixel} samples per pixel (colour image)"
        )
    if encoding.native_offset is not None and encoding.bits_allocated in (8, 16, 32, 64):
        return _read_native_frame(source, reuse_buffer)
    return _decode_with_pydicom(source)


_scratch = threading.local()


def _frame_buffer(dtype: np.dtype, count: int, reuse: bool) -> np.ndarray:
    if not reuse:
        return np.empty(count, dtype=dtype)
    buffers: dict[tuple[str, int], np.ndarray] = _scratch.__dict__.setdefault("buffers", {})
    key = (dtype.str, count)
    if key not in buffers:
        buffers.clear()  # keep one buffer per thread: series rarely mix matrices
        buffers[key] = np.empty(count, dtype=dtype)
    return buffers[key]


def _read_native_frame(source: PixelSource, reuse_buffer: bool) -> np.ndarray:
    encoding = source.encoding
    assert encoding.native_offset is not None  # checked by the caller
    kind = "f" if encoding.float_pixels else "i" if encoding.signed else "u"
    dtype = np.dtype(f"{'>' if encoding.big_endian else '<'}{kind}{encoding.bits_allocated // 8}")
    count = encoding.rows * encoding.columns
    offset = encoding.native_offset + (source.frame_index or 0) * encoding.frame_bytes
    values = _frame_buffer(dtype, count, reuse_buffer)
    with open(source.path, "rb", buffering=0) as handle:
        handle.seek(offset)
        read = handle.readinto(values.data.cast("B"))
    if read != values.nbytes:
        raise PixelDecodeError(
            str(source.path), f"file ends inside the pixel data ({read} of {values.nbytes} bytes)"
        )
    values = values.reshape(encoding.rows, encoding.columns)
    if encoding.big_endian:
        values = values.astype(dtype.newbyteorder("="))
    unused_bits = encoding.bits_allocated - encoding.bits_stored
    if not encoding.float_pixels and unused_bits > 0:
        # Bits above Bits Stored are undefined (PS3.5 8.1.1): clear them, or sign-extend.
        if encoding.signed:
            np.left_shift(values, unused_bits, out=values)
            np.right_shift(values, unused_bits, out=values)
        else:
            np.bitwise_and(values, (1 << encoding.bits_stored) - 1, out=values)
    return values


def _decode_with_pydicom(source: PixelSource) -> np.ndarray:
    from pydicom.pixels import pixel_array

    index = source.frame_index if source.encoding.number_of_frames > 1 else None
    values = pixel_array(str(source.path), index=index)
    if values.ndim == 3 and values.shape[0] == 1:
        values = values[0]
    return values


def decode_series(series: Series, max_workers: int | None = None) -> np.ndarray:
    """Decode every slice of `series` in parallel into one float32 array (n_slices, rows, columns).

    Slices already in the cache are copied from it; the others are decoded straight into the
    volume (and not cached, so a full decode does not evict what the viewer shows). max_workers:
    decoding threads. Raises ValueError when the slices do not share one matrix, PixelDecodeError
    naming the first file that failed (and how many did).
    """
    n = len(series.slices)
    loader = series.pixel_loader
    if isinstance(loader, SlicePixelStore):
        shapes = {loader.shape_of(s) for s in series.slices}
    else:
        shapes = {(s.geometry.rows, s.geometry.columns) for s in series.slices if s.geometry is not None}
        if not shapes and n:
            shapes = {series.slice_pixels(0).shape}
    if len(shapes) > 1:
        raise ValueError(f"series {series.description!r} has slices of different matrices: {sorted(shapes)}")
    if n == 0:
        return np.empty((0, 0, 0), dtype=np.float32)
    rows, columns = shapes.pop()
    # One allocation for the whole series: large arrays get transparent huge pages, which is
    # several times cheaper than touching many per-slice allocations.
    volume = np.empty((n, rows, columns), dtype=np.float32)

    def decode(index: int) -> None:
        image = series.slices[index]
        if isinstance(loader, SlicePixelStore):
            loader.decode_into(image, volume[index])
        else:
            volume[index] = loader(image)

    failures: list[PixelDecodeError] = []
    with ThreadPoolExecutor(max_workers or default_decode_workers()) as pool:
        for future in [pool.submit(decode, i) for i in range(n)]:
            exc = future.exception()
            if isinstance(exc, PixelDecodeError):
                failures.append(exc)
            elif exc is not None:
                raise exc
    if failures:
        first = failures[0]
        raise PixelDecodeError(first.path, f"{first.reason} ({len(failures)} of {n} slices failed)")
    return volume
