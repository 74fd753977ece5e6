"""Fixtures of the evaluation tests: a small synthetic study with its ground truth."""

from __future__ import annotations

from pathlib import Path

import pytest


@pytest.fixture(scope="session")
def synthetic_root(tmp_path_factory) -> Path:
    """A folder holding one synthetic study (grades A, B, C, D, A)."""
    from engine.synthetic_study import write_study

    root = tmp_path_factory.mktemp("truth")
    write_study(root / "study-7", 7, grades="A,B,C,D,A", max_matrix=160)
    return root
