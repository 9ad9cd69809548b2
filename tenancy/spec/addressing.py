"""The address plan: where every subnet of the platform lives in the VPC.

Pure functions, no Pulumi. The VPC is cut into equal *blocks* of ``/tenant_block_prefix``:

* block 0 holds the platform's public subnets (NAT gateways, load balancers);
* block 1 holds the platform's system subnets (the system node group: CoreDNS, add-ons);
* block ``2 + slot`` belongs to the tenant with that ``slot``.

Each block is split into one subnet per availability zone (the block is halved until there
are at least as many pieces as zones; the first ``az_count`` pieces are used).

A tenant's addresses therefore depend only on ``(vpc_cidr, az_count, tenant_block_prefix,
slot)``: adding, removing or reordering other tenants never moves them. Changing the VPC CIDR,
the zone count or the block size re-addresses every subnet and is a platform migration.

With the defaults (a /16 VPC, /21 blocks) there are 32 blocks: 2 for the platform and 30 tenant
slots, more than the 29 tenants one cluster holds under the default EKS quota of 30 managed node
groups (one is kept for the system node group).
"""

from __future__ import annotations

import ipaddress
import math
from dataclasses import dataclass
from functools import cached_property

PLATFORM_BLOCKS = 2
"""Blocks at the start of the VPC kept for the platform (public, system)."""

DEFAULT_TENANT_BLOCK_PREFIX = 21
MIN_SUBNET_PREFIX = 28
"""AWS's smallest subnet is a /28."""
MIN_VPC_PREFIX = 16
"""AWS's largest VPC CIDR block is a /16."""


def az_split_bits(az_count: int) -> int:
    """How many times a block is halved to give each of ``az_count`` zones its own subnet."""
    if az_count < 1:
        raise ValueError(f"az_count must be at least 1, got {az_count}")
    return math.ceil(math.log2(az_count)) if az_count > 1 else 0


@dataclass(frozen=True)
class AddressPlan:
    """The address plan of one platform VPC.

    Raises ``ValueError`` from :meth:`check` when the numbers cannot work together; the spec
    validates them before any plan is built, so the components can rely on a valid plan.
    """

    vpc_cidr: str
    az_count: int
    tenant_block_prefix: int = DEFAULT_TENANT_BLOCK_PREFIX

    @cached_property
    def vpc(self) -> ipaddress.IPv4Network:
        return ipaddress.IPv4Network(self.vpc_cidr, strict=True)

    @property
    def subnet_prefix(self) -> int:
        """Prefix length of every subnet (public, system and tenant)."""
        return self.tenant_block_prefix + az_split_bits(self.az_count)

    @property
    def block_count(self) -> int:
        return 1 << max(0, self.tenant_block_prefix - self.vpc.prefixlen)

    @property
    def capacity(self) -> int:
        """Number of tenant slots: valid slots are ``0 .. capacity - 1``."""
        return max(0, self.block_count - PLATFORM_BLOCKS)

    def problems(self) -> list[tuple[str, str]]:
        """Every reason this plan cannot be built, as ``(field, message)`` pairs (field in spec
        camelCase). Empty when the plan is sound."""
        out: list[tuple[str, str]] = []
        if self.tenant_block_prefix > MIN_SUBNET_PREFIX - az_split_bits(self.az_count):
            out.append((
                "tenantBlockPrefix",
                f"/{self.tenant_block_prefix} blocks cut into {1 << az_split_bits(self.az_count)} "
                f"zone subnets would be smaller than AWS's /{MIN_SUBNET_PREFIX} minimum; use "
                f"tenantBlockPrefix {MIN_SUBNET_PREFIX - az_split_bits(self.az_count)} or less",
            ))
        if self.tenant_block_prefix - self.vpc.prefixlen < 2:
            out.append((
                "vpcCidr",
                f"{self.vpc_cidr} is too small for /{self.tenant_block_prefix} tenant blocks: it holds "
                f"{1 << max(0, self.tenant_block_prefix - self.vpc.prefixlen)} block(s) and the platform "
                f"itself needs {PLATFORM_BLOCKS} plus one per tenant; use a larger VPC (e.g. a /16) "
                f"or a larger tenantBlockPrefix",
            ))
        return out

    def block(self, index: int) -> ipaddress.IPv4Network:
        if not 0 <= index < self.block_count:
            raise ValueError(f"block {index} is outside the VPC (0..{self.block_count - 1})")
        size = 1 << (32 - self.tenant_block_prefix)
        base = int(self.vpc.network_address) + index * size
        return ipaddress.IPv4Network((base, self.tenant_block_prefix))

    def _zone_subnets(self, block: ipaddress.IPv4Network) -> list[ipaddress.IPv4Network]:
        pieces = block.subnets(prefixlen_diff=az_split_bits(self.az_count))
        return [next(pieces) for _ in range(self.az_count)]

    def public_subnets(self) -> list[ipaddress.IPv4Network]:
        """One public subnet per zone, in zone order."""
        return self._zone_subnets(self.block(0))

    def system_subnets(self) -> list[ipaddress.IPv4Network]:
        """One subnet per zone for the platform's system node group."""
        return self._zone_subnets(self.block(1))

    def tenant_block(self, slot: int) -> ipaddress.IPv4Network:
        """The whole block owned by the tenant in ``slot``."""
        if not 0 <= slot < self.capacity:
            raise ValueError(
                f"slot {slot} is outside the address plan (0..{self.capacity - 1} for {self.vpc_cidr} "
                f"with /{self.tenant_block_prefix} blocks)"
            )
        return self.block(PLATFORM_BLOCKS + slot)

    def tenant_subnets(self, slot: int) -> list[ipaddress.IPv4Network]:
        """One private subnet per zone for the tenant in ``slot``, in zone order."""
        return self._zone_subnets(self.tenant_block(slot))
