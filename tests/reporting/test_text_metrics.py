"""Text metrics of drafted reports against reference reports (pycocoevalcap + Java METEOR)."""

from __future__ import annotations

import pytest

from engine.reporting.drafting import draft_report
from engine.reporting.text_metrics import jaccard_similarity, report_text_metrics, report_tokens

pytest.importorskip("pycocoevalcap", reason="text metrics need the training extras")

REFERENCE = (
    "LSS MRI. Thecal sac compression noted at L3/L4 level, with moderate central canal stenosis. "
    "Marked thecal sac compression noted at L4/L5 level, with severe central canal stenosis. "
    "No significant canal stenosis at L1-L2, L2-L3 and L5-S1."
)
NAMES = ("bleu_1", "bleu_2", "bleu_3", "bleu_4", "meteor", "rouge_l", "cider", "jaccard")


def test_scores_rank_identical_above_radiologist_style_above_unrelated(case):
    """One call (one Java start): per-report scores and the corpus means."""
    draft = draft_report(case.findings, case.study).as_text()
    m = report_text_metrics(
        {"same": draft, "styled": draft, "unrelated": "Normal chest radiograph without fracture."},
        {"same": [draft, REFERENCE], "styled": REFERENCE, "unrelated": [REFERENCE]},
    )
    same, styled, unrelated = m.per_report["same"], m.per_report["styled"], m.per_report["unrelated"]
    assert same["bleu_1"] == pytest.approx(1.0) and same["bleu_4"] == pytest.approx(1.0, abs=1e-6)
    assert same["rouge_l"] == pytest.approx(1.0) and same["jaccard"] == pytest.approx(1.0)
    assert same["meteor"] > 0.95
    for name in NAMES:
        if name == "cider":  # IDF over 3 reports: n-grams in every reference weigh 0
            assert same[name] > styled[name] >= unrelated[name]
        else:
            assert same[name] > styled[name] > unrelated[name], name
    assert 0.0 < styled["bleu_4"] < styled["bleu_1"] < 1.0
    assert unrelated["bleu_1"] < 0.1 and unrelated["jaccard"] < 0.1
    assert m.n_reports == 3
    assert m.rouge_l == pytest.approx(sum(r["rouge_l"] for r in m.per_report.values()) / 3)
    assert m.jaccard == pytest.approx(sum(r["jaccard"] for r in m.per_report.values()) / 3)
    assert set(m.as_dict()) == {*NAMES, "n_reports", "per_report"}


def test_levels_are_tokenised_one_way():
    assert report_tokens("Bulge at L4/L5 and L4-5, area 82 mm²") == [
        "bulge", "at", "l4-l5", "and", "l4-l5", "area", "82", "mm2",
    ]  # fmt: skip
    assert jaccard_similarity("Stenosis at L4/L5.", "stenosis at L4-L5") == 1.0


def test_keys_must_match():
    with pytest.raises(ValueError, match="differing keys"):
        report_text_metrics({"a": "x"}, {"b": "x"})
