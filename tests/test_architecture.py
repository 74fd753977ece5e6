"""The dependency rules of the house: lss_desktop -> engine <- training, and a Qt/VTK/torch-free engine."""

from __future__ import annotations

import ast
import json
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
HEAVY = ("torch", "torchvision", "open_clip", "transformers", "PySide6", "vtk", "vtkmodules", "timm")


def _python_files(package: str) -> list[Path]:
    return sorted((ROOT / package).rglob("*.py"))


def _imports(path: Path, module_level_only: bool) -> list[tuple[int, str]]:
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    nodes = tree.body if module_level_only else list(ast.walk(tree))
    found: list[tuple[int, str]] = []
    for node in nodes:
        # `if TYPE_CHECKING:` blocks and try/except at module level still run at import time.
        inner = list(ast.walk(node)) if module_level_only and isinstance(node, (ast.If, ast.Try)) else [node]
        for n in inner:
            if isinstance(n, ast.Import):
                found += [(n.lineno, a.name) for a in n.names]
            elif isinstance(n, ast.ImportFrom) and n.module and n.level == 0:
                found.append((n.lineno, n.module))
    return found


def _violations(package: str, forbidden: tuple[str, ...], module_level_only: bool) -> list[str]:
    bad = []
    for path in _python_files(package):
        for lineno, name in _imports(path, module_level_only):
            if name.split(".")[0] in forbidden:
                bad.append(f"{path.relative_to(ROOT)}:{lineno} imports {name}")
    return bad


def test_engine_never_imports_the_app_or_training():
    assert _violations("engine", ("lss_desktop", "training"), module_level_only=False) == []


def test_training_never_imports_the_app():
    assert _violations("training", ("lss_desktop",), module_level_only=False) == []


def test_engine_has_no_module_level_qt_vtk_or_torch_import():
    assert _violations("engine", HEAVY, module_level_only=True) == []


def test_importing_every_engine_module_loads_no_qt_vtk_or_torch():
    modules = [
        ".".join(p.relative_to(ROOT).with_suffix("").parts).removesuffix(".__init__")
        for p in _python_files("engine")
    ]
    code = (
        "import importlib, json, sys\n"
        f"for m in {modules!r}: importlib.import_module(m)\n"
        f"print(json.dumps(sorted(k for k in sys.modules if k.split('.')[0] in {HEAVY!r})))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=False)
    assert out.returncode == 0, out.stderr
    assert json.loads(out.stdout.strip().splitlines()[-1]) == []


@pytest.mark.parametrize("package", ["engine", "lss_desktop"])
def test_packages_have_no_reference_to_shared_data_at_run_time(package):
    """The product never reads ../shared at run time (training scripts and tests may)."""
    offenders = [
        str(p.relative_to(ROOT))
        for p in _python_files(package)
        if "../shared" in p.read_text(encoding="utf-8") or "/work/shared" in p.read_text(encoding="utf-8")
    ]
    assert offenders == []


def test_engine_names_no_training_module_even_for_a_dynamic_import():
    """Optional training capabilities are found as `lss.plugins` entry points, not by module path."""
    offenders = []
    for path in _python_files("engine"):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            is_text = isinstance(node, ast.Constant) and isinstance(node.value, str)
            if is_text and node.value.startswith(("training.", "lss_desktop.")):
                offenders.append(f"{path.relative_to(ROOT)}:{node.lineno} names {node.value}")
    assert offenders == []
