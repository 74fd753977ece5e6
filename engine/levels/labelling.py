"""Disc level labels on the sagittal series, counted up from the sacrum.

The discs found on the mid-sagittal slice are ordered caudal to cranial. The most caudal one is
L5-S1 when vertebral bone continues below it for more than a vertebral height without another
disc (the sacrum); the labels then count up: L4-L5, ..., L1-L2, T12-L1, ... A gap between two
discs of about twice the usual spacing counts as a missed disc, so the labels above it stay right.
Each label gets a confidence from the disc's segmentation probability, the regularity of its
spacing to its neighbours, whether the sacrum was seen, and any missed disc below it.
"""

from __future__ import annotations

import itertools
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from engine.canal.centreline import CanalCentreline
from engine.findings import DISC_LEVELS, DiscLevel
from engine.levels.disc_detection import DiscCandidate
from engine.study.model import SliceGeometry

# Disc labels from the sacrum upwards (thoracic labels for discs above L1 in a lumbar field of view).
CAUDAL_TO_CRANIAL_LABELS: tuple[str, ...] = (
    *reversed(DISC_LEVELS),
    "T12-L1",
    *(f"T{n}-T{n + 1}" for n in range(11, 0, -1)),
)
MIN_DISCS = 2
# Bone below the lowest disc longer than this many disc spacings, with no disc in it, is the sacrum
# (a lumbar body ends at the next disc after ~0.85 spacing).
SACRUM_EXTENT_SPACINGS = 1.1
# The sacrum is looked for in a band this many disc widths either side of the disc's axis.
SACRUM_BAND_DISC_WIDTHS = 0.6
# Vertebral bone may be interrupted this long (mm, e.g. an endplate) and still count as continuous.
MAX_BONE_GAP_MM = 3.0
# A disc must lie in front of the canal by at least this much (mm); a blob behind it is not a disc.
MIN_DISC_TO_CANAL_MM = 5.0
# Two components closer than this share of the usual spacing are one disc seen in two pieces.
MERGE_SPACING_FRACTION = 0.5
# Confidence factors.
NO_SACRUM_FACTOR = 0.75
MISSED_DISC_FACTOR = 0.7
SPACING_TOLERANCE = 0.25  # relative spacing deviation at which the regularity factor is exp(-1/2)


class LevelsNotFoundError(Exception):
    """Fewer discs than needed to label the lumbar levels were found on the sagittal series."""


@dataclass(frozen=True)
class LabelledDisc:
    label: str
    disc: DiscCandidate
    confidence: float  # 0..1


@dataclass(frozen=True)
class LevelLabelling:
    """The labelled discs of one sagittal slice, cranial to caudal.

    disc_spacing_mm: median distance between neighbouring disc centres.
    skipped_labels: labels of discs taken as missed in a gap (not found, inferred).
    rejected: components dropped because they do not lie in front of the canal or duplicate a disc.
    """

    discs: tuple[LabelledDisc, ...]
    sacrum_identified: bool
    disc_spacing_mm: float
    skipped_labels: tuple[str, ...]
    rejected: tuple[DiscCandidate, ...]
    warnings: tuple[str, ...]
    sagittal_series_uid: str
    sagittal_sop_instance_uid: str

    def disc_levels(self) -> tuple[tuple[DiscLevel, ...], tuple[DiscLevel, ...]]:
        """(lumbar levels L1-L2..L5-S1, other discs such as T12-L1), each cranial to caudal."""
        lumbar: list[DiscLevel] = []
        other: list[DiscLevel] = []
        for labelled in self.discs:
            level = DiscLevel(
                label=labelled.label,
                centre_lps=labelled.disc.centre_lps,
                normal_lps=labelled.disc.normal_lps,
                confidence=labelled.confidence,
                sagittal_series_uid=self.sagittal_series_uid,
                sagittal_sop_instance_uid=self.sagittal_sop_instance_uid,
            )
            (lumbar if labelled.label in DISC_LEVELS else other).append(level)
        return tuple(lumbar), tuple(other)


def _in_front_of_canal(disc: DiscCandidate, centreline: CanalCentreline | None) -> bool:
    if centreline is None:
        return True
    canal = centreline.point_at_disc(np.asarray(disc.centre_lps), np.asarray(disc.normal_lps))
    if canal is None:
        return True
    return (
        float((canal - np.asarray(disc.centre_lps)) @ np.asarray(disc.major_axis_lps)) >= MIN_DISC_TO_CANAL_MM
    )


def _merge_split_discs(
    caudal_first: list[DiscCandidate], spacing: float
) -> tuple[list[DiscCandidate], list[DiscCandidate]]:
    kept: list[DiscCandidate] = []
    dropped: list[DiscCandidate] = []
    for disc in caudal_first:
        if kept and _distance(kept[-1], disc) < MERGE_SPACING_FRACTION * spacing:
            smaller, larger = sorted((kept[-1], disc), key=lambda d: d.area_mm2)
            kept[-1] = larger
            dropped.append(smaller)
        else:
            kept.append(disc)
    return kept, dropped


def _distance(a: DiscCandidate, b: DiscCandidate) -> float:
    return float(np.linalg.norm(np.asarray(a.centre_lps) - np.asarray(b.centre_lps)))


def bone_extent_below_mm(
    disc: DiscCandidate,
    vertebra_probability: np.ndarray,
    geometry: SliceGeometry,
    search_mm: float,
    threshold: float = 0.5,
) -> float:
    """How far (mm) vertebral bone continues caudally below `disc` along its normal, within a band
    around the disc's axis, from just under the disc to the first gap longer than MAX_BONE_GAP_MM."""
    rows, columns = np.nonzero(np.asarray(vertebra_probability) >= threshold)
    if len(rows) == 0:
        return 0.0
    offsets = geometry.pixel_to_lps(rows, columns) - np.asarray(disc.centre_lps)
    depth = -(offsets @ np.asarray(disc.normal_lps))
    lateral = np.abs(offsets @ np.asarray(disc.major_axis_lps))
    band = (depth > 0) & (depth <= search_mm) & (lateral <= SACRUM_BAND_DISC_WIDTHS * disc.width_mm)
    if not band.any():
        return 0.0
    covered = np.zeros(int(np.ceil(search_mm)) + 1, dtype=bool)
    covered[np.floor(depth[band]).astype(int)] = True
    start_limit = int(np.ceil(disc.height_mm + MAX_BONE_GAP_MM))
    starts = np.flatnonzero(covered[: start_limit + 1])
    if len(starts) == 0:
        return 0.0
    end = int(starts[0])
    gap = 0
    for position in range(int(starts[0]), len(covered)):
        if covered[position]:
            end, gap = position, 0
        else:
            gap += 1
            if gap > MAX_BONE_GAP_MM:
                break
    return float(end + 1)


def _regularity(ratio: float) -> float:
    return float(np.exp(-0.5 * ((ratio - 1.0) / SPACING_TOLERANCE) ** 2))


def label_disc_levels(
    candidates: Sequence[DiscCandidate],
    vertebra_probability: np.ndarray,
    geometry: SliceGeometry,
    *,
    sagittal_series_uid: str,
    sagittal_sop_instance_uid: str,
    centreline: CanalCentreline | None = None,
    threshold: float = 0.5,
) -> LevelLabelling:
    """Label the disc candidates of one sagittal slice (see the module docstring).

    vertebra_probability: (rows, columns) vertebra segmentation of the same slice, for the sacrum.
    centreline: the canal, to drop components that do not lie in front of it (optional).
    Raises LevelsNotFoundError with fewer than MIN_DISCS discs or no lumbar level.
    """
    in_front = [c for c in candidates if _in_front_of_canal(c, centreline)]
    rejected = [c for c in candidates if c not in in_front]
    if len(in_front) < MIN_DISCS:
        raise LevelsNotFoundError(
            f"{len(in_front)} intervertebral disc(s) found on the sagittal series; at least {MIN_DISCS} "
            "are needed to count the levels"
        )
    caudal_first = sorted(in_front, key=lambda c: c.centre_lps[2])
    gaps = [_distance(a, b) for a, b in itertools.pairwise(caudal_first)]
    caudal_first, duplicates = _merge_split_discs(caudal_first, float(np.median(gaps)))
    rejected += duplicates
    if len(caudal_first) < MIN_DISCS:
        raise LevelsNotFoundError(
            "the discs found on the sagittal series are too close together to count levels"
        )
    gaps = [_distance(a, b) for a, b in itertools.pairwise(caudal_first)]
    spacing = float(np.median(gaps))
    steps = [max(1, round(g / spacing)) for g in gaps]

    warnings: list[str] = []
    extent = bone_extent_below_mm(caudal_first[0], vertebra_probability, geometry, 3.0 * spacing, threshold)
    sacrum = extent >= SACRUM_EXTENT_SPACINGS * spacing
    if not sacrum:
        warnings.append(
            "the sacrum was not identified below the lowest disc: it is taken as L5-S1 and the levels "
            "are counted up from it; check the level labels"
        )

    positions = [0]
    for step in steps:
        positions.append(positions[-1] + step)
    skipped: list[str] = []
    missed_below = [0] * len(caudal_first)
    for k, step in enumerate(steps):
        if step > 1:
            inferred = [
                CAUDAL_TO_CRANIAL_LABELS[p]
                for p in range(positions[k] + 1, positions[k + 1])
                if p < len(CAUDAL_TO_CRANIAL_LABELS)
            ]
            skipped += inferred
            warnings.append(
                f"a disc seems missing between the discs {gaps[k]:.0f} mm apart (usual spacing "
                f"{spacing:.0f} mm): {', '.join(inferred)} inferred; check the level labels"
            )
        missed_below[k + 1] = missed_below[k] + step - 1

    labelled = []
    for k, disc in enumerate(caudal_first):
        if positions[k] >= len(CAUDAL_TO_CRANIAL_LABELS):
            break
        ratios = [gaps[j] / (steps[j] * spacing) for j in (k - 1, k) if 0 <= j < len(gaps)]
        regularity = min((_regularity(r) for r in ratios), default=1.0)
        confidence = (
            min(1.0, disc.mean_probability)
            * regularity
            * (1.0 if sacrum else NO_SACRUM_FACTOR)
            * MISSED_DISC_FACTOR ** missed_below[k]
        )
        labelled.append(LabelledDisc(CAUDAL_TO_CRANIAL_LABELS[positions[k]], disc, round(confidence, 3)))
    if not any(d.label in DISC_LEVELS for d in labelled):
        raise LevelsNotFoundError("no lumbar disc level could be labelled on the sagittal series")
    lumbar_found = sum(d.label in DISC_LEVELS for d in labelled)
    if lumbar_found < len(DISC_LEVELS):
        missing = [lv for lv in DISC_LEVELS if lv not in {d.label for d in labelled} and lv not in skipped]
        if missing:
            warnings.append(f"disc level(s) not found on the sagittal series: {', '.join(missing)}")
    return LevelLabelling(
        discs=tuple(reversed(labelled)),
        sacrum_identified=sacrum,
        disc_spacing_mm=spacing,
        skipped_labels=tuple(skipped),
        rejected=tuple(rejected),
        warnings=tuple(warnings),
        sagittal_series_uid=sagittal_series_uid,
        sagittal_sop_instance_uid=sagittal_sop_instance_uid,
    )
