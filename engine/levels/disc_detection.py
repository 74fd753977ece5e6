"""Intervertebral discs on a sagittal slice: connected components of the disc segmentation, each
with its centre in patient space and the normal of its plane from the component's principal axes."""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

from engine.study.model import SliceGeometry

# Patient "superior" in LPS (+z points to the head): the sign convention of disc normals.
# (Posterior is +y: major axes point that way.)
SUPERIOR_LPS = np.array([0.0, 0.0, 1.0])
# A disc seen on a mid-sagittal slice measures ~8-15 mm x 30-50 mm (adult lumbar discs), so
# smaller components are specks, not discs.
DEFAULT_MIN_DISC_AREA_MM2 = 30.0
# Discs are wider (antero-posterior) than high; a blob at least this much wider than high passes.
MIN_DISC_ASPECT = 1.3
# Thin bridges between neighbouring discs (thinner than twice this, mm) are cut by a morphological
# opening; discs are at least ~5 mm high, so they survive it.
BRIDGE_RADIUS_MM = 1.0
# A disc whose middle the model misses (a dark, degenerate nucleus) comes out as an anterior and a
# posterior piece side by side. Pieces are one disc when their cranio-caudal extents overlap by at
# least this share of the thinner piece, the gap between them (antero-posterior) is at most
# MAX_SPLIT_GAP_MM and together they are no wider than MAX_DISC_WIDTH_MM. Neighbouring discs lie a
# vertebral body apart (20+ mm) along the spine, so they never overlap that way. A piece at least
# WHOLE_DISC_WIDTH_MM wide is a whole disc already (lumbar discs are ~30-50 mm front to back): specks
# beside it are left out, not joined.
SPLIT_OVERLAP_SHARE = 0.5
MAX_SPLIT_GAP_MM = 25.0
MAX_DISC_WIDTH_MM = 60.0
WHOLE_DISC_WIDTH_MM = 25.0


@dataclass(frozen=True)
class DiscCandidate:
    """One disc component on one sagittal slice.

    centre_lps: probability-weighted centroid (mm, LPS); centre_rc: the same as (row, column).
    normal_lps: unit normal of the disc plane (the component's minor in-plane axis), cranial.
    major_axis_lps: unit vector along the disc's longest in-plane extent, pointing posterior.
    width_mm / height_mm: extent along the major axis (antero-posterior) and along the normal.
    area_mm2: component area; mean_probability: mean segmentation probability inside it (0..1).
    """

    centre_lps: tuple[float, float, float]
    centre_rc: tuple[float, float]
    normal_lps: tuple[float, float, float]
    major_axis_lps: tuple[float, float, float]
    width_mm: float
    height_mm: float
    area_mm2: float
    mean_probability: float


def _unit(v: np.ndarray) -> np.ndarray:
    n = float(np.linalg.norm(v))
    return v / n if n > 0 else v


@dataclass(frozen=True)
class _Component:
    rows: np.ndarray
    columns: np.ndarray
    weights: np.ndarray


def _in_plane_axes(geometry: SliceGeometry) -> tuple[np.ndarray, np.ndarray]:
    """(superior, posterior-ish) unit vectors in the slice plane: superior is LPS +z projected
    onto the plane, the other is perpendicular to it in the plane."""
    normal = np.asarray(geometry.normal, dtype=np.float64)
    superior = _unit(SUPERIOR_LPS - (SUPERIOR_LPS @ normal) * normal)
    return superior, _unit(np.cross(normal, superior))


def _join_split_pieces(components: list[_Component], geometry: SliceGeometry) -> list[tuple[_Component, int]]:
    """Components side by side at one height joined into one (see SPLIT_OVERLAP_SHARE), each with
    the number of pieces it was made of."""
    superior, across = _in_plane_axes(geometry)
    extents = []
    for c in components:
        points = geometry.pixel_to_lps(c.rows, c.columns)
        s, a = points @ superior, points @ across
        extents.append((float(s.min()), float(s.max()), float(a.min()), float(a.max())))
    group = list(range(len(components)))

    def root(k: int) -> int:
        while group[k] != k:
            k = group[k]
        return k

    def extent(members: list[int]) -> tuple[float, float]:
        return min(extents[m][2] for m in members), max(extents[m][3] for m in members)

    for i in range(len(components)):
        for j in range(i + 1, len(components)):
            si, sj = extents[i], extents[j]
            overlap = min(si[1], sj[1]) - max(si[0], sj[0])
            thinner = min(si[1] - si[0], sj[1] - sj[0])
            gap = max(si[2], sj[2]) - min(si[3], sj[3])
            if overlap < SPLIT_OVERLAP_SHARE * thinner or gap > MAX_SPLIT_GAP_MM:
                continue
            if max(si[3] - si[2], sj[3] - sj[2]) >= WHOLE_DISC_WIDTH_MM:
                continue
            ri, rj = root(i), root(j)
            if ri == rj:
                continue
            members = [m for m in range(len(components)) if root(m) in (ri, rj)]
            low, high = extent(members)
            if high - low <= MAX_DISC_WIDTH_MM:
                group[rj] = ri
    joined: dict[int, list[int]] = {}
    for k in range(len(components)):
        joined.setdefault(root(k), []).append(k)
    return [
        (
            _Component(
                np.concatenate([components[m].rows for m in members]),
                np.concatenate([components[m].columns for m in members]),
                np.concatenate([components[m].weights for m in members]),
            ),
            len(members),
        )
        for members in joined.values()
    ]


def _components(mask: np.ndarray, probability: np.ndarray, min_pixels: int) -> list[_Component]:
    count, labels, stats, _ = cv2.connectedComponentsWithStats(mask, connectivity=4)
    found = []
    for k in range(1, count):
        if stats[k, cv2.CC_STAT_AREA] < min_pixels:
            continue
        x, y = stats[k, cv2.CC_STAT_LEFT], stats[k, cv2.CC_STAT_TOP]
        w, h = stats[k, cv2.CC_STAT_WIDTH], stats[k, cv2.CC_STAT_HEIGHT]
        rr, cc = np.nonzero(labels[y : y + h, x : x + w] == k)
        rr, cc = rr + y, cc + x
        found.append(_Component(rr, cc, probability[rr, cc].astype(np.float64)))
    return found


def find_disc_candidates(
    disc_probability: np.ndarray,
    geometry: SliceGeometry,
    *,
    threshold: float = 0.5,
    min_area_mm2: float = DEFAULT_MIN_DISC_AREA_MM2,
    vertebra_probability: np.ndarray | None = None,
) -> tuple[DiscCandidate, ...]:
    """Disc components of a sagittal disc probability map (rows, columns), cranial first.

    Pixels are disc where the probability reaches `threshold` and, when `vertebra_probability` is
    given, is not below the vertebra's there (the two structures compete for the endplates). Thin
    bridges are opened (BRIDGE_RADIUS_MM); components smaller than `min_area_mm2` or not clearly
    wider than high are left out.
    """
    if disc_probability.shape != (geometry.rows, geometry.columns):
        raise ValueError(
            f"probability map {disc_probability.shape} does not match the slice ({geometry.rows}, {geometry.columns})"
        )
    pixel_area = geometry.pixel_spacing_mm[0] * geometry.pixel_spacing_mm[1]
    min_pixels = max(3, int(np.ceil(min_area_mm2 / pixel_area)))
    mask = disc_probability >= threshold
    if vertebra_probability is not None:
        mask &= disc_probability >= vertebra_probability
    radius = (
        max(0, round(BRIDGE_RADIUS_MM / geometry.pixel_spacing_mm[0])),
        max(0, round(BRIDGE_RADIUS_MM / geometry.pixel_spacing_mm[1])),
    )
    opened = np.asarray(mask, dtype=np.uint8)
    if max(radius) > 0:
        kernel = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (2 * radius[1] + 1, 2 * radius[0] + 1))
        opened = np.asarray(cv2.morphologyEx(opened, cv2.MORPH_OPEN, kernel), dtype=np.uint8)
    plane_normal = geometry.normal
    candidates = []
    pieces = _components(opened, disc_probability, min_pixels=3)
    for component, piece_count in _join_split_pieces(pieces, geometry):
        if len(component.weights) < min_pixels:
            continue
        points = geometry.pixel_to_lps(component.rows, component.columns)
        w = component.weights
        centre = (points * w[:, None]).sum(axis=0) / w.sum()
        offsets = points - centre
        covariance = (offsets * w[:, None]).T @ offsets / w.sum()
        _, vectors = np.linalg.eigh(covariance)
        major = vectors[:, -1] if vectors[1, -1] >= 0 else -vectors[:, -1]
        normal = _unit(np.cross(plane_normal, major))
        if float(normal @ SUPERIOR_LPS) < 0:
            normal = -normal
        pixel = float(np.sqrt(pixel_area))
        along = offsets @ major
        width = float(np.ptp(along)) + pixel
        height = float(np.ptp(offsets @ normal)) + pixel
        if width < MIN_DISC_ASPECT * height:
            continue
        if piece_count > 1:
            # The middle is missing, so the pieces' centroid leans to the bigger one: the centre
            # along the disc is the middle of its extent.
            centre = centre + major * (float(along.min() + along.max()) / 2.0)
            row, column = (float(v) for v in geometry.lps_to_pixel(centre)[:2])
        else:
            row, column = (
                float((component.rows * w).sum() / w.sum()),
                float((component.columns * w).sum() / w.sum()),
            )
        candidates.append(
            DiscCandidate(
                centre_lps=(float(centre[0]), float(centre[1]), float(centre[2])),
                centre_rc=(row, column),
                normal_lps=(float(normal[0]), float(normal[1]), float(normal[2])),
                major_axis_lps=(float(major[0]), float(major[1]), float(major[2])),
                width_mm=width,
                height_mm=height,
                area_mm2=float(len(w) * pixel_area),
                mean_probability=float(w.mean()),
            )
        )
    candidates.sort(key=lambda c: -c.centre_lps[2])
    return tuple(candidates)
