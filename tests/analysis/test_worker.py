"""The analysis worker process: results back without pickle, progress, failures with their kind,
cancel, and a worker killed with SIGKILL mid-analysis (the caller gets a clear error and starts
a new one)."""

from __future__ import annotations

import os
import signal
import time

import pytest

from engine.findings import DISC_LEVELS
from engine.worker import AnalysisRequest, AnalysisWorker, WorkerCrashedError, WorkerFailedError


def _request(out_dir, factory="oracle:oracle_for_study"):
    return AnalysisRequest(study_dir=str(out_dir / "study"), model=str(out_dir), segmenter_factory=factory)


def test_worker_sends_progress_and_findings(continuous_study):
    out_dir, truth = continuous_study
    events = []
    with AnalysisWorker(_request(out_dir)) as worker:
        worker.start()
        findings = worker.wait(timeout=120, on_progress=events.append)
    assert [f.level for f in findings.findings] == list(DISC_LEVELS)
    assert [f.grade for f in findings.findings] == [lv.grade for lv in truth.levels]
    assert all(f.provenance.model_name == "ground-truth oracle" for f in findings.findings)
    assert len(findings.masks) == 8 and findings.masks[-1].mask.dtype.name == "bool"
    assert events[0].stage == "loading" and events[-1].stage == "level findings"
    assert [t.stage for t in worker.timings][-1] == "level findings"
    assert not worker._process.is_alive()


def test_worker_reports_why_it_failed(tmp_path):
    (tmp_path / "notes.txt").write_text("no DICOM here")
    worker = AnalysisWorker(AnalysisRequest(study_dir=str(tmp_path), model=str(tmp_path / "no-pack")))
    worker.start()
    with pytest.raises(WorkerFailedError, match="no readable DICOM") as failure:
        worker.wait(timeout=120)
    assert failure.value.kind == "no_dicom"


def _wait_for_stage(worker, stage, timeout=120.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if any(e.stage == stage for e in worker.poll(timeout=0.2)):
            return
    raise AssertionError(f"the worker never reached {stage}")


def test_a_killed_worker_is_reported_and_a_new_one_runs(continuous_study):
    out_dir, truth = continuous_study
    worker = AnalysisWorker(_request(out_dir, "oracle:slow_oracle_for_study"))
    worker.start()
    _wait_for_stage(worker, "sagittal segmentation")
    os.kill(worker.pid, signal.SIGKILL)
    with pytest.raises(WorkerCrashedError, match="killed by signal 9") as crash:
        while True:
            worker.poll(timeout=0.5)
    assert crash.value.exitcode == -signal.SIGKILL
    assert worker.finished and worker.poll() == []
    with pytest.raises(WorkerCrashedError):
        worker.result()
    with AnalysisWorker(_request(out_dir)) as again:
        again.start()
        findings = again.wait(timeout=120)
    assert [f.grade for f in findings.findings] == [lv.grade for lv in truth.levels]


def test_cancel_stops_the_worker(continuous_study):
    out_dir, _ = continuous_study
    worker = AnalysisWorker(_request(out_dir, "oracle:slow_oracle_for_study"))
    worker.start()
    _wait_for_stage(worker, "sagittal segmentation")
    started = time.monotonic()
    worker.cancel()
    with pytest.raises(WorkerFailedError) as failure:
        worker.wait(timeout=60)
    assert failure.value.kind == "cancelled"
    assert time.monotonic() - started < 10.0
    worker.close()
    worker.close()
