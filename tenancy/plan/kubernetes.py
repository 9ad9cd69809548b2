"""Each tenant's in-cluster objects as plain Kubernetes manifests (no Pulumi).

Every function returns dicts exactly as the API server receives them (``apiVersion``, ``kind``,
``metadata``, ``spec``…, camelCase keys). :mod:`tenancy.components.bundle` registers them unchanged with
typed pulumi_kubernetes resources, and the tests hand them to independent analysers
(kubernetes-validate, network-config-analyzer) as they are.

What a tenant gets (see ``docs/bundle.md``):

- a Namespace labelled with its tenant, its tier (``tenancy/tier``), its pool when it is pooled
  (``tenancy/pool``) and Pod Security Admission ``restricted`` (enforce, audit, warn);
- a ResourceQuota and a LimitRange, and the tier quota ``tenancy-tier`` admitting only its tier's
  PriorityClass;
- when pooled: the SecurityGroupPolicy ``tenancy-pod-security-groups`` putting the tenant's own
  security groups on every pod of the namespace (security groups for pods);
- Roles ``tenancy-admin|edit|view`` bound to the groups ``tenancy:<tenant>:admins|editors|viewers``;
- its ServiceAccounts (annotated with their IAM role for IRSA) and the default ServiceAccount
  without an automounted token;
- NetworkPolicies: default-deny both ways, the namespace to itself, DNS to kube-dns, and opt-ins
  (internet egress, ingress controller, AWS endpoints, EKS Pod Identity agent);
- with Istio: STRICT mTLS and an ALLOW policy admitting only its own namespace.

A relation between two tenants (``allowFrom``) is one *edge*: :func:`edge_manifests` gives its
objects, one set per edge, so that adding a tenant never changes another tenant's objects.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from tenancy.plan import admission
from tenancy.spec import EdgePort, TenantSpec, WorkloadsSpec, naming
from tenancy.spec.wire import (
    IRSA_ANNOTATION,
    ISTIO_REV_LABEL,
    LOAD_BALANCERS_LABEL,
    MANAGED_BY_LABEL,
    NAMESPACE_NAME_LABEL,
    NETWORKING_API_VERSION,
    NODE_PORTS_LABEL,
    PEER_LABEL,
    POD_ENI_RESOURCE,
    POOL_LABEL,
    RBAC_API_VERSION,
    SGP_API_VERSION,
    SGP_KIND,
    SIBLING_LABEL_PREFIX,
    TENANT_LABEL,
    TIER_LABEL,
)

Manifest = dict[str, Any]

# --------------------------------------------------------------------------------------------
# Constants the tests and docs refer to

PSA_LEVEL = "restricted"
IMDS_CIDR = "169.254.169.254/32"
LINK_LOCAL_CIDR = "169.254.0.0/16"
"""Excluded from internet egress: the instance metadata service (169.254.169.254), the EKS Pod
Identity agent (169.254.170.23) and every other node-local endpoint live here."""
POD_IDENTITY_AGENT_CIDR = "169.254.170.23/32"
POD_IDENTITY_AGENT_PORT = 80
KUBE_DNS_NAMESPACE = "kube-system"
KUBE_DNS_LABELS = {"k8s-app": "kube-dns"}
"""CoreDNS on EKS: pods labelled ``k8s-app: kube-dns`` in ``kube-system``."""
ISTIOD_NAMESPACE = "istio-system"
ISTIOD_LABELS = {"app": "istiod"}
ISTIOD_PORT = 15012
"""istiod's xDS/CA port, which every sidecar must reach once egress is denied by default."""

ROLE_PREFIX = "tenancy-"
PERSONAS: dict[str, str] = {"admin": "admins", "edit": "editors", "view": "viewers"}
"""Role suffix -> group persona (``naming.tenant_group(tenant, persona)``)."""

NP_DEFAULT_DENY = "tenancy-default-deny"
NP_SAME_NAMESPACE = "tenancy-allow-same-namespace"
NP_TENANT_NAMESPACES = "tenancy-allow-tenant-namespaces"
"""Only in tenants with extra ``namespaces``: the tenant's namespaces to each other."""
NP_DNS = "tenancy-allow-dns"
NP_INTERNET = "tenancy-allow-internet-egress"
NP_INGRESS_CONTROLLER = "tenancy-allow-ingress-controller"
NP_AWS_SERVICES = "tenancy-allow-aws-services"
NP_POD_IDENTITY = "tenancy-allow-pod-identity-agent"
NP_S3 = "tenancy-allow-s3"
NP_ISTIOD = "tenancy-allow-istiod"
NP_KUBE_API = "tenancy-allow-kubernetes-api"
EDGE_INGRESS_PREFIX = "tenancy-allow-from-"
EDGE_EGRESS_PREFIX = "tenancy-allow-to-"
"""Edge policies are named after the peer. No base policy name starts with these prefixes, so a
tenant called e.g. ``dns`` cannot collide with a base policy."""

READ = ["get", "list", "watch"]
WRITE = ["create", "update", "patch", "delete", "deletecollection"]

FENCE_RESOURCES = frozenset({"networkpolicies", "resourcequotas", "limitranges", "namespaces",
                             "roles", "rolebindings", "serviceaccounts", "serviceaccounts/token",
                             "securitygrouppolicies", "priorityclasses"})
"""What the platform owns inside a tenant namespace (and the cluster-scoped PriorityClasses): no
tenant persona may write these."""

# Tiers (issue 13)
TIERS = ("premium", "standard")
PRIORITY_CLASSES: dict[str, str] = {"premium": "tenancy-premium", "standard": "tenancy-standard"}
"""Tier -> the cluster-scoped PriorityClass its tenants' pods may use."""
PRIORITY_VALUES: dict[str, int] = {"premium": 100_000, "standard": 10_000}
"""Above 0 (pods that name no class) and far below ``system-cluster-critical`` (2000000000) and
``system-node-critical`` (2000001000): the node agents and add-ons always win. User-defined classes
may not exceed 1000000000 (``HighestUserDefinablePriority``, k8s.io/api/scheduling/v1)."""
PREEMPTION_POLICIES: dict[str, str] = {"premium": "PreemptLowerPriority", "standard": "Never"}
"""Premium pods may evict lower-priority pods to get scheduled (on a shared pool: standard
tenants' pods — the point of the premium tier); standard pods queue ahead of unclassed pods but
never evict anyone, so one standard tenant on a pool cannot evict another's pods."""
TIER_QUOTA = "tenancy-tier"
QUOTA_NAME = "tenancy-quota"
"""The ResourceQuota of each tenant namespace (``quota``)."""
SGP_NAME = admission.POD_SECURITY_GROUP_POLICY
"""The SecurityGroupPolicy in each pooled tenant's namespace."""


# --------------------------------------------------------------------------------------------
# Helpers


def labels(tenant: str, **extra: str) -> dict[str, str]:
    """Labels on every object a tenant owns."""
    out = {TENANT_LABEL: tenant, MANAGED_BY_LABEL: naming.MANAGED_BY}
    out.update(extra)
    return out


def _meta(name: str, tenant: str, namespace: str | None = None, **extra_labels: str) -> dict[str, Any]:
    meta: dict[str, Any] = {"name": name}
    if namespace is not None:
        meta["namespace"] = namespace
    meta["labels"] = labels(tenant, **extra_labels)
    return meta


def namespace_selector(namespace: str) -> dict[str, Any]:
    """Select exactly one namespace by the label the API server sets and users cannot change."""
    return {"matchLabels": {NAMESPACE_NAME_LABEL: namespace}}


def namespaces_selector(namespaces: Sequence[str]) -> dict[str, Any]:
    """Select exactly these namespaces (by the API server's ``kubernetes.io/metadata.name``):
    :func:`namespace_selector` for one, ``In [...]`` for several (a tenant with extra
    ``namespaces``)."""
    if len(namespaces) == 1:
        return namespace_selector(namespaces[0])
    return {"matchExpressions": [{"key": NAMESPACE_NAME_LABEL, "operator": "In", "values": list(namespaces)}]}


# --------------------------------------------------------------------------------------------
# Namespace, quota, limits


def injection_labels(workloads: WorkloadsSpec) -> dict[str, str]:
    """With ``mesh: istio``, the namespace label that makes Istio inject a sidecar into EVERY pod
    of the namespace (tenants cannot label namespaces, and a pod-level opt-in would leave the
    STRICT mTLS policy to cover only the pods that chose it): ``istio.io/rev=<revision>`` with a
    revision, else ``istio-injection=enabled``."""
    if workloads.mesh != "istio":
        return {}
    if workloads.istio.revision:
        return {ISTIO_REV_LABEL: workloads.istio.revision}
    return {"istio-injection": "enabled"}


def pool_of(tenant: TenantSpec) -> str | None:
    """The pool a tenant's pods run on (``None``: dedicated nodes)."""
    return tenant.pool


def tier_of(tenant: TenantSpec) -> str:
    """The tenant's tier (the spec fills it: premium for dedicated, standard for pooled tenants)."""
    return str(tenant.tier)


def placement_labels(tenant: TenantSpec) -> dict[str, str]:
    """The namespace labels the admission policies read: ``tenancy/tier`` always, ``tenancy/pool``
    when pooled (tenants cannot write their namespace's labels)."""
    out = {TIER_LABEL: tier_of(tenant)}
    pool = pool_of(tenant)
    if pool:
        out[POOL_LABEL] = pool
    return out


def namespace(tenant: TenantSpec, pod_security_version: str = "latest",
              extra_labels: Mapping[str, str] | None = None, name: str | None = None) -> Manifest:
    """The tenant's Namespace ``name`` (default its main one) with Pod Security Admission
    ``restricted`` enforced, audited and warned, labelled with its tenant, its tier and, when
    pooled, its pool (read by the placement policy). Every namespace of a tenant gets the same
    labels; a tenant with several namespaces also lists them all (:func:`sibling_labels`).
    ``kubernetes.io/metadata.name`` is added by the API server, not here."""
    name = name or naming.namespace(tenant.name)
    psa: dict[str, str] = {}
    for mode in ("enforce", "audit", "warn"):
        psa[f"pod-security.kubernetes.io/{mode}"] = PSA_LEVEL
        psa[f"pod-security.kubernetes.io/{mode}-version"] = pod_security_version
    # Grants read by the Service exposure admission policy (tenants cannot write these labels).
    grants: dict[str, str] = {}
    if tenant.quota.load_balancers > 0:
        grants[LOAD_BALANCERS_LABEL] = admission.ALLOWED
    if tenant.quota.node_ports > 0:
        grants[NODE_PORTS_LABEL] = admission.ALLOWED
    return {
        "apiVersion": "v1",
        "kind": "Namespace",
        "metadata": {"name": name, "labels": {**labels(tenant.name), **psa, **grants, **placement_labels(tenant),
                                              **sibling_labels(tenant), **(extra_labels or {})}},
    }


def sibling_labels(tenant: TenantSpec) -> dict[str, str]:
    """``namespace.tenancy/<ns>: <ns>`` for each namespace of a tenant with several (none with one):
    an admission policy sees only the namespace of the request, so this is how ``tenancy-tenant-rbac``
    and the NetworkPolicy guard know that a ServiceAccount of the tenant's other namespace is the
    tenant too — bindable by its admins, and judged like them when it writes (tenants cannot write
    their namespace's labels). A tenant with one namespace keeps its labels unchanged."""
    names = naming.tenant_namespaces(tenant)
    return {f"{SIBLING_LABEL_PREFIX}{ns}": ns for ns in names} if len(names) > 1 else {}


OBJECT_COUNTS: dict[str, str] = {
    "secrets": "count/secrets",
    "config_maps": "count/configmaps",
    "deployments": "count/deployments.apps",
    "replica_sets": "count/replicasets.apps",
    "stateful_sets": "count/statefulsets.apps",
    "jobs": "count/jobs.batch",
    "cron_jobs": "count/cronjobs.batch",
    "leases": "count/leases.coordination.k8s.io",
    "ingresses": "count/ingresses.networking.k8s.io",
    "horizontal_pod_autoscalers": "count/horizontalpodautoscalers.autoscaling",
    "pod_disruption_budgets": "count/poddisruptionbudgets.policy",
}
"""``quota.objects`` field -> the ResourceQuota key (``count/<resource>.<group>``, Kubernetes docs,
"Resource Quotas", "Object count quota")."""
POD_ENI_QUOTA = f"requests.{POD_ENI_RESOURCE}"
"""Extended resources are quota'd by request only (the ``requests.`` prefix; Kubernetes docs,
"Resource Quotas", "Resource quota for extended resources": "quota items must have the prefix
``requests.``")."""


def resource_quota(tenant: TenantSpec, storage: bool = True, ns: str | None = None) -> Manifest:
    """The namespace's ResourceQuota. ``cpu``, ``memory`` and ``ephemeral-storage`` cap requests
    and limits alike; LoadBalancer and NodePort services are 0 unless the spec allows them; PVCs
    and storage are 0 without a storage driver (``workloads.storage: none``); every kind in
    ``quota.objects`` is counted (``count/<resource>``); ``requests.vpc.amazonaws.com/pod-eni`` is
    ``quota.pods`` for a pooled tenant (one branch interface per pod, issue 23) and 0 for a dedicated
    one.

    ``ns``: the tenant's namespace (default its main one). With extra ``namespaces`` each gets its
    share of ``quota`` (:meth:`TenantSpec.namespace_quota`): ResourceQuota is namespaced, and a
    copy of the whole quota in each namespace would multiply the tenant's budget past what the
    capacity checks (pool pods and branch interfaces, disks) count for it."""
    ns = ns or naming.namespace(tenant.name)
    q = tenant.namespace_quota(naming.tenant_namespaces(tenant).index(ns))
    hard = {
        "requests.cpu": q.cpu,
        "limits.cpu": q.cpu,
        "requests.memory": q.memory,
        "limits.memory": q.memory,
        "pods": str(q.pods),
        "services": str(q.services),
        "persistentvolumeclaims": str(q.persistent_volume_claims) if storage else "0",
        "requests.storage": q.storage if storage else "0",
        "services.loadbalancers": str(q.load_balancers),
        "services.nodeports": str(q.node_ports),
        "requests.ephemeral-storage": q.ephemeral_storage,
        "limits.ephemeral-storage": q.ephemeral_storage,
        POD_ENI_QUOTA: str(q.pods) if tenant.pooled else "0",
        **{key: str(getattr(q.objects, field)) for field, key in OBJECT_COUNTS.items()},
    }
    return {
        "apiVersion": "v1",
        "kind": "ResourceQuota",
        "metadata": _meta(QUOTA_NAME, tenant.name, ns),
        "spec": {"hard": hard},
    }


def tier_quota(tenant: TenantSpec, ns: str | None = None) -> Manifest:
    """The ResourceQuota ``tenancy-tier``: zero pods that name a PriorityClass other than the
    tenant's tier's. The scope selector's requirements are ANDed; ``PriorityClass Exists`` matches
    pods that set ``spec.priorityClassName`` and ``NotIn [<own class>]`` those whose class is not
    the tenant's (k8s.io/kubernetes pkg/quota/v1/evaluator/core/pods.go, ``podMatchesScopeFunc`` /
    ``podMatchesSelector``: an unset class is an absent key). So, in a tenant's namespace:

    - its own tier's class: admitted;
    - the other tier's class, ``system-cluster-critical``, ``system-node-critical`` or any other
      class: refused (``exceeded quota: tenancy-tier``);
    - no class: admitted at priority 0, below both tiers, so it can never preempt anything. Off-the-
      shelf charts rarely set ``priorityClassName``; refusing them would break them for nothing
      (a tenant gains no priority by leaving the class out). A plain ``NotIn`` without ``Exists``
      would refuse them: an absent key matches ``NotIn``.

    Verified on a real API server (tests/live/test_tiers_live.py)."""
    return {
        "apiVersion": "v1",
        "kind": "ResourceQuota",
        "metadata": _meta(TIER_QUOTA, tenant.name, ns or naming.namespace(tenant.name)),
        "spec": {
            "hard": {"pods": "0"},
            "scopeSelector": {"matchExpressions": [
                {"scopeName": "PriorityClass", "operator": "Exists"},
                {"scopeName": "PriorityClass", "operator": "NotIn", "values": [PRIORITY_CLASSES[tier_of(tenant)]]},
            ]},
        },
    }


def priority_classes() -> list[Manifest]:
    """The platform's PriorityClasses ``tenancy-premium`` and ``tenancy-standard`` (cluster-scoped,
    platform-owned, never the global default: a pod gets a tier only by naming its class, and
    each tenant's ``tenancy-tier`` quota admits only its own)."""
    return [{
        "apiVersion": "scheduling.k8s.io/v1",
        "kind": "PriorityClass",
        "metadata": {"name": PRIORITY_CLASSES[tier], "labels": {
            MANAGED_BY_LABEL: naming.MANAGED_BY, TIER_LABEL: tier}},
        "value": PRIORITY_VALUES[tier],
        "globalDefault": False,
        "preemptionPolicy": PREEMPTION_POLICIES[tier],
        "description": f"tenancy: pods of {tier} tenants (only their own tier's class is admitted by their quota)",
    } for tier in TIERS]


def security_group_policy(tenant: TenantSpec, group_ids: Any, ns: str | None = None) -> Manifest:
    """The SecurityGroupPolicy ``tenancy-pod-security-groups`` of a pooled tenant: every pod of the
    namespace (``podSelector: {}``) gets ``group_ids`` (the tenant's own security group and the
    tenant-nodes marker group) on its branch ENI. ``group_ids`` is placed as given (a Pulumi
    Output works).

    Behaviour, from aws/amazon-vpc-resource-controller-k8s ``pkg/utils/helper.go``
    (``filterPodSecurityGroups``): a policy with a non-nil podSelector is matched through
    ``metav1.LabelSelectorAsSelector``, which turns an empty selector into ``labels.Everything()``
    — every pod of the namespace; no serviceAccountSelector means no service-account condition; the
    groups of every matching policy are appended (de-duplicated), so the pod gets all of them. The
    webhook then requests ``vpc.amazonaws.com/pod-eni`` for the pod (``webhooks/core/pod_webhook.go``),
    which the placement policy requires in pooled namespaces."""
    return {
        "apiVersion": SGP_API_VERSION,
        "kind": SGP_KIND,
        "metadata": _meta(SGP_NAME, tenant.name, ns or naming.namespace(tenant.name)),
        "spec": {"podSelector": {}, "securityGroups": {"groupIds": group_ids}},
    }


def limit_range(tenant: TenantSpec, ns: str | None = None) -> Manifest:
    """Container defaults (so pods without resources still fit the quota) and a per-container
    maximum, for CPU, memory and local disk (``ephemeral-storage``: a container writing past its
    limit is evicted by the kubelet before the node's disk fills for its neighbours)."""
    lim = tenant.limits
    eph = lim.ephemeral_storage
    disk = {"defaultRequest": eph.default_request, "default": eph.default_limit, "max": eph.max_per_container}

    def pair(p: Any, key: str) -> dict[str, str]:
        return {"cpu": p.cpu, "memory": p.memory, "ephemeral-storage": disk[key]}

    return {
        "apiVersion": "v1",
        "kind": "LimitRange",
        "metadata": _meta("tenancy-limits", tenant.name, ns or naming.namespace(tenant.name)),
        "spec": {"limits": [{
            "type": "Container",
            "default": pair(lim.default_limit, "default"),
            "defaultRequest": pair(lim.default_request, "defaultRequest"),
            "max": pair(lim.max_per_container, "max"),
        }]},
    }


# --------------------------------------------------------------------------------------------
# RBAC


def _rule(groups: Iterable[str], resources: Iterable[str], verbs: Iterable[str]) -> dict[str, list[str]]:
    return {"apiGroups": list(groups), "resources": list(resources), "verbs": list(verbs)}


def _view_rules() -> list[dict[str, list[str]]]:
    """Read the namespace's workloads and fences; no Secrets (like Kubernetes' own ``view``)."""
    return [
        _rule([""], ["pods", "pods/log", "pods/status", "services", "services/status", "endpoints",
                     "configmaps", "persistentvolumeclaims", "persistentvolumeclaims/status",
                     "replicationcontrollers", "replicationcontrollers/scale", "replicationcontrollers/status",
                     "events", "serviceaccounts", "resourcequotas", "resourcequotas/status", "limitranges"], READ),
        _rule(["apps"], ["deployments", "deployments/scale", "deployments/status", "replicasets",
                         "replicasets/scale", "replicasets/status", "statefulsets", "statefulsets/scale",
                         "statefulsets/status", "daemonsets", "daemonsets/status", "controllerrevisions"], READ),
        _rule(["batch"], ["jobs", "jobs/status", "cronjobs", "cronjobs/status"], READ),
        _rule(["autoscaling"], ["horizontalpodautoscalers", "horizontalpodautoscalers/status"], READ),
        _rule(["networking.k8s.io"], ["ingresses", "ingresses/status", "networkpolicies"], READ),
        _rule(["policy"], ["poddisruptionbudgets", "poddisruptionbudgets/status"], READ),
        _rule(["discovery.k8s.io"], ["endpointslices"], READ),
        _rule(["events.k8s.io"], ["events"], READ),
    ]


def _edit_rules() -> list[dict[str, list[str]]]:
    """Run workloads: everything a team deploys, but none of the fences, no ServiceAccounts, no
    Endpoints (CVE-2021-25740), no DaemonSets (nodes are per tenant and placed by the platform)."""
    return [
        *_view_rules(),
        _rule([""], ["secrets"], READ),
        _rule([""], ["pods", "services", "configmaps", "secrets", "persistentvolumeclaims"], WRITE),
        _rule([""], ["pods/exec", "pods/attach", "pods/portforward"], ["create", "get"]),
        _rule([""], ["pods/eviction"], ["create"]),
        _rule([""], ["pods/ephemeralcontainers"], ["update", "patch"]),
        _rule(["apps"], ["deployments", "deployments/scale", "replicasets", "replicasets/scale",
                         "statefulsets", "statefulsets/scale"], WRITE),
        _rule(["batch"], ["jobs", "cronjobs"], WRITE),
        _rule(["autoscaling"], ["horizontalpodautoscalers"], WRITE),
        _rule(["networking.k8s.io"], ["ingresses"], WRITE),
        _rule(["policy"], ["poddisruptionbudgets"], WRITE),
        _rule(["coordination.k8s.io"], ["leases"], READ + WRITE),
    ]


RBAC_RESOURCES = ("roles", "rolebindings")
NEVER_GRANTED = frozenset({"escalate", "bind", "impersonate"})
"""Verbs no tenant persona holds, self-service or not: ``escalate`` (write a Role with permissions
one does not hold) and ``bind`` (bind a role one does not hold) switch off Kubernetes' escalation
prevention (kubernetes/kubernetes ``pkg/registry/rbac/escalation_check.go``,
``EscalationAllowed`` / ``BindingAuthorized``), ``impersonate`` would act as anyone."""


def _admin_rules(self_service_rbac: bool = False) -> list[dict[str, list[str]]]:
    """``edit`` plus seeing who has access (Roles and RoleBindings, read only: membership is
    managed in the spec, never by binding in the cluster). With ``selfService.rbac``, Roles and
    RoleBindings are writable too, and nothing else: the API server then allows a Role only with
    permissions the author holds and a RoleBinding only of a role whose permissions the author
    holds, in this namespace (Kubernetes docs, "Using RBAC Authorization", "Privilege escalation
    prevention and bootstrapping"; ``pkg/registry/rbac/role/policybased/storage.go`` and
    ``rolebinding/policybased/storage.go`` call ``escalation_check.go``). ``escalate`` and ``bind``
    are never granted (:data:`NEVER_GRANTED`)."""
    verbs = READ + WRITE if self_service_rbac else READ
    return [*_edit_rules(), _rule(["rbac.authorization.k8s.io"], list(RBAC_RESOURCES), verbs)]


_RULES = {"admin": _admin_rules, "edit": _edit_rules, "view": _view_rules}


SELF_SERVICE_NETWORK_POLICIES = _rule(["networking.k8s.io"], ["networkpolicies"], WRITE)
"""With ``selfService.networkPolicies``: the admin and edit personas write the namespace's
NetworkPolicies (the platform's own ``tenancy-*`` policies stay refused by the admission policy
:func:`tenancy.plan.admission.network_policy_guard_policy`; the Admin tier decides what crosses
tenants whatever these say, :mod:`tenancy.plan.cluster_policies`)."""


def persona_rules(role: str, tenant: TenantSpec | None = None) -> list[dict[str, list[str]]]:
    """The rules of persona Role ``tenancy-<role>`` for ``tenant``: its ``selfService`` decides the
    admin's RBAC verbs (``rbac``) and whether admin and edit write NetworkPolicies
    (``networkPolicies``)."""
    rules = _admin_rules(bool(tenant is not None and tenant.self_service.rbac)) if role == "admin" else _RULES[role]()
    if tenant is not None and tenant.self_service.network_policies and role != "view":
        rules = [*rules, dict(SELF_SERVICE_NETWORK_POLICIES)]
    return rules


def roles(tenant: TenantSpec, ns: str | None = None) -> list[Manifest]:
    """Roles ``tenancy-admin``, ``tenancy-edit`` and ``tenancy-view`` in the tenant namespace ``ns``
    (default its main one; every namespace of the tenant gets the same; admin and edit also write
    NetworkPolicies with ``selfService.networkPolicies``)."""
    ns = ns or naming.namespace(tenant.name)
    return [{
        "apiVersion": RBAC_API_VERSION,
        "kind": "Role",
        "metadata": _meta(f"{ROLE_PREFIX}{role}", tenant.name, ns),
        "rules": persona_rules(role, tenant),
    } for role in PERSONAS]


SA_BINDING_PREFIX = f"{ROLE_PREFIX}sa-"
"""RoleBindings of ``serviceAccountRoles`` are named ``tenancy-sa-<serviceAccount>``."""


def service_account_bindings(tenant: TenantSpec, ns: str | None = None) -> list[Manifest]:
    """One RoleBinding per ``serviceAccountRoles`` entry: the ServiceAccount (of namespace ``ns``,
    default the tenant's main one; every namespace of the tenant gets the same) bound to the
    tenant's ``tenancy-view`` or ``tenancy-edit`` Role, in spec order. Only Roles of the namespace,
    never ClusterRoles; the spec refuses them without ``kubernetesApiAccess``."""
    ns = ns or naming.namespace(tenant.name)
    return [_role_binding(f"{SA_BINDING_PREFIX}{sa}", tenant.name, ns, role,
                          {"kind": "ServiceAccount", "name": sa, "namespace": ns})
            for sa, role in tenant.service_account_roles.items()]


def role_bindings(tenant: TenantSpec, ns: str | None = None) -> list[Manifest]:
    """One RoleBinding per persona, to the group the cluster's access entries map the tenant's
    principals to (``tenancy:<tenant>:admins`` …). Only Roles, never ClusterRoles. The same
    groups in every namespace of the tenant (``ns``, default its main one)."""
    ns = ns or naming.namespace(tenant.name)
    return [_role_binding(f"{ROLE_PREFIX}{persona}", tenant.name, ns, role,
                          {"apiGroup": "rbac.authorization.k8s.io", "kind": "Group",
                           "name": naming.tenant_group(tenant.name, persona)})
            for role, persona in PERSONAS.items()]


def _role_binding(name: str, tenant: str, ns: str, role: str, subject: dict[str, str]) -> Manifest:
    """RoleBinding ``name`` in ``ns``: ``subject`` to the persona Role ``tenancy-<role>`` (never a ClusterRole)."""
    return {
        "apiVersion": RBAC_API_VERSION,
        "kind": "RoleBinding",
        "metadata": _meta(name, tenant, ns),
        "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "Role", "name": f"{ROLE_PREFIX}{role}"},
        "subjects": [subject],
    }


# --------------------------------------------------------------------------------------------
# Service accounts


def service_accounts(tenant: TenantSpec, role_arns: Mapping[str, Any], ns: str | None = None) -> list[Manifest]:
    """The tenant's ServiceAccounts, in spec order. Those in ``role_arns`` are annotated
    ``eks.amazonaws.com/role-arn`` (IRSA); the value is placed as given, so a Pulumi Output works.
    With EKS Pod Identity the platform passes no ARNs and the association does the mapping.

    Tokens are not automounted: IRSA's web-identity token is a separate projected volume added by
    the EKS webhook, so AWS access does not need the Kubernetes API token. A pod that does need
    the API sets ``automountServiceAccountToken: true`` itself."""
    unknown = sorted(set(role_arns) - set(tenant.service_accounts))
    if unknown:
        raise ValueError(f"role ARNs given for {unknown}, which are not serviceAccounts of tenant {tenant.name!r}")
    ns = ns or naming.namespace(tenant.name)
    out = []
    for sa in tenant.service_accounts:
        meta = _meta(sa, tenant.name, ns)
        if sa in role_arns:
            meta["annotations"] = {IRSA_ANNOTATION: role_arns[sa]}
        out.append({"apiVersion": "v1", "kind": "ServiceAccount", "metadata": meta,
                    "automountServiceAccountToken": False})
    return out


def default_service_account(tenant: TenantSpec, ns: str | None = None) -> Manifest:
    """The namespace's ``default`` ServiceAccount (created by Kubernetes) with no automounted
    token: pods that name no ServiceAccount get no API credentials. Applied as a patch."""
    return {
        "apiVersion": "v1",
        "kind": "ServiceAccount",
        "metadata": {"name": "default", "namespace": ns or naming.namespace(tenant.name)},
        "automountServiceAccountToken": False,
    }


# --------------------------------------------------------------------------------------------
# Network policies


def _np(name: str, tenant: str, namespace: str, spec: dict[str, Any], **extra_labels: str) -> Manifest:
    return {
        "apiVersion": NETWORKING_API_VERSION,
        "kind": "NetworkPolicy",
        "metadata": _meta(name, tenant, namespace, **extra_labels),
        "spec": spec,
    }


def network_policies(
    tenant: TenantSpec,
    workloads: WorkloadsSpec,
    vpc_cidr: str,
    aws_service_cidrs: Sequence[Any] = (),
    pod_identity_agent: bool = False,
    service_cidr: str | None = None,
    api_endpoint_cidrs: Sequence[Any] = (),
    kubernetes_service_ip: str | None = None,
    ns: str | None = None,
) -> list[Manifest]:
    """The tenant namespace's own NetworkPolicies (edges come from :func:`edge_manifests`).

    NetworkPolicies only add allowances, so the model is: deny everything both ways, then allow
    the namespace to itself, DNS to kube-dns (UDP and TCP 53, egress — DNS is a client request),
    and each opt-in.

    - ``vpc_cidr``: excluded from internet egress so ``internetEgress`` never opens the VPC
      (other tenants' pods and nodes live there).
    - ``aws_service_cidrs``: CIDRs of AWS service endpoints (the interface VPC endpoints' subnets,
      the S3 prefix list) reachable on TCP 443 without internet egress. Default none.
    - ``pod_identity_agent``: allow TCP 80 to the node-local EKS Pod Identity agent (needed with
      ``identity.mode: podIdentity``). Default off.
    - ``service_cidr``: the cluster's Service range, excluded from internet egress too. The VPC
      CNI policy agent filters on the pod's host veth, BEFORE kube-proxy's DNAT, so it sees
      ClusterIPs (aws/amazon-network-policy-controller-k8s ``pkg/resolvers/endpoints.go``,
      ``getMatchingServiceClusterIPs``): without the exclusion ``0.0.0.0/0`` would reach every
      Service of the cluster. Default none (then only the VPC is excluded).
    - ``kubernetes_service_ip`` and ``api_endpoint_cidrs``: with ``tenant.kubernetesApiAccess``,
      allow TCP 443 to exactly the ``kubernetes`` Service's ClusterIP (what clients dial, pre-DNAT)
      and the API endpoint's network interfaces (EKS puts them in the cluster's subnets: the
      system subnets), which the ClusterIP is translated to.
    - ``ns``: the tenant's namespace (default its main one). A tenant with extra ``namespaces``
      gets the same set in each, plus ``tenancy-allow-tenant-namespaces``: its namespaces reach
      each other both ways (one tenant), selected by ``kubernetes.io/metadata.name`` (set by the
      API server, not writable by anyone).
    """
    t = tenant.name
    ns = ns or naming.namespace(t)
    everyone: dict[str, Any] = {}
    out = [
        _np(NP_DEFAULT_DENY, t, ns, {"podSelector": everyone, "policyTypes": ["Ingress", "Egress"]}),
        _np(NP_SAME_NAMESPACE, t, ns, {
            "podSelector": {},
            "policyTypes": ["Ingress", "Egress"],
            "ingress": [{"from": [{"podSelector": {}}]}],
            "egress": [{"to": [{"podSelector": {}}]}],
        }),
        _np(NP_DNS, t, ns, {
            "podSelector": {},
            "policyTypes": ["Egress"],
            "egress": [{
                # One peer with both selectors: kube-dns pods IN kube-system (AND), not
                # "kube-dns pods here, or anything in kube-system" (two peers would be OR).
                "to": [{"namespaceSelector": namespace_selector(KUBE_DNS_NAMESPACE),
                        "podSelector": {"matchLabels": dict(KUBE_DNS_LABELS)}}],
                "ports": [{"protocol": "UDP", "port": 53}, {"protocol": "TCP", "port": 53}],
            }],
        }),
    ]
    own = naming.tenant_namespaces(tenant)
    if len(own) > 1:
        out.append(_np(NP_TENANT_NAMESPACES, t, ns, {
            "podSelector": {},
            "policyTypes": ["Ingress", "Egress"],
            "ingress": [{"from": [{"namespaceSelector": namespaces_selector(own)}]}],
            "egress": [{"to": [{"namespaceSelector": namespaces_selector(own)}]}],
        }))
    if tenant.internet_egress:
        out.append(_np(NP_INTERNET, t, ns, {
            "podSelector": {},
            "policyTypes": ["Egress"],
            "egress": [{"to": [{"ipBlock": {"cidr": "0.0.0.0/0", "except": internet_except(vpc_cidr, service_cidr)}}]}],
        }))
    if tenant.kubernetes_api_access:
        if kubernetes_service_ip is None:
            raise ValueError(f"tenant {t!r} has kubernetesApiAccess but no kubernetes Service IP was given")
        out.append(_np(NP_KUBE_API, t, ns, {
            "podSelector": {},
            "policyTypes": ["Egress"],
            "egress": [{"to": [{"ipBlock": {"cidr": f"{kubernetes_service_ip}/32"}},
                               *({"ipBlock": {"cidr": c}} for c in api_endpoint_cidrs)],
                        "ports": [{"protocol": "TCP", "port": 443}]}],
        }))
    if aws_service_cidrs:
        out.append(_np(NP_AWS_SERVICES, t, ns, {
            "podSelector": {},
            "policyTypes": ["Egress"],
            "egress": [{"to": [{"ipBlock": {"cidr": c}} for c in aws_service_cidrs],
                        "ports": [{"protocol": "TCP", "port": 443}]}],
        }))
    if pod_identity_agent:
        out.append(_np(NP_POD_IDENTITY, t, ns, {
            "podSelector": {},
            "policyTypes": ["Egress"],
            "egress": [{"to": [{"ipBlock": {"cidr": POD_IDENTITY_AGENT_CIDR}}],
                        "ports": [{"protocol": "TCP", "port": POD_IDENTITY_AGENT_PORT}]}],
        }))
    if workloads.ingress_controller_namespace:
        out.append(_np(NP_INGRESS_CONTROLLER, t, ns, {
            "podSelector": {},
            "policyTypes": ["Ingress"],
            "ingress": [{"from": [{"namespaceSelector": namespace_selector(workloads.ingress_controller_namespace)}]}],
        }))
    if workloads.mesh == "istio":
        out.append(_np(NP_ISTIOD, t, ns, {
            "podSelector": {},
            "policyTypes": ["Egress"],
            "egress": [{"to": [{"namespaceSelector": namespace_selector(ISTIOD_NAMESPACE),
                                "podSelector": {"matchLabels": dict(ISTIOD_LABELS)}}],
                        "ports": [{"protocol": "TCP", "port": ISTIOD_PORT}]}],
        }))
    return out


# --------------------------------------------------------------------------------------------
# Istio


def _istio(kind: str, name: str, tenant: str, namespace: str, spec: dict[str, Any]) -> Manifest:
    return {
        "apiVersion": "security.istio.io/v1",
        "kind": kind,
        "metadata": _meta(name, tenant, namespace),
        "spec": spec,
    }


def internet_except(vpc_cidr: str, service_cidr: str | None = None) -> list[str]:
    """What internet egress (``0.0.0.0/0``) must leave out: the VPC (other tenants' pods and
    nodes), the link-local range (IMDS, the Pod Identity agent) and the Service range."""
    return [vpc_cidr, *([service_cidr] if service_cidr else []), LINK_LOCAL_CIDR]


def s3_policy(tenant: TenantSpec, cidrs: Sequence[Any], ns: str | None = None) -> Manifest:
    """Egress on TCP 443 to S3's address ranges (the gateway endpoint's prefix list), for a
    tenant whose workloads use the tenant-data bucket but have no internet egress. The VPC
    routes these ranges only to the S3 gateway endpoint (tenant subnets without internet egress
    have no other route out), and IAM scopes what the pods may do there to their prefix."""
    t = tenant.name
    return _np(NP_S3, t, ns or naming.namespace(t), {
        "podSelector": {},
        "policyTypes": ["Egress"],
        "egress": [{"to": [{"ipBlock": {"cidr": c}} for c in cidrs], "ports": [{"protocol": "TCP", "port": 443}]}],
    })


def mesh_policies(tenant: TenantSpec, workloads: WorkloadsSpec, ns: str | None = None) -> list[Manifest]:
    """With ``workloads.mesh: istio``: STRICT mTLS for the namespace, and an ALLOW policy
    admitting its own namespace (and the ingress controller's). Once any ALLOW policy selects a
    workload, Istio denies every request no ALLOW policy matches; each ``allowFrom`` edge adds
    its own ALLOW policy (:func:`edge_manifests`)."""
    if workloads.mesh != "istio":
        return []
    t = tenant.name
    ns = ns or naming.namespace(t)
    sources = naming.tenant_namespaces(tenant)  # all of the tenant's namespaces: one tenant
    if workloads.ingress_controller_namespace:
        sources.append(workloads.ingress_controller_namespace)
    return [
        _istio("PeerAuthentication", "tenancy-mtls-strict", t, ns, {"mtls": {"mode": "STRICT"}}),
        _istio("AuthorizationPolicy", "tenancy-allow-same-namespace", t, ns, {
            "action": "ALLOW",
            "rules": [{"from": [{"source": {"namespaces": sources}}]}],
        }),
    ]


# --------------------------------------------------------------------------------------------
# Edges and the whole tenant


def edge_ports(ports: Sequence[EdgePort] | None) -> dict[str, Any]:
    """The ``ports`` of an edge's NetworkPolicy rule (``NetworkPolicyPort``: protocol, port,
    endPort), or nothing for an edge opening every port."""
    if ports is None:
        return {}
    return {"ports": [{"protocol": p.protocol, "port": p.port, **({"endPort": p.end_port} if p.end_port is not None
                                                                 else {})} for p in ports]}


def edge_manifests(tenant: str, peer: str, mesh: str = "none",
                   ports: Sequence[EdgePort] | None = None, tenant_namespaces: Sequence[str] = (),
                   peer_namespaces: Sequence[str] = ()) -> list[Manifest]:
    """The objects of ONE ``allowFrom`` edge: ``tenant`` allows connections from ``peer``.

    - in ``tenant``'s namespace: ``tenancy-allow-from-<peer>``, ingress from ``peer``'s namespace;
    - in ``peer``'s namespace: ``tenancy-allow-to-<tenant>``, egress to ``tenant``'s namespace;
    - with Istio: an ALLOW AuthorizationPolicy ``tenancy-allow-from-<peer>`` in ``tenant``'s
      namespace.

    ``ports`` (the edge's ``allowFrom[].ports``): both NetworkPolicies open only those (the same
    ``ports`` on the ingress and the egress rule), and the AuthorizationPolicy admits only those
    ports when every entry is one TCP port (``to.operation.ports`` takes single ports, and the
    sidecars see TCP only); otherwise it admits the peer's namespace and the NetworkPolicies do the
    narrowing. None: every port.

    ``tenant_namespaces`` / ``peer_namespaces``: every namespace of each side
    (:func:`naming.tenant_namespaces`; default the tenant's name alone). The ingress policy (and
    the Istio policy) goes into each of ``tenant``'s namespaces, admitting all of ``peer``'s; the
    egress policy into each of ``peer``'s, reaching all of ``tenant``'s.

    All are owned by ``tenant`` (the declaring side, labelled so) and depend on nothing but the
    two tenants' namespaces and the ports: adding or removing any other tenant changes none of them. The
    direction is one-way: ``peer`` opens connections to ``tenant`` (replies flow back,
    NetworkPolicies are stateful), never the reverse."""
    if tenant == peer:
        raise ValueError(f"tenant {tenant!r} cannot allow itself: its namespace already reaches itself")
    t_nss = list(tenant_namespaces) or [naming.namespace(tenant)]
    p_nss = list(peer_namespaces) or [naming.namespace(peer)]
    narrow = edge_ports(ports)
    out = [
        *(_np(f"{EDGE_INGRESS_PREFIX}{peer}", tenant, t_ns, {
            "podSelector": {},
            "policyTypes": ["Ingress"],
            "ingress": [{"from": [{"namespaceSelector": namespaces_selector(p_nss)}], **narrow}],
        }, **{PEER_LABEL: peer}) for t_ns in t_nss),
        *(_np(f"{EDGE_EGRESS_PREFIX}{tenant}", tenant, p_ns, {
            "podSelector": {},
            "policyTypes": ["Egress"],
            "egress": [{"to": [{"namespaceSelector": namespaces_selector(t_nss)}], **narrow}],
        }, **{PEER_LABEL: peer}) for p_ns in p_nss),
    ]
    if mesh == "istio":
        for t_ns in t_nss:
            rule: dict[str, Any] = {"from": [{"source": {"namespaces": list(p_nss)}}]}
            if ports is not None and all(p.end_port is None and p.protocol == "TCP" for p in ports):
                rule["to"] = [{"operation": {"ports": [str(p.port) for p in ports]}}]
            ap = _istio("AuthorizationPolicy", f"{EDGE_INGRESS_PREFIX}{peer}", tenant, t_ns, {
                "action": "ALLOW",
                "rules": [rule],
            })
            ap["metadata"]["labels"][PEER_LABEL] = peer
            out.append(ap)
    return out


def tenant_manifests(
    tenant: TenantSpec,
    workloads: WorkloadsSpec | None = None,
    vpc_cidr: str = "10.0.0.0/16",
    role_arns: Mapping[str, Any] | None = None,
    aws_service_cidrs: Sequence[Any] = (),
    pod_identity_agent: bool = False,
    service_cidr: str | None = None,
    api_endpoint_cidrs: Sequence[Any] = (),
    kubernetes_service_ip: str | None = None,
    pod_security_group_ids: Any = None,
) -> list[Manifest]:
    """Every object of one tenant's bundle, its namespaces first (the main one, then its extra
    ``namespaces``), then each namespace's objects, edges excluded (they belong to the
    declaring tenant but are built per edge: :func:`edge_manifests`).

    ``pod_security_group_ids``: for a pooled tenant, the security groups its pods get
    (``TenantNetwork.pod_security_group_ids``); required when the tenant is pooled, refused when
    it is not."""
    workloads = workloads or WorkloadsSpec()
    pool = pool_of(tenant)
    if pool and pod_security_group_ids is None:
        raise ValueError(f"tenant {tenant.name!r} is pooled (pool {pool!r}) but no pod_security_group_ids were given: "
                         "its pods need their own security groups on the shared nodes (pass "
                         "TenantNetwork.pod_security_group_ids)")
    if not pool and pod_security_group_ids is not None:
        raise ValueError(f"tenant {tenant.name!r} has dedicated nodes: pod_security_group_ids apply only to pooled "
                         "tenants (its node group carries its security group)")
    nss = naming.tenant_namespaces(tenant)
    return [
        *(namespace(tenant, workloads.pod_security_version, injection_labels(workloads), ns) for ns in nss),
        *(m for ns in nss for m in (
            resource_quota(tenant, workloads.storage != "none", ns),
            tier_quota(tenant, ns),
            limit_range(tenant, ns),
            *([security_group_policy(tenant, pod_security_group_ids, ns)] if pool else []),
            *roles(tenant, ns),
            *role_bindings(tenant, ns),
            default_service_account(tenant, ns),
            *service_accounts(tenant, role_arns or {}, ns),
            *service_account_bindings(tenant, ns),
            *network_policies(tenant, workloads, vpc_cidr, aws_service_cidrs, pod_identity_agent,
                              service_cidr, api_endpoint_cidrs, kubernetes_service_ip, ns),
            *mesh_policies(tenant, workloads, ns),
        )),
    ]


def tenant_edges(tenant: TenantSpec, mesh: str = "none",
                 namespaces_of: Mapping[str, Sequence[str]] | None = None) -> list[Manifest]:
    """The objects of every edge ``tenant`` declares (its ``allowFrom``), in spec order.
    ``namespaces_of``: each peer's namespaces (:func:`naming.tenant_namespaces`; default its
    name alone)."""
    of = namespaces_of or {}
    return [m for e in tenant.allow_from for m in edge_manifests(
        tenant.name, e.tenant, mesh, e.ports, naming.tenant_namespaces(tenant), of.get(e.tenant, ()))]
