"""Render slices of the synthetic anatomy into MR-like 12-bit images and exact label masks.

Per slice: the label field is evaluated at every pixel centre (that is the ground-truth mask);
pixels on a label boundary get four more samples, offset by a quarter pixel in-plane and a third
of the slice thickness through the plane, whose mean gives partial-volume signal. Then a
receive-coil bias field (the patient lies on a posterior spine array), a slight blur (k-space
truncation), Rician noise (magnitude of complex Gaussian noise) and 12-bit storage.
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

from engine.synthetic_study.acquisition import SeriesProtocol, SlicePlane
from engine.synthetic_study.anatomy import Anatomy
from engine.synthetic_study.label_field import evaluate

MAX_STORED_VALUE = 4095  # 12 bits stored


@dataclass(frozen=True)
class SliceSignal:
    """Noise-free relative signal and labels of one plane (before the scanner model)."""

    label: np.ndarray  # (rows, columns) uint8
    t2: np.ndarray  # (rows, columns) float32
    t1: np.ndarray  # (rows, columns) float32


# Stratified sub-samples: (row offset, column offset) in pixels and the through-plane offset in
# thirds of the slice thickness.
_SUBSAMPLES = ((0.25, 0.25, 1.0), (-0.25, -0.25, -1.0), (0.25, -0.25, -1.0), (-0.25, 0.25, 1.0))


def render_signal(anatomy: Anatomy, plane: SlicePlane, thickness_mm: float) -> SliceSignal:
    """Labels at pixel centres and partial-volume T2/T1 signal for one plane."""
    rows, cols = plane.rows, plane.columns
    centre = evaluate(anatomy, plane.pixel_centres())
    label = centre.label.reshape(rows, cols)
    t2 = centre.t2.reshape(rows, cols).copy()
    t1 = centre.t1.reshape(rows, cols).copy()
    edge = np.zeros((rows, cols), bool)
    diff_r = label[1:, :] != label[:-1, :]
    diff_c = label[:, 1:] != label[:, :-1]
    edge[1:, :] |= diff_r
    edge[:-1, :] |= diff_r
    edge[:, 1:] |= diff_c
    edge[:, :-1] |= diff_c
    idx = np.flatnonzero(edge)
    if idx.size:
        r = (idx // cols).astype(np.float32)
        c = (idx % cols).astype(np.float32)
        origin = np.asarray(plane.position_lps, np.float32)
        row_dir = np.asarray(plane.row_direction, np.float32)
        col_dir = np.asarray(plane.column_direction, np.float32)
        normal = plane.normal.astype(np.float32)
        dr, dc = np.float32(plane.pixel_spacing_mm[0]), np.float32(plane.pixel_spacing_mm[1])
        sum2 = t2.ravel()[idx].copy()
        sum1 = t1.ravel()[idx].copy()
        for ro, co, no in _SUBSAMPLES:
            pts = (
                origin
                + ((r + np.float32(ro)) * dr)[:, None] * col_dir
                + ((c + np.float32(co)) * dc)[:, None] * row_dir
                + np.float32(no * thickness_mm / 3.0) * normal
            )
            sub = evaluate(anatomy, pts)
            sum2 += sub.t2
            sum1 += sub.t1
        t2.ravel()[idx] = sum2 / np.float32(len(_SUBSAMPLES) + 1)
        t1.ravel()[idx] = sum1 / np.float32(len(_SUBSAMPLES) + 1)
    return SliceSignal(label, t2, t1)


def coil_sensitivity(
    anatomy: Anatomy, plane: SlicePlane, protocol: SeriesProtocol, wobble: np.ndarray
) -> np.ndarray:
    """Receive field (rows, columns), float32 around 1: decays away from the table (posterior
    spine array) and varies smoothly; `wobble` = 6 random coefficients of a quadratic field."""
    rows, cols = plane.rows, plane.columns
    step = 8
    sub = SlicePlane(
        plane.position_lps,
        plane.row_direction,
        plane.column_direction,
        (plane.pixel_spacing_mm[0] * step, plane.pixel_spacing_mm[1] * step),
        (rows + step - 1) // step + 1,
        (cols + step - 1) // step + 1,
    )
    p = sub.pixel_centres().astype(np.float64)
    depth = np.maximum(anatomy.habitus.table_y - p[:, 1], 0.0)
    decay = np.exp(-depth / protocol.bias_decay_mm)
    field = (1.0 - protocol.bias_weight) + protocol.bias_weight * decay / max(float(decay.max()), 1e-6)
    x = (p[:, 0] - p[:, 0].mean()) / 200.0
    z = (p[:, 2] - p[:, 2].mean()) / 200.0
    y = (p[:, 1] - p[:, 1].mean()) / 200.0
    field *= (
        1.0
        + wobble[0] * x
        + wobble[1] * y
        + wobble[2] * z
        + wobble[3] * x * x
        + wobble[4] * z * z
        + wobble[5] * x * z
    )
    coarse = field.reshape(sub.rows, sub.columns).astype(np.float32)
    full = cv2.resize(coarse, (sub.columns * step, sub.rows * step), interpolation=cv2.INTER_LINEAR)
    return np.ascontiguousarray(full[:rows, :cols])


def acquire(
    signal: np.ndarray, sensitivity: np.ndarray, protocol: SeriesProtocol, rng: np.random.Generator
) -> np.ndarray:
    """Scanner model: bias, blur, Rician noise, 12-bit storage -> uint16 (rows, columns)."""
    img = signal * sensitivity
    img = cv2.GaussianBlur(img, (0, 0), protocol.blur_px)
    sigma = np.float32(protocol.noise_fraction)
    noise_re = rng.standard_normal(img.shape, dtype=np.float32) * sigma
    noise_im = rng.standard_normal(img.shape, dtype=np.float32) * sigma
    magnitude = np.sqrt((img + noise_re) ** 2 + noise_im**2)
    stored = np.rint(magnitude * np.float32(protocol.signal_scale))
    return np.clip(stored, 0, MAX_STORED_VALUE).astype(np.uint16)


def window_for(pixels: list[np.ndarray]) -> tuple[float, float]:
    """Vendor-like default window (centre, width) from the series' intensity distribution."""
    sample = np.concatenate([p[::4, ::4].ravel() for p in pixels])
    high = float(np.percentile(sample, 99.7)) if sample.size else float(MAX_STORED_VALUE)
    width = max(round(high * 1.05), 16.0)
    return float(round(width / 2)), float(width)
