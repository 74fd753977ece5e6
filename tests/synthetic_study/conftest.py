"""Shared synthetic studies for the tests: small matrices keep the whole folder fast."""

from __future__ import annotations

from pathlib import Path

import pytest

from engine.synthetic_study import GroundTruth, write_study

SMALL = 128  # rows/columns cap for test studies


@pytest.fixture(scope="session")
def angled_study(tmp_path_factory: pytest.TempPathFactory) -> GroundTruth:
    """Seed 11, all four grades forced, one short stack per disc."""
    out = tmp_path_factory.mktemp("angled")
    return write_study(out, 11, grades="A,B,C,D,A", axial_style="angled", max_matrix=SMALL)


@pytest.fixture(scope="session")
def continuous_study(tmp_path_factory: pytest.TempPathFactory) -> GroundTruth:
    """Seed 12, drawn grades, one continuous axial stack."""
    out = tmp_path_factory.mktemp("continuous")
    return write_study(out, 12, axial_style="continuous", max_matrix=96)


def dicom_files(root: Path) -> list[Path]:
    return sorted(p for p in (root / "study").rglob("*") if p.is_file())
