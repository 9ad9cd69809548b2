"""The tests' endpoints and assertions for security-group reachability, over the PRODUCT's
evaluator (:mod:`tenancy.review.reachability`).

This module used to hold its own evaluator; ``tenancy/review/reachability.py`` was lifted from
it (its docstring says so) and the two had the same structure line for line (the same ``Rule``
and ``Machines`` records, ``rules_of`` reading the same three rule shapes, the same
``_matches``/``_common``/``allowed``). A test judging the product with a copy of the product's
logic proves nothing the product's own tests do not, so the copy is gone (issue 20, "one
evaluator per question"): the tests here exercise the product's analysis, and what stays is
test-side modelling — which ENIs stand for a tenant, a pool, a client outside the render — and
the assertions built on ``allowed``.

The independent judge of the same question is ``tests/components/test_sg_judge_moto.py``: it
reads what EC2 holds after the render is replayed into moto (DescribeSecurityGroups,
DescribeSubnets, DescribeLaunchTemplateVersions) and decides flows with its own evaluator
written from the EC2 user guide, importing nothing of :mod:`tenancy.review.reachability` or
of this module.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from tenancy.review.reachability import (
    LAUNCH_TEMPLATE,
    SECURITY_GROUP_POLICY,
    SG,
    SG_EGRESS,
    SG_INGRESS,
    SG_RULE,
    SUBNET,
    Machines,
    Net,
    Rule,
    matches,
    rules_of,
    tenant_machines,
)
from tenancy.review.reachability import allowed as _allowed

__all__ = [
    "LAUNCH_TEMPLATE", "SECURITY_GROUP_POLICY", "SG", "SG_EGRESS", "SG_INGRESS", "SG_RULE", "SUBNET",
    "External", "Machines", "Net", "Rule", "allowed", "can_reach", "edge_violations", "external",
    "matches", "node_group_machines", "pooled_pods", "rules_of", "security_group_policy_groups",
    "tenant_machines",
]


@dataclass(frozen=True)
class External(Machines):
    """A client outside the render (CI runner, VPN, load balancer): its own egress is not
    modelled, only what the render's ingress rules admit from it."""


def allowed(rules: list[Rule], src: Machines, dst: Machines) -> list[tuple[str, int, int, str, str]]:
    """:func:`tenancy.review.reachability.allowed`; from an :class:`External` client, every
    ingress rule of ``dst`` that admits it (its egress is not modelled)."""
    if isinstance(src, External):
        return [(r.protocol, r.from_port, r.to_port, f"{src.name} (egress not modelled)", r.source)
                for r in rules if not r.egress and r.group in dst.groups and matches(r, src)]
    return _allowed(rules, src, dst)


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


def external(name: str, cidr: str | None = None, group: str | None = None) -> External:
    """A client outside the render: an address (a CI runner's /32) or a security group id."""
    return External(name, frozenset([group] if group else []), (Net(cidr),) if cidr else ())


def node_group_machines(resources: Sequence[Mapping[str, Any]], node_group: Mapping[str, Any]) -> Machines:
    """A node group's nodes, from its launch template's groups and its subnets (by rendered id)."""
    by_id = {str(r["id"]): r for r in resources if r.get("id")}
    lt = by_id[str(node_group["inputs"]["launchTemplate"]["id"])]
    groups = frozenset(lt["inputs"].get("vpcSecurityGroupIds") or [])
    cidrs = tuple(Net(by_id[s]["inputs"]["cidrBlock"]) for s in node_group["inputs"]["subnetIds"])
    return Machines(node_group["name"], groups, cidrs)


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
