"""Atomic file writes: the old file or the new one, never a mix, and no temp file left behind."""

from __future__ import annotations

import os

import pytest

from engine.storage.atomic_files import write_bytes_atomically, write_text_atomically


def test_write_replaces_the_file_whole(tmp_path):
    target = tmp_path / "report.pdf"
    write_bytes_atomically(target, b"old" * 1000)
    write_text_atomically(target, "new ² ≥")
    assert target.read_text(encoding="utf-8") == "new ² ≥"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["report.pdf"]


def test_a_failed_write_keeps_the_old_file_and_cleans_up(tmp_path, monkeypatch):
    target = tmp_path / "report.pdf"
    write_bytes_atomically(target, b"signed report")

    def refuse(src, dst):
        raise OSError("disk full")

    monkeypatch.setattr(os, "replace", refuse)
    with pytest.raises(OSError, match="disk full"):
        write_bytes_atomically(target, b"half")
    assert target.read_bytes() == b"signed report"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["report.pdf"]
