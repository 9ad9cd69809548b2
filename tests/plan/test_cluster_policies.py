"""Cluster network walls and self-service NetworkPolicies (issue 26): the spec gate, the personas'
RBAC, the admission guard of the platform's own policies (cel-python, tests/helpers/vap.py), and the
rendered ClusterNetworkPolicies' shape (schema: the vendored CRD; semantics: tests/review/test_tiers.py;
the real API server: tests/live/test_cluster_policies_live.py)."""

from __future__ import annotations

from typing import Any

import pytest

from tenancy.plan import admission
from tenancy.plan import cluster_policies as cp
from tenancy.plan import kubernetes as pk
from tenancy.plan.validate import load_platform
from tenancy.spec import SpecError, TenantSpec, WorkloadsSpec, versions
from tests.helpers import crds, vap


def spec(**cluster: Any) -> dict[str, Any]:
    return {"name": "acme", "vpcCidr": "10.40.0.0/16", "cluster": cluster,
            "tenants": [{"name": "alpha", "slot": 0, "selfService": {"networkPolicies": True}},
                        {"name": "beta", "slot": 1}]}


# --------------------------------------------------------------------------------------------
# The gate


def test_on_by_default_and_self_service_accepted() -> None:
    s = load_platform(spec())
    assert s.cluster.cluster_network_policies and cp.enabled(s)
    assert s.tenant("alpha").self_service.network_policies
    assert not s.tenant("beta").self_service.network_policies


def test_self_service_refused_without_the_admin_tier() -> None:
    with pytest.raises(SpecError) as exc:
        load_platform(spec(clusterNetworkPolicies=False))
    [p] = exc.value.problems
    assert p.path == "tenants[0].selfService.networkPolicies"
    assert "cluster.clusterNetworkPolicies" in p.message and "remove selfService.networkPolicies" in p.message
    # without the option, turning the tier off is allowed (the namespaced policies stay)
    off = spec(clusterNetworkPolicies=False)
    off["tenants"][0].pop("selfService")
    s = load_platform(off)
    assert not cp.enabled(s) and cp.platform_manifests(s) == []


def test_versions_gate() -> None:
    assert versions.cluster_network_policies_supported("1.29")
    assert not versions.cluster_network_policies_supported("1.28")
    assert all(versions.cluster_network_policies_supported(v) for v in versions.SUPPORTED_KUBERNETES_VERSIONS)


# --------------------------------------------------------------------------------------------
# RBAC of the personas


def _np_verbs(role: dict[str, Any]) -> set[str]:
    return {v for r in role["rules"] if "networkpolicies" in r["resources"] and "networking.k8s.io" in r["apiGroups"]
            for v in r["verbs"]}


def test_self_service_personas_write_network_policies() -> None:
    t = TenantSpec.model_validate({"name": "alpha", "slot": 0, "selfService": {"networkPolicies": True}})
    roles = {r["metadata"]["name"]: r for r in pk.roles(t)}
    assert {"create", "update", "patch", "delete"} <= _np_verbs(roles["tenancy-admin"])
    assert {"create", "update", "patch", "delete"} <= _np_verbs(roles["tenancy-edit"])
    assert _np_verbs(roles["tenancy-view"]) == {"get", "list", "watch"}
    plain = {r["metadata"]["name"]: r for r in pk.roles(TenantSpec(name="alpha", slot=0))}
    assert _np_verbs(plain["tenancy-edit"]) == {"get", "list", "watch"}  # negative control


# --------------------------------------------------------------------------------------------
# The admission guard


POLICY, BINDING = admission.network_policy_guard_manifests()
NS = {"metadata": {"name": "alpha", "labels": {"tenancy/tenant": "alpha", "kubernetes.io/metadata.name": "alpha"}}}
EDITOR = ("system:authenticated", "tenancy:alpha:editors")


def np(name: str, **labels: str) -> dict[str, Any]:
    return {"apiVersion": "networking.k8s.io/v1", "kind": "NetworkPolicy",
            "metadata": {"name": name, "namespace": "alpha", "labels": labels}, "spec": {"podSelector": {}}}


def request(op: str, obj: dict[str, Any] | None, old: dict[str, Any] | None = None,
            user: str = "alice", groups: tuple[str, ...] = EDITOR) -> vap.Decision:
    return vap.admit(POLICY, BINDING, obj, NS, operation=op, old_pod=old, resource="networkpolicies",  # type: ignore[arg-type]
                     user=user, groups=groups, group="networking.k8s.io")


def test_tenants_write_their_own_policies() -> None:
    assert not request("CREATE", np("allow-web")).denied
    assert not request("UPDATE", np("allow-web"), np("allow-web")).denied
    assert not request("DELETE", None, np("allow-web")).denied


@pytest.mark.parametrize("op", ["CREATE", "UPDATE", "DELETE"])
def test_tenants_may_not_touch_the_platforms_policies(op: str) -> None:
    obj = None if op == "DELETE" else np(pk.NP_DEFAULT_DENY)
    old = None if op == "CREATE" else np(pk.NP_DEFAULT_DENY)
    d = request(op, obj, old)
    assert d.denied, d
    assert pk.NP_DEFAULT_DENY in d.violations[0] and "belongs to the platform" in d.violations[0]
    # the namespace's own service accounts are tenants too
    assert request(op, obj, old, user="system:serviceaccount:alpha:ci", groups=("system:serviceaccounts",)).denied
    # the platform's deployer and cluster admins carry no tenancy group: not judged
    assert not request(op, obj, old, user="deployer", groups=("system:masters",)).applies


def test_the_platform_label_is_guarded_too() -> None:
    assert request("CREATE", np("sneaky", **{"app.kubernetes.io/managed-by": "tenancy"})).denied
    assert request("DELETE", None, np("edge", **{"app.kubernetes.io/managed-by": "tenancy"})).denied


# --------------------------------------------------------------------------------------------
# The rendered policies


FULL = TenantSpec.model_validate({
    "name": "alpha", "slot": 0, "internetEgress": True, "kubernetesApiAccess": True, "serviceAccounts": ["app"],
    "allowFrom": ["beta", {"tenant": "gamma", "ports": [{"port": 8080}, {"port": 9000, "endPort": 9100},
                                                        {"port": 53, "protocol": "UDP"}]}]})
MESH = WorkloadsSpec.model_validate({"ingressControllerNamespace": "ingress", "mesh": "istio",
                                    "istio": {"preinstalled": True, "cni": True}})


def full_policy(**kw: Any) -> dict[str, Any]:
    args = {"aws_service_cidrs": ["10.40.0.0/24"], "pod_identity_agent": True, "service_cidr": "172.20.0.0/16",
            "api_endpoint_cidrs": ["10.40.0.0/24"], "kubernetes_service_ip": "172.20.0.1",
            "s3_cidrs": ["52.216.0.0/15"], **kw}
    return cp.tenant_policy(FULL, MESH, "10.40.0.0/16", **args)


def test_every_namespaced_allowance_has_its_pass_and_the_rest_is_denied() -> None:
    p = full_policy()
    egress = [r["name"] for r in p["spec"]["egress"]]
    assert egress == ["imds", "tenants", "dns", "kubernetes-api", "aws-services", "s3", "pod-identity-agent",
                      "istiod", "not-internet", "internet", "everything-else"]
    assert [r["action"] for r in p["spec"]["egress"]][-1] == "Deny" and p["spec"]["egress"][0]["action"] == "Deny"
    assert all(r["action"] == "Pass" for r in p["spec"]["egress"][1:8])
    assert [r["name"] for r in p["spec"]["ingress"]] == ["same-tenant", "ingress-controller", "other-namespaces"]
    # every namespaced policy of the tenant (its base policies) has a counterpart rule
    namespaced = {m["metadata"]["name"] for m in pk.network_policies(
        FULL, MESH, "10.40.0.0/16", ["10.40.0.0/24"], True, "172.20.0.0/16", ["10.40.0.0/24"], "172.20.0.1")}
    mirrored = {pk.NP_DEFAULT_DENY: "everything-else", pk.NP_SAME_NAMESPACE: "tenants", pk.NP_DNS: "dns",
                pk.NP_INTERNET: "internet", pk.NP_KUBE_API: "kubernetes-api", pk.NP_AWS_SERVICES: "aws-services",
                pk.NP_POD_IDENTITY: "pod-identity-agent", pk.NP_INGRESS_CONTROLLER: "ingress-controller",
                pk.NP_ISTIOD: "istiod"}
    assert namespaced == set(mirrored)
    crds.validate(p)


def test_minimal_tenant_gets_only_dns_and_its_own_namespaces() -> None:
    p = cp.tenant_policy(TenantSpec(name="beta", slot=1), WorkloadsSpec(), "10.40.0.0/16")
    assert [r["name"] for r in p["spec"]["egress"]] == ["imds", "tenants", "dns", "everything-else"]
    crds.validate(p)


def test_edge_policies_carry_the_ports_and_pass_before_the_wall() -> None:
    edges = cp.tenant_edge_policies(FULL)
    assert [e["metadata"]["name"] for e in edges] == ["tenancy-edge-alpha-from-beta", "tenancy-edge-alpha-from-gamma"]
    assert "ports" not in edges[0]["spec"]["ingress"][0]
    assert edges[1]["spec"]["ingress"][0]["ports"] == [
        {"portNumber": {"protocol": "TCP", "port": 8080}},
        {"portRange": {"protocol": "TCP", "start": 9000, "end": 9100}},
        {"portNumber": {"protocol": "UDP", "port": 53}}]
    assert all(e["spec"]["priority"] < cp.TENANT_PRIORITY for e in edges)
    lo, hi = cp.PRIORITY_RANGE
    assert lo <= cp.EDGE_PRIORITY < cp.TENANT_PRIORITY < cp.BASELINE_PRIORITY <= hi
    for e in edges:
        crds.validate(e)
    with pytest.raises(ValueError, match="cannot allow itself"):
        cp.edge_policy("alpha", "alpha")


def test_a_tenants_policies_do_not_depend_on_other_tenants() -> None:
    base = spec()
    more = {**base, "tenants": [*base["tenants"], {"name": "gamma", "slot": 2, "allowFrom": ["alpha"]}]}
    before = {p["metadata"]["name"]: p for p in cp.platform_manifests(load_platform(base))}
    after = {p["metadata"]["name"]: p for p in cp.platform_manifests(load_platform(more))}
    assert all(after[k] == v for k, v in before.items())
    assert set(after) - set(before) == {"tenancy-tenant-gamma", "tenancy-edge-gamma-from-alpha"}


def test_many_tenants_fit_one_priority_each_role() -> None:
    """500 tenants: one wall each, all at one priority, no policy grows with the tenant count."""
    policies = [cp.tenant_policy(TenantSpec(name=f"t{i}", slot=i, allow_from=[f"t{(i + 1) % 500}"]),
                                 WorkloadsSpec(), "10.0.0.0/8") for i in range(500)]
    assert {p["spec"]["priority"] for p in policies} == {cp.TENANT_PRIORITY}
    assert max(len(p["spec"]["egress"]) for p in policies) == 4
    assert max(len(p["spec"]["ingress"]) for p in policies) == 2
