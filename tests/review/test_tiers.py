"""The tier evaluator (tenancy.review.tiers) and the rendered ClusterNetworkPolicies it judges (issue 26).

Three kinds of evidence:

- the evaluator against hand-written cases of the upstream semantics (sig-network-policy-api:
  Admin in priority order, first matching rule, Accept/Deny final, Pass to the NetworkPolicies, no
  NetworkPolicy -> Baseline -> default allow), independent of tenancy's renderer;
- the evaluator's NetworkPolicy layer against network-config-analyzer, pod pair by pod pair, on the
  rendered namespaced policies plus tenant-owned ones (nca knows no ClusterNetworkPolicy);
- the rendered walls with tenants owning NetworkPolicies: a tenant policy admitting another tenant
  is overridden by the Admin tier (negative control: without the Admin policies the same tenant
  policies open the path, and nca agrees).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from tenancy.plan import cluster_policies as cp
from tenancy.plan import kubernetes as pk
from tenancy.plan.validate import load_platform
from tenancy.review import tiers
from tenancy.review.netpol import Endpoint
from tests.helpers import crds
from tests.helpers.nca import Nca, SampleCluster

# --------------------------------------------------------------------------------------------
# The semantics, on hand-written policies


def ns_ep(ns: str, tenant: str | None = None, ip: str = "10.0.0.1", **labels: str) -> Endpoint:
    ns_labels = {"kubernetes.io/metadata.name": ns, **({"tenancy/tenant": tenant} if tenant else {})}
    return Endpoint(namespace=ns, ns_labels=ns_labels, pod_labels=dict(labels), networks=(f"{ip}/32",))


A, B = ns_ep("a", "a", "10.0.0.1"), ns_ep("b", "b", "10.0.0.2")
ALLOW_ALL_NP = {"metadata": {"name": "all", "namespace": "a"},
                "spec": {"podSelector": {}, "policyTypes": ["Ingress"], "ingress": [{}]}}
DENY_ALL_NP = {"metadata": {"name": "deny", "namespace": "a"},
               "spec": {"podSelector": {}, "policyTypes": ["Ingress"]}}


def cnp(tier: str, priority: int, *ingress: dict[str, Any], subject: str = "a") -> dict[str, Any]:
    return {"spec": {"tier": tier, "priority": priority,
                     "subject": {"namespaces": {"matchLabels": {"kubernetes.io/metadata.name": subject}}},
                     "ingress": list(ingress)}}


def rule(action: str, ns: str = "b", port: int | None = None) -> dict[str, Any]:
    out: dict[str, Any] = {"action": action, "from": [{"namespaces": {"matchLabels": {
        "kubernetes.io/metadata.name": ns}}}]}
    if port is not None:
        out["ports"] = [{"portNumber": {"protocol": "TCP", "port": port}}]
    return out


def ingress_ok(cnps: list[dict[str, Any]], nps: list[dict[str, Any]], port: int = 80) -> tuple[bool, str]:
    return tiers.side(cnps, nps, A, "Ingress", B, "tcp", port)


def test_admin_deny_beats_a_network_policy_that_allows() -> None:
    assert ingress_ok([cnp("Admin", 10, rule("Deny"))], [ALLOW_ALL_NP]) == (False, "Admin")
    assert ingress_ok([], [ALLOW_ALL_NP]) == (True, "NetworkPolicy")  # control


def test_admin_accept_beats_a_network_policy_that_denies() -> None:
    assert ingress_ok([cnp("Admin", 10, rule("Accept"))], [DENY_ALL_NP]) == (True, "Admin")
    assert ingress_ok([], [DENY_ALL_NP]) == (False, "NetworkPolicy")


def test_pass_hands_the_decision_to_the_network_policies() -> None:
    deny_later = cnp("Admin", 20, rule("Deny"))
    assert ingress_ok([cnp("Admin", 10, rule("Pass")), deny_later], [ALLOW_ALL_NP]) == (True, "NetworkPolicy")
    assert ingress_ok([cnp("Admin", 10, rule("Pass")), deny_later], [DENY_ALL_NP]) == (False, "NetworkPolicy")


def test_lower_priority_number_first_and_first_rule_in_a_policy() -> None:
    assert ingress_ok([cnp("Admin", 20, rule("Deny")), cnp("Admin", 10, rule("Accept"))], [])[0] is True
    assert ingress_ok([cnp("Admin", 10, rule("Deny")), cnp("Admin", 20, rule("Accept"))], [])[0] is False
    assert ingress_ok([cnp("Admin", 10, rule("Accept"), rule("Deny"))], [])[0] is True
    assert ingress_ok([cnp("Admin", 10, rule("Deny"), rule("Accept"))], [])[0] is False


def test_ports_and_peers_must_both_match() -> None:
    policies = [cnp("Admin", 10, rule("Accept", port=8080), rule("Deny"))]
    assert ingress_ok(policies, [], 8080) == (True, "Admin")
    assert ingress_ok(policies, [], 8081) == (False, "Admin")
    assert ingress_ok([cnp("Admin", 10, rule("Deny", ns="c"))], []) == (True, "default")


def test_baseline_only_when_no_network_policy_selects_the_pod() -> None:
    base = [cnp("Baseline", 10, rule("Deny"))]
    assert ingress_ok(base, []) == (False, "Baseline")
    assert ingress_ok(base, [ALLOW_ALL_NP]) == (True, "NetworkPolicy")
    other_ns_subject = [cnp("Baseline", 10, rule("Deny"), subject="z")]
    assert ingress_ok(other_ns_subject, []) == (True, "default")


def test_egress_networks_and_connection_ports() -> None:
    egress = {"spec": {"tier": "Admin", "priority": 1, "subject": {"namespaces": {}},
                       "egress": [{"action": "Deny", "to": [{"networks": ["169.254.169.254/32"]}]},
                                  {"action": "Accept", "to": [{"networks": ["0.0.0.0/0"]}],
                                   "ports": [{"portRange": {"protocol": "TCP", "start": 443, "end": 444}}]}]}}
    imds, web = Endpoint.address("169.254.169.254"), Endpoint.address("1.1.1.1")
    assert not tiers.verdict([egress], {}, A, imds, "tcp", 443)
    assert tiers.verdict([egress], {}, A, web, "tcp", 443)
    # not matched by the Accept: default allow (no NetworkPolicy, no Baseline)
    assert tiers.connection([egress], {}, A, imds) == []
    assert tiers.connection([egress], {"a": [{"spec": {"podSelector": {}, "policyTypes": ["Egress"]}}]}, A, web) == [
        ("tcp", 443, 444)]


# --------------------------------------------------------------------------------------------
# The rendered walls


SPEC = load_platform({
    "name": "acme", "vpcCidr": "10.40.0.0/16",
    "tenants": [
        {"name": "alpha", "slot": 0, "selfService": {"networkPolicies": True}},
        {"name": "beta", "slot": 1, "selfService": {"networkPolicies": True}, "internetEgress": True},
        {"name": "gamma", "slot": 2, "selfService": {"networkPolicies": True},
         "allowFrom": [{"tenant": "beta", "ports": [{"port": 8080}]}]},
    ],
})
TENANTS = [t.name for t in SPEC.tenants]
CNPS = cp.platform_manifests(SPEC)
LAYOUT = {"alpha": [("web", {"app": "web"})], "beta": [("web", {"app": "web"})], "gamma": [("web", {"app": "web"})],
          "kube-system": [("coredns", {"k8s-app": "kube-dns"})]}
CLUSTER = SampleCluster.build(LAYOUT, tenants=TENANTS)


def namespaced() -> list[dict[str, Any]]:
    systems = [str(n) for n in SPEC.address_plan.system_subnets()]
    out: list[dict[str, Any]] = []
    for t in SPEC.tenants:
        out += [m for m in pk.tenant_manifests(t, SPEC.workloads, SPEC.vpc_cidr, aws_service_cidrs=systems,
                                               service_cidr=SPEC.service_cidr) if m["kind"] == "NetworkPolicy"]
        out += [m for m in pk.tenant_edges(t) if m["kind"] == "NetworkPolicy"]
    return out


def own(ns: str, name: str, spec: dict[str, Any]) -> dict[str, Any]:
    """A tenant-owned NetworkPolicy (what a self-service tenant may write)."""
    return {"apiVersion": "networking.k8s.io/v1", "kind": "NetworkPolicy",
            "metadata": {"name": name, "namespace": ns}, "spec": spec}


def by_ns(policies: list[dict[str, Any]]) -> dict[str, list[dict[str, Any]]]:
    out: dict[str, list[dict[str, Any]]] = {}
    for p in policies:
        out.setdefault(p["metadata"]["namespace"], []).append(p)
    return out


def endpoints() -> dict[str, Endpoint]:
    ns_labels = {n["metadata"]["name"]: n["metadata"]["labels"] for n in CLUSTER.namespaces}
    return {f"{p['metadata']['namespace']}/{p['metadata']['name']}": Endpoint(
        namespace=p["metadata"]["namespace"], ns_labels=ns_labels[p["metadata"]["namespace"]],
        pod_labels=p["metadata"]["labels"], networks=(f"{p['status']['podIP']}/32",)) for p in CLUSTER.pods}


EP = endpoints()
COLLUDING = [
    # alpha admits beta's namespace on every port; beta lets its pods out to alpha: both self-service.
    own("alpha", "admit-beta", {"podSelector": {}, "policyTypes": ["Ingress"], "ingress": [{"from": [
        {"namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": "beta"}}}]}]}),
    own("beta", "to-alpha-and-gamma", {"podSelector": {}, "policyTypes": ["Egress"], "egress": [{"to": [
        {"namespaceSelector": {"matchExpressions": [{"key": "kubernetes.io/metadata.name", "operator": "In",
                                                     "values": ["alpha", "gamma"]}]}}]}]}),
    # gamma widens its declared edge from beta (8080) to every port; beta lets its pods out to gamma.
    own("gamma", "admit-beta-everywhere", {"podSelector": {}, "policyTypes": ["Ingress"], "ingress": [{"from": [
        {"namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": "beta"}}}]}]}),
    # alpha (no internetEgress) opens the internet and IMDS for itself.
    own("alpha", "internet", {"podSelector": {}, "policyTypes": ["Egress"], "egress": [{"to": [
        {"ipBlock": {"cidr": "0.0.0.0/0"}}]}]}),
]


def test_rendered_cluster_policies_fit_the_crd_schema() -> None:
    assert {p["metadata"]["name"] for p in CNPS} == {
        "tenancy-baseline-default-deny", "tenancy-tenant-alpha", "tenancy-tenant-beta", "tenancy-tenant-gamma",
        "tenancy-edge-gamma-from-beta"}
    for p in CNPS:
        crds.validate(p)


def test_crd_schema_negative_control() -> None:
    import jsonschema

    bad = {**CNPS[1], "spec": {**CNPS[1]["spec"], "priority": 1001}}
    with pytest.raises(jsonschema.ValidationError):
        crds.validate(bad)
    typo = {**CNPS[1], "spec": {**CNPS[1]["spec"], "ingress": [{"action": "Allow", "from": [{"namespaces": {}}]}]}}
    with pytest.raises(jsonschema.ValidationError):
        crds.validate(typo)


def test_tenant_policies_cannot_open_a_cross_tenant_path() -> None:
    nps = by_ns(namespaced() + COLLUDING)
    # the Admin tier overrides the colluding tenants' policies
    assert tiers.connection(CNPS, nps, EP["beta/web"], EP["alpha/web"]) == []
    assert tiers.side(CNPS, nps["alpha"], EP["alpha/web"], "Ingress", EP["beta/web"], "tcp", 80) == (False, "Admin")
    # the declared edge stays open on its port, and only there
    assert tiers.connection(CNPS, nps, EP["beta/web"], EP["gamma/web"]) == [("tcp", 8080, 8080)]
    # alpha (no internetEgress) reaches neither the internet nor IMDS; beta (internetEgress) the internet only
    for dst in ("1.1.1.1", "169.254.169.254"):
        assert tiers.connection(CNPS, nps, EP["alpha/web"], Endpoint.address(dst)) == []
    assert tiers.verdict(CNPS, nps, EP["beta/web"], Endpoint.address("1.1.1.1"), "tcp", 443)
    assert not tiers.verdict(CNPS, nps, EP["beta/web"], Endpoint.address("169.254.169.254"), "tcp", 80)
    # what must keep working: the namespace to itself, DNS
    assert tiers.verdict(CNPS, nps, EP["alpha/web"], EP["alpha/web"], "tcp", 80)
    assert tiers.connection(CNPS, nps, EP["alpha/web"], EP["kube-system/coredns"]) == [
        ("tcp", 53, 53), ("udp", 53, 53)]


def test_negative_control_without_the_admin_tier_the_tenant_policies_open_the_paths(tmp_path: Path) -> None:
    nps = namespaced() + COLLUDING
    grouped = by_ns(nps)
    no_admin = [p for p in CNPS if p["spec"]["tier"] != "Admin"]
    assert tiers.connection(no_admin, grouped, EP["beta/web"], EP["alpha/web"]) == [("any", 0, 65535)]
    assert tiers.connection(no_admin, grouped, EP["beta/web"], EP["gamma/web"]) == [("any", 0, 65535)]
    assert tiers.verdict(no_admin, grouped, EP["alpha/web"], Endpoint.address("169.254.169.254"), "tcp", 80)
    # nca (NetworkPolicy layer only) agrees that the namespaced policies alone let beta into alpha and gamma
    nca = Nca(tmp_path, CLUSTER)
    conn = nca.connectivity(nca.policies(nps, "colluding"))
    assert conn.get("beta/web", "alpha/web") == "All connections"
    assert conn.get("beta/web", "gamma/web") == "All connections"
    without = nca.connectivity(nca.policies(namespaced(), "platform-only"))
    assert without.get("beta/web", "alpha/web") is None


@pytest.mark.parametrize("extra", [[], COLLUDING], ids=["platform", "with-tenant-policies"])
def test_network_policy_layer_agrees_with_nca(tmp_path: Path, extra: list[dict[str, Any]]) -> None:
    """Pod pair by pod pair: the evaluator with no cluster policies (the NetworkPolicy layer) finds a
    connection exactly where nca does; and where the Admin tier passes both sides, the tiered
    verdict is the NetworkPolicy layer's."""
    nps = namespaced() + extra
    grouped = by_ns(nps)
    conn = Nca(tmp_path, CLUSTER).connectivity(Nca(tmp_path, CLUSTER).policies(nps))
    pods = sorted(EP)
    checked = 0
    for s in pods:
        for d in pods:
            if s == d:
                continue
            ours = tiers.connection([], grouped, EP[s], EP[d])
            assert bool(ours) == (conn.get(s, d) is not None), (s, d, ours, conn.get(s, d))
            for proto, port in (("tcp", 80), ("tcp", 8080), ("udp", 53)):
                passed = all(tiers.tier_action(CNPS, "Admin", pod, direction, other, proto, port) == "Pass"
                             for pod, direction, other in ((EP[s], "Egress", EP[d]), (EP[d], "Ingress", EP[s])))
                if passed:
                    checked += 1
                    assert tiers.verdict(CNPS, grouped, EP[s], EP[d], proto, port) == \
                        tiers.verdict([], grouped, EP[s], EP[d], proto, port)
    assert checked > 0
