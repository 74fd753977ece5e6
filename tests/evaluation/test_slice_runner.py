"""Slice-level evaluation of model packs on a site folder (ONNX Runtime), through `lss evaluate slices`."""

from __future__ import annotations

import json

import pytest

from engine.cli.main import main as lss


@pytest.fixture(scope="module")
def tiny_pack(tmp_path_factory):
    """An exported tiny model pack with random weights (what it predicts does not matter here)."""
    import torch

    from training.export import export_model_pack
    from training.models import create_model
    from training.text.tokenizer_training import train_prompt_tokenizer
    from training.trainer.checkpoints import save_model_folder

    base = tmp_path_factory.mktemp("pack")
    tokenizer = train_prompt_tokenizer(base / "tokenizer.json", vocab_size=512)
    torch.manual_seed(0)
    model, _ = create_model("lss-vit-tiny")
    save_model_folder(
        base / "best",
        model.state_dict(),
        {"model_config": model.config.to_dict(), "tokenizer_file": "tokenizer.json"},
        {"tokenizer.json": tokenizer},
    )
    return export_model_pack(base / "best", base / "tiny", "tiny-eval", "0.0.1")


@pytest.fixture(scope="module")
def site(synthetic_root, tmp_path_factory):
    from engine.site_data.synthetic_site import write_synthetic_site

    return write_synthetic_site(tmp_path_factory.mktemp("site") / "site", [synthetic_root / "study-7"])


def test_two_packs_on_a_site_give_metrics_plots_and_mcnemar(tiny_pack, site, tmp_path, capsys):
    out = tmp_path / "eval"
    assert (
        lss(
            [
                "evaluate",
                "slices",
                "--pack",
                str(tiny_pack),
                "--pack",
                str(tiny_pack),
                "--site",
                str(site),
                "--out",
                str(out),
            ]
        )
        == 0
    )
    metrics = json.loads((out / "metrics.json").read_text())
    first, second = "tiny-eval 0.0.1", "tiny-eval 0.0.1 (2)"
    model = metrics["models"][first]
    assert model["graded_levels"] == 5 and model["classification"]["cases"] == 5
    assert sum(map(sum, model["classification"]["confusion_matrix"])) == 5
    structures = model["segmentation"]["structures"]
    assert set(structures) == {"dural sac", "posterior epidural fat"}
    assert structures["dural sac"]["all"]["cases"] == 5 and set(structures["dural sac"]["grades"]) == set(
        "ABCD"
    )
    assert model["dural_sac_area_error"]["all"]["cases"] == 5
    assert metrics["models"][second]["classification"] == model["classification"]  # same pack, same answers
    test = metrics["mcnemar"][f"{first} vs {second}"]
    assert (test["b"], test["c"], test["p_value"]) == (0, 0, 1.0)
    assert metrics["site_summary"]["labels"] == 5 and metrics["intended_use"]
    assert all((out / name).is_file() for name in metrics["plots"])
    assert "accuracy" in capsys.readouterr().out


def test_bad_pack_and_site_exit_codes(tiny_pack, site, tmp_path):
    assert (
        lss(
            ["evaluate", "slices", "--pack", str(tmp_path), "--site", str(site), "--out", str(tmp_path / "o")]
        )
        == 6
    )
    assert (
        lss(
            [
                "evaluate",
                "slices",
                "--pack",
                str(tiny_pack),
                "--site",
                str(tmp_path / "no"),
                "--out",
                str(tmp_path / "o"),
            ]
        )
        == 7
    )
