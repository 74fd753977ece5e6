"""A PACS node to talk to (AE title, host, port, our calling AE title, timeout) and its JSON file."""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass
from pathlib import Path

from engine.atomic_file import write_atomically
from engine.pacs.errors import NodeSettingsError

DEFAULT_CALLING_AE_TITLE = "LSS_DESKTOP"
DEFAULT_TIMEOUT_S = 30.0
NODE_FILE_VERSION = 1


def _check_ae_title(field: str, value: object) -> None:
    """PS3.5 AE title: 1-16 characters of the default repertoire, no backslash, not only spaces."""
    if not isinstance(value, str) or not value.strip():
        raise NodeSettingsError(f"{field}: an AE title of 1 to 16 characters is required")
    if len(value) > 16:
        raise NodeSettingsError(f"{field}: {value!r} is longer than 16 characters")
    if "\\" in value or not all(" " <= ch <= "~" for ch in value):
        raise NodeSettingsError(f"{field}: {value!r} may hold printable ASCII characters only, no backslash")


@dataclass(frozen=True)
class PacsNode:
    """A DICOM node: `ae_title` is the node's (called) AE title; `calling_ae_title` is ours.

    timeout_s: seconds allowed for connecting, for association negotiation and for each DIMSE
        response; > 0.
    """

    ae_title: str
    host: str
    port: int
    calling_ae_title: str = DEFAULT_CALLING_AE_TITLE
    timeout_s: float = DEFAULT_TIMEOUT_S

    def __post_init__(self) -> None:
        _check_ae_title("ae_title", self.ae_title)
        _check_ae_title("calling_ae_title", self.calling_ae_title)
        if not isinstance(self.host, str) or not self.host.strip() or any(c.isspace() for c in self.host):
            raise NodeSettingsError(f"host: {self.host!r} is not a host name or address")
        if isinstance(self.port, bool) or not isinstance(self.port, int) or not 1 <= self.port <= 65535:
            raise NodeSettingsError(f"port: {self.port!r} is not a TCP port (1-65535)")
        if (
            isinstance(self.timeout_s, bool)
            or not isinstance(self.timeout_s, int | float)
            or self.timeout_s <= 0
        ):
            raise NodeSettingsError(f"timeout_s: {self.timeout_s!r} is not a positive number of seconds")

    def __str__(self) -> str:
        return f"{self.ae_title}@{self.host}:{self.port}"


def save_node(node: PacsNode, path: Path) -> Path:
    """Write the node settings as JSON to `path` (atomically)."""
    document = {"version": NODE_FILE_VERSION, **asdict(node)}
    text = json.dumps(document, indent=2) + "\n"
    return write_atomically(Path(path), lambda temporary: temporary.write_text(text, encoding="utf-8"))


def load_node(path: Path) -> PacsNode:
    """Read node settings written by `save_node`.

    Raises NodeSettingsError naming the file and, where it applies, the field at fault.
    """
    path = Path(path)
    try:
        document = json.loads(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise NodeSettingsError(f"{path}: cannot read the node file ({exc.strerror or exc})") from exc
    except json.JSONDecodeError as exc:
        raise NodeSettingsError(f"{path}: not valid JSON (line {exc.lineno}: {exc.msg})") from exc
    if not isinstance(document, dict):
        raise NodeSettingsError(f"{path}: expected a JSON object with ae_title, host and port")
    version = document.pop("version", NODE_FILE_VERSION)
    if version != NODE_FILE_VERSION:
        raise NodeSettingsError(
            f"{path}: version {version!r} is not supported (expected {NODE_FILE_VERSION})"
        )
    known = {"ae_title", "host", "port", "calling_ae_title", "timeout_s"}
    unknown = sorted(set(document) - known)
    if unknown:
        raise NodeSettingsError(f"{path}: unknown field(s) {', '.join(unknown)}")
    missing = sorted({"ae_title", "host", "port"} - set(document))
    if missing:
        raise NodeSettingsError(f"{path}: missing field(s) {', '.join(missing)}")
    try:
        return PacsNode(**document)
    except NodeSettingsError as exc:
        raise NodeSettingsError(f"{path}: {exc}") from exc
