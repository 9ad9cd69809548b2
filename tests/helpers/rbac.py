"""An independent reading of rendered RBAC objects: Kubernetes' own authorization semantics
(wildcards included), written from the RBAC docs, not from the code that generated the Roles.

- :func:`allows` answers "may these rules do VERB on GROUP/RESOURCE?" as the RBAC authorizer
  does (``*`` in apiGroups, resources and verbs matches everything; ``resource/*`` matches every
  subresource).
- :func:`escalation_problems` lists every way a tenant's rendered RBAC could loosen its fences.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

WRITE_VERBS = ("create", "update", "patch", "delete", "deletecollection")
ESCALATION_VERBS = ("bind", "escalate", "impersonate")

FENCES: tuple[tuple[str, str], ...] = (
    ("networking.k8s.io", "networkpolicies"),
    ("extensions", "networkpolicies"),
    ("", "resourcequotas"),
    ("", "resourcequotas/status"),
    ("", "limitranges"),
    ("", "namespaces"),
    ("", "namespaces/status"),
    ("", "namespaces/finalize"),
    ("rbac.authorization.k8s.io", "roles"),
    ("rbac.authorization.k8s.io", "rolebindings"),
    ("rbac.authorization.k8s.io", "clusterroles"),
    ("rbac.authorization.k8s.io", "clusterrolebindings"),
    ("", "serviceaccounts"),
    ("", "serviceaccounts/token"),
    ("", "endpoints"),
    ("discovery.k8s.io", "endpointslices"),
    ("admissionregistration.k8s.io", "validatingadmissionpolicies"),
    ("admissionregistration.k8s.io", "validatingadmissionpolicybindings"),
    ("security.istio.io", "peerauthentications"),
    ("security.istio.io", "authorizationpolicies"),
    ("vpcresources.k8s.aws", "securitygrouppolicies"),
    ("scheduling.k8s.io", "priorityclasses"),
)
"""(group, resource) pairs no tenant persona may write: the fences (network policies, quota,
limits, namespace, RBAC, service accounts and their tokens, the mesh's policies, admission, the
pods' security groups (SecurityGroupPolicy) and the tiers' PriorityClasses) and
Endpoints/EndpointSlices (CVE-2021-25740: hand-written endpoints can point a Service anywhere)."""


def _matches(pattern: str, value: str) -> bool:
    if pattern == "*":
        return True
    if pattern.endswith("/*"):
        return value.split("/", 1)[0] == pattern[:-2] and "/" in value
    return pattern == value


def allows(rules: Iterable[Mapping[str, Any]], verb: str, group: str, resource: str) -> bool:
    """Whether any rule grants ``verb`` on ``group``/``resource`` (any resource name)."""
    for rule in rules:
        if rule.get("resourceNames"):
            continue  # restricted to named objects: not a blanket grant (reported separately)
        if (any(_matches(g, group) for g in rule.get("apiGroups", []))
                and any(_matches(r, resource) for r in rule.get("resources", []))
                and any(v in ("*", verb) for v in rule.get("verbs", []))):
            return True
    return False


def escalation_problems(manifests: Iterable[Mapping[str, Any]], tenant_namespaces: Iterable[str]) -> list[str]:
    """Every RBAC finding in ``manifests`` (one tenant's or many), as readable strings."""
    namespaces = set(tenant_namespaces)
    problems: list[str] = []
    roles: dict[tuple[str, str], Mapping[str, Any]] = {}
    for m in manifests:
        kind = m.get("kind")
        meta = m.get("metadata", {})
        where = f"{kind} {meta.get('namespace', '')}/{meta.get('name')}"
        if kind in ("ClusterRole", "ClusterRoleBinding"):
            problems.append(f"{where}: cluster-scoped RBAC in a tenant bundle")
        if kind == "Role":
            roles[(meta.get("namespace"), meta.get("name"))] = m
            for rule in m.get("rules", []):
                if rule.get("nonResourceURLs"):
                    problems.append(f"{where}: nonResourceURLs")
                bad = sorted(set(rule.get("verbs", [])) & {"*", *ESCALATION_VERBS})
                if bad:
                    problems.append(f"{where}: grants verb(s) {bad} ({rule})")
            for group, resource in FENCES:
                for verb in WRITE_VERBS:
                    if allows(m.get("rules", []), verb, group, resource):
                        problems.append(f"{where}: may {verb} {group or 'core'}/{resource}")
        if kind == "RoleBinding":
            ns = meta.get("namespace")
            ref = m.get("roleRef", {})
            if ref.get("kind") != "Role":
                problems.append(f"{where}: binds {ref.get('kind')} {ref.get('name')} (only the namespace's Roles)")
            for s in m.get("subjects", []):
                name = s.get("name", "")
                if s.get("kind") != "Group" or not name.startswith(f"tenancy:{ns}:"):
                    problems.append(f"{where}: subject {s.get('kind')} {name!r} is not one of the tenant's groups")
            if ns not in namespaces:
                problems.append(f"{where}: outside the tenant namespaces")
    for m in manifests:
        if m.get("kind") == "RoleBinding":
            ref = m.get("roleRef", {})
            ns = m.get("metadata", {}).get("namespace")
            if ref.get("kind") == "Role" and (ns, ref.get("name")) not in roles:
                problems.append(f"RoleBinding {ns}/{m['metadata']['name']}: binds a Role the bundle does not define")
    return problems
