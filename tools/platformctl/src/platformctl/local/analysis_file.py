"""Which analysis config a local promotion uses: the one `up --analysis` stored, if any."""

from __future__ import annotations

from pathlib import Path

from platformctl.backend import Backend
from platformctl.local.backend import LocalBackend


def analysis_path(backend: Backend) -> Path | None:
    if isinstance(backend, LocalBackend) and backend.store.exists():
        stored = backend.load().runtime.analysis_file
        return Path(stored) if stored else None
    return None
