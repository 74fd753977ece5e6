"""engine.atomic_file: the old file or the new one, never a mix, and no temp file left behind."""

from __future__ import annotations

import os

import pytest

from engine.atomic_file import write_bytes_atomically, write_text_atomically


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


def test_content_is_fsynced_before_the_rename_and_the_folder_after(tmp_path, monkeypatch):
    events: list[str] = []
    real_fsync, real_replace = os.fsync, os.replace

    def fsync(fd):
        events.append("fsync")
        real_fsync(fd)

    def replace(src, dst):
        events.append("rename")
        real_replace(src, dst)

    monkeypatch.setattr(os, "fsync", fsync)
    monkeypatch.setattr(os, "replace", replace)
    write_bytes_atomically(tmp_path / "a.json", b"{}")
    assert events == ["fsync", "rename", "fsync"]
