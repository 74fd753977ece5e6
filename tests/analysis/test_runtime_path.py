"""The analysis on ONNX Runtime with a tiny untrained model pack: sessions, provenance, the level
findings from the real graphs, free text-guided segmentation."""

from __future__ import annotations

import numpy as np
import pytest

from engine.analysis import run_analysis
from engine.findings import DISC_LEVELS, SchizasGrade
from engine.runtime.model_pack import ModelPackError, load_model_pack
from engine.segmentation import open_segmenter, resolve_model_pack, segment_slices, slice_image
from engine.study.model import Orientation, Sequence


def test_onnx_segmenter_answers_on_the_slice_grid(tiny_pack, loaded_continuous):
    study, _ = loaded_continuous
    segmenter = open_segmenter(tiny_pack, "cpu", intra_op_threads=1)
    axial = study.find_series(Orientation.AXIAL, Sequence.T2)[0]
    image = slice_image(axial, 3)
    results = segmenter.segment(image, ["dural sac at L4-L5", "posterior epidural fat"], (60.0, 64.0))
    assert [r.prompt for r in results] == ["dural sac at L4-L5", "posterior epidural fat"]
    for r in results:
        assert r.mask_probability.shape == r.explanation.shape == image.pixels.shape
        assert sum(p for _, p in r.grade_probabilities) == pytest.approx(1.0, abs=1e-5)
    pack = load_model_pack(tiny_pack)
    assert segmenter.provenance().model_sha256 == pack.sha256
    assert segmenter.execution_providers() == ["CPUExecutionProvider"]
    config = pack.preprocessing.axial
    assert segmenter.field_of_view_mm("axial") == pytest.approx(
        config.input_size[0] * config.target_spacing_mm
    )


def test_model_packs_resolve_by_path_and_the_default_names_what_to_do(tiny_pack, monkeypatch, tmp_path):
    assert resolve_model_pack(tiny_pack).name == "lss-tiny"
    assert resolve_model_pack(str(tiny_pack)).name == "lss-tiny"
    monkeypatch.setattr("engine.runtime.model_pack.bundled_models_dir", lambda: tmp_path / "bundled")
    monkeypatch.setenv("LSS_MODEL_DIR", str(tmp_path / "user"))
    with pytest.raises(ModelPackError, match=r"lss train --config training/recipes/lss-default\.json"):
        resolve_model_pack(None)


class _SagittalOracleAxialOnnx:
    """Ground truth on the sagittal series, the ONNX model pack on the axial one."""

    def __init__(self, oracle, onnx):
        self.oracle, self.onnx = oracle, onnx

    def segment(self, image, prompts, centre_rc=None):
        return (self.oracle if image.plane == "sagittal" else self.onnx).segment(image, prompts, centre_rc)

    def field_of_view_mm(self, plane):
        return self.onnx.field_of_view_mm(plane)

    def provenance(self, parameters=()):
        return self.onnx.provenance(parameters)

    def execution_providers(self):
        return self.onnx.execution_providers()


def test_level_findings_come_from_the_onnx_graphs(tiny_pack, loaded_angled, oracle):
    study, truth = loaded_angled
    onnx = open_segmenter(tiny_pack, "cpu", intra_op_threads=1)
    result = run_analysis(study, _SagittalOracleAxialOnnx(oracle(truth), onnx))
    findings = result.findings
    assert [f.level for f in findings.findings] == list(DISC_LEVELS)
    for finding in findings.findings:
        probabilities = dict(finding.grade_probabilities)
        assert set(probabilities) == set(SchizasGrade)
        assert sum(probabilities.values()) == pytest.approx(1.0, abs=1e-6)
        assert finding.grade is max(probabilities, key=lambda g: probabilities[g])
        assert 0.0 <= finding.confidence <= 1.0
        assert finding.provenance.model_name == "lss-tiny"
        assert dict(finding.provenance.parameters)["execution_providers"] == "CPUExecutionProvider"
        # An untrained model draws what it draws; either a measured mask or a warning saying why not.
        assert finding.dural_sac_area_mm2 is not None or any("no dural sac" in w for w in finding.warnings)
    for explanation in findings.explanations:
        assert explanation.mask.dtype == np.float32
        assert explanation.mask.min() >= 0.0 and explanation.mask.max() <= 1.0
    assert findings.provenance.model_name == "lss-tiny"


def test_free_text_segmentation_of_a_slice_range(tiny_pack, loaded_continuous):
    study, _ = loaded_continuous
    segmenter = open_segmenter(tiny_pack, "cpu", intra_op_threads=1)
    axial = study.find_series(Orientation.AXIAL, Sequence.T2)[0]
    masks = segment_slices(axial, range(2, 5), "posterior epidural fat", segmenter)
    assert [m.sop_instance_uid for m in masks] == [axial.slices[i].sop_instance_uid for i in range(2, 5)]
    for mask in masks:
        geometry = axial.slices[2].geometry
        assert mask.mask.dtype == np.bool_ and mask.mask.shape == (geometry.rows, geometry.columns)
        assert mask.structure == "posterior epidural fat"
        assert dict(mask.provenance.parameters)["prompt"] == "posterior epidural fat"
        assert mask.provenance.model_name == "lss-tiny"
    with pytest.raises(IndexError, match="outside the series"):
        segment_slices(axial, [len(axial)], "dural sac", segmenter)
    with pytest.raises(ValueError, match="prompt is empty"):
        segment_slices(axial, 0, "  ", segmenter)
    cancelled = segment_slices(axial, range(3), "dural sac", segmenter, cancel=lambda: True)
    assert cancelled == ()
