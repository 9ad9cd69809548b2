"""What must be REACHABLE inside the cluster, judged by network-config-analyzer (nca) on the
rendered NetworkPolicies — tenants' and the platform's own — under the VPC CNI's STRICT mode.

nca implements standard Kubernetes semantics, where a pod no policy selects is open. Strict
mode denies such a pod everything (EKS user guide, "Step 1: Set up policy enforcement at Pod
startup"; aws/amazon-vpc-cni-k8s README, ``NETWORK_POLICY_ENFORCING_MODE``). A deny-all policy
added to every namespace of the sample cluster is exactly that semantics (it selects every pod
and allows nothing, so a pod keeps only what other policies allow), so nca judges strict mode.

Every flow the platform needs is asserted from the connectivity map, with hand-written
expectations, and each is paired with a negative control: remove the policy (or rule) that
carries it and the flow disappears — so the assertion can fail.

Addresses: the Service range is 172.20.0.0/16 (the pinned EKS default for a VPC in 10/8), the
``kubernetes`` ClusterIP 172.20.0.1, the API endpoint's ENIs and the interface endpoints live in
the system subnets, the VPC resolver at VPC base + 2.
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
    [tenant("alpha", 0, kubernetesApiAccess=True, serviceAccounts=["app"]),
     tenant("beta", 1),
     tenant("gamma", 2, internetEgress=True)],
    vpcCidr=VPC,
    workloads={"ingressControllerNamespace": "ingress-nginx", "mesh": "istio",
               "istio": {"preinstalled": True, "cni": True}, "platformNamespaces": ["monitoring"]},
)
TENANTS = ["alpha", "beta", "gamma"]
KUBERNETES_IP = "172.20.0.1"
OTHER_CLUSTER_IP = "172.20.14.7"
VPC_RESOLVER = "10.40.0.2"
SYSTEM = [ipaddress.ip_network(str(n)) for n in load_platform(SPEC).address_plan.system_subnets()]
API_ENI = str(SYSTEM[0].network_address + 20)
"""An address in the system subnets: where the API endpoint's ENIs and the interface endpoints
(STS, ECR…) live."""
S3_IP = str(ipaddress.ip_network(S3_PREFIX_LIST_CIDRS[0]).network_address + 5)
DNS = "{protocols:TCP, UDP,dst_ports:53}"


AUTOSCALER_LABELS = {"app.kubernetes.io/name": "cluster-autoscaler"}
"""The cluster-autoscaler pod's labels (checked against the rendered Deployment below)."""


def _cluster() -> SampleCluster:
    layout: dict[str, list[tuple[str, dict[str, str]]]] = {t: [("web", {"app": "web"})] for t in TENANTS}
    layout["kube-system"] = [("coredns", {"k8s-app": "kube-dns"}), ("ebs-csi", {"app": "ebs-csi-controller"}),
                             ("metrics", {"k8s-app": "metrics-server"}), ("autoscaler", AUTOSCALER_LABELS)]
    layout["ingress-nginx"] = [("controller", {"app": "ingress-nginx"})]
    layout["istio-system"] = [("istiod", {"app": "istiod"})]
    layout["monitoring"] = [("prometheus", {"app": "prometheus"})]
    layout["default"] = [("stray", {"app": "stray"})]
    return SampleCluster.build(layout, tenants=TENANTS)


CLUSTER = _cluster()


def strict_mode() -> list[dict[str, Any]]:
    """Strict enforcing mode, in standard NetworkPolicy terms: deny-all in every namespace."""
    return [{"apiVersion": "networking.k8s.io/v1", "kind": "NetworkPolicy",
             "metadata": {"name": "strict-mode", "namespace": ns["metadata"]["name"]},
             "spec": {"podSelector": {}, "policyTypes": ["Ingress", "Egress"]}} for ns in CLUSTER.namespaces]


@pytest.fixture(scope="module")
def rendered() -> list[dict[str, Any]]:
    result = render_spec(SPEC)
    return [m for objs in result.manifests.values() for m in objs if m["kind"] == "NetworkPolicy"]


@pytest.fixture(scope="module")
def nca(tmp_path_factory: pytest.TempPathFactory) -> Nca:
    return Nca(tmp_path_factory.mktemp("nca-reach"), CLUSTER)


def conn_of(nca: Nca, policies: list[dict[str, Any]], label: str) -> Connectivity:
    return nca.connectivity(nca.policies([*policies, *strict_mode()], label))


@pytest.fixture(scope="module")
def conn(nca: Nca, rendered: list[dict[str, Any]]) -> Connectivity:
    return conn_of(nca, rendered, "rendered-strict")


def to_ip(c: Connectivity, src: str, ip: str) -> str | None:
    """The connection ``src`` may open to the outside address ``ip`` (None: none)."""
    return _ip_edge(c, src, ip, outgoing=True)


def from_ip(c: Connectivity, ip: str, dst: str) -> str | None:
    return _ip_edge(c, dst, ip, outgoing=False)


def _ip_edge(c: Connectivity, pod: str, ip: str, outgoing: bool) -> str | None:
    addr = ipaddress.ip_address(ip)
    for (s, d), conn in c.edges.items():
        other, me = (d, s) if outgoing else (s, d)
        if me != pod or not other[:1].isdigit():
            continue
        for part in other.split(","):
            lo, _, hi = part.partition("-")
            if ipaddress.ip_address(lo) <= addr <= ipaddress.ip_address(hi or lo):
                return conn
    return None


def _drop(policies: list[dict[str, Any]], namespace: str, name: str) -> list[dict[str, Any]]:
    out = [p for p in copy.deepcopy(policies)
           if not (p["metadata"].get("namespace") == namespace and p["metadata"]["name"] == name)]
    assert len(out) == len(policies) - 1, f"no policy {namespace}/{name}"
    return out


# --------------------------------------------------------------------------------------------
# The model: strict mode denies what no policy selects


def test_strict_mode_model_denies_an_unselected_pod(conn: Connectivity) -> None:
    # `default` has no policy: in strict mode its pods can do nothing (documented: list such
    # namespaces in workloads.platformNamespaces).
    assert not [k for k in conn.edges if "default/stray" in k]


# --------------------------------------------------------------------------------------------
# DNS


def test_every_tenant_reaches_coredns(conn: Connectivity) -> None:
    for t in TENANTS:
        assert conn.get(f"{t}/web", "kube-system/coredns") == DNS, t


def test_coredns_reaches_the_vpc_resolver_and_the_api_only(conn: Connectivity) -> None:
    assert to_ip(conn, "kube-system/coredns", VPC_RESOLVER) == DNS
    assert to_ip(conn, "kube-system/coredns", "169.254.169.253") == DNS
    assert to_ip(conn, "kube-system/coredns", KUBERNETES_IP) == "{protocols:TCP,dst_ports:443}"
    assert to_ip(conn, "kube-system/coredns", API_ENI) == "{protocols:TCP,dst_ports:443}"
    for ip in ("8.8.8.8", "10.40.100.1", OTHER_CLUSTER_IP, "169.254.169.254"):
        assert to_ip(conn, "kube-system/coredns", ip) is None, ip
    assert conn.get("kube-system/coredns", "alpha/web") is None


@pytest.mark.parametrize("name, symptom", [
    ("tenancy-kube-dns", lambda c: c.get("beta/web", "kube-system/coredns") is None),
    ("tenancy-kube-dns", lambda c: to_ip(c, "kube-system/coredns", VPC_RESOLVER) is None),
], ids=["tenants-lose-dns", "coredns-loses-upstream"])
def test_negative_control_without_the_coredns_policy(nca: Nca, rendered: list[dict[str, Any]], name: str,
                                                     symptom: Callable[[Connectivity], bool]) -> None:
    assert symptom(conn_of(nca, _drop(rendered, "kube-system", name), f"no-{name}"))


def test_negative_control_without_the_tenant_dns_policy(nca: Nca, rendered: list[dict[str, Any]]) -> None:
    c = conn_of(nca, _drop(rendered, "gamma", "tenancy-allow-dns"), "no-gamma-dns")
    assert c.get("gamma/web", "kube-system/coredns") is None
    assert c.get("beta/web", "kube-system/coredns") == DNS


# --------------------------------------------------------------------------------------------
# The Kubernetes API and other Services (ClusterIPs, seen before DNAT)


def test_only_the_opted_in_tenant_reaches_the_api(conn: Connectivity) -> None:
    https = "{protocols:TCP,dst_ports:443}"
    assert to_ip(conn, "alpha/web", KUBERNETES_IP) == https
    assert to_ip(conn, "beta/web", KUBERNETES_IP) is None
    assert to_ip(conn, "gamma/web", KUBERNETES_IP) is None  # internetEgress does not open it either
    # Only the kubernetes ClusterIP, not the rest of the Service range.
    assert to_ip(conn, "alpha/web", "172.20.0.2") is None


def test_internet_egress_does_not_reach_other_services(conn: Connectivity) -> None:
    assert to_ip(conn, "gamma/web", "8.8.8.8") == "All connections"
    for ip in (OTHER_CLUSTER_IP, "172.20.0.10", KUBERNETES_IP, "172.20.255.254"):
        assert to_ip(conn, "gamma/web", ip) is None, ip


def test_negative_control_without_the_api_opt_in(nca: Nca, rendered: list[dict[str, Any]]) -> None:
    c = conn_of(nca, _drop(rendered, "alpha", "tenancy-allow-kubernetes-api"), "no-api")
    assert to_ip(c, "alpha/web", KUBERNETES_IP) is None


def test_negative_control_internet_egress_without_the_service_range_exclusion(
        nca: Nca, rendered: list[dict[str, Any]]) -> None:
    broken = copy.deepcopy(rendered)
    [np] = [p for p in broken if p["metadata"] == {**p["metadata"], "namespace": "gamma",
                                                   "name": "tenancy-allow-internet-egress"}]
    block = np["spec"]["egress"][0]["to"][0]["ipBlock"]
    block["except"] = [c for c in block["except"] if not c.startswith("172.20.")]
    c = conn_of(nca, broken, "internet-with-services")
    assert to_ip(c, "gamma/web", OTHER_CLUSTER_IP) == "All connections"


# --------------------------------------------------------------------------------------------
# AWS endpoints and S3


def test_tenants_reach_the_interface_endpoints_and_s3_users_s3(conn: Connectivity) -> None:
    https = "{protocols:TCP,dst_ports:443}"
    for t in TENANTS:
        assert to_ip(conn, f"{t}/web", API_ENI) == https, t
    assert to_ip(conn, "alpha/web", S3_IP) == https  # service accounts, no internet egress
    assert to_ip(conn, "beta/web", S3_IP) is None  # no service accounts: no S3
    assert to_ip(conn, "beta/web", str(SYSTEM[0].network_address + 20)) == https


def test_negative_control_without_the_endpoint_policy(nca: Nca, rendered: list[dict[str, Any]]) -> None:
    c = conn_of(nca, _drop(rendered, "beta", "tenancy-allow-aws-services"), "no-endpoints")
    assert to_ip(c, "beta/web", API_ENI) is None


def test_negative_control_without_the_s3_policy(nca: Nca, rendered: list[dict[str, Any]]) -> None:
    c = conn_of(nca, _drop(rendered, "alpha", "tenancy-allow-s3"), "no-s3")
    assert to_ip(c, "alpha/web", S3_IP) is None


# --------------------------------------------------------------------------------------------
# Ingress controller, mesh, platform add-ons


def test_ingress_controller_reaches_every_tenant_and_admits_load_balancers(conn: Connectivity) -> None:
    for t in TENANTS:
        assert conn.get("ingress-nginx/controller", f"{t}/web") == "All connections", t
        assert conn.get("monitoring/prometheus", f"{t}/web") is None, t  # only the ingress controller
        assert conn.get(f"{t}/web", "ingress-nginx/controller") is None, t
    assert from_ip(conn, "203.0.113.9", "ingress-nginx/controller") == "All connections"


def test_negative_control_without_the_ingress_controller_policies(nca: Nca, rendered: list[dict[str, Any]]) -> None:
    c = conn_of(nca, _drop(rendered, "ingress-nginx", "tenancy-ingress-from-anywhere"), "no-lb")
    assert from_ip(c, "203.0.113.9", "ingress-nginx/controller") is None
    c = conn_of(nca, _drop(rendered, "beta", "tenancy-allow-ingress-controller"), "no-ic")
    assert c.get("ingress-nginx/controller", "beta/web") is None


def test_sidecars_reach_istiod_and_the_control_plane_its_webhook(conn: Connectivity) -> None:
    for t in TENANTS:
        assert conn.get(f"{t}/web", "istio-system/istiod") == "{protocols:TCP,dst_ports:15012}", t
    assert "15017" in (from_ip(conn, API_ENI, "istio-system/istiod") or "") or \
        from_ip(conn, API_ENI, "istio-system/istiod") == "All connections"
    assert from_ip(conn, "10.40.100.1", "istio-system/istiod") is None  # not from tenant subnets' IPs


def test_negative_control_without_the_istiod_policies(nca: Nca, rendered: list[dict[str, Any]]) -> None:
    c = conn_of(nca, _drop(rendered, "alpha", "tenancy-allow-istiod"), "no-sidecar-egress")
    assert c.get("alpha/web", "istio-system/istiod") is None
    c = conn_of(nca, _drop(rendered, "istio-system", "tenancy-istiod"), "no-istiod-ingress")
    assert c.get("alpha/web", "istio-system/istiod") is None


def test_platform_add_ons_keep_working_and_admit_no_tenant(conn: Connectivity) -> None:
    # EBS CSI controller, metrics-server: the API, AWS (endpoints or NAT), kubelets.
    for pod in ("kube-system/ebs-csi", "kube-system/metrics", "istio-system/istiod", "monitoring/prometheus"):
        for ip in (KUBERNETES_IP, API_ENI, "52.94.0.10", "10.40.100.1"):
            assert to_ip(conn, pod, ip) == "All connections", (pod, ip)
    # The control plane (webhooks, aggregated APIs) reaches add-ons; monitoring scrapes them.
    assert from_ip(conn, API_ENI, "kube-system/metrics") == "All connections"
    assert conn.get("monitoring/prometheus", "kube-system/metrics") == "All connections"
    for t in TENANTS:
        for pod in ("kube-system/ebs-csi", "kube-system/metrics", "monitoring/prometheus"):
            assert conn.get(f"{t}/web", pod) is None, (t, pod)
    assert from_ip(conn, "10.40.100.1", "kube-system/metrics") is None


def test_negative_control_without_the_platform_policy(nca: Nca, rendered: list[dict[str, Any]]) -> None:
    c = conn_of(nca, _drop(rendered, "kube-system", "tenancy-platform"), "no-platform")
    assert to_ip(c, "kube-system/ebs-csi", KUBERNETES_IP) is None
    c = conn_of(nca, _drop(rendered, "monitoring", "tenancy-platform"), "no-monitoring")
    assert not [k for k in c.edges if "monitoring/prometheus" in k]


def test_the_cluster_autoscaler_reaches_the_api_aws_and_dns_and_admits_no_tenant(conn: Connectivity) -> None:
    """Its flows (docs/cluster.md, Scaling): the API (ClusterIP and endpoint ENIs), STS/EC2 through
    the interface endpoints, Auto Scaling/EKS public endpoints through NAT, DNS; no tenant reaches it."""
    deployment = next(m for objs in render_spec(SPEC).manifests.values() for m in objs
                      if m["kind"] == "Deployment" and m["metadata"]["name"] == "cluster-autoscaler")
    assert deployment["spec"]["template"]["metadata"]["labels"] == AUTOSCALER_LABELS
    assert deployment["metadata"]["namespace"] == "kube-system"
    for ip in (KUBERNETES_IP, API_ENI, "52.94.0.10"):
        assert to_ip(conn, "kube-system/autoscaler", ip) == "All connections", ip
    assert conn.get("kube-system/autoscaler", "kube-system/coredns") is not None
    for t in TENANTS:
        assert conn.get(f"{t}/web", "kube-system/autoscaler") is None, t


def test_negative_control_the_autoscaler_without_the_platform_policy(nca: Nca, rendered: list[dict[str, Any]]) -> None:
    c = conn_of(nca, _drop(rendered, "kube-system", "tenancy-platform"), "no-platform-autoscaler")
    for ip in (KUBERNETES_IP, API_ENI, "52.94.0.10"):
        assert to_ip(c, "kube-system/autoscaler", ip) is None, ip


def test_the_sample_cluster_is_what_the_tests_think(tmp_path: Path) -> None:
    labels = {n["metadata"]["name"]: n["metadata"]["labels"] for n in CLUSTER.namespaces}
    assert labels["alpha"]["tenancy/tenant"] == "alpha" and "tenancy/tenant" not in labels["kube-system"]
    assert API_ENI.startswith("10.40.") and any(ipaddress.ip_address(API_ENI) in n for n in SYSTEM)
