"""Writing a file so that readers see either the old file, nothing, or the complete new file.

The content goes to a temporary file in the same folder, is fsynced, then renamed over the target
(atomic on POSIX and Windows), and the folder is fsynced so the rename survives a power cut too.
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Callable
from pathlib import Path


def _fsync_path(path: Path) -> None:
    # Folders cannot be opened for fsync on Windows; NTFS journals the rename itself.
    if os.name == "nt" and path.is_dir():
        return
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def write_atomically(path: Path, write: Callable[[Path], object]) -> Path:
    """Call `write(temporary_path)` on a temporary file next to `path`, then rename it to `path`.

    An interruption leaves no partial file at `path` (the temporary one is removed on errors).
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    handle, name = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".part", dir=path.parent)
    os.close(handle)
    temporary = Path(name)
    try:
        write(temporary)
        _fsync_path(temporary)
        os.replace(temporary, path)
    except BaseException:
        temporary.unlink(missing_ok=True)
        raise
    _fsync_path(path.parent)
    return path


def write_bytes_atomically(path: str | os.PathLike[str], data: bytes) -> Path:
    """Write `data` to `path` atomically; returns the path."""
    return write_atomically(Path(path), lambda temporary: temporary.write_bytes(data))


def write_text_atomically(path: str | os.PathLike[str], text: str) -> Path:
    """UTF-8 text, written atomically."""
    return write_bytes_atomically(path, text.encode("utf-8"))
