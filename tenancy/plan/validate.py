"""Loading a platform: the spec's field rules, the checks across fields, the lifecycle against the
previous render, and whether the plan fits AWS's quotas and the node pools' capacity — every
problem at once, before anything is built.

It sits in ``plan`` because the checks that decide whether a spec can be built (subnets, rules per
group, branch interfaces) are the plan's own arithmetic; the spec's models know nothing of them.
"""

from __future__ import annotations

import difflib
import ipaddress
import re
from collections.abc import Mapping
from typing import Any

from pydantic import ValidationError

from tenancy.plan import cluster_policies
from tenancy.plan.autoscaler import problems as autoscaler_problems
from tenancy.plan.logs import problems as logs_problems
from tenancy.plan.network import pool_quota_inputs, quota_problems
from tenancy.plan.pools import capacity_problems
from tenancy.spec import naming
from tenancy.spec.addressing import DEFAULT_TENANT_BLOCK_PREFIX, AddressPlan
from tenancy.spec.errors import Problem, SpecError, dedupe, problems_from_pydantic
from tenancy.spec.lifecycle import lifecycle_problems
from tenancy.spec.models import (
    PlatformSpec,
    default_service_cidr,
    raw_allow_from_peer,
    raw_allow_from_rules,
    valid_vpc_cidr,
)


def load_platform(data: Mapping[str, Any]) -> PlatformSpec:
    """Validate ``data`` (the ``tenancy:platform`` config object) and return the spec.

    Raises :class:`SpecError` with every problem found: field errors and the checks across
    fields (unique names and slots, slots inside the address plan, ``allowFrom`` targets,
    quotas, derived AWS name lengths) together.
    """
    if not isinstance(data, Mapping):
        raise SpecError([Problem("", "the tenancy:platform config must be an object (a YAML mapping)")])
    problems: list[Problem] = []
    spec: PlatformSpec | None = None
    try:
        spec = PlatformSpec.model_validate(data)
    except ValidationError as exc:
        problems.extend(problems_from_pydantic(exc, PlatformSpec))
    problems.extend(_cross_checks(data))
    problems.extend(lifecycle_problems(data))
    if spec is not None:  # the capacity preflight: node pools, SG and IAM quotas (docs/pools.md)
        problems.extend(capacity_problems(spec))
        problems.extend(autoscaler_problems(spec))  # a pinned cluster-autoscaler image for the minor
        problems.extend(load_balancer_problems(spec))
        problems.extend(logs_problems(spec))  # observability.logs: router namespace, reader role names
        problems.extend(cluster_policies.problems(spec))  # selfService needs the Admin tier (issue 26)
    if problems:
        raise SpecError(_label_tenants(dedupe(problems), data))
    assert spec is not None
    return spec


def load_balancer_problems(spec: PlatformSpec) -> list[Problem]:
    """``quota.loadBalancers > 0`` is refused (issue 23): no path reaches a LoadBalancer Service's
    pods. A load balancer sends from its own addresses in the public subnets (the AWS Load Balancer
    Controller's IP targets; instance targets need node ports, which the Service policy denies
    without ``quota.nodePorts``), and no wall lets those in: the tenant's NetworkPolicies deny every
    ingress but its own namespace, its peers and the ingress controller (the tenant cannot write
    NetworkPolicies), and neither the tenant's node group's nor a pooled tenant's own security group
    admits the public subnets. The grant would admit a Service nothing can reach, and opening the
    path (a NetworkPolicy from the load balancer's subnets on the Service's target ports, security
    group rules the controller's backend group may use, the controller itself) is not built yet:
    docs/bundle.md, "Load balancers"."""
    return [Problem(f"tenants[{i}].quota.loadBalancers", (
        f"tenant {t.name!r} is granted {t.quota.load_balancers} LoadBalancer Service(s), but nothing opens a path "
        "to them: the tenant's NetworkPolicies admit no traffic from the load balancers' subnets and no security "
        "group admits them either, so such a Service would never receive a connection; set quota.loadBalancers "
        "to 0 and expose the tenant through the platform's ingress controller (workloads.ingressControllerNamespace"
        "), docs/bundle.md \"Load balancers\"")) for i, t in enumerate(spec.tenants) if t.quota.load_balancers > 0]


def _label_tenants(problems: list[Problem], data: Mapping[str, Any]) -> list[Problem]:
    """Give each problem under ``tenants[i]`` (or ``nodePools[i]``) that tenant's (pool's) name
    (``tenants[17] (billing).slot``)."""
    out = []
    for p in problems:
        m = re.match(r"^(tenants|nodePools)\[(\d+)\]", p.path)
        raw = data.get(m.group(1)) if m else None
        items: list[Any] = raw if isinstance(raw, list) else []
        t = items[int(m.group(2))] if m and int(m.group(2)) < len(items) else None
        name = t.get("name") if isinstance(t, Mapping) else None
        out.append(Problem(p.path, p.message, name) if isinstance(name, str) and p.tenant is None else p)
    return out










def _cross_checks(data: Mapping[str, Any]) -> list[Problem]:
    """Checks across fields, run on the raw data so they report alongside field errors.
    Values that are malformed are skipped here: the field validation reports them."""
    out: list[Problem] = []
    tenants = data.get("tenants") or []
    if not isinstance(tenants, list):
        return out
    name = data.get("name") if isinstance(data.get("name"), str) else None

    def _int(key: str, default: int) -> int | None:
        v = data.get(key, default)
        return v if isinstance(v, int) and not isinstance(v, bool) else None

    raw_pools = data.get("nodePools", data.get("node_pools")) or []
    pools: list[Any] = raw_pools if isinstance(raw_pools, list) else []
    dedicated = [t for t in tenants if not (isinstance(t, Mapping) and t.get("pool") is not None)]
    quota = _int("nodeGroupQuota", 30)
    if quota is not None and len(dedicated) + len(pools) > quota - 1:
        what = (f"{len(dedicated)} dedicated tenants and {len(pools)} node pools need "
                f"{len(dedicated) + len(pools) + 1} managed node groups (one per dedicated tenant and pool plus "
                f"the system node group)") if pools else (
                f"{len(tenants)} tenants need {len(tenants) + 1} managed node groups (one per tenant plus "
                f"the system node group)")
        out.append(Problem("tenants", (
            f"{what}, over nodeGroupQuota {quota}; move tenants onto shared nodePools, raise the EKS quota "
            f"'Managed node groups per cluster' in Service Quotas and set nodeGroupQuota, or split the tenants "
            f"across platforms (cells)")))

    plan: AddressPlan | None = None
    azs, block = _int("availabilityZones", 3), _int("tenantBlockPrefix", DEFAULT_TENANT_BLOCK_PREFIX)
    try:
        vpc = str(data.get("vpcCidr"))
        if azs is not None and block is not None and 2 <= azs <= 6 and valid_vpc_cidr(vpc) and block <= 28:
            plan = AddressPlan(vpc, azs, block)
    except ValueError:
        plan = None
    if plan is not None:
        plan_problems = plan.problems()
        out.extend(Problem(f, m) for f, m in plan_problems)
        if plan_problems:
            plan = None
    if plan is not None:
        blocks = len(dedicated) + len(pools)
        subnets = 2 * plan.az_count + blocks * plan.az_count
        squota = _int("subnetQuota", 200)
        if squota is not None and subnets > squota:
            who = (f"{len(dedicated)} dedicated tenants and {len(pools)} node pools" if pools
                   else f"{len(tenants)} tenants")
            out.append(Problem("tenants", (
                f"{who} in {plan.az_count} zones need {subnets} subnets, over the VPC "
                f"quota subnetQuota {squota}; raise 'Subnets per VPC' in Service Quotas and set "
                f"subnetQuota, use fewer availabilityZones, move tenants onto shared nodePools, or split "
                f"the platform")))

    out.extend(_network_checks(data, tenants))
    out.extend(_service_cidr_checks(data))

    workloads = data.get("workloads")
    ingress_ns = workloads.get("ingressControllerNamespace") if isinstance(workloads, Mapping) else None
    names: dict[str, int] = {}
    slots: dict[int, int] = {}
    for i, t in enumerate(tenants):
        if not isinstance(t, Mapping):
            continue
        tname = t.get("name") if isinstance(t.get("name"), str) else None
        if tname is not None:
            reserved = naming.reserved_name_problem(tname)
            if reserved is not None:
                out.append(Problem(f"tenants[{i}].name", reserved))
            if isinstance(workloads, Mapping) and isinstance(workloads.get("platformNamespaces"), list) \
                    and tname in workloads["platformNamespaces"]:
                out.append(Problem(f"tenants[{i}].name", (
                    f"{tname!r} is listed in workloads.platformNamespaces; choose another tenant name or "
                    "remove it from platformNamespaces")))
            if tname == ingress_ns:
                out.append(Problem(f"tenants[{i}].name", (
                    f"{tname!r} is the ingress controller's namespace (workloads.ingressControllerNamespace); "
                    "choose another tenant name")))
            if tname in names:
                out.append(Problem(f"tenants[{i}].name", (
                    f"{tname!r} is already the name of tenants[{names[tname]}]; tenant names must be unique")))
            else:
                names[tname] = i
        slot = t.get("slot")
        if isinstance(slot, int) and not isinstance(slot, bool) and slot >= 0:
            if slot in slots:
                out.append(Problem(f"tenants[{i}].slot", (
                    f"slot {slot} is already taken by tenants[{slots[slot]}]; give each tenant its own "
                    f"slot (a free one: {_free_slot({**slots, **_retired_slots(data)}, plan)})")))
            else:
                slots[slot] = i
            if plan is not None and slot >= plan.capacity:
                out.append(Problem(f"tenants[{i}].slot", (
                    f"slot {slot} is outside the address plan: {plan.vpc_cidr} with /{plan.tenant_block_prefix} "
                    f"blocks has slots 0..{plan.capacity - 1}; pick a free slot in that range, or use a larger "
                    f"vpcCidr or tenantBlockPrefix")))
        if name is not None and tname is not None:
            sas = t.get("serviceAccounts") or []
            sas = [s for s in sas if isinstance(s, str)] if isinstance(sas, list) else []
            for rel, msg in naming.derived_name_problems(name, tname, sas):
                out.append(Problem(f"tenants[{i}].{rel}", msg))

    out.extend(_pool_checks(data, tenants, pools, names, slots, plan))
    out.extend(_namespace_checks(data, tenants, names, ingress_ns))

    for i, t in enumerate(tenants):
        if not isinstance(t, Mapping) or not isinstance(t.get("allowFrom"), list):
            continue
        for j, entry in enumerate(t["allowFrom"]):
            peer = raw_allow_from_peer(entry)
            if peer is None:
                continue
            if peer == t.get("name"):
                out.append(Problem(f"tenants[{i}].allowFrom[{j}]", (
                    "a tenant always reaches itself; remove its own name from allowFrom")))
            elif peer not in names:
                close = difflib.get_close_matches(peer, list(names), n=1)
                hint = f"did you mean {close[0]!r}?" if close else "add that tenant or remove the entry"
                out.append(Problem(f"tenants[{i}].allowFrom[{j}]",
                                   f"{peer!r} is not a tenant of this platform; {hint}"))
    out.extend(_access_principal_problems(data, tenants))
    return out


def _pool_checks(data: Mapping[str, Any], tenants: list[Any], pools: list[Any], names: Mapping[str, int],
                 slots: Mapping[int, int], plan: AddressPlan | None) -> list[Problem]:
    """Node pools: unique names apart from tenant names, slots shared with tenants and retired
    tenants, derived AWS names, and every tenant's ``pool`` naming one of them."""
    out: list[Problem] = []
    platform = data.get("name") if isinstance(data.get("name"), str) else None
    retired = _retired_slots(data)
    pool_names: dict[str, int] = {}
    pool_slots: dict[int, int] = {}
    all_pool_slots = {pool["slot"]: -2 for pool in pools
                      if isinstance(pool, Mapping) and _is_slot(pool.get("slot"))}  # a bad slot: its own problem
    for k, pool in enumerate(pools):
        if not isinstance(pool, Mapping):
            continue
        pname = pool.get("name") if isinstance(pool.get("name"), str) else None
        if pname is not None:
            if pname in pool_names:
                out.append(Problem(f"nodePools[{k}].name", (
                    f"{pname!r} is already the name of nodePools[{pool_names[pname]}]; pool names must be unique")))
            pool_names.setdefault(pname, k)
            if pname in naming.RESERVED_POOL_NAMES:
                out.append(Problem(f"nodePools[{k}].name", (
                    f"{pname!r} is reserved: the platform's system nodes carry the label tenancy/pool={pname}; "
                    "choose another pool name")))
            if pname in names:
                out.append(Problem(f"nodePools[{k}].name", (
                    f"{pname!r} is also the name of tenants[{names[pname]}]; give the pool a name no tenant has "
                    "(e.g. shared-a)")))
            if platform is not None:
                for msg in naming.pool_name_problems(platform, pname):
                    out.append(Problem(f"nodePools[{k}].name", msg))
        slot = pool.get("slot")
        if isinstance(slot, int) and not isinstance(slot, bool) and slot >= 0:
            taken: dict[Any, int] = {**slots, **retired, **all_pool_slots}
            if slot in slots:
                out.append(Problem(f"nodePools[{k}].slot", (
                    f"slot {slot} is already taken by tenants[{slots[slot]}]; a pool needs its own slot "
                    f"(a free one: {_free_slot(taken, plan)})")))
            elif slot in retired:
                out.append(Problem(f"nodePools[{k}].slot", (
                    f"slot {slot} belongs to a retired tenant (retiredTenants) and is never reused; pick a free "
                    f"slot ({_free_slot(taken, plan)})")))
            elif slot in pool_slots:
                out.append(Problem(f"nodePools[{k}].slot", (
                    f"slot {slot} is already taken by nodePools[{pool_slots[slot]}]; give each pool its own slot "
                    f"(a free one: {_free_slot(taken, plan)})")))
            else:
                pool_slots[slot] = k
            if plan is not None and slot >= plan.capacity:
                out.append(Problem(f"nodePools[{k}].slot", (
                    f"slot {slot} is outside the address plan: {plan.vpc_cidr} with /{plan.tenant_block_prefix} "
                    f"blocks has slots 0..{plan.capacity - 1}; pick a free slot in that range")))
    for i, t in enumerate(tenants):
        if not isinstance(t, Mapping):
            continue
        tname, pool = t.get("name"), t.get("pool")
        if isinstance(tname, str) and tname.startswith(naming.POOL_NAME_PREFIX) \
                and tname.removeprefix(naming.POOL_NAME_PREFIX) in pool_names:
            out.append(Problem(f"tenants[{i}].name", (
                f"{tname!r} would share its AWS names with node pool {tname.removeprefix(naming.POOL_NAME_PREFIX)!r} "
                f"(<platform>-{tname}...); choose another tenant name")))
        if isinstance(pool, str) and pool not in pool_names:
            close = difflib.get_close_matches(pool, list(pool_names), n=1)
            hint = (f"did you mean {close[0]!r}?" if close else
                    "add it to nodePools (name, slot, nodes)" if not pool_names else
                    f"the pools are {', '.join(sorted(pool_names))}")
            out.append(Problem(f"tenants[{i}].pool", f"{pool!r} is not a node pool of this platform; {hint}"))
    return out


def _service_cidr_checks(data: Mapping[str, Any]) -> list[Problem]:
    """The Service range must not overlap the VPC (pods, nodes, endpoints all live there), nor the
    networks allowed to reach the private API endpoint (``cluster.apiAccessCidrs``)."""
    cluster = data.get("cluster")
    value = cluster.get("serviceCidr") if isinstance(cluster, Mapping) else None
    try:
        vpc = ipaddress.IPv4Network(str(data.get("vpcCidr")), strict=True)
        svc = ipaddress.IPv4Network(str(value), strict=True) if value is not None else None
    except ValueError:
        return []
    if svc is not None and svc.overlaps(vpc):
        return [Problem("cluster.serviceCidr", (
            f"{svc} overlaps the VPC {vpc} (nodes, pods and endpoints take addresses there); EKS rejects it: "
            f"choose a block outside the VPC, e.g. {default_service_cidr(str(vpc))}"))]
    return _api_access_overlaps(cluster, svc, vpc)


def _api_access_overlaps(cluster: Any, svc: ipaddress.IPv4Network | None,
                         vpc: ipaddress.IPv4Network) -> list[Problem]:
    """An ``apiAccessCidrs`` entry overlapping the Service range: the same addresses would name two
    things. Inside the cluster they are Services' ClusterIPs (kube-proxy answers them on every
    node), so traffic from nodes and pods to that network never leaves the node, and the tenants'
    egress policies (which carve the Service range out of "internet") cannot tell the two apart.
    The EKS API reference (KubernetesNetworkConfigRequest.serviceIpv4Cidr) recommends a Service
    block that "does not overlap with resources in other networks that are peered or connected to
    your VPC"; the networks listed here are exactly those. The range is the effective one:
    ``serviceCidr``, else the block EKS picks (:func:`default_service_cidr`)."""
    cidrs = cluster.get("apiAccessCidrs") if isinstance(cluster, Mapping) else None
    if not isinstance(cidrs, list):
        return []
    service = svc or ipaddress.IPv4Network(default_service_cidr(str(vpc)))
    which = "cluster.serviceCidr" if svc is not None else "the Service range EKS picks when serviceCidr is unset"
    out = []
    for i, cidr in enumerate(cidrs):
        try:
            net = ipaddress.IPv4Network(str(cidr), strict=True)
        except ValueError:
            continue  # the field check reports it
        if net.overlaps(service):
            fix = ("move the Service range: set cluster.serviceCidr to a private block that neither network uses "
                   "(only at cluster creation)" if svc is not None else
                   "pin cluster.serviceCidr to a private block outside the VPC and these networks (only at "
                   "cluster creation)")
            out.append(Problem(f"cluster.apiAccessCidrs[{i}]", (
                f"{net} overlaps {service} ({which}): inside the cluster those addresses are Services' "
                f"ClusterIPs, so nodes and pods could not reach that network and its addresses would be "
                f"mistaken for Services; list a CIDR that does not overlap it, or {fix}")))
    return out


def _access_principal_problems(data: Mapping[str, Any], tenants: list[Any]) -> list[Problem]:
    """EKS keeps ONE access entry per IAM principal and cluster. A principal may hold personas in
    several tenants (its one entry carries every group), but not two personas of one tenant, and
    a cluster admin cannot also be a tenant persona (its entry carries the cluster-admin policy,
    which would override the tenant's fences). One pass over all lists."""
    out: list[Problem] = []
    admins: dict[str, str] = {}
    cluster = data.get("cluster")
    if isinstance(cluster, Mapping) and isinstance(cluster.get("clusterAdmins"), list):
        for j, arn in enumerate(cluster["clusterAdmins"]):
            if isinstance(arn, str):
                if arn in admins:
                    out.append(Problem(f"cluster.clusterAdmins[{j}]", f"{arn!r} is listed twice; remove one"))
                admins.setdefault(arn, f"cluster.clusterAdmins[{j}]")
    for i, t in enumerate(tenants):
        if not isinstance(t, Mapping):
            continue
        seen: dict[str, str] = {}
        for persona in ("admins", "editors", "viewers"):
            values = t.get(persona)
            if not isinstance(values, list):
                continue
            for j, arn in enumerate(values):
                if not isinstance(arn, str):
                    continue
                where = f"tenants[{i}].{persona}[{j}]"
                if arn in admins:
                    out.append(Problem(where, (
                        f"{arn!r} is a cluster admin ({admins[arn]}); a principal cannot be both a cluster admin "
                        f"and a tenant persona: remove it here, or use a separate IAM role for the tenant")))
                elif arn in seen:
                    out.append(Problem(where, (
                        f"{arn!r} is already listed at {seen[arn]} of this tenant; give a principal one persona "
                        f"per tenant (remove one)")))
                else:
                    seen[arn] = where
    return out


def _namespace_checks(data: Mapping[str, Any], tenants: list[Any], names: Mapping[str, int],
                      ingress_ns: Any) -> list[Problem]:
    """Every tenant's extra ``namespaces`` is unique across the platform: no other tenant's name
    (its main namespace) or extra namespace, no retired tenant's name (its namespace is retained),
    no platform namespace (``workloads.platformNamespaces``) and not the ingress controller's. The
    tenant's own name and reserved names are the field's own checks (``TenantSpec``). One pass,
    dictionary lookups: the work per namespace does not grow with the tenant count."""
    out: list[Problem] = []
    workloads = data.get("workloads")
    platform_ns = workloads.get("platformNamespaces") if isinstance(workloads, Mapping) else None
    platform = set(platform_ns) if isinstance(platform_ns, list) else set()
    retired_raw = data.get("retiredTenants")
    retired = {r.get("name") for r in retired_raw if isinstance(r, Mapping)} if isinstance(retired_raw, list) else set()
    owner: dict[str, int] = {}
    for i, t in enumerate(tenants):
        extra = t.get("namespaces") if isinstance(t, Mapping) else None
        if not isinstance(extra, list):
            continue
        for j, ns in enumerate(extra):
            if not isinstance(ns, str) or ns == t.get("name"):
                continue
            where = f"tenants[{i}].namespaces[{j}]"
            if ns in names:
                out.append(Problem(where, f"{ns!r} is the name (main namespace) of tenants[{names[ns]}]; namespaces "
                                          "are unique across the platform: choose another name"))
            elif ns in owner and owner[ns] != i:
                out.append(Problem(where, f"{ns!r} is already a namespace of tenants[{owner[ns]}]; namespaces are "
                                          "unique across the platform: choose another name"))
            elif ns in retired:
                out.append(Problem(where, f"{ns!r} is a retired tenant's name (retiredTenants): its namespace is "
                                          "retained; choose another name"))
            elif ns in platform:
                out.append(Problem(where, f"{ns!r} is listed in workloads.platformNamespaces; choose another name "
                                          "or remove it from platformNamespaces"))
            elif ns == ingress_ns:
                out.append(Problem(where, f"{ns!r} is the ingress controller's namespace "
                                          "(workloads.ingressControllerNamespace); choose another name"))
            owner.setdefault(ns, i)
    return out


def _retired_slots(data: Mapping[str, Any]) -> dict[int, int]:
    retired = data.get("retiredTenants")
    if not isinstance(retired, list):
        return {}
    return {r["slot"]: -1 for r in retired if isinstance(r, Mapping) and _is_slot(r.get("slot"))}


def _is_slot(value: Any) -> bool:
    """An int that is not a bool (pydantic's StrictInt refuses the rest and names the field)."""
    return isinstance(value, int) and not isinstance(value, bool)


def _free_slot(taken: Mapping[int, int], plan: AddressPlan | None) -> str:
    limit = plan.capacity if plan is not None else max(taken, default=0) + 2
    free = next((s for s in range(limit) if s not in taken), None)
    return str(free) if free is not None else "none left"


def _network_checks(data: Mapping[str, Any], tenants: list[Any]) -> list[Problem]:
    """Zone pinning and the security group / NACL rule quotas (``allowFrom`` edges add rules)."""

    out: list[Problem] = []
    net = data.get("network") if isinstance(data.get("network"), Mapping) else {}
    assert isinstance(net, Mapping)
    azs = data.get("availabilityZones", 3)
    zones = net.get("zoneNames")
    if isinstance(zones, list) and zones and isinstance(azs, int) and len(zones) != azs:
        out.append(Problem("network.zoneNames", (
            f"lists {len(zones)} zone(s) but availabilityZones is {azs}; list exactly {azs} zones "
            f"or leave zoneNames empty")))
    allow: dict[str, list[str]] = {}
    edge_rules_per: dict[tuple[str, str], int] = {}
    internet: dict[str, bool] = {}
    positions: dict[str, int] = {}
    for i, t in enumerate(tenants):
        if not isinstance(t, Mapping) or not isinstance(t.get("name"), str) or t["name"] in positions:
            continue
        peers = t.get("allowFrom") or []
        entries = peers if isinstance(peers, list) else []
        allow[t["name"]] = [p for p in map(raw_allow_from_peer, entries) if p is not None]
        for e in entries:
            if (peer := raw_allow_from_peer(e)) is not None:
                edge_rules_per[(t["name"], peer)] = raw_allow_from_rules(e)
        internet[t["name"]] = t.get("internetEgress") is True
        positions[t["name"]] = i
    for key in ("securityGroupRuleQuota", "networkAclRuleQuota"):
        if not isinstance(net.get(key, 1), int):
            return out
    workloads = data.get("workloads") if isinstance(data.get("workloads"), Mapping) else {}
    assert isinstance(workloads, Mapping)
    sg_quota = data.get("securityGroupQuota", 2500)
    for path, msg in quota_problems(
        allow, internet, positions,
        sg_rule_quota=net.get("securityGroupRuleQuota", 60),
        nacls=net.get("tenantNetworkAcls") is True,
        nacl_rule_quota=net.get("networkAclRuleQuota", 20),
        ingress_controller=bool(workloads.get("ingressControllerNamespace")),
        mesh=workloads.get("mesh") == "istio",
        **pool_quota_inputs(data),
        security_group_quota=sg_quota if isinstance(sg_quota, int) and not isinstance(sg_quota, bool) else 2500,
        edge_rules_per=edge_rules_per,
    ):
        out.append(Problem(path, msg))
    cluster = data.get("cluster") if isinstance(data.get("cluster"), Mapping) else {}
    assert isinstance(cluster, Mapping)
    cidrs, sgs = cluster.get("apiAccessCidrs"), cluster.get("apiAccessSecurityGroupIds") or []
    quota = net.get("securityGroupRuleQuota", 60)
    if isinstance(sgs, list) and (cidrs is None or isinstance(cidrs, list)) and isinstance(quota, int):
        # the control plane's group: 2 node rules + one per API access peer (unset CIDRs: the VPC)
        n = 2 + (1 if cidrs is None else len(set(map(str, cidrs)))) + len(set(map(str, sgs)))
        if n > quota:
            out.append(Problem("cluster.apiAccessCidrs", (
                f"the control plane's security group would need {n} inbound rules, over the quota of {quota} "
                f"(network.securityGroupRuleQuota); aggregate apiAccessCidrs into fewer blocks, or raise the "
                f"quota in Service Quotas and set network.securityGroupRuleQuota")))
    return out
