"""The spinal canal on the sagittal series: its centreline, its direction at a disc, and where axial
slices cross it."""

from engine.canal.centreline import (
    DEFAULT_CANAL_OFFSET_MM,
    CanalCentreline,
    canal_centreline_from_mask,
    fallback_canal_point,
)

__all__ = ["DEFAULT_CANAL_OFFSET_MM", "CanalCentreline", "canal_centreline_from_mask", "fallback_canal_point"]
