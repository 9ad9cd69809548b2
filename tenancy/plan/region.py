"""What one cell takes from its account's quotas **per Region** — pure, no Pulumi.

VPC quotas are per account and Region (Amazon VPC User Guide, "Amazon VPC quotas"; Amazon EC2
User Guide, "Elastic IP address limit"): every cell deployed into one account and Region shares
them, so no single platform spec can check them; ``tenancy fleet plan`` sums them per
(account, Region). Counted per cell, each an upper bound (the platform at its largest):

======================  =======  ==========================================================
quota                   default  a cell takes
======================  =======  ==========================================================
Elastic IP addresses    5        one per NAT gateway: ``availabilityZones`` with
                                 ``network.natGateways: perAz``, 1 with ``single``
                                 (:mod:`tenancy.components.network`, ``_nat_gateways``)
VPCs                    5        one
Internet gateways       5        one (every platform has public subnets for its NAT
                                 gateways and load balancers)
VPC security groups     2,500    :func:`tenancy.plan.pools.platform_security_groups`:
                                 the platform's own, one per tenant, one per node pool
Network interfaces      5,000    every node group at ``maxSize`` × the most interfaces its
                                 instance types attach (the VPC CNI adds interfaces as pods
                                 arrive, up to the instance's limit); a node pool's branch
                                 interfaces at its capacity (``maxSize`` × branch interfaces
                                 per node, security groups for pods); one per NAT gateway;
                                 one per interface endpoint per zone; the cluster's
                                 control-plane interfaces (EKS places up to 4 in the
                                 cluster's subnets: Amazon EKS User Guide, "VPC and subnet
                                 requirements")
======================  =======  ==========================================================

Interface counts come from the VPC resource controller's instance table the package ships
(:func:`tenancy.plan.pools.branch_eni_table`); an instance type not in it counts as the
table's largest (the platform spec refuses unknown types anyway).
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache

from tenancy.plan.network import interface_endpoints
from tenancy.plan.pools import branch_eni_table, platform_security_groups, pools_capacity
from tenancy.spec import PlatformSpec
from tenancy.spec.models import NodesSpec

EKS_CONTROL_PLANE_INTERFACES = 4

QUOTAS: dict[str, tuple[str, int]] = {
    "elasticIps": ("EC2-VPC Elastic IPs", 5),
    "vpcs": ("VPCs per Region", 5),
    "internetGateways": ("Internet gateways per Region", 5),
    "securityGroups": ("VPC security groups per Region", 2500),
    "networkInterfaces": ("Network interfaces per Region", 5000),
}
"""Quota key → (its name in Service Quotas, AWS's default)."""


@dataclass(frozen=True)
class RegionUsage:
    """What one cell (or a sum of cells) takes from the per-Region quotas, keyed as :data:`QUOTAS`."""

    elasticIps: int  # noqa: N815 - keyed as the fleet file's quota names
    vpcs: int
    internetGateways: int  # noqa: N815
    securityGroups: int  # noqa: N815
    networkInterfaces: int  # noqa: N815

    def __add__(self, other: RegionUsage) -> RegionUsage:
        return RegionUsage(**{k: getattr(self, k) + getattr(other, k) for k in QUOTAS})

    def get(self, key: str) -> int:
        return int(getattr(self, key))


ZERO = RegionUsage(0, 0, 0, 0, 0)


def nat_gateways(spec: PlatformSpec) -> int:
    return spec.availability_zones if spec.network.nat_gateways == "perAz" else 1


@cache
def _largest_interfaces() -> int:
    return max(lim.interfaces for lim in branch_eni_table().types.values())


def _interfaces_per_node(nodes: NodesSpec) -> int:
    table = branch_eni_table()
    return max(lim.interfaces if (lim := table.get(t)) is not None else _largest_interfaces()
               for t in nodes.instance_types)


def network_interfaces(spec: PlatformSpec) -> int:
    """Network interfaces the cell may hold at its largest (see the module docstring)."""
    groups = [spec.cluster.system_nodes, *(t.nodes for t in spec.dedicated_tenants if t.nodes is not None),
              *(p.nodes for p in spec.node_pools)]
    nodes = sum(g.max_size * _interfaces_per_node(g) for g in groups)
    # every branch interface the pools' nodes can hold (the churn headroom exists too: its interfaces
    # are cooling down, not absent)
    branches = sum(pc.branch_total for pc in pools_capacity(spec) if pc.known)
    endpoints = len(interface_endpoints(spec.identity.mode, spec.observability.metrics.enabled)) \
        * spec.availability_zones
    return nodes + branches + nat_gateways(spec) + endpoints + EKS_CONTROL_PLANE_INTERFACES


def region_usage(spec: PlatformSpec) -> RegionUsage:
    nats = nat_gateways(spec)
    return RegionUsage(elasticIps=nats, vpcs=1, internetGateways=1,
                       securityGroups=platform_security_groups(spec), networkInterfaces=network_interfaces(spec))
