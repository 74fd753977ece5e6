"""Failures of a study analysis that callers branch on (the CLI maps them to exit codes)."""

from __future__ import annotations

from engine.levels.labelling import LevelsNotFoundError


class MissingSeriesError(Exception):
    """The study lacks a series the analysis needs (sagittal T2, axial T2); the message names it."""


class AnalysisCancelled(Exception):
    """The caller cancelled the analysis; nothing was produced."""


__all__ = ["AnalysisCancelled", "LevelsNotFoundError", "MissingSeriesError"]
