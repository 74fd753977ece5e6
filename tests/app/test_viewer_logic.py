"""Qt-free pieces of the viewer: windowing, overlays, orientation letters, thumbnails, cache."""

from __future__ import annotations

import numpy as np
import pytest

from engine.findings import SliceMask
from lss_desktop.orientation_labels import direction_letters, edge_labels
from lss_desktop.overlays import (
    OverlaySettings,
    OverlayStyle,
    compose_masks_rgba,
    explanation_rgba,
    mask_outline,
    structure_colour,
)
from lss_desktop.pixel_cache import SlicePixelCache
from lss_desktop.thumbnails import thumbnail_pixels
from lss_desktop.windowing import WindowLevel, auto_window, dragged_window


def test_drag_right_widens_and_drag_up_raises_the_level():
    start = WindowLevel(centre=400.0, width=800.0)
    wider = dragged_window(start, dx_pixels=100, dy_pixels=0)
    assert wider.width == pytest.approx(1000.0) and wider.centre == 400.0
    higher = dragged_window(start, dx_pixels=0, dy_pixels=40)
    assert higher.centre == pytest.approx(480.0)
    assert dragged_window(start, dx_pixels=-10_000, dy_pixels=0).width == 1.0


def test_auto_window_spans_the_percentiles():
    pixels = np.concatenate([np.zeros(1000), np.linspace(0, 1000, 10_000), [1e6]])
    window = auto_window(pixels)
    assert window.centre - window.width / 2 == pytest.approx(np.percentile(pixels, 1.0))
    assert window.centre + window.width / 2 == pytest.approx(np.percentile(pixels, 99.5))
    with pytest.raises(ValueError, match="finite"):
        WindowLevel(float("nan"), 10.0)


def test_orientation_letters_for_standard_and_oblique_planes():
    assert direction_letters((0, 0, -1)) == "I"
    assert direction_letters((0.2, -0.9, 0.4)) == "AS"
    assert direction_letters((-1, 0, 0)) == "R"


def test_edge_labels_of_a_sagittal_and_an_axial(lumbar):
    sagittal = lumbar.sagittal_geometries(16)[0]
    labels = edge_labels(sagittal)
    assert (labels.left, labels.right, labels.top, labels.bottom) == ("A", "P", "S", "I")
    axial = lumbar.axial_geometry((0, 0, 0), 0.0, 16)
    labels = edge_labels(axial)
    assert (labels.left, labels.right, labels.top, labels.bottom) == ("R", "L", "A", "P")
    tilted = edge_labels(lumbar.axial_geometry((0, 0, 0), 30.0, 16))
    assert (tilted.top, tilted.bottom) == ("AI", "PS")


def _mask(structure: str, mask: np.ndarray) -> SliceMask:
    return SliceMask(structure, "1.2", "1.2.1", None, mask)


def test_masks_are_composed_in_their_colours_with_opacity_and_outline():
    square = np.zeros((10, 10), bool)
    square[2:7, 2:7] = True
    rgba = compose_masks_rgba([_mask("dural sac", square)], (10, 10), OverlaySettings(opacity=0.5))
    assert tuple(rgba[4, 4, :3]) == structure_colour("dural sac")
    assert rgba[4, 4, 3] == 128 and rgba[0, 0, 3] == 0
    outline = compose_masks_rgba(
        [_mask("dural sac", square)], (10, 10), OverlaySettings(style=OverlayStyle.OUTLINE)
    )
    assert outline[2, 4, 3] == 255 and outline[4, 4, 3] == 0
    assert mask_outline(square).sum() == 16
    hidden = OverlaySettings(hidden_structures=frozenset({"dural sac"}))
    assert compose_masks_rgba([_mask("dural sac", square)], (10, 10), hidden) is None
    assert compose_masks_rgba([_mask("dural sac", square)], (12, 12), OverlaySettings()) is None
    with pytest.raises(ValueError, match="opacity"):
        OverlaySettings(opacity=1.5)


def test_free_prompt_colours_are_stable_and_distinct_from_nothing():
    assert structure_colour("nerve root at L4") == structure_colour("Nerve root at L4 ")
    assert len(structure_colour("anything")) == 3


def test_explanation_map_is_hot_where_the_value_is_high():
    heat = np.zeros((8, 8), np.float32)
    heat[4, 4] = 1.0
    rgba = explanation_rgba(heat, OverlaySettings(show_explanation=True, opacity=1.0))
    assert tuple(rgba[4, 4]) == (255, 255, 255, 255)
    assert rgba[0, 0, 3] == 0
    assert explanation_rgba(heat, OverlaySettings(show_explanation=False)) is None


def test_thumbnail_keeps_the_pixel_aspect():
    pixels = np.random.default_rng(0).uniform(0, 1000, (100, 50)).astype(np.float32)
    thumb = thumbnail_pixels(pixels, (1.0, 4.0), size=96)
    assert thumb.dtype == np.uint8 and thumb.shape == (48, 96)  # 100 mm high, 200 mm wide
    small = thumbnail_pixels(pixels[:10, :10], (1.0, 1.0), size=40)
    assert small.shape == (40, 40)


def test_pixel_cache_decodes_once_and_evicts_the_oldest(lumbar):
    series = lumbar.make_study(matrix=16).series[1]
    decoded = []
    import dataclasses

    def counting(image):
        decoded.append(image.key)
        return series.pixel_loader(image)

    counted = dataclasses.replace(series, pixel_loader=counting)
    cache = SlicePixelCache(capacity_bytes=3 * 16 * 16 * 4)
    first = cache.pixels(counted, 0)
    assert cache.pixels(counted, 0) is first and len(decoded) == 1
    assert not first.flags.writeable
    for i in range(1, 5):
        cache.pixels(counted, i)
    assert (counted, 0) not in cache and (counted, 4) in cache
    assert cache.size_bytes == 3 * 16 * 16 * 4
