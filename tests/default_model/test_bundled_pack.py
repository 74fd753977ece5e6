"""The bundled default model pack (resources/models/lss-default, built by `python -m training.default_pack`):
verified, small, carded, found by default, and it reads a synthetic study it never saw."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from engine.findings import DISC_LEVELS
from engine.runtime.model_pack import DEFAULT_PACK_NAME, find_model_pack, verify_model_pack

PACK = Path(__file__).resolve().parents[2] / "resources" / "models" / DEFAULT_PACK_NAME
# Seeds of the default pack's studies: training 10000-10047, test 20000-20011; this one is neither.
UNSEEN_SEED = 930_017


def test_the_bundled_pack_verifies_and_stays_small():
    manifest = verify_model_pack(PACK)
    sizes = {name: entry["bytes"] for name, entry in manifest["files"].items()}
    assert sum(sizes.values()) < 64 * 2**20, sizes
    assert not [n for n in sizes if n.endswith((".pt", ".pth", ".pkl", ".ckpt", ".bin"))]
    config = json.loads((PACK / "config.json").read_text(encoding="utf-8"))
    assert config["training_weights"] == {"file": "model.safetensors", "format": "safetensors"}


def test_the_card_states_use_data_credits_and_test_results():
    card = (PACK / "model_card.md").read_text(encoding="utf-8")
    config = json.loads((PACK / "config.json").read_text(encoding="utf-8"))
    assert "## Intended use" in card and "decision support" in card.lower()
    assert "SPIDER" in card and "CC BY 4.0" in card and "Synthetic lumbar MRI studies" in card
    tests = config["test_metrics"]
    assert set(tests) == {"synthetic test studies", "SPIDER held-back patients"}
    assert "dural sac" in tests["synthetic test studies"]["dice"]
    assert set(tests["synthetic test studies"]["grade_accuracy_per_grade"]) == set("ABCD")
    assert "spinal canal" in tests["SPIDER held-back patients"]["dice"]
    for name, metrics in tests.items():
        assert f"Test set: {name}" in card
        for structure, dice in metrics["dice"].items():
            assert f"| {structure} | {dice:.3f} |" in card


def test_the_engine_uses_the_bundled_pack_by_default():
    pack = find_model_pack()
    assert pack.root.resolve() == PACK.resolve()
    assert pack.name == DEFAULT_PACK_NAME


@pytest.fixture(scope="module")
def unseen_study(tmp_path_factory):
    from engine.study import load_study
    from engine.synthetic_study import write_study

    out = tmp_path_factory.mktemp("unseen")
    truth = write_study(out, UNSEEN_SEED, grades="A,B,C,D,B", axial_style="angled")
    return load_study(out / "study"), truth


def test_the_bundled_pack_analyses_an_unseen_synthetic_study(unseen_study):
    """End to end on ONNX Runtime: every level found and labelled, most grades right (the measured
    accuracy is in training/recipes/DEFAULT_MODEL.md)."""
    from engine.analysis import analyze_study

    study, truth = unseen_study
    findings = analyze_study(study)
    assert [f.level for f in findings.findings] == list(DISC_LEVELS)
    graded = [(f.grade, truth.level(f.level).grade) for f in findings.findings]
    assert sum(found is expected for found, expected in graded) >= 3, graded
    for finding in findings.findings:
        assert finding.provenance.model_name == DEFAULT_PACK_NAME
        assert sum(p for _, p in finding.grade_probabilities) == pytest.approx(1.0, abs=1e-3)
