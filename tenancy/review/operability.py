"""Operability: what must WORK on the rendered platform, beside what must be unreachable.

A pure, extensible list of named checks evaluated over a render (the spec and the rendered
resources, as :class:`tenancy.render.RenderResult` holds them). Two kinds:

* **flows** — a connection the platform needs, judged from the RENDERED security group rules
  and the groups actually attached (launch templates, the cluster's control-plane group, the
  interface endpoints): "deployer → API :443", "control plane → system kubelet :10250", …
* **prerequisites** — what an option needs to work at all: "identity.mode podIdentity → the
  eks-pod-identity-agent add-on, before tenant nodes", "PVC quota → a CSI driver and a default
  StorageClass", …

Each check names the source (provider/add-on code or AWS documentation) that says why it is
needed, and returns a status: ``ok``, ``missing`` (a defect: the render will not work) or
``n/a`` (the option is off). The render report prints every finding (its "Operability"
section), and tests assert that nothing is ``missing`` for any option combination.

Extending: decorate a function ``(Rendered) -> (status, detail)`` with :func:`check`; it is
added to :data:`CHECKS` at import time, in order. Modules with in-cluster checks register
theirs the same way (import them in :func:`evaluate`'s module list, :data:`EXTENSIONS`).
"""

from __future__ import annotations

import importlib
import ipaddress
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from functools import cached_property
from typing import Any, Literal

from tenancy.plan import network as netplan
from tenancy.spec import PlatformSpec
from tenancy.spec.wire import AWS_EKS_ACCESS_POLICY_ASSOCIATION as ACCESS_POLICY_ASSOCIATION
from tenancy.spec.wire import AWS_EKS_ADDON as ADDON
from tenancy.spec.wire import AWS_EKS_NODE_GROUP as NODE_GROUP
from tenancy.spec.wire import AWS_SECURITY_GROUP as SG
from tenancy.spec.wire import AWS_SG_EGRESS_RULE as SG_EGRESS
from tenancy.spec.wire import AWS_SG_INGRESS_RULE as SG_INGRESS
from tenancy.spec.wire import AWS_SUBNET as SUBNET
from tenancy.spec.wire import AWS_VPC_ENDPOINT as VPC_ENDPOINT
from tenancy.spec.wire import (
    CLUSTER_TAG_PREFIX,
    DEFAULT_CLASS_ANNOTATION,
    K8S_RESOURCE_QUOTA,
    POOL_LABEL,
    SUBNET_ROLE_TAG,
    SYSTEM_TAINT_KEY,
)
from tenancy.spec.wire import EKS_COMPONENT as EKS_CLUSTER

Status = Literal["ok", "missing", "n/a"]
Kind = Literal["flow", "prerequisite"]


EXTENSIONS: tuple[str, ...] = ("tenancy.review.operability_cluster", "tenancy.review.operability_pools",
                               "tenancy.review.operability_autoscaler", "tenancy.review.operability_logs",
                               "tenancy.review.operability_observability")
"""Modules (dotted names) that register more checks with :func:`check` when imported."""


@dataclass(frozen=True)
class Finding:
    """One check's verdict on one render."""

    name: str
    kind: Kind
    status: Status
    detail: str
    source: str


@dataclass(frozen=True)
class Check:
    name: str
    kind: Kind
    source: str
    """Why the platform needs it: the provider/add-on source or AWS documentation."""
    run: Callable[[Rendered], tuple[Status, str]]


CHECKS: list[Check] = []


def check(name: str, kind: Kind, source: str) -> Callable[[Callable[[Rendered], tuple[Status, str]]],
                                                           Callable[[Rendered], tuple[Status, str]]]:
    """Register a check (decorator). Names must be unique."""

    def deco(fn: Callable[[Rendered], tuple[Status, str]]) -> Callable[[Rendered], tuple[Status, str]]:
        if any(c.name == name for c in CHECKS):
            raise ValueError(f"operability check {name!r} is registered twice")
        CHECKS.append(Check(name, kind, source, fn))
        return fn

    return deco


# --------------------------------------------------------------------------------------------
# The render, indexed


Net = ipaddress.IPv4Network


@dataclass(frozen=True)
class Machines:
    """ENIs: the security groups on them and the addresses they (or their clients) hold."""

    name: str
    groups: frozenset[str]
    cidrs: tuple[Net, ...]
    external: bool = False
    """Outside the render (a CI runner, a VPN, a load balancer): its egress is not ours to judge."""


@dataclass(frozen=True)
class _Rule:
    group: str
    egress: bool
    protocol: str
    lo: int
    hi: int
    peer_group: str | None
    cidr: Net | None


def _int(v: Any, default: int) -> int:
    return default if v is None else int(v)


class Rendered:
    """A render (``spec`` + ``resources``) with the lookups checks need."""

    def __init__(self, spec: PlatformSpec, resources: Sequence[Mapping[str, Any]]):
        self.spec = spec
        self.resources = resources

    def of_type(self, type_token: str) -> list[Mapping[str, Any]]:
        return [r for r in self.resources if r["type"] == type_token]

    @cached_property
    def by_urn(self) -> dict[str, Mapping[str, Any]]:
        return {r["urn"]: r for r in self.resources}

    @cached_property
    def _by_id(self) -> dict[str, Mapping[str, Any]]:
        return {str(r["id"]): r for r in self.resources if r.get("id")}

    def addon(self, name: str) -> Mapping[str, Any] | None:
        return next((r for r in self.of_type(ADDON) if r["inputs"].get("addonName") == name), None)

    def depends_on(self, resource: Mapping[str, Any], target: Mapping[str, Any]) -> bool:
        """Whether ``resource`` waits for ``target`` (directly or through its dependencies)."""
        seen: set[str] = set()
        todo = list(resource.get("dependencies") or [])
        while todo:
            u = todo.pop()
            if u == target["urn"]:
                return True
            if u in seen:
                continue
            seen.add(u)
            todo.extend(self.by_urn.get(u, {}).get("dependencies") or [])
        return False

    # --- security groups ---

    @cached_property
    def rules(self) -> list[_Rule]:
        out = []
        for r in self.resources:
            if r["type"] not in (SG_INGRESS, SG_EGRESS):
                continue
            i = r["inputs"]
            proto = str(i.get("ipProtocol"))
            lo, hi = (0, 65535) if proto == "-1" else (_int(i.get("fromPort"), 0), _int(i.get("toPort"), 65535))
            out.append(_Rule(i["securityGroupId"], r["type"] == SG_EGRESS, proto, lo, hi,
                             i.get("referencedSecurityGroupId"),
                             Net(i["cidrIpv4"]) if i.get("cidrIpv4") else None))
        return out

    def reaches(self, src: Machines, dst: Machines, protocol: str, port: int) -> bool:
        """AWS semantics: an egress rule on one of ``src``'s groups matching ``dst`` AND an ingress
        rule on one of ``dst``'s groups matching ``src``, both covering ``protocol``/``port``.
        A source with no groups (a CIDR outside the render: CI runners, load balancers) is not
        filtered on egress here."""

        def covers(r: _Rule) -> bool:
            return r.protocol in ("-1", protocol) and r.lo <= port <= r.hi

        def matches(r: _Rule, peer: Machines) -> bool:
            if r.peer_group is not None:
                return r.peer_group in peer.groups
            return r.cidr is not None and bool(peer.cidrs) and all(c.subnet_of(r.cidr) for c in peer.cidrs)

        by_group = self.rules_by_group
        out_ok = src.external or any(r.egress and covers(r) and matches(r, dst)
                                     for g in src.groups for r in by_group.get(g, ()))
        in_ok = any(not r.egress and covers(r) and matches(r, src) for g in dst.groups for r in by_group.get(g, ()))
        return out_ok and in_ok

    @cached_property
    def rules_by_group(self) -> dict[str, list[_Rule]]:
        """Rules by the group they sit on: a flow looks only at its two ends' groups, so the
        work per flow does not grow with the number of tenants."""
        out: dict[str, list[_Rule]] = {}
        for r in self.rules:
            out.setdefault(r.group, []).append(r)
        return out

    # --- machines, from the groups actually attached ---

    def _subnet_cidrs(self, subnet_ids: Iterable[str]) -> tuple[Net, ...]:
        return tuple(Net(self._by_id[s]["inputs"]["cidrBlock"]) for s in subnet_ids if s in self._by_id)

    def node_groups(self) -> list[Mapping[str, Any]]:
        return self.of_type(NODE_GROUP)

    def node_machines(self, node_group: Mapping[str, Any]) -> Machines:
        """A node group's nodes: the groups its launch template puts on them, its subnets."""
        i = node_group["inputs"]
        lt = self._by_id.get(str((i.get("launchTemplate") or {}).get("id")))
        groups = frozenset((lt or {}).get("inputs", {}).get("vpcSecurityGroupIds") or [])
        return Machines(node_group["name"], groups, self._subnet_cidrs(i.get("subnetIds") or []))

    def system_node_group(self) -> Mapping[str, Any] | None:
        """The platform's node group that is not a node pool's (pools: ``tenancy/pool=<pool>``)."""
        return next((n for n in self.node_groups() if n["tenant"] is None and
                     (n["inputs"].get("labels") or {}).get(POOL_LABEL) in (None, "system")), None)

    def tenant_node_groups(self) -> list[Mapping[str, Any]]:
        return [n for n in self.node_groups() if n["tenant"] is not None]

    def control_plane(self) -> Machines | None:
        """The control plane's ENIs: the group given to pulumi-eks as ``clusterSecurityGroup``
        (the EKS-managed cluster group also sits there, but admits only its own members)."""
        c = next(iter(self.of_type(EKS_CLUSTER)), None)
        if c is None:
            return None
        sg = c["inputs"].get("clusterSecurityGroup")
        cidrs = self._subnet_cidrs(c["inputs"].get("subnetIds") or [])
        return Machines("control plane", frozenset([sg] if sg else []), cidrs)

    def interface_endpoints(self) -> Machines | None:
        eps = [e for e in self.of_type(VPC_ENDPOINT) if e["inputs"].get("vpcEndpointType") == "Interface"]
        if not eps:
            return None
        groups = frozenset(g for e in eps for g in e["inputs"].get("securityGroupIds") or [])
        cidrs = self._subnet_cidrs(s for e in eps for s in e["inputs"].get("subnetIds") or [])
        return Machines("interface endpoints", groups, cidrs)

    def public_subnets(self) -> Machines:
        """Internet-facing load balancers' ENIs live in the public subnets (no groups of ours)."""
        cidrs = tuple(Net(s["inputs"]["cidrBlock"]) for s in self.of_type(SUBNET)
                      if (s["inputs"].get("tags") or {}).get(SUBNET_ROLE_TAG) == "public")
        return Machines("public subnets (load balancers)", frozenset(), cidrs, external=True)

    def eks_cluster(self) -> Mapping[str, Any] | None:
        return next(iter(self.of_type(EKS_CLUSTER)), None)

    def api_clients(self) -> list[Machines]:
        """Where deployers and operators may come from (``cluster.apiAccessCidrs``, unset: the VPC;
        ``cluster.apiAccessSecurityGroupIds``), as the spec declares them."""
        c = self.spec.cluster
        cidrs = [self.spec.vpc_cidr] if c.api_access_cidrs is None else list(c.api_access_cidrs)
        out = [Machines(f"deployer {x}", frozenset(), (Net(x),), external=True) for x in cidrs]
        out += [Machines(f"deployer group {g}", frozenset([g]), (), external=True)
                for g in c.api_access_security_group_ids]
        return out


# --------------------------------------------------------------------------------------------
# Evaluation


def evaluate(spec: PlatformSpec, resources: Sequence[Mapping[str, Any]],
             checks: Sequence[Check] | None = None) -> list[Finding]:
    """Every check's finding on this render, in registration order."""
    for mod in EXTENSIONS:
        importlib.import_module(mod)
    rendered = Rendered(spec, resources)
    out = []
    for c in (CHECKS if checks is None else checks):
        status, detail = c.run(rendered)
        out.append(Finding(c.name, c.kind, status, detail, c.source))
    return out


def missing(findings: Iterable[Finding]) -> list[Finding]:
    return [f for f in findings if f.status == "missing"]


def report_lines(findings: Sequence[Finding]) -> list[str]:
    """The report's "Operability" section (a Markdown table)."""
    bad = missing(findings)
    lines = ["## Operability", "",
             f"{len(findings)} flow(s) and prerequisite(s) checked on the render; "
             f"{len(bad)} missing." if findings else "No checks.", ""]
    lines += ["| status | kind | what | detail | source |", "|---|---|---|---|---|"]
    mark = {"ok": "ok", "missing": "**MISSING**", "n/a": "n/a"}
    for f in findings:
        detail = f.detail.replace("|", "\\|")
        lines.append(f"| {mark[f.status]} | {f.kind} | {f.name} | {detail} | {f.source} |")
    return lines


# --------------------------------------------------------------------------------------------
# Helpers for checks


def flow_result(rendered: Rendered, pairs: Iterable[tuple[Machines | None, Machines | None]], protocol: str,
                port: int) -> tuple[Status, str]:
    """``ok`` when every (src, dst) pair connects on ``protocol``/``port``; ``missing`` names the
    first that does not; ``n/a`` when there is no pair."""
    pairs = list(pairs)
    if not pairs:
        return "n/a", "nothing to connect in this render"
    bad = []
    for src, dst in pairs:
        if src is None or dst is None:
            bad.append("a side is absent from the render")
        elif not rendered.reaches(src, dst, protocol, port):
            bad.append(f"{src.name} → {dst.name}")
    if bad:
        return "missing", f"{protocol}/{port} blocked: {', '.join(bad[:5])}" + (" …" if len(bad) > 5 else "")
    return "ok", f"{len(pairs)} path(s) open on {protocol}/{port}"


# --------------------------------------------------------------------------------------------
# The checks (AWS side)

_EKS_SG_DOC = "EKS user guide, sec-group-reqs.adoc (control plane ↔ nodes)"


@check("deployer → Kubernetes API (tcp/443)", "flow",
       "EKS user guide cluster-endpoint.adoc: a private endpoint needs control-plane SG ingress on 443 from "
       "the connected network; pulumi-eks cluster.ts does not wait for a private endpoint")
def _deployer_to_api(r: Rendered) -> tuple[Status, str]:
    cluster = r.eks_cluster()
    if cluster is None:
        return "n/a", "no cluster in this render"
    public = list(cluster["inputs"].get("publicAccessCidrs") or []) if cluster["inputs"].get(
        "endpointPublicAccess") else []
    clients = r.api_clients()
    if not clients and not public:
        return "missing", "no CIDR or security group may reach the API: no Kubernetes object can be applied"
    status, detail = flow_result(r, ((c, r.control_plane()) for c in clients), "tcp", netplan.HTTPS_PORT) \
        if clients else ("ok", "no private-endpoint clients")
    if public:
        detail += f"; public endpoint for {', '.join(public)}"
    return status, detail


@check("nodes → Kubernetes API (tcp/443)", "flow",
       "EKS user guide sec-group-reqs.adoc: nodes must reach the control plane on 443")
def _nodes_to_api(r: Rendered) -> tuple[Status, str]:
    cp = r.control_plane()
    return flow_result(r, ((r.node_machines(n), cp) for n in r.node_groups()), "tcp", netplan.HTTPS_PORT)


@check("control plane → kubelet on every node (tcp/10250)", "flow", _EKS_SG_DOC + ": logs, exec, port-forward")
def _cp_to_kubelet(r: Rendered) -> tuple[Status, str]:
    cp = r.control_plane()
    return flow_result(r, ((cp, r.node_machines(n)) for n in r.node_groups()), "tcp", netplan.KUBELET_PORT)


@check("control plane → add-on webhooks on system nodes (tcp/443, 9443)", "flow",
       _EKS_SG_DOC + "; webhook Services of add-ons run on the tainted system nodes")
def _cp_to_webhooks(r: Rendered) -> tuple[Status, str]:
    cp, system = r.control_plane(), r.system_node_group()
    if system is None:
        return "missing", "no system node group"
    results = [flow_result(r, [(cp, r.node_machines(system))], "tcp", p) for p in (443, 9443)]
    bad = [d for s, d in results if s != "ok"]
    return ("missing", "; ".join(bad)) if bad else ("ok", "443 and 9443 open")


@check("tenant nodes → interface endpoints (tcp/443)", "flow",
       "EKS user guide private-clusters.adoc: STS (IRSA), ECR, EC2 through interface endpoints")
def _tenants_to_endpoints(r: Rendered) -> tuple[Status, str]:
    ep = r.interface_endpoints()
    return flow_result(r, ((r.node_machines(n), ep) for n in r.tenant_node_groups()), "tcp", netplan.HTTPS_PORT)


@check("load balancers (public subnets) → ingress controller on system nodes (tcp/80, 443)", "flow",
       "ingress controller pods are IP targets of an LB in the public subnets (AWS Load Balancer Controller)")
def _lb_to_ingress(r: Rendered) -> tuple[Status, str]:
    if not r.spec.workloads.ingress_controller_namespace:
        return "n/a", "no workloads.ingressControllerNamespace"
    system = r.system_node_group()
    if system is None:
        return "missing", "no system node group"
    results = [flow_result(r, [(r.public_subnets(), r.node_machines(system))], "tcp", p)
               for p in netplan.INGRESS_CONTROLLER_PORTS]
    bad = [d for st, d in results if st != "ok"]
    return ("missing", "; ".join(bad)) if bad else ("ok", "80 and 443 open from the public subnets")


@check("exactly one kubernetes.io/cluster/<name>-tagged security group per node ENI", "prerequisite",
       "aws-load-balancer-controller pkg/targetgroupbinding/networking_manager.go resolveEndpointSGForENI")
def _one_cluster_tagged_group(r: Rendered) -> tuple[Status, str]:
    tag = CLUSTER_TAG_PREFIX + r.spec.name
    tags = {str(g["id"]): (g["inputs"].get("tags") or {}) for g in r.of_type(SG)}
    bad = []
    for ng in r.node_groups():
        groups = r.node_machines(ng).groups
        tagged = [g for g in groups if tag in tags.get(g, {})]
        if len(groups) > 1 and len(tagged) != 1:
            bad.append(f"{ng['name']} ({len(tagged)} tagged of {len(groups)})")
    if bad:
        return "missing", "the AWS Load Balancer Controller cannot pick a group: " + ", ".join(bad[:5])
    return "ok", f"{len(r.node_groups())} node group(s)"


@check("identity.mode podIdentity → eks-pod-identity-agent add-on before tenant nodes", "prerequisite",
       "EKS user guide service-accounts.adoc: 'The EKS Pod Identity Agent is required'")
def _pod_identity_agent(r: Rendered) -> tuple[Status, str]:
    if r.spec.identity.mode != "podIdentity":
        return "n/a", "identity.mode is irsa"
    agent = r.addon("eks-pod-identity-agent")
    if agent is None:
        return "missing", "no eks-pod-identity-agent add-on: pods get no credentials"
    late = [n["name"] for n in r.tenant_node_groups() if not r.depends_on(n, agent)]
    if late:
        return "missing", f"node groups not waiting for the agent: {', '.join(late[:5])}"
    return "ok", "add-on present; every tenant node group waits for it"


@check("PVC quota → EBS CSI driver (own role, system-node toleration) and one default StorageClass", "prerequisite",
       "EKS user guide kubernetes-versions-standard.adoc (no default StorageClass from 1.30); ebs-csi.adoc")
def _storage(r: Rendered) -> tuple[Status, str]:
    quota = [o for o in r.resources if o["type"] == K8S_RESOURCE_QUOTA]
    wants = [q["tenant"] for q in quota
             if str(((q["inputs"].get("spec") or {}).get("hard") or {}).get("persistentvolumeclaims", "0")) != "0"]
    if not wants:
        return "n/a", "no tenant may claim volumes (workloads.storage: none, or no tenants)"
    addon = r.addon("aws-ebs-csi-driver")
    if addon is None:
        return "missing", f"tenants {', '.join(sorted(map(str, wants))[:5])} have PVC quota but no CSI driver"
    i = addon["inputs"]
    if not (i.get("serviceAccountRoleArn") or i.get("podIdentityAssociations")):
        return "missing", "the CSI driver has no identity of its own (it would need the node role)"
    config = str(i.get("configurationValues") or "")
    if SYSTEM_TAINT_KEY not in config:
        return "missing", "the CSI controller does not tolerate the system nodes' CriticalAddonsOnly taint"
    defaults = [o for o in r.resources if o["type"] == "kubernetes:storage.k8s.io/v1:StorageClass" and
                ((o["inputs"].get("metadata") or {}).get("annotations") or {}).get(
                    DEFAULT_CLASS_ANNOTATION) == "true"]
    if len(defaults) != 1:
        return "missing", f"{len(defaults)} default StorageClass(es); exactly one is needed"
    if str((defaults[0]["inputs"].get("parameters") or {}).get("encrypted")) != "true":
        return "missing", "the default StorageClass does not encrypt volumes"
    return "ok", f"add-on with its own role; default StorageClass `{defaults[0]['inputs']['metadata']['name']}`"


# --------------------------------------------------------------------------------------------
# Who can reach the API, who is cluster-admin (report section)



def api_access_lines(spec: PlatformSpec, resources: Sequence[Mapping[str, Any]]) -> list[str]:
    """The report's "API access" section, read from the render: every source the control
    plane's security group admits on 443, the public endpoint's CIDRs, and every cluster-admin
    — including the identity that runs ``pulumi up``, which pulumi-eks makes cluster-admin
    (``bootstrapClusterCreatorAdminPermissions: true`` in ``nodejs/eks/cluster/cluster.ts``) and
    which no spec field lists."""
    r = Rendered(spec, resources)
    cp = r.control_plane()
    names = {str(x["id"]): x["inputs"].get("name") or x["name"] for x in r.of_type(SG)}
    lines = ["## API access", "", "Who can open the Kubernetes API (TCP 443):", ""]
    cluster = r.eks_cluster()
    if cp is None or cluster is None:
        return [*lines, "No cluster in this render."]
    for rule in r.rules:
        on_443 = rule.protocol in ("-1", "tcp") and rule.lo <= 443 <= rule.hi
        if rule.egress or rule.group not in cp.groups or not on_443:
            continue
        if rule.peer_group is not None:
            who = f"members of security group `{names.get(rule.peer_group, rule.peer_group)}`"
        else:
            who = f"addresses in {rule.cidr}"
        lines.append(f"- private endpoint: {who}")
    i = cluster["inputs"]
    if i.get("endpointPublicAccess"):
        lines.append(f"- public endpoint: {', '.join(i.get('publicAccessCidrs') or ['(EKS default: 0.0.0.0/0)'])}")
    else:
        lines.append("- public endpoint: off")
    lines += ["", "Who holds cluster-admin:", "",
              "- the IAM identity that runs `pulumi up` (pulumi-eks grants it through "
              "`bootstrapClusterCreatorAdminPermissions`; it appears in no spec field)"]
    for a in r.of_type(ACCESS_POLICY_ASSOCIATION):
        if str(a["inputs"].get("policyArn", "")).endswith("/AmazonEKSClusterAdminPolicy"):
            lines.append(f"- `{a['inputs'].get('principalArn')}` (cluster.clusterAdmins)")
    return lines
