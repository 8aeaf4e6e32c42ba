"""Where the local runtime keeps its state: ``PLATFORMCTL_HOME``, else ``<repo>/.local``."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

HOME_ENV = "PLATFORMCTL_HOME"


def repo_root() -> Path:
    """The workspace root: the nearest folder above cwd holding apps/ and tools/platformctl."""
    for folder in (Path.cwd(), *Path.cwd().parents):
        if (folder / "apps").is_dir() and (folder / "tools" / "platformctl").is_dir():
            return folder
    # Installed from the workspace (editable): tools/platformctl/src/platformctl/paths.py
    return Path(__file__).resolve().parents[4]


@dataclass(frozen=True)
class Home:
    root: Path

    @classmethod
    def discover(cls) -> Home:
        configured = os.environ.get(HOME_ENV)
        root = Path(configured) if configured else repo_root() / ".local"
        return cls(root.resolve())

    @property
    def state_file(self) -> Path:
        return self.root / "platform-state.json"

    @property
    def lock_file(self) -> Path:
        return self.root / "platform-state.lock"

    @property
    def secrets_dir(self) -> Path:
        return self.root / "secrets"

    @property
    def logs_dir(self) -> Path:
        return self.root / "logs"

    @property
    def routes_dir(self) -> Path:
        """The files caddy's routes read per request (see ``local/caddy.py``)."""
        return self.root / "routes"

    @property
    def prometheus_dir(self) -> Path:
        return self.root / "prometheus"

    def log_file(self, name: str) -> Path:
        return self.logs_dir / f"{name}.log"

    def ensure(self) -> None:
        for folder in (self.root, self.logs_dir, self.prometheus_dir):
            folder.mkdir(parents=True, exist_ok=True)
