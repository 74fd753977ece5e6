"""Text-prompted segmentation of study slices: the segmenter interface the analysis depends on, its
ONNX Runtime implementation (a model pack), and free text-guided segmentation of slices."""

from engine.segmentation.free_text import segment_slices
from engine.segmentation.segmenter import (
    OnnxStructureSegmenter,
    SliceImage,
    StructureSegmenter,
    open_segmenter,
    resolve_model_pack,
    slice_image,
)

__all__ = [
    "OnnxStructureSegmenter",
    "SliceImage",
    "StructureSegmenter",
    "open_segmenter",
    "resolve_model_pack",
    "segment_slices",
    "slice_image",
]
