"""Fixtures of the analysis tests: small synthetic studies (test seeds 900000+, never used for
training), their ground-truth oracle, and a tiny untrained model pack exported in a temp folder."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent))

from oracle import GroundTruthSegmenter

# Training studies use seeds below 100000; evaluation and tests use 900000 and above.
TEST_SEED_BASE = 900_000
# Small matrices keep a study at ~4 s to write; DSCA tolerances below allow for the coarse pixels.
TEST_MAX_MATRIX = 128


@pytest.fixture(scope="session")
def synthetic_study(tmp_path_factory):
    """Factory (seed offset, axial style) -> (study folder OUT, GroundTruth), written once per session."""
    from engine.synthetic_study import write_study

    cache: dict[tuple[int, str], tuple[Path, object]] = {}

    def make(offset: int, style: str):
        key = (offset, style)
        if key not in cache:
            out = tmp_path_factory.mktemp(f"study-{offset}-{style}")
            truth = write_study(out, TEST_SEED_BASE + offset, axial_style=style, max_matrix=TEST_MAX_MATRIX)
            cache[key] = (out, truth)
        return cache[key]

    return make


@pytest.fixture(scope="session")
def continuous_study(synthetic_study):
    return synthetic_study(1, "continuous")


@pytest.fixture(scope="session")
def angled_study(synthetic_study):
    return synthetic_study(2, "angled")


@pytest.fixture(scope="session")
def loaded_continuous(continuous_study):
    from engine.study import load_study

    out, truth = continuous_study
    return load_study(out / "study"), truth


@pytest.fixture(scope="session")
def loaded_angled(angled_study):
    from engine.study import load_study

    out, truth = angled_study
    return load_study(out / "study"), truth


@pytest.fixture
def oracle():
    return GroundTruthSegmenter


@pytest.fixture(scope="session")
def tiny_pack(tmp_path_factory) -> Path:
    """An untrained lss-vit-tiny model exported as a model pack (the export checks ONNX vs torch)."""
    import torch

    from training.export import export_model_pack
    from training.models import create_model
    from training.text.tokenizer_training import train_prompt_tokenizer
    from training.trainer.checkpoints import save_model_folder

    root = tmp_path_factory.mktemp("pack")
    tokenizer = train_prompt_tokenizer(root / "tokenizer.json", vocab_size=512)
    torch.manual_seed(0)
    model, _ = create_model("lss-vit-tiny")
    metadata = {
        "model_config": model.config.to_dict(),
        "tokenizer_file": "tokenizer.json",
        "validation": {},
        "train_config": {"data": {"spider_root": "x"}, "loss": "pid_tversky", "seed": 0},
    }
    save_model_folder(root / "best", model.state_dict(), metadata, {"tokenizer.json": tokenizer})
    return export_model_pack(root / "best", root / "lss-tiny", "lss-tiny", "0.0.1")
