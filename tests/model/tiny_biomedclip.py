"""Writes a tiny random BiomedCLIP-shaped open_clip model in the exact hub layout (no download):
open_clip_config.json + open_clip_pytorch_model.bin + BERT tokenizer files, and the HF BERT
config.json in a separate local folder (as a site would keep PubMedBERT's config)."""

from __future__ import annotations

import json
from pathlib import Path

TIMM_NAME = "lss_test_vit_micro_patch16_64"
WORDS = [
    "vertebra",
    "intervertebral",
    "disc",
    "spinal",
    "canal",
    "dural",
    "sac",
    "posterior",
    "epidural",
    "fat",
    "at",
    "l1",
    "l2",
    "l3",
    "l4",
    "l5",
    "s1",
    "-",
    "1",
    "2",
    "3",
    "4",
    "5",
    "segment",
    "the",
    "schizas",
    "grade",
    "a",
    "b",
    "c",
    "d",
]


def _register_timm_micro_vit() -> None:
    import timm
    from timm.models import register_model
    from timm.models.vision_transformer import _create_vision_transformer

    if TIMM_NAME in timm.list_models(TIMM_NAME):
        return

    def lss_test_vit_micro_patch16_64(pretrained: bool = False, **kwargs):
        args = dict(img_size=64, patch_size=16, embed_dim=32, depth=1, num_heads=2, mlp_ratio=2.0)
        return _create_vision_transformer(TIMM_NAME, pretrained=pretrained, **dict(args, **kwargs))

    lss_test_vit_micro_patch16_64.__name__ = TIMM_NAME
    register_model(lss_test_vit_micro_patch16_64)


def write_tiny_biomedclip(root: Path, hub_style_text_name: bool = True) -> tuple[Path, Path]:
    """Returns (local_dir, text_config_dir). With hub_style_text_name the config names a hub id for
    the text model (as the real BiomedCLIP does), so loading needs text_config_dir."""
    import open_clip
    import torch
    from transformers import BertConfig, BertTokenizerFast

    _register_timm_micro_vit()
    local_dir = root / "biomedclip"
    bert_dir = root / "biomedbert-config"
    local_dir.mkdir(parents=True)
    bert_dir.mkdir(parents=True)
    vocab = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", *sorted(set(WORDS))]
    (bert_dir / "vocab.txt").write_text("\n".join(vocab) + "\n", encoding="utf-8")
    tokenizer = BertTokenizerFast(
        vocab={token: index for index, token in enumerate(vocab)}, do_lower_case=True
    )
    tokenizer.save_pretrained(str(local_dir))
    BertConfig(
        vocab_size=len(vocab),
        hidden_size=32,
        num_hidden_layers=1,
        num_attention_heads=2,
        intermediate_size=64,
        max_position_embeddings=64,
    ).save_pretrained(str(bert_dir))
    text_name = (
        "microsoft/BiomedNLP-BiomedBERT-base-uncased-abstract" if hub_style_text_name else str(bert_dir)
    )
    config = {
        "model_cfg": {
            "embed_dim": 16,
            "vision_cfg": {
                "timm_model_name": TIMM_NAME,
                "timm_model_pretrained": False,
                "timm_pool": "",
                "timm_proj": "linear",
                "image_size": 64,
            },
            "text_cfg": {
                "hf_model_name": text_name,
                "hf_tokenizer_name": text_name,
                "hf_proj_type": "mlp",
                "hf_pooler_type": "cls_last_hidden_state_pooler",
                "context_length": 32,
            },
        },
        "preprocess_cfg": {
            "mean": [0.48145466, 0.4578275, 0.40821073],
            "std": [0.26862954, 0.26130258, 0.27577711],
        },
    }
    build_config = json.loads(json.dumps(config))
    build_config["model_cfg"]["text_cfg"]["hf_model_name"] = str(bert_dir)
    (local_dir / "open_clip_config.json").write_text(json.dumps(build_config), encoding="utf-8")
    torch.manual_seed(0)
    model = open_clip.create_model(f"local-dir:{local_dir}", pretrained_text=False)
    torch.save(model.state_dict(), local_dir / "open_clip_pytorch_model.bin")
    (local_dir / "open_clip_config.json").write_text(json.dumps(config, indent=2), encoding="utf-8")
    return local_dir, bert_dir
