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


def test_the_torch_baseline_runs_from_the_pack_itself_as_from_its_training_folder(tiny_pack, tmp_path):
    """A pack's fine-tuning weights are the state its graphs came from: the torch baseline built
    from the pack answers like the one built from best/, and like ONNX Runtime on the pack."""
    import numpy as np

    from engine.segmentation import open_segmenter
    from engine.segmentation.segmenter import SliceImage
    from training.benchmarks.torch_segmenter import TorchStructureSegmenter
    from training.export import export_model_pack

    best = tiny_pack.parent / "best"
    pack = export_model_pack(best, tmp_path / "with-weights", "lss-tiny", "0.0.1", include_weights=True)
    image = SliceImage(
        np.random.default_rng(3).random((90, 110), dtype=np.float32) * 800, (0.7, 0.7), "axial"
    )
    prompts = ["dural sac at L4-L5", "posterior epidural fat"]
    from_pack = TorchStructureSegmenter(pack, threads=1).segment(image, prompts)
    from_best = TorchStructureSegmenter(best, threads=1).segment(image, prompts)
    on_onnx = open_segmenter(str(pack), "cpu", 1).segment(image, prompts)
    for a, b, c in zip(from_pack, from_best, on_onnx, strict=True):
        assert np.array_equal(a.mask_probability, b.mask_probability)
        assert np.allclose(a.mask_probability, c.mask_probability, atol=1e-3)
        assert np.allclose(
            [p for _, p in a.grade_probabilities], [p for _, p in c.grade_probabilities], atol=1e-3
        )
