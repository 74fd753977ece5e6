"""Training on a site folder: samples from masks, refusal of a folder with blocking problems (exit
code 7, each problem named), and fine-tuning that starts from a model folder's weights."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch
from safetensors.torch import load_file

from engine.cli.main import main as lss
from training.site_data import SiteDataError, site_samples
from training.trainer import TrainConfig, train


def test_site_samples_carry_level_grade_and_mask(site):
    samples, tally = site_samples(site)
    sac = [s for s in samples if s.prompt.structure.value == "dural sac"]
    assert sorted((s.prompt.level, s.grade) for s in sac) == [
        ("L1-L2", 0),
        ("L2-L3", 1),
        ("L3-L4", 2),
        ("L4-L5", 3),
        ("L5-S1", 0),
    ]
    assert tally["per_source"] == {"site mask": 5} and tally["summary"]["labels"] == 5
    reader = sac[0].source.reader
    labels = reader.labels()
    assert labels.shape == reader.pixels().shape and set(np.unique(labels)) <= {0, 1, 2}
    assert (labels == 1).any()
    assert {s.source.group for s in samples} == {"site-site-study-7"}


def test_a_folder_with_blocking_problems_is_refused(site, tmp_path, capsys):
    with (site / "labels.csv").open("a", encoding="utf-8") as handle:
        handle.write("study-7,L4-L5,E,\nghost,L1-L2,A,\n")
    with pytest.raises(SiteDataError) as refused:
        site_samples(site)
    assert [p.path for p in refused.value.problems] == ["labels.csv:7", "labels.csv:8"]
    config = tmp_path / "config.json"
    config.write_text(json.dumps({"output_dir": str(tmp_path / "out"), "model": "lss-vit-tiny", "epochs": 1}))
    assert lss(["train", "--config", str(config), "--site", str(site)]) == 7
    err = capsys.readouterr().err
    assert "2 blocking problem(s)" in err
    assert "labels.csv:7: grade 'E' is not a Schizas grade A-D (unknown-grade)" in err
    assert "labels.csv:8: study 'ghost'" in err


def _config(site, out, **extra) -> TrainConfig:
    return TrainConfig.from_dict(
        {
            "output_dir": str(out),
            "epochs": 1,
            "batch_size": 4,
            "warmup_steps": 1,
            "device": "cpu",
            "max_steps": 1,
            "data": {"site_roots": [str(site)], "held_out_fraction": 0.0, "samples_per_epoch": 4},
            **extra,
        }
    )


def test_fine_tuning_starts_from_the_model_folder(site_template, tiny_model_folder, tmp_path):
    initial = load_file(str(tiny_model_folder / "model.safetensors"))
    result = train(
        _config(site_template, tmp_path / "ft", init_from=str(tiny_model_folder), learning_rate=1e-9)
    )
    tuned = load_file(str(result.last_checkpoint / "model.safetensors"))
    assert max(float((tuned[k] - initial[k]).abs().max()) for k in initial) < 1e-6
    assert (result.output_dir / "best" / "tokenizer.json").read_bytes() == (
        tiny_model_folder / "tokenizer.json"
    ).read_bytes()
    targets = json.loads((result.output_dir / "site_targets.json").read_text())
    assert targets[str(site_template)]["per_source"] == {"site mask": 5}
    fresh = train(
        _config(
            site_template,
            tmp_path / "fresh",
            model="lss-vit-tiny",
            tokenizer_file=str(tiny_model_folder / "tokenizer.json"),
            learning_rate=1e-9,
        )
    )
    other = load_file(str(fresh.last_checkpoint / "model.safetensors"))
    assert not torch.equal(other["vision.patch_embed.weight"], initial["vision.patch_embed.weight"])
