"""Validate rendered objects strictly: core kinds with kubernetes-validate, prometheus-operator
kinds against the openAPIV3Schema of their CRDs (made strict: unknown fields fail)."""

from __future__ import annotations

import copy
from collections.abc import Iterable
from functools import cache
from typing import Any

import jsonschema
import kubernetes_validate
import kubernetes_validate.utils
import yaml

from tests.support.upstream_reference import CRD_GROUPS, CRDS, reference_path

# kubernetes-validate re-reads its multi-megabyte definitions file for every object; the files
# never change, so read each once (same schemas, same validation, a tenth of the time).
if not hasattr(kubernetes_validate.utils.schema_contents, "cache_info"):
    kubernetes_validate.utils.schema_contents = cache(kubernetes_validate.utils.schema_contents)

KUBERNETES_VERSIONS = ("1.33.0", kubernetes_validate.latest_version())


def _strict(schema: Any) -> Any:
    """Refuse unknown fields wherever the CRD lists its properties and allows no others."""
    if isinstance(schema, dict):
        schema = {name: _strict(value) for name, value in schema.items()}
        if (
            schema.get("type") == "object"
            and "properties" in schema
            and "additionalProperties" not in schema
            and not schema.get("x-kubernetes-preserve-unknown-fields")
        ):
            schema["additionalProperties"] = False
        return schema
    if isinstance(schema, list):
        return [_strict(item) for item in schema]
    return schema


@cache
def crd_schemas() -> dict[tuple[str, str], dict[str, Any]]:
    """(apiVersion, kind) -> strict JSON schema, from every CRD in the upstream reference data."""
    schemas = {}
    for path in sorted(reference_path(CRDS).glob("*.yaml")):
        for crd in yaml.safe_load_all(path.read_text()):
            if not crd or crd.get("kind") != "CustomResourceDefinition":
                continue
            group, kind = crd["spec"]["group"], crd["spec"]["names"]["kind"]
            for version in crd["spec"]["versions"]:
                schema = copy.deepcopy(version["schema"]["openAPIV3Schema"])
                schema["properties"]["metadata"] = {"type": "object"}
                schemas[(f"{group}/{version['name']}", kind)] = _strict(schema)
    return schemas


def validation_errors(
    obj: dict[str, Any], versions: Iterable[str] = KUBERNETES_VERSIONS
) -> list[str]:
    """Why ``obj`` is invalid, or [] if it validates (CRD kinds: against their CRD)."""
    name = f"{obj.get('kind')}/{obj.get('metadata', {}).get('name')}"
    if obj.get("apiVersion", "").split("/")[0] not in CRD_GROUPS:
        return _core_validation_errors(obj, name, versions)
    crd_schema = crd_schemas().get((obj.get("apiVersion", ""), obj.get("kind", "")))
    if crd_schema is not None:
        validator = jsonschema.Draft7Validator(crd_schema)
        return [
            f"{name}: {error.json_path}: {error.message}" for error in validator.iter_errors(obj)
        ]
    return [f"{name}: no CRD for {obj.get('apiVersion')} {obj.get('kind')} in the reference data"]


def _core_validation_errors(obj: dict[str, Any], name: str, versions: Iterable[str]) -> list[str]:
    errors = []
    for version in versions:
        try:
            kubernetes_validate.validate(obj, version, strict=True)
        except kubernetes_validate.ValidationError as error:
            errors.append(f"{name} (Kubernetes {version}): {error.message}")
        except kubernetes_validate.SchemaNotFoundError as error:
            errors.append(f"{name} (Kubernetes {version}): no schema: {error}")
    return errors
