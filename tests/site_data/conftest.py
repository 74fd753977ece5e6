"""Fixtures of the site-data tests: one small synthetic study and a site folder made from it."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
GRADES = "A,B,C,D,A"


def shared_data_dir() -> Path | None:
    """../shared/data beside the checkout (main) or beside the worktree folder (helpers)."""
    for candidate in (REPO.parent / "shared" / "data", REPO.parent.parent / "shared" / "data"):
        if candidate.is_dir():
            return candidate
    return None


@pytest.fixture(scope="session")
def synthetic_study(tmp_path_factory) -> Path:
    from engine.synthetic_study import write_study

    root = tmp_path_factory.mktemp("synthetic") / "study-7"
    write_study(root, 7, grades=GRADES, max_matrix=160)
    return root


@pytest.fixture(scope="session")
def site_template(tmp_path_factory, synthetic_study) -> Path:
    from engine.site_data.synthetic_site import write_synthetic_site

    return write_synthetic_site(tmp_path_factory.mktemp("site") / "site", [synthetic_study])


@pytest.fixture
def site(tmp_path, site_template) -> Path:
    """A fresh copy of the clean site folder, to break in one test."""
    return Path(shutil.copytree(site_template, tmp_path / "site"))


@pytest.fixture(scope="session")
def tiny_model_folder(tmp_path_factory) -> Path:
    """A trained-model folder (best/ layout) of the tiny architecture with random weights."""
    import torch

    from training.models import create_model
    from training.text.tokenizer_training import train_prompt_tokenizer
    from training.trainer.checkpoints import save_model_folder

    base = tmp_path_factory.mktemp("tiny")
    tokenizer = train_prompt_tokenizer(base / "tokenizer.json", vocab_size=512)
    torch.manual_seed(0)
    model, _ = create_model("lss-vit-tiny")
    folder = base / "best"
    save_model_folder(
        folder,
        model.state_dict(),
        {"model_config": model.config.to_dict(), "tokenizer_file": "tokenizer.json", "validation": {}},
        {"tokenizer.json": tokenizer},
    )
    return folder
