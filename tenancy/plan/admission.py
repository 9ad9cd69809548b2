"""Placement enforcement: the ValidatingAdmissionPolicy that pins tenant pods to their tenant's nodes.

Taints keep *other* pods off a tenant's nodes only as long as nobody tolerates them, and a node
selector is only advice the pod's author may leave out. This policy makes both mandatory inside
the API server (``admissionregistration.k8s.io/v1``, GA since Kubernetes 1.30; nothing to
install, no webhook to keep alive). For every pod created or updated in a namespace labelled
``tenancy/tenant=<t>`` it requires:

* ``spec.nodeSelector["tenancy/tenant"] == t``, or a *required* node affinity whose **every**
  ``nodeSelectorTerm`` has ``tenancy/tenant In [t]`` (terms are ORed, so one unpinned term
  would let the pod go anywhere);
* no toleration of another tenant's taint (``tenancy/tenant`` with a different value, or with
  ``operator: Exists``, which tolerates every tenant's taint);
* no toleration of ``CriticalAddonsOnly`` (the system node group's taint);
* no blanket toleration (``operator: Exists`` without a key, which tolerates every taint);
* no ``spec.nodeName`` at creation (it skips the scheduler, and with it taints and selectors).

**Pooled tenants** (issue 13): a namespace that also carries ``tenancy/pool=<p>`` belongs to a
tenant sharing pool ``p``'s nodes. Its pods must select ``tenancy/pool=<p>`` instead (nodeSelector,
or ``tenancy/pool In [p]`` in every required term), may tolerate only ``tenancy/pool=<p>`` (never
another pool's taint, never any ``tenancy/tenant`` taint), and must carry the
``vpc.amazonaws.com/pod-eni`` resource request: the VPC resource controller's mutating webhook adds
it to every pod a ``SecurityGroupPolicy`` matches (amazon-vpc-resource-controller-k8s,
``webhooks/core/pod_webhook.go``, ``HandleLinuxPod``), and it is what makes the controller give the
pod a branch ENI with the tenant's security groups. That webhook is registered with
``failurePolicy: Ignore`` (same file, kubebuilder marker; ``config/webhook/manifests.yaml``), so
when it is down the pod would be admitted without the request and run on the node's primary ENI,
with the pool nodes' shared security group: validating admission runs after mutating admission,
so this rule refuses such a pod instead (fail closed). A dedicated tenant's pods may never
tolerate a ``tenancy/pool`` taint.

**One branch interface per pod** (issue 23): the controller sums the ``pod-eni`` requests of all
containers (``controllers/core/pod_controller.go``, ``getAggregateResources``) and creates that
many branch interfaces (``pkg/provider/branch/trunk/trunk.go``), so a pod asking for 37 would take
37 of the pool's interfaces. In a pooled namespace the requests must add up to exactly 1 (one
container asks for ``1``, the others for nothing or ``0``) and no init container may ask; a
dedicated tenant's pods may not ask at all (once a pool exists every node carries a trunk). The
namespace's ResourceQuota caps ``requests.vpc.amazonaws.com/pod-eni`` at ``quota.pods`` for a pooled
tenant and at 0 for a dedicated one (:func:`tenancy.plan.kubernetes.resource_quota`), a second fence
the API server keeps on its own.

In every tenant namespace, no pod may be created with the ``vpc.amazonaws.com/pod-eni``
annotation, and only the VPC resource controller may change it later: it names the branch ENI
(VLAN, address) the VPC CNI wires the pod to, and the controller's own annotation webhook that
guards it (``webhooks/core/annotation_validation_webhook.go``) also fails open.

The tenant is read from the namespace's label (``namespaceObject``), not from the pod: a tenant
cannot write its namespace's labels (the bundle's RBAC does not grant it), so it cannot claim
another tenant's nodes.

What can change on an existing pod: tolerations can be *added*, and a pod still held by
scheduling gates may get a node selector or node affinity. So UPDATEs are checked too — but only
when one of those fields changed (``matchConditions``), so that metadata-only updates (finalizer
removal by the garbage collector, label changes) on pods admitted before the policy existed are
not blocked.

Pods created by controllers (Deployments, Jobs, StatefulSets, DaemonSets, operators) reach
admission as pods too: the policy applies to them, and a rejected pod shows up as a
``FailedCreate`` event on its controller (e.g. the ReplicaSet).

All expressions are core CEL (no ``?.``, no Kubernetes CEL libraries), so tests can evaluate
them with cel-python against pod fixtures.
"""

from __future__ import annotations

import copy
from typing import Any

from tenancy.spec.wire import ADMISSION_API_VERSION as API_VERSION
from tenancy.spec.wire import (
    LOAD_BALANCERS_LABEL,
    MANAGED_BY_LABEL,
    NODE_PORTS_LABEL,
    PART_OF_LABEL,
    POD_ENI_RESOURCE,
    POOL_LABEL,
    RBAC_API_VERSION,
    SIBLING_LABEL_PREFIX,
    SYSTEM_TAINT_KEY,
    TENANT_LABEL,
)
from tenancy.spec.wire import TIER_LABEL as TIER_LABEL  # re-exported for tests and callers

POD_SECURITY_GROUP_POLICY = "tenancy-pod-security-groups"
"""Name of the SecurityGroupPolicy in each pooled tenant's namespace (:mod:`tenancy.plan.kubernetes`)."""
RESOURCE_CONTROLLER_USERS = ("eks:vpc-resource-controller",
                             "system:serviceaccount:kube-system:eks-vpc-resource-controller",
                             "system:serviceaccount:kube-system:vpc-resource-controller")
"""Identities the VPC resource controller writes the ``pod-eni`` annotation as (EKS's managed
controller, and a self-managed one): ``annotation_validation_webhook.go`` accepts exactly these."""
POLICY_NAME = "tenancy-pod-placement"
MANAGED_BY_LABELS = {MANAGED_BY_LABEL: "tenancy", PART_OF_LABEL: "tenancy"}

_T = f"'{TENANT_LABEL}'"
_P = f"'{POOL_LABEL}'"
_ENI = f"'{POD_ENI_RESOURCE}'"

NAMESPACE_SELECTOR: dict[str, Any] = {"matchExpressions": [{"key": TENANT_LABEL, "operator": "Exists"}]}
"""Namespaces the policy applies to: those labelled ``tenancy/tenant`` (any value)."""


def _changed(field: str) -> str:
    """CEL: ``object.spec.<field>`` differs from ``oldObject.spec.<field>`` (presence or value)."""
    return (f"has(object.spec.{field}) != has(oldObject.spec.{field}) || "
            f"(has(object.spec.{field}) && object.spec.{field} != oldObject.spec.{field})")


def _eni_asked(c: str) -> str:
    """CEL: container ``c`` requests the pod-eni resource with a value other than 0."""
    return (f"has({c}.resources) && has({c}.resources.requests) && {_ENI} in {c}.resources.requests && "
            f"{c}.resources.requests[{_ENI}] != '0'")


def _annotated(obj: str) -> str:
    """CEL: ``obj`` carries the pod-eni annotation."""
    return f"(has({obj}.metadata.annotations) && {_ENI} in {obj}.metadata.annotations)"


_ENI_ANNOTATION_CHANGED = (f"{_annotated('object')} != {_annotated('oldObject')} || ({_annotated('object')} && "
                           f"object.metadata.annotations[{_ENI}] != oldObject.metadata.annotations[{_ENI}])")

MATCH_CONDITIONS: list[dict[str, str]] = [
    {
        "name": "create-or-placement-changed",
        "expression": "request.operation == 'CREATE' || "
        + " || ".join(f"({_changed(f)})" for f in ("tolerations", "nodeSelector", "affinity", "nodeName"))
        + f" || ({_ENI_ANNOTATION_CHANGED})",
    },
]
"""Skip UPDATEs that touch none of the placement fields (metadata, status-like changes) and leave
the pod-eni annotation alone."""

VARIABLES: list[dict[str, str]] = [
    {"name": "tenant", "expression": f"namespaceObject.metadata.labels[{_T}]"},
    {"name": "pool",
     "expression": f"{_P} in namespaceObject.metadata.labels ? namespaceObject.metadata.labels[{_P}] : ''"},
    {"name": "pooled", "expression": "variables.pool != ''"},
    # What the pod must select and tolerate: its pool's nodes when pooled, else its tenant's.
    {"name": "placementKey", "expression": f"variables.pooled ? {_P} : {_T}"},
    {"name": "placementValue", "expression": "variables.pooled ? variables.pool : variables.tenant"},
    {"name": "ownToleration", "expression": ("'{key: ' + variables.placementKey + ', operator: Equal, value: ' + "
                                              "variables.placementValue + ', effect: NoSchedule}'")},
    {"name": "tolerations", "expression": "has(object.spec.tolerations) ? object.spec.tolerations : []"},
    {
        "name": "selectorPinned",
        "expression": ("has(object.spec.nodeSelector) && variables.placementKey in object.spec.nodeSelector && "
                       "object.spec.nodeSelector[variables.placementKey] == variables.placementValue"),
    },
    {
        "name": "affinityPinned",
        "expression": (
            "has(object.spec.affinity) && has(object.spec.affinity.nodeAffinity) && "
            "has(object.spec.affinity.nodeAffinity.requiredDuringSchedulingIgnoredDuringExecution) && "
            "size(object.spec.affinity.nodeAffinity.requiredDuringSchedulingIgnoredDuringExecution"
            ".nodeSelectorTerms) > 0 && "
            "object.spec.affinity.nodeAffinity.requiredDuringSchedulingIgnoredDuringExecution"
            ".nodeSelectorTerms.all(term, has(term.matchExpressions) && term.matchExpressions.exists(e, "
            "e.key == variables.placementKey && e.operator == 'In' && has(e.values) && size(e.values) > 0 && "
            "e.values.all(v, v == variables.placementValue)))"
        ),
    },
    {
        # A pooled tenant has no tenancy/tenant taint of its own: every such toleration is foreign.
        "name": "foreignTolerations",
        "expression": (
            f"variables.tolerations.filter(t, has(t.key) && t.key == {_T} && "
            "!(!variables.pooled && (!has(t.operator) || t.operator == '' || t.operator == 'Equal') && "
            "has(t.value) && t.value == variables.tenant))"
        ),
    },
    {
        # A dedicated tenant has no pool: every tenancy/pool toleration is foreign.
        "name": "foreignPoolTolerations",
        "expression": (
            f"variables.tolerations.filter(t, has(t.key) && t.key == {_P} && "
            "!(variables.pooled && (!has(t.operator) || t.operator == '' || t.operator == 'Equal') && "
            "has(t.value) && t.value == variables.pool))"
        ),
    },
    {
        # Containers asking for a branch interface (any value but 0); quantities reach admission in
        # canonical form, and extended resources must be integers (API validation runs first).
        "name": "eniContainers",
        "expression": f"object.spec.containers.filter(c, {_eni_asked('c')})",
    },
    {
        "name": "eniInitContainers",
        "expression": (f"has(object.spec.initContainers) ? object.spec.initContainers.filter(c, {_eni_asked('c')}) "
                       ": []"),
    },
    {"name": "podEniRequested", "expression": "size(variables.eniContainers) > 0"},
    {
        # Exactly one branch interface: one container asks for exactly 1 and no init container asks.
        "name": "podEniSingle",
        "expression": ("size(variables.eniContainers) == 1 && "
                       f"variables.eniContainers[0].resources.requests[{_ENI}] == '1' && "
                       "size(variables.eniInitContainers) == 0"),
    },
]
"""Named sub-expressions, evaluated in order (later ones may use earlier ones)."""

_TOL = "the toleration ' + variables.ownToleration + '"
_WHERE = "(variables.pooled ? 'pool ' + variables.pool : 'tenant ' + variables.tenant)"
_FIX = ("set spec.nodeSelector {\"' + variables.placementKey + '\": \"' + variables.placementValue + '\"} and "
        + _TOL)
_ONLY = "tolerate only ' + variables.placementKey + '=' + variables.placementValue + ' with operator Equal'"


def _tolerated(var: str, every: str) -> str:
    """CEL: how the first toleration in ``variables.<var>`` reads in a message (``=<value>``, or
    ``with operator Exists (every <every>)``)."""
    first = f"variables.{var}[0]"
    return (f"(has({first}.value) && (!has({first}.operator) || {first}.operator != 'Exists') "
            f"? '=' + {first}.value : ' with operator Exists (every {every})')")


VALIDATIONS: list[dict[str, str]] = [
    {
        "expression": "variables.selectorPinned || variables.affinityPinned",
        "message": (f"pods in a tenant namespace must select their tenant's nodes: set spec.nodeSelector "
                    f"{TENANT_LABEL}=<tenant> (or a required node affinity {TENANT_LABEL} In [<tenant>] in "
                    f"every term); in a pooled tenant's namespace, {POOL_LABEL}=<pool> instead"),
        "messageExpression": (
            f"'pods in namespace ' + namespaceObject.metadata.name + ' must run on the nodes of ' + {_WHERE} + "
            f"': {_FIX} (a required node affinity with ' + variables.placementKey + ' In [' + "
            "variables.placementValue + '] in every nodeSelectorTerm also works)'"
        ),
        "reason": "Forbidden",
    },
    {
        "expression": "size(variables.foreignTolerations) == 0",
        "message": (f"pods in a tenant namespace may tolerate only their own tenant's {TENANT_LABEL} taint (a pooled "
                    f"tenant's pods: none, only their pool's {POOL_LABEL} taint)"),
        "messageExpression": (
            f"'toleration of the taint tenancy/tenant' + {_tolerated('foreignTolerations', 'tenant')} + "
            "' is not allowed in namespace ' + namespaceObject.metadata.name + "
            f"': it would let the pod onto the nodes of another tenant; {_ONLY}"
        ),
        "reason": "Forbidden",
    },
    {
        "expression": "size(variables.foreignPoolTolerations) == 0",
        "message": (f"pods in a tenant namespace may tolerate no {POOL_LABEL} taint but their own pool's (pods of a "
                    "tenant with dedicated nodes: none)"),
        "messageExpression": (
            f"'toleration of the taint tenancy/pool' + {_tolerated('foreignPoolTolerations', 'pool')} + "
            "' is not allowed in namespace ' + namespaceObject.metadata.name + "
            "(variables.pooled ? ': it would let the pod onto the nodes of another pool' : "
            "': tenant ' + variables.tenant + ' has dedicated nodes, and a pool taint would let its pods onto nodes "
            f"shared by other tenants') + '; {_ONLY}"
        ),
        "reason": "Forbidden",
    },
    {
        "expression": f"variables.tolerations.all(t, !has(t.key) || t.key != '{SYSTEM_TAINT_KEY}')",
        "message": f"pods in a tenant namespace must not tolerate {SYSTEM_TAINT_KEY} (the system nodes' taint)",
        "messageExpression": (
            f"'toleration of {SYSTEM_TAINT_KEY} is not allowed in namespace ' + namespaceObject.metadata.name + "
            "': that taint keeps tenant pods off the system nodes of the platform; remove it (tenant pods need "
            f"only {_TOL})'"
        ),
        "reason": "Forbidden",
    },
    {
        "expression": "variables.tolerations.all(t, has(t.key) && t.key != '')",
        "message": ("pods in a tenant namespace must not tolerate every taint (operator: Exists without a key); "
                    f"tolerate only {TENANT_LABEL}=<tenant> (or {POOL_LABEL}=<pool> in a pooled tenant's namespace)"),
        "messageExpression": (
            "'a toleration without a key (operator: Exists) tolerates every taint, those of other tenants "
            "and of the system nodes too, and is not allowed in namespace ' + namespaceObject.metadata.name + "
            f"'; use only {_TOL}'"
        ),
        "reason": "Forbidden",
    },
    {
        "expression": "request.operation != 'CREATE' || !has(object.spec.nodeName) || object.spec.nodeName == ''",
        "message": ("pods in a tenant namespace must not set spec.nodeName: it bypasses the scheduler; "
                    f"use spec.nodeSelector {TENANT_LABEL}=<tenant> ({POOL_LABEL}=<pool> in a pooled tenant's "
                    "namespace)"),
        "reason": "Forbidden",
    },
    {
        "expression": "!variables.pooled || request.operation != 'CREATE' || variables.podEniRequested",
        "message": (f"pods in a pooled tenant's namespace must get the {POD_ENI_RESOURCE} resource from the VPC "
                    f"resource controller's webhook (SecurityGroupPolicy {POD_SECURITY_GROUP_POLICY}); without it "
                    "they would run with the pool nodes' shared security group"),
        "messageExpression": (
            "'pods in namespace ' + namespaceObject.metadata.name + ' (tenant ' + variables.tenant + ', pool ' + "
            f"variables.pool + ') must request {POD_ENI_RESOURCE}, which the VPC resource controller\\'s webhook "
            f"adds to every pod the SecurityGroupPolicy {POD_SECURITY_GROUP_POLICY} matches: this one did not get "
            "it, so it would run with the shared security group of the pool nodes instead of the tenant\\'s own. "
            f"Check that SecurityGroupPolicy {POD_SECURITY_GROUP_POLICY} exists in the namespace and that the "
            "controller is running (VPC CNI ENABLE_POD_ENI), then create the pod again'"
        ),
        "reason": "Forbidden",
    },
    {
        "expression": "!variables.pooled || request.operation != 'CREATE' || !variables.podEniRequested || "
                      "variables.podEniSingle",
        "message": (f"a pod in a pooled tenant's namespace gets exactly one branch network interface: the "
                    f"{POD_ENI_RESOURCE} requests of its containers must add up to 1 (the VPC resource controller "
                    "adds 1 to the first container) and its init containers must request none"),
        "messageExpression": (
            "'pod ' + object.metadata.name + ' in namespace ' + namespaceObject.metadata.name + ' asks for ' + "
            "(size(variables.eniInitContainers) > 0 ? 'branch network interfaces in init container ' + "
            "variables.eniInitContainers[0].name : "
            f"'{POD_ENI_RESOURCE} ' + variables.eniContainers[0].resources.requests[{_ENI}] + ' in container ' + "
            "variables.eniContainers[0].name + (size(variables.eniContainers) > 1 ? ' and in ' + "
            "string(size(variables.eniContainers) - 1) + ' more' : '')) + "
            "': a pod gets exactly one branch network interface of the pool (the VPC resource controller sums the "
            "requests of all containers and creates that many), so the pool\\'s other tenants would find none left; "
            f"remove every {POD_ENI_RESOURCE} request and limit from the pod (the controller\\'s webhook adds the "
            "one it needs)'"
        ),
        "reason": "Forbidden",
    },
    {
        "expression": ("variables.pooled || "
                       "(size(variables.eniContainers) == 0 && size(variables.eniInitContainers) == 0)"),
        "message": (f"pods of a tenant with dedicated nodes must not request {POD_ENI_RESOURCE}: branch network "
                    "interfaces belong to the node pools' tenants (once a pool exists every node has a trunk)"),
        "messageExpression": (
            "'pod ' + object.metadata.name + ' in namespace ' + namespaceObject.metadata.name + ' (tenant ' + "
            f"variables.tenant + ', dedicated nodes) must not request {POD_ENI_RESOURCE}: branch network "
            "interfaces are for the tenants of node pools, and each one taken on a node is an interface less for '"
            f"+ 'pods with addresses; remove the {POD_ENI_RESOURCE} requests and limits'"
        ),
        "reason": "Forbidden",
    },
    {
        "expression": (f"request.operation == 'CREATE' ? !{_annotated('object')} : "
                       f"(!({_ENI_ANNOTATION_CHANGED}) || request.userInfo.username in "
                       f"{list(RESOURCE_CONTROLLER_USERS)!r})"),
        "message": (f"the {POD_ENI_RESOURCE} annotation (the pod's branch network interface) is written only by "
                    "the VPC resource controller: remove it from the pod"),
        "reason": "Forbidden",
    },
]
"""Every rule, each with a static ``message`` (the fallback) and a ``messageExpression`` saying what
to change."""


def tenant_namespace_policy(name: str, resource: str, match_conditions: list[dict[str, Any]],
                            variables: list[dict[str, Any]], validations: list[dict[str, Any]],
                            api_group: str = "", namespace_selector: dict[str, Any] | None = None) -> dict[str, Any]:
    """A ValidatingAdmissionPolicy on CREATE/UPDATE of ``resource`` (of ``api_group``, core by default,
    version v1) in tenant namespaces (``NAMESPACE_SELECTOR`` unless another selector is given), failing
    closed. Shared by the placement, Service and disruption-budget policies."""
    return {
        "apiVersion": API_VERSION,
        "kind": "ValidatingAdmissionPolicy",
        "metadata": {"name": name, "labels": dict(MANAGED_BY_LABELS)},
        "spec": {
            "failurePolicy": "Fail",
            "matchConstraints": {
                "namespaceSelector": copy.deepcopy(namespace_selector or NAMESPACE_SELECTOR),
                "resourceRules": [{
                    "apiGroups": [api_group],
                    "apiVersions": ["v1"],
                    "operations": ["CREATE", "UPDATE"],
                    "resources": [resource],
                }],
                "matchPolicy": "Equivalent",
            },
            "matchConditions": [dict(c) for c in match_conditions],
            "variables": [dict(v) for v in variables],
            "validations": [dict(v) for v in validations],
        },
    }


def deny_binding(name: str, namespace_selector: dict[str, Any] | None = None) -> dict[str, Any]:
    """The binding that makes policy ``name`` deny (not merely warn or audit), in tenant namespaces
    (those ``namespace_selector`` selects, when given)."""
    return {
        "apiVersion": API_VERSION,
        "kind": "ValidatingAdmissionPolicyBinding",
        "metadata": {"name": name, "labels": dict(MANAGED_BY_LABELS)},
        "spec": {
            "policyName": name,
            "validationActions": ["Deny"],
            "matchResources": {"namespaceSelector": copy.deepcopy(namespace_selector or NAMESPACE_SELECTOR)},
        },
    }


def placement_policy() -> dict[str, Any]:
    """The ValidatingAdmissionPolicy (one for the whole cluster: the tenant comes from the
    namespace label, so adding a tenant changes nothing here)."""
    return tenant_namespace_policy(POLICY_NAME, "pods", MATCH_CONDITIONS, VARIABLES, VALIDATIONS)


def placement_binding() -> dict[str, Any]:
    """The binding that makes the policy deny (not merely warn or audit)."""
    return deny_binding(POLICY_NAME)


def manifests() -> list[dict[str, Any]]:
    """Policy then binding, as plain Kubernetes objects."""
    return [placement_policy(), placement_binding()]


# --------------------------------------------------------------------------------------------
# Service exposure (deploy review D4/D5)

SERVICE_POLICY_NAME = "tenancy-service-exposure"
ALLOWED = "allowed"


def _granted(label: str) -> str:
    return (f"(has(namespaceObject.metadata.labels) && '{label}' in namespaceObject.metadata.labels && "
            f"namespaceObject.metadata.labels['{label}'] == '{ALLOWED}')")


SERVICE_MATCH_CONDITIONS: list[dict[str, str]] = [
    {
        "name": "create-or-exposure-changed",
        "expression": "request.operation == 'CREATE' || "
        + " || ".join(f"({_changed(f)})" for f in ("type", "externalIPs", "allocateLoadBalancerNodePorts")),
    },
]
"""Skip UPDATEs that change none of the exposure fields: a Service admitted before the policy (or
before its grant was withdrawn) can still have its finalizers removed and its labels changed."""

SERVICE_VARIABLES: list[dict[str, str]] = [
    {"name": "type", "expression": "has(object.spec.type) ? object.spec.type : 'ClusterIP'"},
    {"name": "loadBalancersGranted", "expression": _granted(LOAD_BALANCERS_LABEL)},
    {"name": "nodePortsGranted", "expression": _granted(NODE_PORTS_LABEL)},
]

_NS = "' in namespace ' + namespaceObject.metadata.name + "
SERVICE_VALIDATIONS: list[dict[str, str]] = [
    {
        "expression": "!has(object.spec.externalIPs) || size(object.spec.externalIPs) == 0",
        "message": ("Services in a tenant namespace must not set spec.externalIPs: kube-proxy on every node "
                    "would redirect traffic for those IPs to this Service (CVE-2020-8554); remove externalIPs "
                    "and expose the Service through the platform's ingress"),
        "messageExpression": (
            "'spec.externalIPs is not allowed on Service ' + object.metadata.name + " + _NS
            + "': kube-proxy on every node (those of other tenants too) would redirect traffic for those IPs "
            "to it (CVE-2020-8554); remove spec.externalIPs'"
        ),
        "reason": "Forbidden",
    },
    {
        "expression": "variables.type != 'ExternalName'",
        "message": ("Services of type ExternalName are not allowed in a tenant namespace: behind the shared "
                    "ingress controller they would proxy into other tenants (CVE-2021-25740); use a "
                    "ClusterIP Service with a selector"),
        "reason": "Forbidden",
    },
    {
        "expression": "variables.type != 'NodePort' || variables.nodePortsGranted",
        "message": ("Services of type NodePort are not allowed in this tenant namespace: a node port opens every "
                    "node of the cluster, other tenants' too; use a ClusterIP Service behind the platform's "
                    "ingress, or ask the platform team for quota.nodePorts"),
        "messageExpression": (
            "'Service ' + object.metadata.name + " + _NS + "' may not be of type NodePort: a node port opens "
            "every node of the cluster, other tenants too; use type ClusterIP behind the platform ingress, "
            "or ask the platform team to grant quota.nodePorts to tenant ' + "
            f"namespaceObject.metadata.labels['{TENANT_LABEL}']"
        ),
        "reason": "Forbidden",
    },
    {
        "expression": "variables.type != 'LoadBalancer' || variables.loadBalancersGranted",
        "message": ("Services of type LoadBalancer are not allowed in this tenant namespace (quota.loadBalancers "
                    "is 0); use the platform's ingress, or ask the platform team for quota.loadBalancers"),
        "messageExpression": (
            "'Service ' + object.metadata.name + " + _NS + "' may not be of type LoadBalancer: tenant ' + "
            f"namespaceObject.metadata.labels['{TENANT_LABEL}'] + "
            "' has no load balancers in its quota; use the platform ingress, or ask the platform team to "
            "grant quota.loadBalancers'"
        ),
        "reason": "Forbidden",
    },
    {
        "expression": ("variables.type != 'LoadBalancer' || variables.nodePortsGranted || "
                       "(has(object.spec.allocateLoadBalancerNodePorts) && "
                       "object.spec.allocateLoadBalancerNodePorts == false)"),
        "message": ("a LoadBalancer Service in a tenant namespace without quota.nodePorts must set "
                    "spec.allocateLoadBalancerNodePorts: false (target the pods' IPs, e.g. the AWS Load "
                    "Balancer Controller's IP target type): node ports open every node of the cluster"),
        "reason": "Forbidden",
    },
]
"""Every rule of the Service policy; each static ``message`` says what to change."""


def service_exposure_policy() -> dict[str, Any]:
    """The ValidatingAdmissionPolicy ``tenancy-service-exposure`` (one for the whole cluster: the
    grants come from namespace labels the spec sets, so adding a tenant changes nothing here).

    For Services created or updated in a namespace labelled ``tenancy/tenant`` it denies
    ``spec.externalIPs`` (CVE-2020-8554: kube-proxy on every node would redirect those IPs — the
    API endpoint, STS, ECR — to the tenant's pods), ``type: ExternalName`` (CVE-2021-25740: the
    shared ingress controller, trusted by every tenant, would proxy into another tenant),
    ``type: NodePort`` unless the namespace is labelled ``tenancy/node-ports=allowed``, and
    ``type: LoadBalancer`` unless it is labelled ``tenancy/load-balancers=allowed`` (and then
    without node ports unless those are granted too). The bundle sets the labels from
    ``quota.nodePorts``/``quota.loadBalancers`` > 0; the ResourceQuota still caps the counts.

    EKS does not enable the ``DenyServiceExternalIPs`` admission plugin (EKS user guide,
    platform versions: list of enabled admission controllers), so this policy is the guard.
    Tenants cannot write ``services/status`` (the other CVE-2020-8554 vector, via
    ``status.loadBalancer.ingress``): the bundle's Roles grant it read-only."""
    return tenant_namespace_policy(SERVICE_POLICY_NAME, "services", SERVICE_MATCH_CONDITIONS, SERVICE_VARIABLES,
                                   SERVICE_VALIDATIONS)


def service_exposure_binding() -> dict[str, Any]:
    """The binding that makes the Service policy deny, for tenant namespaces only."""
    return deny_binding(SERVICE_POLICY_NAME)


def service_manifests() -> list[dict[str, Any]]:
    """The Service policy then its binding."""
    return [service_exposure_policy(), service_exposure_binding()]


# --------------------------------------------------------------------------------------------
# Disruption budgets on shared pools (issue 23)

DISRUPTION_POLICY_NAME = "tenancy-pool-disruption-budgets"
POOLED_NAMESPACE_SELECTOR: dict[str, Any] = {"matchExpressions": [
    {"key": TENANT_LABEL, "operator": "Exists"}, {"key": POOL_LABEL, "operator": "Exists"}]}
"""Namespaces of pooled tenants: ``tenancy/tenant`` and ``tenancy/pool`` both set."""

DISRUPTION_MATCH_CONDITIONS: list[dict[str, str]] = [
    {
        "name": "create-or-budget-changed",
        "expression": "request.operation == 'CREATE' || "
        + " || ".join(f"({_changed(f)})" for f in ("maxUnavailable", "minAvailable", "unhealthyPodEvictionPolicy")),
    },
]
"""Skip UPDATEs that leave the budget alone (labels, finalizers; the status has its own subresource)."""

DISRUPTION_VARIABLES: list[dict[str, str]] = [
    # IntOrString: string() makes 0 and '0%' comparable (API validation allows only integers and
    # percentages of at most 100%, and runs before admission).
    {"name": "maxUnavailable",
     "expression": "has(object.spec.maxUnavailable) ? string(object.spec.maxUnavailable) : ''"},
    {"name": "minAvailable",
     "expression": "has(object.spec.minAvailable) ? string(object.spec.minAvailable) : ''"},
]

DISRUPTION_VALIDATIONS: list[dict[str, str]] = [
    {
        "expression": "!variables.maxUnavailable.matches('^0+%?$')",
        "message": ("a PodDisruptionBudget in a pooled tenant's namespace must allow a disruption: maxUnavailable 0 "
                    "(or 0%) blocks every drain of the shared pool's nodes; set maxUnavailable to 1 or more"),
        "messageExpression": (
            "'PodDisruptionBudget ' + object.metadata.name + ' in namespace ' + namespaceObject.metadata.name + "
            "' sets maxUnavailable ' + variables.maxUnavailable + ': it allows no pod to be evicted, so no node of "
            f"pool ' + namespaceObject.metadata.labels['{POOL_LABEL}'] + ' it covers could ever be drained (node "
            "updates of the shared pool would fail for every tenant on it); set maxUnavailable to 1 or more'"
        ),
        "reason": "Forbidden",
    },
    {
        "expression": "!variables.minAvailable.matches('^0*100%$')",
        "message": ("a PodDisruptionBudget in a pooled tenant's namespace must allow a disruption: minAvailable 100% "
                    "blocks every drain of the shared pool's nodes; use a lower percentage or maxUnavailable"),
        "messageExpression": (
            "'PodDisruptionBudget ' + object.metadata.name + ' in namespace ' + namespaceObject.metadata.name + "
            "' sets minAvailable 100%: it allows no pod to be evicted, so no node of pool ' + "
            f"namespaceObject.metadata.labels['{POOL_LABEL}'] + ' it covers could ever be drained; use a lower "
            "percentage, or maxUnavailable: 1'"
        ),
        "reason": "Forbidden",
    },
    {
        "expression": ("has(object.spec.unhealthyPodEvictionPolicy) && "
                       "object.spec.unhealthyPodEvictionPolicy == 'AlwaysAllow'"),
        "message": ("a PodDisruptionBudget in a pooled tenant's namespace must set unhealthyPodEvictionPolicy: "
                    "AlwaysAllow, so pods that never become ready cannot hold a shared node"),
        "messageExpression": (
            "'PodDisruptionBudget ' + object.metadata.name + ' in namespace ' + namespaceObject.metadata.name + "
            "' must set spec.unhealthyPodEvictionPolicy: AlwaysAllow (under the default, IfHealthyBudget, pods that "
            "never become ready hold their node of the shared pool until the budget is met)'"
        ),
        "reason": "Forbidden",
    },
]
"""Budgets that can never be satisfied (``maxUnavailable: 0``/``0%``, ``minAvailable: 100%``) and
budgets kept by unready pods. ``minAvailable: <n>`` with ``n`` at or above the selected pods'
replicas also blocks every eviction, but the replicas are not known at admission (they live in
another object, and change): the pool's node group forces its updates past such budgets after
EKS's 15-minute drain timeout (``forceUpdateVersion``, docs/pools.md "Maintenance")."""


def disruption_budget_policy() -> dict[str, Any]:
    """The ValidatingAdmissionPolicy ``tenancy-pool-disruption-budgets`` (one for the cluster; the
    pool comes from the namespace label) on ``policy/v1`` PodDisruptionBudgets in pooled tenants'
    namespaces. A budget allowing no eviction on a shared pool makes every managed update of the
    pool's node group fail with ``PodEvictionFailure`` (EKS user guide, "Managed node update
    behavior": the upgrade phase drains each node and fails after 15 minutes of refused evictions),
    and the platform's ``pulumi up`` with it, for every tenant of the pool. Tenant editors may
    write budgets (their own workloads' disruption on their own nodes is theirs to decide: a
    dedicated tenant's namespace is not matched)."""
    return tenant_namespace_policy(DISRUPTION_POLICY_NAME, "poddisruptionbudgets", DISRUPTION_MATCH_CONDITIONS,
                                   DISRUPTION_VARIABLES, DISRUPTION_VALIDATIONS, api_group="policy",
                                   namespace_selector=POOLED_NAMESPACE_SELECTOR)


def disruption_budget_binding() -> dict[str, Any]:
    """The binding that makes the disruption-budget policy deny, in pooled tenants' namespaces."""
    return deny_binding(DISRUPTION_POLICY_NAME, POOLED_NAMESPACE_SELECTOR)


def disruption_budget_manifests() -> list[dict[str, Any]]:
    """The disruption-budget policy then its binding."""
    return [disruption_budget_policy(), disruption_budget_binding()]


# --------------------------------------------------------------------------------------------
# Self-service RBAC (issue 26)

RBAC_POLICY_NAME = "tenancy-tenant-rbac"
PLATFORM_PREFIX = "tenancy-"
"""Every Role and RoleBinding the platform writes into a tenant namespace is named ``tenancy-…``
(:mod:`tenancy.plan.kubernetes`: the persona Roles and bindings, ``tenancy-sa-<name>``)."""
TENANT_GROUP_PREFIX = "tenancy:"
"""Every tenant persona group starts so (:func:`tenancy.spec.naming.tenant_group`)."""
PERSONA_GROUPS = ("admins", "editors", "viewers")
"""The persona group suffixes (``tenancy.plan.kubernetes.PERSONAS`` values; a test keeps them equal)."""
RBAC_GROUP = RBAC_API_VERSION.rpartition("/")[0]

_SIBLINGS = (f"(has(namespaceObject.metadata.labels) ? namespaceObject.metadata.labels.filter(k, "
             f"k.startsWith('{SIBLING_LABEL_PREFIX}')).map(k, namespaceObject.metadata.labels[k]) : [])")
"""The tenant's namespaces as the request's namespace lists them (``namespace.tenancy/<ns>`` labels,
:func:`tenancy.plan.kubernetes.sibling_labels`; none for a tenant with one namespace)."""

TENANT_OR_SERVICE_ACCOUNT = (f"(has(request.userInfo.groups) && request.userInfo.groups.exists(g, "
                             f"g.startsWith('{TENANT_GROUP_PREFIX}'))) || "
                             "request.userInfo.username.startsWith('system:serviceaccount:')")
"""The self-service guards' match condition: a member of a tenant persona group, or any
ServiceAccount. Which ServiceAccounts are the tenant's is decided in :data:`TENANT_CALLER` (a
variable): match conditions are evaluated without ``namespaceObject`` (the API server passes nil
there: ``apiserver/pkg/admission/plugin/policy/matchconditions``), so the tenant's namespaces cannot
be read in one."""

TENANT_CALLER = (f"(has(request.userInfo.groups) && request.userInfo.groups.exists(g, "
                 f"g.startsWith('{TENANT_GROUP_PREFIX}'))) || "
                 "request.userInfo.username.startsWith('system:serviceaccount:' + request.namespace + ':') || "
                 f"{_SIBLINGS}.exists(n, request.userInfo.username.startsWith('system:serviceaccount:' + n + ':'))")
"""Who is "the tenant" to the self-service guards (the variable ``tenantCaller``, which every
validation of theirs is conditioned on): a member of any tenant persona group (a principal of several
tenants is a tenant everywhere), or a ServiceAccount of the request's namespace or of another
namespace of the same tenant (the only ServiceAccounts a tenant may bind here). The platform's
deployer (a user, or a ServiceAccount of a platform namespace), the namespace controller (which
deletes a removed namespace's contents) and the garbage collector are neither, and pass."""

RBAC_MATCH_CONDITIONS: list[dict[str, str]] = [
    {"name": "requested-by-a-tenant-or-a-service-account", "expression": TENANT_OR_SERVICE_ACCOUNT},
]
"""The policy judges only requests that may be the tenant's side (:data:`TENANT_CALLER` decides)."""

RBAC_VARIABLES: list[dict[str, str]] = [
    {"name": "name",
     "expression": "request.operation == 'DELETE' ? oldObject.metadata.name : object.metadata.name"},
    {"name": "tenant", "expression": f"namespaceObject.metadata.labels[{_T}]"},
    {"name": "ownNamespaces", "expression": f"[request.namespace] + {_SIBLINGS}"},
    {"name": "tenantCaller", "expression": TENANT_CALLER},
    {"name": "ownGroups",
     "expression": ("[" + ", ".join(f"'{TENANT_GROUP_PREFIX}' + variables.tenant + ':{g}'" for g in PERSONA_GROUPS)
                    + "] + variables.ownNamespaces.map(n, 'system:serviceaccounts:' + n)")},
    {"name": "subjects",
     "expression": ("request.operation != 'DELETE' && request.kind.kind == 'RoleBinding' && "
                    "has(object.subjects) ? object.subjects : []")},
    {
        "name": "foreignSubjects",
        "expression": ("variables.subjects.filter(s, !((s.kind == 'Group' && s.name in variables.ownGroups) || "
                       "(s.kind == 'ServiceAccount' && (!has(s.namespace) || s.namespace == '' || "
                       "s.namespace in variables.ownNamespaces))))"),
    },
]

RBAC_VALIDATIONS: list[dict[str, str]] = [
    {
        "expression": f"!variables.tenantCaller || !variables.name.startsWith('{PLATFORM_PREFIX}')",
        "message": (f"Roles and RoleBindings named {PLATFORM_PREFIX}* in a tenant namespace are the platform's (the "
                    "personas' access, set by the spec): tenants cannot create, change or delete them; give your "
                    f"own Roles and RoleBindings names without the {PLATFORM_PREFIX} prefix"),
        "messageExpression": (
            "request.kind.kind + ' ' + variables.name + ' in namespace ' + request.namespace + "
            f"' belongs to the platform (names starting with {PLATFORM_PREFIX} carry the personas set by the "
            "spec): tenants cannot create, change or delete it; ask the platform team to change the spec, or "
            f"name your own ' + request.kind.kind + ' without the {PLATFORM_PREFIX} prefix'"
        ),
        "reason": "Forbidden",
    },
    {
        "expression": "!variables.tenantCaller || size(variables.foreignSubjects) == 0",
        "message": ("a RoleBinding in a tenant namespace may bind only the tenant's own groups "
                    f"({TENANT_GROUP_PREFIX}<tenant>:admins|editors|viewers) and ServiceAccounts of its namespaces: "
                    "another tenant's group or ServiceAccount would act in this namespace, a system: group "
                    "reaches users and workloads of the whole cluster, and a User is an identity outside the "
                    "tenant's personas"),
        "messageExpression": (
            "'RoleBinding ' + variables.name + ' in namespace ' + request.namespace + ' may not bind ' + "
            "variables.foreignSubjects[0].kind + ' ' + variables.foreignSubjects[0].name + "
            "(has(variables.foreignSubjects[0].namespace) && variables.foreignSubjects[0].namespace != '' ? "
            "' (namespace ' + variables.foreignSubjects[0].namespace + ')' : '') + "
            "': bind only the groups of tenant ' + variables.tenant + ' (' + variables.ownGroups[0] + ', ' + "
            "variables.ownGroups[1] + ', ' + variables.ownGroups[2] + ') or ServiceAccounts of namespace ' + "
            "request.namespace + (size(variables.ownNamespaces) > 1 ? ' or of the tenant\\'s other namespaces' : '') + "
            "' (another tenant\\'s identities, system: groups and Users would get access '"
            "+ 'the spec does not declare)'"
        ),
        "reason": "Forbidden",
    },
]
"""The platform's ``tenancy-`` objects stay the platform's; subjects stay inside the tenant."""


def tenant_rbac_policy() -> dict[str, Any]:
    """The ValidatingAdmissionPolicy ``tenancy-tenant-rbac`` (one for the cluster, registered when a
    tenant has ``selfService.rbac``): on Roles and RoleBindings created, updated or deleted in a
    tenant namespace *by the tenant* (:data:`TENANT_CALLER`: a member of a ``tenancy:`` group, or a
    ServiceAccount of one of the tenant's namespaces) it refuses

    * any object named ``tenancy-…``: the persona Roles and RoleBindings and the
      ``serviceAccountRoles`` bindings are the spec's; a tenant admin holding ``roles`` write could
      otherwise widen ``tenancy-view`` to everything it holds, or delete ``tenancy-admins`` and lock
      its own colleagues out;
    * RoleBinding subjects other than the tenant's three persona groups, the groups of its
      namespaces' ServiceAccounts and ServiceAccounts of its namespaces (the namespace's
      ``namespace.tenancy/`` labels list them). Another tenant's group or
      ServiceAccount would let that tenant act here — and through it, let this tenant's workload
      logic run with the other tenant's identity in the loop — which neither tenant's spec
      declares; ``system:`` groups (``system:authenticated``, ``system:serviceaccounts``…) reach
      every tenant and unauthenticated callers; a ``User`` is an identity the personas do not
      govern (a platform principal, or another tenant's IAM principal by its username).

    What a Role may hold and which role a RoleBinding may bind is not judged here: Kubernetes'
    escalation prevention refuses a Role with a permission its author lacks and a binding of a
    role (Role or ClusterRole) with a permission the author lacks in this namespace, unless the
    author holds ``escalate``/``bind``, which no persona holds (``pkg/registry/rbac/escalation_check.go``;
    verified on a real API server by tests/live/test_self_service_live.py)."""
    return {
        "apiVersion": API_VERSION,
        "kind": "ValidatingAdmissionPolicy",
        "metadata": {"name": RBAC_POLICY_NAME, "labels": dict(MANAGED_BY_LABELS)},
        "spec": {
            "failurePolicy": "Fail",
            "matchConstraints": {
                "namespaceSelector": copy.deepcopy(NAMESPACE_SELECTOR),
                "resourceRules": [{
                    "apiGroups": [RBAC_GROUP],
                    "apiVersions": ["v1"],
                    "operations": ["CREATE", "UPDATE", "DELETE"],
                    "resources": ["roles", "rolebindings"],
                }],
                "matchPolicy": "Equivalent",
            },
            "matchConditions": [dict(c) for c in RBAC_MATCH_CONDITIONS],
            "variables": [dict(v) for v in RBAC_VARIABLES],
            "validations": [dict(v) for v in RBAC_VALIDATIONS],
        },
    }


def tenant_rbac_binding() -> dict[str, Any]:
    """The binding that makes ``tenancy-tenant-rbac`` deny, in tenant namespaces."""
    return deny_binding(RBAC_POLICY_NAME)


def tenant_rbac_manifests() -> list[dict[str, Any]]:
    """The self-service RBAC policy then its binding."""
    return [tenant_rbac_policy(), tenant_rbac_binding()]


# --------------------------------------------------------------------------------------------
# Placement injected (issue 26): a MutatingAdmissionPolicy where the version has one

MUTATING_POLICY_NAME = "tenancy-pod-placement-defaults"
MUTATION_MIN_MINOR = 36
"""MutatingAdmissionPolicy (KEP-3962): alpha in 1.32, beta (``admissionregistration.k8s.io/v1beta1``,
feature gate ``MutatingAdmissionPolicy`` and the ``v1beta1`` API both off by default: a new beta
API, KEP-3136 "Beta APIs Are Off by Default") in 1.34–1.35, GA (``v1``, on by default) in 1.36.
EKS runs the upstream defaults and offers no ``--feature-gates``/``--runtime-config`` on its
managed control plane, so only from 1.36 can an EKS cluster serve it; on older versions the
validating policy alone keeps demanding the placement (today's behaviour)."""

_TIER = f"'{TIER_LABEL}'"
PRIORITY_CLASSES = {"premium": "tenancy-premium", "standard": "tenancy-standard"}
PRIORITY_VALUES = {"premium": 100_000, "standard": 10_000}
PREEMPTION_POLICIES = {"premium": "PreemptLowerPriority", "standard": "Never"}
"""The tiers' PriorityClasses (``tenancy.plan.kubernetes.PRIORITY_CLASSES`` etc.; a test keeps them equal)."""


def mutation_supported(kubernetes_version: str) -> bool:
    """True when ``kubernetes_version`` serves ``admissionregistration.k8s.io/v1``
    MutatingAdmissionPolicy by default (:data:`MUTATION_MIN_MINOR`)."""
    from tenancy.spec.versions import minor

    return minor(kubernetes_version) >= MUTATION_MIN_MINOR


def _json_pointer(key: str) -> str:
    """RFC 6901: ``~`` -> ``~0``, ``/`` -> ``~1``."""
    return key.replace("~", "~0").replace("/", "~1")


def _cel_map(values: dict[str, Any]) -> str:
    return "{" + ", ".join(f"'{k}': " + (f"'{v}'" if isinstance(v, str) else str(v))
                           for k, v in values.items()) + "}"


MUTATION_VARIABLES: list[dict[str, str]] = [
    *(v for v in VARIABLES if v["name"] in ("tenant", "pool", "pooled", "placementKey", "placementValue")),
    next(v for v in VARIABLES if v["name"] == "affinityPinned"),
    {"name": "pointerKey",
     "expression": f"variables.pooled ? '{_json_pointer(POOL_LABEL)}' : '{_json_pointer(TENANT_LABEL)}'"},
    {"name": "tier",
     "expression": f"{_TIER} in namespaceObject.metadata.labels ? namespaceObject.metadata.labels[{_TIER}] : ''"},
    {
        # The pod names no placement of its own: no selector on the key, no pinning affinity, no
        # nodeName (a pod that names a wrong value is left for the validating policy to refuse).
        "name": "needSelector",
        "expression": ("!(has(object.spec.nodeSelector) && variables.placementKey in object.spec.nodeSelector) && "
                       "!variables.affinityPinned && !(has(object.spec.nodeName) && object.spec.nodeName != '')"),
    },
    {"name": "needToleration",
     "expression": ("!(has(object.spec.tolerations) && object.spec.tolerations.exists(t, has(t.key) && "
                    "t.key == variables.placementKey))")},
    {"name": "needPriority",
     "expression": (f"variables.tier in {_cel_map(PRIORITY_CLASSES)} && "
                    "(!has(object.spec.priorityClassName) || object.spec.priorityClassName == '')")},
]
"""Core CEL (cel-python evaluates them in tests): what the pod lacks."""

_TOLERATION = ("Object.spec.tolerations{key: variables.placementKey, operator: 'Equal', "
               "value: variables.placementValue, effect: 'NoSchedule'}")
MUTATION_EXPRESSION = (
    "(variables.needSelector ? [has(object.spec.nodeSelector) ? "
    "JSONPatch{op: 'add', path: '/spec/nodeSelector/' + variables.pointerKey, value: variables.placementValue} : "
    "JSONPatch{op: 'add', path: '/spec/nodeSelector', value: {variables.placementKey: variables.placementValue}}] "
    ": []) + "
    "(variables.needToleration ? [has(object.spec.tolerations) ? "
    f"JSONPatch{{op: 'add', path: '/spec/tolerations/-', value: {_TOLERATION}}} : "
    f"JSONPatch{{op: 'add', path: '/spec/tolerations', value: [{_TOLERATION}]}}] : []) + "
    "(variables.needPriority ? ["
    f"JSONPatch{{op: 'add', path: '/spec/priorityClassName', value: {_cel_map(PRIORITY_CLASSES)}[variables.tier]}}, "
    f"JSONPatch{{op: 'add', path: '/spec/priority', value: {_cel_map(PRIORITY_VALUES)}[variables.tier]}}, "
    f"JSONPatch{{op: 'add', path: '/spec/preemptionPolicy', value: {_cel_map(PREEMPTION_POLICIES)}[variables.tier]}}"
    "] : [])"
)
"""The JSON patches (RFC 6902 ``add``; ``/-`` appends to the tolerations the API server's
``DefaultTolerationSeconds`` plugin has already added). The priority is set with its class: the
``Priority`` admission plugin resolved the class-less pod to priority 0 before this policy runs
(plugin order: ``pkg/kubeapiserver/options/plugins.go`` ``AllOrderedPlugins``), and it refuses a
pod whose ``spec.priority`` differs from its class's value if it is invoked again
(``plugin/pkg/admission/priority/admission.go`` ``admitPod``)."""


def placement_mutation_policy() -> dict[str, Any]:
    """The MutatingAdmissionPolicy ``tenancy-pod-placement-defaults`` (one for the cluster; tenant,
    pool and tier come from the namespace labels, so adding a tenant changes nothing here). On
    pods CREATEd in a tenant namespace it adds what the pod leaves out, and only that:

    * ``nodeSelector[<key>] = <value>`` — ``tenancy/tenant=<tenant>``, or ``tenancy/pool=<pool>``
      in a pooled tenant's namespace: exactly what :data:`VALIDATIONS` demands — unless the
      pod's selector already names the key (any value: a wrong value is the validating policy's
      to refuse, never silently corrected), a required node affinity already pins it, or it sets
      ``nodeName``;
    * the toleration ``<key>=<value>:NoSchedule`` unless the pod tolerates the key already;
    * the tier's PriorityClass (with its priority and preemption policy) unless it names a class.

    The ``vpc.amazonaws.com/pod-eni`` request of a pooled pod is NOT injected: it is the VPC
    resource controller's to add (it is what gives the pod the tenant's security groups), and the
    validating policy keeps refusing pods without it. ``failurePolicy: Ignore``: if the mutation
    cannot run, the pod reaches the validating policy unmutated and is refused with the fix to
    make — the validating policy stays the judge. Updates are not mutated (placement is fixed at
    creation)."""
    return {
        "apiVersion": API_VERSION,
        "kind": "MutatingAdmissionPolicy",
        "metadata": {"name": MUTATING_POLICY_NAME, "labels": dict(MANAGED_BY_LABELS)},
        "spec": {
            "failurePolicy": "Ignore",
            "reinvocationPolicy": "Never",
            "matchConstraints": {
                "namespaceSelector": copy.deepcopy(NAMESPACE_SELECTOR),
                "resourceRules": [{"apiGroups": [""], "apiVersions": ["v1"], "operations": ["CREATE"],
                                   "resources": ["pods"]}],
                "matchPolicy": "Equivalent",
            },
            "variables": [dict(v) for v in MUTATION_VARIABLES],
            "mutations": [{"patchType": "JSONPatch", "jsonPatch": {"expression": MUTATION_EXPRESSION}}],
        },
    }


def placement_mutation_binding() -> dict[str, Any]:
    """The binding that applies the mutating policy in every tenant namespace."""
    return {
        "apiVersion": API_VERSION,
        "kind": "MutatingAdmissionPolicyBinding",
        "metadata": {"name": MUTATING_POLICY_NAME, "labels": dict(MANAGED_BY_LABELS)},
        "spec": {"policyName": MUTATING_POLICY_NAME,
                 "matchResources": {"namespaceSelector": copy.deepcopy(NAMESPACE_SELECTOR)}},
    }


def placement_mutation_manifests() -> list[dict[str, Any]]:
    """The mutating policy then its binding."""
    return [placement_mutation_policy(), placement_mutation_binding()]


# --------------------------------------------------------------------------------------------
# Tenant-owned NetworkPolicies (issue 26)

NETWORK_POLICY_GUARD_NAME = "tenancy-platform-network-policies"
PLATFORM_POLICY_PREFIX = "tenancy-"
"""Every NetworkPolicy the platform writes into a tenant namespace is named ``tenancy-…``."""


def _platform_owned(obj: str) -> str:
    return (f"({obj}.metadata.name.startsWith('{PLATFORM_POLICY_PREFIX}') || "
            f"(has({obj}.metadata.labels) && '{MANAGED_BY_LABEL}' in {obj}.metadata.labels && "
            f"{obj}.metadata.labels['{MANAGED_BY_LABEL}'] == '{MANAGED_BY_LABELS[MANAGED_BY_LABEL]}'))")


NETWORK_POLICY_GUARD_MATCH_CONDITIONS: list[dict[str, str]] = [
    {"name": "tenant-or-service-account", "expression": TENANT_OR_SERVICE_ACCOUNT},
]
NETWORK_POLICY_GUARD_VARIABLES: list[dict[str, str]] = [
    {"name": "tenantCaller", "expression": TENANT_CALLER},
]
"""Only requests of tenant principals (a ``tenancy:`` group) and of the tenant's own service
accounts (:data:`TENANT_CALLER`) are judged; the platform's deployer and cluster admins carry neither."""

NETWORK_POLICY_GUARD_VALIDATIONS: list[dict[str, str]] = [
    {
        # object is null on DELETE, oldObject on CREATE: each is read only when the operation has it
        "expression": ("!variables.tenantCaller || ("
                       f"(request.operation == 'CREATE' || !{_platform_owned('oldObject')}) && "
                       f"(request.operation == 'DELETE' || !{_platform_owned('object')}))"),
        "message": (f"NetworkPolicies named {PLATFORM_POLICY_PREFIX}* (or labelled {MANAGED_BY_LABEL}=tenancy) are "
                    "the platform's walls: tenants may not create, change or delete them; name your own policy "
                    "without that prefix and label"),
        "messageExpression": (
            "'NetworkPolicy ' + (request.operation == 'DELETE' ? oldObject.metadata.name : object.metadata.name) + "
            "' in namespace ' + request.namespace + ' belongs to the platform (" + PLATFORM_POLICY_PREFIX + "* or "
            + MANAGED_BY_LABEL + "=tenancy): tenants may not ' + request.operation + ' it; write your own "
            "NetworkPolicy under another name (the Admin-tier cluster policies keep other tenants out whatever "
            "it says)'"),
        "reason": "Forbidden",
    },
]


def network_policy_guard_policy() -> dict[str, Any]:
    """The ValidatingAdmissionPolicy ``tenancy-platform-network-policies`` (one for the cluster): in
    tenant namespaces, a tenant principal or service account may not CREATE, UPDATE or DELETE a
    NetworkPolicy that is the platform's (``tenancy-*`` name or ``managed-by: tenancy`` label, old or
    new object). RBAC cannot exclude names from a grant (``resourceNames`` only enumerates what is
    allowed, and never applies to create), so with ``selfService.networkPolicies`` the Role grants
    write on all NetworkPolicies and this policy carves out the platform's. Deletes are judged on
    ``oldObject`` (``object`` is null on DELETE; a deletecollection is admitted per item)."""
    policy = tenant_namespace_policy(NETWORK_POLICY_GUARD_NAME, "networkpolicies",
                                     NETWORK_POLICY_GUARD_MATCH_CONDITIONS, NETWORK_POLICY_GUARD_VARIABLES,
                                     NETWORK_POLICY_GUARD_VALIDATIONS,
                                     api_group="networking.k8s.io")
    policy["spec"]["matchConstraints"]["resourceRules"][0]["operations"] = ["CREATE", "UPDATE", "DELETE"]
    return policy


def network_policy_guard_binding() -> dict[str, Any]:
    """The binding that makes the guard deny, in tenant namespaces."""
    return deny_binding(NETWORK_POLICY_GUARD_NAME)


def network_policy_guard_manifests() -> list[dict[str, Any]]:
    """The NetworkPolicy guard then its binding."""
    return [network_policy_guard_policy(), network_policy_guard_binding()]
