"""Kill a writer with SIGKILL at random moments during a stream of edits, many times.

After every kill the database must open, pass SQLite's integrity check and the audit-chain check,
and hold every edit the writer had reported as saved except possibly the one in flight; the file
the writer exports atomically after each save must always be whole.
"""

from __future__ import annotations

import json
import os
import random
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from engine.reporting.model import draft_to_dict
from engine.storage.report_store import ReportStore

pytestmark = pytest.mark.skipif(os.name != "posix", reason="SIGKILL is POSIX")

ROOT = Path(__file__).resolve().parents[2]
SENTENCE = "findings/L4-L5/central_canal_stenosis"

WRITER = r"""
import json, sys
from engine.reporting.model import draft_from_dict
from engine.reporting.revision import edit_sentence
from engine.atomic_file import write_text_atomically
from engine.storage.report_store import ReportStore

db, draft_path, export_path, first = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4])
store = ReportStore(db)
draft = draft_from_dict(json.load(open(draft_path, encoding="utf-8")))
print("ready", flush=True)
for n in range(first, first + 100000):
    text = f"Edit {n}: diffuse disc bulge at L4/L5 compressing the thecal sac."
    draft = edit_sentence(draft, "findings/L4-L5/central_canal_stenosis", text, "Dr Writer")
    version = store.save_draft(draft, "Dr Writer")
    write_text_atomically(export_path, json.dumps({"version": version, "text": text, "pad": "x" * 20000}))
    print(json.dumps({"version": version, "text": text}), flush=True)
"""


def test_killing_the_writer_at_random_moments_loses_at_most_the_last_edit(tmp_path, case, draft):
    rng = random.Random(20261128)
    db = tmp_path / "lss.sqlite3"
    draft_path = tmp_path / "draft.json"
    export = tmp_path / "export.json"
    draft_path.write_text(json.dumps(draft_to_dict(draft)), encoding="utf-8")
    uid = case.study.study_instance_uid
    with ReportStore(db) as store:
        store.open_study(uid, "/studies/0042", "Dr Writer")
        store.save_draft(draft, "Dr Writer")
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    acknowledged = {"version": 1, "text": draft.sentence(SENTENCE).text}
    in_flight_kept = 0  # kills that landed after a commit and before its acknowledgement
    previous_version = 1
    trials = 25
    for trial in range(trials):
        proc = subprocess.Popen(
            [sys.executable, "-c", WRITER, str(db), str(draft_path), str(export), str(trial * 1000)],
            cwd=ROOT,
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        assert proc.stdout is not None
        assert proc.stdout.readline().strip() == "ready", proc.stderr.read() if proc.stderr else ""
        for _ in range(rng.randint(0, 6)):
            line = proc.stdout.readline()
            if line:
                acknowledged = json.loads(line)
        time.sleep(rng.uniform(0.0, 0.03))  # let it run on: the kill lands anywhere in the loop
        os.kill(proc.pid, signal.SIGKILL)
        assert proc.wait(timeout=30) == -signal.SIGKILL
        # Read the rest through the same buffered reader: lines it already holds count too.
        rest = proc.stdout.read()
        proc.stdout.close()
        assert proc.stderr is not None
        proc.stderr.close()
        for line in rest.splitlines():
            acknowledged = json.loads(line)

        with ReportStore(db) as store:
            assert store.integrity_check() == "ok"
            chain = store.verify_audit_chain()
            assert chain.ok, chain.problems
            stored = store.load_report(uid)
            assert not stored.compromised
            # Known saved: the last acknowledged edit, or an unacknowledged one an earlier check found.
            known = max(acknowledged["version"], previous_version)
            assert stored.version in (known, known + 1), (trial, acknowledged, previous_version)
            if stored.version == acknowledged["version"]:
                assert stored.draft.sentence(SENTENCE).text == acknowledged["text"]
            if stored.version == known + 1:
                in_flight_kept += 1
            previous_version = stored.version
            assert chain.entries_checked == 1 + stored.version  # one audit row per saved version
        if export.exists():
            exported = json.loads(export.read_text(encoding="utf-8"))  # whole, never half-written
            assert exported["version"] <= stored.version
    assert stored.version > 2 * trials  # the writers really edited between the kills
    print(f"{trials} kills, {stored.version} versions saved, {in_flight_kept} unacknowledged edits kept")
