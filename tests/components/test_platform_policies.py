"""Strict network-policy enforcement and what it needs (deploy review D6), the pinned Service
range (D7/D8), the mesh's prerequisites (D2) and standalone pods (D10): the rendered add-on
configuration, the platform namespaces' policies, ordering, the spec's validation, the security
group rules and the NetworkPolicy invariant that makes standalone pods harmless.

Connectivity itself is judged by nca in tests/review/test_reachability_cluster.py."""

from __future__ import annotations

import json
from typing import Any

import kubernetes_validate
import pytest

from tenancy import SpecError, load_platform
from tenancy.plan import kubernetes as kplan
from tenancy.plan import network as netplan
from tenancy.plan import platform_policies as pplan
from tenancy.render import RenderResult, render_spec
from tenancy.spec import SUPPORTED_KUBERNETES_VERSIONS
from tests.fixtures.specs import spec_with, tenant

MESH = {"mesh": "istio", "istio": {"preinstalled": True, "cni": True}}
SPEC = spec_with([tenant("alpha", 0, kubernetesApiAccess=True), tenant("beta", 1, internetEgress=True)],
                 workloads={**MESH, "ingressControllerNamespace": "ingress-nginx",
                            "platformNamespaces": ["monitoring"]})


@pytest.fixture(scope="module")
def result() -> RenderResult:
    return render_spec(SPEC)


def _addon(r: RenderResult, name: str) -> dict[str, Any]:
    [a] = [x for x in r.of_type("aws:eks/addon:Addon") if x["inputs"]["addonName"] == name]
    return a


# --------------------------------------------------------------------------------------------
# Strict mode (D6)


def test_vpc_cni_runs_the_policy_agent_in_strict_mode(result: RenderResult) -> None:
    cfg = json.loads(_addon(result, "vpc-cni")["inputs"]["configurationValues"])
    # aws/amazon-vpc-cni-k8s charts/aws-vpc-cni/values.yaml: env.NETWORK_POLICY_ENFORCING_MODE.
    assert cfg == {"enableNetworkPolicy": "true", "env": {"NETWORK_POLICY_ENFORCING_MODE": "strict"}}


def test_standard_mode_is_a_documented_opt_out() -> None:
    r = render_spec(spec_with([tenant("alpha", 0)], cluster={"networkPolicyEnforcingMode": "standard"}))
    cfg = json.loads(_addon(r, "vpc-cni")["inputs"]["configurationValues"])
    assert cfg["env"]["NETWORK_POLICY_ENFORCING_MODE"] == "standard"


def test_coredns_waits_for_its_network_policy(result: RenderResult) -> None:
    by_urn = result.by_urn()
    coredns = _addon(result, "coredns")
    [kdns] = [x for x in result.of_type("kubernetes:networking.k8s.io/v1:NetworkPolicy")
              if x["inputs"]["metadata"]["name"] == pplan.NP_KUBE_DNS]

    def deps(urn: str, seen: set[str]) -> set[str]:
        for d in by_urn.get(urn, {}).get("dependencies", []):
            if d not in seen:
                seen.add(d)
                deps(d, seen)
        return seen

    assert kdns["urn"] in deps(coredns["urn"], set())


def test_every_platform_namespace_gets_its_policies(result: RenderResult) -> None:
    nps = {(x["inputs"]["metadata"]["namespace"], x["inputs"]["metadata"]["name"]): x
           for x in result.of_type("kubernetes:networking.k8s.io/v1:NetworkPolicy") if x["tenant"] is None}
    assert set(nps) == {("kube-system", "tenancy-kube-dns"), ("kube-system", "tenancy-platform"),
                        ("ingress-nginx", "tenancy-platform"), ("ingress-nginx", "tenancy-ingress-from-anywhere"),
                        ("istio-system", "tenancy-platform"), ("istio-system", "tenancy-istiod"),
                        ("monitoring", "tenancy-platform")}
    # The namespaces the platform creates (not kube-system, not the declared istio-system), retained.
    created = {x["inputs"]["metadata"]["name"]: x for x in result.of_type("kubernetes:core/v1:Namespace")
               if x["tenant"] is None}
    assert set(created) == {"ingress-nginx", "monitoring"}
    assert all(x["retainOnDelete"] for x in created.values())
    for (ns, _), np in nps.items():
        if ns in created:
            assert created[ns]["urn"] in np["dependencies"]


@pytest.mark.parametrize("version", [f"{v}.0" for v in SUPPORTED_KUBERNETES_VERSIONS])
def test_platform_manifests_are_schema_valid(version: str) -> None:
    spec = load_platform(SPEC)
    for obj in [*pplan.manifests(spec), *pplan.namespace_manifests(spec)]:
        kubernetes_validate.validate(obj, version, strict=True)


def test_vpc_resolver_is_the_vpc_base_plus_two() -> None:
    assert pplan.vpc_resolver("10.40.0.0/16") == "10.40.0.2/32"
    assert pplan.vpc_resolver("172.20.0.0/18") == "172.20.0.2/32"


# --------------------------------------------------------------------------------------------
# Service range and API access (D7/D8)


def test_the_service_range_is_pinned_on_the_cluster(result: RenderResult) -> None:
    [eks] = result.of_type("eks:index:Cluster")
    assert eks["inputs"]["kubernetesServiceIpAddressRange"] == "172.20.0.0/16"
    r = render_spec(spec_with([], vpcCidr="172.20.0.0/18"))
    assert r.of_type("eks:index:Cluster")[0]["inputs"]["kubernetesServiceIpAddressRange"] == "10.100.0.0/16"
    r = render_spec(spec_with([], cluster={"serviceCidr": "10.96.0.0/16"}))
    assert r.of_type("eks:index:Cluster")[0]["inputs"]["kubernetesServiceIpAddressRange"] == "10.96.0.0/16"


def test_every_internet_ipblock_excludes_the_service_range(result: RenderResult) -> None:
    blocks = [p for x in result.of_type("kubernetes:networking.k8s.io/v1:NetworkPolicy") if x["tenant"]
              for rule in x["inputs"]["spec"].get("egress") or [] for p in rule.get("to") or []
              if p.get("ipBlock", {}).get("cidr") == "0.0.0.0/0"]
    assert blocks
    assert all("172.20.0.0/16" in p["ipBlock"]["except"] for p in blocks)


def test_api_access_is_exactly_the_kubernetes_clusterip_and_the_endpoint_subnets(result: RenderResult) -> None:
    [np] = [x["inputs"] for x in result.of_type("kubernetes:networking.k8s.io/v1:NetworkPolicy")
            if x["inputs"]["metadata"]["name"] == kplan.NP_KUBE_API]
    assert np["metadata"]["namespace"] == "alpha"  # beta did not opt in
    (rule,) = np["spec"]["egress"]
    system = [str(n) for n in load_platform(SPEC).address_plan.system_subnets()]
    assert [p["ipBlock"]["cidr"] for p in rule["to"]] == ["172.20.0.1/32", *system]
    assert rule["ports"] == [{"protocol": "TCP", "port": 443}]


@pytest.mark.parametrize("cidr, fragment", [
    ("10.40.16.0/20", "overlaps the VPC"),
    ("8.8.0.0/16", "10.0.0.0/8, 172.16.0.0/12 or 192.168.0.0/16"),
    ("172.20.0.0/26", "/12 to /24"),
    ("10.0.0.0/8", "/12 to /24"),
    ("172.20.0.1/16", "host bits"),
])
def test_bad_service_ranges_are_rejected_with_the_fix(cidr: str, fragment: str) -> None:
    with pytest.raises(SpecError) as e:
        load_platform(spec_with([], cluster={"serviceCidr": cidr}))
    assert any(p.path == "cluster.serviceCidr" and fragment in p.message for p in e.value.problems), e.value


# --------------------------------------------------------------------------------------------
# Mesh (D2)


@pytest.mark.parametrize("istio, missing", [
    ({}, "istio.preinstalled: true and istio.cni: true"),
    ({"preinstalled": True}, "istio.cni: true"),
    ({"cni": True}, "istio.preinstalled: true"),
])
def test_mesh_without_declared_prerequisites_is_refused(istio: dict[str, Any], missing: str) -> None:
    with pytest.raises(SpecError) as e:
        load_platform(spec_with([], workloads={"mesh": "istio", "istio": istio}))
    [p] = e.value.problems
    assert p.path == "workloads" and missing in p.message and "restricted" in p.message


def test_mesh_labels_every_tenant_namespace_for_injection() -> None:
    spec = load_platform(SPEC)
    assert kplan.namespace(spec.tenants[0], extra_labels=kplan.injection_labels(spec.workloads))[
        "metadata"]["labels"]["istio-injection"] == "enabled"
    rev = load_platform(spec_with([], workloads={**MESH, "istio": {**MESH["istio"], "revision": "1-24"}}))
    assert kplan.injection_labels(rev.workloads) == {"istio.io/rev": "1-24"}
    assert kplan.injection_labels(load_platform(spec_with([])).workloads) == {}


def test_mesh_security_group_rules() -> None:
    def keys(rules: list[netplan.SgRule]) -> set[tuple[str, str, int | None, str]]:
        return {(r.direction, r.protocol, r.from_port, r.peer) for r in rules}

    assert ("egress", "tcp", 15012, netplan.SYSTEM) in keys(netplan.tenant_rules(False, mesh=True))
    assert ("egress", "tcp", 15012, netplan.SYSTEM) not in keys(netplan.tenant_rules(False))
    assert {("ingress", "tcp", 15012, netplan.TENANT_NODES), ("ingress", "tcp", 15017, netplan.CONTROL_PLANE)} \
        <= keys(netplan.system_rules(mesh=True))
    assert ("egress", "tcp", 15017, netplan.SYSTEM) in keys(netplan.control_plane_rules(mesh=True))
    assert not {r for r in keys(netplan.system_rules()) if r[2] in (15012, 15017)}
    # The quota arithmetic counts the extra egress rule.
    assert netplan.rule_counts({"a": []}, {}, mesh=True)["a"][1] == netplan.rule_counts({"a": []}, {})["a"][1] + 1


def test_platform_namespaces_cannot_be_tenant_names() -> None:
    with pytest.raises(SpecError) as e:
        load_platform(spec_with([tenant("monitoring", 0)], workloads={"platformNamespaces": ["monitoring"]}))
    assert any(p.path == "tenants[0].name" and "platformNamespaces" in p.message for p in e.value.problems)


# --------------------------------------------------------------------------------------------
# Standalone pods (D10)


def test_every_tenant_network_policy_selects_every_pod_of_its_namespace(result: RenderResult) -> None:
    """Why standalone pods are harmless here: the policy agent keys its eBPF maps by pod name
    minus its last '-' segment, plus the namespace (aws/aws-network-policy-agent
    pkg/utils/utils.go GetPodIdentifier), so pods sharing that prefix share maps
    (aws/aws-network-policy-agent#327). That only matters when pods of one namespace need
    DIFFERENT policies. Every policy the platform puts in a tenant namespace selects all its pods
    (and tenants cannot write NetworkPolicies), so all pods of a namespace get the same rules
    whatever their names. This test keeps that invariant."""
    nps = [x["inputs"] for x in result.of_type("kubernetes:networking.k8s.io/v1:NetworkPolicy") if x["tenant"]]
    assert nps
    assert all(np["spec"]["podSelector"] == {} for np in nps), [
        np["metadata"]["name"] for np in nps if np["spec"]["podSelector"] != {}]
