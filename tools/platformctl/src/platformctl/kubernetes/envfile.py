"""The git-tracked environment file (``environments/<env>.yaml``): read it, change one value.

An edit replaces the characters of exactly one scalar, located by PyYAML's parser (the node's
start and end marks), so comments, key order, flow mappings and quoting stay as they were and
``git diff`` shows one line. Every edit is verified by parsing the result: the document must
equal the old one with that single value changed, or the file is left alone.
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from platformctl.catalog import COLORS

KeyPath = tuple[str, ...]


class EnvironmentFileError(ValueError):
    pass


@dataclass(frozen=True)
class ServiceEntry:
    """One service in the file: its own live color ("" follows the global one), its versions,
    each color's own replicas ("" follows the environment's size), and a canary step's weight
    ("" when there is none)."""

    active_color: str
    versions: Mapping[str, str]  # color -> version (the image tag)
    replicas: Mapping[str, str]  # color -> "" | "0" (scaled down) | a preview or canary size
    canary_weight: str = ""


@dataclass(frozen=True)
class EnvironmentState:
    active_color: str
    services: Mapping[str, ServiceEntry]

    def live(self, service: str) -> str:
        return self.services[service].active_color or self.active_color


def active_color_path(service: str | None = None) -> KeyPath:
    return ("activeColor",) if service is None else ("services", service, "activeColor")


def version_path(service: str, color: str) -> KeyPath:
    return ("services", service, color, "version")


def replicas_path(service: str, color: str) -> KeyPath:
    return ("services", service, color, "replicas")


def canary_weight_path(service: str) -> KeyPath:
    return ("services", service, "canaryWeight")


class EnvironmentFile:
    def __init__(self, path: Path) -> None:
        self.path = path

    def text(self) -> str:
        try:
            return self.path.read_text()
        except OSError as exc:
            raise EnvironmentFileError(f"cannot read {self.path}: {exc}") from None

    def state(self) -> EnvironmentState:
        data = yaml.safe_load(self.text()) or {}
        try:
            return EnvironmentState(
                active_color=str(data["activeColor"]),
                services={
                    name: ServiceEntry(
                        active_color=str(spec.get("activeColor") or ""),
                        versions={color: str(spec[color]["version"]) for color in COLORS},
                        replicas={color: _text(spec[color].get("replicas")) for color in COLORS},
                        canary_weight=_text(spec.get("canaryWeight")),
                    )
                    for name, spec in data["services"].items()
                },
            )
        except (KeyError, TypeError, AttributeError) as exc:
            raise EnvironmentFileError(f"{self.path}: missing key {exc}") from None

    def set(self, changes: Mapping[KeyPath, str]) -> dict[KeyPath, str]:
        """Write each ``path: value``; returns the old values of the paths that changed."""
        text = self.text()
        old_values = {}
        for path, value in changes.items():
            old = _get(yaml.safe_load(text), path)
            if old == value:
                continue
            text = replace_scalar(text, path, value)
            old_values[path] = str(old)
        if old_values:
            tmp = self.path.with_name(f".{self.path.name}.tmp")
            tmp.write_text(text)
            os.replace(tmp, self.path)
        return old_values


def _text(value: Any) -> str:
    """An optional scalar as the string platformctl writes ("" when absent or null)."""
    return "" if value is None else str(value)


def replace_scalar(text: str, path: Sequence[str], value: str) -> str:
    """``text`` with the scalar at ``path`` replaced by the string ``value``, nothing else."""
    node = _scalar_node(yaml.compose(text), path)
    start, end = node.start_mark.index, node.end_mark.index
    edited = text[:start] + _render(value, node.style) + text[end:]
    expected = yaml.safe_load(text)
    _put(expected, path, value)
    if yaml.safe_load(edited) != expected:
        raise EnvironmentFileError(f"editing {'.'.join(path)} would change more than that value")
    return edited


def _scalar_node(root: yaml.Node | None, path: Sequence[str]) -> yaml.ScalarNode:
    node = root
    for key in path:
        if not isinstance(node, yaml.MappingNode):
            raise EnvironmentFileError(f"{'.'.join(path)}: {key!r} is not under a mapping")
        for key_node, value_node in node.value:
            if key_node.value == key:
                node = value_node
                break
        else:
            raise EnvironmentFileError(f"{'.'.join(path)}: no key {key!r}")
    if not isinstance(node, yaml.ScalarNode):
        raise EnvironmentFileError(f"{'.'.join(path)} is not a single value")
    return node


def _render(value: str, style: str | None) -> str:
    """The value as a YAML string scalar, in the original quoting where that is safe."""
    if style == "'":
        return "'" + value.replace("'", "''") + "'"
    if style is None and value and yaml.safe_load(value) == value and value.strip() == value:
        return value
    return json.dumps(value)  # a JSON string is a valid YAML double-quoted scalar


def _get(data: Any, path: Sequence[str]) -> Any:
    for key in path:
        data = data[key]
    return data


def _put(data: Any, path: Sequence[str], value: str) -> None:
    _get(data, path[:-1])[path[-1]] = value
