"""Atomic training checkpoints without pickle: weights and optimiser tensors in safetensors, the rest
(epoch, step, optimiser hyper-parameters, loss controller, early-stopping state) in JSON.

Layout: OUTPUT/checkpoints/step-00000123/{model.safetensors, optimizer.safetensors, state.json} and
OUTPUT/checkpoints/LATEST naming the newest complete one. A checkpoint is written into a temporary
folder and renamed into place, then LATEST is replaced: a kill at any moment leaves the previous
checkpoint intact.
"""

from __future__ import annotations

import json
import os
import shutil
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch
from safetensors.torch import load_file, save_file

LATEST = "LATEST"


@dataclass(frozen=True)
class LoadedCheckpoint:
    path: Path
    model_state: dict[str, torch.Tensor]
    optimizer_state: dict[str, Any]
    state: dict[str, Any]


def write_json_atomic(path: Path, data: Any) -> None:
    tmp = path.with_name(f".{path.name}.tmp")
    tmp.write_text(json.dumps(data, indent=2), encoding="utf-8")
    with tmp.open("rb") as handle:
        os.fsync(handle.fileno())
    os.replace(tmp, path)


def _contiguous(state: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    return {k: v.detach().cpu().contiguous() for k, v in state.items()}


def split_optimizer_state(state: dict[str, Any]) -> tuple[dict[str, torch.Tensor], dict[str, Any]]:
    """torch optimiser state_dict -> (tensors by 'param.field' name, JSON-able remainder)."""
    tensors: dict[str, torch.Tensor] = {}
    scalars: dict[str, dict[str, Any]] = {}
    for param_id, fields in state["state"].items():
        for name, value in fields.items():
            if isinstance(value, torch.Tensor):
                tensors[f"{param_id}.{name}"] = value
            else:
                scalars.setdefault(str(param_id), {})[name] = value
    return tensors, {"param_groups": state["param_groups"], "scalars": scalars}


def join_optimizer_state(tensors: dict[str, torch.Tensor], rest: dict[str, Any]) -> dict[str, Any]:
    state: dict[int, dict[str, Any]] = {}
    for key, value in tensors.items():
        param_id, name = key.split(".", 1)
        state.setdefault(int(param_id), {})[name] = value
    for param_id, fields in rest.get("scalars", {}).items():
        state.setdefault(int(param_id), {}).update(fields)
    return {"state": state, "param_groups": rest["param_groups"]}


def save_checkpoint(
    checkpoints_dir: Path,
    global_step: int,
    model_state: dict[str, torch.Tensor],
    optimizer_state: dict[str, Any],
    state: dict[str, Any],
    keep: int = 2,
) -> Path:
    """Write a checkpoint atomically, point LATEST at it, and keep only the newest `keep`."""
    checkpoints_dir.mkdir(parents=True, exist_ok=True)
    final = checkpoints_dir / f"step-{global_step:08d}"
    tmp = checkpoints_dir / f".{final.name}.tmp"
    shutil.rmtree(tmp, ignore_errors=True)
    tmp.mkdir()
    save_file(_contiguous(model_state), str(tmp / "model.safetensors"))
    tensors, rest = split_optimizer_state(optimizer_state)
    save_file(_contiguous(tensors), str(tmp / "optimizer.safetensors"))
    (tmp / "state.json").write_text(json.dumps({**state, "optimizer": rest}, indent=2), encoding="utf-8")
    if final.exists():
        shutil.rmtree(final)
    os.replace(tmp, final)
    write_json_atomic(checkpoints_dir / LATEST, {"checkpoint": final.name})
    older = sorted(p for p in checkpoints_dir.glob("step-*") if p.is_dir() and p != final)
    for stale in older[: max(len(older) - (keep - 1), 0)]:
        shutil.rmtree(stale, ignore_errors=True)
    return final


def load_latest_checkpoint(checkpoints_dir: Path) -> LoadedCheckpoint | None:
    """The checkpoint LATEST names (None when there is none); half-written folders are ignored."""
    pointer = checkpoints_dir / LATEST
    if not pointer.is_file():
        return None
    name = json.loads(pointer.read_text(encoding="utf-8"))["checkpoint"]
    path = checkpoints_dir / name
    if not (path / "state.json").is_file():
        raise FileNotFoundError(f"{pointer} names {name}, which is incomplete or missing")
    state = json.loads((path / "state.json").read_text(encoding="utf-8"))
    optimizer_rest = state.pop("optimizer")
    return LoadedCheckpoint(
        path=path,
        model_state=load_file(str(path / "model.safetensors")),
        optimizer_state=join_optimizer_state(load_file(str(path / "optimizer.safetensors")), optimizer_rest),
        state=state,
    )


def save_model_folder(
    folder: Path, model_state: dict[str, torch.Tensor], metadata: dict[str, Any], extra_files: dict[str, Path]
) -> None:
    """Write model.safetensors + model.json (architecture, metrics) + extra files (the tokenizer) into
    `folder`, replacing an older one only once the new one is complete."""
    tmp = folder.with_name(f".{folder.name}.tmp")
    shutil.rmtree(tmp, ignore_errors=True)
    tmp.mkdir(parents=True)
    save_file(_contiguous(model_state), str(tmp / "model.safetensors"))
    (tmp / "model.json").write_text(json.dumps(metadata, indent=2), encoding="utf-8")
    for name, source in extra_files.items():
        shutil.copy2(source, tmp / name)
    old = folder.with_name(f".{folder.name}.old")
    shutil.rmtree(old, ignore_errors=True)
    if folder.exists():
        os.replace(folder, old)
    os.replace(tmp, folder)
    shutil.rmtree(old, ignore_errors=True)
