"""Fixtures for report tests: a hand-built study and its findings (see findings_builder.py)."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

import pytest


def load_findings_builder():
    """findings_builder.py, loaded by path (tests run with --import-mode=importlib)."""
    name = "lss_test_findings_builder"
    if name not in sys.modules:
        spec = importlib.util.spec_from_file_location(name, Path(__file__).with_name("findings_builder.py"))
        assert spec is not None and spec.loader is not None
        module = importlib.util.module_from_spec(spec)
        sys.modules[name] = module
        spec.loader.exec_module(module)
    return sys.modules[name]


@pytest.fixture
def builder():
    return load_findings_builder()


@pytest.fixture
def case(builder):
    return builder.build_case()


@pytest.fixture
def template():
    from engine.reporting.template import load_report_template

    return load_report_template()
