"""Pixel decoding: rescale, signed/unsigned, compressed syntaxes, lazy LRU cache, parallel series."""

from __future__ import annotations

import shutil
import subprocess
import threading

import numpy as np
import pydicom
import pytest
from pydicom.uid import (
    ExplicitVRBigEndian,
    ImplicitVRLittleEndian,
    JPEG2000Lossless,
    JPEGLosslessSV1,
    JPEGLSLossless,
    RLELossless,
)

from engine.study import PixelDecodeError, decode_series, load_study
from engine.study.pixels import SlicePixelStore


def _assert_series_pixels(series, spec, written, factory) -> None:
    by_uid = {w.sop_instance_uid: w.spatial_index for w in written}
    volume = decode_series(series, max_workers=2)
    assert volume.dtype == np.float32 and volume.shape == (len(written), spec.rows, spec.columns)
    for i, s in enumerate(series.slices):
        expected = factory.expected_pixels(spec, by_uid[s.sop_instance_uid])
        np.testing.assert_array_equal(series.slice_pixels(i), expected)
        np.testing.assert_array_equal(volume[i], expected)


@pytest.mark.parametrize(
    ("signed", "rescale", "bits_stored"),
    [(False, None, 12), (True, None, 16), (False, (2.0, -1024.0), 12), (True, (0.25, 3.0), 12)],
)
def test_signed_unsigned_and_rescale(dicom_factory, signed, rescale, bits_stored):
    spec, written = dicom_factory.series(signed=signed, rescale=rescale, bits_stored=bits_stored, n_slices=3)
    series = load_study(dicom_factory.root).series[0]
    assert all(s.rescale_slope == (rescale or (1.0, 0.0))[0] for s in series.slices)
    _assert_series_pixels(series, spec, written, dicom_factory)


def test_unused_high_bits_are_ignored_and_signed_values_sign_extended(dicom_factory):
    spec, written = dicom_factory.series(signed=True, bits_stored=12, n_slices=1)
    ds = pydicom.dcmread(written[0].path)
    raw = np.frombuffer(ds.PixelData, dtype="<u2").copy()
    raw[:] = (raw & 0x0FFF) | 0xA000  # garbage above bit 11 must not change the value
    ds.PixelData = raw.tobytes()
    ds.save_as(written[0].path)
    series = load_study(dicom_factory.root).series[0]
    np.testing.assert_array_equal(series.slice_pixels(0), dicom_factory.expected_pixels(spec, 0))
    assert series.slice_pixels(0).min() < 0


@pytest.mark.parametrize(
    "syntax", [RLELossless, JPEG2000Lossless, JPEGLSLossless, ExplicitVRBigEndian, ImplicitVRLittleEndian]
)
def test_compressed_and_other_transfer_syntaxes(dicom_factory, syntax):
    spec, written = dicom_factory.series(compress_to=None, n_slices=3, signed=True, rescale=(1.0, -50.0))
    for w in written:
        ds = pydicom.dcmread(w.path)
        if syntax.is_compressed:
            ds.compress(syntax, generate_instance_uid=False)
            ds.save_as(w.path, enforce_file_format=True)
            continue
        if not syntax.is_little_endian:
            ds.PixelData = ds.pixel_array.byteswap().tobytes()  # OW is written as is
        ds.file_meta.TransferSyntaxUID = syntax
        pydicom.dcmwrite(
            w.path,
            ds,
            implicit_vr=syntax.is_implicit_VR,
            little_endian=syntax.is_little_endian,
            enforce_file_format=True,
        )
        assert pydicom.dcmread(w.path).file_meta.TransferSyntaxUID == syntax
    series = load_study(dicom_factory.root).series[0]
    _assert_series_pixels(series, spec, written, dicom_factory)


@pytest.mark.skipif(
    shutil.which("dcmcjpeg") is None, reason="dcmtk's dcmcjpeg (installed by the bootstrap) is missing"
)
def test_jpeg_lossless_written_by_dcmtk(dicom_factory):
    # No Python encoder writes JPEG Lossless (process 14); dcmtk's dcmcjpeg does.
    spec, written = dicom_factory.series(n_slices=3)
    for w in written:
        subprocess.run(["dcmcjpeg", "+e1", str(w.path), str(w.path) + ".jpg"], check=True)
        w.path.unlink()
        (w.path.parent / (w.path.name + ".jpg")).rename(w.path)
        assert pydicom.dcmread(w.path).file_meta.TransferSyntaxUID == JPEGLosslessSV1
    series = load_study(dicom_factory.root).series[0]
    _assert_series_pixels(series, spec, written, dicom_factory)


def test_compressed_enhanced_multiframe_frames_decode_individually(dicom_factory):
    spec = dicom_factory.spec(n_slices=4, compress_to=RLELossless, orientation=dicom_factory.AXIAL)
    dicom_factory.write_enhanced_mr(dicom_factory.root / "mf" / "x.dcm", spec, frame_order=[2, 0, 3, 1])
    series = load_study(dicom_factory.root).series[0]
    for i in range(4):
        np.testing.assert_array_equal(series.slice_pixels(i), dicom_factory.expected_pixels(spec, i))


def test_pixels_are_decoded_lazily_and_cached_read_only(dicom_factory, monkeypatch):
    dicom_factory.series(n_slices=4)
    series = load_study(dicom_factory.root).series[0]
    store = series.pixel_loader
    assert isinstance(store, SlicePixelStore)
    assert store.cached_bytes == 0  # loading read headers only
    calls = []
    import engine.study.pixels as pixels_module

    original = pixels_module.read_stored_values
    monkeypatch.setattr(
        pixels_module,
        "read_stored_values",
        lambda source, **kw: calls.append(source) or original(source, **kw),
    )
    first = series.slice_pixels(1)
    again = series.slice_pixels(1)
    assert again is first and len(calls) == 1
    assert store.cached_bytes == first.nbytes
    with pytest.raises(ValueError):
        first[0, 0] = 1  # the cache hands out read-only arrays


def test_cache_is_bounded_least_recently_used(dicom_factory):
    dicom_factory.series(n_slices=5)
    series = load_study(dicom_factory.root, cache_bytes=3 * 64 * 64 * 4).series[0]
    store = series.pixel_loader
    kept = [series.slice_pixels(i) for i in range(3)]
    series.slice_pixels(0)  # now most recently used
    series.slice_pixels(3)  # evicts slice 1
    assert store.cached_bytes == 3 * 64 * 64 * 4
    assert series.slice_pixels(0) is kept[0]
    assert series.slice_pixels(1) is not kept[1]


def test_concurrent_readers_get_identical_pixels(dicom_factory):
    dicom_factory.series(n_slices=6)
    series = load_study(dicom_factory.root, cache_bytes=2 * 64 * 64 * 4).series[0]
    errors = []

    def read_all() -> None:
        try:
            for _ in range(5):
                for i in range(6):
                    assert series.slice_pixels(i)[0, 0] == series.slice_pixels(i)[1, 0]
        except Exception as exc:
            errors.append(exc)

    threads = [threading.Thread(target=read_all) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    assert series.pixel_loader.cached_bytes <= 2 * 64 * 64 * 4
    np.testing.assert_array_equal(series.volume()[:, 0, 0], [10, 20, 30, 40, 50, 60][::-1])


def test_decode_series_reuses_cached_slices_and_does_not_fill_the_cache(dicom_factory):
    dicom_factory.series(n_slices=4)
    series = load_study(dicom_factory.root).series[0]
    series.slice_pixels(2)
    before = series.pixel_loader.cached_bytes
    volume = decode_series(series)
    assert series.pixel_loader.cached_bytes == before
    np.testing.assert_array_equal(volume[2], series.slice_pixels(2))


def test_corrupt_compressed_pixels_raise_pixel_decode_error_naming_the_file(dicom_factory):
    _, written = dicom_factory.series(n_slices=3, compress_to=JPEG2000Lossless)
    victim = written[1].path
    data = bytearray(victim.read_bytes())
    codestream = data.index(b"\xff\x4f\xff\x51")  # JPEG 2000 SOC + SIZ markers
    data[codestream : codestream + 40] = b"\x00" * 40
    victim.write_bytes(bytes(data))
    series = load_study(dicom_factory.root).series[0]
    index = next(i for i, s in enumerate(series.slices) if s.source_path == victim)
    with pytest.raises(PixelDecodeError) as raised:
        series.slice_pixels(index)
    assert raised.value.path == str(victim)
    with pytest.raises(PixelDecodeError, match=r"1 of 3 slices failed"):
        decode_series(series)
    series.slice_pixels((index + 1) % 3)  # the other slices still decode
