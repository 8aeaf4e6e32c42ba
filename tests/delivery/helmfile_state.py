"""helmfile.yaml and the environments, as the real helmfile (v1, built from its Go module by
scripts/upstream-tools.sh) reads them: the state values an environment's templates see
(`helmfile build`), the one release it enables (`helmfile list`), and the values that release
passes to the chart, `environments/platform-values.yaml.gotmpl` rendered by helmfile itself
(`helmfile write-values`). Edited copies of environment files go through helmfile too, in a
copy of helmfile.yaml and environments/. Plain reads of helmfile.yaml (its sections, the
files it names) stay plain YAML.
"""

from __future__ import annotations

import atexit
import copy
import json
import os
import re
import shutil
import subprocess
import tempfile
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

import pytest
import yaml
from platform_images import upstream_tools

from tests.support.progress import say

REPO_ROOT = Path(__file__).resolve().parents[2]
HELMFILE = REPO_ROOT / "helmfile.yaml"
ENVIRONMENTS_DIR = REPO_ROOT / "environments"
ENVIRONMENTS = ("dev", "staging", "prod", "kind", "local")


def helmfile_documents() -> list[dict[str, Any]]:
    return [doc for doc in yaml.safe_load_all(HELMFILE.read_text()) if doc is not None]


def helmfile_section(name: str) -> Any:
    """The one document's value of a top-level key (environments, releases...)."""
    found = [doc[name] for doc in helmfile_documents() if name in doc]
    if len(found) != 1:
        raise LookupError(f"helmfile.yaml has {len(found)} documents with {name!r}")
    return found[0]


@dataclass(frozen=True)
class Release:
    name: str
    namespace: str
    chart: Path
    condition: str
    values_files: tuple[Path, ...]


def releases() -> list[Release]:
    return [
        Release(
            name=spec["name"],
            namespace=spec["namespace"],
            chart=REPO_ROOT / spec["chart"],
            condition=spec.get("condition", ""),
            values_files=tuple(REPO_ROOT / path for path in spec.get("values", [])),
        )
        for spec in helmfile_section("releases")
    ]


def environment_files(environment: str) -> list[Path]:
    return [REPO_ROOT / path for path in helmfile_section("environments")[environment]["values"]]


# --- The real helmfile ------------------------------------------------------------------


@cache
def _helmfile_command() -> tuple[list[str], dict[str, str]]:
    tools = upstream_tools.cached()
    helmfile, helm = tools.binary("helmfile"), tools.binary("helm")
    if not (helmfile.exists() and helm.exists()):
        try:  # the first run on a machine builds them (minutes)
            tools = upstream_tools.build("helm", say)
        except upstream_tools.ToolsError as error:
            pytest.skip(f"needs helmfile and helm, built by scripts/upstream-tools.sh: {error}")
    env = {**os.environ, "PATH": f"{helm.parent}:{os.environ['PATH']}"}
    return [str(helmfile)], env


def helmfile(environment: str, *args: str, root: Path = REPO_ROOT) -> str:
    command, env = _helmfile_command()
    argv = [*command, "--file", str(root / "helmfile.yaml"), "--environment", environment, *args]
    result = subprocess.run(argv, cwd=root, env=env, capture_output=True, text=True, timeout=120)
    if result.returncode != 0:
        raise AssertionError(f"`helmfile {' '.join(argv[1:])}` failed:\n{result.stderr}")
    return result.stdout


def _scratch(prefix: str) -> Path:
    """A temporary directory removed when the test session's process exits."""
    path = Path(tempfile.mkdtemp(prefix=prefix))
    atexit.register(shutil.rmtree, path, True)
    return path


@cache
def _with_files(environment: str, files: tuple[tuple[str, str], ...]) -> Path:
    """A copy of helmfile.yaml and environments/ with some files' text replaced."""
    if not files:
        return REPO_ROOT
    root = _scratch(f"helmfile-{environment}-")
    shutil.copy2(HELMFILE, root / "helmfile.yaml")
    shutil.copytree(ENVIRONMENTS_DIR, root / "environments")
    for path, text in files:
        (root / Path(path).relative_to(REPO_ROOT)).write_text(text)
    return root


def _key(files: Mapping[Path, str] | None) -> tuple[tuple[str, str], ...]:
    return tuple(sorted((str(path), text) for path, text in (files or {}).items()))


@cache
def _state_values(environment: str, files: tuple[tuple[str, str], ...]) -> dict[str, Any]:
    root = _with_files(environment, files)
    (state,) = [d for d in yaml.safe_load_all(helmfile(environment, "build", root=root)) if d]
    return state["renderedvalues"]


def state_values(environment: str, files: Mapping[Path, str] | None = None) -> dict[str, Any]:
    """The environment's state values, merged by helmfile (`helmfile build`).

    ``files`` replaces the text of some files (an edited copy of an environment file).
    """
    return copy.deepcopy(_state_values(environment, _key(files)))


@cache
def environment_release(environment: str) -> Release:
    """The one release an environment installs (`helmfile list`)."""
    listed = json.loads(helmfile(environment, "list", "--output", "json", "--skip-charts"))
    enabled = {entry["namespace"] for entry in listed if entry["enabled"]}
    found = [release for release in releases() if release.namespace in enabled]
    if len(found) != 1:
        raise LookupError(f"{environment} enables {sorted(enabled)}")
    return found[0]


@cache
def _chart_values(environment: str, files: tuple[tuple[str, str], ...]) -> dict[str, Any]:
    root = _with_files(environment, files)
    out = _scratch("write-values-")
    template = f"{out}/{{{{ .Release.Namespace }}}}.yaml"
    helmfile(
        environment, "write-values", "--skip-deps", "--output-file-template", template, root=root
    )
    (written,) = list(out.glob("*.yaml"))
    return yaml.safe_load(written.read_text()) or {}


def chart_values(environment: str, files: Mapping[Path, str] | None = None) -> dict[str, Any]:
    """What the environment's release passes to the chart (`helmfile write-values`)."""
    return copy.deepcopy(_chart_values(environment, _key(files)))


# --- Shapes --------------------------------------------------------------------------------


def key_paths(value: Any, prefix: str = "") -> Iterator[str]:
    """Every map key path (lists are leaves): the shape of a values tree."""
    if isinstance(value, dict):
        for name, item in value.items():
            path = f"{prefix}.{name}" if prefix else str(name)
            yield path
            yield from key_paths(item, path)


# Identifiers a template may call: text/template's builtins, nothing from sprig or helmfile.
GO_TEMPLATE_BUILTINS = frozenset(
    {
        *("and", "or", "not", "len", "index", "slice", "print", "printf", "println", "call"),
        *("eq", "ne", "lt", "le", "gt", "ge", "html", "js", "urlquery"),
    }
)
GO_TEMPLATE_KEYWORDS = frozenset(
    {
        *("if", "else", "end", "range", "with", "define", "template", "block"),
        *("break", "continue", "nil", "true", "false"),
    }
)
_ACTION = re.compile(r"\{\{-?(.*?)-?\}\}", re.DOTALL)
_COMMENT = re.compile(r"^\s*/\*.*\*/\s*$", re.DOTALL)
_STRING = re.compile(r'"(?:[^"\\]|\\.)*"|`[^`]*`')
_BARE_IDENTIFIER = re.compile(r"(?<![\w.$])([A-Za-z_]\w*)")


def template_functions(text: str) -> set[str]:
    """Bare identifiers used in a Go template's actions: function names and keywords."""
    used: set[str] = set()
    for action in _ACTION.findall(text):
        if _COMMENT.match(action):
            continue
        used |= set(_BARE_IDENTIFIER.findall(_STRING.sub('""', action)))
    return used - GO_TEMPLATE_KEYWORDS
