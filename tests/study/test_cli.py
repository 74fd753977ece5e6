"""`lss study info` and `lss bench load`, run in-process through engine.cli.main."""

from __future__ import annotations

import json

import pydicom
import pytest

import engine.cli.main as cli_main
from engine.cli.exit_codes import ExitCode


@pytest.fixture
def lss(monkeypatch):
    """Run `lss ARGS...` in-process with this branch's subcommands; returns the exit code."""
    monkeypatch.setattr(cli_main, "COMMAND_MODULES", ("engine.cli.study", "engine.cli.bench"))
    return lambda *args: cli_main.main([str(a) for a in args])


def _small_study(factory):
    sag, _ = factory.series(n_slices=4)
    factory.series(
        "study/ax",
        n_slices=3,
        series_number=2,
        description="T2 AX discs",
        orientation=factory.tilted_axial(15.0),
        study_uid=sag.study_uid,
    )
    sr = factory.non_image_dataset(sag.study_uid, pydicom.uid.BasicTextSRStorage, "SR", "Radiology report")
    sr.save_as(factory.root / "study" / "report.dcm", enforce_file_format=True)
    (factory.root / "study" / "readme.txt").write_text("not dicom")
    return sag


def test_study_info_text(dicom_factory, lss, capsys):
    sag = _small_study(dicom_factory)
    assert lss("study", "info", dicom_factory.root) == ExitCode.OK
    out = capsys.readouterr().out
    assert sag.study_uid in out
    lines = out.splitlines()
    row = next(line for line in lines if line.startswith("1 "))
    assert row.split() == ["1", "T2", "SAG", "sagittal", "T2", "4", "64x64", "0.8x0.8", "3.5", "4", "no"]
    assert any(line.startswith("2 ") and "axial" in line for line in lines)
    assert "SR 'Radiology report' (1 file): structured report (SR), not an image" in out
    assert "readme.txt: not a DICOM file" in out
    assert "Secret" not in out and "PID-0042" not in out


def test_study_info_json(dicom_factory, lss, capsys):
    sag = _small_study(dicom_factory)
    assert lss("study", "info", dicom_factory.root, "--json") == ExitCode.OK
    data = json.loads(capsys.readouterr().out)
    assert data["study_instance_uid"] == sag.study_uid
    first, second = data["series"]
    assert first == {
        "key": sag.series_uid,
        "series_instance_uid": sag.series_uid,
        "series_number": 1,
        "split_part": None,
        "description": "T2 SAG",
        "orientation": "sagittal",
        "sequence": "T2",
        "slice_count": 4,
        "matrix": [64, 64],
        "pixel_spacing_mm": [0.8, 0.8],
        "slice_thickness_mm": 3.5,
        "slice_spacing_mm": pytest.approx(4.0),
        "angled_stack": False,
        "echo_time_ms": 100.0,
        "repetition_time_ms": 3000.0,
        "manufacturer": "LSS Test Factory",
    }
    assert second["orientation"] == "axial" and second["slice_count"] == 3
    assert data["set_aside"][0]["modality"] == "SR"
    report = data["load_report"]
    assert report["files_found"] == 9 and report["files_loaded"] == 7 and report["cancelled"] is False
    assert report["issues"] == [
        {
            "severity": "skipped",
            "path": str(dicom_factory.root / "study" / "readme.txt"),
            "reason": "not a DICOM file",
        }
    ]
    assert "Secret" not in json.dumps(data)


def test_study_info_without_dicom_exits_with_no_dicom(tmp_path, lss, capsys):
    (tmp_path / "x.txt").write_text("x")
    assert lss("study", "info", tmp_path) == ExitCode.NO_DICOM
    assert "no readable DICOM image" in capsys.readouterr().err


def test_study_info_with_an_unknown_study_uid(dicom_factory, lss, capsys):
    _small_study(dicom_factory)
    assert lss("study", "info", dicom_factory.root, "--study", "1.2.3") == ExitCode.INPUT_INVALID
    assert "1.2.3 is not in the folder" in capsys.readouterr().err


def test_bench_load_prints_all_timings_and_ratios(dicom_factory, lss, capsys):
    _small_study(dicom_factory)
    assert lss("bench", "load", dicom_factory.root, "--repeat", "1") == ExitCode.OK
    out = capsys.readouterr().out
    for label in (
        "naive dcmread + pixel_array loop",
        "our full load",
        "our first displayable slice",
        "speed-up",
    ):
        assert label in out
    assert "pixels decoded: naive 28672, ours 28672" in out


def test_bench_load_without_dicom(tmp_path, lss):
    assert lss("bench", "load", tmp_path) == ExitCode.NO_DICOM
