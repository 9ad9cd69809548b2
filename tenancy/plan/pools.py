"""The capacity preflight of shared node pools: does every pool hold its tenants?

Pure functions, no Pulumi. :func:`capacity_problems` returns every limit a spec's pools (and
the pooled tenants' security groups and roles) would exceed, each as a :class:`~tenancy.spec.Problem`
naming the pool or tenant, the limit, the numbers and the fix; :func:`tenancy.spec.load_platform`
refuses the spec with them before anything is registered. :func:`pool_capacity` gives the same
numbers for the render report (``report.md``, "Node pools").

What is counted (docs/pools.md, "Capacity rules"):

* **Branch network interfaces.** Every pod of a pooled tenant gets its own security groups
  (security groups for pods), which puts it on a *branch* network interface of its node's
  *trunk* interface. The VPC resource controller advertises, per node, as many
  ``vpc.amazonaws.com/pod-eni`` as the instance type's ``BranchInterface`` limit
  (amazon-vpc-resource-controller-k8s ``pkg/provider/branch/provider.go``,
  ``UpdateResourceCapacity``), and only types with ``IsTrunkingCompatible`` get a trunk at all.
  Both come from the controller's published table ``pkg/aws/vpc/limits.go``, copied with its
  commit into ``tenancy/data/branch_eni_limits.json`` (regenerate with
  ``tools/branch_eni_limits.py``). A pool holds ``maxSize ×`` (``desiredSize ×`` with
  ``cluster.autoscaler: none``: nothing scales it) the smallest ``BranchInterface`` among its
  ``instanceTypes`` such pods, and its tenants' ``quota.pods`` must add up to no more.
* **Addresses.** The branch interfaces are created in the node's own subnet
  (``pkg/provider/branch/trunk/trunk.go``: ``CreateNetworkInterface`` in
  ``instance.SubnetID()``), so the pool's subnets hold every pod plus, per node at that size,
  the node's own addresses: with the VPC CNI's default ``WARM_ENI_TARGET=1`` the node's primary
  interface is filled with secondary addresses and, as soon as one pod off a branch interface
  (a daemonset such as a CSI node plugin) takes one, a second full interface is attached
  (amazon-vpc-cni-k8s ``docs/eni-and-ip-target.md``); plus the trunk interface's own address.
  AWS reserves 5 addresses in every subnet.
* **Security groups.** A pooled tenant's group holds the rules of a dedicated tenant's group
  (:func:`tenancy.plan.network.rule_counts`) plus one inbound rule from its pool's node group
  (kubelet probes come from the node's primary address); the platform's groups count against the
  per-Region quota of 2,500. Both are checked by :func:`tenancy.plan.network.quota_problems`, which
  the spec runs for every platform. Each pod's branch interface carries
  :data:`POD_SECURITY_GROUPS` groups, within the 5 per network interface.
* **IAM roles** per account: :func:`tenancy.plan.capacity.platform_roles`, against 1,000.
* **Branch interfaces per tenant** (issue 23): each pooled tenant's quota caps
  ``requests.vpc.amazonaws.com/pod-eni`` at its ``quota.pods`` and admission gives each pod exactly
  one, so the pods counted above are the interfaces taken.
* **Local disk** (issue 23): the pool's tenants' ``quota.ephemeralStorage`` (the requests the
  scheduler reserves) must fit the pool's nodes at ``maxSize``; each node gives pods its root
  volume less the kubelet's hard eviction threshold (``nodefs.available<10%``, kubelet default), the
  EKS AMIs' kube-reserved ephemeral storage (1 GiB) and :data:`IMAGE_DISK_GIB` for the OS and images.
* **etcd** (report only): Secrets and ConfigMaps are the objects a tenant can make large (1 MiB
  each); the report shows what the tenants' ``quota.objects`` counts allow at worst against EKS's
  8 GiB etcd.
"""

from __future__ import annotations

import difflib
import ipaddress
import json
import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from decimal import Decimal
from functools import cache
from importlib import resources
from typing import Any

from tenancy.plan.capacity import platform_roles
from tenancy.plan.compute import compute_problems
from tenancy.plan.network import PLATFORM_SECURITY_GROUPS
from tenancy.spec.errors import Problem
from tenancy.spec.models import PlatformSpec, quantity_value

DATA_FILE = "branch_eni_limits.json"
"""The copy of the VPC resource controller's table, in ``tenancy/data``."""
REGENERATE = "tools/branch_eni_limits.py"

IMAGE_DISK_GIB = 20
"""Root-volume space kept for the OS and container images on every pool node (not for pods' local disk)."""
KUBE_RESERVED_DISK_GIB = 1
"""``kubeReserved.ephemeral-storage`` the EKS AMIs set (amazon-eks-ami, nodeadm kubelet defaults)."""
EVICTION_DISK_SHARE = Decimal("0.10")
"""The kubelet's default hard eviction ``nodefs.available<10%``."""
ETCD_BYTES = 8 * 2**30
"""EKS's etcd size limit (8 GiB; the API server refuses writes once it is reached)."""
LARGE_OBJECT_BYTES = 2**20
"""The API's size limit of a Secret's or ConfigMap's data (1 MiB)."""

SUBNET_RESERVED_ADDRESSES = 5
"""AWS reserves the first four and the last address of every subnet (VPC user guide, "Subnet CIDR blocks")."""
CNI_FULL_INTERFACES_PER_NODE = 2
"""Interfaces the VPC CNI fills with secondary addresses on a pool node: the primary and one warm
interface (``WARM_ENI_TARGET=1``, the default), the trunk's slot excepted."""
TRUNK_ADDRESSES_PER_NODE = 1
"""The trunk interface's own primary address (its branch interfaces are the pods)."""
POD_SECURITY_GROUPS = 2
"""Groups on each pooled pod's branch interface: the tenant's group and the ``tenantNodes`` marker
group (what the system and control-plane groups admit for DNS and 443)."""
SECURITY_GROUPS_PER_INTERFACE_QUOTA = 5
"""VPC quota "Security groups per network interface" (default 5, up to 16)."""
BRANCH_CHURN_HEADROOM = 0.10
"""Share of a pool's branch interfaces kept free for churn: a deleted pod's branch interface is
held for a cool-down before the controller hands it out again (``branch-eni-cooldown`` in the
``amazon-vpc-cni`` ConfigMap, 60 s by default, 30 s at least: EKS user guide,
security-groups-for-pods; amazon-vpc-resource-controller-k8s ``pkg/provider/branch/cooldown``),
so a rollout's new pods need interfaces beyond the quota's count while the old ones cool down."""
IAM_ROLES_PER_ACCOUNT_QUOTA = 1000
"""IAM quota "Roles per account" (default 1,000, adjustable)."""
# Security group rules (a pooled tenant's probe rule) and security groups per Region are counted by
# the network plan (tenancy.plan.network.quota_problems), which the spec runs for every platform.

assert POD_SECURITY_GROUPS <= SECURITY_GROUPS_PER_INTERFACE_QUOTA


# --------------------------------------------------------------------------------------------
# The table


@dataclass(frozen=True)
class InstanceLimits:
    """One row of the VPC resource controller's table."""

    instance_type: str
    interfaces: int
    """Network interfaces the instance can attach (the trunk takes one of them)."""
    ipv4_per_interface: int
    trunking_compatible: bool
    """``IsTrunkingCompatible``: the instance can hold a trunk interface (security groups for pods)."""
    branch_interfaces: int
    """``BranchInterface``: pods with their own security groups one instance holds."""

    @property
    def node_addresses(self) -> int:
        """Addresses one node of this type holds in its subnet, pods on branch interfaces aside
        (see the module docstring)."""
        full = min(CNI_FULL_INTERFACES_PER_NODE, max(self.interfaces - 1, 1))
        return full * self.ipv4_per_interface + TRUNK_ADDRESSES_PER_NODE


@dataclass(frozen=True)
class BranchEniTable:
    """The VPC resource controller's per-instance-type limits, with where they were copied from."""

    repository: str
    path: str
    commit: str
    generated_at: str | None
    types: Mapping[str, InstanceLimits]

    @property
    def source(self) -> str:
        """``github.com/aws/amazon-vpc-resource-controller-k8s pkg/aws/vpc/limits.go @ b8d425119bdb``"""
        return f"{self.repository} {self.path} @ {self.commit[:12]}"

    def get(self, instance_type: str) -> InstanceLimits | None:
        return self.types.get(instance_type)

    def unknown_type_message(self, instance_type: str) -> str:
        close = difflib.get_close_matches(instance_type, list(self.types), n=1)
        hint = f"did you mean {close[0]!r}? " if close else ""
        return (f"{instance_type!r} is not in the VPC resource controller's instance table ({self.source}, "
                f"{len(self.types)} types), so its branch network interface capacity is unknown; {hint}use a listed "
                f"trunking-compatible type, or, if AWS added the type since, regenerate "
                f"tenancy/data/{DATA_FILE} with {REGENERATE} from a newer checkout of that repository")

    def unknown_node_type_message(self, instance_type: str) -> str:
        """For a node group that carries no pool: the type is checked against the same table, the
        package's list of EC2 instance types (a typo would fail only at ``pulumi up``)."""
        close = difflib.get_close_matches(instance_type, list(self.types), n=1)
        hint = f"did you mean {close[0]!r}? " if close else ""
        return (f"{instance_type!r} is not an EC2 instance type in the package's table ({self.source}, "
                f"{len(self.types)} types); {hint}fix the name, or, if AWS added the type since, regenerate "
                f"tenancy/data/{DATA_FILE} with {REGENERATE}")

    def larger_in_family(self, instance_type: str, per_node_needed: int) -> str | None:
        """The trunking-compatible type of ``instance_type``'s family (``m6i``) with the fewest
        branch interfaces that still gives ``per_node_needed`` per node, if any."""
        family = instance_type.split(".", 1)[0]
        fits = [lim for name, lim in self.types.items() if name.split(".", 1)[0] == family
                and lim.trunking_compatible and lim.branch_interfaces >= per_node_needed]
        if not fits:
            return None
        best = min(fits, key=lambda lim: (lim.branch_interfaces, lim.interfaces, lim.instance_type))
        return best.instance_type


def parse_table(doc: Mapping[str, Any]) -> BranchEniTable:
    """Read the JSON written by ``tools/branch_eni_limits.py``."""
    columns = list(doc["columns"])
    expected = ["interfaces", "ipv4PerInterface", "trunkingCompatible", "branchInterfaces"]
    if columns != expected:
        raise ValueError(f"{DATA_FILE}: columns {columns}, expected {expected}; regenerate it with {REGENERATE}")
    types = {name: InstanceLimits(name, int(row[0]), int(row[1]), bool(row[2]), int(row[3]))
             for name, row in doc["types"].items()}
    src = doc["source"]
    return BranchEniTable(src["repository"], src["path"], src["commit"], src.get("generatedAt"), types)


@cache
def branch_eni_table() -> BranchEniTable:
    """The table shipped with the package (``tenancy/data/branch_eni_limits.json``)."""
    text = resources.files("tenancy").joinpath("data").joinpath(DATA_FILE).read_text(encoding="utf-8")
    return parse_table(json.loads(text))


# --------------------------------------------------------------------------------------------
# One pool's numbers


@dataclass(frozen=True)
class PoolCapacity:
    """How full one node pool is at the most nodes it can run: ``maxSize`` with the
    cluster-autoscaler, ``desiredSize`` without one (``cluster.autoscaler: none``, nothing
    scales)."""

    name: str
    index: int
    """The pool's position in ``nodePools``."""
    slot: int
    min_size: int
    desired_size: int
    tenants: tuple[str, ...]
    """Its tenants, in spec order."""
    tiers: Mapping[str, int]
    """Tenants per tier (``premium``, ``standard``)."""
    pods: int
    """The sum of its tenants' ``quota.pods``."""
    max_size: int
    instance_types: tuple[str, ...]
    autoscaled: bool
    """The cluster-autoscaler runs (``cluster.autoscaler``): the pool may grow to ``maxSize``."""
    limits: tuple[InstanceLimits | None, ...]
    """The table's row for each of ``instance_types`` (None: not in the table)."""
    subnets: tuple[str, ...]
    usable_addresses: int
    """Addresses of the pool's subnets, less the 5 AWS reserves in each."""
    ephemeral_bytes: int = 0
    """The sum of its tenants' ``quota.ephemeralStorage``."""
    disk_size_gib: int = 0
    """Each node's root volume."""

    @property
    def pod_disk_per_node_bytes(self) -> int:
        """Local disk one node gives pods (see the module docstring)."""
        gib = Decimal(self.disk_size_gib) * (1 - EVICTION_DISK_SHARE) - KUBE_RESERVED_DISK_GIB - IMAGE_DISK_GIB
        return max(int(gib * 2**30), 0)

    @property
    def pod_disk_bytes(self) -> int:
        """Local disk the pool gives pods at :attr:`nodes` (``maxSize``, or ``desiredSize`` without
        the autoscaler)."""
        return self.nodes * self.pod_disk_per_node_bytes

    @property
    def unknown_types(self) -> list[str]:
        return [t for t, lim in zip(self.instance_types, self.limits, strict=True) if lim is None]

    @property
    def non_trunking_types(self) -> list[str]:
        return [t for t, lim in zip(self.instance_types, self.limits, strict=True)
                if lim is not None and not lim.trunking_compatible]

    @property
    def known(self) -> bool:
        """Every instance type is in the table and trunking-compatible (the numbers below are meaningful)."""
        return not self.unknown_types and not self.non_trunking_types

    @property
    def limiting(self) -> InstanceLimits:
        """The instance type with the fewest branch interfaces (the node group may launch any of them)."""
        rows = [lim for lim in self.limits if lim is not None and lim.trunking_compatible]
        if not rows or not self.known:
            raise ValueError(f"pool {self.name!r}: instance types {list(self.instance_types)} are not all "
                             "trunking-compatible types of the table")
        return min(rows, key=lambda lim: (lim.branch_interfaces, lim.instance_type))

    @property
    def nodes(self) -> int:
        """The most nodes the pool runs: ``maxSize`` when autoscaled, else ``desiredSize``."""
        return self.max_size if self.autoscaled else self.desired_size

    @property
    def size_field(self) -> str:
        """The spec field :attr:`nodes` comes from."""
        return "maxSize" if self.autoscaled else "desiredSize"

    @property
    def branch_per_node(self) -> int:
        return self.limiting.branch_interfaces

    @property
    def branch_total(self) -> int:
        """Branch interfaces of :attr:`nodes` nodes (``maxSize``, or ``desiredSize`` without the
        autoscaler)."""
        return self.nodes * self.branch_per_node

    @property
    def branch_headroom(self) -> int:
        """Of :attr:`branch_total`, kept free for churn (:data:`BRANCH_CHURN_HEADROOM`)."""
        return math.ceil(self.branch_total * BRANCH_CHURN_HEADROOM)

    @property
    def branch_capacity(self) -> int:
        """Pods with security groups the pool holds at :attr:`nodes`, churn headroom kept."""
        return self.branch_total - self.branch_headroom

    @property
    def node_addresses(self) -> int:
        """Addresses one node takes besides its pods: the most of any of its instance types."""
        return max(lim.node_addresses for lim in self.limits if lim is not None)

    @property
    def addresses_needed(self) -> int:
        """Addresses of :attr:`nodes` nodes plus every pod its tenants' quotas admit."""
        return self.nodes * self.node_addresses + self.pods


def _pooled_by_pool(spec: PlatformSpec) -> dict[str, list[tuple[int, Any]]]:
    """``{pool: [(index in tenants, tenant), …]}`` in one pass over the tenants."""
    out: dict[str, list[tuple[int, Any]]] = {p.name: [] for p in spec.node_pools}
    for i, t in enumerate(spec.tenants):
        if t.pool is not None and t.pool in out:
            out[t.pool].append((i, t))
    return out


def _usable(subnets: Iterable[ipaddress.IPv4Network]) -> int:
    return sum(max(net.num_addresses - SUBNET_RESERVED_ADDRESSES, 0) for net in subnets)


def pools_capacity(spec: PlatformSpec) -> list[PoolCapacity]:
    """Every pool's numbers, in ``nodePools`` order."""
    table = branch_eni_table()
    plan = spec.address_plan
    members = _pooled_by_pool(spec)
    out = []
    for i, pool in enumerate(spec.node_pools):
        tenants = [t for _, t in members[pool.name]]
        tiers: dict[str, int] = {}
        for t in tenants:
            tiers[t.tier] = tiers.get(t.tier, 0) + 1
        subnets = plan.tenant_subnets(pool.slot) if 0 <= pool.slot < plan.capacity else []
        out.append(PoolCapacity(
            name=pool.name, index=i, slot=pool.slot, min_size=pool.nodes.min_size,
            desired_size=pool.nodes.desired_size, tenants=tuple(t.name for t in tenants), tiers=tiers,
            pods=sum(t.quota.pods for t in tenants), max_size=pool.nodes.max_size,
            instance_types=tuple(pool.nodes.instance_types), autoscaled=spec.cluster.autoscaler != "none",
            limits=tuple(table.get(it) for it in pool.nodes.instance_types),
            subnets=tuple(map(str, subnets)), usable_addresses=_usable(subnets),
            ephemeral_bytes=int(sum(quantity_value(t.quota.ephemeral_storage) for t in tenants)),
            disk_size_gib=pool.nodes.disk_size_gib,
        ))
    return out


def pool_capacity(spec: PlatformSpec, name: str) -> PoolCapacity:
    for pc in pools_capacity(spec):
        if pc.name == name:
            return pc
    raise KeyError(name)


# --------------------------------------------------------------------------------------------
# The preflight


def capacity_problems(spec: PlatformSpec) -> list[Problem]:
    """Every capacity limit the spec's pools, pooled tenants and roles exceed (empty: it fits).

    Run by :func:`tenancy.plan.validate.load_platform` on a spec whose fields validated; tenants naming an
    unknown pool are skipped here (the spec's own checks report them)."""
    out: list[Problem] = []
    table = branch_eni_table()
    for pc in pools_capacity(spec):
        out.extend(_pool_problems(pc, table))
    out.extend(_node_type_problems(spec, table))
    out.extend(compute_problems(spec))
    out.extend(_iam_problems(spec))
    return out


def _node_type_problems(spec: PlatformSpec, table: BranchEniTable) -> list[Problem]:
    """Instance types of dedicated tenants' and the system node groups, checked against the table
    (pools' are checked with their capacity, above)."""
    out = []
    groups = [(f"tenants[{i}].nodes", t.nodes) for i, t in enumerate(spec.tenants) if t.nodes is not None]
    groups.append(("cluster.systemNodes", spec.cluster.system_nodes))
    for where, nodes in groups:
        for j, it in enumerate(nodes.instance_types):
            if table.get(it) is None:
                out.append(Problem(f"{where}.instanceTypes[{j}]", table.unknown_node_type_message(it)))
    return out


def _pool_problems(pc: PoolCapacity, table: BranchEniTable) -> list[Problem]:
    where = f"nodePools[{pc.index}]"
    out: list[Problem] = []
    for j, (it, lim) in enumerate(zip(pc.instance_types, pc.limits, strict=True)):
        if lim is None:
            out.append(Problem(f"{where}.nodes.instanceTypes[{j}]",
                               f"pool {pc.name!r}: {table.unknown_type_message(it)}"))
        elif not lim.trunking_compatible:
            out.append(Problem(f"{where}.nodes.instanceTypes[{j}]", (
                f"pool {pc.name!r}: {it} cannot hold a trunk network interface (IsTrunkingCompatible is false in "
                f"{table.source}), so its pods could not get their tenant's security group (security groups for "
                f"pods) and would not start; use a trunking-compatible type such as m6i.large (no t-family type "
                f"qualifies)")))
    if not pc.known:
        return out
    lim = pc.limiting
    why = "" if pc.autoscaled else " (cluster.autoscaler is none: the pool runs desiredSize nodes, never more)"
    if pc.pods > pc.branch_capacity:
        need_nodes = _nodes_for(pc.pods, lim.branch_interfaces)
        fixes = []
        if need_nodes <= 450:
            fixes.append(f"raise nodes.{pc.size_field} to {need_nodes}"
                         + ("" if pc.autoscaled or need_nodes <= pc.max_size else " (and maxSize with it)"))
        per_node = math.ceil(pc.pods / max(pc.nodes, 1) / (1 - BRANCH_CHURN_HEADROOM))
        bigger = table.larger_in_family(lim.instance_type, per_node)
        if bigger is not None and bigger != lim.instance_type:
            fixes.append(f"use a larger instance type (e.g. {bigger}: {table.types[bigger].branch_interfaces} per node)"
                         + (" in place of every smaller one" if len(pc.instance_types) > 1 else ""))
        fixes += ["lower its tenants' quota.pods", "or move tenants to another pool"]
        out.append(Problem(f"{where}.nodes.{pc.size_field}", (
            f"pool {pc.name!r} is oversubscribed: its {len(pc.tenants)} tenant(s)' quota.pods add up to {pc.pods} "
            f"pods, over the {pc.branch_capacity} branch network interfaces (pods with security groups) of "
            f"{pc.size_field} {pc.nodes} × {lim.branch_interfaces} ({lim.instance_type}, BranchInterface in "
            f"{table.source}) less {pc.branch_headroom} kept free for churn (branch-eni-cooldown){why}; "
            f"{', '.join(fixes)}")))
    if pc.ephemeral_bytes > pc.pod_disk_bytes:
        out.append(Problem(f"{where}.nodes.diskSizeGib", (
            f"pool {pc.name!r} is oversubscribed on local disk: its {len(pc.tenants)} tenant(s)' "
            f"quota.ephemeralStorage add up to {_gib(pc.ephemeral_bytes)}, over the {_gib(pc.pod_disk_bytes)} its "
            f"{pc.size_field} {pc.nodes} nodes give pods ({pc.disk_size_gib} GiB root volume each, less 10% kubelet "
            f"eviction threshold, {KUBE_RESERVED_DISK_GIB} GiB kube-reserved and {IMAGE_DISK_GIB} GiB for the OS and "
            f"images){why}; raise nodes.diskSizeGib or nodes.{pc.size_field}, lower its tenants' "
            "quota.ephemeralStorage, or move tenants to another pool")))
    if pc.subnets and pc.addresses_needed > pc.usable_addresses:  # no subnets: a bad slot, the spec reports it
        out.append(Problem(where, (
            f"pool {pc.name!r} would run out of addresses: {pc.nodes} node(s) × {pc.node_addresses} addresses "
            f"(VPC CNI primary and warm interface, trunk) plus {pc.pods} pods need {pc.addresses_needed}, over the "
            f"{pc.usable_addresses} usable addresses of its subnets {', '.join(pc.subnets) or '(none)'} (AWS "
            f"reserves {SUBNET_RESERVED_ADDRESSES} per subnet); lower nodes.{pc.size_field} or its tenants' "
            f"quota.pods, or "
            f"move tenants to another pool (each pool has its own address block)")))
    return out


def _nodes_for(pods: int, per_node: int) -> int:
    """Fewest nodes whose branch interfaces, churn headroom kept, hold ``pods``."""
    n = max(1, math.ceil(pods / per_node))
    while n * per_node - math.ceil(n * per_node * BRANCH_CHURN_HEADROOM) < pods:
        n += 1
    return n


def platform_security_groups(spec: PlatformSpec) -> int:
    """Security groups the platform has in its VPC
    (:data:`tenancy.plan.network.PLATFORM_SECURITY_GROUPS`, one per tenant, one per pool)."""
    return PLATFORM_SECURITY_GROUPS + len(spec.tenants) + len(spec.node_pools)


def _iam_problems(spec: PlatformSpec) -> list[Problem]:
    roles = platform_roles(spec)
    quota = spec.iam_role_quota
    if roles <= quota:
        return []
    return [Problem("tenants", (
        f"the platform creates {roles} IAM roles (platform roles, a node role per dedicated tenant and per node pool, "
        f"one per service account), over iamRoleQuota {quota} ('Roles per account', default "
        f"{IAM_ROLES_PER_ACCOUNT_QUOTA}, shared with everything else in the account); raise it in Service Quotas and "
        f"set iamRoleQuota, use fewer serviceAccounts, or split the tenants across platforms in several accounts "
        f"(tenancy fleet)"))]


# --------------------------------------------------------------------------------------------
# The render report


def _gib(n: int) -> str:
    return f"{n / 2**30:.1f} GiB"


def etcd_worst_case(spec: PlatformSpec) -> int:
    """Bytes the tenants' Secrets and ConfigMaps could take at their counts' worst (1 MiB each)."""
    return sum((t.quota.objects.secrets + t.quota.objects.config_maps) * LARGE_OBJECT_BYTES for t in spec.tenants)


def etcd_lines(spec: PlatformSpec) -> list[str]:
    """The "Objects" section of ``report.md``: what the tenants' object counts allow in etcd."""
    worst = etcd_worst_case(spec)
    return ["## Objects", "",
            f"Tenants' Secrets and ConfigMaps at their `quota.objects` counts and the API's 1 MiB limit each: at "
            f"most {_gib(worst)} of EKS's {_gib(ETCD_BYTES)} etcd ({100 * worst / ETCD_BYTES:.0f}%); every other kind "
            "is counted too (`count/<resource>`, docs/bundle.md)." + (
                " Over 100%: lower `quota.objects.secrets`/`configMaps` of the largest tenants, or split the platform "
                "(tenancy fleet)." if worst > ETCD_BYTES else "")]


def _share(used: int, total: int) -> str:
    return f"{used} / {total} ({100 * used / total:.0f}%)" if total else f"{used} / 0"


def report_lines(spec: PlatformSpec) -> list[str]:
    """The "Node pools" section of ``report.md``: each pool's occupancy at ``maxSize``
    (``desiredSize`` without the cluster-autoscaler; empty for a platform without pools)."""
    pcs = pools_capacity(spec)
    if not pcs:
        return []
    at = pcs[0].size_field
    lines = ["## Node pools", "",
             f"Shared node groups (docs/pools.md), at `{at}` (cluster.autoscaler: {spec.cluster.autoscaler}): "
             "pods are the pool's tenants' `quota.pods` against "
             "its branch network interfaces (security groups for pods) less 10% kept free for churn, addresses are "
             "nodes plus pods against its "
             f"subnets (branch-interface limits: {branch_eni_table().source}).", "",
             "| pool | slot | subnets | nodes (min/desired/max) | tenants (premium, standard) | pods / branch capacity "
             "| addresses / usable | local disk / for pods |", "|---|---|---|---|---|---|---|---|"]
    for pc in pcs:
        tiers = f"{len(pc.tenants)} ({pc.tiers.get('premium', 0)}, {pc.tiers.get('standard', 0)})"
        if pc.known:
            pods = (_share(pc.pods, pc.branch_capacity)
                    + f", {pc.branch_per_node}/node, {pc.branch_headroom} kept for churn")
            addresses = _share(pc.addresses_needed, pc.usable_addresses)
        else:
            bad = ", ".join(pc.unknown_types + pc.non_trunking_types)
            pods = f"{pc.pods} / unknown ({bad}: not trunk-capable or not in the table)"
            addresses = "unknown"
        lines.append(f"| `{pc.name}` | {pc.slot} | {', '.join(pc.subnets)} | {', '.join(pc.instance_types)} "
                     f"{pc.min_size}/{pc.desired_size}/{pc.max_size} | {tiers} | {pods} | {addresses} | "
                     f"{_gib(pc.ephemeral_bytes)} / {_gib(pc.pod_disk_bytes)} |")
    return lines


# --------------------------------------------------------------------------------------------
# kubelet maxPods on nodes that carry a trunk interface (issue 23)

MAX_PODS_CAP = 110
"""EKS's ceiling for instance types with fewer than 30 vCPUs (250 above; EKS user guide, "Amazon EKS
recommended maximum Pods for each Amazon EC2 instance type", ``max-pods-calculator.sh``). The table
has no vCPU count, so 110 is applied to every type: never more pods than a node holds, at worst
fewer on the largest types."""


def max_pods(limits: InstanceLimits, trunk: bool, branch_pods: bool = False) -> int:
    """kubelet ``maxPods`` for one instance type. The VPC CNI gives pods secondary addresses of the
    node's interfaces, the primary's own address excepted: ``interfaces × (ipv4PerInterface − 1) + 2``
    (the two host-network pods, aws-node and kube-proxy; ``max-pods-calculator.sh`` and
    amazon-eks-ami ``eni-max-pods.txt``). Once a node carries a trunk (``ENABLE_POD_ENI``: the VPC
    resource controller attaches one to every trunking-compatible node, pool or not; EKS user guide,
    security-groups-for-pods) the trunk takes one of the interfaces, so ``interfaces − 1`` of them
    hold addresses, as the calculator counts for custom networking (``--cni-custom-networking-enabled``).
    ``branch_pods``: the node also runs one pod per branch interface (a pool's node), which uses no
    secondary address."""
    usable = limits.interfaces - (1 if trunk and limits.trunking_compatible else 0)
    pods = max(usable, 0) * (limits.ipv4_per_interface - 1) + 2
    if branch_pods and trunk and limits.trunking_compatible:
        pods += limits.branch_interfaces
    return min(pods, MAX_PODS_CAP)


def node_group_max_pods(instance_types: Iterable[str], trunk: bool, branch_pods: bool = False) -> int | None:
    """The smallest :func:`max_pods` over a node group's instance types (one launch template for all),
    or None when there is no trunk (no pool: EKS's own value stands) or a type is not in the table."""
    if not trunk:
        return None
    table = branch_eni_table()
    rows = [table.get(it) for it in instance_types]
    if not rows or any(r is None for r in rows):
        return None
    return min(max_pods(r, trunk, branch_pods) for r in rows if r is not None)
