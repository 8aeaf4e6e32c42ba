"""The pinned upstream tools that scripts/upstream-tools.sh builds from their Go modules.

One reader for the script's cache and its versions file, used by the supply chain (syft,
registry, cosign), the local cluster (Kubernetes, etcd, CoreDNS, helm, helmfile, helm-diff,
Prometheus) and the tests that drive the real helm and helmfile.
"""

from __future__ import annotations

import subprocess
from collections.abc import Callable
from dataclasses import dataclass
from functools import cache
from pathlib import Path

from platform_images.engine import REPO_ROOT

SCRIPT = REPO_ROOT / "scripts" / "upstream-tools.sh"
VERSIONS = SCRIPT.with_suffix(".env")


class ToolsError(RuntimeError):
    """A pinned tool could not be built."""


@dataclass(frozen=True)
class Cache:
    root: Path  # NAME-VERSION/bin/ under it
    versions: dict[str, str]  # upstream-tools.env: NAME_VERSION=...

    def version(self, name: str) -> str:
        return self.versions[f"{name.upper().replace('-', '_')}_VERSION"]

    def home(self, name: str) -> Path:
        """NAME-VERSION/: the tool's directory in the cache."""
        return self.root / f"{name}-{self.version(name)}"

    def binary(self, name: str, executable: str | None = None) -> Path:
        return self.home(name) / "bin" / (executable or name)


def build(group: str, say: Callable[[str], None] = lambda _line: None) -> Cache:
    """Build the group's tools where missing (minutes, once), else reuse them (seconds).

    ``say`` receives each progress line; `go: downloading` chatter is left out.
    """
    process = subprocess.Popen(
        ["bash", str(SCRIPT), group], stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True
    )
    assert process.stdout is not None
    last = ""
    for line in process.stdout:
        last = line.rstrip()
        if not line.startswith("go: downloading"):
            say(last)
    if process.wait() != 0:
        raise ToolsError(f"building the {group} tools failed: {last}")
    return cached()


@cache
def cached() -> Cache:
    """Where the tools are, without building anything."""
    root = subprocess.run(
        ["bash", str(SCRIPT), "--print-dir"], capture_output=True, text=True, check=True
    ).stdout.strip()
    versions = dict(
        line.split("=", 1)
        for line in VERSIONS.read_text().splitlines()
        if "=" in line and not line.startswith("#")
    )
    return Cache(Path(root), versions)
