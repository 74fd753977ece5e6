"""`lss analyze` and `lss segment`: outputs, summaries and exit codes (run in-process)."""

from __future__ import annotations

import json
import shutil

import cv2
import numpy as np
import pytest

from engine.cli.exit_codes import ExitCode
from engine.cli.main import main
from engine.findings_io import load_findings
from engine.study.model import Orientation


@pytest.fixture
def oracle_model(monkeypatch, oracle):
    """Make `lss analyze` use the ground-truth oracle of a study as its model."""

    def use(truth, hide=None):
        monkeypatch.setattr(
            "engine.cli.analyze.open_model", lambda model, device, threads: oracle(truth, hide)
        )

    return use


def test_analyze_writes_findings_overlays_and_masks(continuous_study, oracle_model, tmp_path, capsys):
    out_dir, truth = continuous_study
    oracle_model(truth)
    out = tmp_path / "out"
    code = main(["analyze", str(out_dir / "study"), "--out", str(out), "--nifti", "--dicom-seg", "--quiet"])
    printed = capsys.readouterr().out
    assert code == ExitCode.OK
    findings = load_findings(out / "findings.json")
    assert [f.grade for f in findings.findings] == [lv.grade for lv in truth.levels]
    document = json.loads((out / "findings.json").read_text())
    assert document["schema_version"] == "1.1" and document["load_report"]["files_loaded"] > 0
    assert {p.name for p in (out / "overlays").iterdir()} == {
        *(f"{lv.level}.png" for lv in truth.levels),
        "sagittal-levels.png",
    }
    assert cv2.imread(str(out / "overlays" / "L4-L5.png")) is not None
    import nibabel as nib

    mask = np.asarray(nib.load(str(out / "masks" / "L4-L5-dural-sac.nii.gz")).dataobj)
    assert mask.shape[2] == 1 and mask.sum() > 0
    assert len(list((out / "dicom-seg").glob("*.dcm"))) >= 1
    for level in truth.levels:
        assert any(
            line.startswith(level.level) and f" {level.grade.value} " in line for line in printed.splitlines()
        )
    assert "Decision support" in printed and "time per stage" in printed


def _copy_series(study_dir, target, keep):
    from engine.study import load_study

    study = load_study(study_dir)
    target.mkdir()
    for series in study.series:
        if keep(series):
            for image in series.slices:
                shutil.copy(image.source_path, target / f"{image.sop_instance_uid}.dcm")
    return target


def test_analyze_exit_codes(continuous_study, oracle_model, tmp_path, capsys):
    out_dir, truth = continuous_study
    oracle_model(truth)
    empty = tmp_path / "empty"
    empty.mkdir()
    (empty / "notes.txt").write_text("not DICOM")
    assert main(["analyze", str(empty), "--out", str(tmp_path / "o1"), "--quiet"]) == ExitCode.NO_DICOM
    sagittal_only = _copy_series(
        out_dir / "study", tmp_path / "sag", lambda s: s.orientation is Orientation.SAGITTAL
    )
    assert (
        main(["analyze", str(sagittal_only), "--out", str(tmp_path / "o2"), "--quiet"])
        == ExitCode.MISSING_SERIES
    )
    assert "no axial T2" in capsys.readouterr().err
    oracle_model(
        truth, lambda structure, mask, image: mask * 0 if structure == "intervertebral disc" else mask
    )
    assert (
        main(["analyze", str(out_dir / "study"), "--out", str(tmp_path / "o3"), "--quiet"])
        == ExitCode.LEVELS_NOT_FOUND
    )
    assert "levels not found" in capsys.readouterr().err
    assert not (tmp_path / "o3" / "findings.json").exists()


def test_analyze_refuses_an_invalid_model_pack(continuous_study, tiny_pack, tmp_path, capsys):
    out_dir, _ = continuous_study
    broken = tmp_path / "broken"
    shutil.copytree(tiny_pack, broken)
    (broken / "image_encoder.onnx").write_bytes((broken / "image_encoder.onnx").read_bytes()[:500])
    code = main(["analyze", str(out_dir / "study"), "--out", str(tmp_path / "o"), "--model", str(broken)])
    assert code == ExitCode.MODEL_PACK_INVALID
    assert "image_encoder.onnx has 500 bytes" in capsys.readouterr().err


def test_analyze_with_the_tiny_pack_runs_on_onnx_runtime(continuous_study, tiny_pack, tmp_path, capsys):
    """An untrained model finds no discs: the analysis says so with its exit code, nothing half-written."""
    out_dir, _ = continuous_study
    code = main(
        [
            "analyze",
            str(out_dir / "study"),
            "--out",
            str(tmp_path / "o"),
            "--model",
            str(tiny_pack),
            "--device",
            "cpu",
            "--threads",
            "1",
        ]
    )
    err = capsys.readouterr().err
    assert code in (ExitCode.OK, ExitCode.LEVELS_NOT_FOUND), err
    assert "segmenting the mid-sagittal slice" in err
    if code == ExitCode.OK:
        assert load_findings(tmp_path / "o" / "findings.json").provenance.model_name == "lss-tiny"


def test_segment_a_png_needs_its_spacing(tiny_pack, tmp_path, capsys):
    image = (np.random.default_rng(0).random((90, 70)) * 255).astype(np.uint8)
    png = tmp_path / "slice.png"
    cv2.imwrite(str(png), image)
    out = tmp_path / "mask.png"
    assert (
        main(["segment", str(png), "--prompt", "dural sac", "--out", str(out), "--model", str(tiny_pack)])
        == ExitCode.USAGE
    )
    assert "--spacing" in capsys.readouterr().err
    code = main(
        [
            "segment",
            str(png),
            "--prompt",
            "dural sac",
            "--out",
            str(out),
            "--spacing",
            "0.7",
            "--model",
            str(tiny_pack),
        ]
    )
    assert code == ExitCode.OK
    mask = cv2.imread(str(out), cv2.IMREAD_UNCHANGED)
    assert mask.shape == (90, 70) and set(np.unique(mask)) <= {0, 255}
    nifti = tmp_path / "mask.nii.gz"
    assert (
        main(
            [
                "segment",
                str(png),
                "--prompt",
                "dural sac",
                "--out",
                str(nifti),
                "--spacing",
                "0.7,0.8",
                "--model",
                str(tiny_pack),
            ]
        )
        == ExitCode.OK
    )
    assert nifti.is_file()
    assert (
        main(["segment", str(png), "--prompt", "x", "--out", str(tmp_path / "m.tif"), "--spacing", "1"])
        == ExitCode.USAGE
    )


def test_segment_a_dicom_series_and_file(continuous_study, tiny_pack, tmp_path, capsys):
    import nibabel as nib

    out_dir, truth = continuous_study
    study_dir = out_dir / "study"
    args = ["--prompt", "dural sac at L4-L5", "--model", str(tiny_pack)]
    assert (
        main(["segment", str(study_dir), "--out", str(tmp_path / "m.nii.gz"), *args])
        == ExitCode.INPUT_INVALID
    )
    assert "choose one with --series" in capsys.readouterr().err
    axial_number = str(truth.find_series("axial", "T2").series_number)
    out = tmp_path / "axial.nii.gz"
    assert (
        main(
            ["segment", str(study_dir), "--series", axial_number, "--slice", "3:5", "--out", str(out), *args]
        )
        == ExitCode.OK
    )
    volume = nib.load(str(out))
    assert volume.shape[2] == 3
    assert (
        main(
            ["segment", str(study_dir), "--series", axial_number, "--slice", "999", "--out", str(out), *args]
        )
        == ExitCode.USAGE
    )
    from engine.study import load_study

    one_file = load_study(study_dir).series[0].slices[0].source_path
    png = tmp_path / "one.png"
    assert main(["segment", str(one_file), "--out", str(png), *args]) == ExitCode.OK
    assert cv2.imread(str(png), cv2.IMREAD_UNCHANGED).ndim == 2


def test_analyze_with_cuda_forced_where_onnx_runtime_has_none(continuous_study, tiny_pack, tmp_path, capsys):
    import onnxruntime

    if "CUDAExecutionProvider" in onnxruntime.get_available_providers():
        pytest.skip("this machine's ONNX Runtime has CUDA: --device cuda is valid here")
    out_dir, _ = continuous_study
    code = main(
        [
            "analyze",
            str(out_dir / "study"),
            "--out",
            str(tmp_path / "o"),
            "--model",
            str(tiny_pack),
            "--device",
            "cuda",
        ]
    )
    assert code == ExitCode.USAGE
    assert "CUDA was requested" in capsys.readouterr().err


def test_analyze_with_pdf_drafts_an_unsigned_report(continuous_study, oracle_model, tmp_path, capsys):
    import subprocess

    out_dir, truth = continuous_study
    oracle_model(truth)
    out = tmp_path / "out"
    code = main(["analyze", str(out_dir / "study"), "--out", str(out), "--pdf", "--quiet"])
    assert code == ExitCode.OK, capsys.readouterr().err
    assert (out / "report.pdf").read_bytes().startswith(b"%PDF")
    text = subprocess.run(
        ["pdftotext", "-layout", str(out / "report.pdf"), "-"], capture_output=True, text=True, check=True
    ).stdout
    assert "DRAFT" in text.upper() and "not signed" in text.lower()
    assert all(level.level in text for level in truth.levels)
    bad = tmp_path / "bad.toml"
    bad.write_text("this is not = [toml")
    code = main(
        ["analyze", str(out_dir / "study"), "--out", str(tmp_path / "o2"), "--pdf", "--template", str(bad)]
    )
    assert code == ExitCode.INPUT_INVALID
    assert "bad.toml" in capsys.readouterr().err
    assert not (tmp_path / "o2").exists()  # refused before the analysis ran
