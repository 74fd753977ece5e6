"""Text similarity of drafted reports to reference reports: BLEU-1..4, METEOR, ROUGE-L, CIDEr, Jaccard.

BLEU, METEOR, ROUGE-L and CIDEr come from pycocoevalcap (the training extras; imported only here,
with a clear message when absent). METEOR runs pycocoevalcap's bundled Java jar, so it needs
`java` on PATH. SPICE is left out: it downloads a model. Jaccard (token-set overlap, best over a
report's references, averaged over reports) is computed here.

Both sides are tokenised the same way: lower case, words and numbers, disc levels written one way
("L4/L5", "L4-5" -> "l4-l5"), so a phrasing convention does not count as an error.
"""

from __future__ import annotations

import re
import shutil
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, field

from engine.reporting.fact_check import normalise_level

_LEVEL = re.compile(r"\b([TLS]\d{1,2})\s*[-/–]\s*([TLS]?\d{1,2})\b", re.IGNORECASE)
_TOKEN = re.compile(r"[a-z]+\d*-[a-z]+\d*|\d+(?:\.\d+)?|[a-z0-9]+")


class TextMetricsUnavailable(RuntimeError):
    """pycocoevalcap or Java is missing; the message says what to install."""


@dataclass(frozen=True)
class TextMetrics:
    """Corpus scores, each 0..1 except CIDEr (0..10); `per_report` holds the same names per report."""

    bleu_1: float
    bleu_2: float
    bleu_3: float
    bleu_4: float
    meteor: float
    rouge_l: float
    cider: float
    jaccard: float
    n_reports: int
    per_report: dict[str, dict[str, float]] = field(default_factory=dict, compare=False)

    def as_dict(self) -> dict[str, object]:
        return asdict(self)


def report_tokens(text: str) -> list[str]:
    """Tokens of a report for scoring: lower case words and numbers, levels normalised."""
    text = _LEVEL.sub(lambda m: normalise_level(m.group(1), m.group(2)), text)
    return _TOKEN.findall(text.lower().replace("²", "2"))


def jaccard_similarity(candidate: str, reference: str) -> float:
    """|A ∩ B| / |A ∪ B| over the two token sets; 1.0 when both are empty."""
    a, b = set(report_tokens(candidate)), set(report_tokens(reference))
    return 1.0 if not a and not b else len(a & b) / len(a | b)


def _as_reference_lists(references: Mapping[str, Sequence[str] | str]) -> dict[str, list[str]]:
    out: dict[str, list[str]] = {}
    for key, value in references.items():
        refs = [value] if isinstance(value, str) else list(value)
        if not refs:
            raise ValueError(f"report {key!r} has no reference text")
        out[key] = refs
    return out


def report_text_metrics(
    candidates: Mapping[str, str], references: Mapping[str, Sequence[str] | str]
) -> TextMetrics:
    """Score drafted reports against references; both are keyed by report (e.g. study UID).

    `references[key]` is one reference text or several. Raises ValueError when the keys differ,
    TextMetricsUnavailable when pycocoevalcap or Java is missing.
    """
    if set(candidates) != set(references):
        missing = sorted(set(candidates) ^ set(references))
        raise ValueError(
            f"candidates and references must cover the same reports; differing keys: {missing[:5]}"
        )
    if not candidates:
        raise ValueError("no reports to score")
    try:
        from pycocoevalcap.bleu.bleu import Bleu
        from pycocoevalcap.cider.cider import Cider
        from pycocoevalcap.meteor.meteor import Meteor
        from pycocoevalcap.rouge.rouge import Rouge
    except ImportError as exc:
        raise TextMetricsUnavailable(
            "text metrics need pycocoevalcap: install the training extras (pip install 'lss-desktop[training]')"
        ) from exc
    if shutil.which("java") is None:
        raise TextMetricsUnavailable("METEOR needs Java: install a JRE (Debian: default-jre-headless)")
    refs = _as_reference_lists(references)
    keys = sorted(candidates)
    # pycocoevalcap expects pre-tokenised, space-separated text.
    res = {k: [" ".join(report_tokens(candidates[k])) or "empty"] for k in keys}
    gts = {k: [" ".join(report_tokens(r)) or "empty" for r in refs[k]] for k in keys}
    bleu, bleu_each = Bleu(4).compute_score(gts, res, verbose=0)
    rouge, rouge_each = Rouge().compute_score(gts, res)
    cider, cider_each = Cider().compute_score(gts, res)
    meteor_scorer = Meteor()
    try:
        meteor, meteor_each = meteor_scorer.compute_score(gts, res)
    except ValueError as exc:
        raise TextMetricsUnavailable(f"METEOR (Java) gave no score: {exc}") from exc
    finally:
        meteor_scorer.meteor_p.stdin.close()
        meteor_scorer.meteor_p.kill()
        meteor_scorer.meteor_p.wait()
    jaccard_each = [max(jaccard_similarity(candidates[k], r) for r in refs[k]) for k in keys]
    # pycocoevalcap returns per-report scores in the order of the dict keys it was given.
    per_report = {
        k: {
            "bleu_1": float(bleu_each[0][i]),
            "bleu_2": float(bleu_each[1][i]),
            "bleu_3": float(bleu_each[2][i]),
            "bleu_4": float(bleu_each[3][i]),
            "meteor": float(meteor_each[i]),
            "rouge_l": float(rouge_each[i]),
            "cider": float(cider_each[i]),
            "jaccard": jaccard_each[i],
        }
        for i, k in enumerate(keys)
    }
    return TextMetrics(
        bleu_1=float(bleu[0]),
        bleu_2=float(bleu[1]),
        bleu_3=float(bleu[2]),
        bleu_4=float(bleu[3]),
        meteor=float(meteor),
        rouge_l=float(rouge),
        cider=float(cider),
        jaccard=sum(jaccard_each) / len(keys),
        n_reports=len(keys),
        per_report=per_report,
    )
