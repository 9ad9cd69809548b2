"""The Service exposure policy ``tenancy-service-exposure``, judged by evaluating its CEL
(cel-python, core CEL only) against Service fixtures with the API server's admission semantics
(tests/helpers/vap.py), and by the OpenAPI schemas (kubernetes-validate, strict). The grants come
from namespace labels: the fixtures write them by hand, and a separate test checks that the
bundle sets them from the spec's quota."""

from __future__ import annotations

import copy
from typing import Any

import kubernetes_validate
import pytest

from tenancy.plan import admission
from tenancy.plan import kubernetes as k8s_plan
from tenancy.spec import SUPPORTED_KUBERNETES_VERSIONS, TenantSpec
from tests.helpers.vap import Decision, admit

POLICY = admission.service_exposure_policy()
BINDING = admission.service_exposure_binding()


def ns(name: str = "alpha", tenant: str | None = "alpha", **grants: str) -> dict[str, Any]:
    labels = {"kubernetes.io/metadata.name": name}
    if tenant is not None:
        labels["tenancy/tenant"] = tenant
    labels.update({k.replace("_", "-"): v for k, v in grants.items()})
    return {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": name, "labels": labels}}


PLAIN = ns()
LB_ONLY = ns(**{"tenancy/load_balancers": "allowed"})
LB_AND_NP = ns(**{"tenancy/load_balancers": "allowed", "tenancy/node_ports": "allowed"})
NP_ONLY = ns(**{"tenancy/node_ports": "allowed"})


def svc(type_: str | None = "ClusterIP", name: str = "web", **spec: Any) -> dict[str, Any]:
    body: dict[str, Any] = {"selector": {"app": "web"}, "ports": [{"port": 80, "targetPort": 8080}]}
    if type_ is not None:
        body["type"] = type_
    if type_ == "ExternalName":
        body = {"type": "ExternalName", "externalName": "web.beta.svc.cluster.local"}
    body.update(spec)
    return {"apiVersion": "v1", "kind": "Service", "metadata": {"name": name, "namespace": "alpha"}, "spec": body}


def decide(s: dict[str, Any], namespace: dict[str, Any] = PLAIN, policy: dict[str, Any] = POLICY,
           **kw: Any) -> Decision:
    return admit(policy, BINDING, s, namespace, resource="services", **kw)


# --------------------------------------------------------------------------------------------
# Admitted


@pytest.mark.parametrize("s", [svc(), svc(None), svc(clusterIP="None"), svc(externalIPs=[])],
                         ids=["clusterip", "no-type", "headless", "empty-externalips"])
def test_plain_services_are_admitted(s: dict[str, Any]) -> None:
    d = decide(s)
    assert d.applies and not d.violations, d.violations


def test_load_balancer_is_admitted_when_granted_without_node_ports() -> None:
    assert not decide(svc("LoadBalancer", allocateLoadBalancerNodePorts=False), LB_ONLY).violations


def test_load_balancer_with_node_ports_is_admitted_when_both_are_granted() -> None:
    assert not decide(svc("LoadBalancer"), LB_AND_NP).violations


def test_node_port_is_admitted_when_granted() -> None:
    assert not decide(svc("NodePort"), NP_ONLY).violations


def test_services_outside_tenant_namespaces_are_untouched() -> None:
    d = decide(svc("LoadBalancer", externalIPs=["10.40.0.10"]), ns("ingress-nginx", None))
    assert not d.applies


def test_only_service_create_and_update_are_selected() -> None:
    bad = svc(externalIPs=["10.40.0.10"])
    assert not decide(bad, operation="DELETE").applies
    assert not admit(POLICY, BINDING, bad, PLAIN, resource="pods").applies


def test_updates_that_do_not_touch_exposure_are_not_blocked() -> None:
    # A LoadBalancer admitted while the grant existed: its controller must still be able to
    # remove finalizers after the grant is withdrawn.
    old = svc("LoadBalancer")
    new = copy.deepcopy(old)
    new["metadata"]["finalizers"] = []
    assert not decide(new, PLAIN, operation="UPDATE", old_pod=old).applies
    # ...but changing the type is checked.
    assert decide(svc("NodePort"), PLAIN, operation="UPDATE", old_pod=svc()).denied


# --------------------------------------------------------------------------------------------
# Denied


def test_external_ips_are_denied_even_with_every_grant() -> None:
    for namespace in (PLAIN, LB_AND_NP):
        d = decide(svc(externalIPs=["10.40.0.10"]), namespace)
        assert d.denied and "externalIPs" in d.violations[0] and "CVE-2020-8554" in d.violations[0]


def test_adding_external_ips_on_update_is_denied() -> None:
    assert decide(svc(externalIPs=["172.20.0.1"]), operation="UPDATE", old_pod=svc()).denied


def test_external_name_is_denied_even_with_every_grant() -> None:
    for namespace in (PLAIN, LB_AND_NP):
        d = decide(svc("ExternalName"), namespace)
        assert d.denied and "ExternalName" in d.violations[0]


def test_node_port_is_denied_without_the_grant() -> None:
    d = decide(svc("NodePort"), LB_ONLY)
    assert d.denied and d.violations == [d.violations[0]]
    assert "NodePort" in d.violations[0] and "quota.nodePorts" in d.violations[0] and "alpha" in d.violations[0]


def test_load_balancer_is_denied_without_the_grant() -> None:
    for s in (svc("LoadBalancer"), svc("LoadBalancer", allocateLoadBalancerNodePorts=False)):
        d = decide(s, NP_ONLY)
        assert d.denied and any("quota.loadBalancers" in v for v in d.violations), d.violations


def test_load_balancer_allocating_node_ports_needs_the_node_port_grant() -> None:
    d = decide(svc("LoadBalancer"), LB_ONLY)
    assert d.denied and "allocateLoadBalancerNodePorts" in d.violations[0]


def test_a_grant_label_with_another_value_grants_nothing() -> None:
    assert decide(svc("NodePort"), ns(**{"tenancy/node_ports": "true"})).denied


# --------------------------------------------------------------------------------------------
# The bundle sets the grants from the spec


def test_namespace_labels_follow_the_quota() -> None:
    def labels(**quota: int) -> dict[str, str]:
        t = TenantSpec(name="alpha", slot=0, quota=quota)
        return k8s_plan.namespace(t)["metadata"]["labels"]

    assert admission.LOAD_BALANCERS_LABEL not in labels() and admission.NODE_PORTS_LABEL not in labels()
    assert labels(load_balancers=2)[admission.LOAD_BALANCERS_LABEL] == "allowed"
    assert admission.NODE_PORTS_LABEL not in labels(load_balancers=2)
    assert labels(node_ports=1)[admission.NODE_PORTS_LABEL] == "allowed"
    # End to end: the default tenant's namespace makes a NodePort Service fail.
    default_ns = k8s_plan.namespace(TenantSpec(name="alpha", slot=0))
    default_ns["metadata"]["labels"]["kubernetes.io/metadata.name"] = "alpha"
    assert decide(svc("NodePort"), default_ns).denied
    granted = k8s_plan.namespace(TenantSpec(name="alpha", slot=0, quota={"node_ports": 1}))
    assert not decide(svc("NodePort"), granted).violations


# --------------------------------------------------------------------------------------------
# Schema, names, and negative controls


def test_names_are_the_ones_other_tests_and_docs_use() -> None:
    assert POLICY["metadata"]["name"] == BINDING["metadata"]["name"] == "tenancy-service-exposure"
    assert BINDING["spec"]["policyName"] == "tenancy-service-exposure"
    assert BINDING["spec"]["validationActions"] == ["Deny"] and POLICY["spec"]["failurePolicy"] == "Fail"


@pytest.mark.parametrize("version", [f"{v}.0" for v in SUPPORTED_KUBERNETES_VERSIONS])
def test_manifests_are_schema_valid(version: str) -> None:
    for obj in admission.service_manifests():
        kubernetes_validate.validate(obj, version, strict=True)


def test_every_message_expression_evaluates_to_a_string() -> None:
    # A failing messageExpression would silently fall back to the static message.
    for s, namespace in ((svc(externalIPs=["1.2.3.4"]), PLAIN), (svc("NodePort"), PLAIN),
                         (svc("LoadBalancer"), PLAIN)):
        d = decide(s, namespace)
        statics = {v["message"] for v in POLICY["spec"]["validations"] if "messageExpression" in v}
        assert d.violations and not statics & set(d.violations[:1]), d.violations


def _without(fragment: str) -> dict[str, Any]:
    weak = copy.deepcopy(POLICY)
    weak["spec"]["validations"] = [v for v in weak["spec"]["validations"] if fragment not in v["expression"]]
    assert len(weak["spec"]["validations"]) == len(POLICY["spec"]["validations"]) - 1
    return weak


@pytest.mark.parametrize("fragment,s,namespace", [
    ("externalIPs", svc(externalIPs=["10.40.0.10"]), PLAIN),
    ("'ExternalName'", svc("ExternalName"), PLAIN),
    ("'NodePort'", svc("NodePort"), PLAIN),
])
def test_negative_control_dropping_a_rule_admits_the_escape(fragment: str, s: dict[str, Any],
                                                          namespace: dict[str, Any]) -> None:
    assert decide(s, namespace).denied
    assert not decide(s, namespace, policy=_without(fragment)).denied


def test_negative_control_a_grant_read_from_the_service_would_be_forgeable() -> None:
    # If the grant came from the Service's own labels, the tenant could grant itself.
    weak = copy.deepcopy(POLICY)
    for v in weak["spec"]["variables"]:
        v["expression"] = v["expression"].replace("namespaceObject.metadata", "object.metadata")
    forged = svc("NodePort")
    forged["metadata"]["labels"] = {"tenancy/node-ports": "allowed"}
    assert decide(forged).denied
    assert not decide(forged, policy=weak).denied
