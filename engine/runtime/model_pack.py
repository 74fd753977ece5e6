"""Model packs: folders of ONNX graphs + config.json + tokenizer.json + model_card.md + manifest.json.

Every file is checked against the sha256 and size in manifest.json before a pack is used; a
missing, truncated, tampered or unlisted file raises ModelPackError naming the file. Packs hold
no pickle: ONNX and JSON only.

Where packs are looked for: the bundled default in resources/models/<name>/, then the user folder
($LSS_MODEL_DIR, else $XDG_DATA_HOME/lss-desktop/models, else ~/.local/share/lss-desktop/models).
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from engine import __version__
from engine.findings import Provenance
from engine.preprocessing import PlanePreprocessing

logger = logging.getLogger(__name__)

SUPPORTED_FORMAT_VERSION = 1
MANIFEST = "manifest.json"
REQUIRED_GRAPHS: tuple[str, ...] = ("image_encoder", "text_encoder", "prompt_decoder")
DEFAULT_PACK_NAME = "lss-default"


class ModelPackError(Exception):
    """A model pack is missing, incomplete, tampered with or incompatible; the message names the file."""


@dataclass(frozen=True)
class PackGraph:
    file: Path
    inputs: tuple[str, ...]
    outputs: tuple[str, ...]


@dataclass(frozen=True)
class PackPrompt:
    text: str
    structure: str
    orientation: str
    level: str | None


@dataclass(frozen=True)
class ModelPackInfo:
    """A pack found on disk (manifest read, files not yet verified)."""

    name: str
    version: str
    root: Path
    bundled: bool


@dataclass(frozen=True)
class ModelPack:
    """A verified pack, ready for the runtime.

    sha256: digest of manifest.json, which pins every file: the model's identity in provenance.
    """

    root: Path
    name: str
    version: str
    sha256: str
    preprocessing: PlanePreprocessing
    tokenizer_file: Path
    max_prompt_tokens: int
    pad_token: str
    structures: tuple[str, ...]
    grades: tuple[str, ...]
    prompts: tuple[PackPrompt, ...]
    graphs: dict[str, PackGraph] = field(repr=False)
    metrics: dict[str, Any] = field(repr=False, default_factory=dict)

    def provenance(self, parameters: tuple[tuple[str, str], ...] = ()) -> Provenance:
        return Provenance(self.name, self.version, self.sha256, __version__, parameters)


def bundled_models_dir() -> Path:
    return Path(__file__).resolve().parents[2] / "resources" / "models"


def user_models_dir() -> Path:
    override = os.environ.get("LSS_MODEL_DIR")
    if override:
        return Path(override).expanduser()
    data_home = os.environ.get("XDG_DATA_HOME")
    base = Path(data_home).expanduser() if data_home else Path.home() / ".local" / "share"
    return base / "lss-desktop" / "models"


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for chunk in iter(lambda: handle.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def _read_json(path: Path, what: str) -> dict[str, Any]:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError as exc:
        raise ModelPackError(f"{path.parent.name}: {what} {path.name} is missing") from exc
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise ModelPackError(f"{path.parent.name}: {what} {path.name} is not readable JSON ({exc})") from exc
    if not isinstance(data, dict):
        raise ModelPackError(f"{path.parent.name}: {what} {path.name} is not a JSON object")
    return data


def find_model_packs(search_dirs: list[Path] | None = None) -> list[ModelPackInfo]:
    """Packs under the bundled and user folders (or the given ones), in that order; folders whose
    manifest cannot be read are skipped with a warning."""
    dirs = search_dirs if search_dirs is not None else [bundled_models_dir(), user_models_dir()]
    bundled = bundled_models_dir().resolve()
    found = []
    for base in dirs:
        if not base.is_dir():
            continue
        for root in sorted(p for p in base.iterdir() if (p / MANIFEST).is_file()):
            try:
                manifest = _read_json(root / MANIFEST, "manifest")
                found.append(
                    ModelPackInfo(
                        str(manifest["name"]), str(manifest["version"]), root, base.resolve() == bundled
                    )
                )
            except (ModelPackError, KeyError) as exc:
                logger.warning("skipping model pack folder %s: %s", root, exc)
    return found


def verify_model_pack(root: Path) -> dict[str, Any]:
    """Check every file listed in manifest.json (size, sha256) and that no other file is present;
    returns the manifest."""
    if not root.is_dir():
        raise ModelPackError(f"model pack folder not found: {root}")
    manifest = _read_json(root / MANIFEST, "manifest")
    files = manifest.get("files")
    if not isinstance(files, dict) or not files:
        raise ModelPackError(f"{root.name}: manifest.json lists no files")
    for name, entry in files.items():
        if "/" in name or "\\" in name or name.startswith(".") or name == MANIFEST:
            raise ModelPackError(f"{root.name}: manifest.json lists an invalid file name {name!r}")
        path = root / name
        if not path.is_file():
            raise ModelPackError(f"{root.name}: file {name} is missing")
        size = path.stat().st_size
        if "bytes" in entry and size != int(entry["bytes"]):
            raise ModelPackError(
                f"{root.name}: file {name} has {size} bytes, the manifest says {entry['bytes']} (truncated or replaced)"
            )
        if _sha256(path) != entry.get("sha256"):
            raise ModelPackError(
                f"{root.name}: file {name} does not match its sha256 in manifest.json (modified or corrupted)"
            )
    unlisted = sorted(
        p.name for p in root.iterdir() if p.is_file() and p.name != MANIFEST and p.name not in files
    )
    if unlisted:
        raise ModelPackError(f"{root.name}: file(s) not in manifest.json: {', '.join(unlisted)}")
    return manifest


def _field(data: dict[str, Any], key: str, root: Path) -> Any:
    if key not in data:
        raise ModelPackError(f"{root.name}: config.json lacks {key!r}")
    return data[key]


def load_model_pack(root: Path) -> ModelPack:
    """Verify a pack folder and read its config.json into a ModelPack."""
    root = Path(root)
    manifest = verify_model_pack(root)
    config = _read_json(root / "config.json", "config")
    try:
        return _parse_pack(root, manifest, config)
    except (KeyError, TypeError, AttributeError) as exc:
        raise ModelPackError(f"{root.name}: config.json is malformed ({type(exc).__name__}: {exc})") from exc


def _parse_pack(root: Path, manifest: dict[str, Any], config: dict[str, Any]) -> ModelPack:
    version = _field(config, "format_version", root)
    if version != SUPPORTED_FORMAT_VERSION:
        raise ModelPackError(
            f"{root.name}: config.json format_version {version} is not supported (engine {__version__} reads {SUPPORTED_FORMAT_VERSION})"
        )
    graphs_data = _field(config, "graphs", root)
    graphs = {}
    for key in REQUIRED_GRAPHS:
        if key not in graphs_data:
            raise ModelPackError(f"{root.name}: config.json has no graph {key!r}")
        entry = graphs_data[key]
        graphs[key] = PackGraph(root / entry["file"], tuple(entry["inputs"]), tuple(entry["outputs"]))
        if entry["file"] not in manifest["files"]:
            raise ModelPackError(f"{root.name}: graph file {entry['file']} is not in manifest.json")
    text = _field(config, "text", root)
    try:
        preprocessing = PlanePreprocessing.from_dict(_field(config, "preprocessing", root))
    except (TypeError, ValueError) as exc:
        raise ModelPackError(f"{root.name}: config.json preprocessing is invalid ({exc})") from exc
    tokenizer = root / text.get("tokenizer", "tokenizer.json")
    if tokenizer.name not in manifest["files"]:
        raise ModelPackError(f"{root.name}: tokenizer {tokenizer.name} is not in manifest.json")
    return ModelPack(
        root=root,
        name=str(_field(config, "name", root)),
        version=str(_field(config, "version", root)),
        sha256=_sha256(root / MANIFEST),
        preprocessing=preprocessing,
        tokenizer_file=tokenizer,
        max_prompt_tokens=int(text.get("max_length", 32)),
        pad_token=str(text.get("pad_token", "[PAD]")),
        structures=tuple(_field(config, "structures", root)),
        grades=tuple(_field(config, "grades", root)),
        prompts=tuple(
            PackPrompt(p["text"], p["structure"], p["orientation"], p.get("level"))
            for p in _field(config, "prompts", root)
        ),
        graphs=graphs,
        metrics=dict(config.get("metrics", {})),
    )


def find_model_pack(name: str | None = None, search_dirs: list[Path] | None = None) -> ModelPack:
    """Load the named pack (newest version, user folder preferred on a tie), or the default one."""
    packs = find_model_packs(search_dirs)
    wanted = name or DEFAULT_PACK_NAME
    matching = [p for p in packs if p.name == wanted]
    if not matching and name is None and packs:
        matching = packs[:1]
    if not matching:
        where = ", ".join(str(d) for d in (search_dirs or [bundled_models_dir(), user_models_dir()]))
        raise ModelPackError(f"no model pack named {wanted!r} in {where}")
    best = max(matching, key=lambda p: (_version_key(p.version), not p.bundled))
    return load_model_pack(best.root)


def _version_key(version: str) -> tuple[int, ...]:
    parts = []
    for part in version.split("."):
        digits = "".join(ch for ch in part if ch.isdigit())
        parts.append(int(digits) if digits else 0)
    return tuple(parts)
