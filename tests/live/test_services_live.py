"""The Service exposure policy (``tenancy-service-exposure``, from the issue-9 branch) judged by the
real API server: no externalIPs, no ExternalName, no NodePort, no LoadBalancer unless the tenant's
quota grants load balancers. Skipped while the render has no such policy."""

from __future__ import annotations

from typing import Any

import pytest

from tests.helpers import live
from tests.helpers.controlplane import Kube

pytestmark = pytest.mark.live
Rendered = dict[str, list[dict[str, Any]]]


@pytest.fixture
def service_policy(applied: Rendered) -> dict[str, Any]:
    names = {p["metadata"]["name"] for p in live.policies(applied)}
    if live.SERVICE_POLICY not in names:
        pytest.fail(f"the render has no {live.SERVICE_POLICY} admission policy: Services are unfenced")
    return next(p for p in live.policies(applied) if p["metadata"]["name"] == live.SERVICE_POLICY)


def service(tenant: str, name: str, **spec: Any) -> dict[str, Any]:
    body: dict[str, Any] = {"selector": {"app": "web"}, "ports": [{"port": 80, "targetPort": 8080}], **spec}
    if spec.get("type") == "ExternalName":
        body.pop("selector")
    return {"apiVersion": "v1", "kind": "Service", "metadata": {"name": name, "namespace": tenant}, "spec": body}


REFUSED = [
    ("external-ips", {"externalIPs": ["203.0.113.10"]}),
    ("external-name", {"type": "ExternalName", "externalName": "db.example.com"}),
    ("node-port", {"type": "NodePort"}),
    ("load-balancer", {"type": "LoadBalancer"}),
]


@pytest.mark.parametrize("case", REFUSED, ids=[c[0] for c in REFUSED])
def test_exposing_services_are_refused(case: tuple[str, dict[str, Any]], service_policy: dict[str, Any],
                                       kube: Kube, applied: Rendered) -> None:
    name, spec = case
    for t in ("alpha", "beta", "zeta"):
        v = live.admission(live.persona(kube, t, "edit"), service(t, name, **spec))
        assert v.by_policy(live.SERVICE_POLICY), (t, v.message)


def test_cluster_ip_services_are_admitted(service_policy: dict[str, Any], kube: Kube, applied: Rendered) -> None:
    for t in live.tenants_of(applied):
        v = live.admission(live.persona(kube, t, "edit"), service(t, "web"))
        assert v.admitted, (t, v.message)


def test_load_balancer_allowed_where_the_quota_grants_one(service_policy: dict[str, Any], kube: Kube,
                                                          applied: Rendered) -> None:
    quota = live.of_kind(applied, "gamma", "ResourceQuota")[0]["spec"]["hard"]
    assert quota["services.loadbalancers"] == "1"
    # Without a node-port grant, a LoadBalancer must target pod IPs (no node ports on every node).
    v = live.admission(live.persona(kube, "gamma", "edit"),
                       service("gamma", "lb", type="LoadBalancer", allocateLoadBalancerNodePorts=False))
    assert not v.by_policy(live.SERVICE_POLICY), v.message
    v = live.admission(live.persona(kube, "gamma", "edit"), service("gamma", "lb-ports", type="LoadBalancer"))
    assert v.by_policy(live.SERVICE_POLICY) and "allocateLoadBalancerNodePorts" in v.message, v.message
    # externalIPs stay refused even there.
    v = live.admission(live.persona(kube, "gamma", "edit"), service("gamma", "ips", externalIPs=["203.0.113.10"]))
    assert v.by_policy(live.SERVICE_POLICY), v.message


def test_negative_control_without_the_service_binding_external_name_is_admitted(
        service_policy: dict[str, Any], kube: Kube, applied: Rendered) -> None:
    binding = next(o for o in applied["platform"] if o["kind"] == "ValidatingAdmissionPolicyBinding"
                   and o["spec"]["policyName"] == live.SERVICE_POLICY)
    probe = service("zeta", "probe", type="ExternalName", externalName="db.example.com")
    kube.delete_obj(binding)
    try:
        live.wait_until_policy_enforced(kube, probe, live.SERVICE_POLICY, enforced=False)
        assert live.admission(live.persona(kube, "zeta", "edit"), probe).admitted
    finally:
        kube.apply(binding)
        live.wait_until_policy_enforced(kube, probe, live.SERVICE_POLICY)
