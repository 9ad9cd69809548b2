"""``tenancy check RENDER``: the platform's guardrails, as rules over a render's resource graph.

Each rule reads the render's resources and its :mod:`isolation facts <tenancy.review.facts>` and
returns violations, each naming the rule, the tenant and the resource. The same rules ship as a
Pulumi CrossGuard policy pack (:mod:`tenancy.review.policy_pack`, ``policy-pack/``), so
``pulumi preview --policy-pack policy-pack`` enforces them too.

Rules (``mandatory`` fail the check, exit 3; ``advisory`` are reported only):

========================  ==========  ===================================================
id                        level       what must hold
========================  ==========  ===================================================
tenant-default-deny       mandatory   every tenant namespace has a NetworkPolicy selecting
                                      all its pods for Ingress and Egress
tenant-placement-enforced mandatory   an admission policy bound with ``Deny`` checks pod
                                      creation in every tenant namespace
no-fence-writes           mandatory   no persona bound in a tenant namespace can write a
                                      fence (NetworkPolicies, quotas, limits, namespaces,
                                      admission policies, mesh policies, cluster RBAC);
                                      NetworkPolicies only where the Admin tier walls the
                                      tenant and admission guards the platform's policies
                                      (``selfService.networkPolicies``, facts ``walls``)
self-service-rbac-bounded mandatory   issue 26: no tenant subject holds ``escalate``,
                                      ``bind`` or ``impersonate``, a tenant whose
                                      people may write Roles/RoleBindings is under a Deny
                                      policy judging those writes (``tenancy-tenant-rbac``),
                                      and a namespace's ``namespace.tenancy/`` labels name
                                      only its own tenant's namespaces
taints-match-admission    mandatory   every node group of a tenant carries the taint
                                      ``tenancy/tenant=<t>:NoSchedule`` and label the
                                      admission policy pins pods to; every node pool's
                                      group ``tenancy/pool=<pool>:NoSchedule`` and its
                                      label, and every pooled tenant's pool has one
workload-role-scope       mandatory   every workload role trusts exactly one service
                                      account, of its own tenant, and reaches only its
                                      tenant's S3 prefix
sg-cross-tenant-declared  mandatory   security groups let a tenant reach another only where
                                      a NetworkPolicy edge (an ``allowFrom``) declares it,
                                      each side of the wall on its own, and on no port
                                      beyond the edge's
np-cross-tenant-declared  mandatory   no NetworkPolicy opens one side of a wall towards
                                      another tenant (an edge opens both sides)
nacl-cross-tenant-        mandatory   with tenantNetworkAcls: no network ACL lets a tenant's
declared                              block out to or in from another's without an edge
private-endpoint          mandatory   the cluster API is private, or public only to listed
                                      CIDRs (never 0.0.0.0/0)
secrets-encryption        mandatory   Kubernetes secrets are envelope-encrypted with KMS
encrypted-volumes         mandatory   every launch template encrypts its EBS volumes
imdsv2                    mandatory   every launch template requires IMDSv2 tokens with a
                                      hop limit of 1 (pods cannot reach node credentials)
pooled-pod-security-      mandatory   every pooled tenant (namespace labelled
groups                                ``tenancy/pool``) has a SecurityGroupPolicy putting
                                      its own security groups on every pod, and every
                                      tenant with such a policy has its pool label
update-fits-quota         mandatory   with ``--previous BASE``: the update from BASE needs
                                      no more managed node groups at its peak than the
                                      quota (:mod:`tenancy.review.fit`)
fair-share-quotas,        mandatory   issue 23: see :mod:`tenancy.review.fair_share`
pool-disruption-budgets,
no-unreachable-load-
balancers, max-pods-
with-trunk
log-walls                 mandatory   container logs of a tenant's namespaces are routed to
                                      its own log groups only (none from a namespace no
                                      tenant owns); a tenant's roles read only its groups;
                                      a role writing tenants' groups writes no other group;
                                      tenant groups have a KMS key and a retention
                                      (:mod:`tenancy.review.logs_facts`)
========================  ==========  ===================================================
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from tenancy.review import fair_share, logs_facts, netpol
from tenancy.review.diff import resource_changes
from tenancy.review.facts import (
    NAMESPACE,
    NETWORK_POLICY,
    NODE_GROUP,
    POOL_LABEL,
    SECURITY_GROUP_POLICY,
    TENANT_LABEL,
    IsolationFacts,
    escalation_grants,
    facts_of,
    fence_grants,
    owns_network_policies,
    pods_pinned,
    rbac_write_grants,
    walled,
)
from tenancy.review.fit import node_group_peak
from tenancy.review.observability import scope_problems
from tenancy.spec.wire import AWS_EKS_CLUSTER as EKS_CLUSTER
from tenancy.spec.wire import AWS_IAM_ROLE as IAM_ROLE
from tenancy.spec.wire import AWS_LAUNCH_TEMPLATE as LAUNCH_TEMPLATE
from tenancy.spec.wire import EKS_COMPONENT, SIBLING_LABEL_PREFIX, TEAM_TENANT_TYPE

Resources = Sequence[Mapping[str, Any]]


@dataclass(frozen=True)
class Violation:
    rule: str
    tenant: str | None
    resource: str
    """URN (or name) of the resource at fault."""
    message: str

    def document(self) -> dict[str, Any]:
        return {"rule": self.rule, "tenant": self.tenant, "resource": self.resource, "message": self.message}


@dataclass(frozen=True)
class Rule:
    id: str
    description: str
    enforcement: str
    """``mandatory`` or ``advisory`` (CrossGuard's levels; ``disabled`` through config)."""
    check: Callable[[Resources, IsolationFacts], list[Violation]]


def _of(resources: Resources, typ: str) -> list[Mapping[str, Any]]:
    return [r for r in resources if r["type"] == typ]


def _tenant_namespaces(resources: Resources) -> list[Mapping[str, Any]]:
    return [r for r in _of(resources, NAMESPACE) if r.get("tenant")]


def default_deny(resources: Resources, facts: IsolationFacts) -> list[Violation]:
    out = []
    for ns in _tenant_namespaces(resources):
        name = (ns["inputs"].get("metadata") or {}).get("name")
        types: set[str] = set()
        for np in _of(resources, NETWORK_POLICY):
            obj = np.get("inputs") or {}
            spec = obj.get("spec") or {}
            if (obj.get("metadata") or {}).get("namespace") != name or \
                    not netpol.selects_everything(netpol.pod_selector(spec)):
                continue
            pt = netpol.policy_types(spec)
            if "Ingress" in pt and not spec.get("ingress"):
                types.add("Ingress")
            if "Egress" in pt and not spec.get("egress"):
                types.add("Egress")
        missing = sorted({"Ingress", "Egress"} - types)
        if missing:
            out.append(Violation("tenant-default-deny", ns["tenant"], ns["urn"],
                                 f"namespace {name} has no default-deny NetworkPolicy for {', '.join(missing)} "
                                 f"(podSelector {{}}, policyTypes [{', '.join(missing)}], no rules)"))
    return out


def placement_enforced(resources: Resources, facts: IsolationFacts) -> list[Violation]:
    """Every tenant namespace is under a bound placement policy — except a team stack's (its
    ``TeamTenant`` builds the namespace; the cluster-wide placement policy lives in the platform's
    stack, whose ``tenancy check`` judges it)."""
    out = []
    team = {str(r["name"]) for r in _of(resources, TEAM_TENANT_TYPE)}
    for ns in _tenant_namespaces(resources):
        if ns["tenant"] in team:
            continue
        t = ns["tenant"]
        if not pods_pinned(facts, t):
            out.append(Violation("tenant-placement-enforced", t, ns["urn"],
                                 f"no ValidatingAdmissionPolicy bound with Deny checks pod creation in namespace "
                                 f"{(ns['inputs'].get('metadata') or {}).get('name')}: nothing pins its pods to its "
                                 "nodes"))
    return out


def no_fence_writes(resources: Resources, facts: IsolationFacts) -> list[Violation]:
    out = []
    for (ns, subject), grants in sorted(facts.rbac.items()):
        tenant = facts.namespace_tenant(ns) if ns != "*" else facts.subject_tenant.get(subject)
        if tenant is None:
            continue
        fences = fence_grants(grants)
        if fences and ns != "*" and walled(facts, tenant):
            # selfService.networkPolicies (issue 26): writing its own NetworkPolicies is no fence behind
            # the Admin tier with the platform's policies guarded by admission
            fences = [g for g in fences if g.rpartition(":")[0].split("/", 1)[-1] != "networkpolicies"]
        if fences:
            out.append(Violation("no-fence-writes", tenant, (facts.rbac_bindings.get((ns, subject)) or [ns])[0],
                                 f"{subject} can write its own fences in {ns if ns != '*' else 'the cluster'}: "
                                 f"{', '.join(fences[:5])}"))
    return out


def _guards_rbac(scope: Mapping[str, Any]) -> bool:
    """The policy judges RoleBinding and Role creates, updates and deletes."""
    for rr in scope.get("resourceRules") or []:
        res, ops = set(rr.get("resources") or []), set(rr.get("operations") or [])
        if ({"roles", "rolebindings"} <= res or "*" in res) and ({"CREATE", "UPDATE", "DELETE"} <= ops or "*" in ops):
            return True
    return False


def self_service_rbac_bounded(resources: Resources, facts: IsolationFacts) -> list[Violation]:
    """Issue 26: no tenant subject holds ``escalate``, ``bind`` or ``impersonate`` (they switch off
    the escalation check that bounds self-service RBAC), none writes Roles/RoleBindings cluster-wide
    or in another tenant's namespace, and every tenant whose people may write
    Roles/RoleBindings is under a Deny policy judging those writes (``tenancy-tenant-rbac``: the
    platform's ``tenancy-`` objects and subjects outside the tenant)."""
    out = []
    for (ns, subject), grants in sorted(facts.rbac.items()):
        tenant = facts.namespace_tenant(ns) if ns != "*" else facts.subject_tenant.get(subject)
        if tenant is None:
            continue
        writes = rbac_write_grants(grants)
        owner = facts.subject_tenant.get(subject)
        if writes and (ns == "*" or (owner is not None and owner != tenant)):
            where = "in every namespace (cluster-wide)" if ns == "*" else f"in {ns}, the namespace of tenant {tenant}"
            at = (facts.rbac_bindings.get((ns, subject)) or [ns])[0]
            out.append(Violation("self-service-rbac-bounded", tenant, at,
                                 f"{subject} writes Roles/RoleBindings {where}: self-service RBAC is for a tenant's "
                                 f"own namespace only ({', '.join(writes[:3])})"))
        lifts = escalation_grants(grants)
        if lifts:
            at = (facts.rbac_bindings.get((ns, subject)) or [ns])[0]
            out.append(Violation("self-service-rbac-bounded", tenant, at,
                                 f"{subject} can lift Kubernetes' escalation prevention or impersonate in "
                                 f"{ns if ns != '*' else 'the cluster'}: {', '.join(lifts[:5])}"))
    out += _sibling_label_violations(resources, facts)
    for tenant, subjects in sorted(facts.rbac_writers().items()):
        guarded = [p for p, acts in facts.enforced.get(tenant, {}).items()
                   if "Deny" in acts and p in facts.policies and _guards_rbac(facts.policies[p]["scope"])]
        if not guarded:
            tns = str(facts.tenants.get(tenant, {}).get("namespace"))
            out.append(Violation("self-service-rbac-bounded", tenant,
                                 (facts.rbac_bindings.get((tns, subjects[0])) or [tns])[0],
                                 f"{', '.join(subjects)} may write Roles/RoleBindings in {tns} but no admission policy "
                                 "bound with Deny judges those writes: the platform's tenancy- bindings and subjects "
                                 "outside the tenant are unguarded (register tenancy-tenant-rbac)"))
    return out


def _sibling_label_violations(resources: Resources, facts: IsolationFacts) -> list[Violation]:
    """A tenant namespace's ``namespace.tenancy/<ns>`` labels name the namespaces whose ServiceAccounts
    the self-service guards treat as the tenant's (:func:`tenancy.plan.kubernetes.sibling_labels`):
    each must name one of the same tenant's namespaces, as key and value. One naming another
    tenant's namespace would let this tenant's admins bind that tenant's ServiceAccounts."""
    out = []
    for ns in _tenant_namespaces(resources):
        meta = ns["inputs"].get("metadata") or {}
        for key, value in sorted((meta.get("labels") or {}).items()):
            if not key.startswith(SIBLING_LABEL_PREFIX):
                continue
            named = key[len(SIBLING_LABEL_PREFIX):]
            owner = facts.namespace_tenant(str(value))
            if named != value or owner != ns["tenant"]:
                whose = f"tenant {owner}'s namespace" if owner else "no tenant's namespace"
                out.append(Violation("self-service-rbac-bounded", ns["tenant"], ns["urn"],
                                     f"namespace {meta.get('name')} lists {key}={value} ({whose}) among tenant "
                                     f"{ns['tenant']}'s own: tenancy-tenant-rbac would let its admins bind, and "
                                     "would judge as the tenant, ServiceAccounts of that namespace; list only "
                                     "the tenant's namespaces (key and value the same)"))
    return out


def _pinned(g: Mapping[str, Any], key: str, value: str, tenant: str | None, who: str, outsiders: str,
            pinned: str) -> list[Violation]:
    """Violations of node group ``g`` (of ``who``) lacking the taint ``key=value:NO_SCHEDULE``
    (``outsiders`` could be scheduled on it) or the label ``key=value`` admission pins ``pinned`` to."""
    i = g.get("inputs") or {}
    taints = {f"{x.get('key')}={x.get('value', '')}:{x.get('effect')}" for x in i.get("taints") or []}
    want = f"{key}={value}:NO_SCHEDULE"
    out = []
    if want not in taints:
        out.append(Violation("taints-match-admission", tenant, g["urn"],
                             f"node group of {who} lacks the taint {want}: {outsiders} may be scheduled on it"))
    if (i.get("labels") or {}).get(key) != value:
        out.append(Violation("taints-match-admission", tenant, g["urn"],
                             f"node group of {who} lacks the label {key}={value} that admission pins {pinned} to"))
    return out


def taints_match(resources: Resources, facts: IsolationFacts) -> list[Violation]:
    """Every tenant node group carries ``tenancy/tenant=<t>`` (taint and label); every pool node
    group (tagged ``tenancy/pool=<pool>``) carries ``tenancy/pool=<pool>``; a pooled tenant
    (namespace labelled ``tenancy/pool``) has its pool's node group."""
    out = []
    by_tenant: dict[str, list[Mapping[str, Any]]] = {}
    pools: dict[str, Mapping[str, Any]] = {}
    for g in _of(resources, NODE_GROUP):
        pool = ((g.get("inputs") or {}).get("tags") or {}).get(POOL_LABEL)
        if g.get("tenant"):
            by_tenant.setdefault(str(g["tenant"]), []).append(g)
        elif pool:
            pools[str(pool)] = g
            out += _pinned(g, POOL_LABEL, str(pool), None, f"pool {pool}", "pods of tenants outside the pool",
                           "the pool's tenants' pods")
    for t in sorted(facts.tenants):
        for g in by_tenant.get(t, []):
            out += _pinned(g, TENANT_LABEL, t, t, t, "other tenants' pods", "the tenant's pods")
    if not any(_of(resources, NODE_GROUP)):
        return out  # a stack of the in-cluster layer alone (a team stack): the platform's stack owns the nodes
    for t, info in sorted(facts.tenants.items()):
        pool = (info.get("labels") or {}).get(POOL_LABEL)
        if pool and pool not in pools:
            out.append(Violation("taints-match-admission", t, f"namespace of {t}",
                                 f"{t} is on pool {pool}, but no node group carries {POOL_LABEL}={pool}"))
    return out


def workload_role_scope(resources: Resources, facts: IsolationFacts) -> list[Violation]:
    out = []
    urns = {str((r.get("inputs") or {}).get("name") or r["name"]): r["urn"] for r in _of(resources, IAM_ROLE)}
    for (owner, role), subjects in sorted(facts.trust.items()):
        sa = [s for s in subjects if s.startswith("system:serviceaccount:") or s == "pods.eks.amazonaws.com"]
        if not sa or owner == "platform":
            continue
        ns = facts.tenants.get(owner, {}).get("namespace")
        own = facts.tenant_namespaces(owner) or [str(ns)]  # a tenant with extra namespaces: any of them
        # One service account: the same name, at most once per namespace of the tenant.
        names = {s.split(":")[3] for s in sa if len(s.split(":")) == 4}
        spaces = [s.split(":")[2] for s in sa if len(s.split(":")) == 4]
        if len(subjects) != 1 and (len(names) != 1 or len(spaces) != len(set(spaces)) or len(sa) != len(subjects)):
            out.append(Violation("workload-role-scope", owner, urns.get(role, role),
                                 f"role {role} trusts {len(subjects)} principals ({', '.join(subjects)}); a workload "
                                 f"role must trust exactly one service account (the same one in each of its "
                                 f"tenant's namespaces)"))
        for s in sa:
            parts = s.split(":")
            if s == "pods.eks.amazonaws.com" or len(parts) != 4 or parts[2] not in own or "*" in s or "?" in s:
                out.append(Violation("workload-role-scope", owner, urns.get(role, role),
                                     f"role {role} trusts {s}, not one service account of namespace "
                                     f"{' or '.join(str(n) for n in own)}"))
    for (owner, role), auds in sorted(facts.audiences.items()):
        if owner != "platform" and auds != ["sts.amazonaws.com"]:
            out.append(Violation("workload-role-scope", owner, urns.get(role, role),
                                 f"role {role} accepts web-identity tokens for audience(s) {auds or 'any'}; IRSA "
                                 f"tokens must be pinned to sts.amazonaws.com"))
    for (owner, role, target, access), res in sorted(facts.s3.items()):
        if owner != "platform" and target != owner:
            out.append(Violation("workload-role-scope", owner, urns.get(role, role),
                                 f"role {role} of {owner} reaches {target}'s S3 prefix ({access}: {', '.join(res)})"))
    return out


def sg_declared(resources: Resources, facts: IsolationFacts) -> list[Violation]:
    """Security groups open a path between two tenants only where an ``allowFrom`` edge (a
    NetworkPolicy connection) declares it — and each side of the wall on its own: an ingress rule
    admitting another tenant while that tenant's egress still blocks it is a violation too."""
    out = []
    tenants = _own_namespaces(facts)
    for (a, b), layers in sorted(facts.network.items()):
        if a not in tenants or b not in tenants:
            continue
        edge = layers.get("networkPolicy")
        if edge:
            out += _wider_than_edge(a, b, edge, layers, facts.sides.get((a, b), {}))
            continue
        if layers.get("securityGroup"):
            out.append(Violation("sg-cross-tenant-declared", b, f"security groups of {b}",
                                 f"security groups let {a} open connections to {b}, but no allowFrom edge "
                                 f"(NetworkPolicy) declares it"))
            continue
        out += _side_violations("securityGroup", a, b, facts.sides.get((a, b), {}))
    return out


def _sg_floor(ports: Sequence[tuple[str, int, int]]) -> list[tuple[str, int, int]]:
    """An edge's NetworkPolicy ports as security groups can hold them: SCTP on every port (AWS
    opens every port of a protocol other than TCP, UDP and ICMP; EC2 ``IpPermission.IpProtocol``)."""
    return [(p, 0, 65535) if p == "sctp" else (p, lo, hi) for p, lo, hi in ports]


def _wider_than_edge(a: str, b: str, edge: Sequence[tuple[str, int, int]], layers: Mapping[str, Any],
                     sides: Mapping[str, Any]) -> list[Violation]:
    """A declared edge (the NetworkPolicies let ``a`` reach ``b`` on ``edge``): the security
    groups, together and each side on its own, open no port beyond it (an ``allowFrom`` entry
    with ``ports`` opens exactly those on both walls)."""
    allowed = _sg_floor(edge)
    out = []
    for key, owner, where in (("securityGroup", b, f"security groups let {a} reach {b}"),
                              ("securityGroupIngress", b, f"{b}'s security groups admit {a}"),
                              ("securityGroupEgress", a, f"{a}'s security groups let it out towards {b}")):
        have = layers.get(key) if key == "securityGroup" else sides.get(key)
        extra = [p for p in have or [] if not netpol.covers(allowed, [p])]
        if extra:
            out.append(Violation("sg-cross-tenant-declared", owner, f"security groups of {owner}",
                                 f"{where} on {_ports(extra)}, wider than the allowFrom edge's ports "
                                 f"({_ports(edge)}); the security groups must open only the edge's ports"))
            break  # the widest finding is enough: fixing the rule fixes the others
    return out


def np_declared(resources: Resources, facts: IsolationFacts) -> list[Violation]:
    """The NetworkPolicy sibling of ``sg-cross-tenant-declared``: an ``allowFrom`` edge opens both
    sides (the peer's egress and the tenant's ingress); a policy opening one side alone towards
    another tenant is a stray opening the other side's next change completes."""
    out = []
    tenants = _own_namespaces(facts)
    for (a, b), sides in sorted(facts.sides.items()):
        if a not in tenants or b not in tenants or (facts.network.get((a, b)) or {}).get("networkPolicy"):
            continue
        # a self-service tenant's side is its own to write; the Admin tier keeps the wall (issue 26)
        out += [v for v in _side_violations("networkPolicy", a, b, sides)
                if not owns_network_policies(facts, str(v.tenant))]
    return out


def nacl_declared(resources: Resources, facts: IsolationFacts) -> list[Violation]:
    """With ``network.tenantNetworkAcls``: a tenant's network ACL lets traffic out to, or in from,
    another tenant's block only where an ``allowFrom`` edge joins the two (either way: ACLs are
    stateless, so an edge opens both directions for the replies)."""
    out = []
    tenants = _own_namespaces(facts)
    for (a, b), sides in sorted(facts.sides.items()):
        if a not in tenants or b not in tenants:
            continue
        declared = any((facts.network.get(pair) or {}).get("networkPolicy") for pair in ((a, b), (b, a)))
        if declared:
            continue
        out += _side_violations("networkAcl", a, b, sides)
    return out


SIDE_TEXT = {
    "securityGroup": ("sg-cross-tenant-declared", "security groups",
                      "{b}'s security groups admit {a} ({p}) with no allowFrom edge; only {a}'s egress still blocks it",
                      "{a}'s security groups let it out towards {b} ({p}) with no allowFrom edge; only {b}'s ingress "
                      "still blocks it"),
    "networkPolicy": ("np-cross-tenant-declared", "NetworkPolicies",
                      "{b}'s NetworkPolicies admit {a} ({p}) but {a} has no egress towards {b}: a one-sided edge "
                      "(declare it with allowFrom)",
                      "{a}'s NetworkPolicies let it out towards {b} ({p}) but {b} does not admit it: a one-sided "
                      "edge (declare it with allowFrom)"),
    "networkAcl": ("nacl-cross-tenant-declared", "network ACL",
                   "{b}'s network ACL admits {a}'s block ({p}) with no allowFrom edge between them",
                   "{a}'s network ACL lets traffic out to {b}'s block ({p}) with no allowFrom edge between them"),
}
"""Per wall: the rule, what it is, and the message for an open ingress side (blamed on the
destination ``b``) and an open egress side (blamed on the source ``a``)."""


def _side_violations(wall: str, a: str, b: str, sides: Mapping[str, list[Any]]) -> list[Violation]:
    """Each side of one wall between ``a`` (source) and ``b`` that is open without an edge."""
    rule, what, ingress, egress = SIDE_TEXT[wall]
    out = []
    for side, owner, text in (("Ingress", b, ingress), ("Egress", a, egress)):
        ports = sides.get(f"{wall}{side}")
        if ports:
            out.append(Violation(rule, owner, f"{what} of {owner}", text.format(a=a, b=b, p=_ports(ports))))
    return out


def _own_namespaces(facts: IsolationFacts) -> set[str]:
    """Tenants whose namespace this stack builds. A team-stack tenant's namespace and NetworkPolicies
    live in the team's stack: the platform's stack cannot judge its edges against its security groups
    (each stack is judged on what it owns; ``tenancy verify`` sees both on the live platform)."""
    return {t for t, info in facts.tenants.items() if info.get("namespace")}


def _ports(ports: Sequence[tuple[str, int, int]]) -> str:
    return ", ".join(f"{p}/{lo}" if lo == hi else f"{p}/{lo}-{hi}" for p, lo, hi in ports)


def private_endpoint(resources: Resources, facts: IsolationFacts) -> list[Violation]:
    out = []
    for r in [*_of(resources, EKS_COMPONENT), *_of(resources, EKS_CLUSTER)]:
        i = r.get("inputs") or {}
        vpc = i.get("vpcConfig") or i
        public = vpc.get("endpointPublicAccess", r["type"] == EKS_CLUSTER)
        cidrs = vpc.get("publicAccessCidrs") or i.get("publicAccessCidrs") or []
        if public and (not cidrs or {"0.0.0.0/0", "::/0"} & set(cidrs)):
            out.append(Violation("private-endpoint", None, r["urn"],
                                 "the cluster API endpoint is public to the whole internet: set "
                                 "cluster.endpointPublicAccessCidrs to the networks that need it, or keep it private"))
        if r["type"] == EKS_CLUSTER and not vpc.get("endpointPrivateAccess", False):
            out.append(Violation("private-endpoint", None, r["urn"], "the cluster API has no private endpoint"))
    return out


def secrets_encryption(resources: Resources, facts: IsolationFacts) -> list[Violation]:
    out = []
    for r in _of(resources, EKS_COMPONENT):
        if not (r.get("inputs") or {}).get("encryptionConfigKeyArn"):
            out.append(Violation("secrets-encryption", None, r["urn"],
                                 "Kubernetes secrets are not envelope-encrypted: set encryptionConfigKeyArn"))
    for r in _of(resources, EKS_CLUSTER):
        enc = (r.get("inputs") or {}).get("encryptionConfig") or {}
        if "secrets" not in (enc.get("resources") or []) or not (enc.get("provider") or {}).get("keyArn"):
            out.append(Violation("secrets-encryption", None, r["urn"],
                                 "Kubernetes secrets are not envelope-encrypted (encryptionConfig)"))
    return out


def _true(v: Any) -> bool:
    return v is True or str(v).lower() == "true"


def encrypted_volumes(resources: Resources, facts: IsolationFacts) -> list[Violation]:
    out = []
    for r in _of(resources, LAUNCH_TEMPLATE):
        for m in (r.get("inputs") or {}).get("blockDeviceMappings") or []:
            if not _true((m.get("ebs") or {}).get("encrypted")):
                out.append(Violation("encrypted-volumes", r.get("tenant"), r["urn"],
                                     f"volume {m.get('deviceName')} of launch template {r['name']} is not encrypted"))
    return out


def imdsv2(resources: Resources, facts: IsolationFacts) -> list[Violation]:
    out = []
    for r in _of(resources, LAUNCH_TEMPLATE):
        md = (r.get("inputs") or {}).get("metadataOptions") or {}
        if md.get("httpTokens") != "required" or int(float(md.get("httpPutResponseHopLimit") or 2)) != 1:
            out.append(Violation("imdsv2", r.get("tenant"), r["urn"],
                                 f"launch template {r['name']} must set metadataOptions httpTokens: required and "
                                 f"httpPutResponseHopLimit: 1 (has {md.get('httpTokens')!r}, "
                                 f"{md.get('httpPutResponseHopLimit')!r}): pods could take the node's credentials"))
    return out


def pooled_security_groups(resources: Resources, facts: IsolationFacts) -> list[Violation]:
    """Pooled tenants share nodes: their wall on the network is the security groups a
    SecurityGroupPolicy puts on their pods (security groups for pods). Without one, the
    placement policy refuses their pods (no ``vpc.amazonaws.com/pod-eni``) — or, were admission
    lifted, they would run with the pool nodes' group. A policy without the namespace's pool
    label means admission treats the tenant as dedicated (its pods select tenant nodes that do
    not exist)."""
    out = []
    covered: dict[str, Mapping[str, Any]] = {}
    for r in _of(resources, SECURITY_GROUP_POLICY):
        spec = (r.get("inputs") or {}).get("spec") or {}
        sel = spec.get("podSelector")
        groups = (spec.get("securityGroups") or {}).get("groupIds") or []
        if r.get("tenant") and netpol.selects_everything(sel) and not spec.get("serviceAccountSelector") \
                and groups:
            # per namespace: each namespace of a tenant (main and extra) needs its own policy
            covered[str(((r.get("inputs") or {}).get("metadata") or {}).get("namespace") or r["tenant"])] = r
    for ns in _tenant_namespaces(resources):
        t = str(ns["tenant"])
        labels = ((ns.get("inputs") or {}).get("metadata") or {}).get("labels") or {}
        pool = labels.get(POOL_LABEL)
        name = (ns["inputs"].get("metadata") or {}).get("name")
        if pool and name not in covered:
            out.append(Violation("pooled-pod-security-groups", t, ns["urn"],
                                 f"namespace {name} is on pool {pool} but no SecurityGroupPolicy puts {t}'s own "
                                 f"security groups on every pod (podSelector {{}}, groupIds): its pods would share "
                                 f"the pool nodes' group, and admission refuses them"))
        if not pool and name in covered:
            out.append(Violation("pooled-pod-security-groups", t, covered[name]["urn"],
                                 f"{t} has a SecurityGroupPolicy for every pod but its namespace {name} lacks the "
                                 f"label {POOL_LABEL}=<pool>: admission pins its pods to tenant nodes instead of its "
                                 f"pool"))
    return out


def _found(rule: str, found: list[fair_share.Found]) -> list[Violation]:
    return [Violation(rule, t, urn, msg) for t, urn, msg in found]


def fair_share_quotas(resources: Resources, facts: IsolationFacts) -> list[Violation]:
    return _found("fair-share-quotas", fair_share.quotas(resources))


def pool_disruption_budgets(resources: Resources, facts: IsolationFacts) -> list[Violation]:
    return _found("pool-disruption-budgets", fair_share.disruption_budgets(resources, facts))


def no_unreachable_load_balancers(resources: Resources, facts: IsolationFacts) -> list[Violation]:
    return _found("no-unreachable-load-balancers", fair_share.load_balancers(resources))


def max_pods_with_trunk(resources: Resources, facts: IsolationFacts) -> list[Violation]:
    return _found("max-pods-with-trunk", fair_share.max_pods_with_trunk(resources))


def log_walls(resources: Resources, facts: IsolationFacts) -> list[Violation]:
    """Per-tenant workload logs (tenancy/review/logs_facts.py): routes only to the namespace's own
    tenant's group, readers only their tenant's groups, a writer of tenant groups no other group,
    tenant groups KMS-encrypted with a retention."""
    return [Violation("log-walls", t, subject, msg) for t, subject, msg in logs_facts.violations(facts.logs)]
def observability_scoped(resources: Resources, facts: IsolationFacts) -> list[Violation]:
    """Dashboards and saved queries read only their tenant's namespaces; no shared container-log
    group; an encrypted backup vault (:mod:`tenancy.review.observability`)."""
    return [Violation("observability-scoped", t, "observability", m) for t, m in scope_problems(facts)]


RULES: tuple[Rule, ...] = (
    Rule("tenant-default-deny", "every tenant namespace denies all traffic by default", "mandatory", default_deny),
    Rule("tenant-placement-enforced", "pod placement is enforced by admission in every tenant namespace",
         "mandatory", placement_enforced),
    Rule("no-fence-writes", "no tenant persona can write its own fences", "mandatory", no_fence_writes),
    Rule("self-service-rbac-bounded", "no tenant can lift escalation prevention, and tenants writing RBAC are "
         "guarded by admission", "mandatory", self_service_rbac_bounded),
    Rule("taints-match-admission", "tenant node groups carry the taint and label admission expects", "mandatory",
         taints_match),
    Rule("workload-role-scope", "workload roles trust one service account and reach only their tenant's prefix",
         "mandatory", workload_role_scope),
    Rule("sg-cross-tenant-declared", "no security group admits another tenant unless declared", "mandatory",
         sg_declared),
    Rule("np-cross-tenant-declared", "no NetworkPolicy opens one side of a wall towards another tenant", "mandatory",
         np_declared),
    Rule("nacl-cross-tenant-declared", "no network ACL opens a tenant's block to another unless declared",
         "mandatory", nacl_declared),
    Rule("private-endpoint", "the cluster API endpoint is private (or limited to listed CIDRs)", "mandatory",
         private_endpoint),
    Rule("secrets-encryption", "Kubernetes secrets are encrypted with KMS", "mandatory", secrets_encryption),
    Rule("encrypted-volumes", "node volumes are encrypted", "mandatory", encrypted_volumes),
    Rule("imdsv2", "nodes require IMDSv2 with hop limit 1", "mandatory", imdsv2),
    Rule("pooled-pod-security-groups", "pooled tenants put their own security groups on every pod", "mandatory",
         pooled_security_groups),
    # Fair share (issue 23; tenancy/review/fair_share.py)
    Rule("fair-share-quotas", "every tenant's quota caps branch interfaces, local disk and object counts",
         "mandatory", fair_share_quotas),
    Rule("pool-disruption-budgets", "no tenant budget can hold a shared pool's node updates", "mandatory",
         pool_disruption_budgets),
    Rule("no-unreachable-load-balancers", "no tenant is granted LoadBalancer Services nothing can reach",
         "mandatory", no_unreachable_load_balancers),
    Rule("max-pods-with-trunk", "kubelet maxPods leaves the trunk's interface out once a tenant is pooled",
         "mandatory", max_pods_with_trunk),
    # Per-tenant workload logs (issue 27; tenancy/review/logs_facts.py)
    Rule("log-walls", "each tenant's container logs go to, and are read from, its own log groups only", "mandatory",
         log_walls),
    # Observability (issue 27; tenancy/review/observability.py)
    Rule("observability-scoped", "tenant dashboards and saved queries read only their own namespaces; no shared "
         "container-log group; backups encrypted", "mandatory", observability_scoped),
)
RULES_BY_ID = {r.id: r for r in RULES}

UPDATE_FITS = Rule("update-fits-quota", "the update from the deployed render fits the managed node group quota at "
                   "its peak", "mandatory", lambda resources, facts: [])
"""Judged on two renders (:func:`update_fits`, ``tenancy check --previous``), not one."""


def update_fits(base: Resources, head: Resources, quota: int | None = None) -> tuple[Rule, str, list[Violation]]:
    """:data:`UPDATE_FITS` over the update from ``base`` to ``head`` (``quota``: nodeGroupQuota, default 30)."""
    peak = node_group_peak(base, head, resource_changes(base, head), quota)
    problem = peak.problem()
    at = (peak.replaced or peak.created or ["node groups"])[0]
    return UPDATE_FITS, UPDATE_FITS.enforcement, ([] if problem is None else
                                                  [Violation(UPDATE_FITS.id, None, at, problem)])


def run_checks(resources: Resources, *, levels: Mapping[str, str] | None = None,
               facts: IsolationFacts | None = None) -> list[tuple[Rule, str, list[Violation]]]:
    """Every rule over ``resources``: (rule, effective level, violations). ``levels`` overrides a
    rule's level (``mandatory``, ``advisory``, ``disabled``)."""
    facts = facts if facts is not None else facts_of(resources)
    out = []
    for rule in RULES:
        level = (levels or {}).get(rule.id, rule.enforcement)
        if level == "disabled":
            continue
        out.append((rule, level, rule.check(resources, facts)))
    return out


def failed(results: Sequence[tuple[Rule, str, list[Violation]]]) -> bool:
    return any(level == "mandatory" and v for _, level, v in results)


def document(results: Sequence[tuple[Rule, str, list[Violation]]]) -> dict[str, Any]:
    return {"passed": not failed(results),
            "rules": [{"id": r.id, "description": r.description, "enforcement": level,
                       "passed": not v, "violations": [x.document() for x in v]} for r, level, v in results]}


def markdown(results: Sequence[tuple[Rule, str, list[Violation]]], title: str = "tenancy check") -> str:
    bad = sum(1 for _, level, v in results if v and level == "mandatory")
    lines = [f"### {title}", "", f"**{'✅ all guardrails hold' if not bad else f'❌ {bad} mandatory rule(s) fail'}** "
             f"({len(results)} rules).", "", "| rule | level | result |", "|---|---|---|"]
    for r, level, v in results:
        lines.append(f"| `{r.id}` | {level} | {'pass' if not v else f'**{len(v)} violation(s)**'} |")
    problems = [(r, x) for r, _, v in results for x in v]
    if problems:
        lines += ["", "| rule | tenant | resource | problem |", "|---|---|---|---|"]
        for r, x in problems:
            lines.append(f"| `{r.id}` | {x.tenant or '—'} | `{x.resource}` | {x.message.replace('|', '/')} |")
    return "\n".join(lines) + "\n"
