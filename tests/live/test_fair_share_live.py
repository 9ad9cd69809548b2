"""Fair share on shared nodes and a shared control plane (issue 23), judged by the real API server:
the branch-interface count rules of the placement policy on the SAME fixtures as the CEL tests
(tests/plan/test_fair_share_admission.py), the ResourceQuota alone capping branch interfaces,
object counts and local disk, and the disruption-budget policy (tests/plan/test_disruption_admission.py).
Every fence has a negative control: lift it, and the attack is admitted.

The pooled tenants ``media`` (pool ``shared-a``) and ``press`` join the session's cluster through
tests/live/test_pool_live.py's ``pooled_objects`` (the bundle's manifests, new quotas included)."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pytest

from tenancy.plan import admission as placement
from tests.helpers import live
from tests.helpers.controlplane import Kube, wait_for
from tests.helpers.vap import admit
from tests.live.test_pool_live import pooled_objects  # noqa: F401  (module fixture: media and press)
from tests.plan.test_admission import pinned
from tests.plan.test_disruption_admission import NEVER, SATISFIABLE, pdb
from tests.plan.test_fair_share_admission import ENI, asking, second_container
from tests.plan.test_pool_admission import pooled, with_eni

pytestmark = pytest.mark.live
Rendered = dict[str, list[dict[str, Any]]]


def _placement(rendered: Rendered) -> tuple[dict[str, Any], dict[str, Any]]:
    objs = rendered["platform"]
    policy = next(o for o in objs if o["kind"] == "ValidatingAdmissionPolicy"
                  and o["metadata"]["name"] == placement.POLICY_NAME)
    binding = next(o for o in objs if o["kind"] == "ValidatingAdmissionPolicyBinding"
                   and o["spec"]["policyName"] == placement.POLICY_NAME)
    return policy, binding


COUNT_CASES: list[tuple[str, Callable[[], dict[str, Any]], bool]] = [
    ("webhook-single", lambda: pooled(), False),
    ("zeros-beside-the-one", lambda: second_container(second_container(pooled(), "0"), "0", init=True), False),
    ("second-container-37", lambda: second_container(pooled(), "37"), True),
    ("one-container-2", lambda: asking("2"), True),
    ("init-container", lambda: second_container(pooled(), "1", init=True), True),
    ("dedicated-asks-1", lambda: with_eni(pinned()), True),
]


def _restricted_all(p: dict[str, Any]) -> dict[str, Any]:
    p = live.restricted(p)
    for c in p["spec"].get("initContainers", []):
        c["securityContext"] = {"allowPrivilegeEscalation": False, "capabilities": {"drop": ["ALL"]}}
    return p


@pytest.mark.parametrize("case", COUNT_CASES, ids=[c[0] for c in COUNT_CASES])
def test_branch_interface_counts_agree_with_the_cel_tests(case: tuple[str, Callable[[], dict[str, Any]], bool],
                                                          kube: Kube, applied: Rendered,
                                                          pooled_objects: dict[str, Any]) -> None:  # noqa: F811
    _, build, denied = case
    p = _restricted_all(build())
    ns_name = p["metadata"]["namespace"]
    policy, binding = _placement(applied)
    cel = admit(policy, binding, p, kube.get(f"/api/v1/namespaces/{ns_name}"))
    assert cel.denied == denied, cel.violations
    server = live.admission(live.persona(kube, ns_name, "edit"), p)
    if denied:
        assert server.by_policy(placement.POLICY_NAME), server.message
        assert server.policy_message(placement.POLICY_NAME) in cel.violations
    else:
        assert server.admitted, server.message


@pytest.fixture
def placement_lifted(kube: Kube, applied: Rendered) -> Iterator[None]:
    """The placement policy's binding deleted (so only the quota judges), restored after."""
    _, binding = _placement(applied)
    probe = live.unpinned_probe("zeta")
    kube.delete_obj(binding)
    try:
        live.wait_until_policy_enforced(kube, probe, placement.POLICY_NAME, enforced=False)
        yield
    finally:
        kube.apply(binding)
        live.wait_until_policy_enforced(kube, probe, placement.POLICY_NAME)


def test_the_quota_alone_caps_branch_interfaces_and_negative_control(
        kube: Kube, applied: Rendered, pooled_objects: dict[str, Any], placement_lifted: None) -> None:  # noqa: F811
    """Without the placement policy, the ResourceQuota still refuses 37 branch interfaces in media (its
    quota is quota.pods = 10) and any in alpha (0). Lift media's quota too: the 37 are admitted."""
    greedy = _restricted_all(second_container(pooled(), "37"))
    media = live.persona(kube, "media", "edit")
    v = live.admission(media, greedy)
    assert v.by_quota and f"requests.{ENI}" in v.message, v.message
    v = live.admission(live.persona(kube, "alpha", "edit"), _restricted_all(with_eni(pinned())))
    assert v.by_quota and f"requests.{ENI}" in v.message and "limited: " in v.message, v.message
    assert live.admission(media, _restricted_all(pooled())).admitted  # one interface fits

    [quota] = [q for q in pooled_objects["media"] if q["kind"] == "ResourceQuota"
               and q["metadata"]["name"] == "tenancy-quota"]
    assert quota["spec"]["hard"][f"requests.{ENI}"] == quota["spec"]["hard"]["pods"] == "10"
    kube.delete_obj(quota)
    try:
        wait_for("37 interfaces admitted without the quota", lambda: live.admission(media, greedy).admitted, 60)
    finally:
        kube.apply(quota)
        live.wait_for_quota_status(kube, quota)


def test_object_counts_cap_secrets_and_negative_control(kube: Kube, applied: Rendered) -> None:
    """zeta may hold 3 Secrets (quota.objects.secrets): the fourth is refused; lift the quota, admitted."""
    quota = live.of_kind(applied, "zeta", "ResourceQuota")[0]
    assert quota["spec"]["hard"]["count/secrets"] == "3"
    editor = live.persona(kube, "zeta", "edit")

    def secret(i: int) -> dict[str, Any]:
        return {"apiVersion": "v1", "kind": "Secret", "metadata": {"name": f"s{i}", "namespace": "zeta"},
                "stringData": {"k": "v"}}

    made = [secret(i) for i in range(3)]
    try:
        for s in made:
            v = live.admission(editor, s, dry_run=False)
            assert v.admitted, v.message
        v = live.admission(editor, secret(3))
        assert v.by_quota and "count/secrets" in v.message, v.message
        kube.delete_obj(quota)
        try:
            wait_for("the fourth Secret admitted without the quota",
                     lambda: live.admission(editor, secret(3)).admitted, 60)
        finally:
            kube.apply(quota)
            live.wait_for_quota_status(kube, quota)
        wait_for("the count enforced again", lambda: live.admission(editor, secret(3)).by_quota, 60)
    finally:
        for s in made:
            if kube.exists(s):
                kube.delete_obj(s)


def test_local_disk_is_capped_per_container_and_per_namespace(kube: Kube, applied: Rendered) -> None:
    quota = live.of_kind(applied, "beta", "ResourceQuota")[0]["spec"]["hard"]
    lim = live.of_kind(applied, "beta", "LimitRange")[0]["spec"]["limits"][0]
    editor = live.persona(kube, "beta", "edit")
    # One container over the LimitRange's maximum.
    p = live.pinned_pod("beta", "disk")
    p["spec"]["containers"][0]["resources"] = {"limits": {"ephemeral-storage": "5Gi"},
                                               "requests": {"ephemeral-storage": "1Gi"}}
    v = live.admission(editor, p)
    assert not v.admitted and "maximum ephemeral-storage usage per Container" in v.message, v.message
    # Containers each within the maximum, together over the namespace's quota.
    top = lim["max"]["ephemeral-storage"]
    n = int(float(quota["requests.ephemeral-storage"].rstrip("Gi")) // float(top.rstrip("Gi"))) + 1
    p = live.pinned_pod("beta", "disks")
    base = p["spec"]["containers"][0]
    p["spec"]["containers"] = [{**base, "name": f"c{i}", "resources": {
        "limits": {"ephemeral-storage": top}, "requests": {"ephemeral-storage": top}}} for i in range(n)]
    v = live.admission(editor, p)
    assert v.by_quota and "ephemeral-storage" in v.message, v.message
    # A container declaring nothing gets the defaults (so the quota can count it).
    v = live.admission(editor, live.pinned_pod("beta", "plain"))
    assert v.admitted and v.obj is not None, v.message
    res = v.obj["spec"]["containers"][0]["resources"]
    assert res["requests"]["ephemeral-storage"] == lim["defaultRequest"]["ephemeral-storage"]
    assert res["limits"]["ephemeral-storage"] == lim["default"]["ephemeral-storage"]


# --------------------------------------------------------------------------------------------
# Disruption budgets on pools


@pytest.fixture(scope="module")
def budget_policy(kube: Kube, applied: Rendered, pooled_objects: dict[str, Any]) -> Iterator[dict[str, Any]]:  # noqa: F811
    """The disruption-budget policy and binding as the platform registers them with pooled tenants
    (tests/components/test_fair_share_render.py: the render's policy is this one)."""
    objs = placement.disruption_budget_manifests()
    for o in objs:
        kube.apply(o)
    try:
        live.wait_until_policy_enforced(kube, pdb(maxUnavailable=0), placement.DISRUPTION_POLICY_NAME)
        yield objs[1]
    finally:
        for o in reversed(objs):
            kube.delete_obj(o)


@pytest.mark.parametrize("case", NEVER, ids=[c[0] for c in NEVER])
def test_budgets_that_block_every_drain_are_refused_live(case: tuple[str, dict[str, Any]], kube: Kube,
                                                         budget_policy: dict[str, Any]) -> None:
    v = live.admission(live.persona(kube, "media", "edit"), pdb(**case[1]))
    assert v.by_policy(placement.DISRUPTION_POLICY_NAME), v.message
    assert "could ever be drained" in v.message or "maxUnavailable 0" in v.message, v.message


@pytest.mark.parametrize("case", SATISFIABLE, ids=[c[0] for c in SATISFIABLE])
def test_satisfiable_budgets_are_admitted_live(case: tuple[str, dict[str, Any]], kube: Kube,
                                               budget_policy: dict[str, Any]) -> None:
    v = live.admission(live.persona(kube, "media", "edit"), pdb(**case[1]))
    assert v.admitted, v.message


def test_budgets_without_always_allow_are_refused_and_dedicated_tenants_keep_theirs(
        kube: Kube, budget_policy: dict[str, Any]) -> None:
    v = live.admission(live.persona(kube, "media", "edit"), pdb(evict=None, maxUnavailable=1))
    assert v.by_policy(placement.DISRUPTION_POLICY_NAME) and "AlwaysAllow" in v.message, v.message
    # A dedicated tenant's budget holds only its own nodes: not selected.
    v = live.admission(live.persona(kube, "alpha", "edit"), pdb("alpha", evict=None, maxUnavailable=0))
    assert v.admitted, v.message


def test_negative_control_without_the_budget_binding_the_blocking_budget_is_admitted(
        kube: Kube, budget_policy: dict[str, Any]) -> None:
    blocking = pdb(maxUnavailable=0)
    kube.delete_obj(budget_policy)
    try:
        live.wait_until_policy_enforced(kube, blocking, placement.DISRUPTION_POLICY_NAME, enforced=False)
        assert live.admission(live.persona(kube, "media", "edit"), blocking).admitted
    finally:
        kube.apply(budget_policy)
        live.wait_until_policy_enforced(kube, blocking, placement.DISRUPTION_POLICY_NAME)


def test_the_budget_policy_type_checks_without_warnings(kube: Kube, budget_policy: dict[str, Any]) -> None:
    policy = placement.disruption_budget_policy()

    def checked() -> dict[str, Any] | None:
        obj = kube.get(kube.path_of(policy))
        status = obj.get("status") or {}
        done = status.get("observedGeneration") == obj["metadata"]["generation"] and "typeChecking" in status
        return status if done else None

    status = wait_for("type checking of the budget policy", checked, live.ENFORCE_TIMEOUT)
    assert not status["typeChecking"].get("expressionWarnings"), status
