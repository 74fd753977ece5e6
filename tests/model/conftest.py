"""Fixtures of the model tests: a trained prompt tokenizer and tiny fake studies."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent))

from fake_studies import write_fake_spider, write_fake_synthetic_study

REPO = Path(__file__).resolve().parents[2]


def shared_data_dir() -> Path | None:
    """The project's shared real data: $LSS_SHARED_DATA, ../shared/data beside the checkout (main),
    beside the worktree folder (helpers), or the workplace's /work/shared/data (CI clones elsewhere)."""
    candidates = [
        REPO.parent / "shared" / "data",
        REPO.parent.parent / "shared" / "data",
        Path("/work/shared/data"),
    ]
    if os.environ.get("LSS_SHARED_DATA"):
        candidates.insert(0, Path(os.environ["LSS_SHARED_DATA"]))
    for candidate in candidates:
        if candidate.is_dir():
            return candidate
    return None


@pytest.fixture(scope="session")
def prompt_tokenizer_file(tmp_path_factory) -> Path:
    from training.text.tokenizer_training import train_prompt_tokenizer

    return train_prompt_tokenizer(tmp_path_factory.mktemp("tokenizer") / "tokenizer.json", vocab_size=512)


@pytest.fixture(scope="session")
def fake_synthetic_root(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("synthetic")
    write_fake_synthetic_study(root / "study-a", seed=1, grades={"L3-L4": "A", "L4-L5": "C"})
    write_fake_synthetic_study(root / "study-b", seed=2, grades={"L3-L4": "B", "L4-L5": "D"})
    write_fake_synthetic_study(root / "study-c", seed=3, grades={"L3-L4": "A", "L4-L5": "A"})
    return root


@pytest.fixture(scope="session")
def fake_spider_root(tmp_path_factory) -> Path:
    return write_fake_spider(tmp_path_factory.mktemp("spider"))
