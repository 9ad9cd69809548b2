"""Tenant network isolation, judged by network-config-analyzer (nca) on the RENDERED manifests
(the inputs the program registered, as the render writes them) with sample pods in every
tenant, CoreDNS and another pod in kube-system, an ingress controller, an unmanaged namespace,
and the internet as IP blocks.

The expectations are written here by hand — as nca's own spec policies and as a connectivity
matrix derived from the spec's ``allowFrom`` — not read back from the code under test. Each
deliberately broken fixture must make the matching check fail.
"""

from __future__ import annotations

import copy
import ipaddress
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from tenancy import load_platform
from tenancy.render import render_spec
from tenancy.render.mocks import S3_PREFIX_LIST_CIDRS
from tests.fixtures.specs import spec_with, tenant
from tests.helpers.nca import Connectivity, Nca, SampleCluster

pytestmark = pytest.mark.slow

VPC = "10.40.0.0/16"
SPEC = spec_with(
    [tenant("alpha", 0, allowFrom=["beta"], serviceAccounts=["app"]),
     tenant("beta", 1),
     tenant("gamma", 2, internetEgress=True),
     tenant("delta", 3, allowFrom=["gamma"])],
    vpcCidr=VPC,
    workloads={"ingressControllerNamespace": "ingress-nginx"},
)
TENANTS = ["alpha", "beta", "gamma", "delta"]
ALLOW_FROM = {"alpha": {"beta"}, "delta": {"gamma"}}  # written out by hand from SPEC
DNS = "{protocols:TCP, UDP,dst_ports:53}"
HTTPS = "{protocols:TCP,dst_ports:443}"
SYSTEM = [str(n) for n in load_platform(SPEC).address_plan.system_subnets()]
"""The interface VPC endpoints (STS, ECR, EC2, Logs) live in the system subnets: every tenant
must reach them on TCP 443 (IRSA's token exchange at STS), and nothing else there."""
SERVICE_CIDR = "172.20.0.0/16"
"""EKS's default Service range for a VPC in 10.0.0.0/8, which the platform pins. The policy
agent sees ClusterIPs before kube-proxy's DNAT: internet egress must not include them."""
S3 = list(S3_PREFIX_LIST_CIDRS)  # what the (mocked) S3 prefix list holds
S3_USERS = {"alpha"}  # service accounts and no internet egress: reaches S3 through the gateway endpoint


def _https_to(t: str) -> list[str]:
    return SYSTEM + (S3 if t in S3_USERS else [])


def _cluster() -> SampleCluster:
    layout: dict[str, list[tuple[str, dict[str, str]]]] = {
        t: [("web", {"app": "web"}), ("db", {"app": "db"})] for t in TENANTS}
    layout["kube-system"] = [("coredns", {"k8s-app": "kube-dns"}), ("metrics", {"k8s-app": "metrics-server"})]
    layout["ingress-nginx"] = [("controller", {"app": "ingress-nginx"})]
    layout["default"] = [("stray", {"app": "stray"})]
    return SampleCluster.build(layout, tenants=TENANTS)


@pytest.fixture(scope="module")
def rendered() -> list[dict[str, Any]]:
    result = render_spec(SPEC)
    return [m for objs in result.manifests.values() for m in objs if m["kind"] == "NetworkPolicy"]


@pytest.fixture(scope="module")
def nca(tmp_path_factory: pytest.TempPathFactory) -> Nca:
    return Nca(tmp_path_factory.mktemp("nca"), _cluster())


@pytest.fixture(scope="module")
def baseline(nca: Nca, rendered: list[dict[str, Any]]) -> Connectivity:
    return nca.connectivity(nca.policies(rendered, "rendered"))


# --------------------------------------------------------------------------------------------
# Hand-written spec policies


def _ns(*names: str, op: str = "In") -> dict[str, Any]:
    return {"matchExpressions": [{"key": "kubernetes.io/metadata.name", "operator": op, "values": list(names)}]}


def _np(name: str, namespace: str, **spec: Any) -> dict[str, Any]:
    return {"apiVersion": "networking.k8s.io/v1", "kind": "NetworkPolicy",
            "metadata": {"name": name, "namespace": namespace}, "spec": {"podSelector": {}, **spec}}


def must_permit() -> list[dict[str, Any]]:
    """Flows that must work: DNS (both protocols) from every tenant, each declared allowFrom in
    its direction, the ingress controller into every tenant, and gamma to the internet."""
    out = [_np("dns", "kube-system", podSelector={"matchLabels": {"k8s-app": "kube-dns"}}, policyTypes=["Ingress"],
               ingress=[{"from": [{"namespaceSelector": _ns(*TENANTS)}],
                         "ports": [{"protocol": "UDP", "port": 53}, {"protocol": "TCP", "port": 53}]}])]
    for t, peers in ALLOW_FROM.items():
        out.append(_np(f"from-{'-'.join(sorted(peers))}", t, policyTypes=["Ingress"],
                       ingress=[{"from": [{"namespaceSelector": _ns(*peers)}]}]))
    for t in TENANTS:
        out.append(_np("from-ingress-controller", t, policyTypes=["Ingress"],
                       ingress=[{"from": [{"namespaceSelector": _ns("ingress-nginx")}]}]))
    out.append(_np("internet", "gamma", policyTypes=["Egress"],
                   egress=[{"to": [{"ipBlock": {"cidr": "0.0.0.0/0",
                                                "except": [VPC, SERVICE_CIDR, "169.254.0.0/16"]}}]}]))
    return out


def must_permit_endpoints() -> list[dict[str, Any]]:
    """Every tenant reaches the interface endpoints (system subnets) on TCP 443. A spec of its
    own: in nca's spec semantics an egress policy isolates its pods, so mixed into
    ``must_permit`` it would stop the spec from permitting the tenants' DNS."""
    return [_np("aws-endpoints", t, policyTypes=["Egress"],
                egress=[{"to": [{"ipBlock": {"cidr": c}} for c in _https_to(t)],
                         "ports": [{"protocol": "TCP", "port": 443}]}])
            for t in TENANTS]


def must_forbid() -> list[dict[str, Any]]:
    """Flows that must not exist: into a tenant from any namespace but itself, its declared
    peers and the ingress controller; out of a tenant to any namespace but itself, the tenants
    that allow it, and kube-dns on 53; to the internet except gamma; to the VPC and the
    instance metadata service from gamma."""
    out = []
    allowed_to = {t: {d for d, peers in ALLOW_FROM.items() if t in peers} for t in TENANTS}
    for t in TENANTS:
        out.append(_np("foreign-ingress", t, policyTypes=["Ingress"], ingress=[{"from": [
            {"namespaceSelector": _ns(t, *ALLOW_FROM.get(t, ()), "ingress-nginx", op="NotIn")}]}]))
        out.append(_np("foreign-egress", t, policyTypes=["Egress"], egress=[
            {"to": [{"namespaceSelector": _ns(t, "kube-system", *allowed_to[t], op="NotIn")}]},
            {"to": [{"namespaceSelector": _ns("kube-system"),
                     "podSelector": {"matchExpressions": [{"key": "k8s-app", "operator": "NotIn",
                                                           "values": ["kube-dns"]}]}}]},
            {"to": [{"namespaceSelector": _ns("kube-system"), "podSelector": {"matchLabels": {"k8s-app": "kube-dns"}}}],
             "ports": [{"protocol": p, "port": 1, "endPort": 52} for p in ("TCP", "UDP")]
             + [{"protocol": p, "port": 54, "endPort": 65535} for p in ("TCP", "UDP")] + [{"protocol": "SCTP"}]},
        ]))
        internet = [{"ipBlock": {"cidr": VPC, "except": SYSTEM}}, {"ipBlock": {"cidr": "169.254.169.254/32"}},
                    {"ipBlock": {"cidr": SERVICE_CIDR}}]
        if t != "gamma":
            internet = [{"ipBlock": {"cidr": "0.0.0.0/0", "except": _https_to(t)}}]
        not_https = [{"protocol": "TCP", "port": 1, "endPort": 442},
                     {"protocol": "TCP", "port": 444, "endPort": 65535}, {"protocol": "UDP"}, {"protocol": "SCTP"}]
        out.append(_np("internet", t, policyTypes=["Egress"], egress=[
            {"to": internet},
            {"to": [{"ipBlock": {"cidr": c}} for c in _https_to(t)], "ports": not_https}]))
    return out


# --------------------------------------------------------------------------------------------
# The rendered policies pass


def test_rendered_policies_permit_what_must_work(nca: Nca, rendered: list[dict[str, Any]]) -> None:
    res = nca.permits(nca.policies(must_permit(), "spec-permit"), nca.policies(rendered, "rendered"))
    assert res.ok, res.output
    endpoints = nca.policies(must_permit_endpoints(), "spec-permit-endpoints")
    res = nca.permits(endpoints, nca.policies(rendered, "rendered"))
    assert res.ok, res.output


def test_rendered_policies_forbid_everything_else(nca: Nca, rendered: list[dict[str, Any]]) -> None:
    res = nca.forbids(nca.policies(must_forbid(), "spec-forbid"), nca.policies(rendered, "rendered"))
    assert res.ok, res.output


def test_connectivity_map_is_exactly_the_declared_one(baseline: Connectivity) -> None:
    conn = baseline
    pods = [f"{t}/{p}" for t in TENANTS for p in ("web", "db")]
    for src in pods:
        s_ns = src.split("/")[0]
        for dst in pods:
            if src == dst:
                continue
            d_ns = dst.split("/")[0]
            expected = "All connections" if s_ns == d_ns or s_ns in ALLOW_FROM.get(d_ns, ()) else None
            assert conn.get(src, dst) == expected, (src, dst, conn.get(src, dst))
        assert conn.get(src, "kube-system/coredns") == DNS
        assert conn.get(src, "kube-system/metrics") is None
        assert conn.get(src, "ingress-nginx/controller") is None
        assert conn.get(src, "default/stray") is None
        assert conn.get("default/stray", src) is None
        assert conn.get("kube-system/metrics", src) is None
        assert conn.get("ingress-nginx/controller", src) == "All connections"
        endpoints = conn.external_from(src, HTTPS)
        system = list(ipaddress.collapse_addresses(ipaddress.ip_network(c) for c in _https_to(s_ns)))
        assert endpoints and all(any(n.subnet_of(s) for s in system) for n in endpoints), (src, endpoints)
        internet = conn.external_from(src)
        assert conn.external_conns(src) <= {HTTPS, "All connections"}, (src, conn.external_conns(src))
        if s_ns == "gamma":
            for ip in ("8.8.8.8", "1.1.1.1", "10.0.0.1", "192.168.1.1"):
                assert any(ipaddress.ip_address(ip) in n for n in internet), ip
            for ip in ("10.40.0.1", "10.40.255.254", "169.254.169.254", "169.254.170.23", "172.20.0.1",
                       "172.20.0.10", "172.20.255.254"):
                assert not any(ipaddress.ip_address(ip) in n for n in internet), ip
        else:
            assert internet == [], (src, internet)
    # Nothing from outside the cluster reaches a tenant.
    assert not [k for k in conn.edges if k[1] in pods and k[0][0].isdigit()]


# --------------------------------------------------------------------------------------------
# Deliberately broken policies must fail the checks


def _edit(manifests: list[dict[str, Any]], namespace: str, name: str, fn: Callable[[dict[str, Any]], Any]) -> None:
    for m in manifests:
        if m["metadata"].get("namespace") == namespace and m["metadata"]["name"] == name:
            fn(m)
            return
    raise AssertionError(f"no policy {namespace}/{name}")


def _dns_on_ingress(ms: list[dict[str, Any]]) -> None:
    """EKS blueprints' README mistake: port 53 on ingress, nothing on egress."""
    def fn(m: dict[str, Any]) -> None:
        rule = m["spec"].pop("egress")[0]
        m["spec"]["policyTypes"] = ["Ingress"]
        m["spec"]["ingress"] = [{"from": rule["to"], "ports": rule["ports"]}]
    _edit(ms, "beta", "tenancy-allow-dns", fn)


def _dns_udp_only(ms: list[dict[str, Any]]) -> None:
    _edit(ms, "beta", "tenancy-allow-dns",
          lambda m: m["spec"]["egress"][0].update(ports=[{"protocol": "UDP", "port": 53}]))


def _dns_two_peers_alone(ms: list[dict[str, Any]]) -> None:
    """Namespace and pod selectors as two peers (OR): all of kube-system, not kube-dns in it."""
    def fn(m: dict[str, Any]) -> None:
        (peer,) = m["spec"]["egress"][0]["to"]
        m["spec"]["egress"][0]["to"] = [{"namespaceSelector": peer["namespaceSelector"]},
                                        {"podSelector": peer["podSelector"]}]
    _edit(ms, "beta", "tenancy-allow-dns", fn)


def _dns_two_peers(ms: list[dict[str, Any]]) -> None:
    """The two-peers mistake, with kube-system's own wall (``tenancy-platform``, which admits no
    tenant) gone as well: alone, the egress mistake is masked (tested below)."""
    _dns_two_peers_alone(ms)
    ms[:] = [m for m in ms if not (m["metadata"].get("namespace") == "kube-system"
                                   and m["metadata"]["name"] == "tenancy-platform")]


def _ingress_only_default_deny(ms: list[dict[str, Any]]) -> None:
    """A default-deny without Egress, in a namespace where nothing else declares Egress."""
    _edit(ms, "beta", "tenancy-default-deny", lambda m: m["spec"].update(policyTypes=["Ingress"]))
    _edit(ms, "beta", "tenancy-allow-same-namespace", lambda m: (
        m["spec"].update(policyTypes=["Ingress"]), m["spec"].pop("egress")))
    ms[:] = [m for m in ms if not (m["metadata"].get("namespace") == "beta"
                                   and m["metadata"]["name"] in ("tenancy-allow-dns", "tenancy-allow-to-alpha",
                                                                 "tenancy-allow-aws-services"))]


def _edge_without_egress(ms: list[dict[str, Any]]) -> None:
    ms[:] = [m for m in ms if not (m["metadata"].get("namespace") == "beta"
                                   and m["metadata"]["name"] == "tenancy-allow-to-alpha")]


def _edge_both_ways(ms: list[dict[str, Any]]) -> None:
    """An edge made symmetric: beta now also accepts alpha."""
    extra = copy.deepcopy(next(m for m in ms if m["metadata"]["name"] == "tenancy-allow-from-beta"))
    extra["metadata"].update(namespace="beta", name="tenancy-allow-from-alpha")
    extra["spec"]["ingress"][0]["from"][0]["namespaceSelector"]["matchLabels"] = {
        "kubernetes.io/metadata.name": "alpha"}
    back = copy.deepcopy(next(m for m in ms if m["metadata"]["name"] == "tenancy-allow-to-alpha"))
    back["metadata"].update(namespace="alpha", name="tenancy-allow-to-beta")
    back["spec"]["egress"][0]["to"][0]["namespaceSelector"]["matchLabels"] = {"kubernetes.io/metadata.name": "beta"}
    ms += [extra, back]


def _internet_into_vpc(ms: list[dict[str, Any]]) -> None:
    _edit(ms, "gamma", "tenancy-allow-internet-egress",
          lambda m: m["spec"]["egress"][0]["to"][0]["ipBlock"].update({"except": ["169.254.169.254/32"]}))


def _no_same_namespace(ms: list[dict[str, Any]]) -> None:
    ms[:] = [m for m in ms if not (m["metadata"].get("namespace") == "delta"
                                   and m["metadata"]["name"] == "tenancy-allow-same-namespace")]


def _no_dns(c: Connectivity) -> bool:
    return c.get("beta/web", "kube-system/coredns") is None


def _udp_dns_only(c: Connectivity) -> bool:
    return "TCP" not in (c.get("beta/web", "kube-system/coredns") or "TCP")


def _kube_system_open(c: Connectivity) -> bool:
    return c.get("beta/web", "kube-system/metrics") is not None


def _beta_to_internet(c: Connectivity) -> bool:
    return bool(c.external_from("beta/web")) and c.get("beta/web", "gamma/web") is None


def _edge_closed(c: Connectivity) -> bool:
    return c.get("beta/web", "alpha/web") is None


def _reverse_open(c: Connectivity) -> bool:
    return c.get("alpha/web", "beta/web") == "All connections"


def _vpc_reachable(c: Connectivity) -> bool:
    return any(ipaddress.ip_address("10.40.0.1") in n for n in c.external_from("gamma/web"))


def _namespace_split(c: Connectivity) -> bool:
    return c.get("delta/web", "delta/db") is None


@pytest.mark.parametrize("breakage, check, symptom", [
    (_dns_on_ingress, "permits", _no_dns),
    (_dns_udp_only, "permits", _udp_dns_only),
    (_dns_two_peers, "forbids", _kube_system_open),
    (_ingress_only_default_deny, "forbids", _beta_to_internet),
    (_edge_without_egress, "permits", _edge_closed),
    (_edge_both_ways, "forbids", _reverse_open),
    (_internet_into_vpc, "forbids", _vpc_reachable),
    (_no_same_namespace, "connectivity", _namespace_split),
])
def test_broken_policies_fail_the_check(nca: Nca, rendered: list[dict[str, Any]], baseline: Connectivity,
                                        breakage: Callable[[list[dict[str, Any]]], None], check: str,
                                        symptom: Callable[[Connectivity], bool]) -> None:
    """Each breakage fails its check, and nca's connectivity map shows the breakage's own symptom
    (absent from the unbroken render), so the check failed for the intended reason."""
    assert not symptom(baseline)
    broken = copy.deepcopy(rendered)
    breakage(broken)
    base = nca.policies(broken, f"broken-{breakage.__name__.strip('_')}")
    assert symptom(nca.connectivity(base))
    if check == "permits":
        res = nca.permits(nca.policies(must_permit(), "spec-permit"), base)
        assert not res.ok and "does not permit" in res.output, res.output
    elif check == "forbids":
        res = nca.forbids(nca.policies(must_forbid(), "spec-forbid"), base)
        assert not res.ok and "does not forbid" in res.output, res.output


def test_a_tenant_egress_mistake_towards_kube_system_is_masked_by_the_platform_policy(
        nca: Nca, rendered: list[dict[str, Any]]) -> None:
    """Defence in depth: kube-system's ``tenancy-platform`` admits no tenant namespace, so a
    tenant DNS policy that opens all of kube-system still reaches only CoreDNS on 53."""
    broken = copy.deepcopy(rendered)
    _dns_two_peers_alone(broken)
    conn = nca.connectivity(nca.policies(broken, "two-peers-alone"))
    assert conn.get("beta/web", "kube-system/metrics") is None
    assert conn.get("beta/web", "kube-system/coredns") == DNS


def test_an_ingress_only_default_deny_is_masked_by_the_other_policies(nca: Nca, rendered: list[dict[str, Any]]) -> None:
    """Defence in depth, stated as a fact nca checks: every other policy of a tenant also
    declares Egress, so a default-deny that lost ``Egress`` on its own still leaves egress denied."""
    broken = copy.deepcopy(rendered)
    _edit(broken, "beta", "tenancy-default-deny", lambda m: m["spec"].update(policyTypes=["Ingress"]))
    res = nca.forbids(nca.policies(must_forbid(), "spec-forbid"), nca.policies(broken, "deny-ingress-only"))
    assert res.ok, res.output


def test_the_sample_cluster_is_what_the_tests_think(tmp_path: Path) -> None:
    """Guard against a vacuous pass: without any policy, nca must see every flow open."""
    n = Nca(tmp_path, _cluster())
    res = n.forbids(n.policies(must_forbid(), "spec-forbid"), n.policies(
        [{"apiVersion": "networking.k8s.io/v1", "kind": "NetworkPolicy",
          "metadata": {"name": "noop", "namespace": "default"},
          "spec": {"podSelector": {"matchLabels": {"app": "none"}}, "policyTypes": ["Ingress"]}}], "open"))
    assert not res.ok and "does not forbid" in res.output, res.output


# --------------------------------------------------------------------------------------------
# The mesh layer: nca evaluates Istio AuthorizationPolicies for TCP


MESH_SPEC = spec_with([tenant("alpha", 0, allowFrom=["beta"]), tenant("beta", 1), tenant("gamma", 2)],
                      vpcCidr=VPC, workloads={"mesh": "istio", "istio": {"preinstalled": True, "cni": True}})


def test_istio_authorization_admits_only_the_namespace_and_its_peers(tmp_path: Path) -> None:
    result = render_spec(MESH_SPEC)
    istio = [m for objs in result.manifests.values() for m in objs if m["apiVersion"].startswith("security.istio.io/")]
    assert {m["kind"] for m in istio} == {"PeerAuthentication", "AuthorizationPolicy"}
    n = Nca(tmp_path, SampleCluster.build({t: [("web", {"app": "web"}), ("db", {"app": "db"})]
                                           for t in ("alpha", "beta", "gamma")}))

    def tcp_map(policies: list[dict[str, Any]]) -> set[tuple[str, str]]:
        conn = n.connectivity(n.policies(policies, "istio"), section="TCP")
        return {(s.split("/")[0], d.split("/")[0]) for s, d in conn.edges if "/" in d}

    expected = {("alpha", "alpha"), ("beta", "beta"), ("gamma", "gamma"), ("beta", "alpha")}
    assert tcp_map(istio) == expected
    # Negative control: without the edge's AuthorizationPolicy, beta no longer reaches alpha.
    without_edge = [m for m in istio if "tenancy/peer" not in m["metadata"]["labels"]]
    assert tcp_map(without_edge) == expected - {("beta", "alpha")}


def test_without_the_s3_policy_the_data_bucket_is_unreachable(nca: Nca, rendered: list[dict[str, Any]]) -> None:
    """Negative control: alpha's workloads (service accounts, no internet egress) reach S3 only
    through ``tenancy-allow-s3``; drop it and the endpoint check fails, naming S3's ranges."""
    assert any(m["metadata"]["name"] == "tenancy-allow-s3" for m in rendered if m["metadata"]["namespace"] == "alpha")
    assert not any(m["metadata"]["name"] == "tenancy-allow-s3" for m in rendered
                   if m["metadata"]["namespace"] in ("beta", "gamma"))  # beta: no service account; gamma: internet
    broken = [m for m in copy.deepcopy(rendered)
              if not (m["metadata"]["namespace"] == "alpha" and m["metadata"]["name"] == "tenancy-allow-s3")]
    res = nca.permits(nca.policies(must_permit_endpoints(), "spec-permit-endpoints"), nca.policies(broken, "no-s3"))
    assert not res.ok, res.output
    assert "52.218." in res.output, res.output
