"""Isolation facts: what a render lets each tenant do to, and reach in, the others.

One model, computed from a render's resources alone (``resources.json``, or
:attr:`tenancy.render.RenderResult.resources`), shared by every consumer that asks "what does
this platform isolate?": ``tenancy diff`` compares two renders' facts, ``tenancy check`` judges
one render's facts, and live checks (``tenancy verify``) can probe a deployed platform against
them. It never reads the spec and never matches resource names: it reads what the objects say
(security group rules, NetworkPolicies, IAM documents, RBAC bindings, node group taints,
admission policies and namespace labels), so a new object of a known *kind* (another
ValidatingAdmissionPolicy, a kube-system NetworkPolicy, an extra security group rule) is picked
up without a change here.

Pure: no Pulumi, no AWS, no cluster. ``facts_of(resources)`` returns :class:`IsolationFacts`;
``IsolationFacts.document()`` is its JSON form::

    {
      "tenants": {"<tenant>": {"namespace": "<ns>", "labels": {...},
                               "namespaces": ["<ns>", "<extra ns>", …]}},   # only with extra namespaces
      "network": [                       # who can open connections to whom (ordered pairs)
        {"from": "<tenant|namespace|platform:…|internet>", "to": "…",
         "securityGroup": ["tcp/443", "any/0-65535", …] | null,   # null: the layer is not modelled
         "networkPolicy": […] | null,                               # for this pair; [] = denied
         "open": true|false}                                        # both modelled layers allow
      ],
      "s3": [{"tenant", "role", "target", "access": "objects|list", "resources": [...]}],
      "trust": [{"tenant", "role", "subjects": ["system:serviceaccount:ns:sa", …], "audiences"}],
      "rbac": [{"namespace", "tenant", "subject", "subjectTenant", "grants": ["group/resource:verb", …]}],
      "placement": {"<tenant>": {"taints": ["key=value:effect", …], "labels": {...}, "nodeGroups": n,
                                 "tier": "premium|standard",                # namespace label tenancy/tier
                                 "pool": "<pool>",                          # pooled tenants only
                                 "podSecurityGroups": ["sg-…", …]}},        # its SecurityGroupPolicy's groups
      "admission": {"policies": {"<name>": {"failurePolicy", "validations": [...], "scope": {...}}},
                    "enforced": {"<tenant>": {"<policy>": ["Deny", …]}}},
      "podSecurity": {"<tenant>": {"enforce": "restricted", "enforce-version": "latest", …}},
      # issue 26, present only when there is something to say:
      "selfService": {"rbac": {"<tenant>": ["Group:tenancy:<t>:admins", …]}},   # who writes Roles/RoleBindings
      "mutating": {"policies": {"<name>": {"failurePolicy", "scope", "mutations"}},
                   "injected": {"<tenant>": ["<policy>", …]}}                      # placement injected
      "observability": {                                       # tenancy.plan.observability
        "agent": {"roles": [...], "policies": [policy ARN, …], "actions": [...], "tolerateAll": bool,
                  "containerLogs": bool} | null,               # the CloudWatch agent add-on
        "endpoints": ["logs", "monitoring", …],                 # interface endpoint services
        "dashboards": {"<tenant>": ["<namespace>", …]},        # Namespace dimensions it reads
        "queries": {"<tenant>": [{"name", "logGroups", "namespaces", "blocks"}]},
        "backup": {"selection": [ARN, …], "encrypted": bool, "trust": [...]} | null}
    }

Network semantics
-----------------
*Security groups*: AWS's rules (:mod:`tenancy.review.reachability`); a tenant's pods use its nodes'
security groups (VPC CNI without security groups for pods: "pods share the security groups of
the node's primary ENI", EKS User Guide, *Security groups for Pods*) — except a pooled tenant's,
which a ``SecurityGroupPolicy`` selecting all its pods puts on branch interfaces in its pool's
subnets: those pods are modelled by the policy's groups. Endpoints: each tenant's
nodes, the platform's nodes (``platform:nodes``) and the cluster's control-plane groups
(``platform:control-plane``).

*NetworkPolicies* (Kubernetes ``networking.k8s.io/v1`` semantics, evaluated by
:mod:`tenancy.review.netpol`, the evaluator the operability checks use too): a pod is isolated for a
direction once any policy with that ``policyType`` selects it; allowed traffic is the union of
the rules of the policies selecting it; a connection needs the source's egress and the
destination's ingress. Pod labels are unknown in a render, so the model answers "can *some* pod
of A open a connection to *some* pod of B" (an over-approximation, the safe side for a
reviewer): a policy with a non-empty ``podSelector`` may select some pods, a peer's
``podSelector`` may match some pods, and a namespace is isolated as a whole only by a policy
with the empty ``podSelector``. Endpoints: tenant namespaces, the other namespaces the policies
name (``kube-system``, the ingress controller's), and ``internet`` (an ``ipBlock`` holding
public probe addresses not in its ``except``). Pods' addresses are their tenant's subnets (VPC
CNI assigns pod IPs from the node's subnets).
"""

from __future__ import annotations

import fnmatch
import functools
import ipaddress
import json
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

from tenancy.plan.observability import ADDON as METRICS_ADDON
from tenancy.review import netpol, tiers
from tenancy.review import reachability as sg
from tenancy.review.logs_facts import LogFacts, log_facts
from tenancy.review.netpol import Port, selector_matches
from tenancy.review.netpol import covers as covers  # re-exported: tenancy.review.diff, tests
from tenancy.spec.naming import tenant_s3_prefix
from tenancy.spec.wire import AWS_BACKUP_SELECTION as BACKUP_SELECTION
from tenancy.spec.wire import AWS_BACKUP_VAULT as BACKUP_VAULT
from tenancy.spec.wire import AWS_CW_DASHBOARD as DASHBOARD
from tenancy.spec.wire import AWS_CW_QUERY_DEFINITION as QUERY_DEFINITION
from tenancy.spec.wire import AWS_EKS_ACCESS_ENTRY as ACCESS_ENTRY
from tenancy.spec.wire import AWS_EKS_ADDON as ADDON
from tenancy.spec.wire import AWS_EKS_CLUSTER as EKS_CLUSTER
from tenancy.spec.wire import AWS_EKS_NODE_GROUP as NODE_GROUP
from tenancy.spec.wire import AWS_EKS_POD_IDENTITY as POD_IDENTITY
from tenancy.spec.wire import AWS_IAM_POLICY as IAM_POLICY
from tenancy.spec.wire import AWS_IAM_ROLE as IAM_ROLE
from tenancy.spec.wire import AWS_IAM_ROLE_POLICY as IAM_ROLE_POLICY
from tenancy.spec.wire import AWS_IAM_ROLE_POLICY_ATTACHMENT as IAM_ATTACHMENT
from tenancy.spec.wire import AWS_VPC_ENDPOINT as VPC_ENDPOINT
from tenancy.spec.wire import EKS_COMPONENT, POOL_LABEL, TIER_LABEL
from tenancy.spec.wire import K8S_CLUSTER_NETWORK_POLICY as CLUSTER_NETWORK_POLICY
from tenancy.spec.wire import K8S_MAP as MAP
from tenancy.spec.wire import K8S_MAP_BINDING as MAP_BINDING
from tenancy.spec.wire import K8S_NAMESPACE as NAMESPACE
from tenancy.spec.wire import K8S_NETWORK_POLICY as NETWORK_POLICY
from tenancy.spec.wire import K8S_SECURITY_GROUP_POLICY as SECURITY_GROUP_POLICY
from tenancy.spec.wire import K8S_VAP as VAP
from tenancy.spec.wire import NAMESPACE_NAME_LABEL as NAME_LABEL
from tenancy.spec.wire import TENANT_LABEL as TENANT_LABEL  # re-exported

ROLE = "kubernetes:rbac.authorization.k8s.io/v1:Role"
CLUSTER_ROLE = "kubernetes:rbac.authorization.k8s.io/v1:ClusterRole"
ROLE_BINDING = "kubernetes:rbac.authorization.k8s.io/v1:RoleBinding"
CLUSTER_ROLE_BINDING = "kubernetes:rbac.authorization.k8s.io/v1:ClusterRoleBinding"
VAP_BINDING = "kubernetes:admissionregistration.k8s.io/v1:ValidatingAdmissionPolicyBinding"

PSA_PREFIX = "pod-security.kubernetes.io/"
PSA_LEVELS = {"privileged": 0, "baseline": 1, "restricted": 2}
"""Pod Security Standards, loosest first. A namespace without an ``enforce`` label gets the
cluster default, which on EKS is ``privileged`` (no AdmissionConfiguration override)."""
INTERNET = "internet"
INTERNET_PROBES = tuple(ipaddress.IPv4Address(a) for a in netpol.INTERNET_PROBES)
"""Public addresses standing for "the internet": an ipBlock admitting any of them opens it."""
PLATFORM_NODES = "platform:nodes"
KUBERNETES_API = "platform:api"
"""The Kubernetes API as pods reach it: the ``kubernetes`` Service's ClusterIP (NetworkPolicy layer)."""
CONTROL_PLANE = "platform:control-plane"
FENCES = frozenset({
    "networkpolicies", "resourcequotas", "limitranges", "namespaces", "validatingadmissionpolicies",
    "validatingadmissionpolicybindings", "peerauthentications", "authorizationpolicies",
    "clusterroles", "clusterrolebindings", "nodes", "securitygrouppolicies", "priorityclasses",
})
"""Resources whose write access lets a persona move its own walls (kubernetes-retired
multi-tenancy benchmarks: "tenants cannot modify their resource quotas / network policies")."""
WRITE_VERBS = frozenset({"create", "update", "patch", "delete", "deletecollection", "*", "escalate", "bind"})
RBAC_RESOURCES = frozenset({"roles", "rolebindings"})
"""What a ``selfService.rbac`` tenant's admins may write (issue 26): not a fence (:data:`FENCES`),
a loosening of the people layer bounded by Kubernetes' escalation prevention and a guard policy."""
ESCALATION_VERBS = frozenset({"escalate", "bind", "impersonate", "*"})
"""Verbs that switch Kubernetes' escalation prevention off (``escalate``, ``bind``:
``pkg/registry/rbac/escalation_check.go``) or act as someone else (``impersonate``)."""

# --------------------------------------------------------------------------------------------
# Small helpers


def _labels(obj: Mapping[str, Any]) -> dict[str, str]:
    return dict(((obj.get("metadata") or {}).get("labels")) or {})


def _ns_of(obj: Mapping[str, Any]) -> str:
    return str((obj.get("metadata") or {}).get("namespace") or "")


def _name_of(obj: Mapping[str, Any]) -> str:
    return str((obj.get("metadata") or {}).get("name") or "")


IP_PROTOCOLS = {"-1": "any", "all": "any", "6": "tcp", "17": "udp", "132": "sctp"}
"""Security group protocols as the NetworkPolicy names them (AWS takes names or IANA numbers;
SCTP only as 132)."""


def _proto(protocol: str) -> str:
    return IP_PROTOCOLS.get(protocol, protocol.lower())


def _fmt_ports(ports: Iterable[Port]) -> list[str]:
    out = []
    for proto, lo, hi in sorted(set(ports)):
        out.append(f"{proto}/{lo}" if lo == hi else f"{proto}/{lo}-{hi}")
    return out


# --------------------------------------------------------------------------------------------
# The model


@dataclass
class IsolationFacts:
    tenants: dict[str, dict[str, Any]] = field(default_factory=dict)
    network: dict[tuple[str, str], dict[str, list[Port] | None]] = field(default_factory=dict)
    s3: dict[tuple[str, str, str, str], list[str]] = field(default_factory=dict)
    """(tenant, role, target tenant, access) → the document resources/prefixes granting it."""
    trust: dict[tuple[str, str], list[str]] = field(default_factory=dict)
    """(tenant, role) → subjects that can assume it (service accounts, ``*`` for anyone)."""
    audiences: dict[tuple[str, str], list[str]] = field(default_factory=dict)
    """(tenant, role) → the ``:aud`` values its web-identity trust requires (``[]``: none, any
    audience) — only for roles trusted through an OIDC provider (IRSA)."""
    rbac: dict[tuple[str, str], frozenset[str]] = field(default_factory=dict)
    """(namespace or ``*`` for cluster-wide, subject) → grants ``group/resource:verb``."""
    subject_tenant: dict[str, str | None] = field(default_factory=dict)
    rbac_bindings: dict[tuple[str, str], list[str]] = field(default_factory=dict)
    """(namespace or ``*``, subject) → URNs of the bindings granting it."""
    placement: dict[str, dict[str, Any]] = field(default_factory=dict)
    policies: dict[str, dict[str, Any]] = field(default_factory=dict)
    enforced: dict[str, dict[str, list[str]]] = field(default_factory=dict)
    pod_security: dict[str, dict[str, str]] = field(default_factory=dict)
    mutating: dict[str, dict[str, Any]] = field(default_factory=dict)
    """MutatingAdmissionPolicies: name -> failurePolicy, scope, the JSON patch expressions."""
    injected: dict[str, list[str]] = field(default_factory=dict)
    """tenant -> the mutating policies bound in its namespace (placement injected, issue 26)."""
    label_dependent: set[tuple[str, str]] = field(default_factory=set)
    """Pairs whose NetworkPolicy connection holds only for pods with particular labels: the facts
    assume some pod of each namespace matches (pod labels are not in a render), an over-approximation
    the review says out loud."""
    logs: LogFacts = field(default_factory=LogFacts)
    """Where each namespace's container logs go and who reads/writes each log group
    (:mod:`tenancy.review.logs_facts`); in :meth:`document` as ``logs`` when there are any."""
    observability: dict[str, Any] = field(default_factory=dict)
    """Metrics agent, endpoints, per-tenant dashboards and saved queries, backup selection
    (:func:`_observability`)."""
    sides: dict[tuple[str, str], dict[str, list[Port]]] = field(default_factory=dict)
    """(tenant, tenant) → each side of each wall on its own: ``securityGroupEgress`` (the source's
    groups let it out towards the destination), ``securityGroupIngress`` (the destination's groups let
    it in), ``networkPolicyEgress``, ``networkPolicyIngress``, and with ``network.tenantNetworkAcls``
    ``networkAclEgress`` / ``networkAclIngress``. A connection needs both sides of every wall
    (:attr:`network`); a side open alone is a latent hole."""

    namespace_labels: dict[str, dict[str, str]] = field(default_factory=dict)
    """Every tenant namespace (main and extra) → its labels."""
    namespace_owner: dict[str, str] = field(default_factory=dict)
    """Every tenant namespace (main and extra) → its tenant."""
    walls: dict[str, dict[str, bool]] = field(default_factory=dict)
    """tenant → ``adminTier``: the Admin-tier ClusterNetworkPolicies deny its namespace every other
    tenant's traffic on every port and its pods IMDS (what lets it own NetworkPolicies safely);
    ``networkPolicyGuard``: an enforced admission policy judges NetworkPolicy deletes in its
    namespace (the guard of the platform's own policies); ``selfService``: a subject bound in its
    namespace may write NetworkPolicies. Only with ClusterNetworkPolicies."""

    def namespace_tenant(self, namespace: str) -> str | None:
        """The tenant owning ``namespace`` (its main or one of its extra namespaces), or None."""
        owner = self.namespace_owner.get(namespace)
        if owner is not None:
            return owner
        for t, info in self.tenants.items():
            if info["namespace"] == namespace:
                return t
        return None

    def tenant_namespaces(self, tenant: str) -> list[str]:
        """Every namespace of ``tenant`` in the render, main one first."""
        info = self.tenants.get(tenant) or {}
        return list(info.get("namespaces") or ([info["namespace"]] if info.get("namespace") else []))

    def open(self, src: str, dst: str) -> bool:
        """Can some pod/node of ``src`` open a connection to ``dst`` through every modelled layer?"""
        layers = self.network.get((src, dst))
        if not layers:
            return False
        modelled = [v for v in layers.values() if v is not None]
        return bool(modelled) and all(modelled)

    def document(self) -> dict[str, Any]:
        return {
            "tenants": {t: self.tenants[t] for t in sorted(self.tenants)},
            "network": [
                {"from": a, "to": b,
                 **{k: (_fmt_ports(v) if v is not None else None) for k, v in sorted(layers.items())},
                 "open": self.open(a, b),
                 **({"sides": {k: _fmt_ports(v) for k, v in sorted(self.sides[(a, b)].items())}}
                    if (a, b) in self.sides else {})}
                for (a, b), layers in sorted(self.network.items())
            ],
            "s3": [{"tenant": t, "role": r, "target": g, "access": a, "resources": res}
                   for (t, r, g, a), res in sorted(self.s3.items())],
            "trust": [{"tenant": t, "role": r, "subjects": s, "audiences": self.audiences.get((t, r))}
                      for (t, r), s in sorted(self.trust.items())],
            "rbac": [{"namespace": ns, "tenant": self.namespace_tenant(ns), "subject": s,
                      "subjectTenant": self.subject_tenant.get(s), "grants": sorted(g)}
                     for (ns, s), g in sorted(self.rbac.items())],
            "placement": {t: self.placement[t] for t in sorted(self.placement)},
            "admission": {"policies": {p: self.policies[p] for p in sorted(self.policies)},
                          "enforced": {t: self.enforced[t] for t in sorted(self.enforced)}},
            "podSecurity": {t: self.pod_security[t] for t in sorted(self.pod_security)},
            **({"logs": self.logs.document()} if self.logs else {}),
            # issue 26; only when present, so renders without them keep their documents
            **({"selfService": {"rbac": {t: s for t, s in sorted(self.rbac_writers().items())}}}
               if self.rbac_writers() else {}),
            **({"mutating": {"policies": {p: self.mutating[p] for p in sorted(self.mutating)},
                             "injected": {t: self.injected[t] for t in sorted(self.injected)}}}
               if self.mutating else {}),
            **({"observability": self.observability} if self.observability else {}),
            **({"walls": {t: self.walls[t] for t in sorted(self.walls)}} if self.walls else {}),
        }

    def rbac_writers(self) -> dict[str, list[str]]:
        """tenant -> the subjects that may write Roles or RoleBindings in its namespace
        (self-service RBAC, issue 26)."""
        out: dict[str, list[str]] = {}
        for (ns, subject), grants in sorted(self.rbac.items()):
            t = self.namespace_tenant(ns) if ns != "*" else self.subject_tenant.get(subject)
            if t is not None and rbac_write_grants(grants):
                out.setdefault(t, []).append(subject)
        return out


def facts_of(resources: Sequence[Mapping[str, Any]]) -> IsolationFacts:
    """The isolation facts of a render (its ``resources`` list)."""
    f = IsolationFacts()
    by_type: dict[str, list[Mapping[str, Any]]] = {}
    for r in resources:
        by_type.setdefault(r["type"], []).append(r)
    tenants = sorted({r["tenant"] for r in resources if r.get("tenant")})
    namespaces: dict[str, dict[str, str]] = {}
    owned: dict[str, list[str]] = {}
    for r in by_type.get(NAMESPACE, []):
        obj = r.get("inputs") or {}
        name = _name_of(obj)
        labels = {NAME_LABEL: name, **_labels(obj)}
        namespaces[name] = labels
        if r.get("tenant"):
            owned.setdefault(r["tenant"], []).append(name)
            f.namespace_labels[name] = labels
            f.namespace_owner[name] = r["tenant"]
    for t, names in owned.items():  # the main namespace is the tenant's name (naming.namespace)
        names[:] = sorted(names, key=functools.partial(_not_main, str(t)))
        main = names[0]
        f.tenants[t] = {"namespace": main, "labels": namespaces[main], **({"namespaces": names} if len(names) > 1
                                                                          else {})}
        f.pod_security[t] = {k[len(PSA_PREFIX):]: v for k, v in sorted(namespaces[main].items())
                             if k.startswith(PSA_PREFIX)}
    for t in tenants:
        f.tenants.setdefault(t, {"namespace": None, "labels": {}})
    _network(f, resources, by_type, tenants, namespaces)
    _iam(f, by_type, tenants)
    _rbac(f, by_type)
    _placement(f, by_type, tenants)
    _admission(f, by_type)
    f.logs = log_facts(resources, role_documents(by_type)[0],
                       {ns: t for t in f.tenants for ns in f.tenant_namespaces(t)})  # extra namespaces too
    _mutating(f, by_type)
    _observability(f, by_type)
    _walls(f, by_type)
    return f


IMDS = "169.254.169.254/32"
_STRANGER = "tenancy-facts-stranger"
"""A namespace (and tenant) no render has: the probe for "every other tenant"."""


def _walls(f: IsolationFacts, by_type: Mapping[str, list[Mapping[str, Any]]]) -> None:
    """Per tenant: is it behind the Admin tier, and are NetworkPolicy deletes in its namespace
    judged by an enforced admission policy? (``IsolationFacts.walls``)"""
    cnps = [r["inputs"] for r in by_type.get(CLUSTER_NETWORK_POLICY, [])
            if isinstance((r.get("inputs") or {}).get("spec"), Mapping)]
    if not cnps:
        return
    cluster = tiers.Index(cnps)
    stranger = netpol.Endpoint(_STRANGER, {NAME_LABEL: _STRANGER, TENANT_LABEL: _STRANGER}, None)
    guards = {name for name, p in f.policies.items()
              if any("networkpolicies" in (r.get("resources") or []) and "DELETE" in (r.get("operations") or [])
                     for r in (p.get("scope") or {}).get("resourceRules") or [])}
    for t, info in f.tenants.items():
        if not info["namespace"]:
            continue
        pod = netpol.Endpoint(info["namespace"], info["labels"], None)
        walled = (not tiers.admin_admits(cluster, pod, "Ingress", stranger)
                  and not tiers.admin_admits(cluster, pod, "Egress", netpol.Endpoint(networks=(IMDS,))))
        guarded = any("Deny" in acts for p, acts in (f.enforced.get(t) or {}).items() if p in guards)
        own = any(g.rpartition(":")[0].split("/", 1)[-1] == "networkpolicies"
                  for (ns, _), grants in f.rbac.items() if ns == info["namespace"] for g in fence_grants(grants))
        f.walls[t] = {"adminTier": walled, "networkPolicyGuard": guarded, "selfService": own}


def covers_pod_create(scope: Mapping[str, Any]) -> bool:
    """Does an admission policy's ``matchConstraints`` take in pod creation?"""
    for rr in scope.get("resourceRules") or []:
        if ("" in (rr.get("apiGroups") or []) or "*" in (rr.get("apiGroups") or [])) and \
                any(r in ("pods", "*") for r in rr.get("resources") or []) and \
                any(o in ("CREATE", "*") for o in rr.get("operations") or []):
            return True
    return False


def pods_pinned(f: IsolationFacts, tenant: str) -> bool:
    """Is pod creation in ``tenant``'s namespace judged by an admission policy bound with Deny (the
    placement policy pinning its pods to its nodes: ``tenant-placement-enforced``)?"""
    return any("Deny" in acts and covers_pod_create(f.policies[p]["scope"])
               for p, acts in (f.enforced.get(tenant) or {}).items() if p in f.policies)


def walled(f: IsolationFacts, tenant: str) -> bool:
    """Behind the Admin tier with the platform's NetworkPolicies guarded: the tenant's own
    NetworkPolicies cannot open a cross-tenant path (issue 26)."""
    w = f.walls.get(tenant) or {}
    return bool(w.get("adminTier") and w.get("networkPolicyGuard"))


def owns_network_policies(f: IsolationFacts, tenant: str) -> bool:
    """A walled tenant whose people write NetworkPolicies: its NetworkPolicy side of a wall is its own."""
    return walled(f, tenant) and bool((f.walls.get(tenant) or {}).get("selfService"))


# --------------------------------------------------------------------------------------------
# Network


def _sg_endpoints(resources: Sequence[Mapping[str, Any]], by_type: Mapping[str, list[Mapping[str, Any]]],
                  tenants: Sequence[str]) -> list[sg.Machines]:
    by_tenant: dict[str | None, list[Mapping[str, Any]]] = {}
    for r in resources:
        by_tenant.setdefault(r.get("tenant"), []).append(r)
    pools = sg.pools_cidrs(resources)
    out = [sg.tenant_machines(resources, t, mine=by_tenant.get(t, []), pools=pools) for t in tenants]
    out.append(sg.tenant_machines(resources, None, name=PLATFORM_NODES, mine=by_tenant.get(None, [])))
    cp: set[str] = set()
    for r in by_type.get(EKS_COMPONENT, []):
        i = r.get("inputs") or {}
        if i.get("clusterSecurityGroup"):
            cp.add(str(i["clusterSecurityGroup"]))
    for r in by_type.get(EKS_CLUSTER, []):
        cp |= {str(g) for g in ((r.get("inputs") or {}).get("vpcConfig") or {}).get("securityGroupIds") or []}
    if cp:
        out.append(sg.Machines(CONTROL_PLANE, frozenset(cp), ()))
    return [m for m in out if m.groups]


@dataclass
class _Ep:
    """A NetworkPolicy endpoint of the facts: a namespace (some pod of it, labels unknown, with
    its tenant's addresses) or the internet (the probe addresses)."""

    name: str
    ep: netpol.Endpoint


def _network(f: IsolationFacts, resources: Sequence[Mapping[str, Any]],
             by_type: Mapping[str, list[Mapping[str, Any]]], tenants: Sequence[str],
             namespaces: Mapping[str, dict[str, str]]) -> None:
    # Security groups
    index = sg.RuleIndex(sg.rules_of(resources))
    acls, acl_rules = sg.network_acls(resources)
    machines = _sg_endpoints(resources, by_type, tenants)
    tset = set(tenants)
    for a in machines:
        for b in machines:
            if a.name == b.name or (a.name not in tset and b.name not in tset):
                continue
            ports = [(_proto(p), lo, hi) for p, lo, hi, *_ in index.allowed(a, b)]
            f.network.setdefault((a.name, b.name), {})["securityGroup"] = sorted(set(ports))
            if a.name in tset and b.name in tset:  # each side of a wall between two tenants, on its own
                out_side, in_side = index.sides(a, b)
                sides = f.sides.setdefault((a.name, b.name), {})
                sides.update({"securityGroupEgress": _norm(out_side), "securityGroupIngress": _norm(in_side)})
                if a.name in acls and b.name in acls:  # network ACLs (network.tenantNetworkAcls)
                    sides["networkAclEgress"] = _norm(sg.acl_side(acl_rules, acls[a.name], True, b.cidrs))
                    sides["networkAclIngress"] = _norm(sg.acl_side(acl_rules, acls[b.name], False, a.cidrs))
    # ... and to the internet: only the source's egress rules apply (nothing of ours guards the far end)
    probes = sg.Machines(INTERNET, frozenset(), tuple(ipaddress.IPv4Network(a) for a in INTERNET_PROBES))
    for a in machines:
        if a.name in tset:
            egress = [r for g in sorted(a.groups) for r in index.egress.get(g, ()) if sg.matches(r, probes)]
            f.network.setdefault((a.name, INTERNET), {})["securityGroup"] = sorted(
                {(_proto(r.protocol), r.from_port, r.to_port) for r in egress})
    # NetworkPolicies
    policies: dict[str, list[Mapping[str, Any]]] = {}
    named: set[str] = set()
    for r in by_type.get(NETWORK_POLICY, []):
        obj = r.get("inputs") or {}
        policies.setdefault(_ns_of(obj), []).append(obj)
        spec = obj.get("spec") or {}
        for rule in [*(spec.get("ingress") or []), *(spec.get("egress") or [])]:
            for peer in [*(rule.get("from") or []), *(rule.get("to") or [])]:
                sel = peer.get("namespaceSelector") or {}
                if (sel.get("matchLabels") or {}).get(NAME_LABEL):
                    named.add(sel["matchLabels"][NAME_LABEL])
    cidrs = {m.name: m.cidrs for m in machines}
    eps: list[_Ep] = []
    ns_tenant = {**{info["namespace"]: t for t, info in f.tenants.items() if info["namespace"]},
                 **f.namespace_owner}  # every namespace of a tenant is that tenant's endpoint
    for ns in sorted(set(namespaces) | named | set(policies)):
        t = ns_tenant.get(ns)
        labels = namespaces.get(ns) or {NAME_LABEL: ns}
        addresses = tuple(str(c) for c in (cidrs.get(t, ()) if t else ()))
        eps.append(_Ep(t or ns, netpol.Endpoint(ns, labels, None, addresses)))
    eps.append(_Ep(INTERNET, netpol.Endpoint(networks=tuple(f"{a}/32" for a in netpol.INTERNET_PROBES))))
    api = _kubernetes_service_ip(by_type)
    if api is not None:  # the API through its in-cluster Service (what kubernetesApiAccess opens)
        eps.append(_Ep(KUBERNETES_API, netpol.Endpoint(networks=(f"{api}/32",))))
    bare_open: set[tuple[str, str]] = set()
    # ClusterNetworkPolicies (issue 26): with any, the NetworkPolicy layer is judged in the tier model
    # (Admin, then the NetworkPolicies, then Baseline: tenancy.review.tiers), so tenant-owned policies
    # cannot open what an Admin policy denies.
    cnps = [r["inputs"] for r in by_type.get(CLUSTER_NETWORK_POLICY, [])
            if isinstance((r.get("inputs") or {}).get("spec"), Mapping)]
    cluster = tiers.Index(cnps) if cnps else None

    def conn(s: netpol.Endpoint, d: netpol.Endpoint) -> list[Port]:
        if cluster is None:
            return netpol.connection(policies.get(s.namespace or "", []), s, policies.get(d.namespace or "", []), d)
        return tiers.connection(cluster, policies, s, d)

    def sides_of(s: netpol.Endpoint, d: netpol.Endpoint) -> tuple[list[Port], list[Port]]:
        """The NetworkPolicy layer's egress of ``s`` to ``d`` and ingress of ``d`` from ``s``."""
        return ((list(netpol.ANY) if s.namespace is None else
                 netpol.allowed(policies.get(s.namespace, []), s, "egress", d)),
                (list(netpol.ANY) if d.namespace is None else
                 netpol.allowed(policies.get(d.namespace, []), d, "ingress", s)))

    for src in eps:
        for dst in eps:
            if src.name == dst.name or (src.name not in tset and dst.name not in tset):
                continue
            # A tenant with extra namespaces is one endpoint per namespace under the tenant's name:
            # what each pair of namespaces allows is united ("some pod of A reaches some pod of B").
            np_sides = sides_of(src.ep, dst.ep) if cluster is None or (src.name in tset and dst.name in tset) else None
            admin_in = (tiers.admin_admits(cluster, dst.ep, "Ingress", src.ep)
                        if cluster is not None and dst.ep.namespace is not None else None)
            if cluster is None:  # the same two directions netpol.connection would compute again
                assert np_sides is not None
                ports = netpol.intersect(*np_sides)
            elif admin_in == []:  # the destination's Admin tier denies every port: nothing below decides
                ports = []
            else:
                ports = conn(src.ep, dst.ep)
            layers = f.network.setdefault((src.name, dst.name), {})
            layers["networkPolicy"] = _union(layers.get("networkPolicy"), ports)
            if ports and (src.ep.namespace or dst.ep.namespace):
                # Sound, not precise: some pod of each namespace MAY match the selectors. Would pods
                # without labels connect too? If not, the opening needs particular pod labels.
                bare_src = replace(src.ep, pod_labels={}) if src.ep.namespace else src.ep
                bare_dst = replace(dst.ep, pod_labels={}) if dst.ep.namespace else dst.ep
                if not conn(bare_src, bare_dst):
                    f.label_dependent.add((src.name, dst.name))
                else:
                    bare_open.add((src.name, dst.name))
            if src.name in tset and dst.name in tset:
                assert np_sides is not None
                sides = f.sides.setdefault((src.name, dst.name), {})
                sides["networkPolicyEgress"] = _union(sides.get("networkPolicyEgress"), np_sides[0])
                sides["networkPolicyIngress"] = _union(sides.get("networkPolicyIngress"), np_sides[1])
                if admin_in is not None:
                    # The Admin wall at the destination, on its own: a loosened Admin policy shows. (Its
                    # egress side passes every tenant namespace by design — the destination's wall
                    # decides — so it is no side of a wall; IMDS and the rest: ``walls``.)
                    sides["adminTierIngress"] = _union(sides.get("adminTierIngress"), admin_in)
    f.label_dependent -= bare_open


def _kubernetes_service_ip(by_type: Mapping[str, list[Mapping[str, Any]]]) -> str | None:
    """The ``kubernetes`` Service's ClusterIP: the first address of the cluster's service range
    (kube-apiserver ``--service-cluster-ip-range``; EKS: ``kubernetesNetworkConfig.serviceIpv4Cidr``)."""
    for r in by_type.get(EKS_COMPONENT, []):
        cidr = (r.get("inputs") or {}).get("kubernetesServiceIpAddressRange")
        if cidr:
            return str(ipaddress.ip_network(str(cidr), strict=False).network_address + 1)
    for r in by_type.get(EKS_CLUSTER, []):
        cidr = ((r.get("inputs") or {}).get("kubernetesNetworkConfig") or {}).get("serviceIpv4Cidr")
        if cidr:
            return str(ipaddress.ip_network(str(cidr), strict=False).network_address + 1)
    return None


def _not_main(main: str, ns: str) -> tuple[bool, str]:
    """Sort key: the tenant's main namespace (its name) first, then the others by name."""
    return ns != main, ns


def _union(a: list[Port] | None, b: list[Port]) -> list[Port]:
    """Ports of two namespace pairs of the same tenants together (``a`` None: the first pair)."""
    return list(b) if a is None else sorted(set(a) | set(b))


def _norm(ports: Iterable[tuple[str, int, int]]) -> list[Port]:
    return sorted({(_proto(p), lo, hi) for p, lo, hi in ports})


# --------------------------------------------------------------------------------------------
# IAM


def _doc(value: Any) -> dict[str, Any]:
    if isinstance(value, dict):
        return value
    try:
        d = json.loads(str(value))
    except (TypeError, ValueError):
        return {}
    return d if isinstance(d, dict) else {}


def _list(v: Any) -> list[Any]:
    return v if isinstance(v, list) else [] if v is None else [v]


def _iam_match(pattern: str, value: str) -> bool:
    """IAM wildcards: ``*`` any run of characters, ``?`` one (fnmatch's, without ``[...]``)."""
    return fnmatch.fnmatchcase(value, pattern.replace("[", "[[]"))


def _s3_grants(doc: Mapping[str, Any]) -> list[tuple[str, str]]:
    """(access, resource-or-prefix pattern) of every Allow statement on S3 in a policy document:
    ``objects`` for object ARNs (``arn:aws:s3:::bucket/key``), ``list`` for ``s3:prefix``
    conditions on bucket listing (or the whole bucket when the condition is absent)."""
    out = []
    for st in _list(doc.get("Statement")):
        if not isinstance(st, dict) or st.get("Effect") != "Allow":
            continue
        actions = [str(a) for a in _list(st.get("Action"))]
        if not any(a == "*" or a.lower().startswith("s3:") for a in actions):
            continue
        for res in (str(x) for x in _list(st.get("Resource"))):
            if res == "*" or res.startswith("arn:aws") and ":s3:::" in res and "/" in res:
                out.append(("objects", res))
            elif ":s3:::" in res:
                prefixes: list[str] = []
                for cond in (st.get("Condition") or {}).values():
                    if isinstance(cond, dict):
                        prefixes += [str(p) for p in _list(cond.get("s3:prefix"))]
                bucket = res.split(":s3:::", 1)[1]
                out += [("list", f"{bucket}/{p}") for p in prefixes] or [("list", f"{bucket}/*")]
    return out


def role_documents(by_type: Mapping[str, list[Mapping[str, Any]]]) -> tuple[dict[str, list[dict[str, Any]]],
                                                                             dict[str, list[str]]]:
    """Per IAM role (by URN): the permission documents it holds (inline, ``RolePolicy`` and
    attached managed policies), and the service accounts (``system:serviceaccount:<ns>:<name>``)
    its EKS Pod Identity associations name."""
    roles = {}
    for r in by_type.get(IAM_ROLE, []):
        keys = {str(r.get("id")), str((r.get("inputs") or {}).get("name")), str((r.get("outputs") or {}).get("arn"))}
        roles.update({k: r for k in keys if k and k != "None"})
    docs: dict[str, list[dict[str, Any]]] = {}
    for r in by_type.get(IAM_ROLE, []):
        docs[r["urn"]] = [_doc(p.get("policy")) for p in (r.get("inputs") or {}).get("inlinePolicies") or []]
    for r in by_type.get(IAM_ROLE_POLICY, []):
        role = roles.get(str((r.get("inputs") or {}).get("role")))
        if role is not None:
            docs[role["urn"]].append(_doc((r.get("inputs") or {}).get("policy")))
    managed = {str((p.get("outputs") or {}).get("arn")): _doc((p.get("inputs") or {}).get("policy"))
               for p in by_type.get(IAM_POLICY, [])}
    for r in by_type.get(IAM_ATTACHMENT, []):
        role = roles.get(str((r.get("inputs") or {}).get("role")))
        doc = managed.get(str((r.get("inputs") or {}).get("policyArn")))
        if role is not None and doc is not None:
            docs[role["urn"]].append(doc)
    pod_identity: dict[str, list[str]] = {}
    for r in by_type.get(POD_IDENTITY, []):
        i = r.get("inputs") or {}
        role = roles.get(str(i.get("roleArn")))
        if role is not None:
            pod_identity.setdefault(role["urn"], []).append(
                f"system:serviceaccount:{i.get('namespace')}:{i.get('serviceAccount')}")
    return docs, pod_identity


def _iam(f: IsolationFacts, by_type: Mapping[str, list[Mapping[str, Any]]], tenants: Sequence[str]) -> None:
    docs, pod_identity = role_documents(by_type)
    for r in by_type.get(IAM_ROLE, []):
        owner = r.get("tenant") or "platform"
        name = str((r.get("inputs") or {}).get("name") or r["name"])
        grants = [g for d in docs[r["urn"]] for g in _s3_grants(d)]
        trust_doc = _doc((r.get("inputs") or {}).get("assumeRolePolicy"))
        subjects = trust_subjects(trust_doc)
        auds = _trust_audiences(trust_doc)
        if auds is not None:
            f.audiences[(owner, name)] = auds
        if pod_identity.get(r["urn"]):
            subjects = sorted(set(s for s in subjects if s != "pods.eks.amazonaws.com") | set(pod_identity[r["urn"]]))
        if subjects:
            f.trust[(owner, name)] = subjects
        for access, pattern in grants:
            for target in tenants:
                probe = tenant_s3_prefix(target) + "probe"
                if access == "objects":
                    hit = pattern == "*" or _iam_match(pattern.split(":s3:::", 1)[-1].split("/", 1)[-1], probe)
                else:
                    hit = _iam_match(pattern.split("/", 1)[-1], probe) or _iam_match(
                        pattern.split("/", 1)[-1], tenant_s3_prefix(target))
                if hit:
                    f.s3.setdefault((owner, name, target, access), []).append(pattern)
    for k in f.s3:
        f.s3[k] = sorted(set(f.s3[k]))


def _trust_audiences(doc: Mapping[str, Any]) -> list[str] | None:
    """The ``:aud`` values required by web-identity statements; None without such statements."""
    found: list[str] | None = None
    for st in _list(doc.get("Statement")):
        if isinstance(st, dict) and st.get("Effect") == "Allow" and isinstance(st.get("Principal"), dict) \
                and st["Principal"].get("Federated"):
            found = found or []
            for cond in (st.get("Condition") or {}).values():
                if isinstance(cond, dict):
                    found += [str(v) for k, v0 in cond.items() if k.endswith(":aud") for v in _list(v0)]
    return sorted(set(found)) if found is not None else None


def trust_subjects(doc: Mapping[str, Any]) -> list[str]:
    """Who may assume a role: the ``:sub`` values of web-identity statements (a missing ``sub``
    condition means any service account of the provider: ``system:serviceaccount:*``), Pod
    Identity's service principal, other AWS principals verbatim. Service principals of AWS
    services (``ec2.amazonaws.com``) are listed as such."""
    out: set[str] = set()
    for st in _list(doc.get("Statement")):
        if not isinstance(st, dict) or st.get("Effect") != "Allow":
            continue
        principal = st.get("Principal") or {}
        if principal == "*":
            out.add("*")
            continue
        if isinstance(principal, dict) and principal.get("Federated"):
            subs = []
            for cond in (st.get("Condition") or {}).values():
                if isinstance(cond, dict):
                    subs += [str(v) for k, v0 in cond.items() if k.endswith(":sub") for v in _list(v0)]
            out |= set(subs) or {"system:serviceaccount:*"}
        elif isinstance(principal, dict):
            for v in _list(principal.get("Service")) + _list(principal.get("AWS")):
                out.add(str(v))
    return sorted(out)


# --------------------------------------------------------------------------------------------
# RBAC


def _grants(rules: Iterable[Mapping[str, Any]]) -> frozenset[str]:
    out = set()
    for rule in rules:
        for g in rule.get("apiGroups") or [""]:
            for res in rule.get("resources") or []:
                for v in rule.get("verbs") or []:
                    out.add(f"{g or 'core'}/{res}:{v}")
        for url in rule.get("nonResourceURLs") or []:
            for v in rule.get("verbs") or []:
                out.add(f"url{url}:{v}")
    return frozenset(out)


def _subject(s: Mapping[str, Any], ns: str) -> str:
    kind = s.get("kind")
    if kind == "ServiceAccount":
        return f"ServiceAccount:{s.get('namespace') or ns}/{s.get('name')}"
    return f"{kind}:{s.get('name')}"


def _rbac(f: IsolationFacts, by_type: Mapping[str, list[Mapping[str, Any]]]) -> None:
    roles = {(_ns_of(r["inputs"]), _name_of(r["inputs"])): _grants(r["inputs"].get("rules") or [])
             for r in by_type.get(ROLE, []) if r.get("inputs")}
    croles = {_name_of(r["inputs"]): _grants(r["inputs"].get("rules") or [])
              for r in by_type.get(CLUSTER_ROLE, []) if r.get("inputs")}
    for typ in (ROLE_BINDING, CLUSTER_ROLE_BINDING):
        for r in by_type.get(typ, []):
            obj = r.get("inputs") or {}
            ns = _ns_of(obj) if typ == ROLE_BINDING else "*"
            ref = obj.get("roleRef") or {}
            grants = (roles.get((ns, str(ref.get("name")))) if ref.get("kind") == "Role"
                      else croles.get(str(ref.get("name"))))
            if grants is None:  # a role the render does not hold (built-in ClusterRole): by name
                grants = frozenset({f"{ref.get('kind')}:{ref.get('name')}"})
            for s in obj.get("subjects") or []:
                key = (ns, _subject(s, ns))
                f.rbac[key] = f.rbac.get(key, frozenset()) | grants
                f.rbac_bindings.setdefault(key, []).append(r["urn"])
    groups: dict[str, str | None] = {}
    for r in by_type.get(ACCESS_ENTRY, []):
        for g in (r.get("inputs") or {}).get("kubernetesGroups") or []:
            groups[f"Group:{g}"] = r.get("tenant")
    for _, subject in f.rbac:
        if subject.startswith("ServiceAccount:"):
            f.subject_tenant[subject] = f.namespace_tenant(subject.split(":", 1)[1].split("/")[0])
        else:
            f.subject_tenant[subject] = groups.get(subject)


def _grant_parts(g: str) -> tuple[str, str, str]:
    """``group/resource[/sub]:verb`` -> (group, resource, verb)."""
    res, _, verb = g.rpartition(":")
    group, _, rest = res.partition("/")
    return group, rest.split("/")[0], verb


def rbac_write_grants(grants: Iterable[str]) -> list[str]:
    """The grants that write Roles or RoleBindings (:data:`RBAC_RESOURCES`)."""
    out = []
    for g in grants:
        group, resource, verb = _grant_parts(g)
        if group in ("rbac.authorization.k8s.io", "*") and resource in (*RBAC_RESOURCES, "*") and verb in WRITE_VERBS:
            out.append(g)
    return sorted(out)


def escalation_grants(grants: Iterable[str]) -> list[str]:
    """The grants that lift escalation prevention or impersonate (:data:`ESCALATION_VERBS`),
    whatever the resource."""
    return sorted(g for g in grants if _grant_parts(g)[2] in ESCALATION_VERBS and not g.startswith("url"))


def writers(f: IsolationFacts, resources: Iterable[str]) -> set[str]:
    """The tenants something of which may write one of ``resources`` in their namespaces, by the
    render's RBAC: any subject bound in one of a tenant's namespaces (its persona groups, its
    ServiceAccounts, whoever else the render binds there), or a subject of the tenant bound
    cluster-wide. A role the render does not hold (a built-in ClusterRole bound by name) may
    write anything: the conservative answer. One pass over the bindings, whatever the tenant
    count. An admission policy judging only these writes stops nothing for the other tenants
    (:mod:`tenancy.review.diff`)."""
    wanted = set(resources)
    out: set[str] = set()
    for (ns, subject), grants in f.rbac.items():
        t = f.subject_tenant.get(subject) if ns == "*" else f.namespace_tenant(ns)
        if t is None or t in out:
            continue
        for g in grants:
            _, resource, verb = _grant_parts(g)
            if g.startswith(("ClusterRole:", "Role:")) or (verb in WRITE_VERBS and resource in (*wanted, "*")):
                out.add(t)
                break
    return out


def fence_grants(grants: Iterable[str]) -> list[str]:
    """The grants that write a fence (:data:`FENCES`)."""
    out = []
    for g in grants:
        res, _, verb = g.rpartition(":")
        resource = res.split("/", 1)[-1].split("/")[0]
        if verb in WRITE_VERBS and (resource in FENCES or resource == "*"):
            out.append(g)
    return sorted(out)


# --------------------------------------------------------------------------------------------
# Placement and admission


def _placement(f: IsolationFacts, by_type: Mapping[str, list[Mapping[str, Any]]], tenants: Sequence[str]) -> None:
    for r in by_type.get(NODE_GROUP, []):
        t = r.get("tenant")
        if not t:
            continue
        i = r.get("inputs") or {}
        p = f.placement.setdefault(t, {"taints": [], "labels": {}, "nodeGroups": 0})
        p["nodeGroups"] += 1
        taints = {f"{x.get('key')}={x.get('value', '')}:{x.get('effect')}" for x in i.get("taints") or []}
        # A taint counts only if EVERY node group of the tenant carries it.
        p["taints"] = sorted(taints if p["nodeGroups"] == 1 else set(p["taints"]) & taints)
        labels = {str(k): str(v) for k, v in (i.get("labels") or {}).items()}
        p["labels"] = labels if p["nodeGroups"] == 1 else {k: v for k, v in p["labels"].items() if labels.get(k) == v}
    _pooled_placement(f, by_type)


def _pooled_placement(f: IsolationFacts, by_type: Mapping[str, list[Mapping[str, Any]]]) -> None:
    """Tiers (namespace label ``tenancy/tier``) of every tenant with a placement, and the placement
    of POOLED tenants (namespace label ``tenancy/pool``): their pool's node groups (no tenant,
    labelled or tagged ``tenancy/pool=<pool>``), and the groups their SecurityGroupPolicies put on
    every pod (empty podSelector)."""
    pools: dict[str, dict[str, Any]] = {}
    for r in by_type.get(NODE_GROUP, []):
        i = r.get("inputs") or {}
        pool = (i.get("labels") or {}).get(POOL_LABEL) or (i.get("tags") or {}).get(POOL_LABEL)
        if r.get("tenant") or not pool:
            continue
        p = pools.setdefault(str(pool), {"taints": [], "labels": {}, "nodeGroups": 0})
        p["nodeGroups"] += 1
        taints = {f"{x.get('key')}={x.get('value', '')}:{x.get('effect')}" for x in i.get("taints") or []}
        p["taints"] = sorted(taints if p["nodeGroups"] == 1 else set(p["taints"]) & taints)
        labels = {str(k): str(v) for k, v in (i.get("labels") or {}).items()}
        p["labels"] = labels if p["nodeGroups"] == 1 else {k: v for k, v in p["labels"].items() if labels.get(k) == v}
    sgp_groups: dict[str, set[str]] = {}
    for r in by_type.get(SECURITY_GROUP_POLICY, []):
        obj = r.get("inputs") or {}
        spec = obj.get("spec") or {}
        sel = spec.get("podSelector")
        owner = r.get("tenant") or f.namespace_tenant(_ns_of(obj))  # live extras carry no tenant
        if owner and netpol.selects_everything(sel) and not spec.get("serviceAccountSelector"):
            sgp_groups.setdefault(str(owner), set()).update(
                str(g) for g in (spec.get("securityGroups") or {}).get("groupIds") or [])
    for t, info in f.tenants.items():
        labels = info["labels"]
        pool = labels.get(POOL_LABEL)
        if pool:
            shared = pools.get(pool, {"taints": [], "labels": {}, "nodeGroups": 0})
            f.placement[t] = {**{k: (list(v) if isinstance(v, list) else dict(v) if isinstance(v, dict) else v)
                                 for k, v in shared.items()}, "pool": pool}
        if t in sgp_groups:
            f.placement.setdefault(t, {"taints": [], "labels": {}, "nodeGroups": 0})["podSecurityGroups"] = sorted(
                sgp_groups[t])
        if labels.get(TIER_LABEL) and t in f.placement:
            f.placement[t]["tier"] = labels[TIER_LABEL]


def _admission(f: IsolationFacts, by_type: Mapping[str, list[Mapping[str, Any]]]) -> None:
    vaps = {}
    for r in by_type.get(VAP, []):
        obj = r.get("inputs") or {}
        spec = obj.get("spec") or {}
        name = _name_of(obj)
        vaps[name] = spec
        f.policies[name] = {
            "failurePolicy": spec.get("failurePolicy", "Fail"),
            "validations": sorted(str(v.get("expression")) for v in spec.get("validations") or []),
            "matchConditions": sorted(str(c.get("expression")) for c in spec.get("matchConditions") or []),
            "scope": spec.get("matchConstraints") or {},
        }
    for r in by_type.get(VAP_BINDING, []):
        spec = (r.get("inputs") or {}).get("spec") or {}
        policy = str(spec.get("policyName"))
        pspec = vaps.get(policy)
        if pspec is None:
            continue
        p_sel = (pspec.get("matchConstraints") or {}).get("namespaceSelector", {})
        b_sel = (spec.get("matchResources") or {}).get("namespaceSelector", {})
        for t, info in f.tenants.items():
            # Enforced for a tenant only when it covers EVERY namespace of the tenant.
            every = [f.namespace_labels.get(ns, info["labels"]) for ns in f.tenant_namespaces(t)]
            if every and all(selector_matches(p_sel, lb) and selector_matches(b_sel, lb) for lb in every):
                acts = f.enforced.setdefault(t, {}).setdefault(policy, [])
                acts[:] = sorted(set(acts) | set(spec.get("validationActions") or []))


def _mutating(f: IsolationFacts, by_type: Mapping[str, list[Mapping[str, Any]]]) -> None:
    """MutatingAdmissionPolicies and the tenant namespaces their bindings apply to (issue 26: the
    placement a pod leaves out is injected; the validating policy stays the judge)."""
    maps = {}
    for r in by_type.get(MAP, []):
        obj = r.get("inputs") or {}
        spec = obj.get("spec") or {}
        name = _name_of(obj)
        maps[name] = spec
        f.mutating[name] = {
            "failurePolicy": spec.get("failurePolicy", "Fail"),
            "scope": spec.get("matchConstraints") or {},
            "mutations": sorted(str((m.get("jsonPatch") or m.get("applyConfiguration") or {}).get("expression"))
                                for m in spec.get("mutations") or []),
        }
    for r in by_type.get(MAP_BINDING, []):
        spec = (r.get("inputs") or {}).get("spec") or {}
        policy = str(spec.get("policyName"))
        pspec = maps.get(policy)
        if pspec is None:
            continue
        p_sel = (pspec.get("matchConstraints") or {}).get("namespaceSelector", {})
        b_sel = (spec.get("matchResources") or {}).get("namespaceSelector", {})
        for t, info in f.tenants.items():
            labels = info["labels"]
            if info["namespace"] and selector_matches(p_sel, labels) and selector_matches(b_sel, labels):
                f.injected[t] = sorted({*f.injected.get(t, []), policy})
# --------------------------------------------------------------------------------------------
# Observability (tenancy.plan.observability): read from the objects, never from names

_AUDIT_NAMESPACES = re.compile(r"objectRef\.namespace in \[([^\]]*)\]")
_FLOW_DESTINATION = re.compile(r'isIpv4InSubnet\(pkt_dstaddr, "([^"]+)"\)')


def _observability(f: IsolationFacts, by_type: Mapping[str, list[Mapping[str, Any]]]) -> None:
    docs, _ = role_documents(by_type)
    roles = {str((r.get("outputs") or {}).get("arn")): r for r in by_type.get(IAM_ROLE, [])}
    attached: dict[str, list[str]] = {}
    for a in by_type.get(IAM_ATTACHMENT, []):
        i = a.get("inputs") or {}
        attached.setdefault(str(i.get("role")), []).append(str(i.get("policyArn")))
    agent = None
    for addon in by_type.get(ADDON, []):
        i = addon.get("inputs") or {}
        if i.get("addonName") != METRICS_ADDON:
            continue
        arns = [str(i.get("serviceAccountRoleArn")),
                *[str(p.get("roleArn")) for p in i.get("podIdentityAssociations") or []]]
        mine = [roles[a] for a in arns if a in roles]
        config = _doc(i.get("configurationValues"))
        agent = {
            "roles": sorted(str((r.get("inputs") or {}).get("name")) for r in mine),
            "policies": sorted(p for r in mine for p in attached.get(str((r.get("inputs") or {}).get("name")), [])),
            "actions": sorted({str(act) for r in mine for d in docs.get(r["urn"], [])
                               for st in _list(d.get("Statement")) for act in _list(st.get("Action"))}),
            "tolerateAll": any(t.get("operator") == "Exists" and not t.get("key") and not t.get("effect")
                               for t in config.get("tolerations") or []),
            "containerLogs": bool((config.get("containerLogs") or {}).get("enabled", True)),
        }
    endpoints = sorted({str((e.get("inputs") or {}).get("serviceName", "")).split(".", 3)[-1]
                        for e in by_type.get(VPC_ENDPOINT, [])
                        if (e.get("inputs") or {}).get("vpcEndpointType") == "Interface"})
    dashboards: dict[str, list[str]] = {}
    for d in by_type.get(DASHBOARD, []):
        body = _doc((d.get("inputs") or {}).get("dashboardBody"))
        names = {str(m[i + 1]) for w in body.get("widgets") or []
                 for m in (w.get("properties") or {}).get("metrics") or []
                 for i in range(2, len(m) - 1, 2) if m[i] == "Namespace"}
        dashboards[str(d.get("tenant") or "platform")] = sorted(names)
    queries: dict[str, list[dict[str, Any]]] = {}
    for q in by_type.get(QUERY_DEFINITION, []):
        i = q.get("inputs") or {}
        text = str(i.get("queryString") or "")
        m = _AUDIT_NAMESPACES.search(text)
        queries.setdefault(str(q.get("tenant") or "platform"), []).append({
            "name": i.get("name"), "logGroups": sorted(i.get("logGroupNames") or []),
            "namespaces": sorted(json.loads(f"[{m.group(1)}]")) if m else [],
            "blocks": sorted(_FLOW_DESTINATION.findall(text))})
    for v in queries.values():
        v.sort(key=lambda x: str(x["name"]))
    backup = None
    selections = by_type.get(BACKUP_SELECTION, [])
    if selections or by_type.get(BACKUP_VAULT):
        trusts = [trust_subjects(_doc((roles[str((s.get("inputs") or {}).get("iamRoleArn"))].get("inputs") or {})
                                      .get("assumeRolePolicy")))
                  for s in selections if str((s.get("inputs") or {}).get("iamRoleArn")) in roles]
        backup = {"selection": sorted(str(x) for s in selections
                                       for x in (s.get("inputs") or {}).get("resources") or []),
                  "encrypted": all((v.get("inputs") or {}).get("kmsKeyArn") for v in by_type.get(BACKUP_VAULT, [])),
                  "trust": sorted({x for t in trusts for x in t})}
    if agent or dashboards or queries or backup:
        f.observability = {"agent": agent, "endpoints": endpoints, "dashboards": dashboards,
                           "queries": queries, "backup": backup}
