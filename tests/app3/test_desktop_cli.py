"""`lss-desktop STUDY_DIR --screenshot FILE --analyze [--model PACK]`: open, analyse in the worker
process, render, save the screenshot and exit; clear messages and exit codes when it cannot."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pydicom
import pytest
from app3_oracle import ORACLE
from PySide6.QtGui import QImage

from engine.cli.exit_codes import ExitCode
from lss_desktop import app as desktop_app
from lss_desktop.overlays import STRUCTURE_COLOURS
from lss_desktop.recent_studies import MemoryRecentStudies

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[1]
pytestmark = pytest.mark.gui

# The app in a fresh process, as `lss-desktop` runs it, with the ground-truth segmenter injected;
# it also says whether torch was ever imported into it (it must not be: the GUI process renders).
_RUN_APP = r"""
import sys
sys.path.insert(0, sys.argv[1])
from lss_desktop.app import main
code = main(sys.argv[3:], segmenter_factory=sys.argv[2])
print("torch imported:", "torch" in sys.modules)
sys.exit(code)
"""


def rgb_array(image: QImage) -> np.ndarray:
    image = image.convertToFormat(QImage.Format.Format_RGB888)
    width, height = image.width(), image.height()
    data = np.frombuffer(image.constBits(), dtype=np.uint8, count=image.bytesPerLine() * height)
    return data.reshape(height, image.bytesPerLine())[:, : 3 * width].reshape(height, width, 3)


def overlay_pixels(pixels: np.ndarray, colour: tuple[int, int, int], opacity: float = 0.45) -> int:
    """How many pixels are `colour` laid at `opacity` over a grey image pixel."""
    under = (pixels - opacity * np.asarray(colour)) / (1.0 - opacity)
    grey = (
        (under.max(axis=2) - under.min(axis=2) < 25) & (under.min(axis=2) > -10) & (under.max(axis=2) < 265)
    )
    return int(np.count_nonzero(grey))


def test_screenshot_after_an_analysis_in_a_fresh_process(synthetic_study, tmp_path, screenshot_dir):
    out_dir, _ = synthetic_study
    shot = screenshot_dir / "lss-desktop-analyze.png"
    env = {**os.environ, "PYTHONPATH": str(ROOT), "LSS_DATA_DIR": str(tmp_path / "data")}
    done = subprocess.run(
        [
            sys.executable,
            "-c",
            _RUN_APP,
            str(HERE),
            ORACLE,
            str(out_dir / "study"),
            "--screenshot",
            str(shot),
            "--analyze",
            "--model",
            str(out_dir),
        ],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == ExitCode.OK, done.stderr[-3000:]
    assert f"screenshot saved to {shot}" in done.stdout
    assert "torch imported: False" in done.stdout
    pixels = rgb_array(QImage(str(shot))).astype(int)
    # The analysis' overlays are on screen in their legend colours: the vertebrae, discs and canal
    # on the sagittal views, the dural sac on the axial one.
    for structure in ("vertebra", "intervertebral disc", "spinal canal", "dural sac"):
        assert overlay_pixels(pixels, STRUCTURE_COLOURS[structure]) > 20, f"no {structure} on the screenshot"


def test_a_missing_model_pack_exits_6_with_a_clear_message(synthetic_study, tmp_path, capsys):
    out_dir, _ = synthetic_study
    shot = tmp_path / "x.png"
    code = desktop_app.main(
        [str(out_dir / "study"), "--screenshot", str(shot), "--analyze", "--model", "no-such-pack"],
        recent_studies=MemoryRecentStudies(),
    )
    assert code == ExitCode.MODEL_PACK_INVALID
    err = capsys.readouterr().err
    assert "The analysis model cannot be used" in err and "no model pack named 'no-such-pack'" in err
    assert "Choose an installed model pack in File > Settings" in err
    assert not shot.exists()


def test_a_study_without_the_series_the_analysis_needs_exits_4(tmp_path, capsys):
    from engine.synthetic_study import write_study

    out = tmp_path / "study"
    write_study(out, 900_301, "A,A,A,A,A", "continuous", max_matrix=64)
    for path in (out / "study").rglob("*.dcm"):
        if "SAG" in str(pydicom.dcmread(path, stop_before_pixels=True).SeriesDescription).upper():
            path.unlink()
    code = desktop_app.main(
        [str(out / "study"), "--screenshot", str(tmp_path / "x.png"), "--analyze", "--model", str(out)],
        recent_studies=MemoryRecentStudies(),
        segmenter_factory=ORACLE,
    )
    assert code == ExitCode.MISSING_SERIES
    assert "The analysis needs a sagittal T2 and an axial T2 series" in capsys.readouterr().err


def test_help_names_analyze_and_model(capsys):
    with pytest.raises(SystemExit):
        desktop_app.main(["--help"])
    text = capsys.readouterr().out
    assert "--analyze" in text and "--model NAME_OR_PATH" in text
