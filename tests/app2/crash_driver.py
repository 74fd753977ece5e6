"""Runs the real app (`lss_desktop.app.main`) on a study folder and a data folder, then, once the
study is on screen: sets hand-built findings, erases part of L4-L5's dural sac, rewrites the
L4-L5 sentence, saves, prints READY and keeps running until the test kills it (SIGKILL: a crash).

Usage: python crash_driver.py DATA_DIR STUDY_DIR "SENTENCE"
"""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

import numpy as np
from PySide6.QtCore import QTimer
from PySide6.QtWidgets import QApplication

from engine.reporting.drafting import findings_sentence_id
from lss_desktop import app as desktop_app
from lss_desktop.hanging_protocol import ViewSlot
from lss_desktop.main_window import MainWindow
from lss_desktop.mask_editing import EditTool


def _fixtures():
    spec = importlib.util.spec_from_file_location(
        "lss_test_app2_fixtures", Path(__file__).with_name("conftest.py")
    )
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


def main() -> int:
    data_dir, study_dir, sentence = sys.argv[1], sys.argv[2], sys.argv[3]
    fixtures = _fixtures()

    def act() -> None:
        window = next((w for w in QApplication.topLevelWidgets() if isinstance(w, MainWindow)), None)
        if window is None or window.session.study is None or window.runner.running_count:
            QTimer.singleShot(50, act)
            return
        study = window.session.study
        findings = fixtures.level_findings(study)
        window.session.set_findings(findings)
        series_index, slice_index = fixtures.key_slice_index(study, findings, "L4-L5")
        window.session.show_series(ViewSlot.MIDDLE, study.series[series_index].key)
        window.session.set_slice(ViewSlot.MIDDLE, slice_index)
        (mask,) = [m for m in window.session.masks_on(ViewSlot.MIDDLE) if m.structure == "dural sac"]
        rows, cols = np.nonzero(mask.mask)
        editor = window.mask_editor
        editor.set_tool(EditTool.ERASER)
        editor.set_size_mm(6.0)
        editor.begin_stroke(ViewSlot.MIDDLE)
        editor.paint(float(rows.mean()), float(cols.mean()))
        editor.end_stroke()
        window.report.edit_sentence(findings_sentence_id("L4-L5"), sentence)
        window.save_all_now()
        area = window.session.findings.finding_for("L4-L5").dural_sac_area_mm2
        print(f"READY {area:.3f}", flush=True)

    _app = QApplication(["lss-desktop"])
    QTimer.singleShot(0, act)
    return desktop_app.main(["--data-dir", data_dir, study_dir])


if __name__ == "__main__":
    sys.exit(main())
