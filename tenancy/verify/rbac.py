"""The least RBAC ``tenancy verify`` needs on one platform (``tenancy verify --print-rbac``).

Built from what verify's Kubernetes checks request (:mod:`tenancy.verify.kube`'s tables, which
``read_live``, ``max_pods_behaviour`` and ``admission_behaviour`` use themselves) and from the render,
so it holds exactly:

- ``get`` on every object the render holds, by name (``resourceNames``);
- ``list`` of the kinds no tenant may write (:data:`~tenancy.verify.kube.TENANT_NAMESPACE_KINDS`,
  read in each tenant namespace); ``list`` of RoleBindings, ClusterRoleBindings and
  ClusterNetworkPolicies (:data:`~tenancy.verify.kube.CLUSTER_POLICIES`) cluster-wide
  and ``get`` of any ClusterRole (a binding of a tenant's subject may be anywhere, to any role);
  ``list`` of Nodes (maxPods on trunk nodes); ``get`` of the PolicyEndpoint CRD by name and
  ``list`` of PolicyEndpoints (:mod:`tenancy.verify.endpoints`);
- ``create`` of SubjectAccessReviews (the personas' access reviews) and SelfSubjectReviews (the
  identity in the report), ``get`` of discovery and ``/version``;
- ``impersonate`` of exactly the users and groups of the dry-run persona of each tenant
  (:func:`~tenancy.verify.kube.persona`), by ``resourceNames``: never ``system:masters`` nor any
  other identity. The dry-run creates themselves are authorized as the impersonated editor (the API
  server authorizes an impersonated request as the impersonated user:
  ``k8s.io/apiserver/pkg/endpoints/filters/impersonation.go`` ``WithImpersonation``), so the
  verifier needs no ``create`` on pods or Services.

Impersonating a tenant's editors is the price of the dry runs: whoever holds the role may do what
those editors may (``dryRun`` is not an RBAC attribute); verify cannot test the admission chain
as a tenant any other way.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from tenancy.render.result import is_kubernetes_object, manifest_of
from tenancy.spec.wire import RBAC_API_VERSION
from tenancy.verify import endpoints as E
from tenancy.verify import kube as K

NAME = "tenancy-verify"
DEFAULT_SUBJECT = "Group:tenancy:verifiers"
DISCOVERY_URLS = ("/api", "/api/*", "/apis", "/apis/*", "/version")
"""``KubeClient._discover`` and ``reachable`` (granted to every authenticated user by the default
``system:discovery`` ClusterRole too; listed so the role does not depend on it)."""
REVIEWS: tuple[tuple[str, str], ...] = (("authorization.k8s.io", "subjectaccessreviews"),
                                        ("authentication.k8s.io", "selfsubjectreviews"))
"""``KubeClient.can`` and ``KubeClient.whoami``."""
RBAC_GROUP = RBAC_API_VERSION.rpartition("/")[0]
IRREGULAR = {"Endpoints": "endpoints"}


def resource_of(kind: str) -> str:
    """The REST resource (plural) of ``kind``, as the API server derives it for built-in kinds and
    CRDs that do not override it (``k8s.io/apimachinery/pkg/api/meta/restmapper.go``
    ``UnsafeGuessKindToResource``)."""
    if kind in IRREGULAR:
        return IRREGULAR[kind]
    k = kind.lower()
    if k.endswith("s"):
        return k + "es"
    if k.endswith("y"):
        return k[:-1] + "ies"
    return k + "s"


def group_of(api_version: str) -> str:
    return api_version.rpartition("/")[0]


def parse_subject(text: str) -> dict[str, str]:
    """``Group:NAME``, ``User:NAME`` or ``ServiceAccount:NAMESPACE/NAME`` as an RBAC subject."""
    kind, sep, name = text.partition(":")
    if not sep or not name or kind not in ("Group", "User", "ServiceAccount"):
        raise ValueError(f"--rbac-subject {text!r}: write Group:NAME, User:NAME or ServiceAccount:NAMESPACE/NAME")
    if kind == "ServiceAccount":
        ns, slash, sa = name.partition("/")
        if not slash or not ns or not sa:
            raise ValueError(f"--rbac-subject {text!r}: a ServiceAccount is ServiceAccount:NAMESPACE/NAME")
        return {"kind": kind, "name": sa, "namespace": ns}
    return {"kind": kind, "apiGroup": RBAC_GROUP, "name": name}


def _rules(wanted: Mapping[tuple[str, str, str], set[str] | None]) -> list[dict[str, Any]]:
    """(group, resource, verb) -> resourceNames (None: any name) as sorted rules."""
    out = []
    for (group, resource, verb), names in sorted(wanted.items()):
        rule: dict[str, Any] = {"apiGroups": [group], "resources": [resource], "verbs": [verb]}
        if names is not None:
            rule["resourceNames"] = sorted(names)
        out.append(rule)
    return out


def _want(table: dict[tuple[str, str, str], set[str] | None], api_version: str, kind: str, verb: str,
          name: str | None = None) -> None:
    key = (group_of(api_version), resource_of(kind), verb)
    if name is None:
        table[key] = None
    elif key not in table:
        table[key] = {name}
    elif table[key] is not None:
        table[key].add(name)  # type: ignore[union-attr]


def verifier_rbac(resources: Sequence[Mapping[str, Any]], subject: Mapping[str, str] | None = None
                  ) -> list[dict[str, Any]]:
    """The ClusterRole and ClusterRoleBinding that let ``subject`` run every Kubernetes check of
    ``tenancy verify`` on this render.

    One cluster-wide role, not Roles in the tenant namespaces: verify reports every Role and
    RoleBinding in a tenant namespace that the render does not hold (``drift.kubernetes.extra``),
    its own included, and it must not learn to excuse any by name."""
    subject = dict(subject or parse_subject(DEFAULT_SUBJECT))
    wanted: dict[tuple[str, str, str], set[str] | None] = {}
    for r in resources:
        if is_kubernetes_object(r):
            m = manifest_of(r)
            _want(wanted, m["apiVersion"], m["kind"], "get", m["metadata"]["name"])
    tenants = K.tenants_of(resources)
    if tenants:
        for api, kind in K.TENANT_NAMESPACE_KINDS:
            _want(wanted, api, kind, "list")
    for api, kind in (*K.CLUSTER_LISTS, *K.CLUSTER_POLICIES):
        _want(wanted, api, kind, "list")
    _want(wanted, *K.BOUND_ROLES, "get")
    _want(wanted, *K.NODES, "list")
    _want(wanted, E.CRD[0], E.CRD[1], "get", E.CRD[2])  # whether the cluster has PolicyEndpoints
    _want(wanted, *E.POLICY_ENDPOINTS, "list")
    for group, resource in REVIEWS:
        wanted[(group, resource, "create")] = None
    users, groups = set(), set()
    for t in tenants:
        user, gs = K.persona(t, K.DRY_RUN_PERSONA)
        users.add(user)
        groups.update(gs)
    if users:
        wanted[("", "users", "impersonate")] = users
    if groups:
        wanted[("", "groups", "impersonate")] = groups
    rules = _rules(wanted) + [{"nonResourceURLs": list(DISCOVERY_URLS), "verbs": ["get"]}]
    return [
        {"apiVersion": RBAC_API_VERSION, "kind": "ClusterRole", "metadata": {"name": NAME}, "rules": rules},
        {"apiVersion": RBAC_API_VERSION, "kind": "ClusterRoleBinding", "metadata": {"name": NAME},
         "roleRef": {"apiGroup": RBAC_GROUP, "kind": "ClusterRole", "name": NAME}, "subjects": [subject]}]


def as_yaml(objects: Sequence[Mapping[str, Any]]) -> str:
    import yaml

    return "---\n".join(yaml.safe_dump(dict(o), sort_keys=False) for o in objects)
