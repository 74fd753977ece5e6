"""Optional capabilities that live outside the engine (the trainer, the torch benchmarks), found
through the `lss.plugins` entry-point group declared in pyproject.toml.

The engine names a capability, never the package that provides it, so the dependency direction
`lss_desktop -> engine <- training` holds while `lss train` stays one command line.
"""

from __future__ import annotations

import importlib.util
from importlib.metadata import entry_points
from types import ModuleType

from engine.cli.exit_codes import ExitCode

PLUGIN_GROUP = "lss.plugins"

TRAINING_MISSING = (
    "training needs torch and the training package: install the training extra "
    "(pip install 'lss-desktop[training]', torch first; see installer/requirements/training.txt)"
)


def load_plugin(name: str) -> ModuleType:
    """The module registered as `name` in the `lss.plugins` group; CommandError when unavailable."""
    from engine.cli.main import CommandError

    if importlib.util.find_spec("torch") is None:
        raise CommandError(TRAINING_MISSING, ExitCode.FAILURE)
    found = entry_points(group=PLUGIN_GROUP, name=name)
    if not found:
        raise CommandError(f"no '{name}' plugin is installed: {TRAINING_MISSING}", ExitCode.FAILURE)
    try:
        module: ModuleType = next(iter(found)).load()
    except ImportError as exc:
        raise CommandError(f"the '{name}' plugin cannot be loaded ({exc}): {TRAINING_MISSING}") from exc
    return module
