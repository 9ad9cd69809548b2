"""Security-group reachability over rendered resources (pure; no Pulumi, no AWS).

The product's one security-group evaluator (the tests' former copy in
``tests/helpers/sg_reachability.py`` now builds its endpoints over this module; the independent
judge is ``tests/components/test_sg_judge_moto.py``, reading EC2's state): it reads the
rule resources of a render (``aws:vpc/securityGroup{Ingress,Egress}Rule``,
``aws:ec2/securityGroupRule`` and inline ``ingress``/``egress`` of ``aws:ec2/securityGroup``),
and applies AWS's semantics: a connection from A to B is allowed when one of A's groups has an
egress rule matching B (by group or address) and one of B's groups has an ingress rule matching
A, on a common protocol and port (security groups are stateful: replies need no rule).
Source: *Security group rules*, Amazon VPC User Guide
(https://docs.aws.amazon.com/vpc/latest/userguide/security-group-rules.html).

Pods: without security groups for pods a pod uses its node's groups. A pod a
``SecurityGroupPolicy`` (``vpcresources.k8s.aws/v1beta1``) selects gets a branch interface
carrying the policy's groups INSTEAD (EKS user guide, security-groups-for-pods.adoc; in strict
mode every packet crosses it), with an address from its node's subnet (the VPC resource
controller creates branch interfaces in the node's subnet). :func:`tenant_machines` models a
tenant whose every pod is selected (a policy with an empty ``podSelector``) that way.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from tenancy.review import netpol
from tenancy.spec.wire import AWS_LAUNCH_TEMPLATE as LAUNCH_TEMPLATE
from tenancy.spec.wire import AWS_NETWORK_ACL, AWS_NETWORK_ACL_RULE, K8S_NAMESPACE, POOL_LABEL
from tenancy.spec.wire import AWS_SECURITY_GROUP as SG
from tenancy.spec.wire import AWS_SECURITY_GROUP_RULE as SG_RULE
from tenancy.spec.wire import AWS_SG_EGRESS_RULE as SG_EGRESS
from tenancy.spec.wire import AWS_SG_INGRESS_RULE as SG_INGRESS
from tenancy.spec.wire import AWS_SUBNET as SUBNET
from tenancy.spec.wire import K8S_SECURITY_GROUP_POLICY as SECURITY_GROUP_POLICY

Net = ipaddress.IPv4Network


@dataclass(frozen=True)
class Rule:
    group: str
    egress: bool
    protocol: str
    from_port: int
    to_port: int
    peer_group: str | None
    cidr: Net | None
    prefix_list: str | None
    source: str
    """The rendered resource (type name) that declared it, for messages."""


@dataclass(frozen=True)
class Machines:
    """A set of ENIs: the groups on them and the addresses they may hold."""

    name: str
    groups: frozenset[str]
    cidrs: tuple[Net, ...]


def _ports(proto: str, lo: Any, hi: Any) -> tuple[int, int]:
    if proto in ("-1", "all") or lo is None:
        return 0, 65535
    lo, hi = int(lo), int(hi)
    return (0, 65535) if lo == -1 else (lo, hi)


def _net(value: Any) -> Net | None:
    try:
        return Net(str(value), strict=False)
    except ValueError:
        return None  # IPv6 or unknown: never a tenant's IPv4 address here


def rules_of(resources: Iterable[Mapping[str, Any]]) -> list[Rule]:
    """Every security group rule of the render, whatever resource declared it."""
    out: list[Rule] = []
    for r in resources:
        i = r.get("inputs") or {}
        if r["type"] in (SG_INGRESS, SG_EGRESS):
            proto = str(i.get("ipProtocol", "-1"))
            lo, hi = _ports(proto, i.get("fromPort"), i.get("toPort"))
            out.append(Rule(str(i.get("securityGroupId")), r["type"] == SG_EGRESS, proto, lo, hi,
                            i.get("referencedSecurityGroupId"),
                            _net(i["cidrIpv4"]) if i.get("cidrIpv4") else None, i.get("prefixListId"),
                            f"{r['type']} {r['name']}"))
        elif r["type"] == SG_RULE:
            proto = str(i.get("protocol", "-1"))
            lo, hi = _ports(proto, i.get("fromPort"), i.get("toPort"))
            peer = i.get("securityGroupId") if i.get("self") else i.get("sourceSecurityGroupId")
            cidrs: list[Net | None] = [_net(c) for c in i.get("cidrBlocks") or []] or [None]
            for c in cidrs:
                out.append(Rule(str(i.get("securityGroupId")), i.get("type") == "egress", proto, lo, hi, peer, c,
                                (i.get("prefixListIds") or [None])[0], f"{r['type']} {r['name']}"))
        elif r["type"] == SG:
            gid = str(r.get("id"))
            for key, egress in (("ingress", False), ("egress", True)):
                for x in i.get(key) or []:
                    proto = str(x.get("protocol", "-1"))
                    lo, hi = _ports(proto, x.get("fromPort"), x.get("toPort"))
                    peers: list[tuple[str | None, Net | None]] = [(g, None) for g in x.get("securityGroups") or []]
                    peers += [(None, _net(c)) for c in x.get("cidrBlocks") or []]
                    if x.get("self"):
                        peers.append((gid, None))
                    for g, c in peers:
                        out.append(Rule(gid, egress, proto, lo, hi, g, c, None, f"{r['type']} {r['name']} inline"))
    return out


def matches(rule: Rule, peer: Machines) -> bool:
    """Does the rule's peer (a group or an address range) include ``peer``?"""
    if rule.peer_group is not None:
        return rule.peer_group in peer.groups
    if rule.cidr is not None:
        return any(rule.cidr.overlaps(c) for c in peer.cidrs)
    return False  # prefix lists: AWS service ranges, never a machine of the VPC


def _common(a: Rule, b: Rule) -> tuple[str, int, int] | None:
    if a.protocol != "-1" and b.protocol != "-1" and a.protocol != b.protocol:
        return None
    lo, hi = max(a.from_port, b.from_port), min(a.to_port, b.to_port)
    if lo > hi:
        return None
    proto = a.protocol if a.protocol != "-1" else b.protocol
    return proto, lo, hi


class RuleIndex:
    """Rules indexed by group and direction, so that many pairs are checked fast."""

    def __init__(self, rules: Sequence[Rule]):
        self.egress: dict[str, list[Rule]] = {}
        self.ingress: dict[str, list[Rule]] = {}
        for r in rules:
            (self.egress if r.egress else self.ingress).setdefault(r.group, []).append(r)

    def allowed(self, src: Machines, dst: Machines) -> list[tuple[str, int, int, str, str]]:
        """Every (protocol, from, to, egress rule, ingress rule) through which ``src`` can open a
        connection to ``dst``; empty when none."""
        egress = [r for g in sorted(src.groups) for r in self.egress.get(g, ()) if matches(r, dst)]
        if not egress:
            return []
        ingress = [r for g in sorted(dst.groups) for r in self.ingress.get(g, ()) if matches(r, src)]
        out = []
        for e in egress:
            for i in ingress:
                c = _common(e, i)
                if c is not None:
                    out.append((*c, e.source, i.source))
        return out


    def sides(self, src: Machines, dst: Machines) -> tuple[list[tuple[str, int, int]], list[tuple[str, int, int]]]:
        """Each side of the wall on its own: the (protocol, from, to) ``src``'s egress rules let out
        towards ``dst``, and those ``dst``'s ingress rules let in from ``src``. A connection needs both
        (:meth:`allowed`); one side open alone is a latent hole the other side's next change opens.

        Catch-all rules (``0.0.0.0/0``, a tenant's ``internetEgress``) are left out: they aim at the
        internet, are judged as such, and cannot exclude the VPC (a security group has no deny)."""
        egress = {(r.protocol, r.from_port, r.to_port) for g in sorted(src.groups) for r in self.egress.get(g, ())
                  if not _catch_all(r) and matches(r, dst)}
        ingress = {(r.protocol, r.from_port, r.to_port) for g in sorted(dst.groups) for r in self.ingress.get(g, ())
                   if not _catch_all(r) and matches(r, src)}
        return sorted(egress), sorted(ingress)


def _catch_all(rule: Rule) -> bool:
    return rule.cidr is not None and rule.cidr.prefixlen == 0


def allowed(rules: list[Rule], src: Machines, dst: Machines) -> list[tuple[str, int, int, str, str]]:
    """Every (protocol, from, to, egress rule, ingress rule) through which ``src`` can open a
    connection to ``dst``; empty when none."""
    return RuleIndex(rules).allowed(src, dst)


def pod_security_groups(resources: Iterable[Mapping[str, Any]]) -> frozenset[str] | None:
    """The groups security groups for pods put on EVERY pod of these (one tenant's) resources:
    the union of the ``groupIds`` of its SecurityGroupPolicies that select all pods (empty
    ``podSelector``, no ``serviceAccountSelector``); None when no such policy exists."""
    groups: set[str] = set()
    found = False
    for r in resources:
        if r["type"] != SECURITY_GROUP_POLICY:
            continue
        spec = (r.get("inputs") or {}).get("spec") or {}
        sel = spec.get("podSelector")
        if not netpol.selects_everything(sel) or spec.get("serviceAccountSelector"):
            continue
        found = True
        groups |= {str(g) for g in (spec.get("securityGroups") or {}).get("groupIds") or []}
    return frozenset(groups) if found else None


def pool_of(resources: Sequence[Mapping[str, Any]], tenant: str,
            mine: Sequence[Mapping[str, Any]] | None = None) -> str | None:
    """A pooled tenant's pool: the ``tenancy/pool`` label of its namespace or, without one, the
    pool whose node group (tagged ``tenancy/pool``) the tenant's own group admits (probes).
    ``mine``: the tenant's own resources, if the caller has them."""
    mine = [r for r in resources if r.get("tenant") == tenant] if mine is None else mine
    for r in mine:
        if r["type"] == K8S_NAMESPACE:
            labels = (((r.get("inputs") or {}).get("metadata") or {}).get("labels") or {})
            if labels.get(POOL_LABEL):
                return str(labels[POOL_LABEL])
    own = {str(r["id"]) for r in mine if r["type"] == SG}
    peers = {str((r.get("inputs") or {}).get("referencedSecurityGroupId")) for r in mine
             if r["type"] == SG_INGRESS and str((r.get("inputs") or {}).get("securityGroupId")) in own}
    for r in resources:
        tags = (r.get("inputs") or {}).get("tags") or {}
        if r["type"] == SG and not r.get("tenant") and tags.get(POOL_LABEL) and str(r.get("id")) in peers:
            return str(tags[POOL_LABEL])
    return None


def pool_cidrs(resources: Sequence[Mapping[str, Any]], pool: str) -> tuple[Net, ...]:
    """The addresses of a pool's subnets (tagged ``tenancy/pool=<pool>``)."""
    out = []
    for r in resources:
        i = r.get("inputs") or {}
        if r["type"] == SUBNET and (i.get("tags") or {}).get(POOL_LABEL) == pool:
            n = _net(i.get("cidrBlock"))
            if n is not None:
                out.append(n)
    return tuple(out)


def pools_cidrs(resources: Sequence[Mapping[str, Any]]) -> dict[str, tuple[Net, ...]]:
    """Every pool's subnet addresses (:func:`pool_cidrs` of each pool), in one pass."""
    out: dict[str, list[Net]] = {}
    for r in resources:
        if r["type"] != SUBNET:
            continue
        i = r.get("inputs") or {}
        pool = (i.get("tags") or {}).get(POOL_LABEL)
        n = _net(i.get("cidrBlock")) if pool else None
        if n is not None:
            out.setdefault(str(pool), []).append(n)
    return {k: tuple(v) for k, v in out.items()}


def tenant_machines(resources: Sequence[Mapping[str, Any]], tenant: str | None, marker_group: str | None = None,
                    name: str | None = None, *, mine: Sequence[Mapping[str, Any]] | None = None,
                    pools: Mapping[str, tuple[Net, ...]] | None = None) -> Machines:
    """A tenant's nodes (``tenant=None``: the platform's own nodes): the groups its launch
    templates put on them if the render has any, else its own security groups plus
    ``marker_group``; its subnets' addresses. A tenant whose pods ALL get groups from a
    SecurityGroupPolicy (a pooled tenant) is its pods: those groups, its pool's addresses.

    ``mine`` (the tenant's own resources) and ``pools`` (:func:`pools_cidrs`) let a caller
    that asks for every tenant pass what it computed once, so each call stays independent of
    the number of tenants."""
    mine = [r for r in resources if r.get("tenant") == tenant] if mine is None else mine
    if tenant is not None:
        pod_groups = pod_security_groups(mine)
        if pod_groups is not None:
            pool = pool_of(resources, tenant, mine)
            cidrs = (pools.get(pool, ()) if pools is not None else pool_cidrs(resources, pool)) if pool else ()
            return Machines(name or tenant, pod_groups, cidrs)
    groups: set[str] = set()
    for lt in (r for r in mine if r["type"] == LAUNCH_TEMPLATE):
        groups |= set((lt.get("inputs") or {}).get("vpcSecurityGroupIds") or [])
        for ni in (lt.get("inputs") or {}).get("networkInterfaces") or []:
            groups |= set(ni.get("securityGroups") or [])
    if not groups and tenant is not None:
        groups = {str(r["id"]) for r in mine if r["type"] == SG}
        if marker_group:
            groups.add(marker_group)
    cidrs = tuple(n for n in (_net((r.get("inputs") or {}).get("cidrBlock")) for r in mine if r["type"] == SUBNET)
                  if n is not None)
    return Machines(name or tenant or "platform", frozenset(groups), cidrs)


# --------------------------------------------------------------------------------------------
# Network ACLs (stateless, per subnet; VPC user guide, "Control subnet traffic with network access
# control lists": rules are evaluated in ascending rule number, the first that matches decides, and
# an unmatched packet is denied by the final ``*`` rule)


@dataclass(frozen=True)
class AclRule:
    acl: str
    number: int
    egress: bool
    allow: bool
    protocol: str
    from_port: int
    to_port: int
    cidr: Net | None


def network_acls(resources: Iterable[Mapping[str, Any]]
                 ) -> tuple[dict[str, str], dict[tuple[str, bool], list[AclRule]]]:
    """(tenant → its network ACL id, (ACL id, egress) → its rules by number) from a render
    (``network.tenantNetworkAcls``); indexed once, so each pair of tenants reads only its ACLs' rules."""
    acls: dict[str, str] = {}
    rules: list[AclRule] = []
    for r in resources:
        i = r.get("inputs") or {}
        if r["type"] == AWS_NETWORK_ACL and r.get("tenant"):
            acls[str(r["tenant"])] = str(r.get("id") or (r.get("outputs") or {}).get("id"))
        elif r["type"] == AWS_NETWORK_ACL_RULE:
            proto = str(i.get("protocol", "-1"))
            lo, hi = _ports(proto, i.get("fromPort"), i.get("toPort"))
            cidr = i.get("cidrBlock")
            rules.append(AclRule(str(i.get("networkAclId")), int(i.get("ruleNumber") or 0), bool(i.get("egress")),
                                 str(i.get("ruleAction")) == "allow", proto, lo, hi,
                                 ipaddress.IPv4Network(str(cidr), strict=False) if cidr else None))
    index: dict[tuple[str, bool], list[AclRule]] = {}
    for rule in sorted(rules, key=lambda r: r.number):
        index.setdefault((rule.acl, rule.egress), []).append(rule)
    return acls, index


def acl_side(rules: Mapping[tuple[str, bool], Sequence[AclRule]], acl: str, egress: bool,
             peer: Sequence[Net]) -> list[tuple[str, int, int]]:
    """What the ACL ``acl`` lets out to (``egress``) or in from ``peer``'s addresses: for each of its
    blocks, the first rule (by number) whose CIDR holds the block decides; allowed ports, or []."""
    out: set[tuple[str, int, int]] = set()
    mine = rules.get((acl, egress), ())
    for block in peer:
        for r in mine:
            if r.cidr is not None and block.subnet_of(r.cidr):
                if r.allow:
                    out.add((r.protocol, r.from_port, r.to_port))
                break
    return sorted(out)
