"""The placement policy for POOLED tenants (issue 13), judged like the dedicated case
(tests/plan/test_admission.py): cel-python evaluates the rendered policy's CEL with the API
server's admission semantics (tests/helpers/vap.py) against pod fixtures; the same fixtures are
asked of the real API server in tests/live/test_pool_admission_live.py.

A pooled tenant's namespace carries ``tenancy/tenant=<t>`` AND ``tenancy/pool=<p>``; its pods must
select and tolerate exactly ``tenancy/pool=<p>``, tolerate no ``tenancy/tenant`` taint and no other
pool's, and carry the ``vpc.amazonaws.com/pod-eni`` request the VPC resource controller's webhook
adds for pods its SecurityGroupPolicy matches. A dedicated tenant's pods never tolerate a pool."""

from __future__ import annotations

import copy
from typing import Any

import pytest

from tenancy.plan import admission
from tests.helpers.vap import Decision, admit
from tests.plan.test_admission import DEFAULT_TOLERATIONS, ns, own_toleration, pinned, pod, required_affinity

POLICY = admission.placement_policy()
BINDING = admission.placement_binding()
ENI = "vpc.amazonaws.com/pod-eni"


def pool_ns(name: str = "media", pool: str = "shared-a", tenant: str | None = None) -> dict[str, Any]:
    out = ns(name, tenant or name)
    out["metadata"]["labels"]["tenancy/pool"] = pool
    return out


MEDIA_NS = pool_ns()
"""Tenant media, pooled on shared-a."""
ALPHA_NS = ns("alpha", "alpha")
"""Tenant alpha, dedicated nodes."""


def pool_toleration(p: str = "shared-a") -> dict[str, Any]:
    return {"key": "tenancy/pool", "operator": "Equal", "value": p, "effect": "NoSchedule"}


def with_eni(p: dict[str, Any]) -> dict[str, Any]:
    """``p`` as the VPC resource controller's mutating webhook leaves it (HandleLinuxPod: limit and
    request of 1 on the first container)."""
    p = copy.deepcopy(p)
    p["spec"]["containers"][0]["resources"] = {"limits": {ENI: "1"}, "requests": {ENI: "1"}}
    return p


def pooled(p: str = "shared-a", namespace: str = "media", eni: bool = True, **kw: Any) -> dict[str, Any]:
    """A pod that every pooled rule admits in ``namespace`` (after the SGP webhook when ``eni``)."""
    out = pod(selector={"tenancy/pool": p}, tolerations=[pool_toleration(p), *DEFAULT_TOLERATIONS],
              namespace=namespace, **kw)
    return with_eni(out) if eni else out


def in_pool(p: str) -> dict[str, Any]:
    return {"key": "tenancy/pool", "operator": "In", "values": [p]}


def decide(p: dict[str, Any], namespace: dict[str, Any] = MEDIA_NS, **kw: Any) -> Decision:
    return admit(POLICY, BINDING, p, namespace, **kw)


# --------------------------------------------------------------------------------------------
# Allowed


def test_pooled_pod_on_its_pool_is_admitted() -> None:
    d = decide(pooled())
    assert d.applies and not d.violations


def test_pooled_pod_pinned_by_required_affinity_is_admitted() -> None:
    p = with_eni(pod(affinity=required_affinity([in_pool("shared-a"), {
        "key": "topology.kubernetes.io/zone", "operator": "In", "values": ["eu-west-1a"]}]),
        tolerations=[pool_toleration()], namespace="media"))
    assert not decide(p).violations


def test_eni_request_in_any_container_counts() -> None:
    # The controller checks every container (pkg/utils/helper.go PodHasENIRequest).
    p = pooled(eni=False)
    p["spec"]["containers"].append({"name": "side", "image": "x", "resources": {"requests": {ENI: "1"}}})
    assert not decide(p).violations


def test_dedicated_tenant_unchanged_by_pools() -> None:
    # Same fixture as the dedicated tests: no pod-eni needed, tenant pinning as before.
    assert not decide(pinned(), ALPHA_NS).violations


def test_pool_comes_from_the_namespace_label_not_the_pod() -> None:
    # Two pooled tenants on different pools: each admitted only on its own.
    other = pool_ns("news", "shared-b")
    assert not decide(pooled("shared-b", "news"), other).violations
    assert decide(pooled("shared-a", "news"), other).denied


def test_resource_controller_may_write_the_eni_annotation_later() -> None:
    old = pooled()
    old["spec"]["nodeName"] = "ip-10-40-80-5.eu-west-1.compute.internal"
    new = copy.deepcopy(old)
    new["metadata"]["annotations"] = {ENI: '[{"eniId":"eni-0abc","vlanId":1}]'}
    for user in admission.RESOURCE_CONTROLLER_USERS:
        d = decide(new, operation="UPDATE", old_pod=old, user=user)
        assert d.applies and not d.violations, user


# --------------------------------------------------------------------------------------------
# Denied


def test_pooled_pod_without_a_selector_is_denied_with_the_fix() -> None:
    p = with_eni(pod(tolerations=[pool_toleration()], namespace="media"))
    d = decide(p)
    assert d.denied and d.violations == [
        'pods in namespace media must run on the nodes of pool shared-a: set spec.nodeSelector {"tenancy/pool": '
        '"shared-a"} and the toleration {key: tenancy/pool, operator: Equal, value: shared-a, effect: NoSchedule} '
        "(a required node affinity with tenancy/pool In [shared-a] in every nodeSelectorTerm also works)"]


def test_pooled_pod_selecting_its_tenant_label_is_denied() -> None:
    # Pool nodes carry no tenancy/tenant label; the dedicated pinning is not the pooled one.
    p = with_eni(pinned("media", namespace="media"))
    d = decide(p)
    assert d.denied and any("must run on the nodes of pool shared-a" in v for v in d.violations)


def test_pooled_pod_selecting_another_pool_is_denied() -> None:
    d = decide(pooled("shared-b"))
    assert d.denied and len(d.violations) == 2  # selector, and the other pool's toleration
    assert any("tenancy/pool=shared-b is not allowed" in v and "another pool" in v for v in d.violations)


def test_pooled_pod_tolerating_another_pools_taint_is_denied() -> None:
    p = pooled()
    p["spec"]["tolerations"].append(pool_toleration("shared-b"))
    d = decide(p)
    assert d.denied and d.violations == [
        "toleration of the taint tenancy/pool=shared-b is not allowed in namespace media: it would let the pod "
        "onto the nodes of another pool; tolerate only tenancy/pool=shared-a with operator Equal"]


def test_pooled_pod_tolerating_every_pool_is_denied() -> None:
    p = pooled()
    p["spec"]["tolerations"].append({"key": "tenancy/pool", "operator": "Exists"})
    d = decide(p)
    assert d.denied and "with operator Exists (every pool)" in d.violations[0]


@pytest.mark.parametrize("tol", [own_toleration("media"), own_toleration("alpha"),
                                 {"key": "tenancy/tenant", "operator": "Exists"}])
def test_pooled_pod_tolerating_any_tenant_taint_is_denied(tol: dict[str, Any]) -> None:
    # Even "its own" tenant value: a pooled tenant has no dedicated nodes, so any tenancy/tenant
    # toleration can only be a way onto someone else's.
    p = pooled()
    p["spec"]["tolerations"].append(tol)
    d = decide(p)
    assert d.denied and len(d.violations) == 1
    assert "toleration of the taint tenancy/tenant" in d.violations[0]
    assert "tolerate only tenancy/pool=shared-a" in d.violations[0]


@pytest.mark.parametrize("tol", [pool_toleration("shared-a"), {"key": "tenancy/pool", "operator": "Exists"}])
def test_dedicated_pod_tolerating_a_pool_is_denied(tol: dict[str, Any]) -> None:
    p = pinned()
    p["spec"]["tolerations"].append(tol)
    d = decide(p, ALPHA_NS)
    assert d.denied and len(d.violations) == 1
    assert "tenant alpha has dedicated nodes" in d.violations[0]
    assert "tolerate only tenancy/tenant=alpha" in d.violations[0]


def test_dedicated_pod_selecting_a_pool_is_denied() -> None:
    p = pooled(namespace="alpha")
    d = decide(p, ALPHA_NS)
    assert d.denied and any("must run on the nodes of tenant alpha" in v for v in d.violations)


def test_pooled_pod_without_pod_eni_is_denied() -> None:
    """The SG-for-pods webhook did not run (it fails open: failurePolicy Ignore): refused."""
    d = decide(pooled(eni=False))
    assert d.denied and len(d.violations) == 1
    assert "must request vpc.amazonaws.com/pod-eni" in d.violations[0]
    assert "SecurityGroupPolicy tenancy-pod-security-groups" in d.violations[0]


def test_pod_eni_of_zero_does_not_count() -> None:
    p = pooled(eni=False)
    p["spec"]["containers"][0]["resources"] = {"requests": {ENI: "0"}}
    assert decide(p).denied


def test_fargate_label_does_not_skip_the_eni_rule() -> None:
    # The webhook's Fargate branch annotates instead of requesting pod-eni (pod_webhook.go
    # WhichPod): a tenant labelling its pod as Fargate gets no branch ENI, so it is refused.
    p = pooled(eni=False)
    p["metadata"]["labels"] = {"eks.amazonaws.com/fargate-profile": "x"}
    assert decide(p).denied


@pytest.mark.parametrize("namespace", [MEDIA_NS, ALPHA_NS], ids=["pooled", "dedicated"])
def test_creating_a_pod_with_the_eni_annotation_is_denied(namespace: dict[str, Any]) -> None:
    name = namespace["metadata"]["name"]
    p = pooled() if name == "media" else pinned()
    p["metadata"]["annotations"] = {ENI: '[{"eniId":"eni-0other","vlanId":3}]'}
    d = decide(p, namespace)
    assert d.denied and d.violations == [next(v["message"] for v in POLICY["spec"]["validations"]
                                              if "annotations" in v["expression"])]


def test_tenant_writing_the_eni_annotation_later_is_denied() -> None:
    old = pooled()
    new = copy.deepcopy(old)
    new["metadata"]["annotations"] = {ENI: '[{"eniId":"eni-0other","vlanId":3}]'}
    d = decide(new, operation="UPDATE", old_pod=old, user="live-media-edit")
    assert d.applies and d.denied
    # Removing or changing it as the tenant: denied too.
    d2 = decide(old, operation="UPDATE", old_pod=new, user="live-media-edit")
    assert d2.denied


def test_update_keeping_the_annotation_is_not_checked() -> None:
    old = pooled()
    old["metadata"]["annotations"] = {ENI: "[]"}
    new = copy.deepcopy(old)
    new["metadata"]["labels"] = {"app": "web"}
    assert not decide(new, operation="UPDATE", old_pod=old).applies


def test_every_message_expression_evaluates_in_a_pooled_namespace() -> None:
    bad = pod(selector={"tenancy/pool": "shared-b"}, namespace="media",
              tolerations=[own_toleration("alpha"), pool_toleration("shared-b"), {"key": "CriticalAddonsOnly"},
                           {"operator": "Exists"}], node_name="n1")
    bad["metadata"]["annotations"] = {ENI: "[]"}
    d = decide(bad)
    # All but the branch-interface count rules (this pod asks for none; tests/plan/test_fair_share_admission.py)
    counting = [v for v in POLICY["spec"]["validations"]
                if "podEniSingle" in v["expression"] or "eniContainers" in v["expression"]]
    assert len(counting) == 2
    assert len(d.violations) == len(POLICY["spec"]["validations"]) - len(counting)
    statics = {v["message"] for v in POLICY["spec"]["validations"] if "messageExpression" in v}
    assert not statics & set(d.violations)


# --------------------------------------------------------------------------------------------
# Negative controls: the evaluator notices a weakened policy


def _weaken(variable: str, old: str, new: str) -> dict[str, Any]:
    weak = copy.deepcopy(POLICY)
    hits = 0
    for v in weak["spec"]["variables"]:
        if v["name"] == variable and old in v["expression"]:
            v["expression"] = v["expression"].replace(old, new)
            hits += 1
    assert hits == 1, variable
    return weak


def test_negative_control_pool_blind_policy_admits_a_pooled_pod_on_a_tenant_taint() -> None:
    """The pre-pool rule (own tenant value allowed in any namespace) would admit a pooled pod
    tolerating tenancy/tenant=media; the policy refuses it."""
    p = pooled()
    p["spec"]["tolerations"].append(own_toleration("media"))
    weak = _weaken("foreignTolerations", "!(!variables.pooled && ", "!(")
    assert decide(p).denied
    assert not admit(weak, BINDING, p, MEDIA_NS).denied


def test_negative_control_without_the_pool_toleration_rule_a_dedicated_pod_reaches_a_pool() -> None:
    p = pinned()
    p["spec"]["tolerations"].append(pool_toleration())
    weak = copy.deepcopy(POLICY)
    weak["spec"]["validations"] = [v for v in weak["spec"]["validations"]
                                   if "foreignPoolTolerations" not in v["expression"]]
    assert decide(p, ALPHA_NS).denied
    assert not admit(weak, BINDING, p, ALPHA_NS).denied


def test_negative_control_without_the_eni_rule_a_pod_escapes_its_security_group() -> None:
    weak = copy.deepcopy(POLICY)
    weak["spec"]["validations"] = [v for v in weak["spec"]["validations"] if "podEniRequested" not in v["expression"]]
    assert decide(pooled(eni=False)).denied
    assert not admit(weak, BINDING, pooled(eni=False), MEDIA_NS).denied


def test_negative_control_namespace_without_the_pool_label_is_treated_as_dedicated() -> None:
    # The pool label is what makes a namespace pooled: without it, the pooled pod is refused
    # as a dedicated tenant's (it selects no tenant) — the label is load-bearing.
    unlabelled = ns("media", "media")
    assert not decide(pooled()).violations
    d = decide(pooled(), unlabelled)
    assert d.denied and any("must run on the nodes of tenant media" in v for v in d.violations)
