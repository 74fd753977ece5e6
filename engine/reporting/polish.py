"""Optional polishing of AI-drafted sentences by a local language model, guarded by a fact check.

The model is a folder on disk in the Hugging Face layout (config.json, weights, tokenizer files):
any causal language model (GPT-2, Llama, Qwen, SmolLM...) or a SmolVLM/Idefics3 folder used for
text only. Nothing is downloaded: loading uses `local_files_only=True` with the hub offline.
torch and transformers are imported only when polishing is asked for.

Each AI-drafted sentence is rewritten on its own and fact-checked against the sentence and its
evidence (`fact_check.fact_check_rewrite`). A rewrite with any missing, added or changed level,
grade, number or severity word is rejected: the template sentence stays, and the result says why.
Sentences a person accepted, edited or wrote are never sent to the model.
"""

from __future__ import annotations

import logging
import os
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from engine.reporting.fact_check import fact_check_rewrite
from engine.reporting.model import ReportDraft, Sentence, SentenceProvenance

log = logging.getLogger(__name__)

INSTRUCTION = (
    "Rewrite this sentence from a lumbar spine MRI report in fluent clinical English. "
    "Keep every disc level, Schizas grade, number and unit exactly as written."
)
VISION_LANGUAGE_TYPES = frozenset({"idefics3", "smolvlm", "smolvlm_vision"})


class PolishModelError(RuntimeError):
    """The model folder cannot be used (missing, incomplete, or torch/transformers not installed)."""


@dataclass(frozen=True)
class SentencePolish:
    sentence_id: str
    original: str
    rewrite: str  # what the model wrote (first line, stripped)
    accepted: bool
    problems: tuple[str, ...]  # why the rewrite was rejected; empty when accepted


@dataclass(frozen=True)
class PolishResult:
    """The draft with accepted rewrites (template text kept elsewhere) and a line per sentence."""

    draft: ReportDraft
    sentences: tuple[SentencePolish, ...]
    model_dir: str
    model_type: str

    @property
    def rejected(self) -> tuple[SentencePolish, ...]:
        return tuple(s for s in self.sentences if not s.accepted)

    @property
    def all_accepted(self) -> bool:
        return not self.rejected

    def summary(self) -> str:
        """What happened, for the person reviewing the report."""
        lines = [
            f"Language-model polishing with {Path(self.model_dir).name} ({self.model_type}): "
            f"{len(self.sentences) - len(self.rejected)} of {len(self.sentences)} sentences rewritten."
        ]
        for s in self.rejected:
            lines.append(f"- {s.sentence_id}: rewrite rejected, template text kept ({'; '.join(s.problems)})")
        return "\n".join(lines)


@dataclass
class _LoadedModel:
    model: Any
    tokenizer: Any
    processor: Any | None
    model_type: str


def _load_model(model_dir: Path) -> _LoadedModel:
    if not (model_dir / "config.json").is_file():
        raise PolishModelError(f"{model_dir}: not a language-model folder (config.json is missing)")
    # No network, ever: the hub libraries honour these before they are imported.
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
    try:
        import transformers
    except ImportError as exc:
        raise PolishModelError(
            "language-model polishing needs torch and transformers: install the training extras "
            "(pip install 'lss-desktop[training]')"
        ) from exc
    try:
        config = transformers.AutoConfig.from_pretrained(model_dir, local_files_only=True)
        if config.model_type in VISION_LANGUAGE_TYPES:
            processor = transformers.AutoProcessor.from_pretrained(model_dir, local_files_only=True)
            model = transformers.AutoModelForImageTextToText.from_pretrained(model_dir, local_files_only=True)
            tokenizer = processor.tokenizer
        else:
            processor = None
            tokenizer = transformers.AutoTokenizer.from_pretrained(model_dir, local_files_only=True)
            model = transformers.AutoModelForCausalLM.from_pretrained(model_dir, local_files_only=True)
    except (OSError, ValueError, KeyError) as exc:
        raise PolishModelError(f"{model_dir}: cannot load the language model: {exc}") from exc
    model.eval()
    return _LoadedModel(model=model, tokenizer=tokenizer, processor=processor, model_type=config.model_type)


def _prompt(loaded: _LoadedModel, text: str) -> str:
    content = f"{INSTRUCTION}\nSentence: {text}"
    if loaded.processor is not None and getattr(loaded.processor, "chat_template", None):
        messages = [{"role": "user", "content": [{"type": "text", "text": content}]}]
        return str(loaded.processor.apply_chat_template(messages, add_generation_prompt=True))
    if getattr(loaded.tokenizer, "chat_template", None):
        messages_text = [{"role": "user", "content": content}]
        return str(
            loaded.tokenizer.apply_chat_template(messages_text, tokenize=False, add_generation_prompt=True)
        )
    return f"{content}\nRewrite:"


def _rewrite(loaded: _LoadedModel, text: str, max_new_tokens: int) -> str:
    import torch

    tokenizer = loaded.tokenizer
    inputs = tokenizer(_prompt(loaded, text), return_tensors="pt")
    pad = tokenizer.pad_token_id if tokenizer.pad_token_id is not None else tokenizer.eos_token_id
    with torch.inference_mode():
        output = loaded.model.generate(
            input_ids=inputs["input_ids"],
            attention_mask=inputs.get("attention_mask"),
            max_new_tokens=max_new_tokens,
            do_sample=False,
            pad_token_id=pad,
        )
    new_tokens = output[0, inputs["input_ids"].shape[1] :]
    decoded = str(tokenizer.decode(new_tokens, skip_special_tokens=True)).strip()
    return decoded.splitlines()[0].strip() if decoded else ""


def polishable(sentence: Sentence) -> bool:
    """Only AI-drafted sentences that no person has touched are offered to the model."""
    return sentence.provenance is SentenceProvenance.AI_DRAFTED and sentence.stale_reason is None


def polish_report(
    draft: ReportDraft, model_dir: str | os.PathLike[str], max_new_tokens: int = 96
) -> PolishResult:
    """Rewrite each AI-drafted sentence with the model in `model_dir`; keep the rewrites that pass
    the fact check. Raises PolishModelError when the folder or libraries are unusable."""
    folder = Path(model_dir)
    loaded = _load_model(folder)
    outcomes: list[SentencePolish] = []
    polished = draft
    for sentence in draft.sentences:
        if not polishable(sentence):
            continue
        rewrite = _rewrite(loaded, sentence.text, max_new_tokens)
        check = fact_check_rewrite(sentence, rewrite)
        outcomes.append(
            SentencePolish(
                sentence_id=sentence.sentence_id,
                original=sentence.text,
                rewrite=rewrite,
                accepted=check.passed,
                problems=check.problems,
            )
        )
        if check.passed:
            section = polished.section(sentence.section)
            polished = polished.with_section(
                sentence.section,
                tuple(
                    replace(s, text=rewrite) if s.sentence_id == sentence.sentence_id else s for s in section
                ),
            )
        else:
            log.info("polish of %s rejected: %d fact(s) differ", sentence.sentence_id, len(check.problems))
    return PolishResult(
        draft=polished, sentences=tuple(outcomes), model_dir=str(folder), model_type=loaded.model_type
    )
