"""ONNX model packs: export with dynamic dims, ONNX Runtime vs torch, verification, runtime API."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pytest
import torch

from engine.preprocessing import prepare_slice
from engine.prompt_tokens import PromptTokenizer
from engine.runtime.model_pack import ModelPackError, find_model_pack, find_model_packs, load_model_pack
from engine.runtime.segmenter import PromptSegmenter
from engine.runtime.sessions import SessionCache, create_session
from training.export import export_model_pack, load_trained_model
from training.models import create_model
from training.trainer.checkpoints import save_model_folder


@pytest.fixture(scope="module")
def tiny_pack(tmp_path_factory, prompt_tokenizer_file) -> Path:
    """A pack exported from a random tiny model (the export itself checks parity and dynamic dims)."""
    root = tmp_path_factory.mktemp("pack")
    torch.manual_seed(0)
    model, _ = create_model("lss-vit-tiny")
    metadata = {
        "model_config": model.config.to_dict(),
        "tokenizer_file": "tokenizer.json",
        "validation": {},
        "train_config": {"data": {"spider_root": "x"}, "loss": "pid_tversky", "seed": 0},
    }
    save_model_folder(root / "best", model.state_dict(), metadata, {"tokenizer.json": prompt_tokenizer_file})
    return export_model_pack(root / "best", root / "packs" / "lss-test", "lss-test", "1.2.3")


def _copy(pack: Path, tmp_path: Path) -> Path:
    target = tmp_path / pack.name
    shutil.copytree(pack, target)
    return target


def test_pack_contents_and_dynamic_dims(tiny_pack):
    import onnx

    names = sorted(p.name for p in tiny_pack.iterdir())
    assert names == [
        "config.json",
        "image_encoder.onnx",
        "manifest.json",
        "model_card.md",
        "prompt_decoder.onnx",
        "text_encoder.onnx",
        "tokenizer.json",
    ]
    decoder = onnx.load(str(tiny_pack / "prompt_decoder.onnx"))
    dims = {
        i.name: [d.dim_param or d.dim_value for d in i.type.tensor_type.shape.dim]
        for i in decoder.graph.input
    }
    assert isinstance(dims["text_tokens"][0], str) and isinstance(dims["text_tokens"][1], str)
    config = json.loads((tiny_pack / "config.json").read_text())
    assert config["name"] == "lss-test" and config["grades"] == ["A", "B", "C", "D"]
    assert "dural sac at L4-L5" in [p["text"] for p in config["prompts"]]
    print("\nONNX Runtime vs torch, max abs diff:", config["parity_max_abs_diff"])
    assert max(config["parity_max_abs_diff"].values()) < 1e-4
    card = (tiny_pack / "model_card.md").read_text()
    assert (
        "van der Graaf" in card and "CC BY 4.0" in card and "Intended use" in card and "Limitations" in card
    )


def test_runtime_matches_torch_on_the_same_slice(tiny_pack, tmp_path):
    pack = load_model_pack(tiny_pack)
    model, _ = load_trained_model(tiny_pack.parent.parent / "best")
    rng = np.random.default_rng(0)
    image = (rng.random((90, 70)) * 3000).astype(np.uint16)
    prompts = ["dural sac at L4-L5", "posterior epidural fat", "vertebra"]
    segmenter = PromptSegmenter(pack, provider="cpu")
    results = segmenter.segment(image, (0.7, 0.7), prompts, plane="axial", centre_rc=(40.0, 35.0))
    assert [r.prompt for r in results] == prompts
    prepared = prepare_slice(image, (0.7, 0.7), pack.preprocessing.axial, (40.0, 35.0))
    tokens = PromptTokenizer(pack.tokenizer_file, pack.max_prompt_tokens, pack.pad_token).encode(prompts)
    with torch.no_grad():
        out = model(
            torch.from_numpy(prepared.pixels)[None, None].repeat(3, 1, 1, 1),
            torch.from_numpy(tokens.input_ids),
            torch.from_numpy(tokens.attention_mask),
            torch.from_numpy(tokens.content_mask),
        )
    for index, result in enumerate(results):
        assert result.mask_probability.shape == result.explanation.shape == image.shape
        expected = prepared.mapping.to_original(torch.sigmoid(out.mask_logits[index, 0]).numpy())
        assert np.abs(result.mask_probability - expected).max() < 1e-4
        probabilities = torch.softmax(out.grade_logits[index], 0).numpy()
        assert [g for g, _ in result.grade_probabilities] == ["A", "B", "C", "D"]
        assert np.allclose([p for _, p in result.grade_probabilities], probabilities, atol=1e-5)
    # Prompt encodings are cached and the sessions reused.
    segmenter.segment(image, (0.7, 0.7), prompts[:1])
    assert len(segmenter._sessions) == 3
    assert segmenter.execution_providers() == ["CPUExecutionProvider"]


@pytest.mark.parametrize(
    ("damage", "message"),
    [
        (
            lambda p: (p / "prompt_decoder.onnx").write_bytes(
                (p / "prompt_decoder.onnx").read_bytes()[:1000]
            ),
            "prompt_decoder.onnx has 1000 bytes",
        ),
        (
            lambda p: (p / "tokenizer.json").write_text(
                (p / "tokenizer.json").read_text().replace("dural", "durax", 1)
            ),
            "tokenizer.json does not match its sha256",
        ),
        (lambda p: (p / "text_encoder.onnx").unlink(), "text_encoder.onnx is missing"),
        (lambda p: (p / "manifest.json").unlink(), "manifest.json is missing"),
        (lambda p: (p / "weights.pkl").write_bytes(b"\x80\x04"), "not in manifest.json: weights.pkl"),
    ],
)
def test_damaged_packs_are_refused_with_the_file_named(tiny_pack, tmp_path, damage, message):
    pack = _copy(tiny_pack, tmp_path)
    damage(pack)
    with pytest.raises(ModelPackError, match=message.replace(".", r"\.")):
        load_model_pack(pack)


def test_finding_packs_in_the_user_folder(tiny_pack, tmp_path, monkeypatch):
    monkeypatch.setenv("LSS_MODEL_DIR", str(tmp_path / "models"))
    _copy(tiny_pack, tmp_path / "models")
    (tmp_path / "models" / "broken").mkdir()
    (tmp_path / "models" / "broken" / "manifest.json").write_text("{not json")
    infos = [i for i in find_model_packs() if not i.bundled]
    assert [(i.name, i.version) for i in infos] == [("lss-test", "1.2.3")]
    assert find_model_pack("lss-test").version == "1.2.3"
    with pytest.raises(ModelPackError, match="no model pack named 'nope'"):
        find_model_pack("nope")


def test_sessions_are_cached_and_cuda_is_refused_without_it(tiny_pack):
    cache = SessionCache()
    path = tiny_pack / "text_encoder.onnx"
    assert cache.get(path, "cpu") is cache.get(path, "cpu")
    import onnxruntime as ort

    if "CUDAExecutionProvider" not in ort.get_available_providers():
        from engine.runtime.sessions import ProviderUnavailableError

        with pytest.raises(ProviderUnavailableError, match=r"text_encoder\.onnx"):
            create_session(path, "cuda")
    assert create_session(path, "auto").get_providers()[-1] == "CPUExecutionProvider"
    with pytest.raises(ValueError, match="provider"):
        create_session(path, "tpu")
