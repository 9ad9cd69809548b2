"""Isolation facts and ``tenancy diff`` for pooled tenants and tiers (issue 13).

The renders are the review helper's real renders, with tenant beta turned into a pooled tenant
the way the pooled render shapes it: its namespace labelled ``tenancy/pool``, no node group of
its own, the pool's node group (no tenant, labelled/tagged and tainted ``tenancy/pool=<pool>``,
as tenancy.components.cluster.PoolNodeGroup registers it) and its SecurityGroupPolicy (the bundle's)."""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

from tenancy.plan import kubernetes as pk
from tenancy.plan.validate import load_platform
from tenancy.review.diff import Render, diff_renders
from tenancy.review.facts import facts_of
from tests.fixtures.specs import spec_with
from tests.helpers import review

NODE_GROUP = "aws:eks/nodeGroup:NodeGroup"
NAMESPACE = "kubernetes:core/v1:Namespace"
SGP = "kubernetes:vpcresources.k8s.aws/v1beta1:SecurityGroupPolicy"
GROUPS = ["sg-0beta0000000000", "sg-0marker00000000"]


def _pool_group(pool: str) -> dict[str, Any]:
    return {"urn": f"urn:pulumi:review::tenancy::aws:eks/nodeGroup:NodeGroup::acme_pool-{pool}", "type": NODE_GROUP,
            "name": f"acme_pool-{pool}", "id": f"acme-pool-{pool}", "parent": "", "tenant": None, "custom": True,
            "inputs": {"labels": {"tenancy/pool": pool}, "tags": {"tenancy/pool": pool},
                       "taints": [{"key": "tenancy/pool", "value": pool, "effect": "NO_SCHEDULE"}]},
            "outputs": {}, "dependencies": [], "protect": False, "retainOnDelete": False, "deletedWith": "",
            "ignoreChanges": [], "provider": ""}


def pooled_beta(pool: str = "shared-a", tier: str = "standard", sgp: bool = True) -> list[dict[str, Any]]:
    res = [r for r in review.base() if not (r["type"] == NODE_GROUP and r.get("tenant") == "beta")]
    ns = review.find(res, NAMESPACE, "beta")
    ns["inputs"]["metadata"]["labels"].update({"tenancy/pool": pool, "tenancy/tier": tier})
    res.append(_pool_group(pool))
    if sgp:
        pools = [{"name": pool, "slot": 4, "nodes": {"instanceTypes": ["m6i.large"]}}]
        spec = load_platform(spec_with([{"name": "beta", "pool": pool}], nodePools=pools))
        m = pk.security_group_policy(spec.tenants[0], GROUPS)
        res.append({**copy.deepcopy(ns), "urn": ns["urn"].replace("Namespace::beta", "SecurityGroupPolicy::beta/sgp"),
                    "type": SGP, "name": f"beta/{pk.SGP_NAME}", "inputs": m})
    return res


def _diff(base: list[dict[str, Any]], head: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return list(diff_renders(Render(Path("b"), "tenancy", "review", base),
                             Render(Path("h"), "tenancy", "review", head))["isolation"])


def _placement(changes: list[dict[str, Any]]) -> list[tuple[str, str, str]]:
    return [(c["change"], c["tenant"], c["detail"]) for c in changes if c["layer"] == "placement"]


def test_facts_of_a_pooled_tenant() -> None:
    f = facts_of(pooled_beta())
    p = f.document()["placement"]["beta"]
    assert p["pool"] == "shared-a" and p["tier"] == "standard"
    assert p["taints"] == ["tenancy/pool=shared-a:NO_SCHEDULE"] and p["nodeGroups"] == 1
    assert p["podSecurityGroups"] == sorted(GROUPS)
    # dedicated tenants keep their own placement, with their tier
    assert f.document()["placement"]["alpha"]["taints"] == ["tenancy/tenant=alpha:NO_SCHEDULE"]
    assert "pool" not in f.document()["placement"]["alpha"]


def test_diff_reports_a_move_to_a_pool_and_back() -> None:
    moved = _placement(_diff(review.base(), pooled_beta(tier="premium")))
    assert [(c, t) for c, t, _ in moved] == [("loosened", "beta")], moved
    assert "moved from nodes of its own to the shared pool shared-a" in moved[0][2]
    # with its default pooled tier (standard), the tier change is reported too
    both = _placement(_diff(review.base(), pooled_beta()))
    assert [(c, t) for c, t, _ in both] == [("loosened", "beta"), ("tightened", "beta")], both
    back = _placement(_diff(pooled_beta(), review.base()))
    assert ("tightened", "beta") in [(c, t) for c, t, _ in back], back
    assert any("moved from the shared pool shared-a to nodes of its own" in d for _, _, d in back)


def test_diff_reports_a_pool_change_and_a_tier_change() -> None:
    other = _placement(_diff(pooled_beta("shared-a"), pooled_beta("shared-b")))
    assert [(c, t) for c, t, _ in other] == [("loosened", "beta")] and "to pool shared-b" in other[0][2]
    up = _placement(_diff(pooled_beta(tier="standard"), pooled_beta(tier="premium")))
    assert up == [("loosened", "beta", up[0][2])] and "standard → premium" in up[0][2]
    down = _placement(_diff(pooled_beta(tier="premium"), pooled_beta(tier="standard")))
    assert [(c, t) for c, t, _ in down] == [("tightened", "beta")]


def test_diff_reports_a_lost_security_group_policy() -> None:
    lost = _placement(_diff(pooled_beta(), pooled_beta(sgp=False)))
    assert [(c, t) for c, t, _ in lost] == [("loosened", "beta")] and "own security groups" in lost[0][2]


def test_negative_control_same_render_reports_nothing() -> None:
    assert _placement(_diff(pooled_beta(), pooled_beta())) == []


def test_check_requires_the_security_group_policy_of_a_pooled_tenant() -> None:
    from tenancy.review import check

    def rule(res: list[dict[str, Any]]) -> list[Any]:
        return [v for r, _, vs in check.run_checks(res) if r.id == "pooled-pod-security-groups" for v in vs]

    assert rule(pooled_beta()) == []
    [v] = rule(pooled_beta(sgp=False))
    assert v.tenant == "beta" and "pool shared-a" in v.message and "SecurityGroupPolicy" in v.message
