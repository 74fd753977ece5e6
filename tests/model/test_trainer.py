"""Trainer: determinism, resume after a kill, cancel, early stopping, the CLI, DDP on two CPU processes."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
import torch
from safetensors.torch import load_file

from engine.cli import train as train_cli
from training.trainer import TrainConfig, train

REPO = Path(__file__).resolve().parents[2]


@pytest.fixture(autouse=True)
def _shared_tokenizer(prompt_tokenizer_file, monkeypatch):
    monkeypatch.setenv("LSS_TEST_TOKENIZER", str(prompt_tokenizer_file))


def _config(root: Path, out: str, **extra) -> dict:
    data = {
        "synthetic_roots": [str(root)],
        "held_out_fraction": 0.34,
        "augmentation": {"elastic_probability": 0.5},
        "samples_per_epoch": 16,
    }
    data.update(extra.pop("data", {}))
    # One tokenizer file for all runs: BPE training is not bit-reproducible, its output is the artefact.
    return {
        "output_dir": out,
        "model": "lss-vit-tiny",
        "tokenizer_file": os.environ["LSS_TEST_TOKENIZER"],
        "epochs": 2,
        "batch_size": 4,
        "warmup_steps": 2,
        "log_every_steps": 1,
        "data": data,
        **extra,
    }


def _weights(folder: Path) -> dict[str, torch.Tensor]:
    latest = json.loads((folder / "checkpoints" / "LATEST").read_text())["checkpoint"]
    return load_file(str(folder / "checkpoints" / latest / "model.safetensors"))


def test_resume_after_an_interruption_gives_the_same_model(fake_synthetic_root, tmp_path):
    events = []
    whole = train(
        TrainConfig.from_dict(_config(fake_synthetic_root, str(tmp_path / "a"))), progress=events.append
    )
    assert whole.stopped_reason == "completed" and whole.global_step == 8
    kinds = [e["event"] for e in events]
    assert kinds[0] == "started" and kinds[-1] == "finished" and kinds.count("epoch") == 2
    epoch = next(e for e in events if e["event"] == "epoch")
    assert set(epoch["controller"]["beta"]) >= {"dural sac", "vertebra"}
    assert "dice" in epoch["validation"] and epoch["eta_s"] is not None
    step = next(e for e in events if e["event"] == "step")
    assert {"epoch", "step", "loss", "segmentation_loss", "grade_loss", "explanation_loss", "eta_s"} <= set(
        step
    )
    # Stopped in the middle of the first epoch (as a kill after a checkpoint would), then resumed.
    first = train(TrainConfig.from_dict(_config(fake_synthetic_root, str(tmp_path / "b"), max_steps=3)))
    assert first.stopped_reason == "max_steps"
    resumed_events = []
    second = train(
        TrainConfig.from_dict(_config(fake_synthetic_root, str(tmp_path / "b"))),
        progress=resumed_events.append,
    )
    assert resumed_events[0]["event"] == "resumed" and resumed_events[0]["global_step"] == 3
    assert second.global_step == 8
    a, b = _weights(tmp_path / "a"), _weights(tmp_path / "b")
    assert a.keys() == b.keys()
    assert max(float((a[k] - b[k]).abs().max()) for k in a) < 1e-5
    state = json.loads((second.last_checkpoint / "state.json").read_text())
    assert state["loss_controller"]["epochs_completed"] == 2
    assert (tmp_path / "b" / "best" / "model.safetensors").is_file()
    assert json.loads((tmp_path / "b" / "split.json").read_text())["held_out_groups"]


def test_cancel_saves_a_checkpoint_and_early_stopping_stops(fake_synthetic_root, tmp_path):
    cancel = threading.Event()

    def on_event(event):
        if event["event"] == "step" and event["global_step"] == 2:
            cancel.set()

    result = train(TrainConfig.from_dict(_config(fake_synthetic_root, str(tmp_path / "c"))), on_event, cancel)
    assert result.stopped_reason == "cancelled" and result.global_step == 2
    assert result.last_checkpoint is not None and (result.last_checkpoint / "model.safetensors").is_file()
    # A learning rate too small to change anything: no better metric after the first epoch.
    frozen = _config(
        fake_synthetic_root,
        str(tmp_path / "d"),
        epochs=5,
        learning_rate=1e-12,
        min_learning_rate=1e-12,
        early_stopping_patience=1,
        data={"augmentation": None},
    )
    result = train(TrainConfig.from_dict(frozen))
    assert result.stopped_reason == "early_stopping" and result.epochs_completed == 2


def test_the_shipped_recipes_are_valid_configs():
    for name in ("lss-default", "spider-smoke"):
        config = TrainConfig.from_file(REPO / "training" / "recipes" / f"{name}.json")
        assert config.data.spider_root is not None and config.data.spider_root.endswith("spider-sagittal")
        assert config.loss == "pid_tversky" and config.loss_options["count_mode"] == "hard"
    assert (
        TrainConfig.from_file(REPO / "training" / "recipes" / "lss-default.json").export.pack_name
        == "lss-default"
    )


def test_config_errors_name_the_field(tmp_path):
    with pytest.raises(ValueError, match="loss must be one of"):
        TrainConfig.from_dict({"output_dir": "x", "loss": "l1", "data": {"spider_root": "s"}})
    with pytest.raises(ValueError, match=r"data: unknown field\(s\) spider"):
        TrainConfig.from_dict({"output_dir": "x", "data": {"spider": "s"}})
    with pytest.raises(ValueError, match="spider_root and/or synthetic_roots"):
        TrainConfig.from_dict({"output_dir": "x", "data": {}})


def test_cli_prints_json_lines_and_explains_missing_torch(fake_synthetic_root, tmp_path, capsys, monkeypatch):
    config = tmp_path / "train.json"
    config.write_text(json.dumps(_config(fake_synthetic_root, "out", epochs=1)))
    assert train_cli.main(["--config", str(config)]) == 0
    lines = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert lines[0]["event"] == "started" and lines[-1]["event"] == "finished"
    assert (tmp_path / "out" / "best" / "model.json").is_file()  # output_dir is relative to the config file
    from training.trainer.evaluation import main as evaluation_main

    args = ["--model-dir", str(tmp_path / "out" / "best"), "--synthetic-root", str(fake_synthetic_root)]
    assert evaluation_main([*args, "--held-out-of", str(tmp_path / "out")]) == 0
    held_out = json.loads(capsys.readouterr().out)
    assert evaluation_main(args) == 0
    everything = json.loads(capsys.readouterr().out)
    assert 0 < held_out["samples"] < everything["samples"] and "grade_accuracy" in everything
    assert train_cli.main(["--config", str(tmp_path / "missing.json")]) == 7
    assert "training config not found" in capsys.readouterr().err
    import engine.cli.plugins

    monkeypatch.setattr(engine.cli.plugins, "entry_points", lambda **_: ())
    assert train_cli.main(["--config", str(config)]) == 1
    assert "install the training extra" in capsys.readouterr().err


def _environment() -> dict[str, str]:
    env = dict(os.environ, PYTHONPATH=str(REPO), OMP_NUM_THREADS="1")
    env.pop("WORLD_SIZE", None)
    return env


def _run_in_own_group(command: list[str], timeout: float) -> subprocess.CompletedProcess[str]:
    """Run a command; on timeout kill its whole process group (torchrun workers included)."""
    process = subprocess.Popen(
        command,
        cwd=REPO,
        env=_environment(),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,
    )
    try:
        stdout, stderr = process.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        stdout, stderr = process.communicate()
        pytest.fail(f"{command} timed out after {timeout} s: {stderr[-2000:]}")
    return subprocess.CompletedProcess(command, process.returncode, stdout, stderr)


def test_a_killed_cli_run_resumes_from_its_last_checkpoint(fake_synthetic_root, tmp_path):
    config = tmp_path / "train.json"
    config.write_text(json.dumps(_config(fake_synthetic_root, "out", epochs=3, checkpoint_every_steps=1)))
    command = [sys.executable, "-m", "engine.cli.train", "--config", str(config)]
    process = subprocess.Popen(
        command, cwd=REPO, env=_environment(), stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True
    )
    latest = tmp_path / "out" / "checkpoints" / "LATEST"
    deadline = time.monotonic() + 120
    while not latest.exists() and process.poll() is None and time.monotonic() < deadline:
        time.sleep(0.05)
    process.send_signal(signal.SIGKILL)
    process.wait(timeout=30)
    assert latest.exists(), "no checkpoint was written before the kill"
    done = _run_in_own_group(command, timeout=300)
    assert done.returncode == 0, done.stderr[-2000:]
    events = [json.loads(line) for line in done.stdout.splitlines()]
    assert events[0]["event"] == "resumed"
    assert events[-1]["event"] == "finished" and events[-1]["epochs_completed"] == 3


def test_ddp_on_two_cpu_processes_with_gloo(fake_synthetic_root, tmp_path):
    config = tmp_path / "train.json"
    config.write_text(json.dumps(_config(fake_synthetic_root, "out", epochs=2, device="cpu")))
    command = [
        sys.executable,
        "-m",
        "torch.distributed.run",
        "--standalone",
        "--nproc_per_node=2",
        "-m",
        "engine.cli.train",
        "--config",
        str(config),
    ]
    done = _run_in_own_group(command, timeout=300)
    assert done.returncode == 0, done.stderr[-3000:]
    events = [json.loads(line) for line in done.stdout.splitlines() if line.startswith("{")]
    started = next(e for e in events if e["event"] == "started")
    assert started["world_size"] == 2
    # Each rank draws half of the 16 samples per epoch: 2 steps of 4 per epoch per rank.
    assert started["steps_per_epoch"] == 2
    finished = [e for e in events if e["event"] == "finished"]
    assert len(finished) == 1 and finished[0]["epochs_completed"] == 2  # only rank 0 reports
    assert (tmp_path / "out" / "best" / "model.safetensors").is_file()


def test_the_grade_head_learns_at_its_own_rate(tmp_path):
    from training.models import create_model, load_model_config
    from training.trainer.loop import _optimizer

    model, _ = create_model(load_model_config("lss-vit-tiny"))
    config = TrainConfig.from_dict(
        {"output_dir": str(tmp_path), "data": {"synthetic_roots": ["x"]}, "grade_head_lr_scale": 10.0}
    )
    optimizer = _optimizer(model, config)
    head = {id(p) for p in model.grade_head.parameters()}
    for group in optimizer.param_groups:
        in_head = {id(p) in head for p in group["params"]}
        assert len(in_head) == 1  # a group is all grade head or none of it
        assert group["lr_scale"] == (10.0 if in_head == {True} else 1.0)
    assert sum(len(g["params"]) for g in optimizer.param_groups) == len(list(model.parameters()))


def test_the_grade_head_refit_changes_only_the_grade_head(fake_synthetic_root, tmp_path):
    from training.trainer.grade_head_fit import GRADE_HEAD_FIT_FILE, fit_grade_head
    from training.trainer.loop import load_training_samples

    config = TrainConfig.from_dict(_config(fake_synthetic_root, str(tmp_path / "run"), epochs=1))
    result = train(config)
    best = result.best_model_dir
    assert best is not None
    before = load_file(str(best / "model.safetensors"))
    train_samples, held_out = load_training_samples(config)
    summary = fit_grade_head(best, train_samples, held_out, steps=40)
    after = load_file(str(best / "model.safetensors"))
    assert before.keys() == after.keys()
    changed = {k for k in before if not torch.equal(before[k], after[k])}
    assert all(k.startswith("grade_head.") for k in changed)
    assert bool(changed) == (summary["best_step"] > 0)  # the held-out best is kept, the start included
    assert summary["held_out_grade_accuracy_after"] >= summary["held_out_grade_accuracy_before"]
    metadata = json.loads((best / "model.json").read_text())
    assert metadata["grade_head_fit"] == summary
    assert metadata["validation"]["grade_accuracy"] == pytest.approx(summary["held_out_grade_accuracy_after"])
    assert (best / GRADE_HEAD_FIT_FILE).is_file()
