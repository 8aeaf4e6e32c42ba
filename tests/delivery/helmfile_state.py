"""Read helmfile.yaml and the environment files the way helmfile v1 does, and render the
environment's ``.gotmpl`` values file with a real Go template engine: the Helm SDK's.

helmfile renders ``environments/platform-values.yaml.gotmpl`` with the environment's state
values as ``.Values``. Here the same file becomes the one template of a throwaway chart, which
the Helm v4 engine (helm_python) renders with those state values as the chart's values.
"""

from __future__ import annotations

import re
import tempfile
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

import helm_python
import yaml

from tests.support.helm_render import merge_values

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


def state_values(environment: str, files: Mapping[Path, str] | None = None) -> dict[str, Any]:
    """The environment's state values: its files deep-merged in order, as helmfile does.

    ``files`` replaces the text of some files (an edited copy of an environment file).
    """
    layers = []
    for path in environment_files(environment):
        text = (files or {}).get(path, path.read_text())
        layers.append(yaml.safe_load(text) or {})
    return merge_values(*layers)


def condition_enabled(condition: str, values: Mapping[str, Any]) -> bool:
    """helmfile's release condition: the path must exist, ending in `.enabled`."""
    *path, last = condition.split(".")
    if last != "enabled":
        raise ValueError(f"condition {condition!r} must end in .enabled")
    node: Any = values
    for part in path:
        node = node[part]  # a missing key is an error in helmfile too
    return node["enabled"] is True


def environment_release(environment: str, values: Mapping[str, Any] | None = None) -> Release:
    """The one release an environment installs."""
    values = state_values(environment) if values is None else values
    enabled = [r for r in releases() if condition_enabled(r.condition, values)]
    if len(enabled) != 1:
        raise LookupError(f"{environment} enables {[r.namespace for r in enabled]}")
    return enabled[0]


# --- The Go template engine ---------------------------------------------------------------


@cache
def _template_chart(template_text: str) -> helm_python.Chart:
    """A throwaway chart whose one template is the .gotmpl file (values.yaml is not a
    template name Helm treats specially; files under templates/ starting with _ would be)."""
    root = Path(tempfile.mkdtemp(prefix="gotmpl-")) / "gotmpl"
    (root / "templates").mkdir(parents=True)
    (root / "Chart.yaml").write_text("apiVersion: v2\nname: gotmpl\nversion: 0.0.0\n")
    (root / "templates" / "rendered.yaml").write_text(template_text)
    helm_python.disable_logging()
    return helm_python.Chart.load(root)


def render_gotmpl(path: Path, values: Mapping[str, Any]) -> str:
    """Render a helmfile .gotmpl file with ``values`` as ``.Values`` (Helm's Go templates)."""
    chart = _template_chart(path.read_text())
    rendered = chart.render(values=dict(values), name="gotmpl")
    return rendered["gotmpl/templates/rendered.yaml"]


def chart_values(environment: str, files: Mapping[Path, str] | None = None) -> dict[str, Any]:
    """What the environment's release passes to the chart: its values files, rendered."""
    values = state_values(environment, files)
    layers = []
    for path in environment_release(environment, values).values_files:
        text = render_gotmpl(path, values) if path.suffix == ".gotmpl" else path.read_text()
        layers.append(yaml.safe_load(text) or {})
    return merge_values(*layers)


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
