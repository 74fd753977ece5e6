"""The canal centreline from a sagittal mask: direction, crossing with disc and slice planes; and
re-centring the sagittal segmentation on the canal when the model sees less than the image."""

from __future__ import annotations

import cv2
import numpy as np
import pytest

from engine.analysis.parameters import AnalysisParameters
from engine.analysis.sagittal import SAGITTAL_PROMPTS, recentre_on_canal
from engine.canal import DEFAULT_CANAL_OFFSET_MM, canal_centreline_from_mask, fallback_canal_point
from engine.findings import Provenance
from engine.runtime.segmenter import PromptResult
from engine.segmentation import SliceImage
from engine.study.model import SliceGeometry


def _sagittal(size=200) -> SliceGeometry:
    return SliceGeometry((0.0, -100.0, 100.0), (0.0, 1.0, 0.0), (0.0, 0.0, -1.0), (1.0, 1.0), size, size)


def _tilted_canal(geometry: SliceGeometry, tilt_deg: float) -> np.ndarray:
    """A 12 mm wide straight canal through the image centre, leaning `tilt_deg` from head-feet."""
    mask = np.zeros((geometry.rows, geometry.columns), np.float32)
    dx = np.tan(np.radians(tilt_deg)) * 90
    cv2.line(mask, (int(100 - dx), 10), (int(100 + dx), 190), 1.0, 12)
    return mask


def test_centreline_direction_and_crossings():
    geometry = _sagittal()
    centreline = canal_centreline_from_mask(_tilted_canal(geometry, 20.0), geometry)
    assert centreline is not None and centreline.length_mm > 150
    assert np.all(np.diff(centreline.points_lps[:, 2]) > 0)  # caudal to cranial
    centre = geometry.pixel_to_lps(100.0, 100.0)
    direction = centreline.direction_at(centre)
    assert direction[2] > 0
    # Rows run down and columns posterior; the canal leans posterior going down.
    assert np.degrees(np.arccos(abs(direction @ np.array([0.0, 0.0, 1.0])))) == pytest.approx(20.0, abs=2.0)
    # A horizontal disc 30 mm in front of the canal at the image centre: its plane meets the canal there.
    disc_centre = centre - np.array([0.0, 30.0, 0.0])
    point = centreline.point_at_disc(disc_centre, np.array([0.0, 0.0, 1.0]))
    assert point is not None and np.linalg.norm(point - centre) < 1.5
    assert centreline.point_at_disc(disc_centre, np.array([0.0, 0.0, 1.0]), max_distance_mm=10.0) is None
    axial = SliceGeometry(
        tuple(centre - np.array([60.0, 60.0, 0.0])), (1.0, 0.0, 0.0), (0.0, 1.0, 0.0), (1.0, 1.0), 120, 120
    )
    crossing = centreline.slice_crossing(axial)
    assert crossing is not None and np.linalg.norm(crossing - centre) < 1.5


def test_no_centreline_without_a_long_enough_canal():
    geometry = _sagittal()
    assert canal_centreline_from_mask(np.zeros((200, 200), np.float32), geometry) is None
    speck = np.zeros((200, 200), np.float32)
    speck[100:110, 95:105] = 1.0
    assert canal_centreline_from_mask(speck, geometry) is None


def test_fallback_canal_point_lies_behind_the_disc_in_its_plane():
    normal = np.array([0.0, -0.3, 0.95])
    point = fallback_canal_point(np.zeros(3), normal)
    assert np.linalg.norm(point) == pytest.approx(DEFAULT_CANAL_OFFSET_MM)
    assert point[1] > 0 and abs(point @ normal) < 1e-9


class _NarrowModel:
    """Sees 100 mm; answers with a canal at a fixed place, and records where it was centred."""

    def __init__(self, canal: np.ndarray) -> None:
        self.canal = canal
        self.centres: list[object] = []

    def segment(self, image, prompts, centre_rc=None):
        self.centres.append(centre_rc)
        return [PromptResult(p, self.canal, (("A", 1.0),), self.canal) for p in prompts]

    def field_of_view_mm(self, plane):
        return 100.0

    def provenance(self, parameters=()):
        return Provenance("narrow", "1", "x", "0", parameters)

    def execution_providers(self):
        return ["test"]


def test_sagittal_segmentation_is_recentred_on_an_off_centre_canal():
    canal = np.zeros((200, 200), np.float32)
    canal[20:180, 150:162] = 1.0  # 55 mm right of the image centre
    image = SliceImage(np.zeros((200, 200), np.float32), (1.0, 1.0), "sagittal")
    model = _NarrowModel(canal)
    first = {p: canal for p in SAGITTAL_PROMPTS}
    _, centre = recentre_on_canal(image, first, model, AnalysisParameters())
    assert centre == pytest.approx((99.5, 155.5))
    assert model.centres == [centre]
    centred = np.zeros((200, 200), np.float32)
    centred[20:180, 95:107] = 1.0
    model = _NarrowModel(centred)
    assert (
        recentre_on_canal(image, {p: centred for p in SAGITTAL_PROMPTS}, model, AnalysisParameters())[1]
        is None
    )
    assert model.centres == []


@pytest.mark.parametrize(
    ("shape", "spacing", "plane", "centre"),
    [
        ((320, 320), (0.65, 0.65), "axial", (150.0, 170.0)),
        ((384, 384), (0.72, 0.72), "sagittal", None),
        ((300, 260), (0.5, 0.6), "axial", (5.0, 250.0)),
    ],
)
def test_preprocessing_only_the_field_of_view_changes_nothing(shape, spacing, plane, centre):
    """The model input of prepare_slice is the whole-slice preprocessing warped to the model grid,
    also where an implementation filters only the part of the slice the model sees."""
    from engine.preprocessing import (
        GridMapping,
        PlanePreprocessing,
        PreprocessingConfig,
        prepare_intensities,
        prepare_slice,
    )

    rng = np.random.default_rng(3)
    image = cv2.GaussianBlur(rng.random(shape).astype(np.float32), (0, 0), 6) * 3000 + rng.normal(
        0, 40, shape
    )
    configs = PlanePreprocessing(
        PreprocessingConfig(input_size=(128, 128), target_spacing_mm=2.4),
        PreprocessingConfig(input_size=(128, 128), target_spacing_mm=0.35),
    )
    config = configs.for_plane(plane)
    fast = prepare_slice(image, spacing, config, centre)
    mapping = GridMapping.centred(shape, spacing, centre, config)
    whole = np.clip(mapping.to_model(prepare_intensities(image, config), antialias=config.antialias), 0, 1)
    # Equal up to float rounding of the shifted warp: far below one grey level (1/255).
    assert np.abs(fast.pixels - whole).max() < 1e-4


def test_a_canal_cut_by_a_stenosis_stays_one_centreline():
    geometry = _sagittal()
    canal = _tilted_canal(geometry, 10.0)
    canal[95:105] = 0.0  # a severe stenosis: the segmentation breaks at one disc
    canal[20:30, 20:40] = 1.0  # a blob far in front of the canal is not canal
    centreline = canal_centreline_from_mask(canal, geometry)
    assert centreline is not None
    z = centreline.points_lps[:, 2]
    assert z.max() - z.min() > 150  # both pieces
    assert np.all(centreline.points_lps[:, 1] > -100 + 70)  # nothing from the blob (y = -100 + column)
    crossing = centreline.point_at_disc(geometry.pixel_to_lps(100.0, 70.0), np.array([0.0, 0.0, 1.0]))
    assert crossing is not None and np.linalg.norm(crossing - geometry.pixel_to_lps(100.0, 100.0)) < 2.5
