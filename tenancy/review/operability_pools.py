"""Operability checks for node pools (security groups for pods): what must work for a pooled
tenant's pods, whose network identity is the groups of their ``SecurityGroupPolicy`` (branch
interfaces in the pool's subnets), not their node's. Registered with
:func:`tenancy.review.operability.check` when :func:`tenancy.review.operability.evaluate` imports this module.

Every check is ``n/a`` on a platform without pooled tenants.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from tenancy.plan import cluster as cplan
from tenancy.plan import network as netplan
from tenancy.review.operability import Machines, Rendered, Status, check, flow_result
from tenancy.review.reachability import pod_security_groups
from tenancy.spec import naming
from tenancy.spec.wire import AWS_EKS_NODE_GROUP, AWS_IAM_ROLE_POLICY_ATTACHMENT, K8S_SECURITY_GROUP_POLICY, POOL_LABEL

_SGP_DOC = "EKS user guide security-groups-for-pods.adoc and security-groups-pods-deployment.adoc"
PROBE_PORT = 8080
"""A container port a probe would target (the pods' groups admit every TCP port from the pool)."""


def _pooled(r: Rendered) -> list[Any]:
    return list(r.spec.pooled_tenants)


@dataclass(frozen=True)
class _Index:
    """One pass over the render: pool node groups by pool, SecurityGroupPolicies by namespace
    (so the work per pooled tenant does not grow with the number of tenants)."""

    pools: dict[str, Mapping[str, Any]]
    policies: dict[str, list[Mapping[str, Any]]]


def _index(r: Rendered) -> _Index:
    pools: dict[str, Mapping[str, Any]] = {}
    for n in r.of_type(AWS_EKS_NODE_GROUP):
        label = (n["inputs"].get("labels") or {}).get(POOL_LABEL)
        if n["tenant"] is None and label and label != cplan.SYSTEM_LABELS[POOL_LABEL]:
            pools.setdefault(str(label), n)
    policies: dict[str, list[Mapping[str, Any]]] = {}
    for p in r.of_type(K8S_SECURITY_GROUP_POLICY):
        policies.setdefault(str((p["inputs"].get("metadata") or {}).get("namespace")), []).append(p)
    return _Index(pools, policies)


def pool_node_group(r: Rendered, pool: str, index: _Index | None = None) -> Mapping[str, Any] | None:
    """The node group labelled ``tenancy/pool=<pool>`` (not the system group's ``system``)."""
    return (index or _index(r)).pools.get(pool)


def pod_machines(r: Rendered, tenant: str, pool: str, index: _Index | None = None) -> Machines | None:
    """A pooled tenant's pods: the groups of its namespace's SecurityGroupPolicies selecting all
    pods, the pool's subnets' addresses; None without such a policy."""
    index = index or _index(r)
    groups = pod_security_groups(index.policies.get(naming.namespace(tenant), []))
    ng = index.pools.get(pool)
    if groups is None or ng is None:
        return None
    return Machines(f"{tenant} pods", groups, r.node_machines(ng).cidrs)


def _pairs(r: Rendered, dst: Machines | None, index: _Index) -> list[tuple[Machines | None, Machines | None]]:
    return [(pod_machines(r, t.name, t.pool, index), dst) for t in _pooled(r)]


@check("pooled tenants' pods → DNS, Kubernetes API, interface endpoints", "flow",
       _SGP_DOC + ": a pod with security groups is judged by its own groups, not its node's")
def _pooled_pods_out(r: Rendered) -> tuple[Status, str]:
    if not _pooled(r):
        return "n/a", "no pooled tenants"
    system = next((n for n in r.of_type(AWS_EKS_NODE_GROUP) if n["tenant"] is None and
                   (n["inputs"].get("labels") or {}).get(POOL_LABEL) == cplan.SYSTEM_LABELS[POOL_LABEL]),
                  None)
    flows = [("udp", netplan.DNS_PORT, r.node_machines(system) if system else None),
             ("tcp", netplan.DNS_PORT, r.node_machines(system) if system else None),
             ("tcp", netplan.HTTPS_PORT, r.control_plane()),
             ("tcp", netplan.HTTPS_PORT, r.interface_endpoints())]
    bad = []
    index = _index(r)
    for proto, port, dst in flows:
        status, detail = flow_result(r, _pairs(r, dst, index), proto, port)
        if status != "ok":
            bad.append(detail)
    return ("missing", "; ".join(bad)) if bad else ("ok", f"{len(_pooled(r))} pooled tenant(s): DNS, API, endpoints")


@check("pool nodes → pooled tenants' pods (kubelet probes, tcp)", "flow",
       _SGP_DOC + ": the kubelet probes from the node's primary address; the pod's groups must admit the node's")
def _probes(r: Rendered) -> tuple[Status, str]:
    pooled = _pooled(r)
    if not pooled:
        return "n/a", "no pooled tenants"
    pairs = []
    index = _index(r)
    for t in pooled:
        ng = pool_node_group(r, t.pool, index)
        pairs.append((r.node_machines(ng) if ng else None, pod_machines(r, t.name, t.pool, index)))
    return flow_result(r, pairs, "tcp", PROBE_PORT)


@check("security groups for pods: vpc-cni ENABLE_POD_ENI (strict, TCP early demux off), "
       "AmazonEKSVPCResourceController on the cluster role, a SecurityGroupPolicy per pooled tenant", "prerequisite",
       _SGP_DOC + "; aws/amazon-vpc-cni-k8s README (POD_SECURITY_GROUP_ENFORCING_MODE, DISABLE_TCP_EARLY_DEMUX)")
def _pod_security_groups(r: Rendered) -> tuple[Status, str]:
    pooled = _pooled(r)
    if not pooled:
        return "n/a", "no pooled tenants"
    problems = []
    cni = r.addon("vpc-cni")
    config: dict[str, Any] = json.loads(str((cni or {}).get("inputs", {}).get("configurationValues") or "{}"))
    env = config.get("env") or {}
    if env.get("ENABLE_POD_ENI") != "true":
        problems.append("vpc-cni ENABLE_POD_ENI is not true: pods get no branch interfaces")
    if env.get("POD_SECURITY_GROUP_ENFORCING_MODE", "strict") != "strict":
        problems.append("POD_SECURITY_GROUP_ENFORCING_MODE is not strict: same-node traffic escapes the groups")
    if ((config.get("init") or {}).get("env") or {}).get("DISABLE_TCP_EARLY_DEMUX") != "true":
        problems.append("init.env.DISABLE_TCP_EARLY_DEMUX is not true: kubelet TCP probes fail in strict mode")
    policy = cplan.CLUSTER_POLICIES_FOR_POD_SECURITY_GROUPS[0]
    if not any(str(a["inputs"].get("policyArn", "")).endswith(f"/{policy}")
               for a in r.of_type(AWS_IAM_ROLE_POLICY_ATTACHMENT)):
        problems.append(f"no {policy} attachment (the cluster role cannot manage branch interfaces)")
    index = _index(r)
    uncovered = [t.name for t in pooled if pod_machines(r, t.name, t.pool, index) is None]
    if uncovered:
        problems.append(f"no SecurityGroupPolicy for all pods (or no pool node group) for {', '.join(uncovered[:5])}")
    if problems:
        return "missing", "; ".join(problems)
    return "ok", f"{len(pooled)} pooled tenant(s) on branch interfaces with their own groups"


@check("pool nodes → interface endpoints (tcp/443)", "flow",
       "EKS user guide private-clusters.adoc: ECR, STS, EC2 through interface endpoints (kubelet image pulls)")
def _pool_nodes_to_endpoints(r: Rendered) -> tuple[Status, str]:
    system = cplan.SYSTEM_LABELS[POOL_LABEL]
    pools = [n for n in r.of_type(AWS_EKS_NODE_GROUP) if n["tenant"] is None and
             (n["inputs"].get("labels") or {}).get(POOL_LABEL) not in (None, system)]
    if not pools:
        return "n/a", "no node pools"
    return flow_result(r, ((r.node_machines(n), r.interface_endpoints()) for n in pools), "tcp", netplan.HTTPS_PORT)
