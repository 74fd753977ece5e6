"""Where LSS Desktop keeps its database: an argument, else $LSS_DATA_DIR, else the user data folder."""

from __future__ import annotations

import os
import sys
from pathlib import Path

DATA_DIR_ENV = "LSS_DATA_DIR"
DATABASE_FILENAME = "lss-desktop.sqlite3"


def platform_data_dir() -> Path:
    """The per-user application data folder of this operating system."""
    home = Path.home()
    if sys.platform == "win32":
        return Path(os.environ.get("LOCALAPPDATA") or home / "AppData" / "Local") / "LSS Desktop"
    if sys.platform == "darwin":
        return home / "Library" / "Application Support" / "LSS Desktop"
    return Path(os.environ.get("XDG_DATA_HOME") or home / ".local" / "share") / "lss-desktop"


def user_data_dir(override: str | os.PathLike[str] | None = None) -> Path:
    """The data folder to use, created if needed: `override`, else $LSS_DATA_DIR, else the platform's."""
    chosen = Path(override) if override else Path(os.environ.get(DATA_DIR_ENV) or platform_data_dir())
    chosen.mkdir(parents=True, exist_ok=True)
    return chosen
