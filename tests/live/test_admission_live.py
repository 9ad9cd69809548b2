"""The rendered in-cluster layer judged by a real API server: the placement policy on the SAME pod
fixtures as the CEL tests (tests/plan/test_admission.py, both judges asked in each case), Pod
Security, the policies' type checking, pods created by controllers. Negative controls break a fence
on the live server and show the check notices."""

from __future__ import annotations

import copy
from collections.abc import Callable
from typing import Any

import pytest

from tenancy.plan import admission as placement
from tenancy.spec import naming
from tests.helpers import live
from tests.helpers.controlplane import Kube, wait_for
from tests.helpers.vap import admit
from tests.plan.test_admission import (
    DEFAULT_TOLERATIONS,
    in_tenant,
    own_toleration,
    pinned,
    pod,
    required_affinity,
)

pytestmark = pytest.mark.live
Rendered = dict[str, list[dict[str, Any]]]


def _policy_and_binding(rendered: Rendered) -> tuple[dict[str, Any], dict[str, Any]]:
    objs = rendered["platform"]
    policy = next(o for o in objs if o["kind"] == "ValidatingAdmissionPolicy"
                  and o["metadata"]["name"] == placement.POLICY_NAME)
    binding = next(o for o in objs if o["kind"] == "ValidatingAdmissionPolicyBinding"
                   and o["spec"]["policyName"] == placement.POLICY_NAME)
    return policy, binding


def _several_bad() -> dict[str, Any]:
    return pod(selector={"tenancy/tenant": "alpha"},
               tolerations=[own_toleration(), own_toleration("beta"),
                            {"key": "CriticalAddonsOnly", "operator": "Exists"}, {"operator": "Exists"},
                            *DEFAULT_TOLERATIONS])


def _with_toleration(extra: dict[str, Any]) -> dict[str, Any]:
    p = pinned()
    p["spec"]["tolerations"].append(extra)
    return p


def _controller_pod() -> dict[str, Any]:
    return {"apiVersion": "v1", "kind": "Pod",
            "metadata": {"generateName": "web-7d9f8-", "name": "web-7d9f8-xk2lp", "namespace": "alpha"},
            "spec": {"containers": [{"name": "app", "image": "x"}], "tolerations": [{"operator": "Exists"}]}}


def _claims_alpha_in_beta() -> dict[str, Any]:
    p = pinned("alpha", namespace="beta")
    p["metadata"]["labels"] = {"tenancy/tenant": "alpha"}
    return p


INVALID = None
"""Expected verdict of a fixture the API server rejects as invalid before admission."""

# (id, pod factory, denied?) — the CREATE fixtures of tests/plan/test_admission.py, built with its helpers.
CASES: list[tuple[str, Callable[[], dict[str, Any]], bool | None]] = [
    ("own-tenant-pinned", lambda: pinned(), False),
    ("selector-without-toleration", lambda: pod(selector={"tenancy/tenant": "alpha"}), False),
    ("required-affinity", lambda: pod(affinity=required_affinity([in_tenant("alpha"), {
        "key": "topology.kubernetes.io/zone", "operator": "In", "values": ["eu-west-1a"]}]),
        tolerations=[own_toleration()]), False),
    ("harmless-tolerations", lambda: pod(selector={"tenancy/tenant": "alpha", "kubernetes.io/arch": "amd64"},
                                         tolerations=[own_toleration(), {"key": "tenancy/tenant", "value": "alpha",
                                                                         "effect": "NoExecute"},
                                                      {"key": "example.com/gpu", "operator": "Exists",
                                                       "effect": "NoSchedule"}, *DEFAULT_TOLERATIONS]), False),
    ("no-selector", lambda: pod(tolerations=[own_toleration()]), True),
    ("other-tenants-selector", lambda: pod(selector={"tenancy/tenant": "beta"}, tolerations=[own_toleration()]), True),
    ("foreign-toleration", lambda: pod(selector={"tenancy/tenant": "alpha"},
                                       tolerations=[own_toleration(), own_toleration("beta")]), True),
    ("exists-on-tenant-key", lambda: pod(selector={"tenancy/tenant": "alpha"},
                                         tolerations=[{"key": "tenancy/tenant", "operator": "Exists"}]), True),
    # The API server's validation refuses this one before admission ("value must be empty when
    # operator is Exists"): CEL denies it, the server never lets it reach the policy (INVALID).
    ("exists-with-own-value", lambda: pod(selector={"tenancy/tenant": "alpha"}, tolerations=[
        {"key": "tenancy/tenant", "operator": "Exists", "value": "alpha"}]), INVALID),
    ("critical-addons-only", lambda: _with_toleration({"key": "CriticalAddonsOnly", "operator": "Exists"}), True),
    ("blanket", lambda: _with_toleration({"operator": "Exists"}), True),
    ("blanket-empty-key", lambda: _with_toleration({"key": "", "operator": "Exists", "effect": "NoSchedule"}), True),
    ("several-bad", _several_bad, True),
    ("affinity-unpinned-term", lambda: pod(affinity=required_affinity([in_tenant("alpha")], [
        {"key": "kubernetes.io/os", "operator": "In", "values": ["linux"]}]), tolerations=[own_toleration()]), True),
    ("affinity-two-tenants", lambda: pod(affinity=required_affinity([
        {"key": "tenancy/tenant", "operator": "In", "values": ["alpha", "beta"]}]), tolerations=[own_toleration()]),
     True),
    ("affinity-notin", lambda: pod(affinity=required_affinity([
        {"key": "tenancy/tenant", "operator": "NotIn", "values": ["beta"]}]), tolerations=[own_toleration()]), True),
    ("affinity-exists", lambda: pod(affinity=required_affinity([{"key": "tenancy/tenant", "operator": "Exists"}]),
                                    tolerations=[own_toleration()]), True),
    ("preferred-affinity", lambda: pod(affinity={"nodeAffinity": {"preferredDuringSchedulingIgnoredDuringExecution": [
        {"weight": 100, "preference": {"matchExpressions": [in_tenant("alpha")]}}]}},
        tolerations=[own_toleration()]), True),
    ("node-name", lambda: pinned(node_name="ip-10-40-8-12.eu-west-1.compute.internal"), True),
    ("claims-alpha-in-beta", _claims_alpha_in_beta, True),
    ("own-tenant-in-beta", lambda: pinned("beta", namespace="beta"), False),
    ("controller-created", _controller_pod, True),
]


def _namespace(kube: Kube, name: str) -> dict[str, Any]:
    return kube.get(f"/api/v1/namespaces/{name}")  # type: ignore[no-any-return]


@pytest.mark.parametrize("case", CASES, ids=[c[0] for c in CASES])
def test_placement_policy_agrees_with_the_cel_tests(case: tuple[str, Callable[[], dict[str, Any]], bool | None],
                                                     kube: Kube, applied: Rendered) -> None:
    """Each CEL fixture, asked of both judges: the CEL evaluator (on the rendered policy and the
    live namespace object) and the API server (dry-run create as the namespace's editor persona).
    Both must give the expected verdict, and the server's message must be one of CEL's."""
    _, build, denied = case
    p = build()
    ns_name = p["metadata"]["namespace"]
    policy, binding = _policy_and_binding(applied)
    cel = admit(policy, binding, p, _namespace(kube, ns_name))
    assert cel.denied == (denied is not False), cel.violations
    server = live.admission(live.persona(kube, ns_name, "edit"), live.restricted(p))
    if denied is INVALID:
        assert server.status == 422 and "is invalid" in server.message, server.message
    elif denied:
        assert server.by_policy(placement.POLICY_NAME), server.message
        assert server.policy_message(placement.POLICY_NAME) in cel.violations
    else:
        assert server.admitted, server.message


@pytest.mark.parametrize("role", ["admin", "edit"])
def test_every_tenants_writers_are_pinned_to_their_own_nodes(role: str, kube: Kube, applied: Rendered) -> None:
    tenants = live.tenants_of(applied)
    for t in tenants:
        client = live.persona(kube, t, role)
        ok = live.admission(client, live.pinned_pod(t))
        assert ok.admitted, (t, ok.message)
        assert live.admission(client, live.unpinned_probe(t)).by_policy(placement.POLICY_NAME), t
        for other in tenants:
            if other != t:
                foreign = live.pinned_pod(other)
                foreign["metadata"]["namespace"] = naming.namespace(t)
                assert live.admission(client, foreign).by_policy(placement.POLICY_NAME), (t, other)


def test_viewers_cannot_create_pods(kube: Kube, applied: Rendered) -> None:
    for t in live.tenants_of(applied):
        v = live.admission(live.persona(kube, t, "view"), live.pinned_pod(t))
        assert v.by_rbac, (t, v.message)


def test_updates_adding_a_foreign_toleration_are_denied(kube: Kube, applied: Rendered) -> None:
    editor = live.persona(kube, "alpha", "edit")
    created = live.admission(editor, live.pinned_pod("alpha", "update-target"), dry_run=False)
    assert created.admitted, created.message
    current = kube.get(kube.path_of(created.obj or {}))
    new = copy.deepcopy(current)
    new["spec"]["tolerations"].append(own_toleration("beta"))
    v = live.update_admission(editor, new)
    assert v.by_policy(placement.POLICY_NAME) and "tenancy/tenant=beta" in v.message, v.message
    # A new image keeps the placement fields: not checked again, admitted.
    new2 = copy.deepcopy(current)
    new2["spec"]["containers"][0]["image"] = "registry.example/app:2"
    assert live.update_admission(editor, new2).admitted


def test_pod_security_rejects_privileged_pods(kube: Kube, applied: Rendered) -> None:
    for t in live.tenants_of(applied):
        p = live.pinned_pod(t, "privileged")
        p["spec"]["containers"][0]["securityContext"] = {"privileged": True}
        v = live.admission(live.persona(kube, t, "admin"), p)
        assert v.by_pod_security and "privileged" in v.message, (t, v.message)
        root = live.pinned_pod(t, "hostnet", hostNetwork=True)
        assert live.admission(live.persona(kube, t, "admin"), root).by_pod_security


def test_negative_control_pod_security_relabelled_namespace_admits_privileged(kube: Kube, applied: Rendered) -> None:
    """Remove the fence (zeta's namespace relabelled privileged): the same pod is admitted, so the
    check above is what Pod Security decides, not an accident of the fixture."""
    ns = live.of_kind(applied, "zeta", "Namespace")[0]
    p = live.pinned_pod("zeta", "privileged")
    p["spec"]["containers"][0]["securityContext"] = {"privileged": True}
    admin = live.persona(kube, "zeta", "admin")
    assert live.admission(admin, p).by_pod_security
    kube.request("PATCH", "/api/v1/namespaces/zeta", {"metadata": {"labels": {
        "pod-security.kubernetes.io/enforce": "privileged"}}}, content_type="application/merge-patch+json")
    # Pod Security reads namespace labels from the API server's informer cache, not from etcd:
    # a relabel is seen within moments, not at once (both ways).
    try:
        wait_for("zeta's privileged relabel to reach Pod Security", lambda: live.admission(admin, p).admitted, 30)
    finally:
        kube.apply(ns)
    wait_for("zeta restricted again", lambda: live.admission(admin, p).by_pod_security, 30)


def test_admission_policies_type_check_without_warnings(kube: Kube, applied: Rendered) -> None:
    """``status.typeChecking`` is written by the controller manager's
    validatingadmissionpolicy-status controller: wait for it, then require no warnings."""
    for policy in live.policies(applied):
        path = kube.path_of(policy)

        def checked(path: str = path) -> dict[str, Any] | None:
            obj = kube.get(path)
            status = obj.get("status") or {}
            done = status.get("observedGeneration") == obj["metadata"]["generation"] and "typeChecking" in status
            return status if done else None

        status = wait_for(f"type checking of {policy['metadata']['name']}", checked, live.ENFORCE_TIMEOUT)
        assert not status["typeChecking"].get("expressionWarnings"), status


def test_negative_control_type_checking_reports_a_typo(kube: Kube, applied: Rendered) -> None:
    policy, _ = _policy_and_binding(applied)
    typo = copy.deepcopy(policy)
    typo["metadata"] = {"name": "tenancy-live-typo"}
    typo["spec"]["validations"][0]["expression"] = "has(object.spec.nodeSelectr)"
    kube.apply(typo)
    try:
        def warnings() -> list[Any]:
            st = kube.get(kube.path_of(typo)).get("status") or {}
            return list((st.get("typeChecking") or {}).get("expressionWarnings") or [])

        found = wait_for("a type-checking warning on the typo policy", warnings, live.ENFORCE_TIMEOUT)
        assert any("nodeSelectr" in w.get("warning", "") for w in found), found
    finally:
        kube.delete_obj(typo)


def _deployment(name: str, template_spec: dict[str, Any], namespace: str = "alpha") -> dict[str, Any]:
    labels = {"app": name}
    return {"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": name, "namespace": namespace},
            "spec": {"replicas": 1, "selector": {"matchLabels": labels},
                     "template": {"metadata": {"labels": labels}, "spec": template_spec}}}


def test_pods_of_deployments_pass_through_the_policy(kube: Kube, applied: Rendered) -> None:
    """Deployment -> ReplicaSet -> Pod through the controller manager: the unpinned template's pod
    is refused (ReplicaFailure condition and a FailedCreate event name the policy), the pinned one
    is created."""
    editor = live.persona(kube, "alpha", "edit")
    good_spec = live.pinned_pod("alpha")["spec"]
    bad_spec = copy.deepcopy(good_spec)
    del bad_spec["nodeSelector"]
    for name, spec in (("pinned", good_spec), ("unpinned", bad_spec)):
        v = live.admission(editor, _deployment(name, spec), dry_run=False)
        assert v.admitted, v.message

    def pods_of(name: str) -> list[dict[str, Any]]:
        items = kube.get("/api/v1/namespaces/alpha/pods", params={"labelSelector": f"app={name}"})["items"]
        return list(items)

    owned = wait_for("the pinned Deployment's pod", lambda: pods_of("pinned"), 180)
    assert owned[0]["metadata"]["ownerReferences"][0]["kind"] == "ReplicaSet"

    def failure() -> str | None:
        for rs in kube.get("/apis/apps/v1/namespaces/alpha/replicasets", params={"labelSelector": "app=unpinned"})[
                "items"]:
            for c in (rs.get("status") or {}).get("conditions") or []:
                if c["type"] == "ReplicaFailure":
                    return str(c.get("message", ""))
        return None

    message = wait_for("ReplicaFailure on the unpinned Deployment's ReplicaSet", failure, 180)
    assert f"ValidatingAdmissionPolicy '{placement.POLICY_NAME}'" in message, message
    events = kube.get("/api/v1/namespaces/alpha/events", params={"fieldSelector": "reason=FailedCreate"})["items"]
    assert any(placement.POLICY_NAME in e.get("message", "") for e in events), events
    assert pods_of("unpinned") == []


def test_negative_control_without_the_binding_the_escape_is_admitted(kube: Kube, applied: Rendered) -> None:
    """Remove the fence (the placement binding): the unpinned pod is admitted; restore it: denied
    again. Runs last in this module (it lifts the policy cluster-wide for a moment)."""
    _, binding = _policy_and_binding(applied)
    probe = live.unpinned_probe("zeta")
    kube.delete_obj(binding)
    try:
        live.wait_until_policy_enforced(kube, probe, placement.POLICY_NAME, enforced=False)
        assert live.admission(live.persona(kube, "zeta", "edit"), probe).admitted
    finally:
        kube.apply(binding)
        live.wait_until_policy_enforced(kube, probe, placement.POLICY_NAME)
