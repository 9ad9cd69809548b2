"""The vendored CRDs' schemas (tests/fixtures/crds, each file names its source) as JSON Schemas, so
custom resources are validated offline like kubernetes-validate validates the built-in kinds. The
CRDs' CEL rules (``x-kubernetes-validations``) are enforced by the real API server in tests/live."""

from __future__ import annotations

import functools
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import jsonschema
import yaml

CRDS = Path(__file__).resolve().parent.parent / "fixtures" / "crds"


@functools.cache
def schemas() -> dict[tuple[str, str], dict[str, Any]]:
    """(apiVersion, kind) -> the CRD version's openAPIV3Schema, strict (no unknown fields)."""
    out = {}
    for path in sorted(CRDS.glob("*.yaml")):
        crd = yaml.safe_load(path.read_text())
        for v in crd["spec"]["versions"]:
            out[(f"{crd['spec']['group']}/{v['name']}", crd["spec"]["names"]["kind"])] = _strict(
                v["schema"]["openAPIV3Schema"])
    return out


def _strict(schema: Any) -> Any:
    """Structural schemas prune unknown fields; strict validation refuses them instead (as
    ``kubectl --validate=strict`` does), so a misspelt field fails the test."""
    if isinstance(schema, dict):
        out = {k: _strict(v) for k, v in schema.items()}
        if out.get("type") == "object" and "properties" in out and "additionalProperties" not in out:
            out["additionalProperties"] = False
        return out
    if isinstance(schema, list):
        return [_strict(v) for v in schema]
    return schema


def known(obj: Mapping[str, Any]) -> bool:
    return (obj["apiVersion"], obj["kind"]) in schemas()


def validate(obj: Mapping[str, Any]) -> None:
    """Raise ``jsonschema.ValidationError`` when ``obj`` does not fit its CRD's schema."""
    schema = schemas()[(obj["apiVersion"], obj["kind"])]
    jsonschema.validate(dict(obj), schema)
