"""`lss bench analyze` runs end to end on a tiny pack (numbers are meaningless for an untrained
model; the benchmark itself prints them and asserts none)."""

from __future__ import annotations

import json
import sys
from pathlib import Path

from engine.cli.main import main

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "model"))

from fake_studies import write_fake_spider


def test_bench_analyze_reports_quality_speed_and_spider(tiny_pack, tmp_path, capsys):
    spider = write_fake_spider(tmp_path / "spider")
    report = tmp_path / "bench.json"
    code = main(
        [
            "bench",
            "analyze",
            "--model",
            str(tiny_pack),
            "--torch-model",
            str(tiny_pack.parent / "best"),
            "--studies",
            "1",
            "--studies-dir",
            str(tmp_path / "studies"),
            "--max-matrix",
            "96",
            "--spider",
            str(spider),
            "--threads",
            "1",
            "--json",
            str(report),
        ]
    )
    printed = capsys.readouterr().out
    assert code == 0
    assert "seeds 900000..900000" in printed
    assert "== ONNX Runtime: CPUExecutionProvider" in printed and "== torch eager" in printed
    assert "SPIDER held-out patients" in printed
    numbers = json.loads(report.read_text())
    assert numbers["model"]["name"] == "lss-tiny"
    assert numbers["onnxruntime"]["peak_rss_mb"] > 0 and numbers["torch"]["peak_rss_mb"] > 0
    assert len(numbers["spider"]["cases"]) == 1  # 4 fake patients, 20 % held out
    assert (tmp_path / "studies" / "seed-900000" / "ground_truth" / "ground_truth.json").is_file()
