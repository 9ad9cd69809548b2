"""Every rejection the spec promises: each names its path and says what to do."""

from __future__ import annotations

from typing import Any

import pytest

from tenancy import SpecError, load_platform
from tests.fixtures.specs import spec_with, tenant


def problems(data: dict[str, Any]) -> dict[str, str]:
    with pytest.raises(SpecError) as exc:
        load_platform(data)
    return {p.path: p.message for p in exc.value.problems}


def test_the_issue_example_is_valid_and_defaults_are_secure() -> None:
    spec = load_platform(spec_with())
    assert [t.name for t in spec.tenants] == ["alpha", "beta", "gamma"]
    alpha = spec.tenant("alpha")
    assert alpha.quota.cpu == "8" and alpha.quota.pods == 50
    assert alpha.quota.load_balancers == 0 and alpha.quota.node_ports == 0
    assert alpha.internet_egress is False
    assert spec.cluster.endpoint_public_access_cidrs == []
    assert spec.network.nat_gateways == "perAz"
    assert spec.node_group_quota == 30


def test_yaml_integers_are_accepted_as_quantities() -> None:
    spec = load_platform(spec_with([tenant("a", 0, quota={"cpu": 8, "memory": "4Gi", "pods": 3})]))
    assert spec.tenants[0].quota.cpu == "8"


@pytest.mark.parametrize(
    ("data", "path", "words"),
    [
        (spec_with(vpcCidrr="x"), "vpcCidrr", "did you mean 'vpcCidr'"),
        (spec_with([tenant("a", 0, quotas={})]), "tenants[0].quotas", "did you mean 'quota'"),
        (spec_with(name="Acme"), "name", "DNS-1123"),
        (spec_with(name="a" * 25), "name", "at most 24"),
        (spec_with([tenant("Alpha", 0)]), "tenants[0].name", "DNS-1123"),
        (spec_with([tenant("a-", 0)]), "tenants[0].name", "DNS-1123"),
        (spec_with([tenant("a", 0), tenant("a", 1)]), "tenants[1].name", "unique"),
        (spec_with([tenant("system", 0)]), "tenants[0].name", "reserved"),
        (spec_with([tenant("tenant", 0)]), "tenants[0].name", "reserved"),
        (spec_with([tenant("default", 0)]), "tenants[0].name", "reserved"),
        (spec_with([tenant("kube-system", 0)]), "tenants[0].name", "reserved for system namespaces"),
        (spec_with([tenant("ingress", 0)], workloads={"ingressControllerNamespace": "ingress"}), "tenants[0].name",
         "ingress controller's namespace"),
        (spec_with([tenant("a", 0), tenant("b", 0)]), "tenants[1].slot", "already taken by tenants[0]"),
        (spec_with([tenant("a", 30)]), "tenants[0].slot", "slots 0..29"),
        (spec_with([tenant("a", -1)]), "tenants[0].slot", "greater than or equal to 0"),
        (spec_with(vpcCidr="10.40.0.1/16"), "vpcCidr", "not an IPv4 network address"),
        (spec_with(vpcCidr="banana"), "vpcCidr", "not an IPv4 network address"),
        (spec_with(vpcCidr="10.0.0.0/8"), "vpcCidr", "at most a /16"),
        (spec_with(vpcCidr="10.40.0.0/20"), "vpcCidr", "too small"),
        (spec_with(vpcCidr="8.8.0.0/16"), "vpcCidr", "private range"),
        (spec_with([tenant("a", 0, allowFrom=["zeta"])]), "tenants[0].allowFrom[0]", "not a tenant"),
        (spec_with([tenant("a", 0, allowFrom=["a"])]), "tenants[0].allowFrom[0]", "remove its own name"),
        # port-scoped edges: {tenant, ports: [{port, protocol, endPort}]}
        (spec_with([tenant("a", 0, allowFrom=[{"tenant": "betta", "ports": [{"port": 443}]}]), tenant("beta", 1)]),
         "tenants[0].allowFrom[0]", "did you mean 'beta'"),
        (spec_with([tenant("a", 0, allowFrom=[{"tenant": "a", "ports": [{"port": 443}]}])]),
         "tenants[0].allowFrom[0]", "remove its own name"),
        (spec_with([tenant("a", 0, allowFrom=[{"tenant": "b", "ports": [{"port": 0}]}]), tenant("b", 1)]),
         "tenants[0].allowFrom[0].ports[0].port", "from 1 to 65535"),
        (spec_with([tenant("a", 0, allowFrom=[{"tenant": "b", "ports": [{"port": 80, "endPort": 65536}]}]),
                    tenant("b", 1)]), "tenants[0].allowFrom[0].ports[0].endPort", "from 1 to 65535"),
        (spec_with([tenant("a", 0, allowFrom=[{"tenant": "b", "ports": [{"port": 8080, "endPort": 8000}]}]),
                    tenant("b", 1)]), "tenants[0].allowFrom[0].ports[0]", "swap them"),
        (spec_with([tenant("a", 0, allowFrom=[{"tenant": "b", "ports": [{"port": 53, "protocol": "ICMP"}]}]),
                    tenant("b", 1)]), "tenants[0].allowFrom[0].ports[0].protocol", "'TCP', 'UDP' or 'SCTP'"),
        (spec_with([tenant("a", 0, allowFrom=[{"tenant": "b", "ports": [{"port": 53, "protocol": "tcp"}]}]),
                    tenant("b", 1)]), "tenants[0].allowFrom[0].ports[0].protocol", "'TCP', 'UDP' or 'SCTP'"),
        (spec_with([tenant("a", 0, allowFrom=[{"tenant": "b", "ports": []}]), tenant("b", 1)]),
         "tenants[0].allowFrom[0]", "leave ports out"),
        (spec_with([tenant("a", 0, allowFrom=[{"tenant": "b", "port": 443}]), tenant("b", 1)]),
         "tenants[0].allowFrom[0].port", "did you mean 'ports'"),
        (spec_with([tenant("a", 0, allowFrom=[{"tenant": "b", "ports": [{"prot": 443}]}]), tenant("b", 1)]),
         "tenants[0].allowFrom[0].ports[0].prot", "did you mean 'port'"),
        (spec_with([tenant("a", 0, allowFrom=[{"tenant": "b", "ports": [{"port": 443}, {"port": 400,
                                                                                       "endPort": 500}]}]),
                    tenant("b", 1)]), "tenants[0].allowFrom[0]", "overlaps ports[0]"),
        (spec_with([tenant("a", 0, allowFrom=["b", {"tenant": "b", "ports": [{"port": 443}]}]), tenant("b", 1)]),
         "tenants[0].allowFrom", "merge the two entries"),
        (spec_with([tenant("a", 0, quota={"cpu": "8 cores"})]), "tenants[0].quota.cpu", "Kubernetes quantity"),
        (spec_with([tenant("a", 0, quota={"memory": "16GB"})]), "tenants[0].quota.memory", "Kubernetes quantity"),
        (spec_with([tenant("a", 0, nodes={"minSize": 3, "desiredSize": 2, "maxSize": 4})]), "tenants[0].nodes",
         "minSize <= desiredSize <= maxSize"),
        (spec_with([tenant("a", 0, nodes={"minSize": 1, "desiredSize": 5, "maxSize": 4})]), "tenants[0].nodes",
         "minSize <= desiredSize <= maxSize"),
        (spec_with([tenant("a", 0, nodes={"instanceTypes": []})]), "tenants[0].nodes.instanceTypes", "at least 1"),
        (spec_with([tenant("a", 0, nodes={"instanceTypes": ["large"]})]), "tenants[0].nodes.instanceTypes[0]",
         "instance type"),
        (spec_with([tenant("a", 0, serviceAccounts=["default"])]), "tenants[0]", "must not contain 'default'"),
        (spec_with([tenant("a", 0, serviceAccounts=["App"])]), "tenants[0].serviceAccounts[0]", "DNS-1123"),
        (spec_with([tenant("a", 0, admins=["alice"])]), "tenants[0].admins[0]", "IAM role or user ARN"),
        (spec_with(name="a" * 24, tenants=[tenant("b" * 30, 0, serviceAccounts=["c" * 12])]),
         "tenants[0].serviceAccounts[0]", "over AWS's 64"),
        (spec_with(name="a" * 24, tenants=[tenant("b" * 40, 0)]), "tenants[0].name", "over AWS's"),
        (spec_with(availabilityZones=7), "availabilityZones", "less than or equal to 6"),
        (spec_with(availabilityZones=1), "availabilityZones", "greater than or equal to 2"),
        (spec_with(kubernetesVersion="1.29"), "kubernetesVersion", "1.30"),
        (spec_with(tenantBlockPrefix=27), "tenantBlockPrefix", "smaller than AWS's /28"),
        (spec_with(cluster={"endpointPublicAccessCidrs": ["0.0.0.0/0"]}), "cluster",
         "must not contain 0.0.0.0/0"),
        (spec_with(cluster={"logRetentionDays": 10}), "cluster.logRetentionDays", "e.g. 7"),
        (spec_with(network={"natGateways": "none"}), "network.natGateways", "'perAz' or 'single'"),
    ],
)
def test_each_invalid_input_names_its_field_and_the_fix(data: dict[str, Any], path: str, words: str) -> None:
    found = problems(data)
    assert path in found, f"no problem reported at {path}: {found}"
    assert words in found[path], found[path]


def test_too_many_tenants_for_the_node_group_quota() -> None:
    tenants = [tenant(f"t{i}", i) for i in range(30)]
    found = problems(spec_with(tenants))
    assert "30 tenants need 31 managed node groups" in found["tenants"]
    assert "Service Quotas" in found["tenants"]
    # Raising the (documented) quota setting lets the same platform through.
    assert len(load_platform(spec_with(tenants, nodeGroupQuota=31, tenantBlockPrefix=22)).tenants) == 30


def test_the_subnet_quota_is_checked() -> None:
    tenants = [tenant(f"t{i}", i) for i in range(40)]
    found = problems(spec_with(tenants, nodeGroupQuota=100, tenantBlockPrefix=24, availabilityZones=6))
    assert "over the VPC quota subnetQuota 200" in found["tenants"]


def test_every_problem_is_listed_at_once() -> None:
    data = spec_with(
        [tenant("a", 0, allowFrom=["nope"], quota={"cpu": "x"}), tenant("a", 0), tenant("B", 99)], name="Bad_Name"
    )
    found = problems(data)
    assert {"name", "tenants[0].quota.cpu", "tenants[0].allowFrom[0]", "tenants[1].name", "tenants[1].slot",
            "tenants[2].name", "tenants[2].slot"} <= set(found)


def test_not_a_mapping() -> None:
    with pytest.raises(SpecError, match="must be an object"):
        load_platform(["not", "a", "mapping"])  # type: ignore[arg-type]


def test_snake_case_works_from_python() -> None:
    spec = load_platform({"name": "acme", "vpc_cidr": "10.0.0.0/16", "tenants": [{"name": "a", "slot": 0}]})
    assert spec.vpc_cidr == "10.0.0.0/16"


@pytest.mark.parametrize(("cluster", "bad"), [
    ({"serviceCidr": "192.168.0.0/16", "apiAccessCidrs": ["10.8.0.0/16", "192.168.4.0/24"]}, [1]),
    ({"serviceCidr": "172.20.0.0/24", "apiAccessCidrs": ["172.16.0.0/12"]}, [0]),  # the range inside the network
    ({"apiAccessCidrs": ["172.20.5.0/24"]}, [0]),  # the Service range EKS picks (VPC 10.40.0.0/16 -> 172.20.0.0/16)
    ({"apiAccessCidrs": ["192.168.0.0/16", "172.21.0.0/16"]}, []),  # negative control: beside it
    ({"serviceCidr": "10.100.0.0/16", "apiAccessCidrs": ["172.20.0.0/16"]}, []),  # the pinned range is what counts
])
def test_api_access_cidrs_must_not_overlap_the_service_range(cluster: dict[str, Any], bad: list[int]) -> None:
    data = spec_with(cluster=cluster)
    if not bad:
        load_platform(data)
        return
    found = problems(data)
    assert sorted(found) == [f"cluster.apiAccessCidrs[{i}]" for i in bad]
    for message in found.values():
        assert "overlaps" in message and "ClusterIPs" in message and "serviceCidr" in message


@pytest.mark.parametrize(("quota", "limits", "words"), [
    ({"cpu": "1"}, {}, ["quota.cpu 1 is below limits.maxPerContainer.cpu 2", "quota.cpu to at least 2",
                        "limits.maxPerContainer.cpu to at most 1"]),
    ({"cpu": "1500m"}, {}, ["quota.cpu 1500m is below limits.maxPerContainer.cpu 2"]),
    ({"memory": "2Gi"}, {}, ["quota.memory 2Gi is below limits.maxPerContainer.memory 4Gi"]),
    ({"memory": "4G"}, {}, ["quota.memory 4G is below limits.maxPerContainer.memory 4Gi"]),  # 4e9 < 4·2^30
    ({"cpu": "4"}, {"maxPerContainer": {"cpu": "8", "memory": "4Gi"}, "defaultLimit": {"cpu": "8", "memory": "512Mi"}},
     ["quota.cpu 4 is below limits.maxPerContainer.cpu 8"]),
    ({"cpu": "1", "memory": "1Gi"}, {}, ["quota.cpu 1 is below", "quota.memory 1Gi is below",
                                         "exceeded quota"]),
])
def test_a_quota_below_the_largest_container_is_refused(quota: dict[str, Any], limits: dict[str, Any],
                                                        words: list[str]) -> None:
    extra = {"limits": limits} if limits else {}
    found = problems(spec_with([tenant("a", 0, quota=quota, **extra)]))
    assert list(found) == ["tenants[0]"], found
    for w in words:
        assert w in found["tenants[0]"], found


@pytest.mark.parametrize(("quota", "limits"), [
    ({"cpu": "2", "memory": "4Gi"}, {}),  # equal: one container at the maximum takes the whole quota
    ({"cpu": "2000m", "memory": "4096Mi"}, {}),  # the same amounts, other units
    ({"cpu": "1", "memory": "1Gi"}, {"maxPerContainer": {"cpu": "500m", "memory": "1Gi"}}),  # a lower maximum
])
def test_a_quota_that_holds_the_largest_container_is_valid(quota: dict[str, Any], limits: dict[str, Any]) -> None:
    extra = {"limits": limits} if limits else {}
    load_platform(spec_with([tenant("a", 0, quota=quota, **extra)]))


def test_a_pooled_tenant_and_a_fleet_tenant_are_held_to_the_same_rule() -> None:
    from tenancy.fleet.spec import load_fleet

    data = spec_with([{"name": "p", "pool": "shared", "quota": {"cpu": "1"}}],
                     nodePools=[{"name": "shared", "slot": 0}])
    assert "quota.cpu 1 is below limits.maxPerContainer.cpu 2" in problems(data)["tenants[0]"]
    with pytest.raises(SpecError, match=r"quota.memory 1Gi is below limits.maxPerContainer.memory 4Gi"):
        load_fleet({"name": "acme", "cells": [{"name": "eu-1", "region": "eu-west-1", "vpcCidr": "10.80.0.0/16"}],
                    "tenants": [{"name": "a", "quota": {"memory": "1Gi"}}]})
def test_allow_from_takes_names_and_port_scoped_entries_and_writes_both_back() -> None:
    raw = [tenant("a", 0, allowFrom=["b", {"tenant": "c", "ports": [
        {"port": 443}, {"port": 443, "protocol": "UDP"}, {"port": 8000, "endPort": 8080, "protocol": "SCTP"}]}]),
        tenant("b", 1), tenant("c", 2)]
    spec = load_platform(spec_with(raw))
    a = spec.tenant("a")
    assert a.peers == ["b", "c"]
    b_edge, c_edge = a.allow_from
    assert b_edge.ports is None and b_edge.all_ports
    assert c_edge.ports is not None and not c_edge.all_ports
    assert [(p.protocol, p.port, p.last) for p in c_edge.ports] == [
        ("TCP", 443, 443), ("UDP", 443, 443), ("SCTP", 8000, 8080)]
    # TCP 443 and UDP 443 do not overlap (different protocols); the wire form round-trips, a bare
    # name stays a bare name
    wire = a.model_dump(by_alias=True, mode="json")["allowFrom"]
    assert wire == ["b", {"tenant": "c", "ports": [{"port": 443, "protocol": "TCP"}, {"port": 443, "protocol": "UDP"},
                                                   {"port": 8000, "protocol": "SCTP", "endPort": 8080}]}]
    assert type(a).model_validate(a.model_dump(by_alias=True, mode="json")) == a
    assert a.edge("c") == c_edge and a.edge("zeta") is None
