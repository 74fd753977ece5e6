"""Fine-tuning on a site folder from a BiomedCLIP-based model pack (a tiny random BiomedCLIP in the
hub layout, built offline), and the message when the pack's BiomedCLIP folder is not on this machine."""

from __future__ import annotations

import importlib.util
import json
import shutil
import sys
from pathlib import Path

import pytest
from safetensors.torch import load_file

from training.export import export_model_pack
from training.models import create_model
from training.trainer import TrainConfig, train
from training.trainer.checkpoints import save_model_folder
from training.trainer.initial_model import load_initial_model

TINY_BIOMEDCLIP = Path(__file__).resolve().parents[1] / "model" / "tiny_biomedclip.py"


def _write_tiny_biomedclip(folder: Path) -> tuple[Path, Path]:
    spec = importlib.util.spec_from_file_location("tiny_biomedclip", TINY_BIOMEDCLIP)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules.setdefault("tiny_biomedclip", module)  # timm's registry looks the module up by name
    spec.loader.exec_module(module)
    return module.write_tiny_biomedclip(folder)


@pytest.mark.slow
def test_fine_tune_from_a_biomedclip_pack(site_template, tmp_path, monkeypatch):
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.setenv("TRANSFORMERS_OFFLINE", "1")
    local_dir, bert_dir = _write_tiny_biomedclip(tmp_path / "hub")
    size = {"input_size": [64, 64]}
    overrides = {
        "open_clip": {"local_dir": str(local_dir), "text_config_dir": str(bert_dir), "freeze_text": True},
        "preprocessing": {"sagittal": size, "axial": size},
    }
    model, _ = create_model("lss-biomedclip", overrides)
    save_model_folder(
        tmp_path / "best",
        model.state_dict(),
        {"model_config": model.config.to_dict(), "tokenizer_file": "tokenizer.json"},
        {"tokenizer.json": local_dir / "tokenizer.json"},
    )
    pack = export_model_pack(
        tmp_path / "best", tmp_path / "pack", "biomedclip-site-test", "0.0.1", include_weights=True
    )
    config = TrainConfig.from_dict(
        {
            "output_dir": str(tmp_path / "ft"),
            "init_from": str(pack),
            "epochs": 1,
            "batch_size": 2,
            "warmup_steps": 1,
            "device": "cpu",
            "max_steps": 1,
            "learning_rate": 1e-9,
            "data": {"site_roots": [str(site_template)], "held_out_fraction": 0.0, "samples_per_epoch": 2},
        }
    )
    result = train(config)
    initial = load_file(str(pack / "model.safetensors"))
    tuned = load_file(str(result.last_checkpoint / "model.safetensors"))
    assert max(float((tuned[k] - initial[k]).abs().max()) for k in initial) < 1e-6
    assert (
        json.loads((result.output_dir / "best" / "model.json").read_text())["model_config"]["vision"]["type"]
        == "open_clip"
    )
    shutil.move(local_dir, tmp_path / "moved")
    with pytest.raises(FileNotFoundError, match="set model_overrides"):
        load_initial_model(pack)
    moved = load_initial_model(pack, {"open_clip": {"local_dir": str(tmp_path / "moved")}})
    assert moved.config.open_clip.local_dir == str(tmp_path / "moved")
