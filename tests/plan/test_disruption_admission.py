"""Disruption budgets on shared pools (issue 23), judged by cel-python on the rendered policy
(tests/helpers/vap.py); the same budgets go to the real API server in tests/live/test_fair_share_live.py.

The attack: a tenant editor writes a PodDisruptionBudget with ``maxUnavailable: 0`` on a shared pool.
Every managed update of the pool's node group then fails with ``PodEvictionFailure`` after 15 minutes
(EKS user guide, managed node update behaviour), and the platform's ``pulumi up`` with it, for every
tenant of the pool. Budgets that can never be satisfied are refused in pooled namespaces, and every
budget there must let unhealthy pods go (``unhealthyPodEvictionPolicy: AlwaysAllow``)."""

from __future__ import annotations

import copy
from typing import Any

import pytest

from tenancy.plan import admission
from tests.helpers.vap import Decision, admit
from tests.plan.test_admission import ALPHA_NS
from tests.plan.test_pool_admission import MEDIA_NS

POLICY = admission.disruption_budget_policy()
BINDING = admission.disruption_budget_binding()


def pdb(namespace: str = "media", name: str = "web", evict: str | None = "AlwaysAllow", **spec: Any) -> dict[str, Any]:
    body: dict[str, Any] = {"selector": {"matchLabels": {"app": "web"}}, **spec}
    if evict is not None:
        body["unhealthyPodEvictionPolicy"] = evict
    return {"apiVersion": "policy/v1", "kind": "PodDisruptionBudget",
            "metadata": {"name": name, "namespace": namespace}, "spec": body}


def decide(obj: dict[str, Any], namespace: dict[str, Any] = MEDIA_NS, policy: dict[str, Any] = POLICY,
           **kw: Any) -> Decision:
    return admit(policy, BINDING, obj, namespace, resource="poddisruptionbudgets", group="policy", **kw)


NEVER = [
    ("max-unavailable-0", {"maxUnavailable": 0}),
    ("max-unavailable-0-percent", {"maxUnavailable": "0%"}),
    ("min-available-100-percent", {"minAvailable": "100%"}),
]
"""Budgets no replica count can ever satisfy."""
SATISFIABLE = [
    ("max-unavailable-1", {"maxUnavailable": 1}),
    ("max-unavailable-10-percent", {"maxUnavailable": "10%"}),
    ("min-available-50-percent", {"minAvailable": "50%"}),
    ("min-available-2", {"minAvailable": 2}),  # satisfiable with 3 replicas: admission cannot know (docs/pools.md)
    ("min-available-0", {"minAvailable": 0}),
]


@pytest.mark.parametrize("case", NEVER, ids=[c[0] for c in NEVER])
def test_budgets_that_block_every_drain_are_refused(case: tuple[str, dict[str, Any]]) -> None:
    d = decide(pdb(**case[1]))
    assert d.denied and len(d.violations) == 1, d.violations
    assert "PodDisruptionBudget web in namespace media" in d.violations[0]
    assert "pool shared-a" in d.violations[0]


@pytest.mark.parametrize("case", SATISFIABLE, ids=[c[0] for c in SATISFIABLE])
def test_satisfiable_budgets_are_admitted(case: tuple[str, dict[str, Any]]) -> None:
    d = decide(pdb(**case[1]))
    assert d.applies and not d.violations, d.violations


@pytest.mark.parametrize("evict", [None, "IfHealthyBudget"])
def test_budgets_kept_by_unready_pods_are_refused(evict: str | None) -> None:
    d = decide(pdb(evict=evict, maxUnavailable=1))
    assert d.denied and d.violations == [
        "PodDisruptionBudget web in namespace media must set spec.unhealthyPodEvictionPolicy: AlwaysAllow (under the "
        "default, IfHealthyBudget, pods that never become ready hold their node of the shared pool until the budget "
        "is met)"]


def test_dedicated_tenants_budgets_are_theirs() -> None:
    # A dedicated tenant's budget holds only its own nodes: the policy does not select its namespace.
    assert not decide(pdb("alpha", maxUnavailable=0, evict=None), ALPHA_NS).applies


def test_updates_that_leave_the_budget_alone_are_not_checked() -> None:
    old = pdb(maxUnavailable=0)
    new = copy.deepcopy(old)
    new["metadata"]["labels"] = {"app": "web"}
    assert not decide(new, operation="UPDATE", old_pod=old).applies
    tightened = copy.deepcopy(pdb(maxUnavailable=1))
    tightened["spec"]["maxUnavailable"] = 0
    assert decide(tightened, operation="UPDATE", old_pod=pdb(maxUnavailable=1)).denied


def test_policy_is_for_pooled_namespaces_and_fails_closed() -> None:
    spec = POLICY["spec"]
    assert spec["failurePolicy"] == "Fail" and BINDING["spec"]["validationActions"] == ["Deny"]
    assert spec["matchConstraints"]["resourceRules"][0]["apiGroups"] == ["policy"]
    keys = {e["key"] for e in spec["matchConstraints"]["namespaceSelector"]["matchExpressions"]}
    assert keys == {"tenancy/tenant", "tenancy/pool"}


def test_negative_control_the_evaluator_admits_the_attack_without_the_rules() -> None:
    weak = copy.deepcopy(POLICY)
    weak["spec"]["validations"] = [v for v in weak["spec"]["validations"] if "unhealthy" in v["expression"]]
    for _, body in NEVER:
        assert decide(pdb(**body)).denied
        assert not decide(pdb(**body), policy=weak).denied
