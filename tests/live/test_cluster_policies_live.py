"""Cluster network walls and tenant-owned NetworkPolicies on a real API server (issue 26).

- The vendored ClusterNetworkPolicy CRD (tests/fixtures/crds) is installed, and every rendered
  ClusterNetworkPolicy of the live platform is applied and stored as rendered; the server's schema
  and CEL rules refuse malformed ones (negative controls).
- A self-service tenant ("omega", ``selfService.networkPolicies``, its objects built by the plan):
  its editor may create a NetworkPolicy in its namespace, but the admission guard refuses changing
  or deleting ``tenancy-default-deny``, and RBAC refuses a policy in another tenant's namespace; a
  tenant without the option may not write NetworkPolicies at all (negative control).
"""

from __future__ import annotations

import copy
from collections.abc import Iterator
from typing import Any

import pytest

from tenancy.plan import admission, cluster_policies
from tenancy.plan import kubernetes as plan
from tenancy.spec import TenantSpec, WorkloadsSpec
from tests.helpers import live
from tests.helpers.controlplane import ApiError, Kube

pytestmark = pytest.mark.live
Rendered = dict[str, list[dict[str, Any]]]
GUARD = admission.NETWORK_POLICY_GUARD_NAME
OMEGA = TenantSpec.model_validate({"name": "omega", "slot": 9, "selfService": {"networkPolicies": True}})


def _cnps(rendered: Rendered) -> list[dict[str, Any]]:
    return [o for objs in rendered.values() for o in objs if o["kind"] == "ClusterNetworkPolicy"]


def user_np(name: str, namespace: str = "omega") -> dict[str, Any]:
    return {"apiVersion": "networking.k8s.io/v1", "kind": "NetworkPolicy",
            "metadata": {"name": name, "namespace": namespace},
            "spec": {"podSelector": {"matchLabels": {"app": "web"}}, "policyTypes": ["Ingress"],
                     "ingress": [{"from": [{"podSelector": {}}], "ports": [{"protocol": "TCP", "port": 8080}]}]}}


@pytest.fixture(scope="module")
def omega(kube: Kube, applied: Rendered) -> Iterator[list[dict[str, Any]]]:
    """The self-service tenant's objects and the guard, applied; removed afterwards."""
    objs = [plan.namespace(OMEGA), *plan.roles(OMEGA), *plan.role_bindings(OMEGA),
            *plan.network_policies(OMEGA, WorkloadsSpec(), "10.0.0.0/16"),
            cluster_policies.tenant_policy(OMEGA, WorkloadsSpec(), "10.0.0.0/16"),
            *admission.network_policy_guard_manifests()]
    for o in objs:
        kube.apply(o)
    editor = live.persona(kube, "omega", "edit")
    deny = next(o for o in objs if o["kind"] == "NetworkPolicy" and o["metadata"]["name"] == plan.NP_DEFAULT_DENY)
    live.wait_until_policy_enforced(editor, deny, GUARD)  # the guard refuses a create of the platform's name
    try:
        yield objs
    finally:
        for o in reversed(objs):
            if o["kind"] != "Namespace":
                kube.delete_obj(o)
        kube.delete_obj(objs[0])


def test_rendered_cluster_policies_are_stored_as_rendered(kube: Kube, applied: Rendered) -> None:
    cnps = _cnps(applied)
    names = {c["metadata"]["name"] for c in cnps}
    assert cluster_policies.BASELINE_POLICY in names
    assert {cluster_policies.policy_name(t) for t in live.tenants_of(applied)} <= names
    assert any(n.startswith(cluster_policies.EDGE_POLICY_PREFIX) for n in names)  # zeta's port-scoped edge
    for c in cnps:
        stored = kube.get(kube.path_of(c))
        assert stored["spec"] == c["spec"], c["metadata"]["name"]


@pytest.mark.parametrize("break_it", ["priority-out-of-range", "unknown-tier", "empty-port-range", "deny-domain",
                                      "two-peer-kinds"])
def test_the_server_refuses_malformed_cluster_policies(kube: Kube, applied: Rendered, break_it: str) -> None:
    """Negative controls: the CRD's schema and CEL rules, enforced by the real API server."""
    bad = copy.deepcopy(cluster_policies.tenant_policy(OMEGA, WorkloadsSpec(), "10.0.0.0/16"))
    bad["metadata"]["name"] = f"broken-{break_it}"
    spec = bad["spec"]
    if break_it == "priority-out-of-range":
        spec["priority"] = 1001
    elif break_it == "unknown-tier":
        spec["tier"] = "Developer"
    elif break_it == "empty-port-range":
        spec["ingress"][0]["ports"] = [{"portRange": {"protocol": "TCP", "start": 80, "end": 80}}]
    elif break_it == "deny-domain":
        spec["egress"][0]["to"] = [{"domainNames": ["example.com"]}]  # domainNames only with Accept
    else:
        spec["ingress"][0]["from"] = [{"namespaces": {}, "pods": {"namespaceSelector": {}, "podSelector": {}}}]
    with pytest.raises(ApiError) as exc:
        kube.apply(bad, dry_run=True)
    assert exc.value.status == 422, exc.value
    # control: the unbroken policy is accepted
    kube.apply(cluster_policies.tenant_policy(OMEGA, WorkloadsSpec(), "10.0.0.0/16"), dry_run=True)


def test_self_service_editor_writes_its_own_policies(kube: Kube, omega: list[dict[str, Any]]) -> None:
    editor = live.persona(kube, "omega", "edit")
    v = live.admission(editor, user_np("allow-web"), dry_run=False)
    assert v.admitted, v.message
    mine = {**user_np("allow-web"), "spec": {**user_np("allow-web")["spec"], "policyTypes": ["Ingress"]}}
    stored = kube.get(kube.path_of(mine))
    assert live.update_admission(editor, stored).admitted
    editor.delete(editor.path_of(mine))
    assert not kube.exists(mine)


def test_self_service_editor_cannot_touch_the_platforms_policies(kube: Kube, omega: list[dict[str, Any]]) -> None:
    editor = live.persona(kube, "omega", "edit")
    deny = next(o for o in omega if o["kind"] == "NetworkPolicy" and o["metadata"]["name"] == plan.NP_DEFAULT_DENY)
    stored = kube.get(kube.path_of(deny))
    widened = copy.deepcopy(stored)
    widened["spec"]["ingress"] = [{}]
    assert live.update_admission(editor, widened).by_policy(GUARD)
    with pytest.raises(ApiError) as exc:
        editor.request("DELETE", editor.path_of(deny), params={"dryRun": "All"})
    assert exc.value.status == 403 and f"ValidatingAdmissionPolicy '{GUARD}'" in str(exc.value), exc.value
    assert live.admission(editor, user_np("tenancy-sneaky")).by_policy(GUARD)
    assert kube.exists(deny)
    # the deployer (no tenancy group) still may
    assert live.update_admission(kube, stored).admitted


def test_self_service_editor_cannot_write_in_another_tenants_namespace(kube: Kube, omega: list[dict[str, Any]],
                                                                       applied: Rendered) -> None:
    editor = live.persona(kube, "omega", "edit")
    for other in live.tenants_of(applied):
        assert live.admission(editor, user_np("allow-web", other)).by_rbac, other


def test_negative_control_tenants_without_the_option_write_no_policies(kube: Kube, applied: Rendered) -> None:
    for t in live.tenants_of(applied):
        v = live.admission(live.persona(kube, t, "edit"), user_np("allow-web", t))
        assert v.by_rbac, (t, v.message)
