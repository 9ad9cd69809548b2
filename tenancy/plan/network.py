"""The network plan: which traffic each security group admits, which VPC endpoints exist, the
tags, the network ACL rules, the flow-log policies and the quota arithmetic.

Pure functions, no Pulumi: :mod:`tenancy.components.network` turns this plan into resources, and
:func:`quota_problems` lets the spec reject a platform whose rules would not fit AWS's quotas
before anything is built.

Security groups and who uses them (the reasoning is in ``docs/network.md``):

* ``controlPlane`` — created by the network layer and given to EKS as the cluster's additional
  security group, so it sits on the control plane's ENIs. Admits 443 from the nodes.
* ``system`` — on the system node group (CoreDNS, add-ons). Admits DNS from every tenant node.
* ``tenantNodes`` — the *marker*: on every tenant node beside the tenant's own group, with NO
  rules of its own. It is only ever a *source* in other groups' rules, so the shared groups need
  one rule for all tenants. Having no rules, it admits nothing: it cannot join two tenants.
* ``endpoints`` — on the interface VPC endpoints. Admits 443 from the VPC.
* one group per tenant — admits itself, the control plane (443, 10250), the system nodes
  (kubelet, for metrics-server), and each tenant in its ``allowFrom`` (on every port, or on the
  entry's ``ports``: :func:`edge_rules`); sends to itself, DNS, the
  control plane, the endpoints and S3, and the internet only with ``internetEgress``. A POOLED
  tenant's group is the same, plus TCP from its pool's node group (kubelet probes); it sits on
  the tenant's pods (security groups for pods), not on nodes.
* one group per node pool (``poolNodes``) — on the pool's nodes beside the marker: admits the
  control plane and the system nodes' kubelet calls, sends what a node needs (API, endpoints,
  S3, DNS) and TCP into its own block (probes to the pods' branch interfaces). No self rule and
  no tenant traffic: the pods carry their tenants' groups, not this one.
"""

from __future__ import annotations

import ipaddress
import json
from collections.abc import Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Literal, TypedDict

from tenancy.spec.models import EdgePort, TenantSpec
from tenancy.spec.wire import CLUSTER_TAG_PREFIX, ELB_ROLE_TAG, INTERNAL_ELB_ROLE_TAG, SUBNET_ROLE_TAG

# --------------------------------------------------------------------------------------------
# Security group rules

SELF = "self"
CONTROL_PLANE = "controlPlane"
SYSTEM = "system"
TENANT_NODES = "tenantNodes"
ENDPOINTS = "endpoints"
S3 = "s3"
"""The S3 gateway endpoint's managed prefix list (image layers from ECR are served by S3)."""
VPC = "vpc"
INTERNET = "internet"
CIDR_PEER = "cidr:"
"""``cidr:<block>``: a literal IPv4 block (API access from CI runners, VPNs, load balancers)."""
SG_PEER = "sg:"
"""``sg:<id>``: a security group the platform does not own (API access from a CI runner's group)."""
POOL_NODES = "poolNodes"
"""On a pooled tenant's group: the node security group of the tenant's pool."""
SHARED_GROUPS = (CONTROL_PLANE, SYSTEM, TENANT_NODES, ENDPOINTS)
"""The platform's shared security groups, in creation order."""

ALL = "-1"
TCP = "tcp"
UDP = "udp"

CONTROL_PLANE_TO_TENANT_PORTS = (443, 10250)
"""What the EKS control plane opens on a tenant node: 443 (extension API servers/webhooks) and
10250 (kubelet: logs, exec, port-forward, metrics)."""
CONTROL_PLANE_TO_SYSTEM_PORTS = (443, 4443, 6443, 8443, 9443, 10250)
"""On system nodes the control plane also reaches add-on webhooks and metrics-server: the ports
terraform-aws-eks opens as its "recommended" node rules (4443 metrics-server, 6443
prometheus-adapter, 8443/9443 controller webhooks)."""
KUBELET_PORT = 10250
ISTIOD_XDS_PORT = 15012
"""istiod's xDS/CA port: every sidecar (on tenant nodes) connects to istiod (on the system nodes)."""
ISTIOD_WEBHOOK_PORT = 15017
"""istiod's injection/validation webhook port, called by the API server (istio/istio#36955)."""
DNS_PORT = 53
HTTPS_PORT = 443


@dataclass(frozen=True)
class SgRule:
    """One security group rule, with a symbolic peer.

    ``peer`` is one of the module's group constants (``self``, ``controlPlane``, ``system``,
    ``tenantNodes``, ``endpoints``), ``s3`` (the S3 prefix list), ``vpc`` (the VPC CIDR),
    ``internet`` (0.0.0.0/0), or ``tenant:<name>`` for an ``allowFrom`` edge.
    ``key`` names the rule's resource: stable, unique within its group and direction.
    """

    direction: Literal["ingress", "egress"]
    protocol: str
    from_port: int | None
    to_port: int | None
    peer: str
    description: str
    key: str

    @property
    def is_sg_reference(self) -> bool:
        return self.peer not in (S3, VPC, INTERNET) and not self.peer.startswith(CIDR_PEER)


def _tcp(direction: Literal["ingress", "egress"], port: int, peer: str, what: str, key: str) -> SgRule:
    return SgRule(direction, TCP, port, port, peer, what, key)


def _all(direction: Literal["ingress", "egress"], peer: str, what: str, key: str) -> SgRule:
    return SgRule(direction, ALL, None, None, peer, what, key)


POOL_PROBE_RULE_KEY = "in-pool-probes"


def tenant_rules(internet_egress: bool, ingress_controller: bool = False, mesh: bool = False,
                 pooled: bool = False) -> list[SgRule]:
    """The rules of one tenant's node security group (its ``allowFrom`` edges come apart, from
    :func:`edge_rules`). ``mesh``: sidecars reach istiod on the system nodes (15012).

    ``pooled``: the tenant runs on a shared node pool and this group sits on its PODS (security
    groups for pods, strict mode), so it also admits TCP from its pool's node group
    (:data:`POOL_NODES`): the kubelet's liveness/readiness probes come from the node's primary
    address, which carries the pool's node group, not the tenant's. "If you are using liveness
    or readiness probes, then you also need to disable TCP early demux, so that the kubelet can
    connect to Pods on branch network interfaces" (EKS user guide,
    security-groups-pods-deployment.adoc); the probes cross the pod's branch interface and its
    groups in strict mode (aws/amazon-vpc-cni-k8s README, ``POD_SECURITY_GROUP_ENFORCING_MODE``)."""
    rules = [
        _all("ingress", SELF, "the tenant's own nodes and pods", "in-self"),
        *(_tcp("ingress", p, CONTROL_PLANE, f"EKS control plane to nodes ({p})", f"in-cp-{p}")
          for p in CONTROL_PLANE_TO_TENANT_PORTS),
        _tcp("ingress", KUBELET_PORT, SYSTEM, "system nodes (metrics-server) to kubelet", "in-system-kubelet"),
    ]
    if pooled:
        rules.append(SgRule("ingress", TCP, 0, 65535, POOL_NODES, "kubelet probes from the pool's nodes "
                            "(security groups for pods)", POOL_PROBE_RULE_KEY))
    if ingress_controller:
        rules.append(SgRule("ingress", TCP, 0, 65535, SYSTEM, "the platform's ingress controller on the "
                            "system nodes (NetworkPolicies narrow it to its namespace)", "in-system-ingress"))
    rules += [
        _all("egress", SELF, "the tenant's own nodes and pods", "out-self"),
        SgRule("egress", UDP, DNS_PORT, DNS_PORT, SYSTEM, "DNS to CoreDNS on the system nodes", "out-dns-udp"),
        _tcp("egress", DNS_PORT, SYSTEM, "DNS over TCP to CoreDNS on the system nodes", "out-dns-tcp"),
        _tcp("egress", HTTPS_PORT, CONTROL_PLANE, "the Kubernetes API", "out-cp-443"),
        _tcp("egress", HTTPS_PORT, ENDPOINTS, "AWS APIs through the interface endpoints", "out-endpoints-443"),
        _tcp("egress", HTTPS_PORT, S3, "S3 through the gateway endpoint (ECR image layers)", "out-s3-443"),
    ]
    if mesh:
        rules.append(_tcp("egress", ISTIOD_XDS_PORT, SYSTEM, "Istio sidecars to istiod (xDS, certificates)",
                          "out-istiod-15012"))
    if internet_egress:
        rules.append(_all("egress", INTERNET, "the internet through NAT (internetEgress)", "out-internet"))
    return rules


INGRESS_CONTROLLER_PORTS = (80, 443)
"""Where load balancers reach the platform's ingress controller: its pods' HTTP and HTTPS
container ports (ingress-nginx's defaults), as IP targets of a load balancer in the public
subnets (AWS Load Balancer Controller, target type ``ip``; health checks on the traffic port)."""


def system_rules(load_balancers_from: str | None = None, mesh: bool = False) -> list[SgRule]:
    """The rules of the system node group's security group. ``load_balancers_from``: the public
    subnets' block, when an ingress controller runs on the system nodes
    (``workloads.ingressControllerNamespace``): load balancers there reach it on
    :data:`INGRESS_CONTROLLER_PORTS`. ``mesh``: istiod admits sidecars on 15012 and the control
    plane's webhook calls on 15017."""
    lb = [] if load_balancers_from is None else [
        _tcp("ingress", p, f"{CIDR_PEER}{load_balancers_from}",
             f"load balancers in the public subnets to the ingress controller ({p})", f"in-lb-{p}")
        for p in INGRESS_CONTROLLER_PORTS]
    return [
        _all("ingress", SELF, "system nodes among themselves", "in-self"),
        *(_tcp("ingress", p, CONTROL_PLANE, f"EKS control plane to system nodes ({p})", f"in-cp-{p}")
          for p in CONTROL_PLANE_TO_SYSTEM_PORTS),
        SgRule("ingress", UDP, DNS_PORT, DNS_PORT, TENANT_NODES, "DNS from every tenant node", "in-dns-udp"),
        _tcp("ingress", DNS_PORT, TENANT_NODES, "DNS over TCP from every tenant node", "in-dns-tcp"),
        *lb,
        *([_tcp("ingress", ISTIOD_XDS_PORT, TENANT_NODES, "Istio sidecars on tenant nodes to istiod",
                "in-istiod-15012"),
           _tcp("ingress", ISTIOD_WEBHOOK_PORT, CONTROL_PLANE, "EKS control plane to istiod's injection webhook",
                "in-cp-15017")] if mesh else []),
        _all("egress", INTERNET, "add-ons: kubelets, AWS APIs, image registries", "out-all"),
    ]


def pool_node_rules(pool_block: str) -> list[SgRule]:
    """The rules of a node pool's node security group (on the pool's nodes, with the marker).

    The pool's nodes run only platform processes in their own network namespace (kubelet,
    kube-proxy, aws-node); every tenant pod on them has a branch interface carrying its
    tenant's group. So: the control plane reaches the kubelet (443, 10250), metrics-server the
    kubelet (10250); the nodes reach the API, the endpoints, S3, DNS, and (probes) TCP into the
    pool's own block — where the VPC resource controller creates the pods' branch interfaces,
    in the node's subnet (aws/amazon-vpc-resource-controller-k8s,
    ``pkg/provider/branch/trunk/trunk.go``: ``CreateAndAttachNetworkInterface(...,
    t.instance.SubnetID(), ...)``). A pod's own groups still decide whether a probe gets in.
    No self rule (nodes of a pool never talk to each other directly) and no tenant rule.
    With a mesh, the sidecars are in the pods (their tenants' groups reach istiod)."""
    return [
        *(_tcp("ingress", p, CONTROL_PLANE, f"EKS control plane to pool nodes ({p})", f"in-cp-{p}")
          for p in CONTROL_PLANE_TO_TENANT_PORTS),
        _tcp("ingress", KUBELET_PORT, SYSTEM, "system nodes (metrics-server) to kubelet", "in-system-kubelet"),
        SgRule("egress", UDP, DNS_PORT, DNS_PORT, SYSTEM, "DNS to CoreDNS on the system nodes", "out-dns-udp"),
        _tcp("egress", DNS_PORT, SYSTEM, "DNS over TCP to CoreDNS on the system nodes", "out-dns-tcp"),
        _tcp("egress", HTTPS_PORT, CONTROL_PLANE, "the Kubernetes API (kubelet, kube-proxy, aws-node)",
             "out-cp-443"),
        _tcp("egress", HTTPS_PORT, ENDPOINTS, "AWS APIs through the interface endpoints", "out-endpoints-443"),
        _tcp("egress", HTTPS_PORT, S3, "S3 through the gateway endpoint (ECR image layers)", "out-s3-443"),
        SgRule("egress", TCP, 0, 65535, f"{CIDR_PEER}{pool_block}", "kubelet probes to the pods' branch "
               "interfaces in the pool's subnets (each pod's own groups decide)", "out-probes"),
    ]


def api_access_peers(cidrs: Sequence[str] | None, security_group_ids: Sequence[str], vpc_cidr: str) -> list[str]:
    """Symbolic peers admitted to the private API endpoint on 443 besides the nodes:
    ``cluster.apiAccessCidrs`` (unset: the VPC) and ``cluster.apiAccessSecurityGroupIds``."""
    peers = [VPC] if cidrs is None else [VPC if c == vpc_cidr else f"{CIDR_PEER}{c}" for c in cidrs]
    return [*dict.fromkeys(peers), *dict.fromkeys(f"{SG_PEER}{g}" for g in security_group_ids)]


def _peer_key(peer: str) -> str:
    """A stable resource-name part for one API access peer (adding one never renames another)."""
    if peer == VPC:
        return "vpc"
    return peer.replace(CIDR_PEER, "cidr-").replace(SG_PEER, "").replace(".", "-").replace("/", "-")


def control_plane_rules(api_access: Sequence[str] = (VPC,), mesh: bool = False) -> list[SgRule]:
    """The rules of the additional control-plane security group. ``api_access``: the peers of
    :func:`api_access_peers` (default: the VPC) — where `pulumi up`, CI and operators run. The
    EKS user guide (cluster-endpoint.adoc, private endpoint): "You must ensure that your Amazon
    EKS control plane security group contains rules to allow ingress traffic on port 443 from
    your connected network"; the nodes' rules below do not admit anyone else."""
    return [
        _tcp("ingress", HTTPS_PORT, TENANT_NODES, "the Kubernetes API from tenant nodes", "in-tenants-443"),
        _tcp("ingress", HTTPS_PORT, SYSTEM, "the Kubernetes API from system nodes", "in-system-443"),
        *(_tcp("ingress", HTTPS_PORT, p, "the Kubernetes API for deployers and operators (cluster.apiAccess*)",
               f"in-api-{_peer_key(p)}") for p in api_access),
        *(_tcp("egress", p, TENANT_NODES, f"control plane to tenant nodes ({p})", f"out-tenants-{p}")
          for p in CONTROL_PLANE_TO_TENANT_PORTS),
        *(_tcp("egress", p, SYSTEM, f"control plane to system nodes ({p})", f"out-system-{p}")
          for p in CONTROL_PLANE_TO_SYSTEM_PORTS),
        # mesh: to istiod's injection webhook on the system nodes
        *([_tcp("egress", ISTIOD_WEBHOOK_PORT, SYSTEM, "control plane to istiod's injection webhook",
                "out-system-15017")] if mesh else []),
    ]


def endpoint_rules() -> list[SgRule]:
    """The interface endpoints admit HTTPS from inside the VPC, nothing else."""
    return [_tcp("ingress", HTTPS_PORT, VPC, "AWS APIs from inside the VPC", "in-vpc-443")]


def shared_rules(group: str, api_access: Sequence[str] = (VPC,), load_balancers_from: str | None = None,
                 mesh: bool = False) -> list[SgRule]:
    """The rules of one of :data:`SHARED_GROUPS` (``tenantNodes`` has none, by design)."""
    if group == CONTROL_PLANE:
        return control_plane_rules(api_access, mesh)
    if group == SYSTEM:
        return system_rules(load_balancers_from, mesh)
    return {
        TENANT_NODES: list,
        ENDPOINTS: endpoint_rules,
    }[group]()


SG_PROTOCOLS = {"TCP": TCP, "UDP": UDP, "SCTP": "132"}
"""A NetworkPolicy protocol as a security group rule's ``ip_protocol``. SCTP has no name there:
its IANA number, 132, on which AWS opens every port ("If you specify a protocol other than tcp,
udp, icmp, or icmpv6, traffic on all ports is allowed, regardless of any ports you specify",
EC2 API reference, ``IpPermission.IpProtocol``)."""


def edge_rules(owner: str, source: str, ports: Sequence[EdgePort] | None = None) -> list[tuple[SgRule, SgRule]]:
    """The rules of one ``allowFrom`` edge, "``owner`` allows from ``source``", as pairs: ingress
    on ``owner``'s group from ``source``'s, and egress on ``source``'s group to ``owner``'s.

    ``ports`` (the edge's ``allowFrom[].ports``): one pair per entry, that protocol and port
    range only, keyed ``<owner>-from-<source>-<protocol>-<port>[-<endPort>]``. None: one pair
    opening every protocol and port, keyed ``<owner>-from-<source>`` (the key edges had before
    ports existed: an existing edge keeps its resources)."""
    what = f"allowFrom: {source} -> {owner}"
    key = f"{owner}-from-{source}"
    if ports is None:
        return [(_all("ingress", f"tenant:{source}", what, key), _all("egress", f"tenant:{owner}", what, key))]
    out = []
    for p in ports:
        proto = SG_PROTOCOLS[p.protocol]
        lo, hi = (None, None) if proto not in (TCP, UDP) else (p.port, p.last)
        k = f"{key}-{p.protocol.lower()}-{p.port}" + (f"-{p.end_port}" if p.end_port is not None else "")
        out.append((SgRule("ingress", proto, lo, hi, f"tenant:{source}", f"{what} ({p})", k),
                    SgRule("egress", proto, lo, hi, f"tenant:{owner}", f"{what} ({p})", k)))
    return out


def edge_rule_counts(tenants: Iterable[TenantSpec]) -> dict[tuple[str, str], int]:
    """``(owner, peer)`` → the rules each side of that edge needs (:func:`edge_rules`): one per
    ``ports`` entry, one for an edge opening every port. For :func:`rule_counts`."""
    return {(t.name, e.tenant): 1 if e.ports is None else len(e.ports) for t in tenants for e in t.allow_from}


def rule_counts(allow_from: Mapping[str, Sequence[str]], internet_egress: Mapping[str, bool],
                ingress_controller: bool = False, mesh: bool = False,
                pooled: Collection[str] = (),
                edge_rules_per: Mapping[tuple[str, str], int] | None = None) -> dict[str, tuple[int, int]]:
    """``(ingress, egress)`` rules on each tenant's group, edges included: a tenant's ingress
    grows with its own ``allowFrom``, its egress with the tenants that allow it. ``pooled``:
    tenants on a node pool (one more ingress rule: probes from the pool's nodes).
    ``edge_rules_per``: ``(owner, peer)`` → rules per side of that edge (one per port entry,
    :func:`edge_rule_counts`); an edge not listed needs one (every port)."""
    pooled = set(pooled)
    per = edge_rules_per or {}
    base = {t: tenant_rules(internet_egress.get(t, False), ingress_controller, mesh, pooled=t in pooled)
            for t in allow_from}
    allowed_by: dict[str, int] = {t: 0 for t in allow_from}
    for owner, peers in allow_from.items():
        for p in set(peers):
            if p in allowed_by:
                allowed_by[p] += per.get((owner, p), 1)
    out: dict[str, tuple[int, int]] = {}
    for t, rules in base.items():
        ing = sum(r.direction == "ingress" for r in rules) + sum(per.get((t, p), 1) for p in set(allow_from[t]))
        eg = sum(r.direction == "egress" for r in rules) + allowed_by[t]
        out[t] = (ing, eg)
    return out


# --------------------------------------------------------------------------------------------
# VPC endpoints

INTERFACE_ENDPOINTS = ("ecr.api", "ecr.dkr", "sts", "ec2", "logs")
"""Interface endpoints private nodes need: image pulls (ECR api + dkr; layers come from S3),
IRSA token exchange (STS), the VPC CNI's ENI calls (EC2) and log shipping (CloudWatch Logs)."""
POD_IDENTITY_ENDPOINT = "eks-auth"


METRICS_ENDPOINT = "monitoring"
"""CloudWatch metrics (``PutMetricData``), with ``observability.metrics`` (:mod:`tenancy.plan.observability`)."""


def interface_endpoints(identity_mode: str = "irsa", metrics: bool = False) -> list[str]:
    """Interface endpoint services (short names) the platform creates."""
    return [*INTERFACE_ENDPOINTS, *([POD_IDENTITY_ENDPOINT] if identity_mode == "podIdentity" else []),
            *([METRICS_ENDPOINT] if metrics else [])]


def endpoint_service_name(region: str, service: str) -> str:
    return f"com.amazonaws.{region}.{service}"


def endpoint_resource_suffix(service: str) -> str:
    """``ecr.api`` → ``ecr-api``: a name part for the endpoint's resource."""
    return service.replace(".", "-")


# --------------------------------------------------------------------------------------------
# Tags


SubnetRole = Literal["public", "system", "tenant"]


def node_security_group_tags(base: Mapping[str, str], cluster: str) -> dict[str, str]:
    """Tags of the ONE security group on a node's ENIs that the AWS Load Balancer Controller may
    use for its target rules: with several groups on an ENI it requires "exactly one
    securityGroup tagged with kubernetes.io/cluster/<name>" (``resolveEndpointSGForENI``,
    ``pkg/targetgroupbinding/networking_manager.go``). Tenant nodes carry their tenant's group
    (tagged) and the marker (never tagged: rules on it would reach every tenant); system nodes
    carry one group. The EKS-managed cluster group, also tagged, is not on any node of ours."""
    return {**base, CLUSTER_TAG_PREFIX + cluster: "shared"}


def subnet_tags(base: Mapping[str, str], cluster: str, role: SubnetRole, name: str) -> dict[str, str]:
    """Tags of a subnet: ``base`` (``naming.tags``, with the tenant for tenant subnets), the
    cluster ownership tag, and the load-balancer role tag the AWS Load Balancer Controller
    discovers subnets by (``elb`` on public, ``internal-elb`` on private subnets)."""
    out = dict(base)
    out["Name"] = name
    out[CLUSTER_TAG_PREFIX + cluster] = "shared"
    out[ELB_ROLE_TAG if role == "public" else INTERNAL_ELB_ROLE_TAG] = "1"
    out[SUBNET_ROLE_TAG] = role
    return out


# --------------------------------------------------------------------------------------------
# Network ACLs (optional third wall)

NACL_OWN_BLOCK = 100
NACL_PLATFORM_BLOCKS = 200
NACL_PEER_BASE = 1000
NACL_DENY_VPC = 32000
NACL_ALLOW_REST = 32001
NACL_MAX_RULE_NUMBER = 32766


@dataclass(frozen=True)
class NaclRule:
    """One network ACL entry; the same entry exists in both directions (``egress`` False/True)."""

    rule_number: int
    action: Literal["allow", "deny"]
    cidr: str
    key: str


def platform_blocks_cidr(vpc_cidr: str, tenant_block_prefix: int) -> str:
    """The public and system blocks together (blocks 0 and 1: one aligned CIDR)."""
    vpc = ipaddress.IPv4Network(vpc_cidr)
    return str(ipaddress.IPv4Network((int(vpc.network_address), tenant_block_prefix - 1)))


def nacl_base_rules(vpc_cidr: str, tenant_block_prefix: int, own_block: str) -> list[NaclRule]:
    """A tenant NACL's fixed entries: its own block and the platform's blocks allowed, the rest
    of the VPC (every other tenant, present or future) denied, everything outside allowed (NAT,
    S3, load balancers: the security groups decide there). Constant size, whatever the number of
    tenants."""
    return [
        NaclRule(NACL_OWN_BLOCK, "allow", own_block, "own"),
        NaclRule(NACL_PLATFORM_BLOCKS, "allow", platform_blocks_cidr(vpc_cidr, tenant_block_prefix), "platform"),
        NaclRule(NACL_DENY_VPC, "deny", vpc_cidr, "deny-vpc"),
        NaclRule(NACL_ALLOW_REST, "allow", "0.0.0.0/0", "allow-rest"),
    ]


def nacl_edge_rule_numbers(owner_slot: int, source_slot: int) -> tuple[int, int]:
    """Rule numbers of one edge "owner allows from source": on the owner's NACL (allowing the
    source's block) and on the source's NACL (allowing the owner's block). Derived from slots and
    from which side declared the edge (even: declared by this NACL's tenant, odd: by the peer),
    so two tenants allowing each other never collide and no other tenant's rules move."""
    return NACL_PEER_BASE + 2 * source_slot, NACL_PEER_BASE + 2 * owner_slot + 1


def nacl_owner(tenant: str, pool_of: Mapping[str, str]) -> str:
    """Whose network ACL a tenant's traffic crosses: its pool's (pooled tenants have no subnets
    of their own: their pods' branch interfaces are in the pool's subnets), else its own."""
    return pool_of.get(tenant, tenant)


def nacl_peer_entries(allow_from: Mapping[str, Sequence[str]],
                      pool_of: Mapping[str, str] | None = None) -> dict[str, set[tuple[str, bool]]]:
    """The peer entries of every NACL (a dedicated tenant's, keyed by tenant, or a pool's, keyed
    by pool): ``(peer NACL owner, declared here)`` — the peer's block is admitted because an
    edge "owner allows from source" joins them, declared by this NACL's side (``True``) or the
    peer's. Several pooled tenants' edges to the same block collapse into one entry: a NACL
    sees blocks, not tenants (the security groups tell pooled tenants apart)."""
    pool_of = pool_of or {}
    out: dict[str, set[tuple[str, bool]]] = {}
    for owner, peers in allow_from.items():
        o = nacl_owner(owner, pool_of)
        for src in set(peers):
            s = nacl_owner(src, pool_of)
            if s == o:
                continue
            out.setdefault(o, set()).add((s, True))
            out.setdefault(s, set()).add((o, False))
    return out


def nacl_peer_rule_number(peer_slot: int, declared_here: bool) -> int:
    """The number of one peer entry (see :func:`nacl_edge_rule_numbers`, which it generalises)."""
    return NACL_PEER_BASE + 2 * peer_slot + (0 if declared_here else 1)


def nacl_rule_counts(allow_from: Mapping[str, Sequence[str]],
                     pool_of: Mapping[str, str] | None = None) -> dict[str, int]:
    """Entries per direction on each NACL: 4 fixed plus one per distinct peer entry. Keys: the
    dedicated tenants of ``allow_from`` and the pools of ``pool_of`` (pooled tenants have none)."""
    pool_of = pool_of or {}
    entries = nacl_peer_entries(allow_from, pool_of)
    owners = [t for t in allow_from if t not in pool_of] + sorted(set(pool_of.values()))
    return {o: 4 + len(entries.get(o, ())) for o in owners}


# --------------------------------------------------------------------------------------------
# Quotas (called by the spec's validation)


class PoolQuotaInputs(TypedDict):
    pool_of: dict[str, str]
    pool_positions: dict[str, int]


def pool_quota_inputs(data: Mapping[str, object]) -> PoolQuotaInputs:
    """``pool_of`` and ``pool_positions`` for :func:`quota_problems`, read from the RAW platform
    object (camelCase, before validation; entries of the wrong shape are skipped, the spec's own
    checks report them): ``quota_problems(..., **pool_quota_inputs(data))``."""
    tenants = data.get("tenants")
    pools = data.get("nodePools")
    pool_of = {t["name"]: t["pool"] for t in (tenants if isinstance(tenants, list) else [])
               if isinstance(t, Mapping) and isinstance(t.get("name"), str) and isinstance(t.get("pool"), str)}
    positions = {p["name"]: k for k, p in enumerate(pools if isinstance(pools, list) else [])
                 if isinstance(p, Mapping) and isinstance(p.get("name"), str)}
    return PoolQuotaInputs(pool_of=pool_of, pool_positions=positions)


SECURITY_GROUPS_PER_REGION = 2500
"""Default "VPC security groups per Region" (Amazon VPC quotas)."""
PLATFORM_SECURITY_GROUPS = len(SHARED_GROUPS) + 2
"""Groups every platform has in its VPC besides its tenants' and pools': the four shared groups,
the VPC's default group and the cluster security group EKS creates itself."""


def quota_problems(allow_from: Mapping[str, Sequence[str]], internet_egress: Mapping[str, bool],
                   positions: Mapping[str, int], sg_rule_quota: int = 60, nacls: bool = False,
                   nacl_rule_quota: int = 20, ingress_controller: bool = False,
                   mesh: bool = False, pool_of: Mapping[str, str] | None = None,
                   pool_positions: Mapping[str, int] | None = None,
                   security_group_quota: int = SECURITY_GROUPS_PER_REGION,
                   edge_rules_per: Mapping[tuple[str, str], int] | None = None) -> list[tuple[str, str]]:
    """Every tenant whose security group (or NACL) would hold more rules than the quota, as
    ``(path, message)``. ``positions`` maps tenant names to their index in ``tenants``.

    Node pools: ``pool_of`` maps each POOLED tenant to its pool, ``pool_positions`` each pool to
    its index in ``nodePools``. A pooled tenant's group has one more inbound rule (probes from
    its pool's nodes); a pool's NACL holds one entry per distinct peer block of its tenants'
    edges; every tenant and every pool has one group (plus the platform's four shared ones),
    counted against ``security_group_quota``. A pool's node group has a fixed set of rules.
    ``edge_rules_per``: rules per side of each port-scoped edge (:func:`rule_counts`)."""
    pool_of = pool_of or {}
    pool_positions = pool_positions or {}
    out: list[tuple[str, str]] = []
    counts = rule_counts(allow_from, internet_egress, ingress_controller, mesh, pooled=set(pool_of),
                         edge_rules_per=edge_rules_per)
    for t, (ing, eg) in counts.items():
        for n, direction in ((ing, "inbound"), (eg, "outbound")):
            if n > sg_rule_quota:
                out.append((f"tenants[{positions[t]}].allowFrom", (
                    f"tenant {t!r}'s security group would need {n} {direction} rules, over the quota "
                    f"of {sg_rule_quota} (network.securityGroupRuleQuota; each allowFrom port entry is one "
                    f"rule); shorten allowFrom lists or their ports involving {t!r}, or raise 'Inbound or "
                    f"outbound rules per security group' in Service Quotas and set network.securityGroupRuleQuota")))
    pools = set(pool_of.values()) | set(pool_positions)
    groups = PLATFORM_SECURITY_GROUPS + len(allow_from) + len(pools)
    if groups > security_group_quota:
        out.append(("tenants", (
            f"the platform would have {groups} security groups ({PLATFORM_SECURITY_GROUPS} of its own, one per "
            f"tenant, one per node pool), over the quota of {security_group_quota} 'VPC security groups per "
            f"Region' (shared with everything else in the Region); raise it in Service Quotas and set "
            f"securityGroupQuota, or split the tenants across platforms (cells)")))
    if nacls:
        for o, n in nacl_rule_counts(allow_from, pool_of).items():
            if n <= nacl_rule_quota:
                continue
            if o in pools:
                path = f"nodePools[{pool_positions[o]}]" if o in pool_positions else "nodePools"
                what, fix = f"node pool {o!r}'s network ACL", "allowFrom lists involving its tenants"
            else:
                path, what, fix = f"tenants[{positions[o]}].allowFrom", f"tenant {o!r}'s network ACL", (
                    f"allowFrom lists involving {o!r}")
            out.append((path, (
                f"{what} would need {n} rules per direction, over the quota of {nacl_rule_quota} "
                f"(network.networkAclRuleQuota); shorten {fix}, raise 'Rules per network ACL' (up to 40) "
                f"and set network.networkAclRuleQuota, or turn network.tenantNetworkAcls off")))
    return out


# --------------------------------------------------------------------------------------------
# Flow logs

FLOW_LOG_FIELDS = (
    "version", "account-id", "interface-id", "srcaddr", "dstaddr", "srcport", "dstport", "protocol",
    "packets", "bytes", "start", "end", "action", "log-status", "vpc-id", "subnet-id", "instance-id",
    "tcp-flags", "type", "pkt-srcaddr", "pkt-dstaddr", "az-id", "flow-direction", "traffic-path",
)
"""The default fields plus ``subnet-id`` (a record's tenant: every tenant owns its subnets),
``pkt-srcaddr``/``pkt-dstaddr`` (the pod addresses behind NAT/ENIs) and ``flow-direction``."""
FLOW_LOG_FORMAT = " ".join(f"${{{f}}}" for f in FLOW_LOG_FIELDS)
FLOW_LOG_AGGREGATION_SECONDS = 60


def _arn_parts(arn: str) -> tuple[str, str, str]:
    """``(partition, region, account)`` of an ARN."""
    parts = arn.split(":")
    if len(parts) < 6 or parts[0] != "arn":
        raise ValueError(f"not an ARN: {arn!r}")
    return parts[1], parts[3], parts[4]


def flow_logs_trust_policy(log_group_arn: str) -> str:
    """Trust policy of the flow-log delivery role: the VPC Flow Logs service, only on behalf of
    flow logs of this account and region (confused-deputy protection)."""
    partition, region, account = _arn_parts(log_group_arn)
    return json.dumps({
        "Version": "2012-10-17",
        "Statement": [{
            "Effect": "Allow",
            "Principal": {"Service": "vpc-flow-logs.amazonaws.com"},
            "Action": "sts:AssumeRole",
            "Condition": {
                "StringEquals": {"aws:SourceAccount": account},
                "ArnLike": {"aws:SourceArn": f"arn:{partition}:ec2:{region}:{account}:vpc-flow-log/*"},
            },
        }],
    }, sort_keys=True)


def flow_logs_role_policy(log_group_arn: str) -> str:
    """Least privilege for delivery: write streams and events into this one log group, plus
    ``logs:DescribeLogGroups``, which the AWS-documented flow-log role includes ("must include at
    least": CreateLogGroup, CreateLogStream, PutLogEvents, DescribeLogGroups, DescribeLogStreams;
    https://docs.aws.amazon.com/vpc/latest/userguide/flow-logs-iam-role.html).
    DescribeLogGroups is a list action that takes no single-group resource, so it is granted on
    the account's log groups (read-only metadata).
    ``CreateLogGroup`` is left out: the group exists before the flow log."""
    group = log_group_arn[:-2] if log_group_arn.endswith(":*") else log_group_arn
    partition, region, account = _arn_parts(group)
    return json.dumps({
        "Version": "2012-10-17",
        "Statement": [{
            "Sid": "DeliverFlowLogs",
            "Effect": "Allow",
            "Action": ["logs:CreateLogStream", "logs:DescribeLogStreams", "logs:PutLogEvents"],
            "Resource": [group, f"{group}:*"],
        }, {
            "Sid": "FindTheLogGroup",
            "Effect": "Allow",
            "Action": ["logs:DescribeLogGroups"],
            "Resource": [f"arn:{partition}:logs:{region}:{account}:log-group:*"],
        }],
    }, sort_keys=True)


def flow_logs_bucket_policy(bucket_arn: str, account: str, partition: str = "aws") -> str:
    """Bucket policy letting the log delivery service write this account's flow logs (S3
    destination), and refusing plain HTTP."""
    source = {"StringEquals": {"aws:SourceAccount": account}}
    return json.dumps({
        "Version": "2012-10-17",
        "Statement": [
            {"Sid": "AWSLogDeliveryWrite", "Effect": "Allow",
             "Principal": {"Service": "delivery.logs.amazonaws.com"}, "Action": "s3:PutObject",
             "Resource": f"{bucket_arn}/AWSLogs/{account}/*",
             "Condition": {"StringEquals": {"aws:SourceAccount": account,
                                            "s3:x-amz-acl": "bucket-owner-full-control"}}},
            {"Sid": "AWSLogDeliveryAclCheck", "Effect": "Allow",
             "Principal": {"Service": "delivery.logs.amazonaws.com"},
             "Action": ["s3:GetBucketAcl", "s3:ListBucket"], "Resource": bucket_arn, "Condition": source},
            {"Sid": "DenyInsecureTransport", "Effect": "Deny", "Principal": "*", "Action": "s3:*",
             "Resource": [bucket_arn, f"{bucket_arn}/*"],
             "Condition": {"Bool": {"aws:SecureTransport": "false"}}},
        ],
    }, sort_keys=True)


def account_of(arn: str) -> str:
    return _arn_parts(arn)[2]


def partition_of(arn: str) -> str:
    return _arn_parts(arn)[0]

