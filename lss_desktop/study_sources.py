"""Where the app gets studies from: the engine's DICOM folder loader and the demo study
generator. Both are imported lazily (inside the worker) so the window opens fast and a build
without them still runs and says what is missing. Qt-free."""

from __future__ import annotations

import threading
from collections.abc import Callable
from pathlib import Path
from typing import Protocol

from engine.study.model import Study

ProgressCallback = Callable[[int, int], None]


class StudyLoader(Protocol):
    """The signature of `engine.study.load_study`: folder -> Study, with progress and cancel."""

    def __call__(
        self,
        path: Path,
        *,
        progress: ProgressCallback | None = None,
        cancel: threading.Event | None = None,
    ) -> Study: ...


class ComponentUnavailableError(RuntimeError):
    """A part of the engine this action needs is not installed in this build."""


def load_study_with_engine(
    path: Path, *, progress: ProgressCallback | None = None, cancel: threading.Event | None = None
) -> Study:
    """Load a DICOM folder with `engine.study.load_study`."""
    try:
        from engine.study import load_study
    except ImportError as exc:
        raise ComponentUnavailableError(
            "The DICOM study loader (engine.study.load_study) is not part of this build."
        ) from exc
    study: Study = load_study(path, progress=progress, cancel=cancel)
    return study


def is_no_dicom_found(error: BaseException) -> bool:
    """True when `error` is the loader's 'no readable DICOM in this folder' error."""
    try:
        from engine.study import NoDicomFoundError
    except ImportError:
        return False
    return isinstance(error, NoDicomFoundError)


def _demo_images_folder(out_dir: Path) -> Path:
    # The generator writes OUT/study (DICOM) beside OUT/ground_truth; only the images are opened.
    return out_dir / "study" if (out_dir / "study").is_dir() else out_dir


def write_demo_study(out_dir: Path, seed: int = 0) -> Path:
    """Write the synthetic demo study into `out_dir` (once; later calls reuse it) and return the
    folder of its DICOM images."""
    images = _demo_images_folder(out_dir)
    if images != out_dir and any(images.iterdir()):
        return images
    try:
        from engine.synthetic_study import write_study
    except ImportError as exc:
        raise ComponentUnavailableError(
            "The demo study generator (engine.synthetic_study) is not part of this build."
        ) from exc
    out_dir.mkdir(parents=True, exist_ok=True)
    write_study(out_dir, seed)
    return _demo_images_folder(out_dir)
