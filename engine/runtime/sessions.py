"""ONNX Runtime sessions: created once per (graph file, provider, threads) and reused.

provider 'auto' uses CUDA only when a session really runs on it (`session.get_providers()`, not
the list of providers the build knows), 'cpu' forces the CPU, 'cuda' fails when CUDA is not used.
"""

from __future__ import annotations

import logging
import os
import threading
from pathlib import Path
from typing import Any

logger = logging.getLogger(__name__)

PROVIDERS: tuple[str, ...] = ("auto", "cpu", "cuda")
CUDA = "CUDAExecutionProvider"
CPU = "CPUExecutionProvider"


class ProviderUnavailableError(RuntimeError):
    """provider='cuda' was asked for but ONNX Runtime cannot run the graph on CUDA here."""


def default_intra_op_threads() -> int:
    """All cores this process may use, at most 8 (more rarely helps these small graphs)."""
    try:
        cores = len(os.sched_getaffinity(0))
    except AttributeError:
        cores = os.cpu_count() or 1
    return max(1, min(cores, 8))


def create_session(path: Path, provider: str = "auto", intra_op_threads: int | None = None) -> Any:
    """An onnxruntime.InferenceSession for the graph at `path` on the requested provider."""
    import onnxruntime as ort

    if provider not in PROVIDERS:
        raise ValueError(f"provider must be one of {', '.join(PROVIDERS)}, got {provider!r}")
    options = ort.SessionOptions()
    options.intra_op_num_threads = intra_op_threads or default_intra_op_threads()
    options.inter_op_num_threads = 1
    options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    options.log_severity_level = 3
    if provider != "cpu" and CUDA in ort.get_available_providers():
        session = ort.InferenceSession(str(path), options, providers=[CUDA, CPU])
        if session.get_providers()[0] == CUDA:
            return session
        logger.info("CUDA provider listed but not usable for %s; running on the CPU", path.name)
    if provider == "cuda":
        raise ProviderUnavailableError(
            f"CUDA was requested for {path.name}, but ONNX Runtime cannot use it on this machine"
        )
    return ort.InferenceSession(str(path), options, providers=[CPU])


class SessionCache:
    """Sessions by (file, provider, threads); thread-safe, each graph loaded once."""

    def __init__(self) -> None:
        self._sessions: dict[tuple[str, str, int | None], Any] = {}
        self._lock = threading.Lock()

    def get(self, path: Path, provider: str = "auto", intra_op_threads: int | None = None) -> Any:
        key = (str(Path(path).resolve()), provider, intra_op_threads)
        with self._lock:
            if key not in self._sessions:
                self._sessions[key] = create_session(Path(path), provider, intra_op_threads)
            return self._sessions[key]

    def __len__(self) -> int:
        return len(self._sessions)
