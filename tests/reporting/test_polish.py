"""Language-model polishing with tiny random models written in the real Hugging Face layout.

A random model writes nonsense, so every rewrite must fail the fact check and the template text
must stay. The models are built from configs with a BPE tokenizer trained offline on report text.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from engine.reporting.drafting import draft_report
from engine.reporting.polish import PolishModelError, polish_report

torch = pytest.importorskip("torch", reason="polishing needs the training extras (torch)")
transformers = pytest.importorskip("transformers", reason="polishing needs the training extras")

CORPUS = [
    "No significant canal stenosis at L2-L3 (Schizas grade A; dural sac area 152 mm², AP diameter 13.5 mm).",
    "Thecal sac compression noted at L3-L4 level, with moderate central canal stenosis.",
    "Diffuse disc bulge noted at L4/L5 level, mildly compressing the thecal sac and both exit nerve roots.",
    "Severe central canal stenosis at L4-L5 (Schizas grade C, dural sac area 61 mm²).",
    "Rewrite this sentence from a lumbar spine MRI report in fluent clinical English.",
]


IMAGE_TOKENS = ["<image>", "<fake_token_around_image>", "<global-img>", "<end_of_utterance>"]
SMOLVLM_CHAT_TEMPLATE = (
    "{% for message in messages %}{{ message['role'] | capitalize }}: "
    "{% for part in message['content'] %}{{ part['text'] }}{% endfor %}<end_of_utterance>\n"
    "{% endfor %}{% if add_generation_prompt %}Assistant:{% endif %}"
)


def _train_tokenizer(extra_special: list[str]) -> transformers.PreTrainedTokenizerFast:
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers

    tok = Tokenizer(models.BPE(unk_token="<unk>"))
    tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tok.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(
        vocab_size=300,
        special_tokens=["<unk>", "<s>", "</s>", "<pad>", *extra_special],
        initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),
    )
    tok.train_from_iterator(CORPUS * 4, trainer)
    return transformers.PreTrainedTokenizerFast(
        tokenizer_object=tok,
        unk_token="<unk>",
        bos_token="<s>",
        eos_token="</s>",
        pad_token="<pad>",
        additional_special_tokens=extra_special,
    )


def _write_tiny_smolvlm(folder: Path) -> Path:
    """An Idefics3 (SmolVLM architecture) folder: processor + tokenizer + tiny vision/text towers."""
    tokenizer = _train_tokenizer(IMAGE_TOKENS)
    image_processor = transformers.Idefics3ImageProcessor(
        size={"longest_edge": 64}, max_image_size={"longest_edge": 32}
    )
    processor = transformers.Idefics3Processor(
        image_processor=image_processor,
        tokenizer=tokenizer,
        image_seq_len=4,
        chat_template=SMOLVLM_CHAT_TEMPLATE,
    )
    processor.save_pretrained(folder)
    config = transformers.Idefics3Config(
        vision_config=dict(
            hidden_size=32, intermediate_size=64, num_hidden_layers=1, num_attention_heads=2,
            image_size=32, patch_size=8,
        ),
        text_config=dict(
            model_type="llama", vocab_size=len(tokenizer), hidden_size=32, intermediate_size=64,
            num_hidden_layers=1, num_attention_heads=2, num_key_value_heads=2,
            pad_token_id=tokenizer.pad_token_id, bos_token_id=tokenizer.bos_token_id,
            eos_token_id=tokenizer.eos_token_id,
        ),
        image_token_id=tokenizer.convert_tokens_to_ids("<image>"),
        scale_factor=2,
    )  # fmt: skip
    transformers.Idefics3ForConditionalGeneration(config).save_pretrained(folder)
    return folder


def _write_tiny_model(folder: Path, kind: str) -> Path:
    torch.manual_seed(0)
    if kind == "idefics3":
        return _write_tiny_smolvlm(folder)
    tokenizer = _train_tokenizer([])
    tokenizer.save_pretrained(folder)
    vocab = len(tokenizer)
    if kind == "gpt2":
        config = transformers.GPT2Config(
            vocab_size=vocab, n_positions=256, n_embd=32, n_layer=2, n_head=2,
            bos_token_id=tokenizer.bos_token_id, eos_token_id=tokenizer.eos_token_id,
        )  # fmt: skip
        model = transformers.GPT2LMHeadModel(config)
    else:
        config = transformers.LlamaConfig(
            vocab_size=vocab, hidden_size=32, intermediate_size=64, num_hidden_layers=2,
            num_attention_heads=2, num_key_value_heads=2, max_position_embeddings=256,
            bos_token_id=tokenizer.bos_token_id, eos_token_id=tokenizer.eos_token_id,
            pad_token_id=tokenizer.pad_token_id,
        )  # fmt: skip
        model = transformers.LlamaForCausalLM(config)
    model.save_pretrained(folder, safe_serialization=True)
    return folder


@pytest.mark.parametrize("kind", ["gpt2", "llama", "idefics3"])
def test_random_model_rewrites_fail_the_fact_check_and_template_text_stays(tmp_path, case, kind):
    folder = _write_tiny_model(tmp_path / kind, kind)
    assert (folder / "config.json").is_file() and (folder / "model.safetensors").is_file()
    assert (folder / "tokenizer.json").is_file()
    assert json.loads((folder / "config.json").read_text())["model_type"] == kind

    draft = draft_report(case.findings, case.study)
    result = polish_report(draft, folder, max_new_tokens=12)

    assert result.model_type == kind
    assert len(result.sentences) == len(draft.sentences)  # every sentence is AI-drafted here
    assert result.rejected == result.sentences
    assert result.draft == draft  # template text kept everywhere
    level_line = next(s for s in result.sentences if s.sentence_id == "findings/L4-L5/central_canal_stenosis")
    assert "level L4-L5 is missing" in level_line.problems
    assert "grade C at L4-L5 is missing" in level_line.problems
    assert "number 61 mm² at L4-L5 is missing" in level_line.problems
    summary = result.summary()
    assert "0 of 9 sentences rewritten" in summary
    assert "findings/L4-L5/central_canal_stenosis: rewrite rejected, template text kept" in summary


def test_person_sentences_are_not_sent_to_the_model(tmp_path, case):
    from engine.reporting.revision import accept_sentence, edit_sentence

    folder = _write_tiny_model(tmp_path / "gpt2", "gpt2")
    draft = draft_report(case.findings, case.study)
    draft = edit_sentence(
        draft, "findings/L3-L4/central_canal_stenosis", "Moderate stenosis at L3-L4.", "Dr A"
    )
    draft = accept_sentence(draft, "technique", "Dr A")
    result = polish_report(draft, folder, max_new_tokens=4)
    ids = {s.sentence_id for s in result.sentences}
    assert "findings/L3-L4/central_canal_stenosis" not in ids and "technique" not in ids
    assert len(ids) == len(draft.sentences) - 2


def test_a_folder_without_a_model_gives_a_clear_error(tmp_path, case):
    draft = draft_report(case.findings, case.study)
    with pytest.raises(PolishModelError, match=r"config\.json is missing"):
        polish_report(draft, tmp_path)
