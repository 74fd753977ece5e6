"""The ONNX Runtime paths with a real (tiny, untrained) model pack instead of the ground-truth
segmenter: the prompt box runs the pack in this process, Analyze runs it in the worker process.
The pack is exported in a separate process (~30 s), so torch never enters this one."""

from __future__ import annotations

import pytest

from engine.cli.exit_codes import ExitCode
from lss_desktop.hanging_protocol import ViewSlot

pytestmark = pytest.mark.gui


def test_prompts_and_analyses_run_a_model_pack_on_onnx_runtime(opened_study, qtbot, helpers, tiny_pack):
    window = opened_study(segmenter_factory=None, analysis_model=str(tiny_pack))
    session = window.session
    window.panels[ViewSlot.MIDDLE].view.activated.emit(ViewSlot.MIDDLE)
    task = window.segment_prompt("dural sac", 0)
    assert task is not None
    qtbot.waitUntil(lambda: window.prompt_box.segment_button.isEnabled(), timeout=60_000)
    (mask,) = session.prompt_masks
    assert (mask.provenance.model_name, mask.provenance.model_version) == ("lss-tiny", "0.0.1")
    assert mask.mask.shape == session.current_pixels(ViewSlot.MIDDLE).shape
    assert "by lss-tiny 0.0.1" in window.prompt_box.status.text()
    # The opened pack is kept for the next prompt.
    assert window.prompt_models.get(window.model_choice()) is window.prompt_models.get(window.model_choice())

    outcome = []
    window.analysis_finished.connect(lambda findings: outcome.append(("findings", findings)))
    window.analysis_failed.connect(lambda message, code: outcome.append(("failed", code)))
    window.analyze()
    qtbot.waitUntil(lambda: bool(outcome), timeout=180_000)
    kind, value = outcome[0]
    # An untrained model: the worker either finds some levels or says clearly that it found none.
    if kind == "findings":
        assert value.provenance.model_name == "lss-tiny"
        assert "Model: lss-tiny 0.0.1" in window.banner_version.text()
    else:
        assert value == ExitCode.LEVELS_NOT_FOUND
        assert window.last_message.windowTitle() == "Disc levels not found"
    assert not window.is_analysing and window.analyze_action.isEnabled()
    assert len(session.prompt_masks) == 1  # the prompt's mask outlives the analysis
