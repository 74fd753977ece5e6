"""The desktop app's settings: the reader's name and institution, the PACS node, the inference device,
the active model pack (by name: the newest version found is used) and the site's report template. Qt-free; kept as JSON in the data folder.

A damaged or partly wrong file never stops the app: what can be read is kept, the rest falls back
to the defaults, and the problems are returned (naming the file and field) for the user to see.
"""

from __future__ import annotations

import json
import logging
from dataclasses import asdict, dataclass, replace
from pathlib import Path
from typing import Any

from engine.atomic_file import write_text_atomically
from engine.pacs.errors import NodeSettingsError
from engine.pacs.node import PacsNode

logger = logging.getLogger(__name__)

SETTINGS_FILENAME = "desktop-settings.json"
SETTINGS_VERSION = 1
DEVICES = ("auto", "cpu", "cuda")


@dataclass(frozen=True)
class AppSettings:
    """user_name: who edits and signs (pre-filled in the sign-off dialog); institution: the verifying
    organisation the DICOM SR names; device: "auto", "cpu" or "cuda"; model_pack: a pack name, ""
    for the engine's default pack; report_template: a TOML file path, "" for the bundled default."""

    user_name: str = ""
    institution: str = ""
    pacs_node: PacsNode | None = None
    device: str = "auto"
    model_pack: str = ""
    report_template: str = ""

    def __post_init__(self) -> None:
        if self.device not in DEVICES:
            raise ValueError(f"device must be one of {', '.join(DEVICES)}, not {self.device!r}")


def settings_to_json(settings: AppSettings) -> dict[str, Any]:
    document = asdict(settings)
    document["pacs_node"] = None if settings.pacs_node is None else asdict(settings.pacs_node)
    return {"version": SETTINGS_VERSION, **document}


def load_app_settings(path: Path) -> tuple[AppSettings, tuple[str, ...]]:
    """The settings in `path` (defaults when it does not exist) and the problems found in it."""
    path = Path(path)
    if not path.exists():
        return AppSettings(), ()
    try:
        document = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        return AppSettings(), (f"{path}: the settings cannot be read ({exc}); the defaults are used",)
    if not isinstance(document, dict):
        return AppSettings(), (f"{path}: expected a JSON object; the defaults are used",)
    problems: list[str] = []
    settings = AppSettings()
    for name in ("user_name", "institution", "model_pack", "report_template"):
        value = document.get(name, getattr(settings, name))
        if isinstance(value, str):
            settings = replace(settings, **{name: value})
        else:
            problems.append(f"{path}: field {name!r} must be text")
    device = document.get("device", settings.device)
    if device in DEVICES:
        settings = replace(settings, device=device)
    else:
        problems.append(f"{path}: field 'device' must be one of {', '.join(DEVICES)}, not {device!r}")
    node = document.get("pacs_node")
    if node is not None:
        try:
            if not isinstance(node, dict):
                raise NodeSettingsError("expected an object with ae_title, host and port")
            settings = replace(settings, pacs_node=PacsNode(**node))
        except (NodeSettingsError, TypeError) as exc:
            problems.append(f"{path}: field 'pacs_node': {exc}")
    for problem in problems:
        logger.warning("%s", problem)
    return settings, tuple(problems)


def save_app_settings(settings: AppSettings, path: Path) -> Path:
    """Write the settings as JSON, atomically."""
    return write_text_atomically(Path(path), json.dumps(settings_to_json(settings), indent=2) + "\n")
