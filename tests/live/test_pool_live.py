"""Pooled tenants on the real API server (issue 13): the placement policy on the SAME pod fixtures
as the CEL tests (tests/plan/test_pool_admission.py, both judges asked), the pod-eni annotation
guard on UPDATE, the SecurityGroupPolicy as the API server stores it (the vendored CRD's schema),
the personas' fences, and tiers. Negative controls: the namespace's pool label and the CRD schema.

Two pooled tenants join the session's cluster (whose platform objects — the placement policy,
the PriorityClasses — come from the live render): ``media`` on pool ``shared-a`` (standard tier)
and ``press`` on pool ``shared-b`` (premium). Their objects are the bundle's manifests
(:func:`tenancy.plan.kubernetes.tenant_manifests`, which tests/components/test_bundle.py shows the bundle
registers unchanged) with literal security group ids; they are removed after this module.
"""

from __future__ import annotations

import copy
from collections.abc import Callable, Iterator
from typing import Any

import pytest

from tenancy.plan import admission as placement
from tenancy.plan import kubernetes as plan
from tenancy.plan.validate import load_platform
from tenancy.spec import naming
from tests.fixtures.specs import ALPHA, spec_with
from tests.helpers import live
from tests.helpers.controlplane import ApiError, Kube, wait_for
from tests.helpers.vap import admit
from tests.plan.test_admission import DEFAULT_TOLERATIONS, own_toleration, pinned, pod, required_affinity
from tests.plan.test_pool_admission import ENI, in_pool, pool_toleration, pooled, with_eni

pytestmark = pytest.mark.live
Rendered = dict[str, list[dict[str, Any]]]

POOLS = {"media": "shared-a", "press": "shared-b"}
SG_IDS = {t: [f"sg-0{t}000000000000", "sg-0tenantnodes0000"] for t in POOLS}


def pooled_spec() -> dict[str, Any]:
    return spec_with([{**ALPHA, "allowFrom": []}, {"name": "media", "pool": "shared-a"},
                      {"name": "press", "pool": "shared-b", "tier": "premium"}],
                     nodePools=[{"name": "shared-a", "slot": 4, "nodes": {"instanceTypes": ["m6i.large"]}},
                                {"name": "shared-b", "slot": 5, "nodes": {"instanceTypes": ["m6i.large"]}}])


@pytest.fixture(scope="module")
def pooled_objects(kube: Kube, applied: Rendered) -> Iterator[dict[str, list[dict[str, Any]]]]:
    spec = load_platform(pooled_spec())
    objs = {t.name: plan.tenant_manifests(t, spec.workloads, spec.vpc_cidr, pod_security_group_ids=SG_IDS[t.name])
            for t in spec.pooled_tenants}
    for t in objs:
        for o in objs[t]:
            kube.apply(o)
    try:
        for t, pool in POOLS.items():
            probe = live.pooled_pod(t, pool, "probe")
            del probe["spec"]["nodeSelector"]
            live.wait_until_policy_enforced(kube, probe, placement.POLICY_NAME)
            for q in live.of_kind(objs, t, "ResourceQuota"):
                live.wait_for_quota_status(kube, q)
        yield objs
    finally:
        for t in objs:
            kube.delete(f"/api/v1/namespaces/{naming.namespace(t)}")
        for t in objs:
            wait_for(f"namespace {t} deleted", lambda t=t: not kube.exists(objs[t][0]), 120)




INVALID = None
CASES: list[tuple[str, Callable[[], dict[str, Any]], bool | None]] = [
    ("pooled-on-its-pool", lambda: pooled(), False),
    ("pooled-required-affinity", lambda: with_eni(pod(affinity=required_affinity([in_pool("shared-a")]),
                                                      tolerations=[pool_toleration()], namespace="media")), False),
    ("pooled-no-selector", lambda: with_eni(pod(tolerations=[pool_toleration()], namespace="media")), True),
    ("pooled-selects-its-tenant", lambda: with_eni(pinned("media", namespace="media")), True),
    ("pooled-other-pool", lambda: pooled("shared-b"), True),
    ("pooled-tolerates-other-pool", lambda: _add_tol(pooled(), pool_toleration("shared-b")), True),
    ("pooled-tolerates-every-pool", lambda: _add_tol(pooled(), {"key": "tenancy/pool", "operator": "Exists"}), True),
    ("pooled-tolerates-own-tenant-taint", lambda: _add_tol(pooled(), own_toleration("media")), True),
    ("pooled-tolerates-dedicated-tenant", lambda: _add_tol(pooled(), own_toleration("alpha")), True),
    ("pooled-without-pod-eni", lambda: pooled(eni=False), True),
    ("pooled-pod-eni-zero", lambda: _eni_zero(), True),
    ("pooled-with-eni-annotation", lambda: _annotated(pooled()), True),
    ("dedicated-tolerates-pool", lambda: _add_tol(pinned(), pool_toleration()), True),
    ("dedicated-selects-pool", lambda: pooled(namespace="alpha"), True),
    ("dedicated-with-eni-annotation", lambda: _annotated(pinned()), True),
    ("other-pooled-tenant-on-its-pool", lambda: pooled("shared-b", namespace="press"), False),
    ("other-pooled-tenant-on-first-pool", lambda: pooled("shared-a", namespace="press"), True),
]


def _add_tol(p: dict[str, Any], tol: dict[str, Any]) -> dict[str, Any]:
    p["spec"]["tolerations"].append(tol)
    return p


def _eni_zero() -> dict[str, Any]:
    p = pooled(eni=False)
    p["spec"]["containers"][0]["resources"] = {"requests": {ENI: "0"}, "limits": {ENI: "0"}}
    return p


def _annotated(p: dict[str, Any]) -> dict[str, Any]:
    p["metadata"]["annotations"] = {ENI: '[{"eniId":"eni-0other","vlanId":3}]'}
    return p


def _policy_and_binding(rendered: Rendered) -> tuple[dict[str, Any], dict[str, Any]]:
    objs = rendered["platform"]
    policy = next(o for o in objs if o["kind"] == "ValidatingAdmissionPolicy"
                  and o["metadata"]["name"] == placement.POLICY_NAME)
    binding = next(o for o in objs if o["kind"] == "ValidatingAdmissionPolicyBinding"
                   and o["spec"]["policyName"] == placement.POLICY_NAME)
    return policy, binding


@pytest.mark.parametrize("case", CASES, ids=[c[0] for c in CASES])
def test_pool_placement_agrees_with_the_cel_tests(case: tuple[str, Callable[[], dict[str, Any]], bool | None],
                                                  kube: Kube, applied: Rendered,
                                                  pooled_objects: dict[str, Any]) -> None:
    _, build, denied = case
    p = build()
    ns_name = p["metadata"]["namespace"]
    policy, binding = _policy_and_binding(applied)
    cel = admit(policy, binding, p, kube.get(f"/api/v1/namespaces/{ns_name}"))
    assert cel.denied == bool(denied), cel.violations
    server = live.admission(live.persona(kube, ns_name, "edit"), live.restricted(p))
    if denied:
        assert server.by_policy(placement.POLICY_NAME), server.message
        assert server.policy_message(placement.POLICY_NAME) in cel.violations
    else:
        assert server.admitted, server.message


def test_pooled_writers_are_pinned_to_their_own_pool(kube: Kube, applied: Rendered,
                                                     pooled_objects: dict[str, Any]) -> None:
    dedicated = live.tenants_of(applied)
    for t, pool in POOLS.items():
        for role in ("admin", "edit"):
            client = live.persona(kube, t, role)
            assert live.admission(client, live.pooled_pod(t, pool)).admitted, (t, role)
            for other, other_pool in POOLS.items():
                if other != t:
                    foreign = live.pooled_pod(t, other_pool)
                    assert live.admission(client, foreign).by_policy(placement.POLICY_NAME), (t, other)
            for d in dedicated:
                foreign = live.pinned_pod(d)
                foreign["metadata"]["namespace"] = naming.namespace(t)
                assert live.admission(client, foreign).by_policy(placement.POLICY_NAME), (t, d)
    # ...and no dedicated tenant can reach a pool.
    for d in dedicated:
        p = live.pooled_pod(d, "shared-a")
        v = live.admission(live.persona(kube, d, "edit"), p)
        assert v.by_policy(placement.POLICY_NAME), (d, v.message)


def _controller(kube: Kube) -> Kube:
    """The EKS VPC resource controller's identity, allowed (for this test) to update pods."""
    return kube.as_user(placement.RESOURCE_CONTROLLER_USERS[0])


def test_only_the_resource_controller_writes_the_eni_annotation(kube: Kube, applied: Rendered,
                                                               pooled_objects: dict[str, Any]) -> None:
    editor = live.persona(kube, "media", "edit")
    created = live.admission(editor, live.pooled_pod("media", "shared-a", "eni-target"), dry_run=False)
    assert created.admitted, created.message
    path = kube.path_of(created.obj or {})
    role = {"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "ClusterRole",
            "metadata": {"name": "live-vpc-resource-controller"},
            "rules": [{"apiGroups": [""], "resources": ["pods"], "verbs": ["get", "update", "patch"]}]}
    binding = {"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "ClusterRoleBinding",
               "metadata": {"name": "live-vpc-resource-controller"},
               "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole",
                           "name": role["metadata"]["name"]},
               "subjects": [{"apiGroup": "rbac.authorization.k8s.io", "kind": "User",
                             "name": placement.RESOURCE_CONTROLLER_USERS[0]}]}
    kube.apply(role)
    kube.apply(binding)
    try:
        current = kube.get(path)
        forged = copy.deepcopy(current)
        forged["metadata"]["annotations"] = {ENI: '[{"eniId":"eni-0other","vlanId":3}]'}
        v = live.update_admission(editor, forged)
        assert v.by_policy(placement.POLICY_NAME) and "resource controller" in v.message, v.message
        ctl = _controller(kube)
        ok = wait_for("the controller's RBAC", lambda: live.update_admission(ctl, forged).admitted, 30)
        assert ok
    finally:
        kube.delete_obj(binding)
        kube.delete_obj(role)
        kube.delete(path, params={"gracePeriodSeconds": "0"})


def test_security_group_policy_is_stored_as_rendered(kube: Kube, applied: Rendered,
                                                     pooled_objects: dict[str, Any]) -> None:
    """The SGP as the API server keeps it (after CRD pruning): podSelector {} (every pod) is
    still there, with the tenant's groups."""
    for t in POOLS:
        sgp = next(o for o in pooled_objects[t] if o["kind"] == "SecurityGroupPolicy")
        stored = kube.get(kube.path_of(sgp))
        assert stored["spec"] == {"podSelector": {}, "securityGroups": {"groupIds": SG_IDS[t]}}, stored["spec"]
        ns = kube.get(f"/api/v1/namespaces/{t}")["metadata"]["labels"]
        assert ns[placement.POOL_LABEL] == POOLS[t] and ns[placement.TIER_LABEL] in plan.TIERS


def test_negative_control_the_crd_schema_refuses_a_policy_without_groups(kube: Kube, applied: Rendered,
                                                                        pooled_objects: dict[str, Any]) -> None:
    """The vendored CRD is enforced: groupIds [] (minItems 1) is refused; the rendered one is not."""
    sgp = copy.deepcopy(next(o for o in pooled_objects["media"] if o["kind"] == "SecurityGroupPolicy"))
    assert live.admission(kube, {**sgp, "metadata": {**sgp["metadata"], "name": "dry"}}).admitted
    sgp["metadata"]["name"] = "empty"
    sgp["spec"]["securityGroups"]["groupIds"] = []
    v = live.admission(kube, sgp)
    assert not v.admitted and v.status == 422 and "groupIds" in v.message, v.message


@pytest.mark.parametrize("role", sorted(plan.PERSONAS))
def test_pooled_personas_cannot_write_their_security_groups_or_labels(role: str, kube: Kube, applied: Rendered,
                                                                     pooled_objects: dict[str, Any]) -> None:
    tenants = live.tenants_of(applied) + sorted(POOLS)
    for t in POOLS:
        assert live.fence_breaches(kube, t, role, tenants) == [], (t, role)
        sgp = next(o for o in pooled_objects[t] if o["kind"] == "SecurityGroupPolicy")
        mine = copy.deepcopy(sgp)
        mine["metadata"]["name"] = "mine"
        mine["spec"]["securityGroups"]["groupIds"] = ["sg-0wideopen0000000"]
        assert live.admission(live.persona(kube, t, role), mine).by_rbac, (t, role)
        try:
            live.persona(kube, t, role).request(
                "PATCH", f"/api/v1/namespaces/{t}", {"metadata": {"labels": {placement.POOL_LABEL: "shared-b"}}},
                content_type="application/merge-patch+json", params={"dryRun": "All"})
            raise AssertionError(f"{t} {role} relabelled its namespace")
        except ApiError as exc:
            assert exc.status == 403, exc.message


def test_pooled_tenants_run_only_their_tier(kube: Kube, applied: Rendered, pooled_objects: dict[str, Any]) -> None:
    for t, pool in POOLS.items():
        tier = kube.get(f"/api/v1/namespaces/{t}")["metadata"]["labels"][placement.TIER_LABEL]
        editor = live.persona(kube, t, "edit")
        for name, cls in plan.PRIORITY_CLASSES.items():
            p = live.pooled_pod(t, pool, "tiered")
            p["spec"]["priorityClassName"] = cls
            v = live.admission(editor, p)
            if name == tier:
                assert v.admitted, (t, cls, v.message)
            else:
                assert v.by_quota and plan.TIER_QUOTA in v.message, (t, cls, v.message)
    assert {kube.get(f"/api/v1/namespaces/{t}")["metadata"]["labels"][placement.TIER_LABEL] for t in POOLS} == {
        "standard", "premium"}


def test_negative_control_without_the_pool_label_the_pooled_pod_is_refused(kube: Kube, applied: Rendered,
                                                                           pooled_objects: dict[str, Any]) -> None:
    """Remove media's tenancy/pool label (the fence that makes it pooled): its pooled pod is refused
    as a dedicated tenant's, a tenant-pinned pod is admitted; restore: back to pooled rules."""
    ns = pooled_objects["media"][0]
    editor = live.persona(kube, "media", "edit")
    good = live.pooled_pod("media", "shared-a")
    dedicated_style = live.pinned_pod("media")
    assert live.admission(editor, good).admitted
    kube.request("PATCH", "/api/v1/namespaces/media", {"metadata": {"labels": {placement.POOL_LABEL: None}}},
                 content_type="application/merge-patch+json")
    try:
        wait_for("media treated as dedicated",
                 lambda: live.admission(editor, good).by_policy(placement.POLICY_NAME), 30)
        assert live.admission(editor, dedicated_style).admitted
    finally:
        kube.apply(ns)
    wait_for("media pooled again", lambda: live.admission(editor, good).admitted, 30)
    assert live.admission(editor, dedicated_style).by_policy(placement.POLICY_NAME)


def test_default_tolerations_and_probe_pods_stay_admitted(kube: Kube, applied: Rendered,
                                                          pooled_objects: dict[str, Any]) -> None:
    """Operable: the tolerations the API server adds to every pod do not trip the pool rules."""
    p = live.pooled_pod("media", "shared-a", "with-defaults")
    p["spec"]["tolerations"] += copy.deepcopy(DEFAULT_TOLERATIONS)
    assert live.admission(live.persona(kube, "media", "edit"), p).admitted
