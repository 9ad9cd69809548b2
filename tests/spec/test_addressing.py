"""Property-based tests of the address plan: containment, non-overlap, stability."""

from __future__ import annotations

import ipaddress

from hypothesis import given, settings
from hypothesis import strategies as st

from tenancy.spec.addressing import AddressPlan, az_split_bits


@st.composite
def plans(draw: st.DrawFn) -> AddressPlan:
    azs = draw(st.integers(2, 6))
    vpc_prefix = draw(st.integers(16, 26 - az_split_bits(azs)))
    block_prefix = draw(st.integers(vpc_prefix + 2, 28 - az_split_bits(azs)))
    base = draw(st.sampled_from(["10.0.0.0", "172.16.0.0", "192.168.0.0", "10.200.0.0"]))
    vpc = ipaddress.IPv4Network(f"{base}/{vpc_prefix}", strict=False)
    return AddressPlan(str(vpc), azs, block_prefix)


@settings(max_examples=200, deadline=None)
@given(plans(), st.data())
def test_every_subnet_is_inside_the_vpc_and_none_overlap(plan: AddressPlan, data: st.DataObject) -> None:
    assert plan.problems() == []
    slots = data.draw(st.lists(st.integers(0, plan.capacity - 1), unique=True, max_size=40))
    subnets = plan.public_subnets() + plan.system_subnets()
    for slot in slots:
        block = plan.tenant_block(slot)
        own = plan.tenant_subnets(slot)
        assert len(own) == plan.az_count
        assert all(s.subnet_of(block) for s in own)
        subnets += own
    assert all(s.subnet_of(plan.vpc) for s in subnets)
    assert all(s.prefixlen <= 28 for s in subnets)
    ordered = sorted(subnets, key=lambda n: int(n.network_address))
    for a, b in zip(ordered, ordered[1:], strict=False):
        assert not a.overlaps(b), (a, b)


@settings(max_examples=200, deadline=None)
@given(plans(), st.data())
def test_a_tenants_addresses_depend_only_on_its_slot(plan: AddressPlan, data: st.DataObject) -> None:
    """Adding, removing or reordering other tenants cannot move a tenant: the plan takes no
    tenant list at all, and two plans built alike agree on every slot."""
    slot = data.draw(st.integers(0, plan.capacity - 1))
    again = AddressPlan(plan.vpc_cidr, plan.az_count, plan.tenant_block_prefix)
    assert plan.tenant_subnets(slot) == again.tenant_subnets(slot)


def test_the_default_holds_a_full_cluster_in_a_slash_16() -> None:
    plan = AddressPlan("10.40.0.0/16", 6)
    assert plan.capacity >= 29  # 30 managed node groups, one for the system node group
    assert plan.problems() == []
    assert str(plan.tenant_block(0)) == "10.40.16.0/21"
    assert [str(s) for s in AddressPlan("10.40.0.0/16", 3).tenant_subnets(0)] == [
        "10.40.16.0/23", "10.40.18.0/23", "10.40.20.0/23"]


def test_problems_name_the_field_and_the_fix() -> None:
    assert AddressPlan("10.0.0.0/20", 3).problems()[0][0] == "vpcCidr"
    assert AddressPlan("10.0.0.0/16", 6, 26).problems()[0][0] == "tenantBlockPrefix"
