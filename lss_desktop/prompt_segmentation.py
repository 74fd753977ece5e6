"""Text-guided segmentation on request: a person's prompt ("dural sac at L3-L4") on the slice a
view shows, or a few slices around it. Qt-free; the window runs it off the GUI thread.

The model runs in this process on ONNX Runtime (engine.segmentation: a model pack), never on
torch: torch's bundled LLVM and the OpenGL driver's clash in a process that renders. The opened
model is kept for the next prompt while the model choice stays the same.
"""

from __future__ import annotations

import importlib
import threading
from dataclasses import dataclass
from typing import TYPE_CHECKING

from engine.prompt_vocabulary import prompt_vocabulary
from engine.study.model import Series

if TYPE_CHECKING:  # the segmentation brings OpenCV, which the window does not need to open
    from engine.segmentation import StructureSegmenter

MAX_HALF_RANGE = 10  # slices either side of the current one


@dataclass(frozen=True)
class ModelChoice:
    """Which model answers: a pack folder or name (None: the default pack) on `device`, or a
    'module:function' factory taking (model, device) (tests give a ground-truth segmenter)."""

    model: str | None = None
    device: str = "auto"
    segmenter_factory: str | None = None


def open_model(choice: ModelChoice) -> StructureSegmenter:
    """The segmenter for `choice`; ModelPackError when the pack is missing or damaged."""
    if choice.segmenter_factory is None:
        from engine.segmentation import open_segmenter

        return open_segmenter(choice.model, choice.device)
    module_name, _, attribute = choice.segmenter_factory.partition(":")
    factory = getattr(importlib.import_module(module_name), attribute)
    segmenter: StructureSegmenter = factory(choice.model, choice.device)
    return segmenter


class PromptSegmenterCache:
    """The last opened segmenter, reused while the model choice stays the same (thread-safe)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._choice: ModelChoice | None = None
        self._segmenter: StructureSegmenter | None = None

    def get(self, choice: ModelChoice) -> StructureSegmenter:
        with self._lock:
            if self._segmenter is None or self._choice != choice:
                self._segmenter = open_model(choice)
                self._choice = choice
            return self._segmenter


def prompt_suggestions() -> list[str]:
    """Prompt texts the model was trained on, for completion in the prompt box."""
    return [prompt.text for prompt in prompt_vocabulary()]


def slices_around(series: Series, index: int, half_range: int) -> list[int]:
    """Slice indices from `index - half_range` to `index + half_range`, clipped to the series."""
    half = min(max(int(half_range), 0), MAX_HALF_RANGE)
    return list(range(max(index - half, 0), min(index + half, len(series) - 1) + 1))
