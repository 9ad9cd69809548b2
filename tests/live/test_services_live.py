"""The Service exposure policy (``tenancy-service-exposure``, from the issue-9 branch) judged by the
real API server: no externalIPs, no ExternalName, no NodePort, no LoadBalancer unless the tenant's
quota grants load balancers. Skipped while the render has no such policy."""

from __future__ import annotations

from typing import Any

import pytest

from tests.helpers import live
from tests.helpers.controlplane import Kube, wait_for

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


def test_load_balancer_rules_where_a_namespace_is_granted(service_policy: dict[str, Any], kube: Kube,
                                                            applied: Rendered) -> None:
    """The spec no longer grants load balancers (issue 23: nothing opens a path to them), but the Service
    policy keeps its rules for a namespace labelled so (a render from before, or a path added later):
    gamma's namespace and quota are granted one by hand here, and restored after."""
    ns = dict(live.of_kind(applied, "gamma", "Namespace")[0])
    quota = dict(live.of_kind(applied, "gamma", "ResourceQuota")[0])
    assert quota["spec"]["hard"]["services.loadbalancers"] == "0"
    granted_ns = {**ns, "metadata": {**ns["metadata"], "labels": {**ns["metadata"]["labels"],
                                                                  "tenancy/load-balancers": "allowed"}}}
    granted_quota = {**quota, "spec": {"hard": {**quota["spec"]["hard"], "services.loadbalancers": "1"}}}
    lb = service("gamma", "lb", type="LoadBalancer", allocateLoadBalancerNodePorts=False)
    editor = live.persona(kube, "gamma", "edit")
    assert live.admission(editor, lb).by_policy(live.SERVICE_POLICY)  # not granted: refused
    kube.apply(granted_ns)
    kube.apply(granted_quota)
    try:
        live.wait_for_quota_status(kube, granted_quota)
        # Granted: a LoadBalancer targeting pod IPs (no node ports) is admitted; with node ports too, since
        # gamma has quota.nodePorts.
        # The quota admission plugin reads quotas from the API server's informer cache, a moment behind
        # the stored status: eventually admitted (a refusal still shows in the timeout's message).
        wait_for("the LoadBalancer admitted where granted", lambda: live.admission(editor, lb).admitted, 60,
                 on_timeout=lambda: f" (last verdict: {live.admission(editor, lb).message})")
        # externalIPs stay refused even there.
        v = live.admission(editor, service("gamma", "ips", externalIPs=["203.0.113.10"]))
        assert v.by_policy(live.SERVICE_POLICY), v.message
    finally:
        kube.apply(ns)
        kube.apply(quota)
        live.wait_for_quota_status(kube, quota)


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
