"""Booleans and whole numbers are taken only as themselves (issue 28): ``internetEgress: "yes"``,
``"1"`` or ``1`` is refused, naming the field and saying to write true/false; ``pods: "5"`` is
refused likewise. Every boolean and integer field of the spec is found by walking the models, so a
field added tomorrow is covered without editing this file."""

from __future__ import annotations

import copy
import json
import typing
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from pydantic import BaseModel

from tenancy import SpecError, load_platform
from tenancy.fleet.spec import load_fleet
from tenancy.spec.models import PlatformSpec
from tenancy.spec.stackfile import load_stack_file
from tests.fixtures.specs import spec_with

ROOT = Path(__file__).resolve().parents[2]


def _scalar_fields(model: type[BaseModel], path: tuple[str | int, ...] = ()
                   ) -> Iterator[tuple[tuple[str | int, ...], type]]:
    for name, field in model.model_fields.items():
        key = field.alias or name
        ann = field.annotation
        args = [a for a in (typing.get_args(ann) or (ann,)) if a is not type(None)]
        is_list = typing.get_origin(ann) is list
        for a in args:
            a = typing.get_args(a)[0] if typing.get_origin(a) is typing.Annotated else a
            if a is bool or a is int:
                yield (*path, key), a
            elif isinstance(a, type) and issubclass(a, BaseModel):
                yield from _scalar_fields(a, (*path, key, 0) if is_list else (*path, key))


FIELDS = sorted(_scalar_fields(PlatformSpec), key=lambda f: [str(p) for p in f[0]])
BOOLS = [p for p, t in FIELDS if t is bool]
INTS = [p for p, t in FIELDS if t is int]


def _base() -> dict[str, Any]:
    """A valid platform with every list the walk indexes into non-empty."""
    data = spec_with()
    data["nodePools"] = [{"name": "shared", "slot": 5}]
    data["retiredTenants"] = [{"name": "old", "slot": 6}]
    return data


def _set(data: dict[str, Any], path: tuple[str | int, ...], value: Any) -> dict[str, Any]:
    data = copy.deepcopy(data)
    node: Any = data
    for part in path[:-1]:
        node = node[part] if isinstance(part, int) else node.setdefault(part, {})
    node[path[-1]] = value
    return data


def _dotted(path: tuple[str | int, ...]) -> str:
    out = ""
    for p in path:
        out += f"[{p}]" if isinstance(p, int) else ("." if out else "") + p
    return out


def _problems(data: dict[str, Any]) -> dict[str, str]:
    try:
        load_platform(data)
    except SpecError as exc:
        return {p.path: p.message for p in exc.problems}
    return {}


def test_the_walk_finds_the_security_fields() -> None:
    dotted = {_dotted(p) for p in BOOLS + INTS}
    assert {"tenants[0].internetEgress", "tenants[0].kubernetesApiAccess", "tenants[0].offboarding",
            "cluster.deletionProtection", "network.tenantNetworkAcls", "identity.bucketKey",
            "tenants[0].quota.pods", "tenants[0].quota.nodePorts", "tenants[0].quota.loadBalancers",
            "tenants[0].slot", "nodePools[0].slot", "nodeGroupQuota"} <= dotted
    assert len(BOOLS) >= 12 and len(INTS) >= 20


def test_the_base_is_valid() -> None:
    load_platform(_base())


@pytest.mark.parametrize("path", BOOLS, ids=_dotted)
@pytest.mark.parametrize("value", ["yes", "true", "True", "1", 1, 0, "on", None])
def test_a_boolean_is_true_or_false_only(path: tuple[str | int, ...], value: Any) -> None:
    found = _problems(_set(_base(), path, value))
    assert _dotted(path) in found, found
    assert "must be true or false" in found[_dotted(path)] and "write true or false" in found[_dotted(path)]


@pytest.mark.parametrize("path", BOOLS, ids=_dotted)
def test_real_booleans_still_work(path: tuple[str | int, ...]) -> None:
    # Negative control: the same paths with true and false raise nothing about the field itself.
    for value in (True, False):
        assert _dotted(path) not in _problems(_set(_base(), path, value))


@pytest.mark.parametrize("path", INTS, ids=_dotted)
@pytest.mark.parametrize("value", ["5", 5.0, True])
def test_a_number_is_a_whole_number_only(path: tuple[str | int, ...], value: Any) -> None:
    found = _problems(_set(_base(), path, value))
    assert _dotted(path) in found, found
    assert "must be a whole number" in found[_dotted(path)]


def test_the_message_names_what_was_given() -> None:
    found = _problems(_set(_base(), ("tenants", 2, "internetEgress"), "yes"))
    assert found["tenants[2].internetEgress"].startswith("must be true or false, got the string 'yes'")
    found = _problems(_set(_base(), ("tenants", 0, "quota", "pods"), "50"))
    assert "got the string '50'" in found["tenants[0].quota.pods"]


def test_fleet_tenants_and_account_quotas_are_strict() -> None:
    fleet = {"name": "acme", "cells": [{"name": "eu-1", "region": "eu-west-1", "vpcCidr": "10.80.0.0/16"}],
             "tenants": [{"name": "a", "internetEgress": "yes"}, {"name": "b", "quota": {"pods": "5"}}],
             "accounts": [{"id": "default", "iamRoleQuota": "1000"}]}
    with pytest.raises(SpecError) as exc:
        load_fleet(fleet)
    found = {p.path: p.message for p in exc.value.problems}
    assert "must be true or false" in found["tenants[0].internetEgress"]
    assert "must be a whole number" in found["tenants[1].quota.pods"]
    assert "must be a whole number" in found["accounts[0].iamRoleQuota"]
    fleet["tenants"] = [{"name": "a", "internetEgress": True}, {"name": "b", "quota": {"pods": 5}}]
    fleet["accounts"] = [{"id": "default", "iamRoleQuota": 1000}]
    load_fleet(fleet)  # negative control


STACK = """config:
  tenancy:platform:
    name: acme
    vpcCidr: 10.40.0.0/16
    tenants:
      - name: alpha
        slot: 0
        internetEgress: {value}
"""


@pytest.mark.parametrize("value", ["yes", "on", "y", "'true'", '"1"', "1"])
def test_a_stack_file_word_that_is_not_true_or_false_is_refused(tmp_path: Path, value: str) -> None:
    # Pulumi reads stack files as YAML 1.2 (gopkg.in/yaml.v3): an unquoted `yes` is the string
    # "yes", not a boolean. The CLI's reader agrees, so `tenancy check` refuses it as `pulumi up` would.
    f = tmp_path / "Pulumi.dev.yaml"
    f.write_text(STACK.format(value=value))
    platform, _ = load_stack_file(f)
    with pytest.raises(SpecError, match=r"tenants\[0\] \(alpha\)\.internetEgress: must be true or false"):
        load_platform(platform)


@pytest.mark.parametrize(("value", "expected"), [("true", True), ("false", False), ("True", True), ("FALSE", False)])
def test_a_stack_file_true_or_false_is_a_boolean(tmp_path: Path, value: str, expected: bool) -> None:
    f = tmp_path / "Pulumi.dev.yaml"
    f.write_text(STACK.format(value=value))
    platform, _ = load_stack_file(f)
    assert load_platform(platform).tenants[0].internet_egress is expected


@pytest.mark.parametrize("stack", sorted((ROOT / "stacks").glob("Pulumi.*.yaml")), ids=lambda p: p.name)
def test_the_shipped_stack_files_load_as_pulumi_hands_them_over(stack: Path) -> None:
    # `pulumi up` hands the program the tenancy:platform object as JSON text, which
    # Config.require_object parses: booleans stay booleans, numbers stay numbers.
    platform, _ = load_stack_file(stack)
    spec = load_platform(json.loads(json.dumps(platform)))
    assert spec.tenants
