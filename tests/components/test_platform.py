"""Whole-platform properties, across every layer: stability when tenants change, attribution,
tagging, and bounded per-tenant work."""

from __future__ import annotations

from typing import Any

import pytest

from tenancy.render import RenderResult, render_spec
from tests.fixtures.specs import ALPHA, BETA, DELTA, GAMMA, spec_with


def _key(r: dict[str, Any]) -> tuple[str, str]:
    return r["type"], r["name"]


def _index(result: RenderResult) -> dict[tuple[str, str], dict[str, Any]]:
    return {_key(r): r for r in result.resources}


def _without_edges_to(tenants: list[dict[str, Any]], gone: set[str]) -> list[dict[str, Any]]:
    out = []
    for t in tenants:
        t = dict(t)
        if "allowFrom" in t:
            t["allowFrom"] = [p for p in t["allowFrom"] if p not in gone]
        out.append(t)
    return out


@pytest.fixture(scope="module")
def renders() -> dict[str, RenderResult]:
    return {
        "abc": render_spec(spec_with([ALPHA, BETA, GAMMA])),
        "adbc": render_spec(spec_with([ALPHA, DELTA, BETA, GAMMA])),
        "ac": render_spec(spec_with(_without_edges_to([ALPHA, GAMMA], {"beta"}))),
    }


@pytest.mark.parametrize(("before", "after"), [("abc", "adbc"), ("adbc", "ac"), ("abc", "ac")])
def test_a_tenants_resources_never_change_when_others_come_and_go(renders, before: str, after: str) -> None:
    a, b = _index(renders[before]), _index(renders[after])
    common = [k for k in a if k in b and a[k]["tenant"] is not None]
    assert common, "no tenant resources in common"
    changed = [k for k in common if (a[k]["inputs"], a[k]["tenant"], a[k]["parent"]) !=
               (b[k]["inputs"], b[k]["tenant"], b[k]["parent"])]
    assert changed == [], f"{before} → {after} changed other tenants' resources: {changed[:5]}"


PRIORITY_EXPANDER = ("kubernetes:core/v1:ConfigMap", "acme_cluster-autoscaler-configmap")
"""The one shared object that names every node group: the cluster-autoscaler's priority expander
reads a single ConfigMap (kube-system/cluster-autoscaler-priority-expander) of expressions over
node group names, so a new tenant's group is added to it (pulumi-kubernetes replaces the ConfigMap; see
test_adding_a_tenant_only_adds_its_group_to_the_priority_expander)."""


def test_adding_a_tenant_does_not_touch_shared_resources(renders) -> None:
    a, b = _index(renders["abc"]), _index(renders["adbc"])
    shared = [k for k in a if a[k]["tenant"] is None]
    changed = [k for k in shared if k in b and a[k]["inputs"] != b[k]["inputs"] and k != PRIORITY_EXPANDER]
    assert changed == [], f"adding tenant delta changed shared resources: {changed}"
    assert all(k in b for k in shared)


def test_adding_a_tenant_only_adds_its_group_to_the_priority_expander(renders) -> None:
    a, b = _index(renders["abc"]), _index(renders["adbc"])
    before = a[PRIORITY_EXPANDER]["inputs"]["data"]["priorities"].splitlines()
    after = b[PRIORITY_EXPANDER]["inputs"]["data"]["priorities"].splitlines()
    added = [line for line in after if line not in before]
    assert [line for line in before if line not in after] == []
    assert len(added) == 1 and "acme-delta" in added[0], added


def test_removing_a_tenant_removes_exactly_its_resources(renders) -> None:
    a, b = _index(renders["abc"]), _index(renders["ac"])
    gone = {k for k in a if k not in b}
    beta_owned = {k for k in a if a[k]["tenant"] == "beta"}
    alpha_edges_to_beta = {k for k in gone if a[k]["tenant"] == "alpha"}
    assert beta_owned <= gone
    assert gone - beta_owned == alpha_edges_to_beta
    # only alpha's edge resources for its (removed) allowFrom beta may go with it
    for k in alpha_edges_to_beta:
        assert "beta" in k[1], f"{k} of alpha disappeared although it does not concern beta"


def test_every_tenant_owns_its_own_component(renders) -> None:
    for result in renders.values():
        for t in result.spec.tenants:
            comps = [r for r in result.for_tenant(t.name) if r["type"] == "tenancy:index:Tenant"]
            assert [c["name"] for c in comps] == [t.name]


def test_taggable_tenant_aws_resources_carry_the_tenant_tag(renders) -> None:
    result = renders["abc"]
    missing = [
        (r["type"], r["name"]) for r in result.resources
        if r["tenant"] and r["type"].startswith("aws:") and "tags" in r["inputs"]
        and (r["inputs"]["tags"] or {}).get("tenancy/tenant") != r["tenant"]
    ]
    assert missing == []


def test_per_tenant_resource_count_does_not_grow_with_the_platform() -> None:
    """A tenant with the same spec costs the same number of resources among 3 or 25 tenants."""
    def count(n: int) -> int:
        tenants = [{"name": f"t{i:02d}", "slot": i, "serviceAccounts": ["app"]} for i in range(n)]
        result = render_spec(spec_with(tenants))
        return len(result.for_tenant("t00"))

    assert count(3) == count(25)


def test_node_groups_leave_desired_size_to_the_autoscaler(renders) -> None:
    groups = renders["abc"].of_type("aws:eks/nodeGroup:NodeGroup")
    assert {g["tenant"] for g in groups} >= {"alpha", "beta", "gamma"}
    for g in groups:
        assert g["ignoreChanges"] == ["scalingConfig.desiredSize"], g["name"]


def test_no_tenant_namespace_exists_before_the_placement_policy(renders) -> None:
    """Otherwise, on a first `pulumi up`, a tenant could create pods before they are pinned."""
    result = renders["abc"]
    by_urn = result.by_urn()
    kinds = {"ValidatingAdmissionPolicy", "ValidatingAdmissionPolicyBinding"}
    namespaces = result.of_type("kubernetes:core/v1:Namespace")
    assert {n["tenant"] for n in namespaces} == {"alpha", "beta", "gamma"}
    for ns in namespaces:
        waits_for = {by_urn[d]["inputs"].get("kind") for d in ns["dependencies"] if d in by_urn}
        assert kinds <= waits_for, (ns["name"], waits_for)


def test_no_tenant_namespace_exists_before_the_service_exposure_policy(renders) -> None:
    """Otherwise, on a first `pulumi up`, a tenant could create an externalIPs Service first."""
    result = renders["abc"]
    by_urn = result.by_urn()
    for ns in result.of_type("kubernetes:core/v1:Namespace"):
        waits_for = {(by_urn[d]["inputs"].get("kind"), (by_urn[d]["inputs"].get("metadata") or {}).get("name"))
                     for d in ns["dependencies"] if d in by_urn}
        for kind in ("ValidatingAdmissionPolicy", "ValidatingAdmissionPolicyBinding"):
            assert (kind, "tenancy-service-exposure") in waits_for, (ns["name"], waits_for)


@pytest.mark.parametrize("options", [
    {"network": {"tenantNetworkAcls": True}},
    {"identity": {"mode": "podIdentity", "accessPoints": True}},
    {"workloads": {"mesh": "istio", "istio": {"preinstalled": True, "cni": True},
                   "ingressControllerNamespace": "ingress"}},
], ids=["nacls", "pod-identity", "istio"])
def test_adding_a_tenant_changes_nothing_existing_with_options_on(options: dict[str, Any]) -> None:
    a = _index(render_spec(spec_with([ALPHA, BETA, GAMMA], **options)))
    b = _index(render_spec(spec_with([ALPHA, DELTA, BETA, GAMMA], **options)))
    assert [k for k in a if k not in b] == []
    assert [k for k in a if a[k]["inputs"] != b[k]["inputs"] and k != PRIORITY_EXPANDER] == []
