"""The placement policy, judged by evaluating its CEL (cel-python, core CEL only) against pod
fixtures with the API server's admission semantics (tests/helpers/vap.py), and by validating its
manifests against the Kubernetes OpenAPI schemas (kubernetes-validate, strict)."""

from __future__ import annotations

import copy
from typing import Any

import celpy
import kubernetes_validate
import pytest

from tenancy.plan import admission
from tests.helpers.vap import Decision, admit, cel

POLICY = admission.placement_policy()
BINDING = admission.placement_binding()


def ns(name: str, tenant: str | None = None) -> dict[str, Any]:
    labels = {"kubernetes.io/metadata.name": name}
    if tenant is not None:
        labels["tenancy/tenant"] = tenant
    return {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": name, "labels": labels}}


ALPHA_NS = ns("alpha", "alpha")


def own_toleration(t: str = "alpha") -> dict[str, Any]:
    return {"key": "tenancy/tenant", "operator": "Equal", "value": t, "effect": "NoSchedule"}


# Tolerations the API server's DefaultTolerationSeconds plugin adds to every pod.
DEFAULT_TOLERATIONS = [
    {"key": "node.kubernetes.io/not-ready", "operator": "Exists", "effect": "NoExecute", "tolerationSeconds": 300},
    {"key": "node.kubernetes.io/unreachable", "operator": "Exists", "effect": "NoExecute", "tolerationSeconds": 300},
]


def pod(*, selector: dict[str, str] | None = None, tolerations: list[dict[str, Any]] | None = None,
        affinity: dict[str, Any] | None = None, node_name: str | None = None, namespace: str = "alpha",
        name: str = "web-7d9f8-abcde") -> dict[str, Any]:
    spec: dict[str, Any] = {"containers": [{"name": "app", "image": "registry.example/app:1"}]}
    if selector is not None:
        spec["nodeSelector"] = selector
    if tolerations is not None:
        spec["tolerations"] = tolerations
    if affinity is not None:
        spec["affinity"] = affinity
    if node_name is not None:
        spec["nodeName"] = node_name
    return {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": name, "namespace": namespace}, "spec": spec}


def pinned(t: str = "alpha", **kw: Any) -> dict[str, Any]:
    return pod(selector={"tenancy/tenant": t}, tolerations=[own_toleration(t), *DEFAULT_TOLERATIONS], **kw)


def required_affinity(*terms: list[dict[str, Any]]) -> dict[str, Any]:
    return {"nodeAffinity": {"requiredDuringSchedulingIgnoredDuringExecution": {
        "nodeSelectorTerms": [{"matchExpressions": list(t)} for t in terms]}}}


def in_tenant(t: str) -> dict[str, Any]:
    return {"key": "tenancy/tenant", "operator": "In", "values": [t]}


def decide(p: dict[str, Any], namespace: dict[str, Any] = ALPHA_NS, **kw: Any) -> Decision:
    return admit(POLICY, BINDING, p, namespace, **kw)


# --------------------------------------------------------------------------------------------
# Allowed


def test_own_tenant_pod_is_admitted() -> None:
    d = decide(pinned())
    assert d.applies and not d.violations and not d.denied


def test_own_tenant_pod_without_any_toleration_is_admitted() -> None:
    # It will stay Pending (it does not tolerate its nodes' taint), but it cannot escape.
    assert not decide(pod(selector={"tenancy/tenant": "alpha"})).denied


def test_pod_pinned_by_required_node_affinity_is_admitted() -> None:
    p = pod(affinity=required_affinity([in_tenant("alpha"), {"key": "topology.kubernetes.io/zone", "operator": "In",
                                                                 "values": ["eu-west-1a"]}]),
            tolerations=[own_toleration()])
    assert not decide(p).violations


def test_several_own_and_harmless_tolerations_are_admitted() -> None:
    p = pod(selector={"tenancy/tenant": "alpha", "kubernetes.io/arch": "amd64"},
            tolerations=[own_toleration(), {"key": "tenancy/tenant", "value": "alpha", "effect": "NoExecute"},
                         {"key": "example.com/gpu", "operator": "Exists", "effect": "NoSchedule"},
                         *DEFAULT_TOLERATIONS])
    assert not decide(p).violations


def test_pod_in_a_namespace_without_the_tenant_label_is_untouched() -> None:
    for namespace in (ns("kube-system"), ns("ingress-nginx"), ns("default")):
        blanket = pod(tolerations=[{"operator": "Exists"}, {"key": "CriticalAddonsOnly", "operator": "Exists"}],
                      namespace=namespace["metadata"]["name"])
        d = decide(blanket, namespace)
        assert not d.applies and not d.denied


def test_only_pod_create_and_update_are_selected() -> None:
    assert not decide(pod(), operation="DELETE").applies
    assert not decide(pod(), operation="CONNECT").applies
    assert not decide(pod(), resource="deployments").applies


def test_metadata_only_updates_of_old_pods_are_not_blocked() -> None:
    # A pod admitted before the policy existed (no selector): the garbage collector removing a
    # finalizer, or a label change, must still go through.
    old = pod()
    new = copy.deepcopy(old)
    new["metadata"]["labels"] = {"app": "web"}
    new["metadata"]["finalizers"] = []
    assert not decide(new, operation="UPDATE", old_pod=old).applies


# --------------------------------------------------------------------------------------------
# Denied


def test_pod_without_a_selector_is_denied_with_the_fix() -> None:
    d = decide(pod(tolerations=[own_toleration()]))
    assert d.denied and len(d.violations) == 1
    msg = d.violations[0]
    assert "alpha" in msg and '"tenancy/tenant": "alpha"' in msg and "toleration" in msg


def test_pod_selecting_another_tenants_nodes_is_denied() -> None:
    d = decide(pod(selector={"tenancy/tenant": "beta"}, tolerations=[own_toleration()]))
    assert d.denied and "must run on the nodes of tenant alpha" in d.violations[0]


def test_pod_tolerating_another_tenants_taint_is_denied() -> None:
    p = pod(selector={"tenancy/tenant": "alpha"}, tolerations=[own_toleration(), own_toleration("beta")])
    d = decide(p)
    assert d.denied and d.violations == [
        "toleration of the taint tenancy/tenant=beta is not allowed in namespace alpha: it would let the pod onto "
        "the nodes of another tenant; tolerate only tenancy/tenant=alpha with operator Equal"]


def test_tolerating_every_tenant_with_exists_on_the_tenant_key_is_denied() -> None:
    p = pod(selector={"tenancy/tenant": "alpha"}, tolerations=[{"key": "tenancy/tenant", "operator": "Exists"}])
    d = decide(p)
    assert d.denied and "operator Exists (every tenant)" in d.violations[0]
    # Exists with the own value spelled out is still Exists: it ignores the value.
    p2 = pod(selector={"tenancy/tenant": "alpha"},
             tolerations=[{"key": "tenancy/tenant", "operator": "Exists", "value": "alpha"}])
    assert decide(p2).denied


def test_critical_addons_only_toleration_is_denied() -> None:
    p = pinned()
    p["spec"]["tolerations"].append({"key": "CriticalAddonsOnly", "operator": "Exists"})
    d = decide(p)
    assert d.denied and len(d.violations) == 1 and "CriticalAddonsOnly" in d.violations[0]


def test_blanket_toleration_is_denied() -> None:
    p = pinned()
    p["spec"]["tolerations"].append({"operator": "Exists"})
    d = decide(p)
    assert d.denied and len(d.violations) == 1 and "without a key" in d.violations[0]
    p2 = pinned()
    p2["spec"]["tolerations"].append({"key": "", "operator": "Exists", "effect": "NoSchedule"})
    assert decide(p2).denied


def test_several_bad_tolerations_report_each_rule() -> None:
    p = pod(selector={"tenancy/tenant": "alpha"},
            tolerations=[own_toleration(), own_toleration("beta"), {"key": "CriticalAddonsOnly", "operator": "Exists"},
                         {"operator": "Exists"}, *DEFAULT_TOLERATIONS])
    d = decide(p)
    assert d.denied and len(d.violations) == 3


def test_affinity_with_one_unpinned_term_is_denied() -> None:
    # nodeSelectorTerms are ORed: the second term would let the pod onto any node.
    p = pod(affinity=required_affinity([in_tenant("alpha")], [{"key": "kubernetes.io/os", "operator": "In",
                                                               "values": ["linux"]}]),
            tolerations=[own_toleration()])
    assert decide(p).denied


@pytest.mark.parametrize("expr", [
    {"key": "tenancy/tenant", "operator": "In", "values": ["alpha", "beta"]},
    {"key": "tenancy/tenant", "operator": "NotIn", "values": ["beta"]},
    {"key": "tenancy/tenant", "operator": "Exists"},
    {"key": "tenancy/tenant", "operator": "In", "values": []},
])
def test_affinity_that_does_not_pin_exactly_this_tenant_is_denied(expr: dict[str, Any]) -> None:
    assert decide(pod(affinity=required_affinity([expr]), tolerations=[own_toleration()])).denied


def test_preferred_affinity_does_not_pin() -> None:
    aff = {"nodeAffinity": {"preferredDuringSchedulingIgnoredDuringExecution": [
        {"weight": 100, "preference": {"matchExpressions": [in_tenant("alpha")]}}]}}
    assert decide(pod(affinity=aff, tolerations=[own_toleration()])).denied


def test_node_name_at_creation_is_denied() -> None:
    d = decide(pinned(node_name="ip-10-40-8-12.eu-west-1.compute.internal"))
    assert d.denied and "nodeName" in d.violations[0]


def test_the_tenant_comes_from_the_namespace_not_the_pod() -> None:
    # A pod in beta's namespace pinned to alpha is denied, whatever the pod claims.
    p = pinned("alpha", namespace="beta")
    p["metadata"]["labels"] = {"tenancy/tenant": "alpha"}
    assert decide(p, ns("beta", "beta")).denied
    assert not decide(pinned("beta", namespace="beta"), ns("beta", "beta")).denied


def test_adding_a_foreign_toleration_to_a_running_pod_is_denied() -> None:
    old = pinned()
    old["spec"]["nodeName"] = "ip-10-40-0-7.eu-west-1.compute.internal"  # bound by the scheduler
    new = copy.deepcopy(old)
    new["spec"]["tolerations"].append(own_toleration("beta"))
    d = decide(new, operation="UPDATE", old_pod=old)
    assert d.applies and d.denied
    # ...while an update that keeps the placement fields (e.g. a new image) is not checked again.
    new2 = copy.deepcopy(old)
    new2["spec"]["containers"][0]["image"] = "registry.example/app:2"
    assert not decide(new2, operation="UPDATE", old_pod=old).applies


def test_gated_pod_getting_a_foreign_selector_is_denied() -> None:
    old = pod(tolerations=[own_toleration()])
    old["spec"]["schedulingGates"] = [{"name": "example.com/wait"}]
    new = copy.deepcopy(old)
    new["spec"]["nodeSelector"] = {"tenancy/tenant": "beta"}
    assert decide(new, operation="UPDATE", old_pod=old).denied
    new["spec"]["nodeSelector"] = {"tenancy/tenant": "alpha"}
    assert not decide(new, operation="UPDATE", old_pod=old).denied


def test_pods_of_controllers_are_checked_as_pods() -> None:
    # What a ReplicaSet creates from a Deployment's template reaches admission as a Pod.
    template = {"metadata": {"labels": {"app": "web"}}, "spec": {"containers": [{"name": "app", "image": "x"}],
                                                                  "tolerations": [{"operator": "Exists"}]}}
    created = {"apiVersion": "v1", "kind": "Pod",
               "metadata": {"generateName": "web-7d9f8-", "name": "web-7d9f8-xk2lp", "namespace": "alpha",
                            "ownerReferences": [{"apiVersion": "apps/v1", "kind": "ReplicaSet", "name": "web-7d9f8",
                                                 "uid": "0", "controller": True}]},
               "spec": copy.deepcopy(template["spec"])}
    assert decide(created).denied


# --------------------------------------------------------------------------------------------
# The manifests themselves


def test_policy_shape() -> None:
    spec = POLICY["spec"]
    assert spec["failurePolicy"] == "Fail"
    rules = spec["matchConstraints"]["resourceRules"]
    assert rules == [{"apiGroups": [""], "apiVersions": ["v1"], "operations": ["CREATE", "UPDATE"],
                      "resources": ["pods"]}]
    assert spec["matchConstraints"]["namespaceSelector"] == {
        "matchExpressions": [{"key": "tenancy/tenant", "operator": "Exists"}]}
    assert BINDING["spec"] == {"policyName": POLICY["metadata"]["name"], "validationActions": ["Deny"],
                               "matchResources": {"namespaceSelector": spec["matchConstraints"]["namespaceSelector"]}}
    assert all(v.get("message") and v.get("reason") == "Forbidden" for v in spec["validations"])
    assert POLICY["apiVersion"] == BINDING["apiVersion"] == "admissionregistration.k8s.io/v1"


def test_core_cel_only() -> None:
    exprs = [c["expression"] for c in POLICY["spec"]["matchConditions"]]
    exprs += [v["expression"] for v in POLICY["spec"]["variables"]]
    exprs += [v["expression"] for v in POLICY["spec"]["validations"]]
    exprs += [v["messageExpression"] for v in POLICY["spec"]["validations"] if "messageExpression" in v]
    for e in exprs:
        assert "?." not in e and ".?" not in e
        for lib in ("lowerAscii", "split(", "join(", "quantity(", "authorizer", "url(", "ip(", "cidr("):
            assert lib not in e, (lib, e)


def test_every_message_expression_evaluates_to_a_string() -> None:
    # messageExpression errors would fall back silently: make sure none does on a bad pod.
    bad = pod(selector={"tenancy/tenant": "beta"},
              tolerations=[own_toleration("beta"), {"key": "CriticalAddonsOnly"}, {"operator": "Exists"},
                           {"key": "tenancy/pool", "operator": "Equal", "value": "shared-a"}],
              node_name="n1")
    bad["metadata"]["annotations"] = {"vpc.amazonaws.com/pod-eni": "[]"}
    activation_ok = decide(bad)
    # Every rule but the pooled-only pod-eni ones (tests/plan/test_pool_admission.py covers them) and the
    # branch-interface count rules (this pod asks for none; tests/plan/test_fair_share_admission.py).
    assert len(activation_ok.violations) == len(POLICY["spec"]["validations"]) - 3
    statics = {v["message"] for v in POLICY["spec"]["validations"] if "messageExpression" in v}
    assert not statics & set(activation_ok.violations)


@pytest.mark.parametrize("version", ["1.30.0", "1.31.0", "1.32.0", "1.33.0"])
def test_manifests_are_schema_valid(version: str) -> None:
    for obj in admission.manifests():
        kubernetes_validate.validate(obj, version, strict=True)


def test_schema_validation_can_fail() -> None:
    broken = copy.deepcopy(BINDING)
    broken["spec"]["validationAction"] = ["Deny"]  # typo: unknown field under strict
    with pytest.raises(kubernetes_validate.ValidationError):
        kubernetes_validate.validate(broken, "1.31.0", strict=True)


# --------------------------------------------------------------------------------------------
# Negative controls: the evaluator must notice a weakened policy


def _without(name_fragment: str) -> dict[str, Any]:
    weak = copy.deepcopy(POLICY)
    weak["spec"]["validations"] = [v for v in weak["spec"]["validations"] if name_fragment not in v["expression"]]
    assert len(weak["spec"]["validations"]) == len(POLICY["spec"]["validations"]) - 1
    return weak


def test_negative_control_dropping_the_foreign_toleration_rule_admits_the_escape() -> None:
    p = pod(selector={"tenancy/tenant": "alpha"}, tolerations=[own_toleration("beta")])
    assert decide(p).denied
    assert not admit(_without("foreignTolerations"), BINDING, p, ALPHA_NS).denied


def test_negative_control_warn_only_binding_does_not_deny() -> None:
    warn = copy.deepcopy(BINDING)
    warn["spec"]["validationActions"] = ["Warn"]
    d = admit(POLICY, warn, pod(), ALPHA_NS)
    assert d.violations and not d.denied


def test_negative_control_any_term_affinity_would_admit_an_unpinned_term() -> None:
    weak = copy.deepcopy(POLICY)
    for v in weak["spec"]["variables"]:
        if v["name"] == "affinityPinned":
            v["expression"] = v["expression"].replace(".nodeSelectorTerms.all(term,", ".nodeSelectorTerms.exists(term,")
    p = pod(affinity=required_affinity([in_tenant("alpha")], [{"key": "kubernetes.io/os", "operator": "In",
                                                               "values": ["linux"]}]))
    assert decide(p).denied
    assert not admit(weak, BINDING, p, ALPHA_NS).denied


def test_cel_helper_raises_on_errors() -> None:
    with pytest.raises(celpy.CELEvalError):
        cel("object.spec.missing.field == 1", {"object": celpy.json_to_cel({"spec": {}})})
