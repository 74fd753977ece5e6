"""Model packs carry their torch weights so that fine-tuning can start from a pack; the engine still
loads such a pack, and a pack without weights or tampered with is refused with a clear message."""

from __future__ import annotations

import json
import shutil

import pytest
import torch

from engine.runtime.model_pack import load_model_pack
from training.export import export_model_pack
from training.trainer.initial_model import load_initial_model


@pytest.fixture(scope="module")
def tiny_pack(tmp_path_factory, tiny_model_folder):
    return export_model_pack(
        tiny_model_folder,
        tmp_path_factory.mktemp("packs") / "tiny",
        "tiny-test",
        "0.0.1",
        include_weights=True,
    )


def test_pack_with_weights_loads_in_the_engine_and_for_fine_tuning(tiny_pack, tiny_model_folder):
    config = json.loads((tiny_pack / "config.json").read_text())
    assert config["training_weights"] == {"file": "model.safetensors", "format": "safetensors"}
    assert "model.safetensors" in json.loads((tiny_pack / "manifest.json").read_text())["files"]
    assert load_model_pack(tiny_pack).name == "tiny-test"
    initial = load_initial_model(tiny_pack)
    folder = load_initial_model(tiny_model_folder)
    assert initial.config == folder.config and initial.source == "model pack tiny-test 0.0.1"
    assert all(torch.equal(initial.weights[k], folder.weights[k]) for k in folder.weights)
    assert initial.tokenizer_file.read_bytes() == folder.tokenizer_file.read_bytes()


def test_pack_without_weights_or_tampered_is_refused(tiny_pack, tiny_model_folder, tmp_path):
    light = export_model_pack(tiny_model_folder, tmp_path / "light", "tiny-light", "0.0.1")
    assert not (light / "model.safetensors").exists() and load_model_pack(light).name == "tiny-light"
    with pytest.raises(ValueError, match="carries no training weights"):
        load_initial_model(light)
    tampered = shutil.copytree(tiny_pack, tmp_path / "tampered")
    with (tampered / "model.safetensors").open("r+b") as handle:
        handle.seek(-4, 2)
        handle.write(b"\0\0\0\0")
    with pytest.raises(ValueError, match=r"model\.safetensors does not match its sha256"):
        load_initial_model(tampered)
    with pytest.raises(FileNotFoundError, match="neither a model pack"):
        load_initial_model(tmp_path)


def test_lss_train_from_pack_on_a_site(tiny_pack, site_template, tmp_path, capsys):
    from engine.cli.main import main as lss

    config = tmp_path / "finetune.json"
    config.write_text(
        json.dumps(
            {
                "epochs": 1,
                "batch_size": 4,
                "warmup_steps": 1,
                "device": "cpu",
                "max_steps": 2,
                "data": {"held_out_fraction": 0.0, "samples_per_epoch": 8},
            }
        )
    )
    out = tmp_path / "out"
    code = lss(
        [
            "train",
            "--config",
            str(config),
            "--site",
            str(site_template),
            "--from-pack",
            str(tiny_pack),
            "--output-dir",
            str(out),
        ]
    )
    assert code == 0
    events = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert events[-1]["event"] == "finished" and events[-1]["global_step"] == 2
    assert json.loads((out / "best" / "model.json").read_text())["train_config"]["init_from"] == str(
        tiny_pack
    )
