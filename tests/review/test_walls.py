"""The review of cluster network walls (issue 26) on real renders: facts, ``tenancy check`` and
``tenancy diff`` account for the Admin tier and for tenants owning NetworkPolicies.

Negative controls: a wall with its Deny removed, the guard unbound, and tenant-owned policies with
and without the Admin tier."""

from __future__ import annotations

import copy
from typing import Any

from tenancy.review import check
from tenancy.review.diff import isolation_changes
from tenancy.review.facts import facts_of
from tests.fixtures.specs import ALPHA, BETA, GAMMA, spec_with
from tests.helpers import review

Res = list[dict[str, Any]]
CNP = "kubernetes:networking.k8s.aws/v1alpha1:ClusterNetworkPolicy"
NP = "kubernetes:networking.k8s.io/v1:NetworkPolicy"


def self_service_spec() -> dict[str, Any]:
    alpha = {**copy.deepcopy(ALPHA), "selfService": {"networkPolicies": True}}
    beta = {**copy.deepcopy(BETA), "selfService": {"networkPolicies": True}}
    return spec_with([alpha, beta, GAMMA])


def res() -> Res:
    return review.resources(self_service_spec())


def violations(r: Res) -> dict[str, list[check.Violation]]:
    return {rule.id: v for rule, _, v in check.run_checks(r) if v}


def wall(r: Res, tenant: str) -> dict[str, Any]:
    return review.find(r, CNP, tenant, f"tenancy-tenant-{tenant}")


def tenant_np(tenant: str, name: str, spec: dict[str, Any]) -> dict[str, Any]:
    """A NetworkPolicy as ``tenancy verify`` reads a live one a tenant wrote (no URN of the render)."""
    return {"urn": f"live::{tenant}/{name}", "type": NP, "name": name, "tenant": tenant, "custom": True,
            "inputs": {"apiVersion": "networking.k8s.io/v1", "kind": "NetworkPolicy",
                       "metadata": {"name": name, "namespace": tenant}, "spec": spec}}


def colluding() -> Res:
    """beta admits alpha's namespace; alpha lets its pods out to beta (both self-service; no edge
    declares alpha -> beta: alpha allows beta, not the reverse)."""
    return [tenant_np("beta", "admit-alpha", {"podSelector": {}, "policyTypes": ["Ingress"], "ingress": [
                {"from": [{"namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": "alpha"}}}]}]}),
            tenant_np("alpha", "to-beta", {"podSelector": {}, "policyTypes": ["Egress"], "egress": [
                {"to": [{"namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": "beta"}}}]}]})]


def test_self_service_render_passes_every_rule_and_is_walled() -> None:
    r = res()
    assert violations(r) == {}
    f = facts_of(r)
    assert f.walls == {"alpha": {"adminTier": True, "networkPolicyGuard": True, "selfService": True},
                       "beta": {"adminTier": True, "networkPolicyGuard": True, "selfService": True},
                       "gamma": {"adminTier": True, "networkPolicyGuard": True, "selfService": False}}
    assert "walls" in f.document()


def test_tenant_owned_policies_open_no_cross_tenant_path() -> None:
    r = res()
    f = facts_of([*r, *colluding()])
    assert f.network[("alpha", "beta")]["networkPolicy"] == []
    assert not f.open("alpha", "beta")
    # negative control: the same tenant policies without the ClusterNetworkPolicies open the path
    no_walls = facts_of([x for x in [*r, *colluding()] if x["type"] != CNP])
    assert no_walls.network[("alpha", "beta")]["networkPolicy"] == [("any", 0, 65535)]


def test_declared_edges_still_flow_through_the_walls() -> None:
    f = facts_of(res())  # alpha allows beta (tests/fixtures/specs.py)
    plain = facts_of([x for x in res() if x["type"] != CNP])
    for pair in f.network:
        assert f.network[pair].get("networkPolicy") == plain.network[pair].get("networkPolicy"), pair


def test_negative_control_a_loosened_wall_is_reported_and_fails_check() -> None:
    base, head = res(), res()
    rules = wall(head, "alpha")["inputs"]["spec"]["ingress"]
    rules[:] = [x for x in rules if x["action"] != "Deny"]
    f = facts_of(head)
    assert f.walls["alpha"]["adminTier"] is False
    changes = isolation_changes(facts_of(base), f)
    assert any(c["change"] == "loosened" and c["tenant"] == "alpha" and "Admin-tier" in c["detail"] for c in changes)
    assert [v.tenant for v in violations(head)["no-fence-writes"]] == ["alpha", "alpha"]  # admins and editors


def test_negative_control_the_guard_unbound_fails_check() -> None:
    head = res()
    head.remove(next(x for x in head if x["type"].endswith("ValidatingAdmissionPolicyBinding")
                     and x["inputs"]["spec"]["policyName"] == "tenancy-platform-network-policies"))
    f = facts_of(head)
    assert f.walls["alpha"]["networkPolicyGuard"] is False
    assert {v.tenant for v in violations(head)["no-fence-writes"]} == {"alpha", "beta"}
    assert any(c["change"] == "loosened" and c["layer"] == "admission" and c["tenant"] == "alpha"
               for c in isolation_changes(facts_of(res()), f))


def test_turning_the_tier_off_is_a_loosening() -> None:
    spec = spec_with([ALPHA, BETA, GAMMA])
    off = copy.deepcopy(spec)
    off.setdefault("cluster", {})["clusterNetworkPolicies"] = False
    changes = isolation_changes(facts_of(review.resources(spec)), facts_of(review.resources(off)))
    assert {c["tenant"] for c in changes if c["change"] == "loosened" and "Admin-tier" in c["detail"]} >= {
        "alpha", "beta", "gamma"}
