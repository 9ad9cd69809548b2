"""Fair share of a pool's branch network interfaces (issue 23), judged by cel-python on the
rendered placement policy (tests/helpers/vap.py); the same fixtures go to the real API server in
tests/live/test_fair_share_live.py.

The attack: the VPC resource controller sums the ``vpc.amazonaws.com/pod-eni`` requests of a pod's
containers (``controllers/core/pod_controller.go``, ``getAggregateResources``) and creates that many
branch interfaces (``pkg/provider/branch/trunk/trunk.go``). Before, the policy only asked that
*some* container request a value other than 0, so a second container asking for 37 was admitted:
one tenant could take six nodes' worth of the pool. Now the requests add up to exactly 1, init
containers ask for none, and dedicated tenants' pods ask for none."""

from __future__ import annotations

import copy
from typing import Any

import pytest

from tenancy.plan import admission
from tests.helpers.vap import admit
from tests.plan.test_admission import ALPHA_NS, pinned
from tests.plan.test_pool_admission import ENI, MEDIA_NS, decide, pooled, with_eni

POLICY = admission.placement_policy()
BINDING = admission.placement_binding()


def second_container(p: dict[str, Any], n: str, *, init: bool = False) -> dict[str, Any]:
    """``p`` with one more container (an init container when ``init``) asking for ``n`` branch interfaces."""
    p = copy.deepcopy(p)
    key = "initContainers" if init else "containers"
    taken = len(p["spec"]["containers"]) + len(p["spec"].get("initContainers", []))
    name = "greedy" if taken == 1 else f"greedy-{taken}"  # container names are unique across both lists
    p["spec"].setdefault(key, []).append(
        {"name": name, "image": "x", "resources": {"requests": {ENI: n}, "limits": {ENI: n}}})
    return p


def asking(n: str) -> dict[str, Any]:
    """A pooled pod whose only container asks for ``n`` (the webhook's 1 replaced)."""
    p = pooled()
    p["spec"]["containers"][0]["resources"] = {"requests": {ENI: n}, "limits": {ENI: n}}
    return p


def _count_rule_violations(p: dict[str, Any], namespace: dict[str, Any] = MEDIA_NS) -> list[str]:
    d = decide(p, namespace)
    assert d.applies
    return d.violations


# --------------------------------------------------------------------------------------------
# The attacks: refused


def test_a_second_container_asking_for_37_is_refused() -> None:
    v = _count_rule_violations(second_container(pooled(), "37"))
    assert len(v) == 1, v
    assert "asks for vpc.amazonaws.com/pod-eni 1 in container app and in 1 more" in v[0]
    assert "exactly one branch network interface" in v[0]


@pytest.mark.parametrize("n", ["2", "37"])
def test_one_container_asking_for_more_than_one_is_refused(n: str) -> None:
    v = _count_rule_violations(asking(n))
    assert len(v) == 1 and f"pod-eni {n} in container app" in v[0], v


def test_two_containers_asking_for_one_each_is_refused() -> None:
    assert decide(second_container(pooled(), "1")).denied


def test_an_init_container_asking_is_refused() -> None:
    v = _count_rule_violations(second_container(pooled(), "1", init=True))
    assert len(v) == 1 and "in init container greedy" in v[0], v


@pytest.mark.parametrize("n", ["1", "37"])
def test_a_dedicated_tenants_pod_asking_is_refused(n: str) -> None:
    p = pinned()
    p["spec"]["containers"][0]["resources"] = {"requests": {ENI: n}, "limits": {ENI: n}}
    v = _count_rule_violations(p, ALPHA_NS)
    assert len(v) == 1 and "(tenant alpha, dedicated nodes) must not request" in v[0], v
    assert decide(second_container(pinned(), n, init=True), ALPHA_NS).denied


# --------------------------------------------------------------------------------------------
# What the webhook produces, and harmless zeros: admitted


def test_the_webhooks_single_interface_is_admitted() -> None:
    assert not decide(pooled()).violations


def test_explicit_zeros_beside_the_one_are_admitted() -> None:
    p = second_container(pooled(), "0")
    p = second_container(p, "0", init=True)
    assert not decide(p).violations


def test_the_interface_on_a_later_container_is_admitted() -> None:
    p = pooled(eni=False)
    p["spec"]["containers"].append({"name": "side", "image": "x",
                                    "resources": {"requests": {ENI: "1"}, "limits": {ENI: "1"}}})
    assert not decide(p).violations


def test_dedicated_pods_without_the_resource_are_admitted() -> None:
    assert not decide(pinned(), ALPHA_NS).violations


def test_updates_of_an_existing_pod_are_not_recounted() -> None:
    # Container resources are immutable on a pod (resize covers cpu and memory only, through its own
    # subresource); a placement update of a pod admitted before the rule is judged on placement alone.
    old = asking("2")
    new = copy.deepcopy(old)
    new["spec"]["tolerations"].append({"key": "node.kubernetes.io/disk-pressure", "operator": "Exists",
                                       "effect": "NoSchedule"})
    assert not decide(new, operation="UPDATE", old_pod=old).violations


# --------------------------------------------------------------------------------------------
# Negative controls: the evaluator tells the old rule from the new


def _old_rule_policy() -> dict[str, Any]:
    """Today's policy without the two counting rules (only 'some container asks')."""
    weak = copy.deepcopy(POLICY)
    weak["spec"]["validations"] = [v for v in weak["spec"]["validations"]
                                   if "podEniSingle" not in v["expression"]
                                   and "variables.eniInitContainers) == 0" not in v["expression"]]
    assert len(weak["spec"]["validations"]) == len(POLICY["spec"]["validations"]) - 2
    return weak


@pytest.mark.parametrize("build,namespace", [
    (lambda: second_container(pooled(), "37"), MEDIA_NS),
    (lambda: second_container(pooled(), "1", init=True), MEDIA_NS),
    (lambda: with_eni(pinned()), ALPHA_NS),
], ids=["second-container-37", "init-container", "dedicated"])
def test_negative_control_the_old_policy_admits_each_attack(build: Any, namespace: dict[str, Any]) -> None:
    p = build()
    assert decide(p, namespace).denied
    assert not admit(_old_rule_policy(), BINDING, p, namespace).denied
