"""Model registry and architecture: shapes, masking, explanation, BiomedCLIP from a local hub folder."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch
from tiny_biomedclip import write_tiny_biomedclip

from engine.prompt_tokens import PromptTokenizer
from engine.prompt_vocabulary import prompt_vocabulary
from training.models import create_model, list_model_configs, load_model_config
from training.text.tokenizer_training import SPECIAL_TOKENS, train_prompt_tokenizer


def _inputs(tokenizer: PromptTokenizer, texts: list[str], size: int = 64):
    tokens = tokenizer.encode(texts)
    image = torch.rand(len(texts), 1, size, size, generator=torch.Generator().manual_seed(0))
    return image, *(
        torch.from_numpy(x) for x in (tokens.input_ids, tokens.attention_mask, tokens.content_mask)
    )


def test_registry_lists_the_architectures_and_reports_their_size():
    names = list_model_configs()
    assert {"lss-vit-small", "lss-vit-small-128", "lss-vit-tiny", "lss-biomedclip"} <= set(names)
    for name in ("lss-vit-small", "lss-vit-small-128"):
        model, preprocessing = create_model(name)
        parameters = sum(p.numel() for p in model.parameters())
        print(f"\n{name}: {parameters:,} parameters, input {preprocessing.input_size}")
        assert parameters < 10_000_000  # tens of MB at most as float32 ONNX
    with pytest.raises(ValueError, match="unknown model 'nope'"):
        create_model("nope")
    with pytest.raises(ValueError, match="not a multiple of the patch size"):
        load_model_config(
            "lss-vit-tiny",
            {"preprocessing": {"sagittal": {"input_size": [60, 60]}, "axial": {"input_size": [60, 60]}}},
        )
    with pytest.raises(ValueError, match="needs 4 stem and decoder channel entries"):
        load_model_config("lss-vit-tiny", {"decoder": {"stem_channels": [8, 8]}})


def test_outputs_padding_and_explanation(prompt_tokenizer_file):
    torch.manual_seed(0)
    model, _ = create_model("lss-vit-tiny")
    model.eval()
    tokenizer = PromptTokenizer(prompt_tokenizer_file, 16, "[PAD]")
    image, ids, mask, content = _inputs(tokenizer, ["dural sac at L4-L5", "vertebra"])
    with torch.no_grad():
        out = model(image, ids, mask, content)
        alone = model(
            image[1:],
            ids[1:, : int(mask[1].sum())],
            mask[1:, : int(mask[1].sum())],
            content[1:, : int(mask[1].sum())],
        )
    assert out.mask_logits.shape == (2, 1, 64, 64) and out.grade_logits.shape == (2, 4)
    assert out.explanation.shape == (2, 4, 4)
    assert float(out.explanation.min()) >= 0.0 and float(out.explanation.max()) <= 1.0
    # Padding tokens are masked out of the attention: "vertebra" padded or alone gives the same answer.
    assert torch.allclose(out.mask_logits[1], alone.mask_logits[0], atol=1e-5)
    assert torch.allclose(out.grade_logits[1], alone.grade_logits[0], atol=1e-5)


def test_prompt_tokenizer_is_trained_on_the_corpus_and_notes(tmp_path):
    notes = tmp_path / "notes.csv"
    notes.write_text(
        'patient_id,clinicians_notes\n1,"Severe thecal sac compression at L4-L5 by a disc bulge."\n'
    )
    path = train_prompt_tokenizer(tmp_path / "tokenizer.json", notes, vocab_size=400)
    tokenizer = PromptTokenizer(path, 32, "[PAD]")
    batch = tokenizer.encode([p.text for p in prompt_vocabulary()] + ["thecal sac compression"])
    assert int((batch.input_ids == 1).sum()) == 0  # no [UNK]: every prompt word is in the vocabulary
    assert tokenizer.pad_id == SPECIAL_TOKENS.index("[PAD]")
    assert batch.content_mask[0, 0] == 0.0 and batch.content_mask[0, 1] == 1.0  # [BOS] is not content
    with pytest.raises(ValueError, match="notes column"):
        bad = tmp_path / "bad.csv"
        bad.write_text("a,b\n1,2\n")
        train_prompt_tokenizer(tmp_path / "t2.json", bad)


def test_prompt_vocabulary_covers_the_planes_and_levels():
    texts = {p.text for p in prompt_vocabulary()}
    assert {"vertebra", "intervertebral disc", "spinal canal", "dural sac", "posterior epidural fat"} <= texts
    assert {"dural sac at L1-L2", "dural sac at L5-S1"} <= texts
    assert not any("fat at" in t for t in texts)


def test_biomedclip_from_a_local_hub_folder_trains_and_exports(tmp_path, monkeypatch):
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.setenv("TRANSFORMERS_OFFLINE", "1")
    local_dir, bert_dir = write_tiny_biomedclip(tmp_path)
    assert {"open_clip_config.json", "open_clip_pytorch_model.bin", "tokenizer.json"} <= {
        p.name for p in local_dir.iterdir()
    }
    assert json.loads((local_dir / "open_clip_config.json").read_text())["model_cfg"]["text_cfg"][
        "hf_model_name"
    ].startswith("microsoft/")
    size = {"input_size": [64, 64]}
    overrides = {
        "open_clip": {"local_dir": str(local_dir), "text_config_dir": str(bert_dir), "freeze_text": False},
        "preprocessing": {"sagittal": size, "axial": size},
    }
    with pytest.raises(ValueError, match="text_config_dir"):
        create_model("lss-biomedclip", {**overrides, "open_clip": {"local_dir": str(local_dir)}})
    model, _ = create_model("lss-biomedclip", overrides)
    tokenizer = PromptTokenizer(local_dir / "tokenizer.json", 32, "[PAD]")
    image, ids, mask, content = _inputs(tokenizer, ["dural sac at L4-L5", "spinal canal"])
    assert int((ids == 1).sum()) == 0  # the BERT vocabulary knows the prompt words
    tokens, _ = model.encode_image(image)
    assert tokens.shape == (2, 16, 32)  # 4x4 patches, [CLS] removed, width of the tiny timm ViT
    optimizer = torch.optim.AdamW([p for p in model.parameters() if p.requires_grad], lr=1e-3)
    target = (torch.rand(2, 1, 64, 64) > 0.5).float()
    losses = []
    for _ in range(3):
        out = model(image, ids, mask, content)
        loss = torch.nn.functional.binary_cross_entropy_with_logits(out.mask_logits, target)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        losses.append(loss.item())
    assert losses[-1] < losses[0]
    from training.export import export_model_pack
    from training.trainer.checkpoints import save_model_folder

    metadata = {"model_config": model.config.to_dict(), "tokenizer_file": "tokenizer.json"}
    save_model_folder(
        tmp_path / "best", model.state_dict(), metadata, {"tokenizer.json": local_dir / "tokenizer.json"}
    )
    pack = export_model_pack(tmp_path / "best", tmp_path / "pack", "biomedclip-test", "0.0.1")
    parity = json.loads((pack / "config.json").read_text())["parity_max_abs_diff"]
    print("\nBiomedCLIP tiny pack, ONNX Runtime vs torch:", parity)
    assert max(parity.values()) < 1e-3
    assert np.isfinite(list(parity.values())).all()


def test_the_grade_head_reads_the_predicted_mask_size_without_reshaping_the_mask():
    from training.models.config import GradeHeadConfig
    from training.models.grade_head import AttentionPoolingGradeHead

    torch.manual_seed(0)
    head = AttentionPoolingGradeHead(16, GradeHeadConfig(hidden=8))
    tokens, patches = torch.randn(2, 9, 16), torch.randn(2, 9, 16)
    small = torch.full((2, 1, 32, 32), -6.0)
    small[:, :, 12:18, 12:18] = 6.0
    large = torch.full((2, 1, 32, 32), -6.0, requires_grad=True)
    with torch.no_grad():
        large[:, :, 4:28, 4:28] = 6.0
    assert not torch.allclose(head(tokens, patches, small), head(tokens, patches, large))
    head(tokens, patches, large).sum().backward()
    assert large.grad is None  # the size features are detached: the grade loss leaves the mask alone
