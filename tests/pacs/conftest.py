"""A real Orthanc (Debian package) on loopback for the PACS integration tests, plus the test study.

The `orthanc` fixture writes a config.json (storage in tmp_path, free DICOM and HTTP ports,
HTTP for localhost only, no plugins, store/find/get allowed for any AE), starts
`Orthanc config.json`, waits until its REST API answers, and always stops it at teardown
(terminate, then kill). The child also gets SIGTERM if the test process dies (PR_SET_PDEATHSIG).
"""

from __future__ import annotations

import ctypes
import importlib.util
import json
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType

import pytest

from engine.pacs.node import PacsNode

ORTHANC = shutil.which("Orthanc") or "/usr/sbin/Orthanc"
ORTHANC_AET = "ORTHANC_TEST"
STARTUP_TIMEOUT_S = 10.0


def _load_synthetic_study_module() -> ModuleType:
    path = Path(__file__).parents[1] / "dicom_export" / "synthetic_study.py"
    spec = importlib.util.spec_from_file_location("lss_test_synthetic_study_pacs", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


synthetic = _load_synthetic_study_module()


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _die_with_parent() -> None:
    """Runs in the child before exec: ask Linux to send SIGTERM when the test process dies."""
    pr_set_pdeathsig = 1
    ctypes.CDLL("libc.so.6", use_errno=True).prctl(pr_set_pdeathsig, signal.SIGTERM)


@dataclass(frozen=True)
class OrthancServer:
    node: PacsNode
    http_url: str
    storage: Path
    process: subprocess.Popen[bytes]

    def rest(self, path: str) -> object:
        with urllib.request.urlopen(self.http_url + path, timeout=5) as response:
            return json.loads(response.read())


def _wait_until_ready(process: subprocess.Popen[bytes], url: str, log: Path) -> None:
    deadline = time.monotonic() + STARTUP_TIMEOUT_S
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(
                f"Orthanc exited with {process.returncode}:\n{log.read_text(errors='replace')}"
            )
        try:
            with urllib.request.urlopen(url + "/system", timeout=1) as response:
                if response.status == 200:
                    return
        except (urllib.error.URLError, ConnectionError, TimeoutError):
            time.sleep(0.1)
    raise RuntimeError(
        f"Orthanc did not answer within {STARTUP_TIMEOUT_S:g} s:\n{log.read_text(errors='replace')}"
    )


def _stop(process: subprocess.Popen[bytes]) -> None:
    if process.poll() is None:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=10)


@pytest.fixture(scope="module")
def orthanc(tmp_path_factory):
    assert Path(ORTHANC).exists(), "Orthanc (Debian package orthanc) is required"
    root = tmp_path_factory.mktemp("orthanc")
    dicom_port, http_port = free_port(), free_port()
    config = {
        "Name": "LSS Desktop test PACS",
        "StorageDirectory": str(root / "storage"),
        "IndexDirectory": str(root / "storage"),
        "Plugins": [],
        "HttpServerEnabled": True,
        "HttpPort": http_port,
        "RemoteAccessAllowed": False,
        "AuthenticationEnabled": False,
        "DicomServerEnabled": True,
        "DicomAet": ORTHANC_AET,
        "DicomPort": dicom_port,
        "DicomCheckCalledAet": True,
        "DicomAlwaysAllowEcho": True,
        "DicomAlwaysAllowStore": True,
        "DicomAlwaysAllowFind": True,
        "DicomAlwaysAllowGet": True,
        "DicomAlwaysAllowMove": False,
        "DicomModalities": {},
        "DicomScpTimeout": 10,
        "StorageCompression": False,
        "SaveJobs": False,
        "ConcurrentJobs": 1,
        "HttpThreadsCount": 4,
    }
    config_path = root / "config.json"
    config_path.write_text(json.dumps(config, indent=2))
    log = root / "orthanc.log"
    with log.open("wb") as log_file:
        process = subprocess.Popen(
            [ORTHANC, str(config_path)],
            stdout=log_file,
            stderr=subprocess.STDOUT,
            cwd=root,
            preexec_fn=_die_with_parent,
        )
    try:
        url = f"http://127.0.0.1:{http_port}"
        _wait_until_ready(process, url, log)
        node = PacsNode(ae_title=ORTHANC_AET, host="127.0.0.1", port=dicom_port, timeout_s=10)
        yield OrthancServer(node=node, http_url=url, storage=root / "storage", process=process)
    finally:
        _stop(process)
    assert process.poll() is not None, "Orthanc is still running"


@pytest.fixture
def unused_port():
    """A loopback TCP port nothing listens on (free when picked)."""
    return free_port()


@pytest.fixture(scope="module")
def study(tmp_path_factory):
    return synthetic.write_study(tmp_path_factory.mktemp("study") / "study")


@pytest.fixture(scope="module")
def findings(study):
    return synthetic.make_findings(study)
