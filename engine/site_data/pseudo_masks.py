"""Report-conditioned pseudo-masks of the dural sac (method.md, pipeline step 2), for site data that
has reports but no masks.

On the axial slice the level's geometry chose (engine.site_data.level_geometry):
1. non-local-means denoising and robust normalisation (engine.preprocessing, the model's own
   preprocessing), then a search window around the canal point, rescaled to its own 1st-99th
   percentiles (the receive-coil bias and bright subcutaneous fat make slice-wide levels
   meaningless there) and lightly smoothed;
2. Otsu thresholds: multi-level Otsu (multi_otsu) splits the smoothed window into 3, 4, ... 8
   classes; every union of adjacent classes that holds the canal point's median value is a
   candidate band. No single threshold fits every grade: a CSF-bright sac (A) is bounded by
   slightly darker epidural fat, a grainy sac (B) by fat and ligament on both sides, a CSF-free
   grey sac (C/D) by brighter fat, so the finer splits give the bands the coarse ones merge;
3. morphology: each band is opened (cutting thin bridges to touching tissue of similar
   brightness), closed and hole-filled (dark rootlets inside a CSF-bright sac), and its connected
   component covering the canal point is a candidate;
4. Canny edges of the smoothed window (hysteresis thresholds from the window's own gradient
   quantile) support a candidate by the share of its outline within one pixel of an edge: a sac
   is bounded by an edge almost all round, a band that is too wide or too narrow cuts through
   flat tissue;
5. the report chooses the expected appearance on T2: brighter than the tissue just around it for
   "none"/"mild", darker (a grey sac inside the epidural fat) for "severe", either for "moderate"
   and for compression of unstated degree;
6. among the compact candidates (solidity) that stay inside the window and fit the appearance, the
   one best supported by Canny edges is the sac (equal support to 5 %: the larger one);
7. the report conditions the area: the severity's range (engine.site_data.severity), narrowed to
   a stated area when the report gives one. The area never selects the candidate, so a text that
   contradicts a clear image is rejected rather than obeyed.
A candidate that contradicts the text (appearance or area), leaks to the window's edge, is not
compact or whose outline Canny edges do not support is rejected with that reason, never returned as a mask.
Constants were tuned on training seeds only (training/site_data/pseudo_mask_validation.md).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum

import cv2
import numpy as np

from engine.preprocessing import PreprocessingConfig, prepare_intensities
from engine.site_data.severity import AreaRange, Severity, expected_dural_sac_area


class RejectionReason(StrEnum):
    NO_COMPONENT = "no component near the canal"
    AREA_OUT_OF_RANGE = "area contradicts the stated severity"
    LEAK = "component reaches the edge of the search window"
    NOT_COMPACT = "component is not compact"
    WEAK_EDGES = "outline not supported by image edges"
    NO_SEVERITY = "the report states no severity for the level"


# Sign of the contrast between the sac and the tissue just around it that each stated severity
# expects on T2: a CSF-bright sac (+1), a CSF-free grey sac darker than the epidural fat (-1), or
# either (0).
EXPECTED_CONTRAST: dict[Severity, int] = {
    Severity.NONE: 1,
    Severity.MILD: 1,
    Severity.MODERATE: 0,
    Severity.UNQUALIFIED: 0,
    Severity.SEVERE: -1,
}


@dataclass(frozen=True)
class PseudoMaskConfig:
    """Parameters of the pseudo-mask search (millimetres are converted with the slice's spacing).

    window_half_size_mm: half side of the square search window around the canal point.
    open_radius_mm / close_radius_mm: radii of the elliptic opening and closing elements applied to
        every Otsu band (opening cuts thin bridges to touching tissue, closing bridges rootlets
        at the sac's rim).
    min_solidity: smallest area / convex hull area of an accepted component.
    seed_radius_mm: the canal point's neighbourhood: its median intensity is the value every band
        contains, and a candidate is the band component covering most of it.
    otsu_classes: the numbers of multi-level Otsu classes the window is split into; the bands are
        the unions of adjacent classes of each split.
    ring_mm: width of the ring outside a candidate that its contrast is measured against.
    smooth_mm: Gaussian sigma applied before Otsu and Canny (grainy sacs of moderate stenosis).
    min_area_mm2: smallest candidate considered (below it nothing that could be a sac is left).
    canny_high_quantile / canny_low_ratio: Canny's high hysteresis threshold is this quantile of
        the window's Sobel gradient magnitude, the low one this fraction of it.
    edge_tolerance_px: an outline pixel is supported when a Canny edge lies within this many pixels
        (chessboard distance).
    min_edge_support: smallest share of the chosen outline supported by Canny edges.
    support_step: candidates whose support differs by less than this are equally supported (the
        larger one is chosen).
    preprocessing: normalisation and non-local-means denoising (engine.preprocessing).
    """

    window_half_size_mm: float = 14.0
    open_radius_mm: float = 0.8
    close_radius_mm: float = 1.2
    min_solidity: float = 0.7
    seed_radius_mm: float = 1.5
    otsu_classes: tuple[int, ...] = (3, 4, 5, 6, 7, 8)
    ring_mm: float = 1.5
    smooth_mm: float = 0.5
    min_area_mm2: float = 8.0
    canny_high_quantile: float = 0.6
    canny_low_ratio: float = 0.5
    edge_tolerance_px: int = 1
    min_edge_support: float = 0.5
    support_step: float = 0.05
    preprocessing: PreprocessingConfig = field(default_factory=PreprocessingConfig)


@dataclass(frozen=True, eq=False)
class PseudoMaskResult:
    """The outcome for one level. mask: bool (rows, cols) on the slice when accepted, else None;
    candidate: the component found before the report's checks (None when none was found; kept so
    that rejections can be inspected and scored); area_mm2: the candidate's area; expected: the
    range the text allowed; reason: why it was rejected (None when accepted)."""

    accepted: bool
    mask: np.ndarray | None = field(repr=False)
    candidate: np.ndarray | None = field(repr=False)
    area_mm2: float | None
    expected: AreaRange | None
    reason: RejectionReason | None
    detail: str = ""


def _disc(radius_px: float) -> np.ndarray:
    size = max(round(radius_px), 1) * 2 + 1
    return cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (size, size))


def _fill_holes(mask: np.ndarray) -> np.ndarray:
    """Fill enclosed background (rootlets inside a CSF-bright sac are dark holes)."""
    padded = np.pad(mask.astype(np.uint8), 1)
    flood = padded.copy()
    cv2.floodFill(flood, None, (0, 0), 1)
    return (padded | (1 - flood)).astype(bool)[1:-1, 1:-1]


def multi_otsu(grey: np.ndarray, classes: int) -> list[int]:
    """Thresholds t_1 < ... < t_{classes-1} of an 8-bit image that maximise the between-class
    variance of the classes [0, t_1), [t_1, t_2), ..., [t_{classes-1}, 255] (multi-level Otsu, exact
    by dynamic programming over the histogram). Every class holds at least one pixel; an image with
    fewer grey levels than classes gets fewer thresholds."""
    if classes < 2:
        raise ValueError(f"Otsu needs at least 2 classes, got {classes}")
    histogram = np.bincount(np.asarray(grey, dtype=np.uint8).ravel(), minlength=256).astype(np.float64)
    occupied = int(np.count_nonzero(histogram))
    classes = max(min(classes, occupied), 1)
    if classes < 2:
        return []
    p = histogram / histogram.sum()
    weight = np.concatenate(([0.0], np.cumsum(p)))
    moment = np.concatenate(([0.0], np.cumsum(p * np.arange(256, dtype=np.float64))))
    # cost[a, b]: the class of bins [a, b) contributes mean^2 * weight = moment^2 / weight
    w = weight[None, :] - weight[:, None]
    m = moment[None, :] - moment[:, None]
    with np.errstate(divide="ignore", invalid="ignore"):
        cost = np.where(w > 1e-12, m**2 / w, -np.inf)
    cost[np.tril_indices(257)] = -np.inf
    best = cost[0].copy()  # best[b]: one class over bins [0, b)
    choices = []
    for _ in range(classes - 1):
        total = best[:, None] + cost  # previous classes end at a, the new one covers [a, b)
        choices.append(np.argmax(total, axis=0))
        best = total[choices[-1], np.arange(257)]
    thresholds = []
    end = 256
    for choice in reversed(choices):
        end = int(choice[end])
        thresholds.append(end)
    return sorted(thresholds)


def three_class_otsu(grey: np.ndarray) -> tuple[int, int]:
    """Two thresholds (t1 < t2) of an 8-bit image maximising the between-class variance of the three
    classes [0, t1), [t1, t2), [t2, 255] (multi_otsu with three classes)."""
    low, high = multi_otsu(grey, 3)
    return low, high


def _touches_border(component: np.ndarray) -> bool:
    return bool(component[0].any() or component[-1].any() or component[:, 0].any() or component[:, -1].any())


def _window(
    shape: tuple[int, int], centre_rc: tuple[float, float], half_px: tuple[int, int]
) -> tuple[slice, slice]:
    rows, cols = shape
    r, c = round(centre_rc[0]), round(centre_rc[1])
    return (
        slice(max(r - half_px[0], 0), min(r + half_px[0] + 1, rows)),
        slice(max(c - half_px[1], 0), min(c + half_px[1] + 1, cols)),
    )


def _outline(component: np.ndarray) -> np.ndarray:
    mask = component.astype(np.uint8)
    return (mask - cv2.erode(mask, np.ones((3, 3), np.uint8))) > 0


def _solidity(component: np.ndarray) -> float:
    contours, _ = cv2.findContours(component.astype(np.uint8), cv2.RETR_EXTERNAL, cv2.CHAIN_APPROX_SIMPLE)
    hull = cv2.convexHull(np.vstack(contours))
    # contourArea measures the polygon through the outline pixel centres: add half a pixel all round.
    hull_area = float(cv2.contourArea(hull)) + 0.5 * float(cv2.arcLength(hull, True)) + 1.0
    return float(component.sum()) / hull_area


@dataclass(frozen=True)
class _Candidate:
    component: np.ndarray
    support: float  # share of the outline within edge_tolerance_px of a Canny edge
    contrast: float  # mean inside minus mean of the ring just outside
    leaks: bool
    solidity: float


def _canny_edges(grey: np.ndarray, config: PseudoMaskConfig) -> np.ndarray:
    """Canny edges (bool) of the smoothed 8-bit window. The hysteresis thresholds come from the
    window's own gradient: the high one is the canny_high_quantile of the Sobel magnitude (an edge
    must be among the window's strongest intensity changes), the low one canny_low_ratio of it."""
    gx = cv2.Sobel(grey, cv2.CV_32F, 1, 0, ksize=3)
    gy = cv2.Sobel(grey, cv2.CV_32F, 0, 1, ksize=3)
    high = max(float(np.quantile(np.hypot(gx, gy), config.canny_high_quantile)), 1.0)
    return cv2.Canny(grey, config.canny_low_ratio * high, high, L2gradient=True) > 0


def _otsu_candidates(
    grey: np.ndarray,
    edges: np.ndarray,
    seed_rc: tuple[float, float],
    spacing_mm: tuple[float, float],
    config: PseudoMaskConfig,
) -> list[_Candidate]:
    """Components covering the canal point of every union of adjacent Otsu classes that holds the
    canal point's median value, for each number of classes in config.otsu_classes."""
    per_mm = 1.0 / min(spacing_mm)
    rr, cc = np.mgrid[: grey.shape[0], : grey.shape[1]]
    distance = np.hypot((rr - seed_rc[0]) * spacing_mm[0], (cc - seed_rc[1]) * spacing_mm[1])
    seed_zone = distance <= config.seed_radius_mm
    seed_value = float(np.median(grey[seed_zone])) if seed_zone.any() else float(grey.mean())
    bands: set[tuple[int, int]] = set()
    for classes in config.otsu_classes:
        limits = [0, *multi_otsu(grey, classes), 256]  # class k: [limits[k], limits[k + 1])
        seed_class = max(k for k in range(len(limits) - 1) if limits[k] <= seed_value)
        for first in range(seed_class + 1):
            for last in range(seed_class, len(limits) - 1):
                if (first, last) != (0, len(limits) - 2):  # the whole window is no candidate
                    bands.add((limits[first], limits[last + 1]))
    opening = _disc(config.open_radius_mm * per_mm)
    closing = _disc(config.close_radius_mm * per_mm)
    ring_element = _disc(config.ring_mm * per_mm)
    tolerance = np.ones((2 * config.edge_tolerance_px + 1,) * 2, np.uint8)
    near_edge = cv2.dilate(edges.astype(np.uint8), tolerance) > 0
    seen: set[bytes] = set()
    found = []
    for low, high in sorted(bands):
        band: np.ndarray = ((grey >= low) & (grey < high)).astype(np.uint8)
        band = cv2.morphologyEx(band, cv2.MORPH_OPEN, opening)
        if config.close_radius_mm > 0:
            band = cv2.morphologyEx(band, cv2.MORPH_CLOSE, closing)
        _, labels = cv2.connectedComponents(band, connectivity=4)
        hit = np.unique(labels[seed_zone & (labels > 0)])
        if hit.size == 0:
            continue
        # the component covering most of the seed zone
        label = int(max(hit, key=lambda k: int((labels[seed_zone] == k).sum())))
        component = _fill_holes(labels == label)
        key = np.packbits(component).tobytes()
        if key in seen:
            continue
        seen.add(key)
        outline = _outline(component)
        ring = (cv2.dilate(component.astype(np.uint8), ring_element) > 0) & ~component
        contrast = float(grey[component].mean() - grey[ring].mean()) if ring.any() else 0.0
        found.append(
            _Candidate(
                component,
                float(near_edge[outline].mean()) if outline.any() else 0.0,
                contrast,
                _touches_border(component),
                _solidity(component),
            )
        )
    return found


def dural_sac_pseudo_mask(
    pixels: np.ndarray,
    spacing_mm: tuple[float, float],
    canal_rc: tuple[float, float],
    severity: Severity | None,
    stated_area_mm2: float | None = None,
    config: PseudoMaskConfig | None = None,
) -> PseudoMaskResult:
    """Pseudo-mask of the dural sac on one axial slice, conditioned on the report.

    pixels: the slice (rows, cols), stored values; spacing_mm: PixelSpacing (row, col);
    canal_rc: the canal point in pixel coordinates (row, col); severity / stated_area_mm2: what the
    report says about this level (engine.site_data.report_parser).
    """
    config = config or PseudoMaskConfig()
    if severity is None:
        return PseudoMaskResult(False, None, None, None, None, RejectionReason.NO_SEVERITY)
    image = np.asarray(pixels)
    if image.ndim != 2:
        raise ValueError(f"expected a 2D slice, got shape {image.shape}")
    row_mm, col_mm = (float(s) for s in spacing_mm)
    pixel_area = row_mm * col_mm
    expected = expected_dural_sac_area(severity, stated_area_mm2)
    intensities = prepare_intensities(image, config.preprocessing)
    rows_slice, cols_slice = _window(
        image.shape,
        canal_rc,
        (int(config.window_half_size_mm / row_mm), int(config.window_half_size_mm / col_mm)),
    )
    window = intensities[rows_slice, cols_slice].astype(np.float32)
    low_p, high_p = np.percentile(window, (1.0, 99.0))
    window = np.clip((window - low_p) / max(float(high_p - low_p), 1e-6), 0.0, 1.0).astype(np.float32)
    per_mm = 1.0 / min(row_mm, col_mm)
    smooth = cv2.GaussianBlur(window, (0, 0), config.smooth_mm * per_mm)
    grey = np.round(smooth * 255.0).astype(np.uint8)
    edges = _canny_edges(grey, config)
    local = (canal_rc[0] - rows_slice.start, canal_rc[1] - cols_slice.start)
    candidates = _otsu_candidates(grey, edges, local, (row_mm, col_mm), config)
    expected_sign = EXPECTED_CONTRAST[severity]
    fitting = [
        c
        for c in candidates
        if (expected_sign == 0 or expected_sign * c.contrast > 0)
        and float(c.component.sum()) * pixel_area >= config.min_area_mm2
    ]
    if not fitting:
        look = {1: "brighter than", -1: "darker than", 0: "distinct from"}[expected_sign]
        return PseudoMaskResult(
            False,
            None,
            None,
            None,
            expected,
            RejectionReason.NO_COMPONENT,
            f"no component at the canal point {look} the tissue around it ({severity.value})",
        )
    good = [c for c in fitting if not c.leaks and c.solidity >= config.min_solidity]
    # the best Canny support; among candidates equally supported (to support_step) the largest, as
    # a smaller one inside it is bounded by the same edges only where the bands agree
    best = max(
        good or fitting,
        key=lambda c: (round(c.support / config.support_step), int(c.component.sum())),
    )
    component = best.component
    full = np.zeros(image.shape, dtype=bool)
    full[rows_slice, cols_slice] = component
    area = float(component.sum()) * pixel_area

    def rejected(reason: RejectionReason, detail: str) -> PseudoMaskResult:
        return PseudoMaskResult(False, None, full, area, expected, reason, detail)

    if best.leaks:
        return rejected(RejectionReason.LEAK, f"{area:.0f} mm2 touching the window edge")
    if best.solidity < config.min_solidity:
        return rejected(RejectionReason.NOT_COMPACT, f"solidity {best.solidity:.2f} < {config.min_solidity}")
    if best.support < config.min_edge_support:
        return rejected(
            RejectionReason.WEAK_EDGES,
            f"{best.support:.0%} of the outline on Canny edges < {config.min_edge_support:.0%}",
        )
    if not expected.contains(area):
        return rejected(
            RejectionReason.AREA_OUT_OF_RANGE,
            f"{area:.0f} mm2 outside [{expected.low_mm2:.0f}, {expected.high_mm2:.0f}] for {severity.value}",
        )
    return PseudoMaskResult(True, full, full, area, expected, None)
