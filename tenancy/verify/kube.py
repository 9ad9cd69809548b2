"""Kubernetes checks of ``tenancy verify``: pure logic over a :class:`KubeReader`.

Nothing here opens a connection: the reader (``tenancy.verify.clients.KubeClient`` on a real
cluster, a fake in unit tests) answers ``get``/``list``, SubjectAccessReviews and server-side
dry-run creates as an impersonated identity. Every request verify makes is a read, an access
review or a ``dryRun=All`` create: nothing is stored.

- :func:`drift`: every rendered object exists and holds what the render set (objects are compared
  field by field on what the render sets: the API server adds defaults, which are not drift);
  anything outside the render that touches a tenant (a NetworkPolicy, Role or RoleBinding in its
  namespace; a binding anywhere whose subject is one of its groups or service accounts) is reported.
- :func:`live_resources`: the live objects in the render's own format (``resources.json``
  entries), so the one isolation model (:mod:`tenancy.review.facts`) reads the platform as it is and
  :func:`tenancy.review.diff.isolation_changes` compares it with the render.
- :func:`behaviour`: as each tenant persona, by SubjectAccessReview (cannot reach other tenants'
  namespaces, cannot write its own fences, cannot escalate) and by dry-run creates (a pinned
  restricted pod is admitted — the platform stays usable; a pod off its nodes, a privileged pod,
  a Service with externalIPs and an ExternalName Service are refused).
"""

from __future__ import annotations

import copy
from collections.abc import Iterable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from typing import Any, Protocol

from tenancy.plan import cluster_policies
from tenancy.plan import kubernetes as plan
from tenancy.plan import pools as pool_plan
from tenancy.render.result import is_kubernetes_object, manifest_of
from tenancy.review import facts as F
from tenancy.spec import naming
from tenancy.spec.wire import (
    CNP_API_VERSION,
    CNP_KIND,
    IRSA_ANNOTATION,
    NETWORKING_API_VERSION,
    POD_ENI_RESOURCE,
    POOL_LABEL,
    RBAC_API_VERSION,
    SGP_API_VERSION,
    SGP_KIND,
    TENANT_LABEL,
)
from tenancy.verify.report import Result, clip, failed, passed, skipped

DRIFT, EXTRA = "drift.kubernetes", "drift.kubernetes.extra"
RBAC_CHECK, ADMISSION_CHECK = "behaviour.rbac", "behaviour.admission"

FACT_KINDS = {F.NAMESPACE, F.NETWORK_POLICY, F.ROLE, F.CLUSTER_ROLE, F.ROLE_BINDING, F.CLUSTER_ROLE_BINDING,
              F.VAP, F.VAP_BINDING, F.SECURITY_GROUP_POLICY, F.MAP, F.MAP_BINDING, F.CLUSTER_NETWORK_POLICY}
"""The kinds the isolation facts read (the others are compared by :func:`drift` only)."""

TENANT_NAMESPACE_KINDS: tuple[tuple[str, str], ...] = (
    (NETWORKING_API_VERSION, "NetworkPolicy"),
    (RBAC_API_VERSION, "Role"),
    (RBAC_API_VERSION, "RoleBinding"),
    (SGP_API_VERSION, SGP_KIND),
)
"""Kinds no tenant persona may write (they are fences): any of them in a tenant namespace that
the render does not hold was put there by someone else, and may open or grant something (an
extra SecurityGroupPolicy ADDS its groups to the pods it selects: the VPC resource controller
appends the groups of every matching policy, ``pkg/utils/helper.go`` ``filterPodSecurityGroups``).
A cluster without the SecurityGroupPolicy CRD simply lists none."""

CLUSTER_LISTS: tuple[tuple[str, str], ...] = ((RBAC_API_VERSION, "RoleBinding"),
                                              (RBAC_API_VERSION, "ClusterRoleBinding"))
"""Kinds verify lists in every namespace at once (bindings of a tenant's subjects anywhere)."""
CLUSTER_POLICIES: tuple[tuple[str, str], ...] = ((CNP_API_VERSION, CNP_KIND),)
"""Cluster-scoped policies verify lists (issue 26): a ClusterNetworkPolicy the render does not hold
may Accept or Pass, ahead of tenancy's walls, what they deny. A cluster without the CRD lists none."""
OWNED_BY_SELF_SERVICE = (NETWORKING_API_VERSION, "NetworkPolicy")
"""The kind a ``selfService.networkPolicies`` tenant writes itself: in its namespace such an object is
the tenant's own (reported, and judged in the tier model by the facts), not drift."""
BOUND_ROLES: tuple[str, str] = (RBAC_API_VERSION, "ClusterRole")
"""Read by name (any name): the ClusterRoles extra bindings refer to."""
NODES: tuple[str, str] = ("v1", "Node")
"""Listed by :func:`max_pods_behaviour`.

These tables, :data:`TENANT_NAMESPACE_KINDS`, the render's own objects (each read by name) and
:func:`persona` (impersonated) are every request verify makes: :mod:`tenancy.verify.rbac` builds
the verifier's RBAC from them, so the two cannot drift."""

FENCES: tuple[tuple[str, str], ...] = (
    ("networking.k8s.io", "networkpolicies"), ("", "resourcequotas"), ("", "limitranges"), ("", "namespaces"),
    ("rbac.authorization.k8s.io", "roles"), ("rbac.authorization.k8s.io", "rolebindings"),
    ("rbac.authorization.k8s.io", "clusterroles"), ("rbac.authorization.k8s.io", "clusterrolebindings"),
    ("", "serviceaccounts"), ("", "endpoints"), ("discovery.k8s.io", "endpointslices"),
    ("admissionregistration.k8s.io", "validatingadmissionpolicies"),
    ("admissionregistration.k8s.io", "validatingadmissionpolicybindings"),
)
"""(group, resource) a persona must not write, in its namespace or cluster-wide: its walls
(network policies, quota, limits, namespace labels, RBAC, admission) and Endpoints/EndpointSlices
(CVE-2021-25740: hand-written endpoints point a Service anywhere)."""
FENCE_VERBS = ("create", "patch", "delete")
ESCALATIONS: tuple[tuple[str, str, str, str], ...] = (
    ("bind", "rbac.authorization.k8s.io", "clusterroles", "cluster-admin"),
    ("bind", "rbac.authorization.k8s.io", "clusterroles", "admin"),
    ("escalate", "rbac.authorization.k8s.io", "roles", ""),
    ("impersonate", "", "users", ""),
    ("impersonate", "", "groups", ""),
    ("impersonate", "", "serviceaccounts", ""),
)
OTHER_NAMESPACE: tuple[tuple[str, str, str], ...] = (
    ("get", "", "pods"), ("list", "", "pods"), ("create", "", "pods"), ("delete", "", "pods"),
    ("get", "", "secrets"), ("list", "", "configmaps"), ("create", "", "pods/exec"),
    ("create", "apps", "deployments"),
)
PEERS_PER_TENANT = 2
"""Other tenants each persona is probed against (its neighbours in name order) plus
``kube-system``: RBAC is the same for every pair, and the isolation facts already judge every
pair statically, so probing all pairs (quadratic in tenants) adds time, not evidence."""


class KubeReader(Protocol):
    def get(self, api_version: str, kind: str, name: str, namespace: str | None = None) -> dict[str, Any] | None: ...

    def list(self, api_version: str, kind: str, namespace: str | None = None) -> list[dict[str, Any]]: ...

    def can(self, user: str, groups: Sequence[str], verb: str, group: str, resource: str,
            namespace: str | None = None, subresource: str = "", name: str = "") -> bool: ...

    def dry_run_create(self, obj: Mapping[str, Any], user: str, groups: Sequence[str]) -> tuple[bool, int, str]: ...


# --------------------------------------------------------------------------------------------
# Comparison


def _quantity(v: Any) -> Decimal | None:
    """A Kubernetes quantity as a number (``1Gi``, ``500m``, ``2``), None when it is not one."""
    if isinstance(v, bool) or not isinstance(v, (str, int, float)):
        return None
    s = str(v).strip()
    suffixes: dict[str, Decimal | int] = {
        "Ki": 2**10, "Mi": 2**20, "Gi": 2**30, "Ti": 2**40, "Pi": 2**50, "Ei": 2**60,
        "n": Decimal("1e-9"), "u": Decimal("1e-6"), "m": Decimal("1e-3"), "k": 10**3, "M": 10**6,
                "G": 10**9, "T": 10**12, "P": 10**15, "E": 10**18}
    for suf in sorted(suffixes, key=len, reverse=True):
        if s.endswith(suf) and s[:-len(suf)]:
            try:
                return Decimal(s[:-len(suf)]) * Decimal(suffixes[suf])
            except InvalidOperation:
                return None
    try:
        return Decimal(s)
    except InvalidOperation:
        return None


def _same_scalar(a: Any, b: Any) -> bool:
    if a == b:
        return True
    qa, qb = _quantity(a), _quantity(b)
    return qa is not None and qb is not None and not isinstance(a, bool) and qa == qb


class Unverified:
    """Stands in a rendered object for a value only the cloud knows and nothing resolved
    (:mod:`tenancy.verify.resolve`): any live value matches it; it is reported "not verified"."""

    def __init__(self, reason: str):
        self.reason = reason

    def __repr__(self) -> str:
        return f"<not verified: {self.reason}>"


def differences(rendered: Any, live: Any, path: str = "") -> list[str]:
    """Where ``live`` does not hold what ``rendered`` sets: every key the render sets must be
    there with the same value (keys the server adds are defaults, not drift), lists must match
    element by element with the same length, quantities compare by value (``1024Mi`` = ``1Gi``).
    An :class:`Unverified` value matches anything that is there."""
    if isinstance(rendered, Unverified):
        return []
    if isinstance(rendered, dict):
        if not isinstance(live, dict):
            return [f"{path or '.'}: rendered an object, live {_short(live)}"]
        out: list[str] = []
        for k, v in rendered.items():
            if k not in live:
                if v in ({}, [], None, False, ""):
                    continue  # empty values are dropped on the way in
                out.append(f"{path}.{k}: missing (rendered {_short(v)})")
            else:
                out += differences(v, live[k], f"{path}.{k}")
        return out
    if isinstance(rendered, list):
        if not isinstance(live, list) or len(live) != len(rendered):
            return [f"{path}: rendered {_short(rendered)}, live {_short(live)}"]
        out = []
        for i, (a, b) in enumerate(zip(rendered, live, strict=True)):
            out += differences(a, b, f"{path}[{i}]")
        return out
    return [] if _same_scalar(rendered, live) else [f"{path}: rendered {_short(rendered)}, live {_short(live)}"]


def _short(v: Any, n: int = 80) -> str:
    """A value as shown in a drift line: its ``repr``, cut at a word boundary past ``n`` characters."""
    return clip(repr(v), n)


def compared(obj: Mapping[str, Any]) -> dict[str, Any]:
    """The part of an object verify compares: everything but ``metadata``/``status``, the
    labels of a Namespace (tenant label and Pod Security levels) and a ServiceAccount's IAM role
    annotation (``eks.amazonaws.com/role-arn``: which role its pods may assume)."""
    out = {k: v for k, v in obj.items() if k not in ("apiVersion", "kind", "metadata", "status")}
    if obj.get("kind") == "Namespace":
        out["metadata"] = {"labels": dict((obj.get("metadata") or {}).get("labels") or {})}
    if obj.get("kind") == "ServiceAccount":  # the IAM role its pods get (IRSA)
        role = ((obj.get("metadata") or {}).get("annotations") or {}).get(IRSA_ANNOTATION)
        out["metadata"] = {"annotations": {IRSA_ANNOTATION: role}} if role is not None else {}
    return out


def project(live: Any, rendered: Any) -> Any:
    """``live`` reduced to the keys ``rendered`` sets (recursively; extra list elements kept
    whole), so that server defaults do not read as changes to the isolation model."""
    if isinstance(live, dict) and isinstance(rendered, dict):
        return {k: project(live[k], rendered[k]) for k in rendered if k in live}
    if isinstance(live, list) and isinstance(rendered, list):
        return [project(x, rendered[i]) if i < len(rendered) else x for i, x in enumerate(live)]
    return live


def describe(obj: Mapping[str, Any]) -> str:
    """``Kind namespace/name`` (``Kind name`` when cluster-scoped): how a report names an object."""
    meta = obj.get("metadata") or {}
    ns = meta.get("namespace")
    return f"{obj.get('kind')} {ns + '/' if ns else ''}{meta.get('name')}"


def _type_of(obj: Mapping[str, Any]) -> str:
    api = str(obj.get("apiVersion"))
    if "/" not in api:
        api = f"core/{api}"
    return f"kubernetes:{api}:{obj.get('kind')}"


# --------------------------------------------------------------------------------------------
# Reading the live platform


@dataclass
class Live:
    """What the cluster holds for one render: the live object of each rendered one (None when
    missing) and the extra objects that touch a tenant."""

    objects: list[tuple[dict[str, Any], dict[str, Any], dict[str, Any] | None]]
    """(rendered resource, rendered manifest, live object or None)."""
    extras: list[tuple[str | None, dict[str, Any], str]]
    """(tenant, live object, why it touches the tenant)."""
    cluster_roles: dict[str, dict[str, Any]]
    """ClusterRoles the extra bindings refer to (so their grants are known)."""
    back: dict[str, str] = field(default_factory=dict)
    """Real value → the render's mock value, for values resolved from the cloud
    (:func:`tenancy.verify.resolve.resolve_live`): the isolation facts read live objects in the
    render's terms."""
    owned: list[tuple[str, dict[str, Any]]] = field(default_factory=list)
    """(tenant, live object): NetworkPolicies self-service tenants wrote in their namespaces."""


def tenant_namespaces(resources: Sequence[Mapping[str, Any]]) -> dict[str, str]:
    """namespace → tenant, from the render's Namespaces."""
    return {manifest_of(r)["metadata"]["name"]: r["tenant"] for r in resources
            if r["type"] == F.NAMESPACE and r.get("tenant")}


def _subject_tenant(s: Mapping[str, Any], binding_ns: str | None, tenants_by_ns: Mapping[str, str]) -> str | None:
    kind, name = s.get("kind"), str(s.get("name") or "")
    if kind == "ServiceAccount":
        return tenants_by_ns.get(str(s.get("namespace") or binding_ns))
    if kind == "Group":
        if name.startswith("system:serviceaccounts:"):
            return tenants_by_ns.get(name.split(":", 2)[2])
        parts = name.split(":")
        if len(parts) == 3 and parts[0] == "tenancy":
            return tenants_by_ns.get(naming.namespace(parts[1]))
    if kind == "User" and name.startswith("system:serviceaccount:"):
        parts = name.split(":")
        return tenants_by_ns.get(parts[2]) if len(parts) > 3 else None
    return None


def read_live(reader: KubeReader, resources: Sequence[Mapping[str, Any]]) -> Live:
    rendered = [(dict(r), manifest_of(r)) for r in resources if is_kubernetes_object(r)]
    by_ns = tenant_namespaces(resources)

    def fetch(pair: tuple[dict[str, Any], dict[str, Any]]) -> tuple[dict[str, Any], dict[str, Any], Any]:
        r, m = pair
        meta = m.get("metadata") or {}
        return r, m, reader.get(m["apiVersion"], m["kind"], meta["name"], meta.get("namespace"))

    with ThreadPoolExecutor(max_workers=8) as pool:
        objects = list(pool.map(fetch, rendered))
    known = {(m["kind"], (m.get("metadata") or {}).get("namespace"), m["metadata"]["name"]) for _, m in rendered}
    extras: list[tuple[str | None, dict[str, Any], str]] = []
    owned: list[tuple[str, dict[str, Any]]] = []
    self_service = self_service_namespaces(resources)
    for ns, tenant in sorted(by_ns.items()):
        for api, kind in TENANT_NAMESPACE_KINDS:
            for obj in reader.list(api, kind, ns):
                obj.setdefault("apiVersion", api)
                obj.setdefault("kind", kind)
                if (kind, ns, obj["metadata"]["name"]) not in known:
                    if (api, kind) == OWNED_BY_SELF_SERVICE and ns in self_service:
                        owned.append((tenant, obj))
                    else:
                        extras.append((tenant, obj, f"in {tenant}'s namespace {ns}, not in the render"))
    for api, kind in CLUSTER_POLICIES:
        for obj in reader.list(api, kind):
            obj.setdefault("apiVersion", api)
            obj.setdefault("kind", kind)
            if (kind, None, obj["metadata"]["name"]) not in known:
                extras.append((None, obj, "cluster-wide, not in the render: it may override the tenancy walls"))
    for api, kind in CLUSTER_LISTS:
        for obj in reader.list(api, kind):
            obj.setdefault("apiVersion", api)
            obj.setdefault("kind", kind)
            bns = (obj.get("metadata") or {}).get("namespace")
            if (kind, bns, obj["metadata"]["name"]) in known or (bns in by_ns):
                continue  # rendered, or already listed as an extra of the tenant namespace
            for s in obj.get("subjects") or []:
                t = _subject_tenant(s, bns, by_ns)
                if t:
                    extras.append((t, obj, f"binds {s.get('kind')} {s.get('name')} of tenant {t}"))
                    break
    roles: dict[str, dict[str, Any]] = {}
    for _, obj, _why in extras:
        ref = obj.get("roleRef") or {}
        if ref.get("kind") == "ClusterRole" and ref.get("name") not in roles:
            cr = reader.get(*BOUND_ROLES, str(ref.get("name")))
            if cr is not None:
                cr.setdefault("apiVersion", RBAC_API_VERSION)
                cr.setdefault("kind", "ClusterRole")
                roles[str(ref["name"])] = cr
    return Live(objects, extras, roles, owned=owned)


def self_service_namespaces(resources: Sequence[Mapping[str, Any]]) -> set[str]:
    """Tenant namespaces whose rendered Roles let a persona create NetworkPolicies
    (``selfService.networkPolicies``)."""
    out = set()
    group, _, _ = NETWORKING_API_VERSION.partition("/")
    for r in resources:
        if r.get("type") != F.ROLE or not r.get("tenant"):
            continue
        obj = r.get("inputs") or {}
        if any(group in (rule.get("apiGroups") or []) and "networkpolicies" in (rule.get("resources") or [])
               and "create" in (rule.get("verbs") or []) for rule in obj.get("rules") or []):
            out.add(str((obj.get("metadata") or {}).get("namespace")))
    return out


def self_service_tenants(resources: Sequence[Mapping[str, Any]]) -> set[str]:
    """Tenants whose people may write Roles/RoleBindings in their namespace, as the render grants
    it (``selfService.rbac``, issue 26)."""
    kinds = {F.NAMESPACE, F.ROLE, F.ROLE_BINDING, F.ACCESS_ENTRY}
    return set(F.facts_of([r for r in resources if r["type"] in kinds]).rbac_writers())


def _tenant_owned(tenant: str | None, obj: Mapping[str, Any], self_service: Iterable[str],
                  tenants_by_ns: Mapping[str, str]) -> str | None:
    """Why an extra Role/RoleBinding in a self-service tenant's namespace is the tenant's own
    (None when it is not: another kind, another tenant, a subject outside the tenant)."""
    meta = obj.get("metadata") or {}
    ns = meta.get("namespace")
    if tenant not in set(self_service) or obj.get("kind") not in ("Role", "RoleBinding") or \
            tenants_by_ns.get(str(ns)) != tenant or str(meta.get("name", "")).startswith(plan.ROLE_PREFIX):
        return None
    outside = [f"{s.get('kind')} {s.get('name')}" for s in obj.get("subjects") or []
               if _subject_tenant(s, ns, tenants_by_ns) != tenant]
    return None if outside else f"{tenant}'s own (selfService.rbac), bounded by escalation prevention"


def drift(live: Live, self_service: Iterable[str] = (), tenants_by_ns: Mapping[str, str] | None = None
          ) -> list[Result]:
    """Rendered objects as rendered, and nothing else in tenant namespaces or binding tenant
    subjects — except, for ``self_service`` tenants (:func:`self_service_tenants`), their own
    Roles and RoleBindings in their namespace that bind only their own subjects (passed, and
    still handed to the isolation facts by :func:`live_resources`)."""
    out: list[Result] = []
    for r, m, obj in live.objects:
        what = describe(m)
        tenant = r.get("tenant")
        if obj is None:
            out.append(failed(DRIFT, tenant, what, "missing from the cluster"))
            continue
        want, have = compared(m), compared(obj)
        if _is_s3_policy(m):
            want, have = _without_s3_ranges(want), _without_s3_ranges(have)
        diffs = differences(want, have)
        if diffs:
            out.append(failed(DRIFT, tenant, what, "; ".join(diffs[:5]) + (f" (+{len(diffs) - 5} more)"
                                                                             if len(diffs) > 5 else "")))
        else:
            out.append(passed(DRIFT, tenant, what, "as rendered"))
    for tenant, obj, why in live.extras:
        ref = obj.get("roleRef") or {}
        extra = f" → {ref.get('kind')} {ref.get('name')}" if ref else ""
        own = _tenant_owned(tenant, obj, self_service, tenants_by_ns or {})
        if own:
            out.append(passed(EXTRA, tenant, describe(obj), own + extra))
            continue
        out.append(failed(EXTRA, tenant, describe(obj), why + extra))
    if not live.extras:
        out.append(passed(EXTRA, None, "tenant namespaces and bindings of tenant subjects",
                          "nothing outside the render"))
    for tenant, obj in live.owned:
        out.append(passed(EXTRA, tenant, describe(obj), "the tenant's own (selfService.networkPolicies): the "
                                                        "Admin-tier walls decide cross-tenant traffic, judged with it "
                                                        "in the facts"))
    return out


def _is_s3_policy(m: Mapping[str, Any]) -> bool:
    """``tenancy-allow-s3``, or a ClusterNetworkPolicy (a tenant's wall may carry an ``s3`` rule)."""
    return (m.get("kind") == "NetworkPolicy" and (m.get("metadata") or {}).get("name") == plan.NP_S3) or \
        m.get("kind") == CNP_KIND


def _without_s3_ranges(spec: dict[str, Any]) -> dict[str, Any]:
    """``tenancy-allow-s3`` without its ``ipBlock`` peers, a tenant wall without the networks of its
    ``s3`` rule: the render holds the mock engine's S3 ranges, the cluster the ones AWS listed at
    deploy time; ``drift.s3-ranges`` (:func:`tenancy.verify.aws.s3_ranges`, or against the stack's
    outputs) judges those against AWS's list as it is now. Every other rule compares whole."""
    out = copy.deepcopy(spec)
    for rule in (out.get("spec") or {}).get("egress") or []:
        if "name" in rule:  # a ClusterNetworkPolicy rule: only the S3 one's networks
            if rule["name"] == cluster_policies.S3_RULE:
                rule["to"] = [t for t in rule.get("to") or [] if "networks" not in t]
            continue
        rule["to"] = [t for t in rule.get("to") or [] if "ipBlock" not in t]
    return out


def live_resources(live: Live) -> list[dict[str, Any]]:
    """The live Kubernetes objects the isolation facts read, as render resources: each rendered
    object replaced by its live state (reduced to what the render sets), missing ones left out,
    extras and the ClusterRoles they bind added."""
    out: list[dict[str, Any]] = []
    for r, m, obj in live.objects:
        if obj is None:
            continue
        res = copy.deepcopy(r)
        if not differences(compared(m), compared(obj)):
            res["inputs"] = copy.deepcopy(r["inputs"])
        else:
            full = _map_strings(project(obj, m), live.back)
            if m.get("kind") == "Namespace":  # labels are the namespace's meaning: keep them all
                full.setdefault("metadata", {})["labels"] = dict((obj.get("metadata") or {}).get("labels") or {})
            res["inputs"] = full
        out.append(res)
    for tenant, obj, _ in live.extras:
        out.append(_as_resource(obj, tenant))
    for tenant, obj in live.owned:
        out.append(_as_resource(obj, tenant))
    for cr in live.cluster_roles.values():
        out.append(_as_resource(cr, None))
    return out


def _map_strings(value: Any, table: Mapping[str, str]) -> Any:
    if not table:
        return value
    if isinstance(value, str):
        return table.get(value, value)
    if isinstance(value, list):
        return [_map_strings(v, table) for v in value]
    if isinstance(value, dict):
        return {k: _map_strings(v, table) for k, v in value.items()}
    return value


def _as_resource(obj: Mapping[str, Any], tenant: str | None) -> dict[str, Any]:
    t = _type_of(obj)
    return {"urn": f"live::{t}::{describe(obj)}", "type": t, "name": obj["metadata"]["name"], "id": None,
            "tenant": None, "custom": True, "inputs": dict(obj), "outputs": {}, "parent": None,
            "dependencies": []}


def replace_kubernetes(resources: Sequence[Mapping[str, Any]], live: Sequence[Mapping[str, Any]]
                       ) -> list[dict[str, Any]]:
    """``resources`` with their fact-bearing Kubernetes objects replaced by ``live``'s."""
    kept = [dict(r) for r in resources if not (is_kubernetes_object(r) and r["type"] in FACT_KINDS)]
    return kept + [dict(r) for r in live if r["type"] in FACT_KINDS]


# --------------------------------------------------------------------------------------------
# Behaviour


DRY_RUN_PERSONA = "edit"
"""The persona verify impersonates for its dry-run creates (the only impersonation it does)."""


def persona(tenant: str, role: str) -> tuple[str, list[str]]:
    """The identity verify impersonates for ``tenant``'s ``role`` (admin, edit, view): a made-up
    user in the group the tenant's access entries map its principals to."""
    return f"tenancy-verify:{tenant}:{role}", [naming.tenant_group(tenant, plan.PERSONAS[role])]


def peers(tenant: str, tenants: Sequence[str]) -> list[str]:
    ordered = sorted(tenants)
    if len(ordered) < 2:
        return []
    i = ordered.index(tenant)
    picks = [ordered[(i + k) % len(ordered)] for k in (1, -1)][:PEERS_PER_TENANT]
    return sorted({p for p in picks if p != tenant})


def namespaces_by_tenant(resources: Sequence[Mapping[str, Any]]) -> dict[str, list[str]]:
    """tenant → every namespace of it in the render (main one first, then its extra ones)."""
    out: dict[str, list[str]] = {}
    for ns, t in tenant_namespaces(resources).items():
        out.setdefault(t, []).append(ns)
    return {t: sorted(nss, key=lambda n: n != naming.namespace(t)) for t, nss in out.items()}  # main first


SELF_SERVICE_ROLE = "admin"
"""The persona ``selfService.rbac`` lets write Roles and RoleBindings in its own namespaces."""
SELF_SERVICE_ESCALATIONS: tuple[tuple[str, str, str, str], ...] = (
    ("bind", "rbac.authorization.k8s.io", "roles", ""),
    ("escalate", "rbac.authorization.k8s.io", "rolebindings", ""),
    ("bind", "rbac.authorization.k8s.io", "clusterroles", "edit"),
)
"""What a self-service admin must still be refused: the verbs that lift escalation prevention."""


def rbac_behaviour(reader: KubeReader, tenants: Sequence[str],
                   namespaces: Mapping[str, Sequence[str]] | None = None,
                   self_service: Iterable[str] = ()) -> list[Result]:
    """Every persona of every tenant, by SubjectAccessReview: no access in its peers' namespaces
    (every one of them) and kube-system, no write of a fence (in each of its own namespaces or
    cluster-wide), no escalation. ``namespaces``: tenant → its namespaces
    (:func:`namespaces_by_tenant`; default each tenant's name alone). For a ``self_service``
    tenant (:func:`self_service_tenants`) the admin persona's writes of Roles and RoleBindings in
    its own namespaces are expected and not probed as fences (cluster-wide ones, ``bind`` and
    ``escalate`` still are, with :data:`SELF_SERVICE_ESCALATIONS` added)."""
    nss = namespaces or {}
    probes: list[tuple[str, str, str, str, str, str | None, str, str]] = []
    self_service = set(self_service)
    for t in tenants:
        mine = list(nss.get(t) or [naming.namespace(t)])
        for role in plan.PERSONAS:
            writes_rbac = t in self_service and role == SELF_SERVICE_ROLE
            for g, res in FENCES:
                for verb in FENCE_VERBS:
                    if not (writes_rbac and res in plan.RBAC_RESOURCES):
                        probes += [(t, role, "own fence", verb, g, own, res, "") for own in mine]
                    probes.append((t, role, "cluster fence", verb, g, None, res, ""))
            for verb, g, res, name in (*ESCALATIONS, *(SELF_SERVICE_ESCALATIONS if writes_rbac else ())):
                probes += [(t, role, "escalation", verb, g, own, res, name) for own in mine]
            for other in [*peers(t, tenants), "kube-system"]:
                for ons in (list(nss.get(other) or [naming.namespace(other)]) if other in tenants else [other]):
                    for verb, g, res in OTHER_NAMESPACE:
                        probes.append((t, role, f"namespace {ons}", verb, g, ons, res, ""))

    def run(p: tuple[str, str, str, str, str, str | None, str, str]) -> tuple[Any, bool]:
        t, role, _, verb, g, ns, res, name = p
        user, groups = persona(t, role)
        resource, _, sub = res.partition("/")
        return p, reader.can(user, groups, verb, g, resource, ns, sub, name)

    with ThreadPoolExecutor(max_workers=8) as pool:
        answers = list(pool.map(run, probes))
    allowed_by: dict[tuple[str, str], list[str]] = {}
    counts: dict[tuple[str, str], int] = {}
    for (t, role, kind, verb, g, ns, res, name), allowed in answers:
        counts[(t, role)] = counts.get((t, role), 0) + 1
        if allowed:
            what = f"{verb} {g or 'core'}/{res}{' ' + name if name else ''} in {ns or 'the cluster scope'}"
            allowed_by.setdefault((t, role), []).append(f"{kind}: may {what}")
    out: list[Result] = []
    for (t, role), n in sorted(counts.items()):
        bad = allowed_by.get((t, role))
        if bad:
            shown = "; ".join(bad[:6]) + (f"; and {len(bad) - 6} more" if len(bad) > 6 else "")
            out.append(failed(RBAC_CHECK, t, f"persona {role}", f"{len(bad)} of {n} access reviews allowed: {shown}"))
        else:
            out.append(passed(RBAC_CHECK, t, f"persona {role}", f"{n} access reviews denied"))
    return out


def _restricted_pod(tenant: str, name: str, node_tenant: str | None, pool: str | None = None) -> dict[str, Any]:
    """A Pod Security ``restricted`` pod in ``tenant``'s namespace, pinned to ``node_tenant``'s
    nodes, or with ``pool`` to that node pool's (no pinning when both are None)."""
    spec: dict[str, Any] = {
        "securityContext": {"runAsNonRoot": True, "runAsUser": 1000, "seccompProfile": {"type": "RuntimeDefault"}},
        "containers": [{"name": "app", "image": "registry.example/tenancy-verify:1",
                        "securityContext": {"allowPrivilegeEscalation": False, "capabilities": {"drop": ["ALL"]}}}],
    }
    key, value = (POOL_LABEL, pool) if pool else (TENANT_LABEL, node_tenant)
    if value:
        spec["nodeSelector"] = {key: value}
        spec["tolerations"] = [{"key": key, "operator": "Equal", "value": value, "effect": "NoSchedule"}]
    return {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": name, "namespace": naming.namespace(tenant)},
            "spec": spec}


def tenant_pools(resources: Iterable[Mapping[str, Any]]) -> dict[str, str]:
    """tenant -> the node pool its namespace is labelled with (pooled tenants only)."""
    out = {}
    for r in resources:
        if r["type"] == F.NAMESPACE and r.get("tenant"):
            pool = ((manifest_of(r).get("metadata") or {}).get("labels") or {}).get(POOL_LABEL)
            if pool:
                out[str(r["tenant"])] = str(pool)
    return out


def injection_policy(resources: Sequence[Mapping[str, Any]]) -> str | None:
    """The rendered MutatingAdmissionPolicy that adds placement to pods, if any (Kubernetes 1.36+)."""
    for r in resources:
        if r["type"] == F.MAP:
            return str(manifest_of(r)["metadata"]["name"])
    return None


def admission_probes(tenant: str, tenants: Sequence[str],
                     pools: Mapping[str, str] | None = None,
                     injected: bool = False) -> list[tuple[str, bool, dict[str, Any]]]:
    """(probe, must be admitted, object) for one tenant. ``pools``: tenant -> node pool of the
    pooled tenants (:func:`tenant_pools`).

    A pooled tenant's pinned probe selects and tolerates its pool and carries NO
    ``vpc.amazonaws.com/pod-eni`` request: on a working cluster the VPC resource controller's
    webhook adds it (the tenant's SecurityGroupPolicy selects every pod; webhooks run on dry-run
    requests too, they declare ``sideEffects: None``), so a refusal naming pod-eni means security
    groups for pods are not working there.

    ``injected``: the render's mutating policy adds the placement a pod leaves out, so the pod
    without a node selector must be ADMITTED — by the placement policy, which still judges it after
    the mutation (admitted means it carries its own placement); pods naming another tenant's or
    pool's nodes must still be refused."""
    pools = pools or {}
    ns = naming.namespace(tenant)
    own_pool = pools.get(tenant)
    privileged = _restricted_pod(tenant, "tenancy-verify-privileged", tenant, own_pool)
    privileged["spec"]["containers"][0]["securityContext"] = {"privileged": True}
    del privileged["spec"]["securityContext"]
    out = [("pinned restricted pod (the platform must stay usable)", True,
            _restricted_pod(tenant, "tenancy-verify-pinned", tenant, own_pool)),
           ("pod without its node selector (placement injected, then judged)" if injected else
            "pod without its node selector", injected, _restricted_pod(tenant, "tenancy-verify-unpinned", None)),
           ("privileged pod", False, privileged)]
    for p in peers(tenant, tenants)[:1]:
        where = f"pool {pools[p]}" if p in pools else f"{p}'s nodes"
        if pools.get(p) is None or pools.get(p) != own_pool:
            out.append((f"pod on {where}", False, _restricted_pod(tenant, "tenancy-verify-elsewhere", p, pools.get(p))))
    if own_pool:
        out.append((f"pod on {tenant}'s own tenant nodes (it is on pool {own_pool})", False,
                    _restricted_pod(tenant, "tenancy-verify-tenant-nodes", tenant)))
    else:
        other_pool = next(iter(sorted(set(pools.values()))), None)
        if other_pool:
            tol = _restricted_pod(tenant, "tenancy-verify-pool-toleration", tenant)
            tol["spec"]["tolerations"].append({"key": POOL_LABEL, "operator": "Equal", "value": other_pool,
                                               "effect": "NoSchedule"})
            out.append((f"pod tolerating pool {other_pool}'s taint", False, tol))
    # Fair share (issue 23): one branch interface per pooled pod, none for dedicated tenants' pods.
    greedy = _restricted_pod(tenant, "tenancy-verify-branch-interfaces", tenant, own_pool)
    extra = copy.deepcopy(greedy["spec"]["containers"][0])
    extra.update(name="greedy", resources={"requests": {POD_ENI_RESOURCE: "37"}, "limits": {POD_ENI_RESOURCE: "37"}})
    greedy["spec"]["containers"].append(extra)
    out.append(("pod asking for 37 more branch network interfaces" if own_pool else
                "pod asking for branch network interfaces (dedicated nodes)", False, greedy))
    if own_pool:
        out.append((f"PodDisruptionBudget with maxUnavailable 0 (would hold pool {own_pool}'s node updates)", False,
                    {"apiVersion": "policy/v1", "kind": "PodDisruptionBudget",
                     "metadata": {"name": "tenancy-verify-blocking-budget", "namespace": ns},
                     "spec": {"maxUnavailable": 0, "selector": {"matchLabels": {"app": "tenancy-verify"}},
                              "unhealthyPodEvictionPolicy": "AlwaysAllow"}}))
    out += [
        ("LoadBalancer Service (no path reaches it)", False,
         {"apiVersion": "v1", "kind": "Service", "metadata": {"name": "tenancy-verify-loadbalancer", "namespace": ns},
          "spec": {"type": "LoadBalancer", "selector": {"app": "x"}, "ports": [{"port": 80}],
                   "allocateLoadBalancerNodePorts": False}}),
        ("Service with externalIPs", False,
         {"apiVersion": "v1", "kind": "Service", "metadata": {"name": "tenancy-verify-externalips", "namespace": ns},
          "spec": {"selector": {"app": "x"}, "ports": [{"port": 80}], "externalIPs": ["203.0.113.10"]}}),
        ("ExternalName Service", False,
         {"apiVersion": "v1", "kind": "Service", "metadata": {"name": "tenancy-verify-externalname", "namespace": ns},
          "spec": {"type": "ExternalName", "externalName": "example.com"}}),
    ]
    return out


def service_policy(resources: Sequence[Mapping[str, Any]]) -> str | None:
    """The rendered admission policy that judges Services, if any (externalIPs/ExternalName)."""
    for r in resources:
        if r["type"] != F.VAP:
            continue
        for rule in ((manifest_of(r).get("spec") or {}).get("matchConstraints") or {}).get("resourceRules") or []:
            if "services" in (rule.get("resources") or []) or "*" in (rule.get("resources") or []):
                return str(manifest_of(r)["metadata"]["name"])
    return None


def budget_policy(resources: Sequence[Mapping[str, Any]]) -> str | None:
    """The rendered admission policy that judges PodDisruptionBudgets, if any (pooled tenants)."""
    for r in resources:
        if r["type"] != F.VAP:
            continue
        for rule in ((manifest_of(r).get("spec") or {}).get("matchConstraints") or {}).get("resourceRules") or []:
            if "poddisruptionbudgets" in (rule.get("resources") or []):
                return str(manifest_of(r)["metadata"]["name"])
    return None


def admission_behaviour(reader: KubeReader, resources: Sequence[Mapping[str, Any]],
                        tenants: Sequence[str]) -> list[Result]:
    """Dry-run creates as each tenant's editor."""
    svc_policy = service_policy(resources)
    pdb_policy = budget_policy(resources)
    pools = tenant_pools(resources)
    injected = injection_policy(resources) is not None
    jobs = [(t, name, must, obj) for t in tenants
            for name, must, obj in admission_probes(t, tenants, pools, injected)]
    for t, nss in namespaces_by_tenant(resources).items():  # placement in each extra namespace too
        for ns in nss[1:] if t in tenants else ():
            for name, must, obj in admission_probes(t, tenants, pools, injected)[:2]:  # pinned, unpinned
                moved = copy.deepcopy(obj)
                moved["metadata"]["namespace"] = ns
                jobs.append((t, f"{name} in namespace {ns}", must, moved))

    def run(job: tuple[str, str, bool, dict[str, Any]]) -> tuple[Any, tuple[bool, int, str] | None]:
        t, name, must, obj = job
        if (obj["kind"] == "Service" and svc_policy is None) or \
                (obj["kind"] == "PodDisruptionBudget" and pdb_policy is None):
            return job, None
        user, groups = persona(t, DRY_RUN_PERSONA)
        return job, reader.dry_run_create(obj, user, groups)

    with ThreadPoolExecutor(max_workers=8) as pool:
        answers = list(pool.map(run, jobs))
    out: list[Result] = []
    for (t, name, must, _obj), verdict in answers:
        what = f"dry-run create as {t}'s editor: {name}"
        if verdict is None:
            kind = "Services (externalIPs/ExternalName" if _obj["kind"] == "Service" else \
                "PodDisruptionBudgets (pool budgets"
            out.append(skipped(ADMISSION_CHECK, t, what, f"the render holds no admission policy over {kind} are not "
                                                          "fenced by this render)"))
            continue
        admitted, status, message = verdict
        # ResourceQuota is the last admission plugin (after Pod Security and the admission
        # policies; kubernetes/kubernetes pkg/kubeapiserver/options/plugins.go, AllOrderedPlugins):
        # a quota refusal means every fence before it admitted the object.
        by_quota = not admitted and "exceeded quota" in message
        if must and by_quota:
            out.append(skipped(ADMISSION_CHECK, t, what, f"the tenant is at its quota (every other fence admitted "
                                                         f"it): {message}"))
        elif by_quota:
            out.append(failed(ADMISSION_CHECK, t, what, f"only the quota refused it (no fence did): {message}"))
        elif must and not admitted:
            out.append(failed(ADMISSION_CHECK, t, what, f"refused (HTTP {status}): {message}"))
        elif not must and admitted:
            out.append(failed(ADMISSION_CHECK, t, what, "admitted: nothing refused it"))
        elif must:
            out.append(passed(ADMISSION_CHECK, t, what, "admitted"))
        else:
            by = "RBAC" if status == 403 and " cannot " in message else "admission"
            out.append(passed(ADMISSION_CHECK, t, what, f"refused by {by} (HTTP {status}): {message}"))
    return out


def tenants_of(resources: Iterable[Mapping[str, Any]]) -> list[str]:
    return sorted({r["tenant"] for r in resources if r.get("tenant") and r["type"] == F.NAMESPACE})


# --------------------------------------------------------------------------------------------
# kubelet maxPods on nodes with a trunk (issue 23)

MAX_PODS_CHECK = "behaviour.max-pods"
TRUNK_LABEL = "vpc.amazonaws.com/has-trunk-attached"
"""Set on a node by the VPC CNI (``ENABLE_POD_ENI``) and turned ``true`` by the VPC resource controller
once the node's trunk interface is attached (amazon-vpc-resource-controller-k8s, node manager)."""
INSTANCE_TYPE_LABEL = "node.kubernetes.io/instance-type"


def max_pods_behaviour(reader: KubeReader) -> list[Result]:
    """Every node carrying a trunk reports a pod capacity within what its other interfaces' addresses
    hold (:func:`tenancy.plan.pools.max_pods`): a node whose launch template's maxPods was not applied
    would schedule pods that wait for an address forever."""
    table = pool_plan.branch_eni_table()
    out: list[Result] = []
    for node in reader.list(*NODES):
        meta = node.get("metadata") or {}
        labels = meta.get("labels") or {}
        if labels.get(TRUNK_LABEL) != "true":
            continue
        name, itype = str(meta.get("name")), str(labels.get(INSTANCE_TYPE_LABEL))
        limits = table.get(itype)
        what = f"node {name} ({itype}, trunk attached)"
        if limits is None:
            out.append(skipped(MAX_PODS_CHECK, None, what, "instance type not in the package's table"))
            continue
        pooled = any(t.get("key") == POOL_LABEL for t in (node.get("spec") or {}).get("taints") or [])
        limit = pool_plan.max_pods(limits, trunk=True, branch_pods=pooled)
        try:
            pods = int(str(((node.get("status") or {}).get("capacity") or {}).get("pods")))
        except (TypeError, ValueError):
            out.append(skipped(MAX_PODS_CHECK, None, what, "no pod capacity reported yet"))
            continue
        if pods > limit:
            out.append(failed(MAX_PODS_CHECK, None, what, f"kubelet maxPods {pods}, over the {limit} its interfaces "
                                                          "hold besides the trunk: the launch template's maxPods "
                                                          "was not applied"))
        else:
            out.append(passed(MAX_PODS_CHECK, None, what, f"kubelet maxPods {pods} <= {limit}"))
    return out
