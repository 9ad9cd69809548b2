"""A standalone TenantBundle (no Platform): its spec's allowFrom edges are registered once, with
or without explicit allow_from() calls; misspelt peers are rejected; service accounts without a
path to AWS are warned about."""

from __future__ import annotations

from collections import Counter

import pulumi_kubernetes as k8s
import pytest

from tenancy.components.bundle import TenantBundle, TenantBundleArgs, bundle_problems, bundle_warnings
from tenancy.spec import TenantSpec
from tenancy.testing import run

VPC = "10.40.0.0/16"
PEERING = "tenancy:bundle:TenantPeering"


def _bundle(name: str, slot: int, provider: k8s.Provider | None = None, **spec) -> TenantBundle:
    return TenantBundle(name, TenantBundleArgs(tenant=TenantSpec(name=name, slot=slot, **spec), vpc_cidr=VPC,
                                               provider=provider))


def _edges(result) -> Counter[str]:
    return Counter(r["name"] for r in result.of_type(PEERING))


def test_allow_from_in_the_spec_is_enough_and_waits_for_the_peer_namespace() -> None:
    def program() -> None:
        provider = k8s.Provider("c", kubeconfig="{}")
        _bundle("a", 0, provider, allow_from=["b"])   # the peer is built after
        _bundle("b", 1, provider)

    result = run(program)
    assert _edges(result) == {"a/allow-from/b": 1}
    ns_b = result.find("kubernetes:core/v1:Namespace", "b")
    egress = result.find("kubernetes:networking.k8s.io/v1:NetworkPolicy", "a/allow-from/b/b/tenancy-allow-to-a")
    assert egress["deletedWith"] == ns_b["urn"] and ns_b["urn"] in egress["dependencies"]


@pytest.mark.parametrize("order", ["peer-first", "peer-last"])
def test_spec_and_explicit_call_never_create_an_edge_twice(order: str) -> None:
    def program() -> None:
        provider = k8s.Provider("c", kubeconfig="{}")
        if order == "peer-first":
            b = _bundle("b", 1, provider)
            a = _bundle("a", 0, provider, allow_from=["b"])
        else:
            a = _bundle("a", 0, provider, allow_from=["b"])
            b = _bundle("b", 1, provider)
        with pytest.warns(DeprecationWarning, match="no longer needed"):
            first = a.allow_from("b", peer_namespace=b.namespace)   # the documented call keeps working
            assert a.allow_from("b") is first

    assert _edges(run(program)) == {"a/allow-from/b": 1}


def test_a_peer_outside_the_program_still_gets_its_edge() -> None:
    result = run(lambda: _bundle("a", 0, allow_from=["elsewhere"]))
    assert _edges(result) == {"a/allow-from/elsewhere": 1}
    egress = result.find("kubernetes:networking.k8s.io/v1:NetworkPolicy",
                         "a/allow-from/elsewhere/elsewhere/tenancy-allow-to-a")
    assert egress["deletedWith"] is None


def test_explicit_edges_beyond_the_spec_still_work() -> None:
    def program() -> None:
        a = _bundle("a", 0)
        a.allow_from("c")

    assert _edges(run(program)) == {"a/allow-from/c": 1}


def test_misspelt_peers_are_rejected_with_the_closest_name() -> None:
    args = TenantBundleArgs(tenant=TenantSpec(name="a", slot=0, allow_from=["bta"]), vpc_cidr=VPC,
                            known_tenants=["a", "beta"])
    assert bundle_problems(args) == ["tenant 'a': allowFrom[0] 'bta' is not a tenant on this cluster; "
                                     "did you mean 'beta'?"]
    with pytest.raises(Exception, match="did you mean 'beta'"):
        run(lambda: TenantBundle("a", args))
    ok = TenantBundleArgs(tenant=TenantSpec(name="a", slot=0, allow_from=["beta"]), vpc_cidr=VPC,
                          known_tenants=["a", "beta"])
    assert bundle_problems(ok) == []


def test_service_accounts_without_a_path_to_aws_are_warned_about() -> None:
    lonely = TenantBundleArgs(tenant=TenantSpec(name="a", slot=0, service_accounts=["app"]), vpc_cidr=VPC)
    [warning] = bundle_warnings(lonely)
    assert "no path to AWS" in warning and "aws_service_cidrs" in warning
    with pytest.warns(UserWarning, match="no path to AWS"):
        run(lambda: TenantBundle("a", lonely))
    for fixed in (
        TenantBundleArgs(tenant=TenantSpec(name="a", slot=0, service_accounts=["app"]), vpc_cidr=VPC,
                         aws_service_cidrs=["10.40.8.0/23"]),
        TenantBundleArgs(tenant=TenantSpec(name="a", slot=0, service_accounts=["app"], internet_egress=True),
                         vpc_cidr=VPC),
        TenantBundleArgs(tenant=TenantSpec(name="a", slot=0, service_accounts=["app"]), vpc_cidr=VPC,
                         pod_identity_agent=True),
        TenantBundleArgs(tenant=TenantSpec(name="a", slot=0), vpc_cidr=VPC),
    ):
        assert bundle_warnings(fixed) == []


def test_the_platform_registers_each_edge_once() -> None:
    from tenancy import Platform, load_platform
    from tests.fixtures.specs import small_spec

    def program() -> None:
        spec = load_platform(small_spec())
        Platform(spec.name, spec)

    edges = _edges(run(program))
    assert edges and set(edges.values()) == {1}
