"""Settings kept as JSON (damaged files never stop the app), the crash markers, the worklist read
from the reading database, and the PACS error messages."""

from __future__ import annotations

import json
import subprocess
import sys
import time
from pathlib import Path

from engine.pacs.errors import AssociationRejectedError, InstancesNotStoredError, PacsUnreachableError
from engine.pacs.node import PacsNode
from engine.pacs.store import StoreOutcome, StoreReport
from lss_desktop.app_settings import AppSettings, load_app_settings, save_app_settings
from lss_desktop.pacs_messages import describe_pacs_error
from lss_desktop.recent_studies import RecentStudy, StoreRecentStudies
from lss_desktop.run_marker import RunMarker, forget_unclean_exits, process_is_alive, unclean_exits


def test_settings_round_trip_with_a_pacs_node(tmp_path):
    settings = AppSettings(
        user_name="Dr Ada Lovelace",
        institution="St Elsewhere",
        pacs_node=PacsNode("MAIN_PACS", "pacs.example.org", 11112, timeout_s=12.5),
        device="cpu",
        report_template="/sites/ours.toml",
    )
    path = save_app_settings(settings, tmp_path / "desktop-settings.json")
    assert load_app_settings(path) == (settings, ())


def test_a_damaged_settings_file_keeps_what_it_can_and_names_the_fields(tmp_path):
    path = tmp_path / "desktop-settings.json"
    assert load_app_settings(path) == (AppSettings(), ())  # no file yet: defaults
    path.write_text(
        json.dumps(
            {
                "user_name": "Dr B",
                "device": "tpu",
                "pacs_node": {"ae_title": "X" * 20, "host": "h", "port": 1},
            }
        )
    )
    settings, problems = load_app_settings(path)
    assert settings == AppSettings(user_name="Dr B")
    assert any("field 'device'" in p and "'tpu'" in p for p in problems)
    assert any("field 'pacs_node'" in p and "longer than 16" in p for p in problems)
    path.write_text("{not json")
    settings, problems = load_app_settings(path)
    assert settings == AppSettings() and str(path) in problems[0]


def test_markers_of_dead_processes_are_unclean_exits(tmp_path):
    finished = subprocess.run(
        [sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True
    )
    dead_pid = int(finished.stdout)
    assert not process_is_alive(dead_pid) and process_is_alive(__import__("os").getpid())
    crashed = RunMarker(tmp_path, pid=dead_pid)
    crashed.claim()
    crashed.note_study("1.2.3", "/studies/a")
    running = RunMarker(tmp_path)  # this process: alive, so not a crash
    running.claim()
    (tmp_path / "running-garbage.json").write_text("{")

    records = unclean_exits(tmp_path)
    assert [(r.pid, r.study_instance_uid, r.folder) for r in records] == [(dead_pid, "1.2.3", "/studies/a")]
    assert not (tmp_path / "running-garbage.json").exists()
    forget_unclean_exits(tmp_path, records)
    assert unclean_exits(tmp_path) == []
    running.release()
    assert not running.path.exists()


def test_the_worklist_comes_from_the_reading_database(store, tmp_path):
    recent = StoreRecentStudies(store, lambda: "Dr Ada Lovelace")
    for uid, name in (("1.2.1", "a"), ("1.2.2", "b")):
        recent.remember(RecentStudy(str(tmp_path / name), f"MRI {name}", "20260101", 4, "", uid))
        time.sleep(0.01)  # the database orders by the millisecond
    entries = recent.entries()
    assert [e.study_instance_uid for e in entries] == ["1.2.2", "1.2.1"]
    assert entries[0].folder == str(tmp_path / "b") and entries[0].status == "new"
    assert entries[0].series_count is None and entries[0].opened_at[:4].isdigit()
    assert [e.actor for e in store.audit_trail()] == ["Dr Ada Lovelace"] * 2


def test_pacs_failures_get_messages_that_say_what_to_check():
    node = PacsNode("MAIN_PACS", "pacs.example.org", 11112)
    title, text = describe_pacs_error(PacsUnreachableError(f"cannot connect to {node}"))
    assert title == "PACS not reachable" and "host name and port" in text and str(node) in text
    title, text = describe_pacs_error(
        AssociationRejectedError(
            "rejected", result="Rejected Permanent", source="user", reason="Called AE title not recognised"
        )
    )
    assert "Called AE title not recognised" in text and "AE titles" in text
    report = StoreReport(
        (
            StoreOutcome(Path("LSS_SR.dcm"), "1", 0x0000, "Success"),
            StoreOutcome(Path("LSS_SEG_1.dcm"), "2", 0xA700, "Refused: Out of Resources"),
        )
    )
    title, text = describe_pacs_error(InstancesNotStoredError("1 of 2 not stored", report))
    assert title == "Not everything was stored" and "LSS_SEG_1.dcm: Refused: Out of Resources" in text
