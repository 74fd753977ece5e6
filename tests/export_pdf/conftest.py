"""PDF tests use the report tests' hand-built study and findings (loaded by path)."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

import pytest


def _builder():
    name = "lss_test_findings_builder"
    if name not in sys.modules:
        path = Path(__file__).parents[1] / "reporting" / "findings_builder.py"
        spec = importlib.util.spec_from_file_location(name, path)
        assert spec is not None and spec.loader is not None
        module = importlib.util.module_from_spec(spec)
        sys.modules[name] = module
        spec.loader.exec_module(module)
    return sys.modules[name]


@pytest.fixture
def builder():
    return _builder()


@pytest.fixture
def case(builder):
    return builder.build_case()


@pytest.fixture
def draft(case):
    from engine.reporting.drafting import draft_report

    return draft_report(case.findings, case.study)
