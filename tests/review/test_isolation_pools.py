"""NetworkPolicy isolation of POOLED tenants (issue 13), judged by network-config-analyzer (nca)
like the dedicated ones (tests/review/test_isolation.py): a platform mixing dedicated tenants and tenants
on two pools, its tenant and platform NetworkPolicies from the plan exactly as the bundle and the
platform register them (tests/components/test_bundle.py, tests/components/test_bundle_pools.py: registered inputs ARE
the plan's manifests), with sample pods in every namespace.

Sharing nodes changes nothing at this layer: the VPC CNI's policy agent attaches its eBPF
programs to branch-ENI pods too (aws/aws-network-policy-agent ``pkg/ebpf/bpf_client.go``:
``BRANCH_ENI_VETH_PREFIX = "vlan"`` beside ``eni``, both passed to the TC client and to
``GetHostVethName``), so security groups for pods and NetworkPolicies both apply to a pooled pod.
The expected connectivity is written by hand from the spec's allowFrom."""

from __future__ import annotations

from typing import Any

import pytest

from tenancy import load_platform
from tenancy.plan import kubernetes as pk
from tenancy.plan import platform_policies as pp
from tests.fixtures.specs import spec_with, tenant
from tests.helpers.nca import Connectivity, Nca, SampleCluster

pytestmark = pytest.mark.slow

SPEC = load_platform(spec_with(
    [tenant("alpha", 0, allowFrom=["press"]),
     {"name": "media", "pool": "shared-a"},
     {"name": "news", "pool": "shared-a", "allowFrom": ["media"]},
     {"name": "press", "pool": "shared-b", "tier": "premium"},
     tenant("beta", 1)],
    nodePools=[{"name": "shared-a", "slot": 4, "nodes": {"instanceTypes": ["m6i.large"], "maxSize": 5}},
               {"name": "shared-b", "slot": 5, "nodes": {"instanceTypes": ["m6i.large"]}}]))
TENANTS = ["alpha", "media", "news", "press", "beta"]
ALLOW_FROM = {"alpha": {"press"}, "news": {"media"}}  # by hand, from SPEC
DNS = "{protocols:TCP, UDP,dst_ports:53}"
SYSTEM = [str(n) for n in SPEC.address_plan.system_subnets()]


def policies(spec: Any = SPEC) -> list[dict[str, Any]]:
    """Every NetworkPolicy of the platform, as the Tenant/bundle and platform components build them."""
    out = list(pp.manifests(spec))
    for t in spec.tenants:
        out += pk.tenant_manifests(
            t, spec.workloads, spec.vpc_cidr, aws_service_cidrs=SYSTEM, service_cidr=spec.service_cidr,
            kubernetes_service_ip=spec.kubernetes_service_ip, api_endpoint_cidrs=SYSTEM,
            pod_security_group_ids=["sg-0tenant000000000", "sg-0marker00000000"] if t.pooled else None)
        out += pk.tenant_edges(t)
    return [m for m in out if m["kind"] == "NetworkPolicy"]


@pytest.fixture(scope="module")
def nca(tmp_path_factory: pytest.TempPathFactory) -> Nca:
    layout: dict[str, list[tuple[str, dict[str, str]]]] = {
        t: [("web", {"app": "web"}), ("db", {"app": "db"})] for t in TENANTS}
    layout["kube-system"] = [("coredns", {"k8s-app": "kube-dns"}), ("metrics", {"k8s-app": "metrics-server"})]
    layout["default"] = [("stray", {"app": "stray"})]
    return Nca(tmp_path_factory.mktemp("nca-pools"), SampleCluster.build(layout, tenants=TENANTS))


def _check_map(conn: Connectivity) -> None:
    pods = [f"{t}/{p}" for t in TENANTS for p in ("web", "db")]
    for src in pods:
        s_ns = src.split("/")[0]
        for dst in pods:
            if src == dst:
                continue
            d_ns = dst.split("/")[0]
            expected = "All connections" if s_ns == d_ns or s_ns in ALLOW_FROM.get(d_ns, ()) else None
            assert conn.get(src, dst) == expected, (src, dst, conn.get(src, dst))
        assert conn.get(src, "kube-system/coredns") == DNS, src
        assert conn.get(src, "kube-system/metrics") is None, src
        assert conn.get(src, "default/stray") is None and conn.get("default/stray", src) is None, src
        assert conn.external_from(src) == [], src  # no internet egress in this spec


def test_pooled_tenants_are_isolated_like_dedicated_ones_and_resolve_dns(nca: Nca) -> None:
    _check_map(nca.connectivity(nca.policies(policies(), "pools")))


def test_pooled_tenants_get_the_same_policies_as_dedicated_ones() -> None:
    by_ns: dict[str, set[str]] = {}
    for m in policies():
        by_ns.setdefault(m["metadata"]["namespace"], set()).add(m["metadata"]["name"])
    base = {pk.NP_DEFAULT_DENY, pk.NP_SAME_NAMESPACE, pk.NP_DNS, pk.NP_AWS_SERVICES}
    for t in TENANTS:
        assert base <= by_ns[t], t


def test_negative_control_a_pooled_tenant_without_default_deny_is_caught(nca: Nca) -> None:
    """Drop media's default-deny AND same-namespace policies (which also isolate): with only its
    DNS egress left, media is open to ingress from everywhere — the map check fails."""
    broken = [m for m in policies() if not (m["metadata"]["namespace"] == "media" and m["metadata"]["name"] in (
        pk.NP_DEFAULT_DENY, pk.NP_SAME_NAMESPACE))]
    conn = nca.connectivity(nca.policies(broken, "pools-broken"))
    assert conn.get("default/stray", "media/web") is not None
    with pytest.raises(AssertionError):
        _check_map(conn)


def test_negative_control_an_edge_between_pool_neighbours_made_symmetric_is_caught(nca: Nca) -> None:
    """news allows media; adding the reverse edge (media allows news) opens news -> media, which
    the hand-written map forbids."""
    broken = policies() + [m for m in pk.edge_manifests("media", "news") if m["kind"] == "NetworkPolicy"]
    conn = nca.connectivity(nca.policies(broken, "pools-symmetric"))
    assert conn.get("news/web", "media/web") == "All connections"
    with pytest.raises(AssertionError):
        _check_map(conn)
