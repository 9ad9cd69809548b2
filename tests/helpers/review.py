"""Real renders for the review features (diff, check, facts, policy pack), rendered once per
test process, and fault injection over their resources."""

from __future__ import annotations

import copy
import json
from functools import cache
from pathlib import Path
from typing import Any

from tenancy.render import render_spec, write_render
from tests.fixtures.specs import ALPHA, BETA, DELTA, GAMMA, spec_with

BASE_TENANTS = [ALPHA, BETA, GAMMA]


def base_spec() -> dict[str, Any]:
    return spec_with(BASE_TENANTS)


@cache
def _render_json(key: str) -> str:
    spec = json.loads(key)
    return json.dumps(render_spec(spec, stack="review").document())


def resources(spec: dict[str, Any]) -> list[dict[str, Any]]:
    """The resources of a real render of ``spec`` (cached per process; a fresh copy each call)."""
    return json.loads(_render_json(json.dumps(spec, sort_keys=True)))["resources"]


def base() -> list[dict[str, Any]]:
    return resources(base_spec())


def with_tenant() -> list[dict[str, Any]]:
    """The base platform plus tenant delta (allowFrom gamma)."""
    return resources(spec_with([*BASE_TENANTS, DELTA]))


def with_edge() -> list[dict[str, Any]]:
    """The base platform with one more allowFrom edge: beta now admits gamma."""
    ts = copy.deepcopy(BASE_TENANTS)
    ts[1]["allowFrom"] = ["gamma"]
    return resources(spec_with(ts))


def write(tmp: Path, name: str, res: list[dict[str, Any]], stack: str = "review") -> Path:
    out = tmp / name
    out.mkdir(parents=True, exist_ok=True)
    (out / "resources.json").write_text(json.dumps({"project": "tenancy", "stack": stack, "resources": res}))
    return out


def find(res: list[dict[str, Any]], typ: str, tenant: str | None = None, name: str | None = None) -> dict[str, Any]:
    for r in res:
        if r["type"] == typ and (tenant is None or r.get("tenant") == tenant) and (name is None or name in r["name"]):
            return r
    raise AssertionError(f"no {typ} of {tenant} named like {name}")


def write_render_of(spec: dict[str, Any], out: Path, stack: str = "review") -> Path:
    return write_render(render_spec(spec, stack=stack), out)
