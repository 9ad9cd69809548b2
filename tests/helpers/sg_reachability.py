"""Who can open a connection to whom, computed from RENDERED security group rules.

Independent of the plan that wrote the rules: it reads the rule resources of a render
(``aws:vpc/...IngressRule``/``EgressRule``, ``aws:ec2/securityGroupRule``, and inline
``ingress``/``egress`` on ``aws:ec2/securityGroup``), resolves group ids through the rendered
resources, and applies AWS's semantics: a connection from A to B is allowed when one of A's
groups has an egress rule matching B (by group membership or address) and one of B's groups
has an ingress rule matching A, on a common protocol and port.
"""

from __future__ import annotations

import ipaddress
import itertools
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

SG = "aws:ec2/securityGroup:SecurityGroup"
SG_INGRESS = "aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule"
SG_EGRESS = "aws:vpc/securityGroupEgressRule:SecurityGroupEgressRule"
SG_RULE = "aws:ec2/securityGroupRule:SecurityGroupRule"
SUBNET = "aws:ec2/subnet:Subnet"
LAUNCH_TEMPLATE = "aws:ec2/launchTemplate:LaunchTemplate"

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
    external: bool = False
    """Outside the render (CI runner, VPN, load balancer): its own egress is not modelled, only
    what the render's ingress rules admit from it."""


def _ports(proto: str, lo: Any, hi: Any) -> tuple[int, int]:
    if proto in ("-1", "all") or lo is None:
        return 0, 65535
    lo, hi = int(lo), int(hi)
    return (0, 65535) if lo == -1 else (lo, hi)


def rules_of(resources: Iterable[Mapping[str, Any]]) -> list[Rule]:
    """Every security group rule of the render, whatever resource declared it."""
    out: list[Rule] = []
    for r in resources:
        i = r.get("inputs") or {}
        if r["type"] in (SG_INGRESS, SG_EGRESS):
            proto = str(i["ipProtocol"])
            lo, hi = _ports(proto, i.get("fromPort"), i.get("toPort"))
            out.append(Rule(i["securityGroupId"], r["type"] == SG_EGRESS, proto, lo, hi,
                            i.get("referencedSecurityGroupId"),
                            Net(i["cidrIpv4"]) if i.get("cidrIpv4") else None, i.get("prefixListId"),
                            f"{r['type']} {r['name']}"))
        elif r["type"] == SG_RULE:
            proto = str(i["protocol"])
            lo, hi = _ports(proto, i.get("fromPort"), i.get("toPort"))
            peer = r["inputs"]["securityGroupId"] if i.get("self") else i.get("sourceSecurityGroupId")
            cidrs: list[Net | None] = [Net(c) for c in i.get("cidrBlocks") or []] or [None]
            for c in cidrs:
                out.append(Rule(i["securityGroupId"], i["type"] == "egress", proto, lo, hi, peer, c,
                                (i.get("prefixListIds") or [None])[0], f"{r['type']} {r['name']}"))
        elif r["type"] == SG:
            gid = r["id"]
            for key, egress in (("ingress", False), ("egress", True)):
                for x in i.get(key) or []:
                    proto = str(x["protocol"])
                    lo, hi = _ports(proto, x.get("fromPort"), x.get("toPort"))
                    peers: list[tuple[str | None, Net | None]] = [(g, None) for g in x.get("securityGroups") or []]
                    peers += [(None, Net(c)) for c in x.get("cidrBlocks") or []]
                    if x.get("self"):
                        peers.append((gid, None))
                    for g, c in peers:
                        out.append(Rule(gid, egress, proto, lo, hi, g, c, None, f"{r['type']} {r['name']} inline"))
    return out


def _matches(rule: Rule, peer: Machines) -> bool:
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


def allowed(rules: list[Rule], src: Machines, dst: Machines) -> list[tuple[str, int, int, str, str]]:
    """Every (protocol, from, to, egress rule, ingress rule) through which ``src`` can open a
    connection to ``dst``; empty when none."""
    out = []
    egress = [r for r in rules if r.egress and r.group in src.groups and _matches(r, dst)]
    if src.external:
        egress = [Rule("", True, "-1", 0, 65535, None, None, None, f"{src.name} (egress not modelled)")]
    ingress = [r for r in rules if not r.egress and r.group in dst.groups and _matches(r, src)]
    for e in egress:
        for i in ingress:
            c = _common(e, i)
            if c is not None:
                out.append((*c, e.source, i.source))
    return out


def can_reach(rules: list[Rule], src: Machines, dst: Machines, protocol: str | None = None,
              port: int | None = None) -> bool:
    for proto, lo, hi, *_ in allowed(rules, src, dst):
        if protocol is not None and proto not in ("-1", protocol):
            continue
        if port is not None and not lo <= port <= hi:
            continue
        return True
    return False


def edge_violations(rules: list[Rule], machines: Mapping[str, Machines],
                    allow_from: Mapping[str, Iterable[str]], own_port: int | None = None) -> list[str]:
    """Every ordered pair of tenants whose reachability differs from the declared ``allowFrom``
    edges (``allow_from[y]``: who may open connections to ``y``): a declared edge that is closed,
    an undeclared one that is open (with its first path); with ``own_port``, a tenant that cannot
    reach itself on that TCP port."""
    allow = {t: set(a) for t, a in allow_from.items()}
    out = []
    for x, y in itertools.permutations(allow, 2):
        paths = allowed(rules, machines[x], machines[y])
        if x in allow[y] and not paths:
            out.append(f"{y} allows {x} but {x} cannot reach {y}")
        if x not in allow[y] and paths:
            out.append(f"{x} reaches {y} without {y} allowing it: {paths[0]}")
    if own_port is not None:
        out += [f"{t} cannot reach itself" for t, m in machines.items()
                if not can_reach(rules, m, m, "tcp", own_port)]
    return out


def tenant_machines(resources: Sequence[Mapping[str, Any]], tenant: str, marker_group: str | None) -> Machines:
    """A tenant's nodes: the groups its launch templates put on them if the render has any,
    else its own security group plus the network's marker group; its subnets' addresses."""
    mine = [r for r in resources if r.get("tenant") == tenant]
    groups: set[str] = set()
    for lt in (r for r in mine if r["type"] == LAUNCH_TEMPLATE):
        groups |= set(lt["inputs"].get("vpcSecurityGroupIds") or [])
        for ni in lt["inputs"].get("networkInterfaces") or []:
            groups |= set(ni.get("securityGroups") or [])
    if not groups:
        groups = {r["id"] for r in mine if r["type"] == SG}
        if marker_group:
            groups.add(marker_group)
    cidrs = tuple(Net(r["inputs"]["cidrBlock"]) for r in mine if r["type"] == SUBNET)
    return Machines(tenant, frozenset(groups), cidrs)


def external(name: str, cidr: str | None = None, group: str | None = None) -> Machines:
    """A client outside the render: an address (a CI runner's /32) or a security group id."""
    return Machines(name, frozenset([group] if group else []), (Net(cidr),) if cidr else (), external=True)


def node_group_machines(resources: Sequence[Mapping[str, Any]], node_group: Mapping[str, Any]) -> Machines:
    """A node group's nodes, from its launch template's groups and its subnets (by rendered id)."""
    by_id = {str(r["id"]): r for r in resources if r.get("id")}
    lt = by_id[str(node_group["inputs"]["launchTemplate"]["id"])]
    groups = frozenset(lt["inputs"].get("vpcSecurityGroupIds") or [])
    cidrs = tuple(Net(by_id[s]["inputs"]["cidrBlock"]) for s in node_group["inputs"]["subnetIds"])
    return Machines(node_group["name"], groups, cidrs)


SECURITY_GROUP_POLICY = "kubernetes:vpcresources.k8s.aws/v1beta1:SecurityGroupPolicy"


def security_group_policy_groups(resources: Sequence[Mapping[str, Any]], namespace: str) -> frozenset[str] | None:
    """The groups the SecurityGroupPolicies of ``namespace`` put on EVERY pod there (a policy
    with an empty podSelector and no serviceAccountSelector selects them all); None if none
    does — then its pods would use their node's groups (EKS user guide, security groups for Pods)."""
    found, groups = False, set()
    for r in resources:
        if r["type"] != SECURITY_GROUP_POLICY:
            continue
        obj = r["inputs"]
        if (obj.get("metadata") or {}).get("namespace") != namespace:
            continue
        spec = obj.get("spec") or {}
        if spec.get("podSelector") != {} or spec.get("serviceAccountSelector"):
            continue
        found = True
        groups |= set(spec["securityGroups"]["groupIds"])
    return frozenset(groups) if found else None


def pooled_pods(resources: Sequence[Mapping[str, Any]], name: str, groups: frozenset[str],
                pool_node_group: Mapping[str, Any]) -> Machines:
    """A pooled tenant's pods: ``groups`` on their branch interfaces, addresses from the subnets
    of the pool's node group (branch interfaces are created in the node's subnet: VPC resource
    controller, pkg/provider/branch/trunk/trunk.go)."""
    by_id = {str(r["id"]): r for r in resources if r.get("id")}
    cidrs = tuple(Net(by_id[s]["inputs"]["cidrBlock"]) for s in pool_node_group["inputs"]["subnetIds"])
    return Machines(name, groups, cidrs)
