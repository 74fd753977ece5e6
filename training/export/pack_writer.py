"""Export a trained model folder (best/: model.safetensors + model.json + tokenizer.json) as a model pack.

Pack folder: image_encoder.onnx, text_encoder.onnx, prompt_decoder.onnx, config.json (architecture,
preprocessing, prompts, structure and grade names, graph I/O), tokenizer.json, model_card.md, and
manifest.json with the sha256 of every other file. With include_weights (the trainer's default) the pack also
carries model.safetensors, the torch weights, named in config.json "training_weights": fine-tuning
starts from them (training.trainer.initial_model); the engine ignores the file. Graphs have dynamic batch and text length
(exported with batch 2 and checked in the ONNX file), and ONNX Runtime is compared with torch on a
different batch size and text length before the pack is written.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import hashlib
import json
import logging
import os
import shutil
import sys
import warnings
from pathlib import Path
from typing import Any

import numpy as np
import torch
from safetensors.torch import load_file

from engine import __version__
from engine.prompt_tokens import PromptTokenizer
from engine.prompt_vocabulary import prompt_vocabulary
from training.data.samples import STRUCTURE_CLASSES
from training.export.graphs import ImageEncoderGraph, PromptDecoderGraph, TextEncoderGraph, skip_names
from training.export.model_card import model_card
from training.models import PromptSegmentationModel, create_model, load_model_config

logger = logging.getLogger(__name__)

PACK_FORMAT_VERSION = 1
GRAPH_FILES = {
    "image_encoder": "image_encoder.onnx",
    "text_encoder": "text_encoder.onnx",
    "prompt_decoder": "prompt_decoder.onnx",
}
# Largest parity error accepted between ONNX Runtime and torch (float32 on CPU).
PARITY_TOLERANCE = 1e-3


class ExportError(RuntimeError):
    """The export failed a check (static dims, parity); the message says which graph and why."""


def sha256_of(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for chunk in iter(lambda: handle.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def load_trained_model(model_dir: Path) -> tuple[PromptSegmentationModel, dict[str, Any]]:
    """The model of a best/ folder in eval mode, and its model.json metadata."""
    metadata = json.loads((model_dir / "model.json").read_text(encoding="utf-8"))
    model, _ = create_model(load_model_config(metadata["model_config"]))
    model.load_state_dict(load_file(str(model_dir / "model.safetensors")))
    return model.eval(), metadata


def _export_graph(
    module: torch.nn.Module,
    args: tuple,
    names_in: list[str],
    names_out: list[str],
    dynamic: tuple,
    path: Path,
    opset: int,
) -> None:
    """dynamic: one {axis: Dim} per positional input."""
    # The exporter prints progress on stdout, which `lss train` keeps for JSON lines.
    with contextlib.redirect_stdout(sys.stderr), warnings.catch_warnings():
        warnings.simplefilter("ignore")
        torch.onnx.export(
            module,
            args,
            str(path),
            dynamo=True,
            dynamic_shapes=dynamic,
            opset_version=opset,
            input_names=names_in,
            output_names=names_out,
            external_data=False,
        )


def _check_dynamic(path: Path, expected: dict[str, tuple[int, ...]]) -> None:
    """Every named input must have a symbolic dim at the listed axes (batch, text length)."""
    import onnx

    graph = onnx.load(str(path), load_external_data=False).graph
    dims = {i.name: i.type.tensor_type.shape.dim for i in graph.input}
    for name, axes in expected.items():
        for axis in axes:
            if not dims[name][axis].dim_param:
                raise ExportError(
                    f"{path.name}: input {name} axis {axis} is fixed to {dims[name][axis].dim_value}"
                )


def _example_inputs(
    model: PromptSegmentationModel, tokenizer: PromptTokenizer, texts: list[str], batch: int, seed: int
):
    generator = torch.Generator().manual_seed(seed)
    rows, cols = model.config.preprocessing.input_size
    image = torch.rand(batch, 1, rows, cols, generator=generator)
    tokens = tokenizer.encode([texts[i % len(texts)] for i in range(batch)])
    return (
        image,
        torch.from_numpy(tokens.input_ids),
        torch.from_numpy(tokens.attention_mask),
        torch.from_numpy(tokens.content_mask),
    )


def _parity(
    model: PromptSegmentationModel, folder: Path, tokenizer: PromptTokenizer, names: dict[str, list[str]]
) -> dict[str, float]:
    """Max abs difference ONNX Runtime vs torch, on batch 3 and prompts of different lengths."""
    import onnxruntime as ort

    texts = ["dural sac at L4-L5", "vertebra", "posterior epidural fat"]
    image, ids, mask, content = _example_inputs(model, tokenizer, texts, 3, seed=1)
    with torch.no_grad():
        tokens, skips = model.encode_image(image)
        text = model.encode_text(ids, mask)
        ref = model.decode(tokens, skips, text, mask, content)
    options = ort.SessionOptions()
    options.log_severity_level = 3

    def session(key: str) -> Any:
        return ort.InferenceSession(
            str(folder / GRAPH_FILES[key]), options, providers=["CPUExecutionProvider"]
        )

    image_out = session("image_encoder").run(None, {"image": image.numpy()})
    text_out = session("text_encoder").run(None, {"input_ids": ids.numpy(), "attention_mask": mask.numpy()})[
        0
    ]
    feeds = dict(zip(names["decoder_in"], [*image_out, text_out, mask.numpy(), content.numpy()], strict=True))
    decoded = session("prompt_decoder").run(None, feeds)
    diffs = {
        "patch_tokens": float(np.abs(image_out[0] - tokens.numpy()).max()),
        "text_tokens": float(np.abs(text_out - text.numpy()).max()),
        "mask_logits": float(np.abs(decoded[0] - ref.mask_logits.numpy()).max()),
        "grade_logits": float(np.abs(decoded[1] - ref.grade_logits.numpy()).max()),
        "explanation": float(np.abs(decoded[2] - ref.explanation.numpy()).max()),
    }
    worst = max(diffs, key=lambda k: diffs[k])
    if diffs[worst] > PARITY_TOLERANCE:
        raise ExportError(
            f"ONNX Runtime differs from torch on {worst} by {diffs[worst]:.3g} (> {PARITY_TOLERANCE})"
        )
    return diffs


TRAINING_WEIGHTS_FILE = "model.safetensors"


def export_model_pack(
    model_dir: Path,
    pack_dir: Path,
    pack_name: str,
    pack_version: str,
    opset: int = 18,
    include_weights: bool = False,
    test_results: dict[str, dict[str, Any]] | None = None,
) -> Path:
    """Export best/ to a complete, verified model pack at pack_dir (replaced only when complete).

    test_results: metrics on data never used for training or model selection, by test set name
    (e.g. "synthetic test studies"); recorded in config.json and on the card.

    include_weights: also copy the torch weights, so the pack can be fine-tuned (doubles its size);
    off by default for this function, on by default for the trainer's export and
    `python -m training.export` (ExportConfig.include_weights).
    """
    model, metadata = load_trained_model(model_dir)
    config = model.config
    tokenizer_file = model_dir / metadata.get("tokenizer_file", "tokenizer.json")
    tokenizer = PromptTokenizer(tokenizer_file, config.text.max_length, config.text.pad_token)
    skips = skip_names(model)
    names = {
        "image_out": ["patch_tokens", *skips],
        "decoder_in": ["patch_tokens", *skips, "text_tokens", "attention_mask", "content_mask"],
        "decoder_out": ["mask_logits", "grade_logits", "explanation"],
    }
    tmp = pack_dir.with_name(f".{pack_dir.name}.tmp")
    shutil.rmtree(tmp, ignore_errors=True)
    tmp.mkdir(parents=True)
    batch = torch.export.Dim("batch", min=1, max=4096)
    length = torch.export.Dim("text_length", min=2, max=config.text.max_length)
    image, ids, mask, content = _example_inputs(
        model, tokenizer, ["dural sac at L4-L5", "vertebra"], 2, seed=0
    )
    with torch.no_grad():
        tokens, skip_tensors = model.encode_image(image)
        text = model.encode_text(ids, mask)
    _export_graph(
        ImageEncoderGraph(model),
        (image,),
        ["image"],
        names["image_out"],
        ({0: batch},),
        tmp / GRAPH_FILES["image_encoder"],
        opset,
    )
    _export_graph(
        TextEncoderGraph(model),
        (ids, mask),
        ["input_ids", "attention_mask"],
        ["text_tokens"],
        ({0: batch, 1: length}, {0: batch, 1: length}),
        tmp / GRAPH_FILES["text_encoder"],
        opset,
    )
    # The decoder takes (patch_tokens, *rest): torch.export sees the varargs as one tuple.
    decoder_dynamic = ({0: batch}, (*({0: batch} for _ in skips), *({0: batch, 1: length} for _ in range(3))))
    _export_graph(
        PromptDecoderGraph(model),
        (tokens, *skip_tensors, text, mask, content),
        names["decoder_in"],
        names["decoder_out"],
        decoder_dynamic,
        tmp / GRAPH_FILES["prompt_decoder"],
        opset,
    )
    _check_dynamic(tmp / GRAPH_FILES["image_encoder"], {"image": (0,)})
    _check_dynamic(tmp / GRAPH_FILES["text_encoder"], {"input_ids": (0, 1), "attention_mask": (0, 1)})
    _check_dynamic(
        tmp / GRAPH_FILES["prompt_decoder"],
        {"patch_tokens": (0,), "text_tokens": (0, 1), "content_mask": (0, 1)},
    )
    parity = _parity(model, tmp, tokenizer, names)
    shutil.copy2(tokenizer_file, tmp / "tokenizer.json")
    if include_weights:
        shutil.copy2(model_dir / "model.safetensors", tmp / TRAINING_WEIGHTS_FILE)
    parameters = sum(p.numel() for p in model.parameters())
    pack_config = {
        "format_version": PACK_FORMAT_VERSION,
        "name": pack_name,
        "version": pack_version,
        "created": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        "engine_version": __version__,
        "architecture": config.to_dict(),
        "parameters": parameters,
        "preprocessing": config.preprocessing.to_dict(),
        "text": {
            "tokenizer": "tokenizer.json",
            "max_length": config.text.max_length,
            "pad_token": config.text.pad_token,
        },
        "structures": [s.value for s in STRUCTURE_CLASSES],
        "grades": list(config.grade_head.grades),
        "prompts": [
            {
                "text": p.text,
                "structure": p.structure.value,
                "orientation": p.orientation.value,
                "level": p.level,
            }
            for p in prompt_vocabulary()
        ],
        "graphs": {
            "image_encoder": {
                "file": GRAPH_FILES["image_encoder"],
                "inputs": ["image"],
                "outputs": names["image_out"],
            },
            "text_encoder": {
                "file": GRAPH_FILES["text_encoder"],
                "inputs": ["input_ids", "attention_mask"],
                "outputs": ["text_tokens"],
            },
            "prompt_decoder": {
                "file": GRAPH_FILES["prompt_decoder"],
                "inputs": names["decoder_in"],
                "outputs": names["decoder_out"],
            },
        },
        "metrics": metadata.get("validation", {}),
        "test_metrics": test_results or {},
        "parity_max_abs_diff": parity,
        "training_weights": (
            {"file": TRAINING_WEIGHTS_FILE, "format": "safetensors"} if include_weights else None
        ),
    }
    (tmp / "config.json").write_text(json.dumps(pack_config, indent=2), encoding="utf-8")
    card = model_card(
        pack_name,
        pack_version,
        config.to_dict(),
        metadata.get("train_config", {}),
        metadata.get("validation", {}),
        parameters,
        parity,
        test_results or {},
    )
    (tmp / "model_card.md").write_text(card, encoding="utf-8")
    files = sorted(p.name for p in tmp.iterdir() if p.is_file())
    manifest = {
        "name": pack_name,
        "version": pack_version,
        "format_version": PACK_FORMAT_VERSION,
        "files": {
            name: {"sha256": sha256_of(tmp / name), "bytes": (tmp / name).stat().st_size} for name in files
        },
    }
    (tmp / "manifest.json").write_text(json.dumps(manifest, indent=2), encoding="utf-8")
    old = pack_dir.with_name(f".{pack_dir.name}.old")
    shutil.rmtree(old, ignore_errors=True)
    if pack_dir.exists():
        os.replace(pack_dir, old)
    os.replace(tmp, pack_dir)
    shutil.rmtree(old, ignore_errors=True)
    logger.info("model pack %s %s written to %s", pack_name, pack_version, pack_dir)
    return pack_dir
