"""The speed benchmark's floors (benchmarks/render_vs_sdk.py) register the very resources of the
render they are compared with: same type tokens, names and inputs — else the ratio it prints
would compare different work. Timing itself is the benchmark's job, not a test's."""

from __future__ import annotations

import sys
from collections import Counter
from pathlib import Path
from typing import Any

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "benchmarks"))
from render_scaling import platform, pooled_platform  # noqa: E402
from render_vs_sdk import _Echo, _sdk_floor, _typed_class  # noqa: E402

from tenancy.render import render_spec  # noqa: E402


@pytest.fixture(scope="module", params=["dedicated", "pooled"])
def resources(request: pytest.FixtureRequest) -> list[dict[str, Any]]:
    """Both benchmark platforms: dedicated tenants, and the pooled one (``--pooled``), whose
    SecurityGroupPolicies are a CRD's kind (no pulumi_kubernetes class)."""
    spec = platform(2) if request.param == "dedicated" else pooled_platform(7)
    return render_spec(spec, stack="bench").resources


def _custom(seen: list[tuple[str, str, dict[str, Any]]]) -> Counter[tuple[str, str, tuple[str, ...]]]:
    """Custom resources (the mocks also see components: the library's own and pulumi-eks's)."""
    return Counter((t, n, tuple(sorted(i))) for t, n, i in seen
                   if not t.startswith("tenancy:") and t != "eks:index:Cluster")


def _tail(urn: str) -> str:
    """``urn:pulumi:STACK::PROJECT::TYPES::NAME`` without stack and project."""
    return urn.split("::", 2)[2]


@pytest.mark.parametrize("typed", [False, True], ids=["plain", "typed"])
def test_floor_registers_the_renders_resources(resources: list[dict[str, Any]], typed: bool) -> None:
    echo = _Echo(record=True)
    _sdk_floor(resources, typed=typed, mocks=echo)
    assert echo.seen is not None
    assert _custom(echo.seen) == _custom([(r["type"], r["name"], r["inputs"]) for r in resources if r["custom"]])
    components = Counter(t for t, _, _ in echo.seen if t.startswith("tenancy:") or t == "eks:index:Cluster")
    assert components == Counter(r["type"] for r in resources if not r["custom"])
    # the same tree: every resource under the same parents (URN without its stack and project)
    assert sorted(map(_tail, echo.urns)) == sorted(_tail(r["urn"]) for r in resources)
    if typed:  # pulumi-eks's component too, with the render's inputs (a remote component)
        [eks] = [i for t, _, i in echo.seen if t == "eks:index:Cluster"]
        [rendered] = [r["inputs"] for r in resources if r["type"] == "eks:index:Cluster"]
        assert set(eks) == set(rendered) and eks["name"] == rendered["name"]


def test_typed_floor_uses_the_provider_sdk_classes() -> None:
    import pulumi_aws as aws
    import pulumi_kubernetes as k8s

    assert _typed_class("aws:ec2/securityGroup:SecurityGroup")[0] is aws.ec2.SecurityGroup  # type: ignore[index]
    assert _typed_class("kubernetes:networking.k8s.io/v1:NetworkPolicy")[0] is k8s.networking.v1.NetworkPolicy  # type: ignore[index]
    assert _typed_class("pulumi:providers:kubernetes")[0] is k8s.Provider  # type: ignore[index]
    assert _typed_class("aws:ec2/securityGroup:SecurityGroup")[1]["vpcId"] == "vpc_id"  # type: ignore[index]
    assert _typed_class("tenancy:index:Tenant") is None


def test_negative_control_a_floor_creating_children_before_parents_is_caught(
        resources: list[dict[str, Any]], monkeypatch: pytest.MonkeyPatch) -> None:
    """The floor's earlier order (every referenced resource first, before its own parent) registers
    different URNs: the tree check above sees it."""
    import render_vs_sdk

    def referenced_first(res: list[dict[str, Any]], ids: dict[str, str]) -> list[dict[str, Any]]:
        return sorted(res, key=lambda r: 0 if r.get("id") in ids else 1)

    monkeypatch.setattr(render_vs_sdk, "_creation_order", referenced_first)
    echo = _Echo(record=True)
    _sdk_floor(resources, typed=True, mocks=echo)
    assert sorted(map(_tail, echo.urns)) != sorted(_tail(r["urn"]) for r in resources)
