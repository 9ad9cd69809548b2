"""What one cell takes from its AWS account's quotas, and how much room a cell has left.

Account-level quotas are shared by every cell deployed into one account, so no single
platform spec can check them; the fleet planner does (aws-limits.md):

* **IAM roles per account** (default 1,000, adjustable). A platform creates: the EKS cluster
  service role (created inside the ``eks:index:Cluster`` component, pulumi-eks
  ``nodejs/eks/cluster.ts``, because :mod:`tenancy.components.cluster` passes no ``serviceRole``), the
  system node role, the VPC CNI's IRSA role, the flow-log delivery role (CloudWatch
  destination only), the EBS CSI driver's role (``workloads.storage: ebs``,
  :mod:`tenancy.components.storage`), the cluster-autoscaler's role (``cluster.autoscaler:
  clusterAutoscaler``, :mod:`tenancy.components.autoscaler`), one node role per node pool; and per
  tenant one role per service account plus, for a dedicated tenant, its node role.
  ``tests/fleet/test_quotas.py`` checks this count against the roles the real program registers.
  It is an upper bound: a tenant that creates fewer roles (e.g. while off-boarding) is still
  counted in full.
* **OIDC identity providers per account** (default 100, not adjustable): one per cell, whatever
  the identity mode, because the cluster always creates its OIDC provider (the VPC CNI's IRSA
  role needs it: :mod:`tenancy.components.cluster`, ``create_oidc_provider=True``).
"""

from __future__ import annotations

from dataclasses import dataclass

from tenancy.spec import PlatformSpec, TenantSpec

PLATFORM_FIXED_ROLES = 3
"""EKS cluster service role (inside pulumi-eks), system node role, VPC CNI role."""


def tenant_roles(tenant: TenantSpec) -> int:
    """Node role (a dedicated tenant's; a pooled tenant runs on its pool's nodes) + one IRSA / Pod
    Identity role per service account."""
    return (0 if tenant.pooled else 1) + len(tenant.service_accounts)


def platform_roles(spec: PlatformSpec) -> int:
    """IAM roles one platform creates in its account (see the module docstring), with one node
    role per node pool."""
    flow_logs = 1 if spec.network.flow_logs.destination == "cloudWatch" else 0
    storage = 1 if spec.workloads.storage == "ebs" else 0
    autoscaler = 1 if spec.cluster.autoscaler == "clusterAutoscaler" else 0
    return (PLATFORM_FIXED_ROLES + flow_logs + storage + autoscaler + len(spec.node_pools)
            + sum(tenant_roles(t) for t in spec.tenants))


def platform_oidc_providers(spec: PlatformSpec) -> int:
    return 1


@dataclass(frozen=True)
class Occupancy:
    """How full one cell is, per countable limit the platform spec enforces."""

    tenants: int
    node_groups: int
    """Managed node groups used (tenants + the system node group)."""
    node_group_quota: int
    slots: int
    """Address-plan slots used or reserved (removed and retired tenants keep theirs)."""
    slot_capacity: int
    subnets: int
    subnet_quota: int
    az_count: int

    @property
    def free_tenants(self) -> int:
        """How many more tenants fit, by the tightest of node groups, slots and subnets."""
        return min(self.node_group_quota - self.node_groups,
                   self.slot_capacity - self.slots,
                   (self.subnet_quota - self.subnets) // self.az_count)

    @property
    def tightest(self) -> str:
        free = {"node groups (nodeGroupQuota)": self.node_group_quota - self.node_groups,
                "address slots (vpcCidr / tenantBlockPrefix)": self.slot_capacity - self.slots,
                "subnets (subnetQuota)": (self.subnet_quota - self.subnets) // self.az_count}
        return min(free, key=lambda k: free[k])


    def no_room(self, needed: int) -> str:
        """Why ``needed`` more tenants cannot fit, naming the tightest limit and its setting."""
        texts = {
            "node groups": (self.node_group_quota - self.node_groups,
                            f"{self.node_groups} of nodeGroupQuota {self.node_group_quota} managed node groups "
                            "used (one per tenant plus the system node group)"),
            "slots": (self.slot_capacity - self.slots,
                      f"{self.slots} of the {self.slot_capacity} address slots used or reserved "
                      "(vpcCidr / tenantBlockPrefix)"),
            "subnets": ((self.subnet_quota - self.subnets) // self.az_count,
                        f"{self.subnets} of subnetQuota {self.subnet_quota} subnets used ({self.az_count} per tenant)"),
        }
        free, text = min(texts.values(), key=lambda v: v[0])
        return f"room for {max(free, 0)} more tenant(s), {needed} needed: {text}"


def occupancy(spec: PlatformSpec, reserved_slots: set[int] | frozenset[int] = frozenset()) -> Occupancy:
    plan = spec.address_plan
    # Blocks (a node group and a block of subnets each): dedicated tenants and node pools.
    used = {t.slot for t in spec.tenants if t.slot is not None} | {p.slot for p in spec.node_pools} \
        | set(reserved_slots)
    blocks = len(spec.dedicated_tenants) + len(spec.node_pools)
    return Occupancy(
        tenants=len(spec.tenants), node_groups=blocks + 1, node_group_quota=spec.node_group_quota,
        slots=len(used), slot_capacity=plan.capacity,
        subnets=plan.az_count * (2 + blocks), subnet_quota=spec.subnet_quota, az_count=plan.az_count,
    )
