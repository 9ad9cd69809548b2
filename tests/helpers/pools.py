"""A platform mixing dedicated and pooled tenants (issue 13), and how the tests model a pooled
tenant's pods: the groups its SecurityGroupPolicy lists (security groups for pods), in its
pool's subnets.

The SecurityGroupPolicy is the k8s layer's (``tenancy-pod-security-groups`` in the tenant's
namespace, ``podSelector: {}``, ``groupIds: [the tenant's group, the marker]``, per the shared
design). When a render holds none at all (the k8s layer does not emit it yet), :func:`pod_groups`
falls back to that contract, looked up by AWS NAME in the render (not through the code that
builds the policy), so the AWS-side analysis still runs; once the render holds policies, they
are the only source.
"""

from __future__ import annotations

import copy
from typing import Any

from tests.fixtures.specs import ALPHA, BETA, GAMMA, spec_with
from tests.helpers import sg_reachability as reach

SG = "aws:ec2/securityGroup:SecurityGroup"
NODE_GROUP = "aws:eks/nodeGroup:NodeGroup"
POOL_LABEL = "tenancy/pool"

SMALL = {"cpu": "2", "memory": "4Gi", "pods": 10}
"""Pooled tenants' quota: small enough for the pools' branch interfaces (capacity preflight)."""
POOLED = [
    # shared-a: media allows shop; shop has internet egress (the pool routes to NAT)
    {"name": "media", "pool": "shared-a", "allowFrom": ["shop"], "serviceAccounts": ["app"], "quota": SMALL},
    {"name": "shop", "pool": "shared-a", "internetEgress": True, "quota": SMALL},
    {"name": "idle", "pool": "shared-a", "quota": SMALL},
    # shared-b: news allows a DEDICATED tenant; film allows a tenant of ANOTHER pool
    {"name": "news", "pool": "shared-b", "allowFrom": ["alpha"], "quota": SMALL},
    {"name": "film", "pool": "shared-b", "allowFrom": ["media"], "quota": SMALL},
]
POOLS = [
    {"name": "shared-a", "slot": 5,
     "nodes": {"instanceTypes": ["m6i.large"], "minSize": 2, "maxSize": 4, "desiredSize": 2}},
    {"name": "shared-b", "slot": 6},
]
POOL_OF = {t["name"]: t["pool"] for t in POOLED}


def pooled_spec(**overrides: Any) -> dict[str, Any]:
    """alpha (allows beta), beta (allows shop: a dedicated tenant admitting a pooled one), gamma,
    and the pooled tenants above, on two pools; tenant NACLs on."""
    beta = {**copy.deepcopy(BETA), "allowFrom": ["shop"]}
    network = {"tenantNetworkAcls": True, **overrides.pop("network", {})}
    return spec_with([ALPHA, beta, GAMMA, *POOLED], nodePools=POOLS, network=network, **overrides)


def group_id(resources: list[dict[str, Any]], aws_name: str) -> str:
    [g] = [r for r in resources if r["type"] == SG and r["inputs"].get("name") == aws_name]
    return str(g["id"])


def pool_node_group(resources: list[dict[str, Any]], pool: str) -> dict[str, Any]:
    [ng] = [r for r in resources if r["type"] == NODE_GROUP and (r["inputs"].get("labels") or {}).get(POOL_LABEL)
            == pool and r.get("tenant") is None]
    return ng


def pod_groups(resources: list[dict[str, Any]], platform: str, tenant: str) -> frozenset[str]:
    """The groups on a pooled tenant's pods: its SecurityGroupPolicy's if the render has any
    policy, else the shared design's contract (its group and the marker, by AWS name)."""
    if any(r["type"] == reach.SECURITY_GROUP_POLICY for r in resources):
        groups = reach.security_group_policy_groups(resources, tenant)
        assert groups is not None, f"{tenant}: no SecurityGroupPolicy selecting all its pods"
        return groups
    return frozenset({group_id(resources, f"{platform}-{tenant}-nodes"),
                      group_id(resources, f"{platform}-tenant-nodes")})


def machines(resources: list[dict[str, Any]], spec: dict[str, Any]) -> dict[str, reach.Machines]:
    """Every tenant as the analyser sees it: dedicated tenants' nodes (their launch templates'
    groups, their subnets), pooled tenants' pods (:func:`pod_groups`, their pool's subnets)."""
    out = {}
    for t in spec["tenants"]:
        name = t["name"]
        if name in POOL_OF:
            out[name] = reach.pooled_pods(resources, name, pod_groups(resources, spec["name"], name),
                                          pool_node_group(resources, POOL_OF[name]))
        else:
            out[name] = reach.tenant_machines(resources, name, None)
    return out
