"""The findings file (JSON + NPZ of masks): round trip, and bad files named by file and field."""

from __future__ import annotations

import json
from dataclasses import replace

import numpy as np
import pytest

from engine.findings import SliceMask
from engine.findings_io import (
    FindingsFormatError,
    findings_from_json,
    findings_to_json,
    load_findings,
    mask_file_path,
    save_findings,
)


def _same(a, b):
    assert a.study_instance_uid == b.study_instance_uid
    assert a.levels == b.levels and a.findings == b.findings
    assert a.provenance == b.provenance and a.warnings == b.warnings
    assert len(a.masks) == len(b.masks) and len(a.explanations) == len(b.explanations)
    for x, y in zip(a.masks + a.explanations, b.masks + b.explanations, strict=True):
        assert (x.structure, x.sop_instance_uid, x.frame_index, x.edited_by_person, x.provenance) == (
            y.structure, y.sop_instance_uid, y.frame_index, y.edited_by_person, y.provenance,
        )  # fmt: skip
        np.testing.assert_array_equal(x.mask, y.mask)


@pytest.fixture
def findings(case):
    attention = SliceMask(
        structure="attention",
        series_instance_uid=case.findings.masks[0].series_instance_uid,
        sop_instance_uid=case.findings.masks[0].sop_instance_uid,
        frame_index=None,
        mask=np.linspace(0, 1, 64 * 64, dtype=np.float32).reshape(64, 64),
    )
    return replace(case.findings, explanations=(attention,), warnings=("axial stack misses L1-L2 partly",))


def test_round_trip_through_files(tmp_path, findings):
    path = save_findings(findings, tmp_path / "findings.json")
    assert mask_file_path(path).name == "findings.masks.npz" and mask_file_path(path).is_file()
    doc = json.loads(path.read_text(encoding="utf-8"))
    assert doc["schema"] == "lss-findings" and doc["schema_version"] == "1.1"
    f = doc["findings"][3]
    assert f["level"] == "L4-L5" and f["grade"] == "C" and f["dural_sac_area_mm2"] == 61.3
    assert set(f["grade_probabilities"]) == {"A", "B", "C", "D"}
    assert f["key_slice_sop_instance_uid"] and f["provenance"]["model_name"] == "lss-vlm-spca"
    assert doc["masks"][0]["dtype"] == "bool" and doc["explanations"][0]["dtype"] == "float32"
    _same(load_findings(path), findings)


def test_findings_without_masks_need_no_mask_file(tmp_path, findings):
    bare = replace(findings, masks=(), explanations=())
    path = save_findings(bare, tmp_path / "f.json")
    assert json.loads(path.read_text())["mask_file"] is None and not mask_file_path(path).exists()
    _same(load_findings(path), bare)


@pytest.mark.parametrize(
    ("edit", "message"),
    [
        (lambda d: d["findings"][1].update(grade="E"), r"findings\[1\]\.grade: 'E' is not one of A, B, C, D"),
        (lambda d: d["findings"][0].pop("confidence"), r"findings\[0\]\.confidence: is missing"),
        (
            lambda d: d["findings"][2].update(dural_sac_area_mm2="92"),
            r"findings\[2\]\.dural_sac_area_mm2: must be a number",
        ),
        (
            lambda d: d["findings"][0]["grade_probabilities"].update(A=0.5),
            r"grade_probabilities: must sum to 1",
        ),
        (
            lambda d: d["levels"][0].update(centre_lps=[1, 2]),
            r"levels\[0\]\.centre_lps: must be a list of 3 numbers",
        ),
        (lambda d: d.update(schema_version="2.0"), r"schema_version: '2\.0' is not supported"),
        (lambda d: d.update(schema="other"), r"schema: must be 'lss-findings'"),
        (
            lambda d: d["masks"][0].update(sha256="0" * 64),
            r"masks\[0\]\.sha256: mask 'mask-000' does not match",
        ),
        (lambda d: d["findings"][0].update(condition="foraminal"), r"condition: 'foraminal' is not one of"),
    ],
)
def test_bad_fields_are_named(tmp_path, findings, edit, message):
    path = save_findings(findings, tmp_path / "findings.json")
    doc = json.loads(path.read_text())
    edit(doc)
    path.write_text(json.dumps(doc))
    with pytest.raises(FindingsFormatError, match=message) as info:
        load_findings(path)
    assert str(info.value).startswith(str(path))


def test_unknown_fields_of_a_newer_minor_version_are_ignored(findings):
    from engine.findings_io import mask_arrays

    doc = findings_to_json(findings)
    doc["schema_version"] = "1.3"
    doc["findings"][0]["foraminal_note"] = "added in 1.3"
    _same(findings_from_json(doc, mask_arrays(findings)), replace(findings, schema_version="1.3"))


def test_missing_or_broken_files_are_named(tmp_path, findings):
    with pytest.raises(FindingsFormatError, match="cannot read the findings file"):
        load_findings(tmp_path / "nope.json")
    bad = tmp_path / "bad.json"
    bad.write_text("{not json")
    with pytest.raises(FindingsFormatError, match=r"bad\.json: not a JSON document"):
        load_findings(bad)
    path = save_findings(findings, tmp_path / "findings.json")
    npz = mask_file_path(path)
    npz.write_bytes(npz.read_bytes()[: npz.stat().st_size // 2])
    with pytest.raises(FindingsFormatError, match=r"findings\.masks\.npz: cannot read the mask file"):
        load_findings(path)
