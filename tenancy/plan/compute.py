"""CPU and memory: do the tenants' quotas fit the nodes their node group can reach?

Pure functions, no Pulumi. Each tenant's ResourceQuota caps the *requests* of its pods at
``quota.cpu`` / ``quota.memory`` (:mod:`tenancy.plan.kubernetes`), so a node group holds its
tenants when the sum of their quotas fits the allocatable CPU and memory of ``maxSize`` nodes
of its smallest instance type — the size the group can reach (the autoscaler moves it between
``minSize`` and ``maxSize``). :func:`compute_problems` refuses a node pool whose tenants together do not, naming
the numbers and the fix.

**The instance table.** vCPUs and memory per type are EC2's ``DescribeInstanceTypes`` answer
(``VCpuInfo.DefaultVCpus``, ``MemoryInfo.SizeInMiB``), shipped as
``tenancy/data/instance_resources.json`` for the types of ``branch_eni_limits.json`` (regenerate
with ``tools/instance_resources.py``).

**Allocatable** = capacity − kube-reserved − the hard eviction threshold, with the values the EKS
AMIs configure (amazon-eks-ami: AL2023 ``nodeadm`` ``internal/kubelet/config.go`` and AL2
``bootstrap.sh``, ``get_cpu_millicores_to_reserve`` / ``get_memory_mebibytes_to_reserve``;
Bottlerocket's ``kube_reserved`` helpers compute the same):

* CPU reserved: 6% of the first core, 1% of the second, 0.5% of the third and fourth, 0.25% of
  every core above four;
* memory reserved: ``11 MiB × maxPods + 255 MiB``, ``maxPods`` being the VPC CNI's
  ``interfaces × (IPv4 per interface − 1) + 2`` (the EKS max-pods formula, no prefix delegation),
  at most 110 below 30 vCPUs and 250 from 30 (the max-pods calculator's caps);
* ``evictionHard: memory.available 100Mi``.

DaemonSets (VPC CNI, kube-proxy, the Pod Identity agent, CSI node plugins) request a little more
on every node; the check leaves that to the headroom of the quotas themselves and says so.
"""

from __future__ import annotations

import difflib
import json
import math
from dataclasses import dataclass
from decimal import Decimal
from functools import cache
from importlib import resources
from typing import Any

from tenancy.spec.errors import Problem
from tenancy.spec.models import NodesSpec, PlatformSpec, quantity_value

DATA_FILE = "instance_resources.json"
REGENERATE = "tools/instance_resources.py"
EVICTION_HARD_MEMORY_MIB = 100
MAX_PODS_CAP_SMALL, MAX_PODS_CAP_LARGE, MAX_PODS_CAP_VCPUS = 110, 250, 30
MIB = 2**20


@dataclass(frozen=True)
class NodeResources:
    """What one node of an instance type offers pods."""

    instance_type: str
    vcpus: int
    memory_mib: int
    max_pods: int

    @property
    def reserved_cpu_millicores(self) -> int:
        return cpu_millicores_to_reserve(self.vcpus)

    @property
    def reserved_memory_mib(self) -> int:
        return memory_mib_to_reserve(self.max_pods)

    @property
    def allocatable_cpu_millicores(self) -> int:
        return self.vcpus * 1000 - self.reserved_cpu_millicores

    @property
    def allocatable_memory_mib(self) -> int:
        return self.memory_mib - self.reserved_memory_mib - EVICTION_HARD_MEMORY_MIB


def cpu_millicores_to_reserve(vcpus: int) -> int:
    """kube-reserved CPU of the EKS AMIs (see the module docstring), in millicores."""
    steps = ((1, 60), (1, 10), (2, 5))  # (cores, millicores reserved per core)
    reserved, left = Decimal(0), vcpus
    for cores, per in steps:
        take = min(left, cores)
        reserved += take * per
        left -= take
    reserved += Decimal(left) * Decimal("2.5")
    return int(reserved)


def memory_mib_to_reserve(max_pods: int) -> int:
    """kube-reserved memory of the EKS AMIs: 11 MiB per pod the node may run, plus 255 MiB."""
    return 11 * max_pods + 255


def eni_max_pods(interfaces: int, ipv4_per_interface: int, vcpus: int) -> int:
    """The EKS max-pods formula (VPC CNI, secondary IPs), with the calculator's caps."""
    cap = MAX_PODS_CAP_SMALL if vcpus < MAX_PODS_CAP_VCPUS else MAX_PODS_CAP_LARGE
    return min(interfaces * (ipv4_per_interface - 1) + 2, cap)


@cache
def _table() -> tuple[str, dict[str, tuple[int, int]]]:
    text = resources.files("tenancy").joinpath("data").joinpath(DATA_FILE).read_text(encoding="utf-8")
    doc = json.loads(text)
    if list(doc["columns"]) != ["vcpus", "memoryMiB"]:
        raise ValueError(f"{DATA_FILE}: unexpected columns {doc['columns']}; regenerate it with {REGENERATE}")
    src = doc["source"]
    return f"{src['api']} via {src['via']}", {k: (int(v[0]), int(v[1])) for k, v in doc["types"].items()}


def table_source() -> str:
    return _table()[0]


def node_resources(instance_type: str) -> NodeResources | None:
    """One node of ``instance_type``, or None when a table lacks it."""
    from tenancy.plan.pools import branch_eni_table

    row = _table()[1].get(instance_type)
    limits = branch_eni_table().get(instance_type)
    if row is None or limits is None:
        return None
    vcpus, memory = row
    return NodeResources(instance_type, vcpus, memory,
                         eni_max_pods(limits.interfaces, limits.ipv4_per_interface, vcpus))


@dataclass(frozen=True)
class GroupCompute:
    """A node group's CPU and memory at the most nodes it runs (``maxSize``, or ``desiredSize``
    with ``cluster.autoscaler: none``) against its tenants' quotas."""

    where: str
    """Spec path of the group's ``nodes`` (``nodePools[0].nodes``)."""
    name: str
    """The pool's name."""
    max_size: int
    instance_types: tuple[str, ...]
    nodes: tuple[NodeResources, ...]
    tenants: int
    cpu_millicores: int
    """Sum of the tenants' ``quota.cpu`` (requests are capped there), millicores."""
    memory_mib: int
    size_field: str = "maxSize"
    """The spec field ``max_size`` comes from: ``maxSize``, or ``desiredSize`` without the autoscaler."""

    @property
    def smallest_cpu(self) -> NodeResources:
        return min(self.nodes, key=lambda n: (n.allocatable_cpu_millicores, n.instance_type))

    @property
    def smallest_memory(self) -> NodeResources:
        return min(self.nodes, key=lambda n: (n.allocatable_memory_mib, n.instance_type))

    @property
    def cpu_capacity(self) -> int:
        return self.max_size * self.smallest_cpu.allocatable_cpu_millicores

    @property
    def memory_capacity(self) -> int:
        return self.max_size * self.smallest_memory.allocatable_memory_mib


def _sum(values: list[str], unit: Decimal) -> int:
    return int(math.ceil(sum((quantity_value(v) / unit for v in values), Decimal(0))))


def _group(where: str, name: str, nodes: NodesSpec, quotas: list[Any], autoscaled: bool) -> GroupCompute | None:
    rows = [node_resources(t) for t in nodes.instance_types]
    if any(r is None for r in rows):
        return None  # an unknown type: the instance-type check reports it
    return GroupCompute(where, name, nodes.max_size if autoscaled else nodes.desired_size,
                        tuple(nodes.instance_types), tuple(r for r in rows if r),
                        len(quotas), _sum([q.cpu for q in quotas], Decimal("0.001")),
                        _sum([q.memory for q in quotas], Decimal(MIB)),
                        "maxSize" if autoscaled else "desiredSize")


def groups(spec: PlatformSpec) -> list[GroupCompute]:
    """Every node pool with tenants, in ``nodePools`` order. A dedicated tenant's quota is not
    judged: on its own nodes a quota above their size only leaves its own pods pending, while on a
    pool one tenant's use is another's shortfall."""
    members: dict[str, list[Any]] = {p.name: [] for p in spec.node_pools}
    for t in spec.tenants:
        if t.pool is not None and t.pool in members:
            members[t.pool].append(t.quota)
    out = []
    for i, p in enumerate(spec.node_pools):
        g = _group(f"nodePools[{i}].nodes", p.name, p.nodes, members[p.name], spec.cluster.autoscaler != "none")
        if g is not None and g.tenants:
            out.append(g)
    return out


def _fmt_cpu(millicores: int) -> str:
    return f"{millicores / 1000:g}"


def _fmt_mem(mib: int) -> str:
    return f"{mib / 1024:.1f}Gi"


def _larger(instance_type: str, per_node_needed: int, attr: str) -> str | None:
    """The type of ``instance_type``'s family with the least of ``attr`` that still gives ``per_node_needed``."""
    family = instance_type.split(".", 1)[0]
    fits = []
    for name in _table()[1]:
        if name.split(".", 1)[0] != family or name.endswith(".metal") or "metal-" in name:
            continue
        r = node_resources(name)
        if r is not None and getattr(r, attr) >= per_node_needed:
            fits.append((getattr(r, attr), name))
    return min(fits)[1] if fits else None


def compute_problems(spec: PlatformSpec) -> list[Problem]:
    """Every group whose tenants' CPU or memory quotas exceed its allocatable at ``maxSize``."""
    out = []
    for g in groups(spec):
        for what, need, have, node, attr, fmt in (
                ("CPU", g.cpu_millicores, g.cpu_capacity, g.smallest_cpu, "allocatable_cpu_millicores", _fmt_cpu),
                ("memory", g.memory_mib, g.memory_capacity, g.smallest_memory, "allocatable_memory_mib", _fmt_mem)):
            if need <= have:
                continue
            per_node = getattr(node, attr)
            fixes = []
            nodes_needed = math.ceil(need / per_node)
            if nodes_needed <= 450:
                fixes.append(f"raise {g.size_field} to {nodes_needed}")
            bigger = _larger(node.instance_type, math.ceil(need / g.max_size), attr)
            if bigger is not None and bigger != node.instance_type:
                fixes.append(f"use a larger instance type (e.g. {bigger})"
                             + (" in place of every smaller one" if len(g.instance_types) > 1 else ""))
            fixes.append("lower quota." + ("cpu" if what == "CPU" else "memory")
                         + " of its tenants, or move tenants to another pool")
            out.append(Problem(f"{g.where}.{g.size_field}", (
                f"pool {g.name!r}: the {what} quotas of its {g.tenants} tenant(s) add up to {fmt(need)}, over the "
                f"{fmt(have)} allocatable of {g.size_field} {g.max_size} × {fmt(per_node)} ({node.instance_type}: "
                f"{node.vcpus} vCPU, {node.memory_mib} MiB, less EKS's kube-reserved and eviction threshold for "
                f"{node.max_pods} pods); {', '.join(fixes)}")))
    return out


def report_lines(spec: PlatformSpec) -> list[str]:
    """A "CPU and memory" section for ``report.md`` (empty without node groups to judge)."""
    gs = groups(spec)
    if not gs:
        return []
    lines = ["## CPU and memory", "",
             "Quotas (the tenants' `quota.cpu` / `quota.memory`, which cap their requests) against the allocatable "
             "of `maxSize` nodes (`desiredSize` with `cluster.autoscaler: none`) "
             f"of the pool's smallest type (EKS kube-reserved; instance table: {table_source()}).",
             "", "| node pool | nodes | CPU quotas / allocatable | memory quotas / allocatable |", "|---|---|---|---|"]
    for g in gs:
        lines.append(f"| `{g.name}` | {g.max_size} × {', '.join(g.instance_types)} | "
                     f"{_fmt_cpu(g.cpu_millicores)} / {_fmt_cpu(g.cpu_capacity)} | "
                     f"{_fmt_mem(g.memory_mib)} / {_fmt_mem(g.memory_capacity)} |")
    return lines


def unknown(instance_type: str) -> str:
    close = difflib.get_close_matches(instance_type, list(_table()[1]), n=1)
    return f"{instance_type!r} is not in {DATA_FILE}" + (f"; did you mean {close[0]!r}?" if close else "")


__all__ = ["GroupCompute", "NodeResources", "compute_problems", "cpu_millicores_to_reserve", "eni_max_pods",
           "groups", "memory_mib_to_reserve", "node_resources", "report_lines"]
