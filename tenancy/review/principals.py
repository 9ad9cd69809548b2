"""Who holds what, read from a render: the people and the workload identities.

What a security team signs is "these people and these workloads may do this, and nothing else".
Both lists come from the rendered objects — EKS access entries and access policy associations,
Kubernetes RoleBindings, IAM roles' trust policies and permission documents, EKS Pod Identity
associations — never from the spec that generated them, so an edit of the generated objects (or
a bug in the code that writes them) shows here:

* **people** (:func:`people_of`) — every IAM principal with a ``STANDARD`` access entry, its
  account (from the ARN), and each grant: a persona (Kubernetes group ``tenancy:<tenant>:<persona>``)
  with the tenant whose namespace the render's RoleBindings bind that group in, or a platform-wide
  role (``AmazonEKSClusterAdminPolicy`` on the cluster: cluster admin; any other access policy with
  its scope; any other Kubernetes group);
* **workload identities** (:func:`workload_roles_of`) — every IAM role that a Kubernetes service
  account can assume: the service accounts named by the trust policy's OIDC ``:sub`` condition
  (IRSA; no ``:sub`` condition: any service account of the provider) or by a Pod Identity
  association, and for each S3 statement the prefix it reaches and the actions it allows; the
  tenants whose prefixes it reaches (:attr:`~tenancy.review.facts.IsolationFacts.s3`);
* **pooled tenants** (:func:`pooled_of`) — per node pool, the tenants sharing its nodes and what
  their SecurityGroupPolicies put on their pods.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from tenancy.review.facts import IsolationFacts, facts_of, role_documents, trust_subjects
from tenancy.review.facts import _doc as policy_document
from tenancy.review.perimeter import CLUSTER_ADMIN_POLICY, PERSONA_GROUP_PREFIX, perimeter_of
from tenancy.spec.wire import AWS_IAM_ROLE as IAM_ROLE

SERVICE_ACCOUNT_PREFIX = "system:serviceaccount:"
PLATFORM_WIDE = "all tenants (platform-wide)"


@dataclass(frozen=True)
class PersonGrant:
    principal: str
    account: str | None
    persona: str
    """``admins`` / ``editors`` / ``viewers`` …, ``cluster admin``, an access policy, or ``group <g>``."""
    tenant: str
    """The tenant the grant reaches, :data:`PLATFORM_WIDE`, or a note when the render binds it nowhere."""
    how: str
    """Where it comes from in the render (group and binding namespaces, policy and scope)."""


@dataclass(frozen=True)
class S3Grant:
    prefix: str
    """``bucket/key-prefix*`` for objects, ``bucket`` (listing, ``prefix …``) for bucket actions, ``*``."""
    actions: tuple[str, ...]


@dataclass(frozen=True)
class WorkloadRole:
    role: str
    owner: str
    """The tenant whose component registered the role, or ``platform``."""
    service_accounts: tuple[str, ...]
    """``namespace/name`` (``namespace/*``, ``*`` for wildcards in the trust)."""
    mechanism: str
    """``IRSA`` (the trust's OIDC ``:sub``) or ``Pod Identity`` (an association)."""
    s3: tuple[S3Grant, ...]
    reaches: tuple[str, ...]
    """Tenants whose S3 prefix the role's documents reach (``tenancy.review.facts``)."""


def _account(arn: str) -> str | None:
    parts = arn.split(":")
    return parts[4] if len(parts) > 5 and parts[4].isdigit() else None


def people_of(resources: Sequence[Mapping[str, Any]], facts: IsolationFacts | None = None) -> list[PersonGrant]:
    """One row per principal and grant, sorted by principal."""
    f = facts if facts is not None else facts_of(resources)
    bound: dict[str, set[str]] = {}
    for (ns, subject) in f.rbac:
        if subject.startswith("Group:"):
            bound.setdefault(subject[len("Group:"):], set()).add(ns)
    ns_tenant = {**{str(info["namespace"]): t for t, info in f.tenants.items() if info.get("namespace")},
                 **f.namespace_owner}  # extra namespaces too
    out = []
    for principal, grants in sorted(perimeter_of(resources).people.items()):
        account = _account(principal)
        for g in grants:
            out.append(_grant_row(principal, account, g, bound, ns_tenant))
    return out


def _grant_row(principal: str, account: str | None, grant: str, bound: Mapping[str, set[str]],
               ns_tenant: Mapping[str, str]) -> PersonGrant:
    if grant == "cluster-admin":
        return PersonGrant(principal, account, "cluster admin", PLATFORM_WIDE,
                           f"EKS access policy {CLUSTER_ADMIN_POLICY}, cluster scope")
    if "@" in grant:
        policy, where = grant.split("@", 1)
        if where == "cluster":
            return PersonGrant(principal, account, policy, PLATFORM_WIDE, f"EKS access policy {policy}, cluster scope")
        namespaces = [n for n in where.removeprefix("namespaces ").split(",") if n]
        tenants = sorted({ns_tenant.get(n) or f"namespace {n}" for n in namespaces})
        return PersonGrant(principal, account, policy, ", ".join(tenants) or "—",
                           f"EKS access policy {policy}, namespaces {', '.join(namespaces)}")
    group = grant[len("group:"):] if grant.startswith("group:") else PERSONA_GROUP_PREFIX + grant
    namespaces = sorted(bound.get(group, set()))
    persona = group.split(":")[2] if grant == group[len(PERSONA_GROUP_PREFIX):] else f"group {group}"
    if not namespaces:
        tenant = "— (no RoleBinding of this render binds the group; a team stack's tenant binds it in its own stack)"
    elif "*" in namespaces:
        tenant = PLATFORM_WIDE
    else:
        tenant = ", ".join(ns_tenant.get(n) or f"namespace {n}" for n in namespaces)
    where = ", ".join("cluster-wide" if n == "*" else n for n in namespaces)
    return PersonGrant(principal, account, persona, tenant,
                       f"Kubernetes group `{group}`" + (f", bound in {where}" if where else ""))


def _service_account(subject: str) -> str:
    if subject.startswith(SERVICE_ACCOUNT_PREFIX):
        ns, _, name = subject[len(SERVICE_ACCOUNT_PREFIX):].partition(":")
        return f"{ns}/{name or '*'}" if ns != "*" else "*"
    return subject


def _s3(docs: Sequence[Mapping[str, Any]]) -> tuple[S3Grant, ...]:
    grants: dict[str, set[str]] = {}
    for doc in docs:
        statements = doc.get("Statement")
        for st in statements if isinstance(statements, list) else [statements]:
            if not isinstance(st, dict) or st.get("Effect") != "Allow":
                continue
            actions = [str(a) for a in _as_list(st.get("Action"))]
            actions = [a for a in actions if a == "*" or a.lower().startswith("s3:")]
            if not actions:
                continue
            for res in (str(x) for x in _as_list(st.get("Resource"))):
                if res == "*":
                    where = ["*"]
                elif ":s3:::" not in res:
                    continue
                elif "/" in res:
                    where = [res.split(":s3:::", 1)[1]]
                else:
                    bucket = res.split(":s3:::", 1)[1]
                    prefixes = [str(p) for cond in (st.get("Condition") or {}).values() if isinstance(cond, dict)
                                for p in _as_list(cond.get("s3:prefix"))]
                    where = [f"{bucket} (listing, prefix {', '.join(prefixes)})" if prefixes
                             else f"{bucket} (whole bucket)"]
                for w in where:
                    grants.setdefault(w, set()).update(actions)
    return tuple(S3Grant(w, tuple(sorted(a))) for w, a in sorted(grants.items()))


def _as_list(v: Any) -> list[Any]:
    return v if isinstance(v, list) else [] if v is None else [v]


def workload_roles_of(resources: Sequence[Mapping[str, Any]],
                      facts: IsolationFacts | None = None) -> list[WorkloadRole]:
    """Every IAM role a Kubernetes service account may assume, sorted by owner and role name."""
    f = facts if facts is not None else facts_of(resources)
    by_type: dict[str, list[Mapping[str, Any]]] = {}
    for r in resources:
        by_type.setdefault(r["type"], []).append(r)
    docs, pod_identity = role_documents(by_type)
    reach: dict[tuple[str, str], set[str]] = {}
    for (t, role, target, _access) in f.s3:
        reach.setdefault((t, role), set()).add(target)
    out = []
    for r in by_type.get(IAM_ROLE, []):
        i = r.get("inputs") or {}
        name = str(i.get("name") or r["name"])
        owner = r.get("tenant") or "platform"
        trust = policy_document(i.get("assumeRolePolicy"))
        trusted = [s for s in trust_subjects(trust) if s.startswith(SERVICE_ACCOUNT_PREFIX)]
        mechanism = "IRSA" if trusted else ""
        if pod_identity.get(r["urn"]):
            trusted += pod_identity[r["urn"]]
            mechanism = "Pod Identity" if not mechanism else "IRSA + Pod Identity"
        if not trusted:
            continue
        reaches = sorted(reach.get((owner, name), set()))
        out.append(WorkloadRole(name, owner, tuple(sorted({_service_account(s) for s in trusted})), mechanism,
                                _s3(docs.get(r["urn"], [])), tuple(reaches)))
    return sorted(out, key=lambda w: (w.owner == "platform", w.owner, w.role))


@dataclass(frozen=True)
class Pool:
    name: str
    tenants: tuple[str, ...]
    tiers: Mapping[str, str]
    """Tenant → tier (namespace label)."""
    taints: tuple[str, ...]
    node_groups: int
    pod_security_groups: Mapping[str, tuple[str, ...]]
    """Tenant → the security groups its SecurityGroupPolicies put on every pod (empty: none)."""


def pooled_of(facts: IsolationFacts) -> list[Pool]:
    """The node pools of a render and their tenants (from the namespaces' pool labels, the pools'
    node groups and the tenants' SecurityGroupPolicies: :attr:`IsolationFacts.placement`)."""
    members: dict[str, list[str]] = {}
    for t, p in facts.placement.items():
        if p.get("pool"):
            members.setdefault(str(p["pool"]), []).append(t)
    out = []
    for pool, tenants in sorted(members.items()):
        first = facts.placement[tenants[0]]
        out.append(Pool(pool, tuple(sorted(tenants)),
                        {t: str(facts.placement[t].get("tier") or "—") for t in tenants},
                        tuple(first.get("taints") or ()), int(first.get("nodeGroups") or 0),
                        {t: tuple(facts.placement[t].get("podSecurityGroups") or ()) for t in tenants}))
    return out


# --------------------------------------------------------------------------------------------
# Markdown (report.md)


def _cell(v: str) -> str:
    return v.replace("|", "\\|").replace("\n", " ")


def people_lines(people: Sequence[PersonGrant]) -> list[str]:
    lines = ["## People", "",
             "Every IAM principal with an EKS access entry (read from the rendered access entries, access policy "
             "associations and RoleBindings), what it is and which tenant it reaches. The identity that runs "
             "`pulumi up` is not among them (see *API access*).", ""]
    if not people:
        return lines + ["None."]
    lines += ["| principal | account | persona | tenant | how |", "|---|---|---|---|---|"]
    lines += [f"| `{p.principal}` | {p.account or '—'} | {p.persona} | {_cell(p.tenant)} | {_cell(p.how)} |"
              for p in people]
    accounts = sorted({p.account for p in people if p.account})
    lines += ["", f"{len({p.principal for p in people})} principal(s) from {len(accounts)} account(s): "
              f"{', '.join(accounts) or '—'}."]
    return lines


def workload_lines(roles: Sequence[WorkloadRole]) -> list[str]:
    lines = ["## Workload identities", "",
             "Every IAM role a Kubernetes service account may assume (read from the rendered trust policies' OIDC "
             "`sub` conditions and the Pod Identity associations), with the S3 it grants (the rendered permission "
             "documents: prefix and actions) and the tenants whose prefixes those documents reach.", ""]
    if not roles:
        return lines + ["None."]
    lines += ["| role | owner | service account(s) | via | S3 prefix: actions | reaches tenants' data |",
              "|---|---|---|---|---|---|"]
    for w in roles:
        s3 = "<br>".join(f"`{g.prefix}`: {', '.join(g.actions)}" for g in w.s3) or "—"
        others = [t for t in w.reaches if t != w.owner]
        reach = ", ".join(w.reaches) or "—"
        if others:
            reach = f"⚠️ {reach} (not only its own)"
        lines.append(f"| `{w.role}` | {w.owner} | {', '.join(f'`{s}`' for s in w.service_accounts)} | {w.mechanism} "
                     f"| {_cell(s3)} | {reach} |")
    return lines


def pool_lines(pools: Sequence[Pool], dedicated: int) -> list[str]:
    if not pools:
        return []
    lines = ["## Pooled tenants: how their isolation differs", "",
             f"A dedicated tenant ({dedicated} here) has node groups of its own: its pods share a kernel only with "
             "each other, and its security group sits on its nodes. A pooled tenant does not (read from the "
             "rendered namespaces' pool labels, the pools' node groups and the SecurityGroupPolicies):", ""]
    for p in pools:
        n = len(p.tenants)
        missing = [t for t in p.tenants if not p.pod_security_groups.get(t)]
        premium = sorted(t for t in p.tenants if p.tiers.get(t) == "premium")
        lines += [f"### Pool `{p.name}` — {n} tenant(s): {', '.join(f'`{t}`' for t in p.tenants)}", "",
                  f"- **Shared nodes and kernel**: the pool's {p.node_groups} node group(s) (taints "
                  f"{', '.join(f'`{t}`' for t in p.taints) or 'none'}) run the pods of all {n} tenants; a container "
                  "escape or kernel exploit on one of these nodes reaches the other tenants' pods on it, and the "
                  "node's IAM role, kubelet credentials and image cache are the pool's, not the tenant's.",
                  "- **Network wall on the pod**: the nodes' security groups are shared, so each tenant's own "
                  "security group is attached to its pods' branch network interfaces by a SecurityGroupPolicy "
                  "selecting every pod (security groups for pods, the VPC resource controller): "
                  + (f"⚠️ **{len(missing)} tenant(s) without one**: {', '.join(f'`{t}`' for t in missing)} — their "
                     "pods carry the pool nodes' security groups" if missing
                     else f"every tenant of the pool has one ({n}/{n})") + ".",
                  "- **Shared capacity**: pods on the pool are bounded by its nodes' branch network interfaces "
                  "(*Node pools* above), shared by its tenants; "
                  + (f"{len(premium)} premium tenant(s) ({', '.join(f'`{t}`' for t in premium)}) may preempt "
                     "the standard tenants' pods on these nodes (PriorityClass `tenancy-premium`)."
                     if premium and len(premium) < n else "every tenant of the pool has the same tier."), ""]
    return lines[:-1]


# --------------------------------------------------------------------------------------------
# The merge-request comment (tenancy diff): the head's people and workload identities


def document(people: Sequence[PersonGrant], roles: Sequence[WorkloadRole]) -> dict[str, Any]:
    """The head's people and workload identities as JSON (``tenancy diff``'s ``identities``)."""
    return {"people": [{"principal": p.principal, "account": p.account, "persona": p.persona, "tenant": p.tenant,
                        "how": p.how} for p in people],
            "workloads": [{"role": w.role, "owner": w.owner, "serviceAccounts": list(w.service_accounts),
                           "mechanism": w.mechanism, "reaches": list(w.reaches),
                           "s3": [{"prefix": g.prefix, "actions": list(g.actions)} for g in w.s3]} for w in roles]}


def details_markdown(doc: Mapping[str, Any]) -> list[str]:
    """A collapsed block of the head's people and workload identities (from :func:`document`)."""
    people, roles = doc.get("people") or [], doc.get("workloads") or []
    foreign = [w for w in roles if any(t != w["owner"] for t in w["reaches"])]
    warn = f", ⚠️ {len(foreign)} reach another tenant's data" if foreign else ""
    lines = [f"<details><summary>People ({len({p['principal'] for p in people})} principal(s)) and workload "
             f"identities ({len(roles)} role(s){warn}) at the head</summary>", "",
             "| principal | account | persona | tenant |", "|---|---|---|---|"]
    lines += [f"| `{p['principal']}` | {p['account'] or '—'} | {p['persona']} | {_cell(p['tenant'])} |" for p in people]
    lines += ["", "| role | owner | service account(s) | via | S3 prefixes | reaches |", "|---|---|---|---|---|---|"]
    for w in roles:
        objects = [g["prefix"] for g in w["s3"] if " (listing" not in g["prefix"]]  # listings: report.md
        prefixes = ", ".join(f"`{p}`" for p in objects or [g["prefix"] for g in w["s3"]]) or "—"
        lines.append(f"| `{w['role']}` | {w['owner']} | {', '.join(f'`{s}`' for s in w['serviceAccounts'])} | "
                     f"{w['mechanism']} | {_cell(prefixes)} | {', '.join(w['reaches']) or '—'} |")
    return lines + ["", "</details>", ""]
