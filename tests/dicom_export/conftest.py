"""Fixtures: a tiny real MR study on disk with findings, and dciodvfy as a validator."""

from __future__ import annotations

import importlib.util
import shutil
import subprocess
import sys
from pathlib import Path
from types import ModuleType

import pytest


def load_synthetic_study_module() -> ModuleType:
    """tests/dicom_export/synthetic_study.py, loaded by path (tests are not a package)."""
    path = Path(__file__).with_name("synthetic_study.py")
    spec = importlib.util.spec_from_file_location("lss_test_synthetic_study", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


synthetic = load_synthetic_study_module()


@pytest.fixture
def study(tmp_path):
    return synthetic.write_study(tmp_path / "study")


@pytest.fixture
def findings(study):
    return synthetic.make_findings(study)


def _dciodvfy(path: Path) -> list[str]:
    """dciodvfy's message lines for a file (errors start with "Error", warnings with "Warning")."""
    assert shutil.which("dciodvfy"), "dciodvfy (Debian package dicom3tools) is required"
    out = subprocess.run(["dciodvfy", str(path)], capture_output=True, text=True, check=False)
    return [line for line in (out.stdout + out.stderr).splitlines() if line.startswith(("Error", "Warning"))]


@pytest.fixture
def dciodvfy():
    """Runs dciodvfy on a path and returns its Error/Warning lines."""
    return _dciodvfy


@pytest.fixture
def synthetic_study():
    """The synthetic_study module (constants and builders)."""
    return synthetic
